"""The engine's Backends: one resilient backend per model spec, one shared response cache, everything closed at
exit (even when the body raises)."""

from __future__ import annotations

import sqlite3

import pytest

from jurist import BackendOptions, FakeBackend, GenerateRequest
from jurist.backends.base import Message
from jurist.run import engine
from jurist.run.engine import Backends, JobOptions, Limits

from .helpers import run

REQUEST = GenerateRequest(messages=(Message(role="user", content="hello"),), temperature=0.0)


class ClosingFake(FakeBackend):
    """A scripted backend that remembers being closed and the options it was made with."""

    def __init__(self, spec: str, options: BackendOptions | None) -> None:
        super().__init__("answer", name="fake")  # one name: the cache identity is shared across specs
        self.spec, self.options, self.closed = spec, options, False

    async def aclose(self) -> None:
        self.closed = True


@pytest.fixture
def made(monkeypatch) -> dict[str, ClosingFake]:
    """Every backend the engine makes from a spec, by spec."""
    backends: dict[str, ClosingFake] = {}

    def make_backend(spec: str, options: BackendOptions | None = None) -> ClosingFake:
        assert spec not in backends, f"{spec} made twice"
        backends[spec] = ClosingFake(spec, options)
        return backends[spec]

    monkeypatch.setattr(engine, "make_backend", make_backend)
    return backends


def options(tmp_path, **update) -> JobOptions:
    return JobOptions(cache_path=tmp_path / "cache.sqlite", limits=Limits(rpm=600), **update)


def test_one_backend_per_spec_sharing_one_cache(tmp_path, made):
    given = ClosingFake("given", None)

    async def body():
        async with Backends(options(tmp_path)) as backends:
            a, b = backends.get("a"), backends.get("b")
            assert backends.get("a") is a and backends.get("b") is b and a is not b
            assert backends.get(given) is backends.get(given) and backends.get(given).inner is given
            assert made["a"].options == JobOptions().backend  # the job's backend options
            # the second spec answers from what the first one cached (same identity, same request)
            first, second = await a.generate(REQUEST), await b.generate(REQUEST)
            assert not first.cached and second.cached and made["b"].requests == []
            return [a, b, backends.get(given)]

    wrappers = run(body())
    assert set(made) == {"a", "b"}
    assert all(fake.closed for fake in [*made.values(), given])
    cache = wrappers[0]._cache
    assert cache is not None and all(w._cache is cache for w in wrappers)
    with pytest.raises(sqlite3.ProgrammingError):  # closed
        cache.get("anything")


def test_closed_when_the_body_raises(tmp_path, made):
    async def body():
        async with Backends(options(tmp_path)) as backends:
            backends.get("a")
            backends.get("b")
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        run(body())
    assert made["a"].closed and made["b"].closed


def test_without_cache_or_rate_limits(tmp_path, made):
    own = BackendOptions(timeout=7)

    async def body():
        async with Backends(options(tmp_path, cache=False)) as backends:
            limited, free = backends.get("a"), backends.get("b", backend_options=own, rate_limits=False)
            assert limited._cache is None and free._cache is None
            assert limited._rpm is not None and free._rpm is None
            assert made["b"].options is own

    run(body())
    assert not (tmp_path / "cache.sqlite").exists()
