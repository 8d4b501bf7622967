"""The Python API: an async core (`ajudge`) and a thin sync facade (`judge`)."""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import functools
import inspect
import threading
import warnings
from collections.abc import Callable, Coroutine, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar, cast

from .backends import Backend
from .data.load import ItemStream, LoadedData, open_data
from .errors import ConfigError
from .judges import JudgeConfig
from .judges.base import Judge
from .run.engine import Backends, JobOptions, run
from .run.engine import Limits as Limits  # re-exported: jurist.api.Limits, as before
from .run.log import read_run
from .run.runner import RunOutcome
from .strategies.build import StrategySpec, judge_for
from .strategies.tree import StrategyTree, load_strategy
from .summary import Summary, summarize
from .types import Item, Mode, Verdict

if TYPE_CHECKING:
    import pandas as pd

T = TypeVar("T")
P = ParamSpec("P")
S = TypeVar("S")


def run_sync(work: Coroutine[Any, Any, T]) -> T:
    """Run `work` to completion from synchronous code: every sync facade (judge, audit, run_arena) goes through here.

    With no event loop running in this thread this is `asyncio.run`. Where one is running (a Jupyter cell, an async
    caller) asyncio.run refuses, and the running loop cannot be re-entered, so the work runs on a fresh loop in a
    worker thread while this thread waits. Its exceptions reach the caller; Ctrl-C while waiting cancels the work,
    waits for it to close its files and connections, then raises KeyboardInterrupt here."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(work)
    outcome: concurrent.futures.Future[T] = concurrent.futures.Future()
    running: concurrent.futures.Future[asyncio.Task[T]] = concurrent.futures.Future()

    async def tracked() -> T:
        running.set_result(cast("asyncio.Task[T]", asyncio.current_task()))
        return await work

    def worker() -> None:
        try:
            outcome.set_result(asyncio.run(tracked()))
        except BaseException as exc:  # handed to the waiting thread, which raises it
            outcome.set_exception(exc)

    # daemon: a worker left behind by a second Ctrl-C must not keep the interpreter from exiting
    thread = threading.Thread(target=worker, name="jurist-run-sync", daemon=True)
    try:
        thread.start()  # inside the try: Ctrl-C may come while the worker starts
        while not outcome.done():
            # in short slices: an untimed wait is not woken by Ctrl-C on Windows, and can miss it elsewhere
            concurrent.futures.wait([outcome], timeout=0.1)
        return outcome.result()
    except KeyboardInterrupt:
        task = running.result()
        with contextlib.suppress(RuntimeError):  # the loop is already closed: the work had just ended
            task.get_loop().call_soon_threadsafe(task.cancel)
        concurrent.futures.wait([outcome])
        raise


def sync_twin(work: Callable[P, Coroutine[Any, Any, T]]) -> Callable[P, T]:
    """The synchronous twin of the async function `work` (`judge = sync_twin(ajudge)`): the same parameters, as
    mypy, IDEs and `help()` see them, every argument handed through as given, the work run by `run_sync`. Named
    after `work` without its leading "a"."""
    name = work.__name__.removeprefix("a")

    @functools.wraps(work)
    def twin(*args: P.args, **kwargs: P.kwargs) -> T:
        return run_sync(work(*args, **kwargs))

    twin.__name__ = name
    twin.__qualname__ = work.__qualname__.removesuffix(work.__name__) + name
    twin.__doc__ = (
        f"Synchronous `{work.__name__}`, for scripts and notebooks (see `jurist.api.run_sync`).\n\n"
        + inspect.cleandoc(work.__doc__ or "")
    )
    return twin


def split_options(
    function: str, keyword: str, settings: S | None, options: JobOptions | S | None, kind: type[S]
) -> tuple[S | None, JobOptions | None]:
    """`options=` is the job's (JobOptions) in every command. An application that once took its own settings there
    (the audit's AuditOptions, the arena's ArenaOptions; now its `keyword=`) still gets them, with a
    DeprecationWarning: (its settings, the job's options)."""
    if not isinstance(options, kind):
        return settings, cast(JobOptions | None, options)
    warnings.warn(
        f"{function}(options={kind.__name__}(...)) is deprecated: pass it as {keyword}=, and the job's options as "
        "options=",
        DeprecationWarning,
        stacklevel=3,
    )
    if settings is not None:
        raise ConfigError(f"give the {kind.__name__} once, as {keyword}=")
    return options, None


def renamed(old: str, new: str, old_value: T | None, new_value: T | None) -> T | None:
    """The value of an argument given under its old name (`old`, with a DeprecationWarning) or its new one; given
    under both, a ConfigError."""
    if old_value is None:
        return new_value
    warnings.warn(f"{old} is deprecated: pass it as {new}", DeprecationWarning, stacklevel=3)
    if new_value is not None:
        raise ConfigError(f"give it once, as {new} ({old} is its old place)")
    return old_value


class RunResult:
    """A run directory, read back: its summary, its verdicts, and a DataFrame."""

    def __init__(self, out: str | Path, outcome: RunOutcome | None = None) -> None:
        self.out = Path(out)
        self.outcome = outcome

    def summary(self) -> Summary:
        return summarize(self.out)

    def verdicts(self) -> list[Verdict]:
        return read_run(self.out).verdicts

    def to_pandas(self, *, texts: bool = True) -> pd.DataFrame:
        """One row per verdict, with the item's texts (unless `texts=False`) and a `meta.KEY` column per
        metadata key."""
        from .export import to_dataframe

        return to_dataframe(self.out, texts=texts)


def open_run(out: str | Path) -> RunResult:
    read_run(out)  # fails clearly if it is not a run directory
    return RunResult(out)


async def ajudge(
    data: str | Path | LoadedData | ItemStream | Iterable[Item | dict[str, Any]],
    *,
    out: str | Path,
    config: JudgeConfig | Mode | None = None,
    model: str | Backend | None = None,
    judge: Judge | Callable[[Backend], Judge] | None = None,
    strategy: StrategySpec | StrategyTree | str | Path | None = None,
    options: JobOptions | None = None,
    field_map: dict[str, str] | None = None,
    label_map: dict[str, str] | None = None,
    on_start: Callable[[int, int], None] | None = None,
    on_verdict: Callable[[Verdict], None] | None = None,
    on_wait: Callable[[str], None] | None = None,
    header: dict[str, Any] | None = None,
) -> RunResult:
    """Judge every item of `data` into the run directory `out` (resuming it if it exists).

    Say how to judge with `config` (a JudgeConfig or a mode) on `model` (default "local"), or with `judge`:
    either a ready-made judge (e.g. a strategy from `jurist.strategies`), used as it is with its own backends,
    or a function that builds one from the `model` backend, which then gets the retries, rate limits and
    response cache of `options`: `judge=lambda backend: Jury([make_judge(backend, c1), make_judge(backend, c2)])`.
    `strategy` (a StrategySpec) wraps the judge made from `config` in self-consistency, a jury of rubrics and/or
    a cascade to a stronger model, as the CLI's strategy options do; or it is a strategy file (a path, or a
    StrategyTree) describing any stack of strategies, whose judges take `config` as their base settings and
    `model` as their default model.
    `field_map` and `label_map` say how records' columns and raw labels are read (see `load_items`; for its other
    options, such as `records`, call it and pass the LoadedData). Integer pairwise labels read with no
    `label_map` give a UserWarning (0/1/2 mean different things in different data sets).
    A JSONL or Parquet file, or an iterable that is not a sequence (a generator), is streamed (`ItemStream`): read
    in blocks as it is judged, never held whole, with `on_start` given 0 for the total of a generator.
    A run directory takes one process at a time: another one judging into `out` is a RunDirError, unless
    `options.run.wait`, which waits for it (calling `on_wait(message)` once). `on_start(total, already_judged)`
    and `on_verdict(verdict)` report progress. `header` adds fields to the run's config.json (an application's own
    settings, such as the reward's). The judging is the engine's (`jurist.run.engine.run`).
    """
    options = options or JobOptions()
    if isinstance(strategy, str | Path):
        strategy = load_strategy(strategy)
    if judge is not None and config is not None:
        raise ConfigError("give either config or judge, not both (a judge carries its own configuration)")
    if judge is None and config is None:
        raise ConfigError("say how to judge: config= (a JudgeConfig or a mode) or judge= (a judge)")
    if isinstance(judge, Judge) and model is not None:
        raise ConfigError("a ready-made judge brings its own backends: pass model only with a judge factory")
    if config is not None:
        config = config if isinstance(config, JudgeConfig) else JudgeConfig(mode=config)
    # with a config, bad input is reported before a model is loaded
    loaded = open_data(data, config.mode, field_map, label_map) if config is not None else None
    model = "local" if model is None else model
    tree = strategy if isinstance(strategy, StrategyTree) else None
    spec = strategy if isinstance(strategy, StrategySpec) else None
    if (tree is not None or (spec is not None and not spec.empty)) and config is None:
        raise ConfigError("strategy= wraps the judge made from config=; give a config")
    # every model a strategy names gets its own backend, made once per spec and closed at the end
    async with Backends(options) as backends:
        if isinstance(judge, Judge):
            the_judge = judge
        elif judge is not None:
            the_judge = judge(backends.get(model))
        else:
            the_judge = judge_for(cast(JudgeConfig, config), tree or spec, model, backends.get)
        if loaded is None:
            loaded = open_data(data, the_judge.spec.mode, field_map, label_map)
        outcome = await run(
            the_judge,
            loaded,
            out,
            options,
            backends=backends,
            header=header,
            on_start=on_start,
            on_verdict=on_verdict,
            on_wait=on_wait,
        )
    return RunResult(out, outcome)


judge = sync_twin(ajudge)
