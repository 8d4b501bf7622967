"""Shared set-up of the unit tests."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _own_response_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test gets its own response cache: an answer one test's scripted backend gave must never answer another
    test's request, and no test reads or fills the developer's ~/.cache/jurist."""
    monkeypatch.setenv("JURIST_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))
