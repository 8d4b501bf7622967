"""The engine: every command judges through `run` here. It builds the backends once (registry -> resilience ->
cache: `Backends`, one resilient backend per model spec sharing one response cache, all closed at the end), checks
the data against the judge, runs any `Judge` over the items with concurrency, resume and progress (runner.py), and
records the run (log.py).

`api.ajudge`, the audit, the arena and `jurist import` all call `run`; none of them wraps a backend or opens a run
directory itself.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Any

from pydantic import BaseModel, Field

from .._version import __version__
from ..backends import Backend, BackendOptions, make_backend
from ..data.load import ItemStream, LoadedData
from ..errors import ConfigError
from ..judges.base import Judge, Preflight
from ..types import Verdict
from .batch import BatchingBackend, BatchOptions, check_batch_spec
from .cache import ResponseCache, default_cache_path
from .log import RunHeader
from .resilience import ResilientBackend, RetryPolicy
from .runner import RunOptions, RunOutcome, run_judge


class Limits(BaseModel):
    """Retries and rate limits for model calls."""

    max_retries: int = Field(5, ge=0)
    rpm: float | None = Field(None, gt=0, description="requests per minute")
    tpm: float | None = Field(None, gt=0, description="tokens per minute (estimated before sending)")


class JobOptions(BaseModel):
    """How a job reaches its models and runs: the `options=` of every command (ajudge, audit, arena)."""

    backend: BackendOptions = BackendOptions()
    limits: Limits = Limits()
    run: RunOptions = RunOptions()
    cache: bool = True
    cache_path: Path | None = None
    # the providers' batch APIs instead of one call per request (run/batch.py); None: online calls
    batch: BatchOptions | None = None


class Backends:
    """An async context manager that hands out one ResilientBackend per model spec or given backend, all sharing
    one response cache (opened on first use, when `options.cache`), and closes them all, and the cache, at exit,
    even when the body raises. A given backend is closed too: handing it over hands over its closing."""

    def __init__(self, options: JobOptions | None = None) -> None:
        self.options = options or JobOptions()
        self._cache: ResponseCache | None = None
        # keyed by the spec, or by the identity of a given backend (backends need not be hashable)
        self._made: dict[str | int | tuple[str, str], ResilientBackend] = {}
        self._run_dir: Path | None = None  # where batching backends keep their journal

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
        key: str | int | tuple[str, str] = model if isinstance(model, str) else id(model)
        if isinstance(model, str) and backend_options is not None and backend_options != self.options.backend:
            # the same spec at another server (a policy and a judge both "openai:m", at two base URLs) is another model
            key = (model, backend_options.model_dump_json())
        if key not in self._made:
            if self.options.batch is not None and not self.options.cache:
                # a finished batch's answers are kept in the response cache: without it a resumed run would pay
                # for the same requests again
                raise ConfigError("--batch keeps the batches' answers in the response cache: leave out --no-cache")
            if self.options.batch is not None and isinstance(model, str):
                check_batch_spec(model)  # before a local model is loaded for nothing
            inner = make_backend(model, backend_options or self.options.backend) if isinstance(model, str) else model
            limits = self.options.limits
            batch = self.options.batch
            if batch is not None:
                batching = BatchingBackend(inner, batch, self._shared_cache())
                if self._run_dir is not None:
                    batching.bind(self._run_dir)
                inner = batching
                # a failed request of a batch is recorded and tried again by the next run, not in another batch
                # now; rate limits are the provider's batch queue's, not this process's
                rate_limits = False
            self._made[key] = ResilientBackend(
                inner,
                retry=RetryPolicy(max_retries=0 if batch is not None else limits.max_retries),
                rpm=limits.rpm if rate_limits else None,
                tpm=limits.tpm if rate_limits else None,
                cache=self._shared_cache(),
            )
        return self._made[key]

    def bind(self, out: Path) -> None:
        """Give the batching backends (made now or later) the run directory that holds their journal."""
        self._run_dir = out
        for backend in self._made.values():
            if isinstance(backend.inner, BatchingBackend):
                backend.inner.bind(out)

    def _shared_cache(self) -> ResponseCache | None:
        if self._cache is None and self.options.cache:
            self._cache = ResponseCache(self.options.cache_path or default_cache_path())
        return self._cache

    def concurrency(self) -> int:
        """Requests worth having in flight on every backend made so far (1 before any)."""
        return min((b.capabilities.max_concurrency for b in self._made.values()), default=1)

    def counts(self) -> dict[str, int]:
        """Totals over the backends made so far: retries, failed calls (`errors`) and response-cache hits."""
        made = self._made.values()
        return {
            "retries": sum(b.retries for b in made),
            "errors": sum(b.errors for b in made),
            "cache_hits": sum(b.cache_hits for b in made),
        }

    def fallbacks(self) -> list[str]:
        """What the backends made so far gave up because a server rejected it."""
        return [f for backend in self._made.values() for f in backend.fallbacks]

    async def aclose(self) -> None:
        made, self._made = list(self._made.values()), {}
        try:
            for backend in made:
                await backend.aclose()
        finally:
            if self._cache is not None:
                self._cache.close()
                self._cache = None


JudgeFactory = Callable[[Backends], Judge]


def run_header(judge: Judge, data: LoadedData | ItemStream, header: dict[str, Any] | None = None) -> RunHeader:
    """config.json of a run of `judge` over `data`, with `header`'s fields added (this engine's and the Ray
    engine's, jurist.scale)."""
    return RunHeader.model_validate(
        {
            "judge": {"jurist_version": __version__, **judge.spec.identity},
            "data": data.path,
            "items": data.total if isinstance(data, ItemStream) else len(data.items),
            **(header or {}),
            "fingerprint": judge.spec.fingerprint,
        }
    )


