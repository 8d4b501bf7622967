"""Texts a model writes for the audit (the judge model's own answers, a rewriting model's perturbations): each is
appended to a JSONL log in AUDIT_DIR as it arrives, so a rerun reads them back instead of asking again, and they
are asked for concurrently, all stopped at once when one fails fatally."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Coroutine
from pathlib import Path
from typing import Any

from .. import files
from ..backends.base import Backend, GenerateRequest, GenerateResponse
from ..errors import BackendError


def read_log(path: Path) -> list[dict[str, Any]]:
    """The records of a log. A line that does not parse is left out, wherever it is (asked for again): a kill
    tears the last line, and the next run's first record is appended to that torn line."""
    return files.read_log(path, json.loads).records


def append_log(path: Path, record: dict[str, Any]) -> None:
    with path.open("a", encoding="utf-8") as fh:
        fh.write(json.dumps(record, ensure_ascii=False) + "\n")


async def gather_all(coros: list[Coroutine[Any, Any, None]]) -> None:
    """Run the coroutines together; if one raises, the others are cancelled before the error goes on, so none is
    left running against a backend that is about to be closed."""
    tasks = [asyncio.create_task(c) for c in coros]
    try:
        await asyncio.gather(*tasks)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def ask(backend: Backend, request: GenerateRequest, limit: asyncio.Semaphore) -> GenerateResponse | BackendError:
    """The model's answer, or the error of a call that failed for this request only (a fatal one, such as a bad
    key, is raised: every other request would fail the same way)."""
    async with limit:
        try:
            return await backend.generate(request)
        except BackendError as exc:
            if exc.fatal:
                raise
            return exc
