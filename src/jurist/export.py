"""Verdicts as a flat table: a pandas DataFrame, CSV, Parquet or JSONL."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from .errors import ConfigError
from .summary import load_run
from .types import Verdict

if TYPE_CHECKING:
    import pandas as pd

ExportFormat = Literal["csv", "parquet", "jsonl"]


def verdict_row(v: Verdict) -> dict[str, Any]:
    probs = v.probs or {}
    return {
        "id": v.id,
        "mode": v.mode,
        "score": v.score,
        "choice": v.choice,
        "score_expected": v.score_expected,
        "winner": v.winner,
        "p_a": probs.get("A"),
        "p_b": probs.get("B"),
        "p_tie": probs.get("tie"),
        "consistent": v.consistent,
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
        "strategy": json.dumps(v.strategy) if v.strategy is not None else None,
        "per_turn": json.dumps(v.per_turn) if v.per_turn is not None else None,
        "criteria_scores": json.dumps(v.criteria_scores) if v.criteria_scores is not None else None,
    }


def to_dataframe(out: str | Path) -> pd.DataFrame:
    import pandas as pd

    _, verdicts = load_run(Path(out))
    return pd.DataFrame([verdict_row(v) for v in verdicts])


def export_run(out: str | Path, fmt: ExportFormat, dest: str | Path | None = None) -> Path:
    out = Path(out)
    target = Path(dest) if dest else out / f"verdicts.export.{fmt}"
    if fmt == "jsonl":
        _, verdicts = load_run(out)
        target.write_text("".join(v.model_dump_json() + "\n" for v in verdicts), encoding="utf-8")
        return target
    frame = to_dataframe(out)
    if fmt == "csv":
        frame.to_csv(target, index=False)
    elif fmt == "parquet":
        frame.to_parquet(target, index=False)
    else:
        raise ConfigError(f"unknown export format '{fmt}'; use csv, parquet or jsonl")
    return target
