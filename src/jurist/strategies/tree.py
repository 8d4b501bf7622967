"""A stack of strategies described in a file (YAML, TOML or JSON): what `jurist judge --strategy FILE` reads.

Every node has a `kind`. A `judge` leaf is one model judge: its `model` (default: the run's `--model`) and any
JudgeConfig field (rubric, rules, rationale, temperature, ...) over the run's own settings. Every other kind wraps
judges, so they nest:

    kind: jury
    vote: majority
    judges:
      - {kind: judge, rubric: helpfulness}
      - {kind: self_reference, judge: {kind: judge, rubric: honesty}}
      - kind: debate
        rounds: 2
        judges: [{kind: judge}, {kind: judge, model: "openai:gpt-4o-mini"}]

A wrapper whose `judge` is left out wraps a plain leaf with the run's settings.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ..backends.base import Backend
from ..errors import ConfigError
from ..files import parse_config, read_text
from ..judges import JudgeConfig, make_judge
from ..judges.base import Judge, LLMJudge
from .augment import GeneratedMetrics, Revision, SelfReference
from .cascade import CONDITIONS, Cascade
from .debate import Debate
from .discussion import PeerDiscussion
from .interview import Interview
from .jury import Jury
from .ranking import PairwiseRanking
from .self_consistency import SelfConsistency

STRATEGY_SUFFIXES = (".yaml", ".yml", ".toml", ".json")


class _Node(BaseModel):
    model_config = ConfigDict(extra="forbid")


class JudgeLeaf(BaseModel):
    """One model judge. Fields other than `kind` and `model` are JudgeConfig fields (checked when built)."""

    model_config = ConfigDict(extra="allow")

    kind: Literal["judge"] = "judge"
    model: str | None = None


class SelfConsistencyNode(_Node):
    kind: Literal["self_consistency"]
    judge: JudgeLeaf = Field(default_factory=JudgeLeaf)
    k: int = 5
    aggregate: str = "majority"


class WriteFirstNode(_Node):
    kind: Literal["self_reference", "revision", "generated_metrics"]
    judge: JudgeLeaf = Field(default_factory=JudgeLeaf)
    max_tokens: int | None = None
    n: int | None = Field(None, description="generated_metrics: how many questions")


class JuryNode(_Node):
    kind: Literal["jury"]
    judges: list[Node]
    vote: str = "majority"
    weights: list[float] | None = None


class CascadeNode(_Node):
    kind: Literal["cascade"]
    cheap: Node
    strong: Node | Literal["human"] = Field(description="a node, or 'human' to flag escalated items for people")
    escalate_when: list[str] = Field(default_factory=lambda: list(CONDITIONS))
    threshold: float = 0.75


class DebateNode(_Node):
    kind: Literal["debate"]
    judges: list[JudgeLeaf]
    rounds: int = 2
    roles: list[str] | None = None
    vote: str = "majority"


class DiscussionNode(_Node):
    kind: Literal["discussion"]
    judges: list[JudgeLeaf]
    max_rounds: int = 3


class InterviewNode(_Node):
    kind: Literal["interview"]
    candidate: str = Field(description="model spec of the evaluated model, which answers the follow-up questions")
    judge: JudgeLeaf = Field(default_factory=JudgeLeaf)
    turns: int = 2
    max_tokens: int | None = None


class RankingNode(_Node):
    kind: Literal["ranking"]
    judge: Node = Field(default_factory=JudgeLeaf, description="a pairwise judge (its mode is set to pairwise)")
    method: str = "sort"
    budget: int | None = None
    confidence: float = 0.9


Node = Annotated[
    JudgeLeaf
    | SelfConsistencyNode
    | WriteFirstNode
    | JuryNode
    | CascadeNode
    | DebateNode
    | DiscussionNode
    | InterviewNode
    | RankingNode,
    Field(discriminator="kind"),
]


class StrategyTree(BaseModel):
    """The root of a strategy file."""

    model_config = ConfigDict(extra="forbid")

    root: Node


def parse_strategy(data: Any, source: str = "<python>") -> StrategyTree:
    """Validate a strategy tree given as plain data (a dict with a `kind`)."""
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: a strategy is a mapping with a `kind`, got {type(data).__name__}")
    data.setdefault("kind", "judge")
    try:
        return StrategyTree(root=data)
    except ValidationError as exc:
        problems = []
        for e in exc.errors():
            where = ".".join(str(p) for p in e["loc"][1:] if not _is_kind_tag(p)) or "(top)"
            problems.append(f"  {where}: {e['msg']}")
        raise ConfigError(
            f"{source}: bad strategy\n" + "\n".join(problems) + "\n  -> every node needs a `kind`: judge, "
            "self_consistency, self_reference, revision, generated_metrics, jury, cascade, debate, discussion, "
            "interview or ranking (see docs/guide.md, 'Strategy files')"
        ) from None


def _is_kind_tag(part: Any) -> bool:
    # pydantic puts the discriminator's value in the error location; it only repeats what `kind` says
    return isinstance(part, str) and part in _KINDS


_KINDS = {
    "judge",
    "self_consistency",
    "self_reference",
    "revision",
    "generated_metrics",
    "jury",
    "cascade",
    "debate",
    "discussion",
    "interview",
    "ranking",
}


def load_strategy(path: str | Path) -> StrategyTree:
    """Read a strategy file (.yaml/.yml, .toml or .json)."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"strategy file {path} not found")
    suffix = path.suffix.lower()
    if suffix not in STRATEGY_SUFFIXES:
        raise ConfigError(f"strategy file {path}: use one of {', '.join(STRATEGY_SUFFIXES)}")
    data = parse_config(read_text(path, error=ConfigError), suffix, str(path), "strategy file")
    return parse_strategy(data, source=str(path))


