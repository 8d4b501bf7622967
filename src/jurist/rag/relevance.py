"""Answer relevance and context relevance of a RAG item (`prompt` the question, `response` the answer, `contexts`
the retrieved passages in rank order).

Answer relevance is the plain pointwise judge with our `answer_relevance` rubric (1-5). Context relevance grades
every passage for the question with the retrieval relevance task (TREC 0-3, jurist.retrieval.relevance); a passage
graded `min_relevant` or more counts as relevant. The verdict's score is the context precision (the relevant
fraction of the passages graded); `Verdict.strategy` adds the rank-weighted form, average precision, and each
passage's grade. A passage whose grading fails is counted apart and left out of both."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

from ..backends.base import Backend
from ..data.load import LoadedData
from ..judges import make_judge
from ..judges.base import JudgeConfig, JudgeSpec
from ..outcomes import Score
from ..retrieval.metrics import MIN_RELEVANT
from ..retrieval.relevance import grade_of, relevance_config
from ..types import ErrorInfo, Item, Usage, Verdict
from .groundedness import require_contexts

ANSWER_RUBRIC = "answer_relevance"
STRATEGY = "context-relevance"


def answer_relevance_config(**settings: Any) -> JudgeConfig:
    """A pointwise JudgeConfig for answer relevance (our rubric, 1-5); `settings` are other JudgeConfig fields."""
    return JudgeConfig(mode="pointwise", rubric=ANSWER_RUBRIC, **settings)


def context_precision(relevant: Sequence[bool]) -> float | None:
    """The relevant fraction of the passages; None for none."""
    return sum(relevant) / len(relevant) if relevant else None


def average_precision(relevant: Sequence[bool]) -> float | None:
    """Rank-weighted context precision: the mean of precision@k over the ranks k that hold a relevant passage
    (0 when none is relevant; None for no passages). It rewards relevant passages ranked first."""
    if not relevant:
        return None
    hits = 0
    total = 0.0
    for rank, is_relevant in enumerate(relevant, start=1):
        if is_relevant:
            hits += 1
            total += hits / rank
    return total / hits if hits else 0.0


class ContextRelevanceJudge:
    """Grades each retrieved passage of an item for its question with the relevance task, one call per passage."""

    def __init__(
        self, backend: Backend, *, few_shot: bool = False, min_relevant: int = MIN_RELEVANT, **settings: Any
    ) -> None:
        self.inner = make_judge(backend, relevance_config(few_shot, **settings))
        self.min_relevant = min_relevant
        self.backend = backend

    @functools.cached_property
    def spec(self) -> JudgeSpec:
        identity = {"judge": STRATEGY, "min_relevant": self.min_relevant, "grader": self.inner.spec.identity}
        return JudgeSpec(mode="pointwise", identity=identity)

    def concurrency(self) -> int:
        return self.inner.concurrency()

    def check_data(self, data: LoadedData) -> None:
        require_contexts(data)

    async def __call__(self, item: Item) -> Verdict:
        if not item.contexts:
            error = ErrorInfo(reason="no_context", message="the item has no contexts to grade")
            return Verdict(id=item.id, mode="pointwise", error=error)
        passages: list[dict[str, Any]] = []
        raw: list[str] = []
        usages: list[Usage] = []
        retryable = False
        for rank, passage in enumerate(item.contexts, start=1):
            graded = await self.inner(Item(id=f"{item.id}#{rank}", prompt=item.prompt, response=passage))
            raw.extend(graded.raw)
            usages.append(graded.usage)
            grade = grade_of(graded)
            score = graded.outcome if isinstance(graded.outcome, Score) else None
            why = graded.error.message if graded.error is not None else None
            if graded.error is None and grade is None:
                why = "no grade on the 0-3 scale"
            retryable = retryable or (graded.error is not None and graded.error.retryable)
            expected = score.expected if score is not None else None
            passages.append({"rank": rank, "grade": grade, "expected": expected, "error": why})
        usage = Usage.total(usages)
        return context_verdict(item.id, passages, self.min_relevant, raw=raw, usage=usage, retry=retryable)


def context_verdict(
    item_id: str,
    passages: list[dict[str, Any]],
    min_relevant: int,
    *,
    raw: list[str] | None = None,
    usage: Usage | None = None,
    retry: bool = False,
) -> Verdict:
    """The verdict from the passages' grades (`grade` None where grading failed): score = context precision."""
    graded = [p for p in passages if p["grade"] is not None]
    relevant = [p["grade"] >= min_relevant for p in graded]
    failed = len(passages) - len(graded)
    precision = context_precision(relevant)
    record: dict[str, Any] = {
        "name": STRATEGY,
        "passages": passages,
        "min_relevant": min_relevant,
        "precision": precision,
        "average_precision": average_precision(relevant),
        "failed_passages": failed,
    }
    common: dict[str, Any] = {"id": item_id, "mode": "pointwise", "raw": raw or [], "usage": usage or Usage()}
    if precision is None:
        message = f"none of the {len(passages)} passages could be graded: {passages[0]['error']}"
        return Verdict(**common, error=ErrorInfo(reason="passages_failed", message=message, retryable=retry))
    verdict = Verdict(**common, outcome=Score(score=precision), strategy=record)
    if failed:
        verdict.flagged = True
        verdict.incomplete = ErrorInfo(
            reason="passages_failed",
            message=f"{failed} of {len(passages)} passages could not be graded (left out of the precision)",
            retryable=retry,
        )
    return verdict
