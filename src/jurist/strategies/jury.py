"""A jury: several judges (other models, or other prompts on one model) judge each item; a vote decides."""

from __future__ import annotations

import math
from collections.abc import Sequence

from pydantic import Field, field_validator, model_validator

from ..errors import ConfigError
from ..judges.base import Judge
from ..types import Item, Verdict
from .base import Strategy, allows_tie
from .params import Slot, StrategyParams, choice
from .vote import NUMERIC_RULES, VOTE_RULES, aggregate


class Jury(Strategy):
    """Judges every item with each of `judges`, concurrently, and combines their verdicts by `vote`:

    - `majority`: the most common decision (winner, best response, or pointwise label);
    - `weighted`: as majority, each judge's vote counted with its weight (pointwise: the weighted mean score);
    - `mean` / `median` (pointwise only): of the judges' scores.

    A split vote is a tie for pairwise judges that allow one, else the verdict is flagged with no winner
    (pointwise and listwise: flagged, the label nearest the mean / the response with the best mean rank kept).
    A judge that fails is left out of the vote and listed in `strategy["failed"]`; if all fail, the verdict is
    a failure. `strategy` holds the votes, `agreement`, `disagreement` (share of voting judges that decided
    otherwise) and each judge's verdict under `judges`.
    """

    name = "jury"
    slots = (Slot("judges", "the jurors", many=True),)

    class Params(StrategyParams):
        vote: str = choice(
            "majority",
            VOTE_RULES,
            "how the verdicts combine: the majority decision; weighted (with `weights`; pointwise: the weighted mean "
            "score); the mean or median score (pointwise)",
            unknown="unknown vote rule",
        )
        weights: list[float] | None = Field(None, description="vote weighted: one weight per judge")

        @field_validator("weights")
        @classmethod
        def _usable(cls, weights: list[float] | None) -> list[float] | None:
            if weights is not None and (any(not math.isfinite(w) or w < 0 for w in weights) or sum(weights) <= 0):
                raise ValueError("Jury: weights must be finite, not negative, and not all zero")
            return weights

        @model_validator(mode="after")
        def _weighted(self) -> Jury.Params:
            if self.vote == "weighted" and self.weights is None:
                raise ValueError("Jury: vote 'weighted' needs weights, one per judge")
            if self.vote != "weighted" and self.weights is not None:
                raise ValueError(f"Jury: weights are only used with vote='weighted', not {self.vote!r}")
            return self

    params: Params

    def __init__(self, judges: Sequence[Judge], vote: str = "majority", weights: Sequence[float] | None = None) -> None:
        self._fan_out = len(judges)
        super().__init__(judges)
        params = self.Params.check(vote=vote, weights=weights)
        if params.vote in NUMERIC_RULES and self.mode != "pointwise":
            raise ConfigError(f"Jury: vote {vote!r} needs scores, which only pointwise judges give; use majority")
        if params.weights is not None and len(params.weights) != len(self.judges):
            raise ConfigError(f"Jury: {len(params.weights)} weights for {len(self.judges)} judges; give one per judge")
        self.params = params
        self.vote = params.vote
        self.weights = params.weights if params.weights is not None else [1.0] * len(self.judges)
        self.allow_tie = all(allows_tie(j) for j in self.judges)

    async def _judge(self, item: Item) -> Verdict:
        verdicts = await self._ask(self.judges, item)
        result = aggregate(
            item,
            self.mode,
            verdicts,
            rule=self.vote,
            weights=self.weights,
            allow_tie=self.allow_tie,
            members="judges",
        )
        result.strategy = {"name": self.name, "vote": self.vote, **(result.strategy or {})}
        return result
