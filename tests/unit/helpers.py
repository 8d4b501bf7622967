"""Shared helpers for the unit tests: data paths, scripted replies, and token logprobs."""

from __future__ import annotations

import asyncio
import importlib.util
import math
import sys
from collections.abc import Coroutine
from pathlib import Path
from types import ModuleType
from typing import Any, TypeVar

import pytest

from jurist import FakeBackend, GenerateRequest, GenerateResponse, JudgeConfig, Usage, make_judge
from jurist.backends import Capabilities
from jurist.backends.base import TokenLogprob
from jurist.judges.base import LLMJudge

T = TypeVar("T")

PROJECT = Path(__file__).resolve().parents[2]
SHARED_DATA = PROJECT.parent / "shared" / "data"


def shared(relative: str) -> Path:
    """A file of the shared real data sets, or skip the test when this checkout has none."""
    path = SHARED_DATA / relative
    if not path.exists():
        pytest.skip(f"shared data file {path} is absent (expected next to the project in ../shared/data)")
    return path


def run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


def with_logprobs(text: str, label: str, probs: dict[str, float], occurrence: int = -1) -> GenerateResponse:
    """A response whose verdict token (the `occurrence`-th `label` in `text`) has `probs` as its top alternatives.

    The text is cut into three tokens: before the verdict, the verdict, after it.
    """
    starts = [i for i in range(len(text)) if text.startswith(label, i)]
    at = starts[occurrence]
    top = {token: math.log(p) for token, p in probs.items()}
    tokens = [
        TokenLogprob(token=text[:at], logprob=-0.01),
        TokenLogprob(token=label, logprob=top.get(label, -0.1), top=top),
        TokenLogprob(token=text[at + len(label) :], logprob=-0.01),
    ]
    return GenerateResponse(
        text=text, logprobs=[t for t in tokens if t.token], usage=Usage(prompt_tokens=10, completion_tokens=5, calls=1)
    )


def logprob_capable(max_concurrency: int = 8) -> Capabilities:
    return Capabilities(logprobs=True, json_schema=True, max_concurrency=max_concurrency)


def make(backend: FakeBackend, **config: Any) -> LLMJudge:
    return make_judge(backend, JudgeConfig(**config))


def user_text(request: GenerateRequest) -> str:
    return "\n".join(m.content for m in request.messages if m.role == "user")


def first_shown(request: GenerateRequest, a: str, b: str) -> str:
    """Which of two response texts the prompt shows first."""
    text = user_text(request)
    return a if text.index(a) < text.index(b) else b


def load_reproduce_bench() -> ModuleType:
    """bench/reproduce_cli.py: its commands, and its readers of the published figures."""
    spec = importlib.util.spec_from_file_location("reproduce_cli", PROJECT / "bench" / "reproduce_cli.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # pydantic resolves the module's annotations through sys.modules
    spec.loader.exec_module(module)
    return module
