"""Self-consistency: sample one judge k times and take the majority (or the mean score); the spread is the
uncertainty."""

from __future__ import annotations

from typing import Any

from ..errors import ConfigError
from ..judges.base import Judge, LLMJudge
from ..types import Item, Verdict
from .base import Strategy
from .vote import aggregate as combine

AGGREGATES = ("majority", "mean")


class SelfConsistency(Strategy):
    """Judges every item `k` times with samples of `judge` and combines them.

    The judge must sample: its config needs a temperature above 0. Sample i is judged with seed `seed + i`
    (a separate inner judge each, built with `config.model_copy`), so the samples differ and each is still
    reproducible and cacheable; with `seed=None` every sample is left to chance.

    `aggregate="majority"` votes on the winner (pairwise), the best response (listwise) or the label
    (pointwise); `"mean"` (pointwise only) averages the scores. `strategy` records the votes, `agreement`
    (vote share of the decision), `std` of the scores (pointwise) and every sample's verdict under `samples`.
    Usage and raw texts are summed over the samples.
    """

    name = "self_consistency"

    def __init__(self, judge: LLMJudge, k: int = 5, aggregate: str = "majority") -> None:
        if not isinstance(judge, LLMJudge):
            raise ConfigError("SelfConsistency samples a model judge (an LLMJudge, e.g. from make_judge)")
        if k < 2:
            raise ConfigError(f"SelfConsistency needs k >= 2 samples, got {k}")
        if aggregate not in AGGREGATES:
            raise ConfigError(f"SelfConsistency: unknown aggregate {aggregate!r}; choose majority or mean")
        if aggregate == "mean" and judge.mode != "pointwise":
            raise ConfigError(f"SelfConsistency: aggregate 'mean' needs scores (pointwise), not {judge.mode}")
        config = judge.config
        if config.temperature <= 0:
            raise ConfigError(
                "SelfConsistency needs a sampling judge: set a temperature above 0 in its JudgeConfig "
                "(at temperature 0 every sample gives the same answer)"
            )
        seeds = [None if config.seed is None else config.seed + i for i in range(k)]
        samples: list[Judge] = [type(judge)(judge.backend, config.model_copy(update={"seed": s})) for s in seeds]
        self._fan_out = k
        super().__init__(samples)
        self.k = k
        self.aggregate = aggregate

    def settings(self) -> dict[str, Any]:
        return {"k": self.k, "aggregate": self.aggregate}

    async def _judge(self, item: Item) -> Verdict:
        verdicts = await self._all([j(item) for j in self.judges])
        result = combine(
            item,
            self.mode,
            verdicts,
            rule=self.aggregate,
            weights=[1.0] * len(verdicts),
            allow_tie=self._allow_tie,
            members="samples",
        )
        result.strategy = {"name": self.name, "k": self.k, "aggregate": self.aggregate, **(result.strategy or {})}
        return result

    @property
    def _allow_tie(self) -> bool:
        first = self.judges[0]
        return isinstance(first, LLMJudge) and first.config.allow_tie