def models_in(node: Any, default: str) -> set[str]:
    """Every model spec a tree uses (leaves without `model` use `default`), so their backends can be made first."""
    found: set[str] = set()
    if isinstance(node, StrategyTree):
        node = node.root
    if isinstance(node, JudgeLeaf):
        found.add(node.model or default)
    elif isinstance(node, InterviewNode):
        found.add(node.candidate)
    for name in ("judge", "cheap", "strong"):
        child = getattr(node, name, None)
        if child is not None and not isinstance(child, str):
            found |= models_in(child, default)
    for child in getattr(node, "judges", None) or []:
        found |= models_in(child, default)
    return found


def build_tree(
    tree: StrategyTree, base: JudgeConfig, default_model: str, backend_for: Callable[[str], Backend]
) -> Judge:
    """The judge a strategy tree describes. Leaves take `base` (the run's settings) with their own fields on top;
    `backend_for(spec)` gives the backend of a model spec."""

    def leaf(node: JudgeLeaf, mode: str | None = None) -> LLMJudge:
        overrides = dict(node.model_extra or {})
        if mode is not None:
            overrides["mode"] = mode
        try:
            config = JudgeConfig.model_validate({**base.model_dump(), **overrides})
        except ValidationError as exc:
            problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
            raise ConfigError(f"strategy: a judge's settings are wrong: {problems}") from None
        return make_judge(backend_for(node.model or default_model), config)

    def build(node: Any, mode: str | None = None) -> Judge:
        if isinstance(node, JudgeLeaf):
            return leaf(node, mode)
        if isinstance(node, SelfConsistencyNode):
            return SelfConsistency(leaf(node.judge, mode), k=node.k, aggregate=node.aggregate)
        if isinstance(node, WriteFirstNode):
            inner = leaf(node.judge, mode)
            tokens = {} if node.max_tokens is None else {"max_tokens": node.max_tokens}
            if node.kind == "self_reference":
                return SelfReference(inner, **tokens)
            if node.kind == "revision":
                return Revision(inner, **tokens)
            return GeneratedMetrics(inner, **({} if node.n is None else {"n": node.n}), **tokens)
        if isinstance(node, JuryNode):
            if not node.judges:
                raise ConfigError("strategy: a jury needs at least one judge in `judges`")
            return Jury([build(j, mode) for j in node.judges], vote=node.vote, weights=node.weights)
        if isinstance(node, CascadeNode):
            return Cascade(
                build(node.cheap, mode),
                None if node.strong == "human" else build(node.strong, mode),
                escalate_when=node.escalate_when,
                threshold=node.threshold,
            )
        if isinstance(node, DebateNode):
            return Debate([leaf(j, mode) for j in node.judges], rounds=node.rounds, roles=node.roles, vote=node.vote)
        if isinstance(node, DiscussionNode):
            if len(node.judges) != 2:
                raise ConfigError(f"strategy: a discussion is between exactly 2 judges, got {len(node.judges)}")
            return PeerDiscussion(leaf(node.judges[0], mode), leaf(node.judges[1], mode), max_rounds=node.max_rounds)
        if isinstance(node, InterviewNode):
            return Interview(
                leaf(node.judge, mode), backend_for(node.candidate), turns=node.turns, max_tokens=node.max_tokens
            )
        if isinstance(node, RankingNode):
            return PairwiseRanking(
                build(node.judge, "pairwise"), node.method, budget=node.budget, confidence=node.confidence
            )
        raise ConfigError(f"strategy: unknown node {node!r}")  # unreachable: the schema allows only the kinds above

    judge = build(tree.root)
    if judge.mode != base.mode:
        raise ConfigError(
            f"strategy: the file builds a {judge.mode} judge but the run is {base.mode} "
            f"(use --mode {judge.mode}, or a `ranking` node to judge listwise items with a pairwise judge)"
        )
    return judge


for _model in (JuryNode, CascadeNode, RankingNode, StrategyTree):
    _model.model_rebuild()
