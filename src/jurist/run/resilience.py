"""Wrap a backend with what every run needs: rate limits, bounded retries with backoff, and the response cache.

The wrapper is itself a Backend, so judges never see any of this.
"""

from __future__ import annotations

import asyncio
import random
import time

from pydantic import BaseModel, Field

from ..backends.base import Backend, Capabilities, GenerateRequest, GenerateResponse, Message
from ..errors import BackendError
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

    @property
    def capabilities(self) -> Capabilities:
        return self.inner.capabilities  # may change when a server rejects a feature

    def count_tokens(self, messages: tuple[Message, ...]) -> int | None:
        return self.inner.count_tokens(messages)

    async def generate(self, request: GenerateRequest) -> GenerateResponse:
        use_cache = self._cache is not None and ResponseCache.cacheable(request)
        key = ""
        if use_cache:
            key = request.cache_key(self.name)  # worked out once, for the lookup and the store
            hit = self._cache.get(self.name, request, key=key)  # type: ignore[union-attr]
            if hit is not None:
                return hit
        attempt = 0
        while True:
            if self._rpm:
                await self._rpm.acquire()
            if self._tpm:
                # Estimate before the call (about 4 characters a token), since limits apply to what is sent.
                await self._tpm.acquire(request.prompt_chars() / 4 + request.max_tokens)
            try:
                response = await self.inner.generate(request)
            except BackendError as exc:
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
            if use_cache:
                self._cache.put(self.name, request, response, key=key)  # type: ignore[union-attr]
            return response

    async def aclose(self) -> None:
        await self.inner.aclose()
