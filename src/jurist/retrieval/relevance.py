"""The relevance task: a (query, passage) pair graded on the TREC 0-3 scale by a pointwise judge.

The query is the item's prompt and the passage its response; the built-in `passage_relevance` rubric says what each
grade means, and the built-in `relevance` (zero-shot) or `relevance_fewshot` template asks for it: from the command
line, `jurist judge PAIRS --mode pointwise --template relevance --rubric passage_relevance`. With token
probabilities, `Score.expected` is the probability-weighted grade.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from ..errors import InputError
from ..judges.base import JudgeConfig
from ..outcomes import Score
from ..types import Item, Verdict
from .trec import GRADES, Passage, Qrel, Query

RUBRIC = "passage_relevance"


def relevance_template(few_shot: bool = False) -> str:
    """The name of the built-in relevance template (zero-shot, or with four fixed examples), as `--template` and
    `JudgeConfig.template` take it."""
    return "relevance_fewshot" if few_shot else "relevance"


def relevance_config(few_shot: bool = False, **settings: Any) -> JudgeConfig:
    """A pointwise JudgeConfig for the relevance task; `settings` are other JudgeConfig fields."""
    return JudgeConfig(mode="pointwise", template=relevance_template(few_shot), rubric=RUBRIC, **settings)


def relevance_items(
    queries: Mapping[str, Query], passages: Mapping[str, Passage], pool: Iterable[tuple[str, str]]
) -> list[Item]:
    """One item per (query id, doc id) pair of `pool`, with id `qid/docid`; a pair naming a query or passage
    that is not given is an InputError."""
    items: list[Item] = []
    for query_id, doc_id in pool:
        if query_id not in queries:
            raise InputError(f"unknown query '{query_id}'", field="qid", hint="give the queries the runs were made for")
        if doc_id not in passages:
            raise InputError(
                f"unknown passage '{doc_id}' (query '{query_id}')",
                field="docid",
                hint="the passages file must hold every document the runs retrieve",
            )
        items.append(
            Item(
                id=f"{query_id}/{doc_id}",
                prompt=queries[query_id].text,
                response=passages[doc_id].text,
                metadata={"query_id": query_id, "doc_id": doc_id},
            )
        )
    return items


def grade_of(verdict: Verdict) -> int | None:
    """The TREC grade a relevance verdict gave (its label), or None where it has none (a failed judgment)."""
    outcome = verdict.outcome
    if not isinstance(outcome, Score) or outcome.score is None:
        return None
    grade = round(outcome.score)
    return grade if grade in GRADES else None


def verdict_qrels(verdicts: Iterable[Verdict]) -> tuple[list[Qrel], list[str]]:
    """LLM qrels from relevance verdicts (made from `relevance_items`), and the ids of the items with no grade."""
    qrels: list[Qrel] = []
    failed: list[str] = []
    for v in verdicts:
        grade, meta = grade_of(v), v.metadata or {}
        if grade is None or "query_id" not in meta or "doc_id" not in meta:
            failed.append(v.id)
        else:
            qrels.append(Qrel(query_id=str(meta["query_id"]), doc_id=str(meta["doc_id"]), grade=grade))
    return qrels, failed
