"""Verdicts as a flat table: a pandas DataFrame, CSV, Parquet or JSONL.

CSV and JSONL are written with the standard library, so that the base install exports; a DataFrame needs pandas
(jurist[tables]) and Parquet pyarrow as well (jurist[parquet]).

A row holds the verdict, the item's texts (prompt, responses, reference, turns; `texts=False` leaves them out)
and one `meta.KEY` column per metadata key. An export never writes over a run's own files, nor over an existing
file unless forced; CSV cells that a spreadsheet would run as a formula are neutralised unless raw cells are asked.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from .errors import ConfigError
from .extras import require
from .files import write_csv, write_through_temporary
from .outcomes import Preference, Ranking, Score
from .run.log import RUN_FILES, read_run
from .types import Verdict

if TYPE_CHECKING:
    import pandas as pd

ExportFormat = Literal["csv", "parquet", "jsonl"]
META_PREFIX = "meta."  # metadata columns are prefixed, so that a key never clashes with a verdict column
# Cells starting with these are run as formulas by spreadsheets (OWASP, "CSV injection").
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?")  # a plain number runs nothing: left as it is


# a flat record's keys after "mode": every outcome kind's flat names, and `flagged`, in the order verdicts had them
_FLAT_ORDER = (
    *("score", "choice", "score_expected", "score_probs", "criteria_scores", "per_turn"),
    *("winner", "probs", "consistent", "strength", "flagged", "orders", "ranking", "best"),
)


def _cell(value: Any) -> Any:
    """Lists and dicts as JSON text, so that every cell is a scalar."""
    return json.dumps(value, ensure_ascii=False) if isinstance(value, list | dict) else value


def flat_record(v: Verdict, *, texts: bool = True) -> dict[str, Any]:
    """The verdict as the JSONL export writes it: one flat object, as verdicts were before outcomes, with every
    kind's fields at the top level under their flat names (None for the other kinds'), in the same order."""
    exclude = {"id", "mode", "outcome"} if texts else {"id", "mode", "outcome", "item"}
    fields = {**v.model_dump(mode="json", exclude=exclude), **(v.outcome.flat() if v.outcome is not None else {})}
    return {"id": v.id, "mode": v.mode, **{k: fields.pop(k, None) for k in _FLAT_ORDER}, **fields}


def verdict_row(v: Verdict, *, texts: bool = True) -> dict[str, Any]:
    score, preference, ranking = v.outcome_as(Score), v.outcome_as(Preference), v.outcome_as(Ranking)
    probs = preference.probs or {}
    row: dict[str, Any] = {"id": v.id, "mode": v.mode}
    if texts and v.item is not None:  # runs made before texts were kept have none
        row.update({k: _cell(x) for k, x in v.item.model_dump(mode="json", exclude_none=True).items()})
    row.update(
        {
            "score": score.score,
            "choice": score.choice,
            "score_expected": score.expected,
            "winner": preference.winner,
            "p_a": probs.get("A"),
            "p_b": probs.get("B"),
            "p_tie": probs.get("tie"),
            "consistent": preference.consistent,
            "strength": preference.strength,
            "flagged": v.flagged,
            "ranking": json.dumps(ranking.ranking) if ranking.ranking is not None else None,
            "best": ranking.best,
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
            "per_turn": json.dumps(score.per_turn) if score.per_turn is not None else None,
            "criteria_scores": json.dumps(score.criteria) if score.criteria is not None else None,
        }
    )
    row.update({META_PREFIX + k: _cell(x) for k, x in (v.metadata or {}).items()})
    return row


def to_dataframe(
    out: str | Path,
    *,
    texts: bool = True,
    needed_for: str = "a DataFrame of verdicts",
    labels: Mapping[str, str | float] | None = None,
) -> pd.DataFrame:
    pd = require("pandas", needed_for)
    verdicts = _read_verdicts(out, labels)
    frame = pd.DataFrame([verdict_row(v, texts=texts) for v in verdicts])
    for column in [c for c in frame.columns if c.startswith(META_PREFIX) and frame[c].dtype == object]:
        if len({type(x) for x in frame[column].dropna()}) > 1:
            # one key with numbers in some items and text in others: all text, which every format can hold
            frame[column] = frame[column].map(lambda x: x if pd.isna(x) else str(x))
    return frame


def neutralise_formulas(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The rows with each text cell that a spreadsheet would run as a formula prefixed with a single quote.
    Numbers, and text that is a plain number, are left as they are."""
    return [{key: _neutralised(value) for key, value in row.items()} for row in rows]


def _neutralised(value: Any) -> Any:
    if isinstance(value, str) and value.startswith(_FORMULA_START) and not _NUMBER.fullmatch(value):
        return "'" + value
    return value


