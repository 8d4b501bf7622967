"""Test helpers for jurist and for code built on it. Nothing here judges anything.

Imported lazily, so that `python -m jurist.testing.fake_openai_server` runs the module only once.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .fake_batch_server import FakeBatchServer
    from .fake_openai_server import FakeOpenAIServer, build_app, fetch_stats, start_fake_server
    from .judged import JudgeSession, JudgingFailed, assert_judged

__all__ = [
    "FakeBatchServer",
    "FakeOpenAIServer",
    "JudgeSession",
    "JudgingFailed",
    "assert_judged",
    "build_app",
    "fetch_stats",
    "start_fake_server",
]
_JUDGED = ("JudgeSession", "JudgingFailed", "assert_judged")


def __getattr__(name: str) -> Any:
    if name in _JUDGED:
        from . import judged

        return getattr(judged, name)
    if name == "FakeBatchServer":
        from . import fake_batch_server

        return fake_batch_server.FakeBatchServer
    if name in __all__:
        from . import fake_openai_server

        return getattr(fake_openai_server, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
