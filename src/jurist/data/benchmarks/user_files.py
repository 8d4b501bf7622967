"""Preference benchmarks read from a file the user has (no local copy ships with jurist): RewardBench (Lambert et
al., 2024; rows with prompt, chosen, rejected, subset) and JudgeBench (Tan et al., 2024; rows with pair_id,
question, response_A, response_B and a label such as "A>B"). Any format `load_items` reads works: JSONL, JSON,
CSV, Parquet or a saved Hugging Face dataset folder."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from ...errors import InputError
from ...types import Winner
from ..load import CANONICAL, LoadedData, _read_rows, items_from_rows
from .sources import field, shuffled_order

_JUDGEBENCH_LABELS: dict[str, Winner] = {"A>B": "A", "B<A": "A", "B>A": "B", "A<B": "B", "A=B": "tie", "B=A": "tie"}


def load_rewardbench(path: str | Path, seed: int = 0) -> LoadedData:
    """RewardBench rows as pairwise items. Each item shows chosen and rejected in a seeded order (see
    `shuffled_order`), so the right answer is "A" for about half of them; metadata `swapped` is true where the
    chosen response is B, and the label says the same. Metadata also keeps `subset` and the other columns
    (chosen_model, rejected_model, ...). Ids are `rewardbench-<id>` (the row's `id`, else its number from 0)."""
    rows, unit, file = _rows(path)
    out = []
    for index, (where, record) in enumerate(rows):
        chosen, rejected = field(record, "chosen", file, where), field(record, "rejected", file, where)
        raw_id = record.get("id")
        item_id = f"rewardbench-{raw_id if raw_id is not None else index}"
        swapped = shuffled_order(item_id, seed)
        extra = _extra_columns(record, ("chosen", "rejected"))
        out.append(
            (
                where,
                {
                    **extra,
                    "id": item_id,
                    "prompt": field(record, "prompt", file, where),
                    "response_a": rejected if swapped else chosen,
                    "response_b": chosen if swapped else rejected,
                    "label": "B" if swapped else "A",
                    "subset": field(record, "subset", file, where),
                    "swapped": swapped,
                },
            )
        )
    return items_from_rows(out, "pairwise", None, path=str(file), unit=unit)


def load_judgebench(path: str | Path) -> LoadedData:
    """JudgeBench rows as pairwise items: prompt = `question`, A = `response_A`, B = `response_B`, label "A>B" ->
    "A", "B>A" -> "B" ("A=B" -> "tie"). Metadata keeps the other columns (source, response_model, original_id) and
    `subset` = `source`. Ids are `judgebench-<pair_id>`."""
    rows, unit, file = _rows(path)
    out = []
    for where, record in rows:
        label = str(field(record, "label", file, where, "scalar"))
        winner = _JUDGEBENCH_LABELS.get(re.sub(r"\s+", "", label).replace(">>", ">").replace("<<", "<"))
        if winner is None:
            raise InputError(f"label '{label}' is not one of A>B, B>A, A=B", file=str(file), line=where, field="label")
        extra = _extra_columns(record, ("pair_id", "question", "response_A", "response_B"))
        if record.get("source") is not None:
            extra["subset"] = record["source"]
        out.append(
            (
                where,
                {
                    **extra,
                    "id": f"judgebench-{field(record, 'pair_id', file, where, 'scalar')}",
                    "prompt": field(record, "question", file, where),
                    "response_a": field(record, "response_A", file, where),
                    "response_b": field(record, "response_B", file, where),
                    "label": winner,
                },
            )
        )
    return items_from_rows(out, "pairwise", None, path=str(file), unit=unit)


def _rows(path: str | Path) -> tuple[list[tuple[int, Any]], str, Path]:
    file = Path(path)
    if not file.exists():
        raise InputError("no such file or folder", file=str(file), hint="give the path of the downloaded data set")
    rows, unit = _read_rows(file)
    if not rows:
        raise InputError("the file holds no rows", file=str(file), hint="give a file with at least one record")
    return rows, unit, file


def _extra_columns(record: dict[str, Any], used: tuple[str, ...]) -> dict[str, Any]:
    """The columns kept as metadata: all but those used, and but names jurist reads as item fields (`id`, ...)."""
    return {k: v for k, v in record.items() if k not in used and k not in CANONICAL}
