"""Token rate limits count what calls really use, on a simulated clock (no real waiting)."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

import pytest

from jurist import BackendError, FakeBackend, GenerateRequest, GenerateResponse, Usage
from jurist.backends.base import Message
from jurist.run.resilience import RateLimiter, ResilientBackend, RetryPolicy

from .helpers import run


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> SimpleNamespace:
    """The limiter's clock, advanced only by its own waits."""
    fake = SimpleNamespace(now=1000.0)
    fake.monotonic = lambda: fake.now
    real_sleep = asyncio.sleep

    async def sleep(delay: float, *args: object, **kwargs: object) -> None:
        fake.now += max(0.0, delay)
        await real_sleep(0)

    monkeypatch.setattr("jurist.run.resilience.time", fake)
    monkeypatch.setattr("jurist.run.resilience.asyncio.sleep", sleep)
    return fake


def request(max_tokens: int = 512) -> GenerateRequest:
    return GenerateRequest(messages=(Message(role="user", content="x" * 100),), max_tokens=max_tokens)


def reply(prompt_tokens: int, completion_tokens: int) -> GenerateResponse:
    return GenerateResponse(
        text="ok", usage=Usage(prompt_tokens=prompt_tokens, completion_tokens=completion_tokens, calls=1)
    )


def test_tpm_counts_the_tokens_used_not_max_tokens(clock: SimpleNamespace) -> None:
    # 20 short calls (25 + 5 tokens each) at 12000 tokens a minute: 600 tokens, 3 s of budget. Reserving
    # max_tokens (512) for each would take about 50 s.
    wrapped = ResilientBackend(FakeBackend([reply(25, 5)]), tpm=12000)
    start = clock.now
    for _ in range(20):
        run(wrapped.generate(request(max_tokens=512)))
    elapsed = clock.now - start
    assert 2.5 <= elapsed <= 3.1, elapsed


def test_tpm_charges_a_reply_that_used_more_than_estimated(clock: SimpleNamespace) -> None:
    wrapped = ResilientBackend(FakeBackend([reply(25, 1175)]), tpm=12000)  # 1200 tokens: 6 s of budget
    run(wrapped.generate(request()))
    start = clock.now
    run(wrapped.generate(request()))
    assert clock.now - start == pytest.approx(6.0, abs=0.01)


def test_tpm_keeps_the_prompt_charged_when_a_call_fails(clock: SimpleNamespace) -> None:
    failing = BackendError("HTTP 400: no", status=400, reason="http_400")
    wrapped = ResilientBackend(FakeBackend([failing]), tpm=600, retry=RetryPolicy(max_retries=0))  # 10 a second
    with pytest.raises(BackendError):
        run(wrapped.generate(request()))
    start = clock.now
    with pytest.raises(BackendError):
        run(wrapped.generate(request()))
    assert clock.now - start == pytest.approx(2.5)  # the first call's 100 characters, about 25 tokens


def test_rate_limiter_settle_moves_the_schedule(clock: SimpleNamespace) -> None:
    async def scenario() -> list[float]:
        limiter = RateLimiter(per_minute=60)  # one unit a second
        starts = []
        for units in (2.0, 2.0):
            await limiter.acquire(units)
            starts.append(clock.now)
        limiter.settle(-1.5)  # the second call used half a unit
        await limiter.acquire(1.0)
        starts.append(clock.now)
        return starts

    assert run(scenario()) == pytest.approx([1000.0, 1002.0, 1002.5])
