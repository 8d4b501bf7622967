"""Listwise judging with a pairwise judge: rank an item's N responses by comparisons (comparison acceleration).

The comparisons are scheduled by `jurist.ranking` (merge sort, knockout, adaptive, or all pairs), so a listwise
run can use far fewer calls than all N(N-1)/2 pairs and never asks the model to hold N responses in one prompt.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from pydantic import Field, field_validator, model_validator

from ..data.load import LoadedData
from ..errors import ConfigError
from ..judges.base import Judge
from ..outcomes import Ranking
from ..ranking import METHODS, pairwise_comparator, rank_with
from ..types import ErrorInfo, Item, Usage, Verdict
from .base import Strategy
from .params import Slot, StrategyParams, choice, positive


class PairwiseRanking(Strategy):
    """A listwise judge made of a pairwise one: `method` is "sort", "knockout", "adaptive" or "all_pairs".

    The verdict's outcome is a Ranking: 1-based positions best first (`knockout` finds the best for sure and orders
    the rest only by the round they lost in); `best` is its first entry. `strategy` records the method, the
    comparisons made (`calls`), the ranking method's scores and stop reason, and failed comparisons (each counted
    as a tie). `budget` and `confidence` apply to "adaptive" only.
    """

    name = "pairwise_ranking"
    slots = (Slot("judge", "compares two responses", optional=True, mode="pairwise"),)

    class Params(StrategyParams):
        method: str = choice(
            "sort",
            METHODS,
            "the comparisons made: sort (merge sort), knockout (finds the best for sure), adaptive (Bradley-Terry, "
            "until the order is settled or `budget` is spent) or all_pairs",
            unknown="unknown method",
        )
        budget: int | None = positive(None, "adaptive: at most this many comparisons per item")
        confidence: float = Field(
            0.9, description="adaptive: how sure the order of each neighbouring pair must be, in (0.5, 1)"
        )

        @field_validator("confidence")
        @classmethod
        def _confidence(cls, confidence: float) -> float:
            if not 0.5 < confidence < 1.0:
                raise ValueError(f"PairwiseRanking: confidence must be in (0.5, 1), got {confidence}")
            return confidence

        @model_validator(mode="after")
        def _adaptive(self) -> PairwiseRanking.Params:
            if self.budget is not None and self.method != "adaptive":
                raise ValueError(f"PairwiseRanking: budget applies to method 'adaptive' only, not {self.method!r}")
            return self

    params: Params

    def __init__(
        self,
        judge: Judge,
        method: str = "sort",
        *,
        budget: int | None = None,
        confidence: float = 0.9,
        concurrency: int = 8,
    ) -> None:
        if judge.spec.mode != "pairwise":
            raise ConfigError(f"PairwiseRanking ranks with a pairwise judge, got a {judge.spec.mode} one")
        params = self.Params.check(method=method, budget=budget, confidence=confidence)
        super().__init__([judge])
        self.params = params
        self.mode = "listwise"
        self.method = params.method
        self.budget = params.budget
        self.confidence = params.confidence
        # one model in-process: comparisons one at a time; over HTTP several at once
        self.comparisons_at_once = 1 if self.serial else concurrency

    @property
    def inner(self) -> Judge:
        return self.judges[0]

    def _sample_pair(self, item: Item) -> Item:
        """The pair of this item's two longest responses: what the context-length check must fit."""
        responses = sorted(item.responses or ["", ""], key=len, reverse=True)
        return Item(id=item.id, prompt=item.prompt, response_a=responses[0], response_b=responses[1], turns=item.turns)

    def check_data(self, data: LoadedData) -> None:
        """The inner judge checks each item's pair of its two longest responses, the longest prompt it is sent."""
        super().check_data(dataclasses.replace(data, items=[self._sample_pair(item) for item in data.items]))

    async def _judge(self, item: Item) -> Verdict:
        responses = item.responses or []
        comparator = pairwise_comparator(self.inner, item.prompt, responses)
        result = await rank_with(
            comparator,
            self.method,
            budget=self.budget,
            confidence=self.confidence,
            concurrency=self.comparisons_at_once,
        )
        verdicts = [v for vs in comparator.verdicts.values() for v in vs]
        usage = Usage.total(v.usage for v in verdicts)
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
            outcome=Ranking(ranking=ranking),
            usage=usage,
            raw=[r for v in verdicts for r in v.raw],
            strategy=details,
        )
