"""Wrap a backend with what every run needs: rate limits, bounded retries with backoff, the response cache, and
the scrubbing of secrets from everything the backend gives back.

The wrapper is itself a Backend, so judges never see any of this.
"""

from __future__ import annotations

import asyncio
import random
import time

from pydantic import BaseModel, Field

from ..backends.base import Backend, Capabilities, GenerateRequest, GenerateResponse, Message, cache_identity
from ..errors import BackendError
from ..secrets import MIN_SECRET_LENGTH, scrub
from .cache import ResponseCache


class RetryPolicy(BaseModel):
    max_retries: int = Field(5, ge=0)
    base_delay_s: float = 0.5
    max_delay_s: float = 60.0

    def delay(self, attempt: int, retry_after: float | None) -> float:
        if retry_after is not None:
            return min(retry_after, self.max_delay_s * 5)
        # "Full jitter": spread retries so that many clients do not come back in step.
        return random.uniform(0, min(self.max_delay_s, self.base_delay_s * 2**attempt))


class RateLimiter:
    """Spaces out acquisitions so that at most `per_minute` units pass per minute, with no bursts."""

    def __init__(self, per_minute: float) -> None:
        self._interval = 60.0 / per_minute
        self._next = 0.0
        self._lock = asyncio.Lock()

    async def acquire(self, units: float = 1.0) -> None:
        async with self._lock:
            now = time.monotonic()
            wait = self._next - now
            self._next = max(now, self._next) + units * self._interval
        if wait > 0:
            await asyncio.sleep(wait)

    def settle(self, units: float) -> None:
        """Charge units found out after the fact, or give back (negative) what was overestimated: the
        acquisitions still waiting move accordingly. No burst follows, since none starts before now."""
        self._next += units * self._interval


class ResilientBackend:
    def __init__(
        self,
        backend: Backend,
        *,
        retry: RetryPolicy | None = None,
        rpm: float | None = None,
        tpm: float | None = None,
        cache: ResponseCache | None = None,
    ) -> None:
        self.inner = backend
        self.name = backend.name
        self.base_url = getattr(backend, "base_url", None)
        self.retry = retry or RetryPolicy()
        self._rpm = RateLimiter(rpm) if rpm else None
        self._tpm = RateLimiter(tpm) if tpm else None
        self._cache = cache
        self.retries = 0  # total retries made, for the summary
        self.errors = 0  # the inner backend's failed calls, retried or not (the judge server's metrics)
        self.cache_hits = 0

    @property
    def capabilities(self) -> Capabilities:
        return self.inner.capabilities  # may change when a server rejects a feature

    @property
    def cache_identity(self) -> str:
        return cache_identity(self.inner)  # may change when a server rejects a feature

    @property
    def fallbacks(self) -> list[str]:
        """What the backend gave up because the server rejected it, in words (see OpenAIBackend)."""
        return list(getattr(self.inner, "fallbacks", None) or [])

    def count_tokens(self, messages: tuple[Message, ...]) -> int | None:
        return self.inner.count_tokens(messages)

    async def generate(self, request: GenerateRequest) -> GenerateResponse:
        cache = self._cache if self._cache is not None and ResponseCache.cacheable(request) else None
        if self.inner.capabilities.recorded:
            cache = None  # answers looked up by item and order: a cache keyed on the text could swap them
        if cache is not None:
            identity = self.cache_identity
            key = request.cache_key(identity)  # worked out once, unless a fallback changes the identity
            hit = cache.get(key)
            if hit is not None:
                self.cache_hits += 1
                return _scrubbed(hit)
        attempt = 0
        while True:
            if self._rpm:
                await self._rpm.acquire()
            # Token limits count the prompt (about 4 characters a token) before the call and correct it by what
            # the reply says was used: reserving max_tokens would hold back most of the budget for nothing.
            estimate = request.prompt_chars() / 4 if self._tpm else 0.0
            if self._tpm:
                await self._tpm.acquire(estimate)
            try:
                response = _scrubbed(await self.inner.generate(request))
            except BackendError as exc:
                self.errors += 1
                # Every message of every backend passes here, the user's own included.
                exc.args = (scrub(str(exc)),)
                if not exc.retryable or exc.fatal:
                    raise
                if attempt >= self.retry.max_retries:
                    # Still transient: a later session (resume with retry_failed) may judge the item again.
                    raise BackendError(
                        f"gave up after {attempt + 1} attempts; last error: {exc}",
                        status=exc.status,
                        retryable=True,
                        reason="retries_exhausted",
                    ) from exc
                self.retries += 1
                await asyncio.sleep(self.retry.delay(attempt, exc.retry_after))
                attempt += 1
                continue
            if self._tpm:
                self._tpm.settle(_tokens_used(response, estimate) - estimate)
            if cache is not None:
                # A feature the server rejected meanwhile changed what was sent, and so the key.
                if self.cache_identity != identity:
                    key = request.cache_key(self.cache_identity)
                cache.put(key, response)
            return response

    async def aclose(self) -> None:
        await self.inner.aclose()


def _tokens_used(response: GenerateResponse, prompt_estimate: float) -> float:
    usage = response.usage
    if usage.total_tokens:
        return usage.total_tokens
    return prompt_estimate + len(response.text) / 4  # a server that reports no usage


def _scrubbed(response: GenerateResponse) -> GenerateResponse:
    """The response with every known secret blanked out (a server may echo the key it was sent)."""
    text = scrub(response.text)
    if text != response.text:
        # The tokens spell the text, and pieces of a secret may lie in several of them.
        return response.model_copy(update={"text": text, "logprobs": None})
    if not response.logprobs:
        return response
    changed = False
    logprobs = []
    for t in response.logprobs:
        # A secret fits in no shorter token: most tokens are skipped without a look.
        if len(t.token) >= MIN_SECRET_LENGTH or any(len(alt) >= MIN_SECRET_LENGTH for alt in t.top):
            token, top = scrub(t.token), {scrub(alt): lp for alt, lp in t.top.items()}
            if token != t.token or top != t.top:
                t = t.model_copy(update={"token": token, "top": top})
                changed = True
        logprobs.append(t)
    return response.model_copy(update={"logprobs": logprobs}) if changed else response
