"""The one place where a job's backends are built: each model spec (or given backend) becomes one resilient
backend (retries, rate limits, the shared response cache), made once, and everything is closed at the end.

`api.ajudge`, the audit and the arena all get their backends here, so none of them wraps a backend itself.
"""

from __future__ import annotations

from pathlib import Path
from types import TracebackType

from pydantic import BaseModel, Field

from ..backends import Backend, BackendOptions, make_backend
from .cache import ResponseCache, default_cache_path
from .resilience import ResilientBackend, RetryPolicy
from .runner import RunOptions


class Limits(BaseModel):
    """Retries and rate limits for model calls."""

    max_retries: int = Field(5, ge=0)
    rpm: float | None = Field(None, gt=0, description="requests per minute")
    tpm: float | None = Field(None, gt=0, description="tokens per minute (estimated before sending)")


class JobOptions(BaseModel):
    backend: BackendOptions = BackendOptions()
    limits: Limits = Limits()
    run: RunOptions = RunOptions()
    cache: bool = True
    cache_path: Path | None = None


class Backends:
    """An async context manager that hands out one ResilientBackend per model spec or given backend, all sharing
    one response cache (opened on first use, when `options.cache`), and closes them all, and the cache, at exit,
    even when the body raises. A given backend is closed too: handing it over hands over its closing."""

    def __init__(self, options: JobOptions | None = None) -> None:
        self.options = options or JobOptions()
        self._cache: ResponseCache | None = None
        # keyed by the spec, or by the identity of a given backend (backends need not be hashable)
        self._made: dict[str | int, ResilientBackend] = {}

    async def __aenter__(self) -> Backends:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        await self.aclose()

    def get(
        self, model: str | Backend, *, backend_options: BackendOptions | None = None, rate_limits: bool = True
    ) -> ResilientBackend:
        """The resilient backend of `model`, made on the first call and the same one afterwards.

        `backend_options` replace the job's for a spec (a model at another provider must not get this one's server
        settings); `rate_limits=False` leaves out the job's rpm/tpm, which are meant for the judge's model."""
        key = model if isinstance(model, str) else id(model)
        if key not in self._made:
            inner = make_backend(model, backend_options or self.options.backend) if isinstance(model, str) else model
            limits = self.options.limits
            self._made[key] = ResilientBackend(
                inner,
                retry=RetryPolicy(max_retries=limits.max_retries),
                rpm=limits.rpm if rate_limits else None,
                tpm=limits.tpm if rate_limits else None,
                cache=self._shared_cache(),
            )
        return self._made[key]

    def _shared_cache(self) -> ResponseCache | None:
        if self._cache is None and self.options.cache:
            self._cache = ResponseCache(self.options.cache_path or default_cache_path())
        return self._cache

    async def aclose(self) -> None:
        made, self._made = list(self._made.values()), {}
        try:
            for backend in made:
                await backend.aclose()
        finally:
            if self._cache is not None:
                self._cache.close()
                self._cache = None
