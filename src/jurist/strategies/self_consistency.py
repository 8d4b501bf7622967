"""Self-consistency: sample one judge k times and take the majority (or the mean score); the spread is the
uncertainty."""

from __future__ import annotations

from pydantic import Field, field_validator

from ..errors import ConfigError
from ..judges.base import Judge, LLMJudge
from ..types import Item, Verdict
from .base import Strategy, allows_tie
from .params import Slot, StrategyParams, choice
from .vote import aggregate as combine

AGGREGATES = ("majority", "mean")
MIN_SAMPLES = 2


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
    slots = (Slot("judge", "the model judge sampled `k` times", leaves=True, optional=True),)

    class Params(StrategyParams):
        k: int = Field(
            5, description=f"samples per judgment (at least {MIN_SAMPLES}; the judge needs a temperature above 0)"
        )
        aggregate: str = choice(
            "majority",
            AGGREGATES,
            "how the samples combine: the majority decision, or the mean score (pointwise)",
            unknown="unknown aggregate",
        )

        @field_validator("k")
        @classmethod
        def _enough(cls, k: int) -> int:
            if k < MIN_SAMPLES:
                raise ValueError(f"SelfConsistency needs k >= {MIN_SAMPLES} samples, got {k}")
            return k

    params: Params

    def __init__(self, judge: LLMJudge, k: int = 5, aggregate: str = "majority") -> None:
        if not isinstance(judge, LLMJudge):
            raise ConfigError("SelfConsistency samples a model judge (an LLMJudge, e.g. from make_judge)")
        params = self.Params.check(k=k, aggregate=aggregate)
        if params.aggregate == "mean" and judge.mode != "pointwise":
            raise ConfigError(f"SelfConsistency: aggregate 'mean' needs scores (pointwise), not {judge.mode}")
        config = judge.config
        if config.temperature <= 0:
            raise ConfigError(
                "SelfConsistency needs a sampling judge: set a temperature above 0 in its JudgeConfig "
                "(at temperature 0 every sample gives the same answer)"
            )
        seeds = [None if config.seed is None else config.seed + i for i in range(params.k)]
        samples: list[Judge] = [type(judge)(judge.backend, config.model_copy(update={"seed": s})) for s in seeds]
        self._fan_out = params.k
        super().__init__(samples)
        self.params = params
        self.k = params.k
        self.aggregate = params.aggregate

    async def _judge(self, item: Item) -> Verdict:
        verdicts = await self._ask(self.judges, item)
        result = combine(
            item,
            self.mode,
            verdicts,
            rule=self.aggregate,
            weights=[1.0] * len(verdicts),
            allow_tie=allows_tie(self.judges[0]),
            members="samples",
        )
        result.strategy = {"name": self.name, "k": self.k, "aggregate": self.aggregate, **(result.strategy or {})}
        return result