def concurrency(judge: Judge, backends: Backends, options: JobOptions) -> int:
    """Items worth judging at once: `options.run.concurrency`, else what the judge says its models take, else what
    the backends take (the engine's runs and the judge server)."""
    if options.run.concurrency:
        return options.run.concurrency
    if isinstance(judge, Preflight):
        return judge.concurrency()
    return backends.concurrency()


async def run(
    judge: Judge | JudgeFactory,
    data: LoadedData | ItemStream,
    out: str | Path,
    options: JobOptions | None = None,
    *,
    backends: Backends | None = None,
    header: dict[str, Any] | None = None,
    on_start: Callable[[int, int], None] | None = None,
    on_verdict: Callable[[Verdict], None] | None = None,
    on_wait: Callable[[str], None] | None = None,
) -> RunOutcome:
    """Judge every item of `data` into the run directory `out`, resuming it, and say what the session did.

    `judge` is a judge, or a factory that builds one from the engine's backends (`lambda b: make_judge(b.get(spec),
    config)`), which then get `options`' retries, rate limits and cache. `backends` lets several runs share one
    set (the arena's rounds, the audit's runs: a local model is loaded once), left open; without it the run makes
    its own and closes them. `header` adds fields to the run's config.json (`jurist import`'s report).

    Before any call a judge with `Preflight` checks the data (context length, labels). Items in flight:
    `options.run.concurrency`, else what the judge says its models take, else what the backends take. The
    fallbacks of the engine's backends are recorded in the header; a ready judge's own backends are its own.
    `on_start(total, already_judged)`, `on_verdict(verdict)` and `on_wait(message)` report progress."""
    options = options or JobOptions()
    async with contextlib.AsyncExitStack() as closing:
        if backends is None:
            backends = await closing.enter_async_context(Backends(options))
        ready = judge if isinstance(judge, Judge) else judge(backends)
        if isinstance(ready, Preflight):
            # a stream's head now, its later blocks as they are read
            ready.check_data(data.head if isinstance(data, ItemStream) else data)
            if isinstance(data, ItemStream):
                data.checks.append(ready.check_data)
        record = run_header(ready, data, header)
        backends.bind(Path(out))
        return await run_judge(
            ready,
            data,
            Path(out),
            options.run,
            header=record,
            concurrency=concurrency(ready, backends, options),
            fallbacks=backends.fallbacks,
            on_start=on_start,
            on_verdict=on_verdict,
            on_wait=on_wait,
        )
