"""Listwise judging with a pairwise judge: rank an item's N responses by comparisons (comparison acceleration).

The comparisons are scheduled by `jurist.ranking` (merge sort, knockout, adaptive, or all pairs), so a listwise
run can use far fewer calls than all N(N-1)/2 pairs and never asks the model to hold N responses in one prompt.
"""

from __future__ import annotations

from typing import Any

from ..backends.base import GenerateRequest
from ..errors import ConfigError
from ..judges.base import Judge
from ..ranking import METHODS, pairwise_comparator, rank_with
from ..types import ErrorInfo, Item, Usage, Verdict
from .base import Strategy


class PairwiseRanking(Strategy):
    """A listwise judge made of a pairwise one: `method` is "sort", "knockout", "adaptive" or "all_pairs".

    The verdict's `ranking` lists 1-based positions best first (`knockout` finds the best for sure and orders the
    rest only by the round they lost in) and `best` is its first entry. `strategy` records the method, the
    comparisons made (`calls`), the ranking method's scores and stop reason, and failed comparisons (each counted
    as a tie). `budget` and `confidence` apply to "adaptive" only.
    """

    name = "pairwise_ranking"

    def __init__(
        self,
        judge: Judge,
        method: str = "sort",
        *,
        budget: int | None = None,
        confidence: float = 0.9,
        concurrency: int = 8,
    ) -> None:
        if judge.mode != "pairwise":
            raise ConfigError(f"PairwiseRanking ranks with a pairwise judge, got a {judge.mode} one")
        if method not in METHODS:
            raise ConfigError(f"PairwiseRanking: unknown method {method!r}; choose one of {', '.join(METHODS)}")
        if budget is not None and method != "adaptive":
            raise ConfigError(f"PairwiseRanking: budget applies to method 'adaptive' only, not {method!r}")
        if budget is not None and budget < 1:
            raise ConfigError(f"PairwiseRanking: budget must be at least 1 comparison, got {budget}")
        if not 0.5 < confidence < 1.0:
            raise ConfigError(f"PairwiseRanking: confidence must be in (0.5, 1), got {confidence}")
        super().__init__([judge])
        self.mode = "listwise"
        self.method = method
        self.budget = budget
        self.confidence = confidence
        # one model in-process: comparisons one at a time; over HTTP several at once
        self.concurrency = 1 if self.backend.serial else concurrency

    @property
    def inner(self) -> Judge:
        return self.judges[0]

    def settings(self) -> dict[str, Any]:
        return {"method": self.method, "budget": self.budget, "confidence": self.confidence}

    def _sample_pair(self, item: Item) -> Item:
        """The pair of this item's two longest responses: what the context-length check must fit."""
        responses = sorted(item.responses or ["", ""], key=len, reverse=True)
        return Item(id=item.id, prompt=item.prompt, response_a=responses[0], response_b=responses[1], turns=item.turns)

    def requests(self, item: Item) -> list[GenerateRequest]:
        return self.inner.requests(self._sample_pair(item))

    def prompt_tokens(self, item: Item) -> int | None:
        return self.inner.prompt_tokens(self._sample_pair(item))

    async def _judge(self, item: Item) -> Verdict:
        responses = item.responses or []
        comparator = pairwise_comparator(self.inner, item.prompt, responses)
        result = await rank_with(
            comparator,
            self.method,
            budget=self.budget,
            confidence=self.confidence,
            concurrency=self.concurrency,
        )
        verdicts = [v for vs in comparator.verdicts.values() for v in vs]
        usage = sum((v.usage for v in verdicts), Usage())
        details: dict[str, Any] = {
            "name": self.name,
            "method": self.method,
            "calls": result.calls,
            "all_pairs_calls": len(responses) * (len(responses) - 1) // 2,
            "scores": result.scores,
            "stop_reason": result.stop_reason,
            "errors": result.errors,
        }
        if verdicts and all(v.error is not None for v in verdicts):
            first = verdicts[0].error
            assert first is not None
            return Verdict(
                id=item.id,
                mode="listwise",
                usage=usage,
                raw=[r for v in verdicts for r in v.raw],
                error=ErrorInfo(
                    reason=first.reason,
                    message=f"every comparison failed; the first: {first.message}",
                    retryable=first.retryable,
                ),
                strategy=details,
            )
        ranking = [i + 1 for i in result.ranking]
        return Verdict(
            id=item.id,
            mode="listwise",
            ranking=ranking,
            best=ranking[0],
            usage=usage,
            raw=[r for v in verdicts for r in v.raw],
            strategy=details,
        )
