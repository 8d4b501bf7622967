"""The asyncio runner: judge items concurrently, record each verdict as it completes, resume where a run stopped."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from ..data.load import LoadedData, check_scale_labels
from ..errors import InputError, RunDirError
from ..judges.base import Judge
from ..scales import Scale
from ..secrets import scrub
from ..types import Item, ItemTexts, Verdict
from .log import FsyncPolicy, RunHeader, RunStore, SessionRecord

_LOCK_POLL_S = 0.5


class RunOptions(BaseModel):
    """How to run (not what to judge): none of this changes a verdict, so none of it is in the fingerprint."""

    concurrency: int | None = Field(None, ge=1, description="requests in flight; default: what the backend suits")
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


def _leaves(judge: Judge) -> list[Judge]:
    """The judges that call a model: a strategy's inner judges (`judges`), recursively, or the judge itself."""
    inner = getattr(judge, "judges", None)
    if not inner:
        return [judge]
    return [leaf for j in inner for leaf in _leaves(j)]


def check_context(judge: Judge, data: LoadedData) -> None:
    """Fail before any call if an item cannot fit the model's context window with the judge prompt.

    Local models count tokens exactly; for remote ones (when a context length is known) the count is
    estimated at 4 characters a token, which flags only texts that are clearly too long. A strategy's inner
    judges are checked one by one, each against its own model.
    """
    leaves = _leaves(judge)
    if len(leaves) > 1 or leaves[0] is not judge:
        for leaf in leaves:
            check_context(leaf, data)
        return
    limit = judge.backend.capabilities.context_length
    if not limit:
        return
    budget = limit - judge.max_tokens
    for item in data.items:
        tokens = judge.prompt_tokens(item)
        how = ""
        if tokens is None:
            tokens = max(r.prompt_chars() for r in judge.requests(item)) // 4
            how = "about "
        if tokens > budget:
            raise InputError(
                f"item '{item.id}' needs {how}{tokens} prompt tokens with the judge's template, but the model's "
                f"context of {limit} leaves {budget} after reserving {judge.max_tokens} for the answer",
                file=data.path,
                line=data.lines.get(item.id),
                hint="drop or split this item, lower --max-tokens, or use a model with a longer context",
            )


def check_labels(judge: Judge, data: LoadedData) -> None:
    """Fail before any call if a pointwise label is off the scale of a judge that will score it (see
    `check_scale_labels`). Every inner judge of a strategy is checked."""
    for leaf in _leaves(judge):
        scale = getattr(leaf, "scale", None)
        if leaf.mode == "pointwise" and isinstance(scale, Scale):
            check_scale_labels(scale, data)


def _needs_judging(item: Item, previous: Verdict | None, retry_failed: bool) -> bool:
    if previous is None or previous.item_hash != item.content_hash():
        return True
    # a failed item, or one kept incomplete (a pairwise order failed), is tried again when the failure was transient
    failure = previous.error or previous.incomplete
    return failure is not None and failure.retryable and retry_failed


def _fallbacks(judge: Judge) -> list[str]:
    """What the judge's backends gave up because a server rejected it (a backend's optional `fallbacks`)."""
    found = [scrub(str(f)) for leaf in _leaves(judge) for f in getattr(leaf.backend, "fallbacks", None) or []]
    return list(dict.fromkeys(found))


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
    options: RunOptions | None = None,
    *,
    extra_config: dict[str, Any] | None = None,
    on_start: Callable[[int, int], None] | None = None,
    on_verdict: ProgressCallback | None = None,
    on_wait: Callable[[str], None] | None = None,
) -> RunOutcome:
    """Judge `data` into the run directory `out`, holding it for the whole session. `on_wait(message)` is called
    once if the session waits for another process to release the directory (`options.wait`)."""
    options = options or RunOptions()
    check_context(judge, data)
    check_labels(judge, data)
    store = RunStore(out, fsync=options.fsync)
    header = RunHeader.model_validate(
        {
            "judge": judge.describe(),
            "data": data.path,
            "items": len(data.items),
            **(extra_config or {}),
            "fingerprint": judge.fingerprint,
        }
    )
    previous = await _open_store(store, header, options, on_wait)
    todo = [it for it in data.items if _needs_judging(it, previous.get(it.id), options.retry_failed)]
    skipped = len(data.items) - len(todo)
    concurrency = options.concurrency or judge.backend.capabilities.max_concurrency
    judged = failed = 0
    started = time.time()
    t0 = time.perf_counter()
    interrupted = False
    queue = iter(todo)

    async def worker() -> None:
        nonlocal judged, failed
        for item in queue:  # a shared iterator: each item goes to exactly one worker
            verdict = await judge(item)
            # the item's texts and other columns (group, system, annotators...) travel with the verdict, so that
            # the run directory alone serves analysis and exports
            verdict.metadata = item.metadata or None
            verdict.item = ItemTexts.of(item)
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
            store.close(session, _fallbacks(judge))
        except RunDirError:
            if not interrupted:  # else the error on its way already says what stopped the run
                raise
    return RunOutcome(out=Path(out), total=len(data.items), skipped=skipped, judged=judged, failed=failed, wall_s=wall)