def default_target(out: str | Path, fmt: ExportFormat) -> Path:
    """Where an export goes without --out: a file of ours inside the run, rewritten by each export."""
    return Path(out) / f"verdicts.export.{fmt}"


def export_run(
    out: str | Path,
    fmt: ExportFormat,
    dest: str | Path | None = None,
    *,
    texts: bool = True,
    force: bool = False,
    raw_cells: bool = False,
    labels: Mapping[str, str | float] | None = None,
) -> Path:
    """Write the run's verdicts to `dest` (default: `default_target`), creating missing folders. Refused: a run's
    own files (even with `force`), and an existing file other than the default target unless `force`. `labels`
    (item id -> label, e.g. `jurist.review.review_labels(out)`) fill the label column instead of the items' own."""
    if fmt not in ("csv", "parquet", "jsonl"):
        raise ConfigError(f"unknown export format '{fmt}'; use csv, parquet or jsonl")
    out = Path(out)
    target = Path(dest) if dest else default_target(out, fmt)
    _check_target(out, target, fmt, force)
    if fmt == "jsonl":
        verdicts = _read_verdicts(out, labels)
        text = "".join(
            json.dumps(flat_record(v, texts=texts), ensure_ascii=False, separators=(",", ":")) + "\n" for v in verdicts
        )
        _replace(target, lambda tmp: tmp.write_text(text, encoding="utf-8"))
        return target
    if fmt == "csv":
        verdicts = _read_verdicts(out, labels)
        rows = [verdict_row(v, texts=texts) for v in verdicts]
        table = rows if raw_cells else neutralise_formulas(rows)
        columns = list(dict.fromkeys(key for row in table for key in row))  # in order of first appearance

        def write(tmp: Path) -> None:
            with tmp.open("w", encoding="utf-8", newline="") as fh:
                # CRLF rows (RFC 4180): then a text holding a bare CR is quoted too, and reads back whole
                write_csv(fh, columns, ([row.get(c) for c in columns] for row in table), line_end="\r\n")

        _replace(target, write)
    else:
        require("pyarrow", "Parquet export")  # here, not in pandas: its ImportError would end in a traceback
        frame = to_dataframe(out, texts=texts, needed_for="Parquet export", labels=labels)
        _replace(target, lambda tmp: frame.to_parquet(tmp, index=False))
    return target


def _read_verdicts(out: str | Path, labels: Mapping[str, str | float] | None) -> list[Verdict]:
    _, verdicts = read_run(out)
    if labels is None:
        return verdicts
    return [v.model_copy(update={"label": labels.get(v.id)}) for v in verdicts]


def write_rows(rows: list[dict[str, Any]], target: str | Path, fmt: Literal["jsonl", "parquet"] = "jsonl") -> Path:
    """A table of plain records (an application's output, such as the reward table) as JSONL or Parquet, written
    whole or not at all (through a temporary file)."""
    target = Path(target)
    if fmt == "jsonl":
        text = "".join(json.dumps(row, ensure_ascii=False, separators=(",", ":")) + "\n" for row in rows)
        _replace(target, lambda tmp: tmp.write_text(text, encoding="utf-8"))
    elif fmt == "parquet":
        pd = require("pandas", "Parquet output")
        require("pyarrow", "Parquet output")
        frame = pd.DataFrame(rows)
        _replace(target, lambda tmp: frame.to_parquet(tmp, index=False))
    else:
        raise ConfigError(f"unknown table format '{fmt}'; use jsonl or parquet")
    return target


def _check_target(out: Path, target: Path, fmt: ExportFormat, force: bool) -> None:
    if target.is_dir():
        raise ConfigError(f"{target} is a folder: give --out a file name, such as {target / f'verdicts.{fmt}'}")
    for name in RUN_FILES:
        owned = out / name
        # the same file by its path, through a symbolic link, or as a hard link
        if target.resolve() == owned.resolve() or (
            target.exists() and owned.exists() and os.path.samefile(target, owned)
        ):
            raise ConfigError(
                f"{target} is the run's own {name}: an export never writes over it (not even with --force); "
                "choose another --out"
            )
    if target.exists() and not force and target.resolve() != default_target(out, fmt).resolve():
        raise ConfigError(f"{target} already exists: pass --force to replace it, or choose another --out")


def _replace(target: Path, write: Callable[[Path], object]) -> None:
    """Write through a temporary file next to the target, so that a failed export leaves the old file whole."""
    try:
        write_through_temporary(target, write)
    except OSError as exc:
        raise ConfigError(f"cannot write {target}: {exc.strerror or exc}; choose another --out") from exc
