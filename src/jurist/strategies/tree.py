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

The nodes are made from the strategy classes in registry.py: a node of kind K has `kind`, the fields of K's slots
(judge, judges, cheap, strong) and of K's Params; `build_tree` builds any node the same way, from that data.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, ForwardRef, Literal, Union

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    InstanceOf,
    TypeAdapter,
    ValidationError,
    create_model,
    field_validator,
)

from ..backends.base import Backend
from ..errors import ConfigError
from ..files import parse_config, read_text
from ..judges import JudgeConfig, make_judge
from ..judges.base import Judge, LLMJudge
from .base import Strategy
from .cascade import HUMAN
from .params import same_default
from .registry import LEAF, STRATEGIES, kinds

STRATEGY_SUFFIXES = (".yaml", ".yml", ".toml", ".json")


class _Node(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: str


class JudgeLeaf(BaseModel):
    """One model judge. Fields other than `kind` and `model` are JudgeConfig fields (checked when built)."""

    model_config = ConfigDict(extra="allow")

    kind: Literal["judge"] = "judge"
    model: str | None = None


def node_model(kind: str, strategy: type[Strategy]) -> type[BaseModel]:
    """The model of a `kind` node: `kind`, the strategy's slots (nodes, or leaves) and its Params' fields. Those
    fields keep their types and defaults but not the strategy's checks: a value is checked by the strategy when
    the tree is built, with its own message."""
    node: Any = ForwardRef("Node")
    fields: dict[str, Any] = {"kind": (Literal[kind], ...)}
    for slot in strategy.slots:
        child: Any = JudgeLeaf if slot.leaves else node
        if slot.listed:
            child = list[child]
        if slot.human:
            child = Union[child, Literal["human"]]  # noqa: UP007 (a forward reference cannot take `|`)
        default = Field(default_factory=JudgeLeaf) if slot.optional else Field()
        fields[slot.name] = (child, default)
    for name, field in strategy.Params.model_fields.items():
        fields[name] = (field.annotation, same_default(field))
    title = "".join(part.title() for part in kind.split("_")) + "Node"
    return create_model(title, __base__=_Node, **fields)


_made: dict[tuple[tuple[str, type[Strategy]], ...], TypeAdapter[Any]] = {}


def _nodes() -> TypeAdapter[Any]:
    """The validator of a node: a JudgeLeaf or a node of one of the registry's kinds, told apart by `kind`. Made
    from the registry as it is now (again after a strategy is registered)."""
    key = tuple(STRATEGIES.items())
    if key not in _made:
        models = [node_model(kind, strategy) for kind, strategy in STRATEGIES.items()]
        union: Any = Annotated[Union[(JudgeLeaf, *models)], Field(discriminator="kind")]
        for model in models:
            model.model_rebuild(_types_namespace={"Node": union, "JudgeLeaf": JudgeLeaf})
        _made.clear()
        _made[key] = TypeAdapter(union)
    return _made[key]


class StrategyTree(BaseModel):
    """The root of a strategy file."""

    model_config = ConfigDict(extra="forbid")

    root: InstanceOf[BaseModel]  # a JudgeLeaf or a node model (node_model)

    @field_validator("root", mode="before")
    @classmethod
    def _node(cls, data: Any) -> Any:
        return data if isinstance(data, BaseModel) else _nodes().validate_python(data)


def parse_strategy(data: Any, source: str = "<python>") -> StrategyTree:
    """Validate a strategy tree given as plain data (a dict with a `kind`)."""
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: a strategy is a mapping with a `kind`, got {type(data).__name__}")
    data.setdefault("kind", LEAF)
    try:
        return StrategyTree(root=data)
    except ValidationError as exc:
        problems = []
        for e in exc.errors():
            where = ".".join(str(p) for p in e["loc"][1:] if not _is_kind_tag(p)) or "(top)"
            problems.append(f"  {where}: {e['msg']}")
        every = kinds()
        raise ConfigError(
            f"{source}: bad strategy\n" + "\n".join(problems) + "\n  -> every node needs a `kind`: "
            f"{', '.join(every[:-1])} or {every[-1]} (see docs/guide.md, 'Strategy files')"
        ) from None


def _is_kind_tag(part: Any) -> bool:
    # pydantic puts the discriminator's value (or, for a node that may also be a word, the whole union) in the
    # error location; it only repeats what `kind` says
    return isinstance(part, str) and (part in kinds() or part.startswith("tagged-union["))


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
        return {node.model or default}
    strategy = STRATEGIES[node.kind]
    found |= {getattr(node, name) for name in strategy.Params.specs()}
    for slot in strategy.slots:
        child = getattr(node, slot.name)
        for one in child if slot.listed else [child]:
            if one != HUMAN:
                found |= models_in(one, default)
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
        strategy = STRATEGIES[node.kind]
        judges: list[Any] = []  # the constructor's first arguments, slot by slot
        for slot in strategy.slots:
            below = slot.mode or mode
            child = getattr(node, slot.name)
            if slot.human and child == HUMAN:
                judges.append(None)
            elif slot.count is not None:
                if len(child) != slot.count:
                    raise ConfigError(
                        f"strategy: a {node.kind} is between exactly {slot.count} judges, got {len(child)}"
                    )
                judges += [build(c, below) for c in child]
            elif slot.many:
                judges.append([build(c, below) for c in child])
            else:
                judges.append(build(child, below))
        params = {name: getattr(node, name) for name in strategy.Params.model_fields}
        for name in strategy.Params.specs():
            params[name] = backend_for(params[name])
        return strategy(*judges, **params)

    judge = build(tree.root)
    mode = judge.spec.mode
    if mode != base.mode:
        raise ConfigError(
            f"strategy: the file builds a {mode} judge but the run is {base.mode} "
            f"(use --mode {mode}, or a `ranking` node to judge listwise items with a pairwise judge)"
        )
    return judge
