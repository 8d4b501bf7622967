"""MT-Bench (Zheng et al., 2023): 80 two-turn questions in 8 categories, with GPT-4 reference answers for the 30
math, reasoning and coding questions. The input for MT-Bench-style judging of new models' answers."""

from __future__ import annotations

from pathlib import Path

from ...errors import InputError
from ...types import Item
from ..load import LoadedData
from .sources import Source, field, locate, read_jsonl, under

SOURCE = Source("mt_bench", "lm-sys/FastChat", "main", under("fastchat/llm_judge/data/mt_bench"))
QUESTIONS = "question.jsonl"
REFERENCES = "reference_answer/gpt-4.jsonl"


def load_mt_bench_questions(root: str | Path | None = None) -> LoadedData:
    """The MT-Bench questions as items with no response yet: prompt = the first turn, reference = GPT-4's reference
    answer to it where there is one. Metadata: `category`, `question_id`, `turns` (both user turns),
    `reference_answers` (GPT-4's answers to both turns, where present), and `question_reference` (the short
    reference some questions carry in question.jsonl itself). Ids are `mt_bench-<question_id>`."""
    references = _reference_answers(locate(SOURCE, REFERENCES, root))
    path = locate(SOURCE, QUESTIONS, root)
    items: list[Item] = []
    lines: dict[str, int] = {}
    for where, record in read_jsonl(path):
        question_id = int(field(record, "question_id", path, where, "number"))
        turns = field(record, "turns", path, where, "list")
        if not turns or not all(isinstance(t, str) and t.strip() for t in turns):
            raise InputError("must be a list of non-empty texts", file=str(path), line=where, field="turns")
        item_id = f"mt_bench-{question_id}"
        if item_id in lines:
            raise InputError(f"duplicate question_id {question_id}", file=str(path), line=where, field="question_id")
        answers = references.get(question_id)
        metadata = {"category": field(record, "category", path, where), "question_id": question_id, "turns": turns}
        if answers:
            metadata["reference_answers"] = answers
        if record.get("reference") is not None:
            metadata["question_reference"] = record["reference"]
        items.append(Item(id=item_id, prompt=turns[0], reference=answers[0] if answers else None, metadata=metadata))
        lines[item_id] = where
    if not items:
        raise InputError("the file holds no questions", file=str(path), hint="fetch it again")
    return LoadedData(path=str(path), items=items, lines=lines, unit="line")


def _reference_answers(path: Path) -> dict[int, list[str]]:
    answers: dict[int, list[str]] = {}
    for where, record in read_jsonl(path):
        choices = field(record, "choices", path, where, "list")
        turns = field(choices[0], "turns", path, where, "list") if choices else []
        answers[int(field(record, "question_id", path, where, "number"))] = [str(t) for t in turns]
    return answers
