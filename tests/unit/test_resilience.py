"""The response cache and the retry wrapper around every backend."""

from __future__ import annotations

import asyncio
import email.utils
import time

import pytest

import jurist
from jurist import BackendError, FakeBackend, GenerateRequest, JobOptions
from jurist.backends.base import Message
from jurist.backends.http import parse_retry_after
from jurist.run.cache import ResponseCache, default_cache_path
from jurist.run.resilience import RateLimiter, ResilientBackend, RetryPolicy

from .helpers import run


def request(text: str = "Rate this.", **kw) -> GenerateRequest:
    return GenerateRequest(messages=(Message(role="user", content=text),), **kw)


@pytest.fixture
def cache(tmp_path):
    c = ResponseCache(tmp_path / "responses.sqlite")
    yield c
    c.close()


@pytest.fixture
def sleeps(monkeypatch):
    """Record every backoff delay instead of waiting it out."""
    recorded: list[float] = []
    real_sleep = asyncio.sleep

    async def fake_sleep(delay, *args, **kwargs):
        recorded.append(delay)
        await real_sleep(0)

    monkeypatch.setattr("jurist.run.resilience.asyncio.sleep", fake_sleep)
    return recorded


# -- cache -----------------------------------------------------------------------------------------------------


def test_repeated_deterministic_request_is_answered_from_the_cache(cache):
    backend = FakeBackend(["first", "second"])
    wrapped = ResilientBackend(backend, cache=cache)
    one = run(wrapped.generate(request()))
    two = run(wrapped.generate(request()))
    assert len(backend.requests) == 1
    assert one.text == two.text == "first"
    assert one.cached is False and two.cached is True
    assert two.usage == one.usage


def test_any_change_in_the_request_or_model_misses_the_cache(cache):
    backend = FakeBackend(lambda r: r.messages[0].content)
    wrapped = ResilientBackend(backend, cache=cache)
    run(wrapped.generate(request()))
    run(wrapped.generate(request("Rate that.")))
    run(wrapped.generate(request(max_tokens=10)))
    run(wrapped.generate(request(seed=3)))
    assert len(backend.requests) == 4
    other_model = FakeBackend(["x"], name="other")
    assert run(ResilientBackend(other_model, cache=cache).generate(request())).text == "x"
    assert len(other_model.requests) == 1


def test_sampling_without_a_seed_is_not_cached(cache):
    backend = FakeBackend(["a", "b"])
    wrapped = ResilientBackend(backend, cache=cache)
    texts = [run(wrapped.generate(request(temperature=0.8, seed=None))).text for _ in range(2)]
    assert texts == ["a", "b"]
    assert len(backend.requests) == 2


def test_sampling_with_a_seed_is_cached(cache):
    backend = FakeBackend(["a", "b"])
    wrapped = ResilientBackend(backend, cache=cache)
    texts = [run(wrapped.generate(request(temperature=0.8, seed=7))).text for _ in range(2)]
    assert texts == ["a", "a"]


def test_cacheable_rule():
    assert ResponseCache.cacheable(request(temperature=0.0, seed=None))
    assert ResponseCache.cacheable(request(temperature=1.0, seed=1))
    assert not ResponseCache.cacheable(request(temperature=1.0, seed=None))


def test_cache_survives_reopening(tmp_path):
    path = tmp_path / "c.sqlite"
    first = ResponseCache(path)
    run(ResilientBackend(FakeBackend(["kept"]), cache=first).generate(request()))
    first.close()
    again = ResponseCache(path)
    backend = FakeBackend(["new"])
    assert run(ResilientBackend(backend, cache=again).generate(request())).text == "kept"
    assert backend.requests == []
    again.close()


def test_errors_are_not_cached(cache):
    backend = FakeBackend([BackendError("HTTP 400", status=400, reason="http_400"), "ok"])
    wrapped = ResilientBackend(backend, cache=cache)
    with pytest.raises(BackendError):
        run(wrapped.generate(request()))
    assert run(wrapped.generate(request())).text == "ok"


def test_default_cache_path_follows_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("JURIST_CACHE_DIR", str(tmp_path / "here"))
    assert default_cache_path() == tmp_path / "here" / "responses.sqlite"


def test_a_second_run_is_answered_from_the_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("JURIST_CACHE_DIR", str(tmp_path / "cache"))
    rows = [{"prompt": "p", "response": f"r{k}"} for k in range(3)]
    backend = FakeBackend(['{"score": "3", "rationale": "r"}'])
    jurist.judge(rows, out=tmp_path / "one", config="pointwise", model=backend, options=JobOptions())
    assert len(backend.requests) == 3
    assert (tmp_path / "cache" / "responses.sqlite").exists()
    result = jurist.judge(rows, out=tmp_path / "two", config="pointwise", model=backend, options=JobOptions())
    assert len(backend.requests) == 3
    assert sorted(v.outcome.score for v in result.verdicts()) == [3.0, 3.0, 3.0]
    # With the cache off, the same job calls the model again.
    jurist.judge(rows, out=tmp_path / "three", config="pointwise", model=backend, options=JobOptions(cache=False))
    assert len(backend.requests) == 6


