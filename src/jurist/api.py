"""The Python API: an async core (`ajudge`) and a thin sync facade (`judge`)."""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import threading
from collections.abc import Callable, Coroutine, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar, cast

from .backends import Backend
from .data.load import LoadedData, load_data
from .errors import ConfigError
from .judges import JudgeConfig, make_judge
from .judges.base import Judge
from .run.engine import Backends, JobOptions
from .run.engine import Limits as Limits  # re-exported: jurist.api.Limits, as before
from .run.log import read_run
from .run.runner import RunOutcome, run_judge
from .strategies.build import StrategySpec, build_judge
from .strategies.tree import StrategyTree, build_tree, load_strategy
from .summary import Summary, summarize
from .types import Item, Mode, Verdict

if TYPE_CHECKING:
    import pandas as pd

T = TypeVar("T")


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
    data: str | Path | LoadedData | Sequence[Item | dict[str, Any]],
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
    A run directory takes one process at a time: another one judging into `out` is a RunDirError, unless
    `options.run.wait`, which waits for it (calling `on_wait(message)` once).
    """
    options = options or JobOptions()
    if isinstance(strategy, str | Path):
        strategy = load_strategy(strategy)
    if judge is not None and config is not None:
        raise ConfigError("give either config or judge, not both (a judge carries its own configuration)")
    if isinstance(judge, Judge):
        if model is not None:
            raise ConfigError("a ready-made judge brings its own backends: pass model only with a judge factory")
        ready = load_data(data, judge.mode, field_map, label_map)
        return RunResult(
            out,
            await run_judge(
                judge, ready, Path(out), options.run, on_start=on_start, on_verdict=on_verdict, on_wait=on_wait
            ),
        )
    if judge is None and config is None:
        raise ConfigError("say how to judge: config= (a JudgeConfig or a mode) or judge= (a judge)")
    if config is not None:
        config = config if isinstance(config, JudgeConfig) else JudgeConfig(mode=config)
    # with a config, bad input is reported before a model is loaded
    loaded: LoadedData | None = load_data(data, config.mode, field_map, label_map) if config is not None else None
    model = "local" if model is None else model
    tree = strategy if isinstance(strategy, StrategyTree) else None
    spec = strategy if isinstance(strategy, StrategySpec) else None
    if (tree is not None or (spec is not None and not spec.empty)) and config is None:
        raise ConfigError("strategy= wraps the judge made from config=; give a config")
    if tree is not None and not isinstance(model, str):
        raise ConfigError("a strategy file names its models as specs: give model= as a spec such as 'local'")
    # every model a strategy names gets its own backend, made once per spec and closed at the end
    async with Backends(options) as backends:
        resilient = backends.get(model)
        if judge is not None:
            the_judge = judge(resilient)
        elif tree is not None:
            the_judge = build_tree(tree, cast(JudgeConfig, config), cast(str, model), backends.get)
        elif spec is not None and not spec.empty:
            strong = backends.get(spec.cascade_to) if spec.cascade_to not in (None, "human") else None
            the_judge = build_judge(cast(JudgeConfig, config), spec, resilient, strong)
        else:
            the_judge = make_judge(resilient, cast(JudgeConfig, config))
        if loaded is None:
            loaded = load_data(data, the_judge.mode, field_map, label_map)
        outcome = await run_judge(
            the_judge, loaded, Path(out), options.run, on_start=on_start, on_verdict=on_verdict, on_wait=on_wait
        )
    return RunResult(out, outcome)


def judge(
    data: str | Path | LoadedData | Sequence[Item | dict[str, Any]],
    *,
    out: str | Path,
    config: JudgeConfig | Mode | None = None,
    model: str | Backend | None = None,
    judge: Judge | Callable[[Backend], Judge] | None = None,
    strategy: StrategySpec | StrategyTree | str | Path | None = None,
    options: JobOptions | None = None,
    field_map: dict[str, str] | None = None,
    label_map: dict[str, str] | None = None,
) -> RunResult:
    """Synchronous `ajudge`, for scripts and notebooks (see `run_sync`)."""
    return run_sync(
        ajudge(
            data,
            out=out,
            config=config,
            model=model,
            judge=judge,
            strategy=strategy,
            options=options,
            field_map=field_map,
            label_map=label_map,
        )
    )
