"""Build a stack of strategies from flat settings: what the CLI's strategy options describe.

Order of stacking: model judges -> a write-first strategy or self-consistency -> jury (of rubric variants)
-> cascade (the stack on the cheap model, escalating to a plain judge of the same settings on the strong model)
-> ranking (listwise items ranked by pairwise comparisons made with the stack below).
Anything else (debate, peer discussion, interview, other nestings) is described in a strategy file (tree.py).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

from pydantic import BaseModel, ConfigDict, Field

from ..backends.base import Backend
from ..errors import ConfigError
from ..judges import JudgeConfig, make_judge
from ..judges.base import Judge
from .augment import _WriteFirst
from .base import Strategy
from .cascade import HUMAN, Cascade
from .jury import Jury
from .params import same_default
from .ranking import PairwiseRanking
from .registry import STRATEGIES
from .self_consistency import SelfConsistency
from .tree import StrategyTree, build_tree

# the strategies that make the judge write something first (--write-first), by kind
WRITE_FIRST: dict[str, type[_WriteFirst]] = {k: s for k, s in STRATEGIES.items() if issubclass(s, _WriteFirst)}


def _param(strategy: type[Strategy], name: str, prefix: str, *, off: bool = False) -> Any:
    """A flat setting that is the strategy's param `name`: its description (after `prefix`) and default, or, with
    `off`, None (the strategy is not used)."""
    field = strategy.Params.model_fields[name]
    description = f"{prefix}: {field.description}"
    return Field(None, description=description) if off else same_default(field, description)


class StrategySpec(BaseModel):
    """The common stack in flat settings (the CLI's strategy flags): see the module's docstring for the order."""

    model_config = ConfigDict(extra="forbid")

    write_first: str | None = Field(None, description=" | ".join(WRITE_FIRST))
    samples: int | None = _param(SelfConsistency, "k", "self-consistency", off=True)
    aggregate: str = _param(SelfConsistency, "aggregate", "self-consistency")
    jury_rubrics: list[str] = Field(default_factory=list, description="a jury of prompts: one juror per rubric")
    vote: str = _param(Jury, "vote", "the jury")
    cascade_to: str | None = Field(
        None, description="model spec of the strong judge to escalate to, or 'human' to flag them for people"
    )
    escalate_when: list[str] = _param(Cascade, "escalate_when", "cascade")
    threshold: float = _param(Cascade, "threshold", "cascade")
    rank_by: str | None = _param(PairwiseRanking, "method", "listwise, rank by pairwise comparisons", off=True)
    rank_budget: int | None = _param(PairwiseRanking, "budget", "rank_by", off=True)

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
    if spec.write_first is not None and spec.write_first not in WRITE_FIRST:
        raise ConfigError(f"unknown write-first strategy {spec.write_first!r}; choose {', '.join(WRITE_FIRST)}")

    def one(judge_config: JudgeConfig) -> Judge:
        judge = make_judge(backend, judge_config)
        if spec.write_first:
            return WRITE_FIRST[spec.write_first](judge)
        return SelfConsistency(judge, k=spec.samples, aggregate=spec.aggregate) if spec.samples else judge

    judges = [one(c) for c in configs]
    stacked: Judge = Jury(judges, vote=spec.vote) if spec.jury_rubrics else judges[0]
    if spec.cascade_to is not None:
        top = None if spec.cascade_to == HUMAN else make_judge(cast(Backend, strong), config)
        stacked = Cascade(stacked, top, escalate_when=spec.escalate_when, threshold=spec.threshold)
    return stacked


def judge_for(
    config: JudgeConfig,
    strategy: StrategySpec | StrategyTree | None,
    model: str | Backend,
    backend_for: Callable[[str | Backend], Backend],
) -> Judge:
    """The judge a run asks for: `config` on `model`, wrapped as `strategy` says (flat settings, or a strategy file
    whose judges take `config` as their base settings and `model` as their default model). `backend_for` gives the
    backend of a model spec, made once per spec by the caller (the engine's `Backends.get`)."""
    if isinstance(strategy, StrategyTree):
        if not isinstance(model, str):
            raise ConfigError("a strategy file names its models as specs: give model= as a spec such as 'local'")
        return build_tree(strategy, config, model, backend_for)
    backend = backend_for(model)
    if strategy is None or strategy.empty:
        return make_judge(backend, config)
    strong = backend_for(strategy.cascade_to) if strategy.cascade_to not in (None, HUMAN) else None
    return build_judge(config, strategy, backend, strong)
