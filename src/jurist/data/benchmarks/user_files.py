"""Preference benchmarks read from a file the user has (no local copy ships with jurist): RewardBench (Lambert et
al., 2024; rows with prompt, chosen, rejected, subset) and JudgeBench (Tan et al., 2024; rows with pair_id,
question, response_A, response_B and a label such as "A>B"). Any format `load_items` reads works: JSONL, JSON,
CSV, Parquet or a saved Hugging Face dataset folder."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from ...errors import InputError
from ...outcomes import Winner
from ..load import CANONICAL, LoadedData, items_from_rows, read_given_rows
from .sources import field, seeded_pair

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
        pair, swapped = seeded_pair(item_id, seed, chosen, rejected)
        extra = _extra_columns(record, ("chosen", "rejected"))
        out.append(
            (
                where,
                {
                    **extra,
                    "id": item_id,
                    "prompt": field(record, "prompt", file, where),
                    **pair,
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
    return (*read_given_rows(file, "give the path of the downloaded data set"), file)


def _extra_columns(record: dict[str, Any], used: tuple[str, ...]) -> dict[str, Any]:
    """The columns kept as metadata: all but those used, and but names jurist reads as item fields (`id`, ...)."""
    return {k: v for k, v in record.items() if k not in used and k not in CANONICAL}


_MT_BENCH_VOTES: dict[str, Winner] = {"model_a": "A", "model_b": "B", "tie": "tie", "tie (bothbad)": "tie"}


def load_mt_bench_human(path: str | Path) -> LoadedData:
    """MT-Bench human judgments (Zheng et al., 2023; the `human` split of lmsys/mt_bench_human_judgments): rows with
    question_id, model_a, model_b, winner (model_a | model_b | tie | "tie (bothbad)"), judge, turn (1 or 2) and the
    two conversations (lists of {role, content}). Votes on the same question, models and turn become one pairwise
    item: the user's message of that turn as the prompt (turn 2 keeps turn 1 as the conversation so far, from
    model A's side, as MT-Bench shows it), each model's answer of that turn as A and B, the majority vote as the
    label (a tie when the votes split evenly), and every vote under metadata `annotations` (with `judges`).
    Metadata `group` is the question id. Ids are `mt_bench_human-<question_id>-<model_a>-<model_b>-t<turn>`."""
    rows, unit, file = _rows(path)
    grouped: dict[str, dict[str, Any]] = {}
    for where, record in rows:
        vote = _MT_BENCH_VOTES.get(str(field(record, "winner", file, where, "scalar")).strip())
        if vote is None:
            raise InputError(
                f"winner '{record.get('winner')}' is not model_a, model_b, tie or 'tie (bothbad)'",
                file=str(file),
                line=where,
                field="winner",
            )
        turn = int(field(record, "turn", file, where, "number"))
        key = f"{record.get('question_id')}-{record.get('model_a')}-{record.get('model_b')}-t{turn}"
        if key not in grouped:
            convs = [field(record, c, file, where, "list") for c in ("conversation_a", "conversation_b")]
            answers = [_assistant_turn(c, turn, file, where) for c in convs]
            users = [m for m in convs[0] if isinstance(m, dict) and m.get("role") == "user"]
            if len(users) < turn:
                raise InputError(f"conversation_a has no user message for turn {turn}", file=str(file), line=where)
            grouped[key] = {
                "where": where,
                "id": f"mt_bench_human-{key}",
                "prompt": str(users[turn - 1].get("content", "")),
                "turns": convs[0][: 2 * (turn - 1)] or None,
                "response_a": answers[0],
                "response_b": answers[1],
                "group": str(record.get("question_id")),
                "model_a": record.get("model_a"),
                "model_b": record.get("model_b"),
                "turn": turn,
                "annotations": [],
                "judges": [],
            }
        grouped[key]["annotations"].append(vote)
        grouped[key]["judges"].append(record.get("judge"))
    out = []
    for entry in grouped.values():
        votes = entry["annotations"]
        counts = {label: votes.count(label) for label in ("A", "B", "tie")}
        top = max(counts.values())
        leaders = [label for label, c in counts.items() if c == top]
        entry["label"] = leaders[0] if len(leaders) == 1 else "tie"
        if entry["turns"] is None:
            del entry["turns"]
        out.append((entry.pop("where"), entry))
    return items_from_rows(out, "pairwise", None, path=str(file), unit=unit)


def _assistant_turn(conversation: list[Any], turn: int, file: Path, where: int) -> str:
    answers = [m for m in conversation if isinstance(m, dict) and m.get("role") == "assistant"]
    if len(answers) < turn:
        raise InputError(f"a conversation has no assistant answer for turn {turn}", file=str(file), line=where)
    return str(answers[turn - 1].get("content", ""))
