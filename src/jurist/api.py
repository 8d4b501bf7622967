"""The Python API: an async core (`ajudge`) and a thin sync facade (`judge`)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, Field

from .backends import Backend, BackendOptions, make_backend
from .data.load import LoadedData, items_from_rows, load_items
from .errors import InputError
from .judges import JudgeConfig, make_judge
from .run.cache import ResponseCache, default_cache_path
from .run.resilience import ResilientBackend, RetryPolicy
from .run.runner import RunOptions, RunOutcome, run_judge
from .summary import Summary, load_run, summarize
from .types import Item, Mode, Verdict

if TYPE_CHECKING:
    import pandas as pd


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


class RunResult:
    """A run directory, read back: its summary, its verdicts, and a DataFrame."""

    def __init__(self, out: str | Path, outcome: RunOutcome | None = None) -> None:
        self.out = Path(out)
        self.outcome = outcome

    def summary(self) -> Summary:
        return summarize(self.out)

    def verdicts(self) -> list[Verdict]:
        return load_run(self.out)[1]

    def to_pandas(self) -> pd.DataFrame:
        from .export import to_dataframe

        return to_dataframe(self.out)


def open_run(out: str | Path) -> RunResult:
    load_run(Path(out))  # fails clearly if it is not a run directory
    return RunResult(out)


def _as_data(
    data: str | Path | LoadedData | Sequence[Item | dict[str, Any]], mode: Mode, field_map: dict[str, str] | None
) -> LoadedData:
    if isinstance(data, LoadedData):
        return data
    if isinstance(data, str | Path):
        return load_items(data, mode, field_map)
    if not data:
        raise InputError("no items given", file="<python>")
    # Python records get the same checks as a file's: required fields per mode, types, labels, unique ids.
    rows = [
        (number, {**it.metadata, **it.model_dump(exclude={"metadata"}, exclude_none=True)})
        if isinstance(it, Item)
        else (number, it)
        for number, it in enumerate(data, start=1)
    ]
    return items_from_rows(rows, mode, field_map, path="<python>", unit="item")


async def ajudge(
    data: str | Path | LoadedData | Sequence[Item | dict[str, Any]],
    *,
    out: str | Path,
    config: JudgeConfig | Mode,
    model: str | Backend = "local",
    options: JobOptions | None = None,
    field_map: dict[str, str] | None = None,
    on_start: Callable[[int, int], None] | None = None,
    on_verdict: Callable[[Verdict], None] | None = None,
) -> RunResult:
    """Judge every item of `data` into the run directory `out` (resuming it if it exists)."""
    options = options or JobOptions()
    config = config if isinstance(config, JudgeConfig) else JudgeConfig(mode=config)
    loaded = _as_data(data, config.mode, field_map)
    backend = make_backend(model, options.backend) if isinstance(model, str) else model
    cache = None
    if options.cache:
        cache = ResponseCache(options.cache_path or default_cache_path())
    resilient = ResilientBackend(
        backend,
        retry=RetryPolicy(max_retries=options.limits.max_retries),
        rpm=options.limits.rpm,
        tpm=options.limits.tpm,
        cache=cache,
    )
    try:
        the_judge = make_judge(resilient, config)
        outcome = await run_judge(the_judge, loaded, Path(out), options.run, on_start=on_start, on_verdict=on_verdict)
    finally:
        await resilient.aclose()
        if cache is not None:
            cache.close()
    return RunResult(out, outcome)


def judge(
    data: str | Path | LoadedData | Sequence[Item | dict[str, Any]],
    *,
    out: str | Path,
    config: JudgeConfig | Mode,
    model: str | Backend = "local",
    options: JobOptions | None = None,
    field_map: dict[str, str] | None = None,
) -> RunResult:
    """Synchronous `ajudge`, for scripts and notebooks without an event loop."""
    return asyncio.run(ajudge(data, out=out, config=config, model=model, options=options, field_map=field_map))
