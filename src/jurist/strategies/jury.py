"""A jury: several judges (other models, or other prompts on one model) judge each item; a vote decides."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from ..errors import ConfigError
from ..judges.base import Judge
from ..types import Item, Verdict
from .base import Strategy, allows_tie
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

    def __init__(self, judges: Sequence[Judge], vote: str = "majority", weights: Sequence[float] | None = None) -> None:
        self._fan_out = len(judges)
        super().__init__(judges)
        if vote not in VOTE_RULES:
            raise ConfigError(f"Jury: unknown vote rule {vote!r}; choose one of {', '.join(VOTE_RULES)}")
        if vote in NUMERIC_RULES and self.mode != "pointwise":
            raise ConfigError(f"Jury: vote {vote!r} needs scores, which only pointwise judges give; use majority")
        if vote == "weighted":
            if weights is None:
                raise ConfigError("Jury: vote 'weighted' needs weights, one per judge")
            if len(weights) != len(self.judges):
                raise ConfigError(f"Jury: {len(weights)} weights for {len(self.judges)} judges; give one per judge")
            if any(not math.isfinite(w) or w < 0 for w in weights) or sum(weights) <= 0:
                raise ConfigError("Jury: weights must be finite, not negative, and not all zero")
        elif weights is not None:
            raise ConfigError(f"Jury: weights are only used with vote='weighted', not {vote!r}")
        self.vote = vote
        self.weights = [float(w) for w in weights] if weights is not None else [1.0] * len(self.judges)
        self.allow_tie = all(allows_tie(j) for j in self.judges)

    def settings(self) -> dict[str, Any]:
        return {"vote": self.vote, "weights": self.weights if self.vote == "weighted" else None}

    async def _judge(self, item: Item) -> Verdict:
        verdicts = await self._all([j(item) for j in self.judges])
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
