"""Verdicts as a flat table: a pandas DataFrame, CSV, Parquet or JSONL.

A row holds the verdict, the item's texts (prompt, responses, reference, turns; `texts=False` leaves them out)
and one `meta.KEY` column per metadata key. An export never writes over a run's own files, nor over an existing
file unless forced; CSV cells that a spreadsheet would run as a formula are neutralised unless raw cells are asked.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from .errors import ConfigError
from .extras import require
from .run.log import RUN_FILES, read_run
from .types import Verdict

if TYPE_CHECKING:
    import pandas as pd

ExportFormat = Literal["csv", "parquet", "jsonl"]
META_PREFIX = "meta."  # metadata columns are prefixed, so that a key never clashes with a verdict column
# Cells starting with these are run as formulas by spreadsheets (OWASP, "CSV injection").
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?")  # a plain number runs nothing: left as it is


def _cell(value: Any) -> Any:
    """Lists and dicts as JSON text, so that every cell is a scalar."""
    return json.dumps(value, ensure_ascii=False) if isinstance(value, list | dict) else value


def verdict_row(v: Verdict, *, texts: bool = True) -> dict[str, Any]:
    probs = v.probs or {}
    row: dict[str, Any] = {"id": v.id, "mode": v.mode}
    if texts and v.item is not None:  # runs made before texts were kept have none
        row.update({k: _cell(x) for k, x in v.item.model_dump(mode="json", exclude_none=True).items()})
    row.update(
        {
            "score": v.score,
            "choice": v.choice,
            "score_expected": v.score_expected,
            "winner": v.winner,
            "p_a": probs.get("A"),
            "p_b": probs.get("B"),
            "p_tie": probs.get("tie"),
            "consistent": v.consistent,
            "strength": v.strength,
            "flagged": v.flagged,
            "ranking": json.dumps(v.ranking) if v.ranking is not None else None,
            "best": v.best,
            "label": None if v.label is None else json.dumps(v.label) if isinstance(v.label, list) else str(v.label),
            "rationale": v.rationale,
            "raw": json.dumps(v.raw),
            "prompt_tokens": v.usage.prompt_tokens,
            "completion_tokens": v.usage.completion_tokens,
            "latency_s": v.latency_s,
            "error_reason": v.error.reason if v.error else None,
            "error": v.error.message if v.error else None,
            "incomplete": v.incomplete.message if v.incomplete else None,
            "strategy": json.dumps(v.strategy) if v.strategy is not None else None,
            "per_turn": json.dumps(v.per_turn) if v.per_turn is not None else None,
            "criteria_scores": json.dumps(v.criteria_scores) if v.criteria_scores is not None else None,
        }
    )
    row.update({META_PREFIX + k: _cell(x) for k, x in (v.metadata or {}).items()})
    return row


def to_dataframe(out: str | Path, *, texts: bool = True) -> pd.DataFrame:
    import pandas as pd

    _, verdicts = read_run(out)
    frame = pd.DataFrame([verdict_row(v, texts=texts) for v in verdicts])
    for column in [c for c in frame.columns if c.startswith(META_PREFIX) and frame[c].dtype == object]:
        if len({type(x) for x in frame[column].dropna()}) > 1:
            # one key with numbers in some items and text in others: all text, which every format can hold
            frame[column] = frame[column].map(lambda x: x if pd.isna(x) else str(x))
    return frame


def neutralise_formulas(frame: pd.DataFrame) -> pd.DataFrame:
    """The frame with each text cell that a spreadsheet would run as a formula prefixed with a single quote.
    Numeric columns, and text that is a plain number, are left as they are."""
    frame = frame.copy()
    for column in frame.select_dtypes(exclude=["number", "bool"]).columns:
        frame[column] = frame[column].map(_neutralised)
    return frame


def _neutralised(value: Any) -> Any:
    if isinstance(value, str) and value.startswith(_FORMULA_START) and not _NUMBER.fullmatch(value):
        return "'" + value
    return value


def default_target(out: str | Path, fmt: ExportFormat) -> Path:
    """Where an export goes without --to: a file of ours inside the run, rewritten by each export."""
    return Path(out) / f"verdicts.export.{fmt}"


def export_run(
    out: str | Path,
    fmt: ExportFormat,
    dest: str | Path | None = None,
    *,
    texts: bool = True,
    force: bool = False,
    raw_cells: bool = False,
) -> Path:
    """Write the run's verdicts to `dest` (default: `default_target`), creating missing folders. Refused: a run's
    own files (even with `force`), and an existing file other than the default target unless `force`."""
    if fmt not in ("csv", "parquet", "jsonl"):
        raise ConfigError(f"unknown export format '{fmt}'; use csv, parquet or jsonl")
    out = Path(out)
    target = Path(dest) if dest else default_target(out, fmt)
    _check_target(out, target, fmt, force)
    if fmt == "jsonl":
        _, verdicts = read_run(out)
        exclude = None if texts else {"item"}
        text = "".join(v.model_dump_json(exclude=exclude) + "\n" for v in verdicts)
        _replace(target, lambda tmp: tmp.write_text(text, encoding="utf-8"))
        return target
    frame = to_dataframe(out, texts=texts)
    if fmt == "csv":
        table = frame if raw_cells else neutralise_formulas(frame)
        # CRLF rows (RFC 4180): then a text holding a bare CR is quoted too, and reads back whole
        _replace(target, lambda tmp: table.to_csv(tmp, index=False, lineterminator="\r\n"))
    else:
        require("pyarrow", "Parquet export")  # here, not in pandas: its ImportError would end in a traceback
        _replace(target, lambda tmp: frame.to_parquet(tmp, index=False))
    return target


def _check_target(out: Path, target: Path, fmt: ExportFormat, force: bool) -> None:
    if target.is_dir():
        raise ConfigError(f"{target} is a folder: give --to a file name, such as {target / f'verdicts.{fmt}'}")
    for name in RUN_FILES:
        owned = out / name
        # the same file by its path, through a symbolic link, or as a hard link
        if target.resolve() == owned.resolve() or (
            target.exists() and owned.exists() and os.path.samefile(target, owned)
        ):
            raise ConfigError(
                f"{target} is the run's own {name}: an export never writes over it (not even with --force); "
                "choose another --to"
            )
    if target.exists() and not force and target.resolve() != default_target(out, fmt).resolve():
        raise ConfigError(f"{target} already exists: pass --force to replace it, or choose another --to")


def _replace(target: Path, write: Callable[[Path], object]) -> None:
    """Write through a temporary file next to the target, so that a failed export leaves the old file whole."""
    tmp = target.with_name(f".{target.name}.tmp")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        write(tmp)
        os.replace(tmp, target)
    except OSError as exc:
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)
        raise ConfigError(f"cannot write {target}: {exc.strerror or exc}; choose another --to") from exc
