"""The response cache under a real HTTP backend: writes are grouped, yet reach the file soon and at close; an
answer is never taken for another server's or another output mode's."""

from __future__ import annotations

import asyncio
import socket
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

from jurist import BackendOptions, JobOptions, JudgeConfig, Limits, Verdict, judge
from jurist.backends.base import GenerateRequest, Message
from jurist.backends.openai_compat import OpenAIBackend
from jurist.run.cache import ResponseCache
from jurist.run.resilience import ResilientBackend
from jurist.testing import FakeOpenAIServer

from .support import make_items


def _rows(path: Path) -> int:
    """Responses another process can see."""
    with sqlite3.connect(path) as db:
        count: int = db.execute("SELECT COUNT(*) FROM responses").fetchone()[0]
    return count


def test_cached_responses_are_committed_soon_without_further_writes(server: FakeOpenAIServer, tmp_path: Path) -> None:
    path = tmp_path / "responses.sqlite"

    async def scenario() -> tuple[int, int, int]:
        cache = ResponseCache(path)
        backend = ResilientBackend(OpenAIBackend("fake-model", base_url=server.url), cache=cache)
        try:
            for i in range(3):
                request = GenerateRequest(messages=(Message(role="user", content=f'Say "score": "1" | "2" ({i})'),))
                await backend.generate(request)
            again = await backend.generate(request)  # the same request: from the cache, uncommitted or not
            assert again.cached
            await asyncio.sleep(0.5)  # no more writes: the pending ones must still be committed
            seen_while_open = _rows(path)
            await backend.generate(GenerateRequest(messages=(Message(role="user", content='"score" last'),)))
            before_close = server.stats()["total"]
        finally:
            await backend.aclose()
            cache.close()
        return seen_while_open, before_close, _rows(path)

    seen_while_open, sent, after_close = asyncio.run(scenario())
    assert seen_while_open == 3
    assert sent == 4
    assert after_close == 4


def _judge_at(url: str, items: list[dict[str, Any]], out: Path, **limits: Any) -> dict[str, Verdict]:
    options = JobOptions(backend=BackendOptions(base_url=url, timeout=2.0), limits=Limits(**limits), cache=True)
    result = judge(items, out=out, config=JudgeConfig(mode="pointwise"), model="openai:fake-model", options=options)
    return {v.id: v for v in result.verdicts()}


def _dead_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])  # closed again at once: nothing listens there


def test_the_cache_never_answers_for_another_server(server: FakeOpenAIServer, tmp_path: Path) -> None:
    items = make_items("pointwise", 3)
    first = _judge_at(server.url, items, tmp_path / "a")
    assert all(v.ok for v in first.values()) and server.stats()["total"] == 3

    # The same model name at another base URL, where nothing answers: its items must not be judged from A's answers.
    elsewhere = _judge_at(f"http://127.0.0.1:{_dead_port()}/v1", items, tmp_path / "b", max_retries=0)
    assert len(elsewhere) == 3
    for verdict in elsewhere.values():
        assert verdict.error is not None and "connection" in verdict.error.message, verdict


def test_an_answer_given_after_a_fallback_never_stands_in_for_a_json_schema_one(
    make_server: Callable[..., FakeOpenAIServer], tmp_path: Path
) -> None:
    server = make_server(reject={"json_schema"}, reject_status=400)
    items = make_items("pointwise", 3)
    first = _judge_at(server.url, items, tmp_path / "a")
    assert all(v.ok for v in first.values())
    assert server.stats()["faults"].get("reject:json_schema", 0) >= 1  # answered in json_object mode

    # The same server, now taking JSON schemas: a fresh run asks for json_schema and must not get the
    # json_object answers from the cache.
    server.state.reject.clear()
    server.reset()
    again = _judge_at(server.url, items, tmp_path / "b")
    assert all(v.ok for v in again.values())
    assert server.stats()["total"] == 3
