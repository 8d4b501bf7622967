"""The response cache under a real HTTP backend: writes are grouped, yet reach the file soon and at close."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

from jurist.backends.base import GenerateRequest, Message
from jurist.backends.openai_compat import OpenAIBackend
from jurist.run.cache import ResponseCache
from jurist.run.resilience import ResilientBackend
from jurist.testing import FakeOpenAIServer


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
