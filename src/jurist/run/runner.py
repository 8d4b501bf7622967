"""The asyncio runner: judge items concurrently, record each verdict as it completes, resume where a run stopped."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from ..data.load import LoadedData
from ..errors import BackendError, InputError
from ..judges.base import Judge
from ..types import Item, Verdict
from .store import FsyncPolicy, RunStore


class RunOptions(BaseModel):
    """How to run (not what to judge): none of this changes a verdict, so none of it is in the fingerprint."""

    concurrency: int | None = Field(None, ge=1, description="requests in flight; default: what the backend suits")
    fsync: FsyncPolicy = "batch"
    overwrite: bool = False
    retry_failed: bool = True  # on resume, judge again items whose earlier attempt failed for a transient reason


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


def _needs_judging(item: Item, previous: Verdict | None, retry_failed: bool) -> bool:
    if previous is None or previous.item_hash != item.content_hash():
        return True
    return previous.error is not None and previous.error.retryable and retry_failed


async def run_judge(
    judge: Judge,
    data: LoadedData,
    out: Path,
    options: RunOptions | None = None,
    *,
    extra_config: dict[str, Any] | None = None,
    on_start: Callable[[int, int], None] | None = None,
    on_verdict: ProgressCallback | None = None,
) -> RunOutcome:
    options = options or RunOptions()
    check_context(judge, data)
    store = RunStore(out, fsync=options.fsync)
    config = {"judge": judge.describe(), "data": data.path, "items": len(data.items), **(extra_config or {})}
    previous = store.open(config, judge.fingerprint, overwrite=options.overwrite)
    todo = [it for it in data.items if _needs_judging(it, previous.get(it.id), options.retry_failed)]
    skipped = len(data.items) - len(todo)
    if on_start:
        on_start(len(data.items), skipped)
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
            # the item's other columns (group, system, annotators...) travel with the verdict for analysis
            verdict.metadata = item.metadata or None
            store.append(verdict)
            judged += 1
            failed += verdict.error is not None
            if on_verdict:
                on_verdict(verdict)

    tasks = [asyncio.create_task(worker()) for _ in range(min(concurrency, max(1, len(todo))))]
    try:
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
    except BackendError:
        interrupted = True
        raise
    finally:
        wall = time.perf_counter() - t0
        store.close()
        store.log_session(
            {
                "started": started,
                "wall_s": wall,
                "judged": judged,
                "failed": failed,
                "skipped": skipped,
                "interrupted": interrupted,
                "concurrency": concurrency,
            }
        )
    return RunOutcome(out=Path(out), total=len(data.items), skipped=skipped, judged=judged, failed=failed, wall_s=wall)
