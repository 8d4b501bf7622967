"""Build a stack of strategies from flat settings: what the CLI's strategy options describe.

Order of stacking: model judges -> a write-first strategy or self-consistency -> jury (of rubric variants)
-> cascade (the stack on the cheap model, escalating to a plain judge of the same settings on the strong model)
-> ranking (listwise items ranked by pairwise comparisons made with the stack below).
Anything else (debate, peer discussion, interview, other nestings) is described in a strategy file (tree.py).
"""

from __future__ import annotations

from typing import cast

from pydantic import BaseModel, ConfigDict, Field

from ..backends.base import Backend
from ..errors import ConfigError
from ..judges import JudgeConfig, make_judge
from ..judges.base import Judge
from .augment import GeneratedMetrics, Revision, SelfReference
from .cascade import CONDITIONS, HUMAN, Cascade
from .jury import Jury
from .ranking import PairwiseRanking
from .self_consistency import SelfConsistency


class StrategySpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    write_first: str | None = Field(None, description="self_reference | revision | generated_metrics")
    samples: int | None = Field(None, description="self-consistency: k samples per judgment (needs temperature > 0)")
    aggregate: str = "majority"
    jury_rubrics: list[str] = Field(default_factory=list, description="a jury of prompts: one juror per rubric")
    vote: str = "majority"
    cascade_to: str | None = Field(
        None, description="model spec of the strong judge to escalate to, or 'human' to flag them for people"
    )
    escalate_when: list[str] = Field(default_factory=lambda: list(CONDITIONS))
    threshold: float = 0.75
    rank_by: str | None = Field(
        None, description="listwise: rank by pairwise comparisons (sort | knockout | adaptive | all_pairs)"
    )
    rank_budget: int | None = Field(None, description="rank_by adaptive: at most this many comparisons per item")

    @property
    def empty(self) -> bool:
        return (
            self.samples is None
            and not self.jury_rubrics
            and self.cascade_to is None
            and not self.write_first
            and self.rank_by is None
        )


def build_judge(config: JudgeConfig, spec: StrategySpec, backend: Backend, strong: Backend | None = None) -> Judge:
    """The judge for `config` on `backend`, wrapped as `spec` says; `strong` is the cascade's model."""
    if spec.cascade_to not in (None, HUMAN) and strong is None:
        raise ConfigError("a cascade needs the strong model's backend")
    if spec.rank_by is not None:
        if config.mode != "listwise":
            raise ConfigError(f"rank_by ranks the responses of listwise items; this run is {config.mode}")
        # the stack below judges pairs; the ranking on top turns it back into a listwise judge
        pairwise = spec.model_copy(update={"rank_by": None, "rank_budget": None})
        comparator = build_judge(config.model_copy(update={"mode": "pairwise"}), pairwise, backend, strong)
        return PairwiseRanking(comparator, spec.rank_by, budget=spec.rank_budget)
    if spec.rank_budget is not None:
        raise ConfigError("rank_budget applies with rank_by adaptive only")
    configs = [config.model_copy(update={"rubric": r}) for r in spec.jury_rubrics] or [config]

    if spec.write_first and spec.samples:
        raise ConfigError("self-consistency and a write-first strategy both wrap the model judge: choose one")
    write_first = {"self_reference": SelfReference, "revision": Revision, "generated_metrics": GeneratedMetrics}
    if spec.write_first is not None and spec.write_first not in write_first:
        raise ConfigError(f"unknown write-first strategy {spec.write_first!r}; choose {', '.join(write_first)}")

    def one(judge_config: JudgeConfig) -> Judge:
        judge = make_judge(backend, judge_config)
        if spec.write_first:
            return write_first[spec.write_first](judge)
        return SelfConsistency(judge, k=spec.samples, aggregate=spec.aggregate) if spec.samples else judge

    judges = [one(c) for c in configs]
    stacked: Judge = Jury(judges, vote=spec.vote) if spec.jury_rubrics else judges[0]
    if spec.cascade_to is not None:
        top = None if spec.cascade_to == HUMAN else make_judge(cast(Backend, strong), config)
        stacked = Cascade(stacked, top, escalate_when=spec.escalate_when, threshold=spec.threshold)
    return stacked
