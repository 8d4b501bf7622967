"""The asyncio runner: judge items concurrently, record each verdict as it completes, resume where a run stopped.
One judging session of the engine (run/engine.py `run`), which does the checks before it and builds the header."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

from pydantic import BaseModel, Field

from ..data.load import ItemStream, LoadedData
from ..errors import ConfigError, InputError, RunDirError
from ..judges.base import Judge, judge_item
from ..secrets import scrub
from ..types import Item, Verdict
from .log import FsyncPolicy, JudgedIndex, RunHeader, RunStore, SessionRecord

_LOCK_POLL_S = 0.5


class RunOptions(BaseModel):
    """How to run (not what to judge): none of this changes a verdict, so none of it is in the fingerprint."""

    concurrency: int | None = Field(None, ge=1, description="items in flight; default: what the judge's models suit")
    fsync: FsyncPolicy = "batch"
    overwrite: bool = False
    retry_failed: bool = True  # on resume, judge again items whose earlier attempt failed for a transient reason
    wait: bool = False  # when another process is judging into the run directory, wait for it instead of failing


class RunOutcome(BaseModel):
    out: Path
    total: int
    skipped: int  # already judged in an earlier session
    judged: int
    failed: int
    wall_s: float
    interrupted: bool = False


ProgressCallback = Callable[[Verdict], None]


def _kept(error: InputError | ConfigError, judged: int, out: Path) -> InputError | ConfigError:
    """Bad input that stopped a stream, saying that what was judged before it is kept."""
    if not isinstance(error, InputError):
        return error
    kept = f"the {judged} verdicts made before it are kept in {out}: fix it and run the same command again to resume"
    hint = f"{error.hint}; {kept}" if error.hint else kept
    return InputError(error.message, file=error.file, line=error.line, field=error.field, hint=hint)


async def _open_store(
    store: RunStore,
    header: RunHeader,
    options: RunOptions,
    on_wait: Callable[[str], None] | None,
) -> JudgedIndex:
    """Open the run, first waiting (polling, so that Ctrl-C still stops it) while another process holds it, if
    `options.wait`; otherwise a held directory is a RunDirError."""
    told = False
    while not store.try_lock():
        if not options.wait:
            raise store.in_use()
        if on_wait is not None and not told:
            on_wait(f"{store.out} is in use by {store.holder()}: waiting for it to finish")
            told = True
        await asyncio.sleep(_LOCK_POLL_S)
    return store.open(header, overwrite=options.overwrite)


async def run_judge(
    judge: Judge,
    data: LoadedData | ItemStream,
    out: Path,
    options: RunOptions,
    *,
    header: RunHeader,
    concurrency: int,
    fallbacks: Callable[[], Sequence[str]] = tuple,
    on_start: Callable[[int, int], None] | None = None,
    on_verdict: ProgressCallback | None = None,
    on_wait: Callable[[str], None] | None = None,
) -> RunOutcome:
    """Judge `data` into the run directory `out` with `concurrency` items in flight, holding the directory for the
    whole session; `header` is its config.json, and `fallbacks()` what the backends gave up, recorded at the end.
    `on_wait(message)` is called once if the session waits for another process to release the directory
    (`options.wait`).

    An ItemStream is read as it is judged: `concurrency` items in flight, one block of the stream in memory, and
    the run directory's index of judged items (not its verdicts). Bad input in a later block ends the stream: the
    items in flight are finished and recorded, then its error is raised."""
    store = RunStore(out, fsync=options.fsync)
    previous = await _open_store(store, header, options, on_wait)
    skipped = judged = failed = 0
    started = time.time()
    t0 = time.perf_counter()
    interrupted = False
    stopped: list[InputError | ConfigError] = []  # bad input in a stream's later block

    def unjudged(items: Iterator[Item]) -> Iterator[Item]:
        nonlocal skipped
        try:
            for item in items:
                if previous.done(item, retry_failed=options.retry_failed):
                    skipped += 1
                else:
                    yield item
        except (InputError, ConfigError) as exc:  # a shared iterator: every worker stops at its next item
            stopped.append(exc)

    # what is in memory (all the items, or a stream's first block) is sorted now, so that the count of items
    # already judged told at the start is exact; a longer stream's later items are sorted as it passes them, and
    # the start is told what the index holds
    blocks = iter([data]) if isinstance(data, LoadedData) else data.blocks()
    todo = list(unjudged(iter(next(blocks).items)))
    queue = itertools.chain(todo, unjudged(item for block in blocks for item in block.items))
    total = len(data.items) if isinstance(data, LoadedData) else data.total or 0
    whole = isinstance(data, LoadedData) or (data.total is not None and data.total <= len(data.head.items))
    workers = max(1, len(todo)) if whole else concurrency
    announced = skipped if whole else min(total, max(skipped, previous.done_count(retry_failed=options.retry_failed)))

    async def worker() -> None:
        nonlocal judged, failed
        for item in queue:  # a shared iterator: each item goes to exactly one worker
            verdict = await judge_item(judge, item)
            store.append(verdict)
            judged += 1
            failed += verdict.error is not None
            if on_verdict:
                on_verdict(verdict)

    tasks: list[asyncio.Task[None]] = []
    try:  # from here on, the session is logged and the directory released however it ends
        if on_start:
            on_start(total, announced)
        tasks = [asyncio.create_task(worker()) for _ in range(min(concurrency, workers))]
        done, pending = await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        # Read every finished worker's exception (several may fail at once, e.g. one 401 each): one left
        # unread is printed with its traceback by asyncio ("Task exception was never retrieved").
        errors = [exc for task in done if (exc := task.exception()) is not None]
        if errors:
            raise errors[0]
        if stopped:
            raise _kept(stopped[0], judged, out)
    except (asyncio.CancelledError, KeyboardInterrupt):
        interrupted = True
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise
    except BaseException:  # a fatal backend error, or the run directory could not be written (a full disk)
        interrupted = True
        raise
    finally:
        wall = time.perf_counter() - t0
        session = SessionRecord(
            started=started,
            wall_s=wall,
            judged=judged,
            failed=failed,
            skipped=skipped,
            interrupted=interrupted,
            concurrency=concurrency,
        )
        try:
            store.close(session, list(dict.fromkeys(scrub(str(f)) for f in fallbacks())))
        except RunDirError:
            if not interrupted:  # else the error on its way already says what stopped the run
                raise
    total = total if isinstance(data, LoadedData) else skipped + judged
    return RunOutcome(out=Path(out), total=total, skipped=skipped, judged=judged, failed=failed, wall_s=wall)
