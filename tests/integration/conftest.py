"""Integration tests: jurist's real HTTP path against the fake OpenAI-compatible server on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from jurist.testing import FakeOpenAIServer


@pytest.fixture(autouse=True)
def _isolated_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Keep the response cache out of the home directory, and real keys and URLs out of the tests."""
    cache = tmp_path / "cache"
    monkeypatch.setenv("JURIST_CACHE_DIR", str(cache))
    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "JURIST_IT_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    return cache


@pytest.fixture
def cache_dir(_isolated_env: Path) -> Path:
    return _isolated_env


@pytest.fixture
def make_server() -> Iterator[Callable[..., FakeOpenAIServer]]:
    """Start fake servers with the given options; all are stopped after the test."""
    servers: list[FakeOpenAIServer] = []

    def start(**options: Any) -> FakeOpenAIServer:
        server = FakeOpenAIServer(**options)
        server.start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


@pytest.fixture
def server(make_server: Callable[..., FakeOpenAIServer]) -> FakeOpenAIServer:
    return make_server()
