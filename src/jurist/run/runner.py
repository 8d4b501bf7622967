"""The asyncio runner: judge items concurrently, record each verdict as it completes, resume where a run stopped.
One judging session of the engine (run/engine.py `run`), which does the checks before it and builds the header."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from pydantic import BaseModel, Field

from ..data.load import LoadedData
from ..errors import RunDirError
from ..judges.base import Judge, judge_item
from ..secrets import scrub
from ..types import Item, Verdict
from .log import FsyncPolicy, RunHeader, RunStore, SessionRecord

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


def _needs_judging(item: Item, previous: Verdict | None, retry_failed: bool) -> bool:
    if previous is None or previous.item_hash != item.content_hash():
        return True
    # a failed item, or one kept incomplete (a pairwise order failed), is tried again when the failure was transient
    failure = previous.error or previous.incomplete
    return failure is not None and failure.retryable and retry_failed


async def _open_store(
    store: RunStore,
    header: RunHeader,
    options: RunOptions,
    on_wait: Callable[[str], None] | None,
) -> dict[str, Verdict]:
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
    data: LoadedData,
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
    (`options.wait`)."""
    store = RunStore(out, fsync=options.fsync)
    previous = await _open_store(store, header, options, on_wait)
    todo = [it for it in data.items if _needs_judging(it, previous.get(it.id), options.retry_failed)]
    skipped = len(data.items) - len(todo)
    judged = failed = 0
    started = time.time()
    t0 = time.perf_counter()
    interrupted = False
    queue = iter(todo)

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
            on_start(len(data.items), skipped)
        tasks = [asyncio.create_task(worker()) for _ in range(min(concurrency, max(1, len(todo))))]
        done, pending = await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        # Read every finished worker's exception (several may fail at once, e.g. one 401 each): one left
        # unread is printed with its traceback by asyncio ("Task exception was never retrieved").
        errors = [exc for task in done if (exc := task.exception()) is not None]
        if errors:
            raise errors[0]
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
    return RunOutcome(out=Path(out), total=len(data.items), skipped=skipped, judged=judged, failed=failed, wall_s=wall)
