"""Verdicts kept as Parquet shards under RUN_DIR/shards/: what a distributed run (`jurist judge --engine ray`,
jurist.scale) writes instead of appending to verdicts.jsonl. Read and written through log.py only (`read_run`,
`RunStore.write_shard`), so every reader of a run sees them.

A shard is written whole or not at all (a temporary file renamed), so `kill -9` loses only the verdicts not yet in
a shard. Each row holds one verdict's JSON, exactly the record verdicts.jsonl would hold, and three columns a resume
reads without parsing it: `id`, `item_hash` and `fingerprint`. Names sort in writing order: SESSION-SEQUENCE.parquet,
and the last record for an id wins, as in verdicts.jsonl.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator, Sequence
from pathlib import Path

from pydantic import ValidationError

from ..errors import RunDirError
from ..extras import require
from ..files import write_through_temporary
from ..types import Verdict

SHARDS_DIR = "shards"
_NAME = re.compile(r"^(\d{6})-(\d{6})\.parquet$")
_COLUMNS = ("id", "item_hash", "fingerprint", "verdict")


def shard_paths(out: Path) -> list[Path]:
    """The run's shards in writing order (temporary files of an interrupted write are not shards)."""
    folder = Path(out) / SHARDS_DIR
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if _NAME.match(p.name))


def next_session(out: Path) -> int:
    """The session number for new shards: one past the highest written so far."""
    numbers = [int(match.group(1)) for p in shard_paths(out) if (match := _NAME.match(p.name))]
    return max(numbers, default=0) + 1


def read_shards(out: Path) -> Iterator[Verdict]:
    """Every verdict in the run's shards, in writing order, one shard in memory at a time; none when there are no
    shards (pyarrow is needed only when there are)."""
    paths = shard_paths(out)
    if not paths:
        return
    parquet = require("pyarrow.parquet", "reading a Ray run's verdict shards")
    for path in paths:
        try:
            column = parquet.read_table(path, columns=["verdict"]).column("verdict").to_pylist()
        except (OSError, KeyError, ValueError) as exc:  # pyarrow's ArrowInvalid is a ValueError
            raise RunDirError(
                f"{path}: not a readable verdict shard ({exc}). Delete it: its items are judged again by the next run"
            ) from exc
        for row, text in enumerate(column, start=1):
            try:
                yield Verdict.model_validate_json(text)
            except ValidationError as exc:
                raise RunDirError(
                    f"{path}: row {row} is not a verdict ({exc.errors()[0]['msg']}). Delete the shard: its items are "
                    "judged again by the next run"
                ) from exc


def write_shard(out: Path, session: int, sequence: int, verdicts: Sequence[Verdict]) -> Path:
    """Write `verdicts` as the shard SESSION-SEQUENCE.parquet, whole or not at all."""
    pyarrow = require("pyarrow", "writing a Ray run's verdict shards")
    parquet = require("pyarrow.parquet", "writing a Ray run's verdict shards")
    columns = {
        "id": [v.id for v in verdicts],
        "item_hash": [v.item_hash for v in verdicts],
        "fingerprint": [v.judge_fingerprint for v in verdicts],
        "verdict": [v.model_dump_json() for v in verdicts],
    }
    table = pyarrow.table({name: pyarrow.array(columns[name], pyarrow.string()) for name in _COLUMNS})
    target = Path(out) / SHARDS_DIR / f"{session:06d}-{sequence:06d}.parquet"
    write_through_temporary(target, lambda path: parquet.write_table(table, path))
    return target


def remove_shards(out: Path) -> None:
    """Delete the shards (`--overwrite`), and the temporaries an interrupted write left."""
    shutil.rmtree(Path(out) / SHARDS_DIR, ignore_errors=True)


def clean_temporaries(out: Path) -> None:
    """Delete what a killed writer left half-written (never a shard: those are renamed into place whole)."""
    folder = Path(out) / SHARDS_DIR
    if folder.is_dir():
        for path in folder.glob(".*.tmp"):
            path.unlink(missing_ok=True)