# -- retries ---------------------------------------------------------------------------------------------------


def _transient(retry_after=None):
    return BackendError("HTTP 503: busy", status=503, retryable=True, retry_after=retry_after, reason="http_503")


def test_retryable_error_is_retried_until_success(sleeps):
    backend = FakeBackend([_transient(), _transient(), "ok"])
    wrapped = ResilientBackend(backend, retry=RetryPolicy(max_retries=5, base_delay_s=0.01))
    assert run(wrapped.generate(request())).text == "ok"
    assert len(backend.requests) == 3
    assert wrapped.retries == 2
    assert len(sleeps) == 2


def test_retries_exhausted(sleeps):
    backend = FakeBackend([_transient()])
    wrapped = ResilientBackend(backend, retry=RetryPolicy(max_retries=2, base_delay_s=0.01))
    with pytest.raises(BackendError) as info:
        run(wrapped.generate(request()))
    assert len(backend.requests) == 3  # the first attempt and two retries
    assert info.value.reason == "retries_exhausted"
    assert info.value.status == 503
    assert "3 attempts" in str(info.value) and "busy" in str(info.value)
    assert info.value.retryable is True and info.value.fatal is False


def test_no_retries_when_max_retries_is_zero(sleeps):
    backend = FakeBackend([_transient()])
    with pytest.raises(BackendError, match=r"gave up after 1 attempts"):
        run(ResilientBackend(backend, retry=RetryPolicy(max_retries=0)).generate(request()))
    assert len(backend.requests) == 1
    assert sleeps == []


def test_retry_after_is_honoured(sleeps):
    backend = FakeBackend([_transient(retry_after=7.5), _transient(retry_after=0.25), "ok"])
    wrapped = ResilientBackend(backend, retry=RetryPolicy(max_retries=5, base_delay_s=100.0))
    assert run(wrapped.generate(request())).text == "ok"
    assert sleeps == [7.5, 0.25]


def test_backoff_without_retry_after_grows_and_is_capped(sleeps):
    backend = FakeBackend([_transient()])
    policy = RetryPolicy(max_retries=6, base_delay_s=0.5, max_delay_s=4.0)
    with pytest.raises(BackendError):
        run(ResilientBackend(backend, retry=policy).generate(request()))
    caps = [min(4.0, 0.5 * 2**attempt) for attempt in range(6)]
    assert len(sleeps) == 6
    assert all(0 <= delay <= cap for delay, cap in zip(sleeps, caps, strict=True))


def test_retry_policy_delay():
    policy = RetryPolicy(base_delay_s=1.0, max_delay_s=10.0)
    assert policy.delay(0, retry_after=3.0) == 3.0
    assert policy.delay(0, retry_after=1000.0) == 50.0  # a server's wait is honoured up to 5x the cap
    assert all(0 <= policy.delay(10, None) <= 10.0 for _ in range(50))


@pytest.mark.parametrize(
    "error",
    [
        BackendError("HTTP 401: bad key", status=401, fatal=True, reason="auth"),
        BackendError("HTTP 429 but fatal", status=429, retryable=True, fatal=True, reason="quota"),
        BackendError("HTTP 400: bad request", status=400, reason="http_400"),
    ],
)
def test_fatal_and_permanent_errors_are_not_retried(sleeps, error):
    backend = FakeBackend([error, "ok"])
    with pytest.raises(BackendError) as info:
        run(ResilientBackend(backend, retry=RetryPolicy(max_retries=5)).generate(request()))
    assert info.value is error
    assert len(backend.requests) == 1
    assert sleeps == []


def test_parse_retry_after():
    assert parse_retry_after("12") == 12.0
    assert parse_retry_after("0.5") == 0.5
    assert parse_retry_after("-3") == 0.0
    assert parse_retry_after(None) is None
    assert parse_retry_after("soon") is None
    when = email.utils.formatdate(time.time() + 30, usegmt=True)
    assert 25 <= parse_retry_after(when) <= 31


def test_rate_limiter_spaces_requests():
    async def go():
        limiter = RateLimiter(per_minute=60 * 50)  # one every 20 ms
        start = time.monotonic()
        for _ in range(4):
            await limiter.acquire()
        return time.monotonic() - start

    assert run(go()) >= 0.055
