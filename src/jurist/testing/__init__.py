"""Test helpers for jurist and for code built on it. Nothing here judges anything.

Imported lazily, so that `python -m jurist.testing.fake_openai_server` runs the module only once.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .fake_openai_server import FakeOpenAIServer, build_app, fetch_stats, start_fake_server

__all__ = ["FakeOpenAIServer", "build_app", "fetch_stats", "start_fake_server"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from . import fake_openai_server

        return getattr(fake_openai_server, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
