"""Strategies' parameters as one pydantic model each: the fingerprints they give are the ones the code gave before
the models (captured then and pasted here), whether a strategy is built in Python, from the CLI's flat settings or
from a strategy file."""

from __future__ import annotations

import difflib
import inspect
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import click
import pytest
from pydantic import Field

from jurist import ConfigError, FakeBackend, Item, JudgeConfig, Verdict, make_judge
from jurist.cli import all_commands
from jurist.judges.base import Judge, LLMJudge, judge_item
from jurist.ranking import METHODS
from jurist.strategies import (
    Cascade,
    Debate,
    GeneratedMetrics,
    Interview,
    Jury,
    PairwiseRanking,
    PeerDiscussion,
    Revision,
    SelfConsistency,
    SelfReference,
    StrategySpec,
    build_judge,
    build_tree,
    load_strategy,
    parse_strategy,
)
from jurist.strategies.base import Strategy
from jurist.strategies.params import Slot, StrategyParams, choice, count, positive
from jurist.strategies.reference import REGENERATE, rewrite, table
from jurist.strategies.registry import STRATEGIES, register
from jurist.strategies.tree import node_model

from .helpers import run

GUIDE = Path(__file__).resolve().parents[2] / "docs" / "guide.md"


def _judge(mode: str = "pairwise", name: str = "fake", **config: object) -> LLMJudge:
    return make_judge(FakeBackend("x", name=name), JudgeConfig(mode=mode, **config))


def _models() -> dict[str, FakeBackend]:
    return {"local": FakeBackend("x", name="local"), "other": FakeBackend("y", name="other")}


def _tree(data: dict[str, Any], mode: str) -> Judge:
    return build_tree(parse_strategy(data), JudgeConfig(mode=mode), "local", _models().__getitem__)


RANKED_TREE: dict[str, Any] = {
    "kind": "ranking",
    "method": "knockout",
    "judge": {
        "kind": "cascade",
        "threshold": 0.6,
        "cheap": {
            "kind": "jury",
            "vote": "weighted",
            "weights": [1, 3],
            "judges": [
                {"kind": "self_consistency", "k": 3, "judge": {"temperature": 0.5}},
                {"kind": "self_reference", "max_tokens": 99},
            ],
        },
        "strong": {"kind": "debate", "rounds": 1, "judges": [{}, {"model": "other"}]},
    },
}
POINTWISE_TREE: dict[str, Any] = {
    "kind": "jury",
    "judges": [
        {"kind": "discussion", "max_rounds": 2, "judges": [{}, {"rubric": "honesty"}]},
        {"kind": "generated_metrics", "n": 4},
        {"kind": "revision"},
        {"kind": "cascade", "cheap": {"kind": "judge"}, "strong": "human", "escalate_when": ["flagged"]},
    ],
}

BUILDS: dict[str, Callable[[], Judge]] = {
    "self_consistency": lambda: SelfConsistency(_judge(temperature=0.7, seed=1)),
    "self_consistency_mean": lambda: SelfConsistency(_judge("pointwise", temperature=0.7), k=3, aggregate="mean"),
    "self_reference": lambda: SelfReference(_judge()),
    "self_reference_tokens": lambda: SelfReference(_judge(), max_tokens=64),
    "revision": lambda: Revision(_judge("pointwise")),
    "generated_metrics": lambda: GeneratedMetrics(_judge()),
    "generated_metrics_n": lambda: GeneratedMetrics(_judge(), n=2, max_tokens=100),
    "jury": lambda: Jury([_judge(), _judge(name="other")]),
    "jury_weighted": lambda: Jury([_judge(), _judge(name="other")], vote="weighted", weights=[1, 2]),
    "jury_median": lambda: Jury([_judge("pointwise"), _judge("pointwise", rubric="honesty")], vote="median"),
    "cascade": lambda: Cascade(_judge(), _judge(name="strong")),
    "cascade_human": lambda: Cascade(_judge(), None),
    "cascade_conditions": lambda: Cascade(
        _judge(), _judge(name="strong"), escalate_when=["low_confidence", "error", "error"], threshold=0.8
    ),
    "cascade_no_confidence": lambda: Cascade(
        _judge(), _judge(name="strong"), escalate_when=("inconsistent",), threshold=0.5
    ),
    "debate": lambda: Debate([_judge(), _judge(name="other")]),
    "debate_roles": lambda: Debate(
        [_judge("pointwise"), _judge("pointwise")], rounds=1, roles=[" skeptic ", "fan"], vote="mean"
    ),
    "discussion": lambda: PeerDiscussion(_judge(), _judge(name="other")),
    "discussion_rounds": lambda: PeerDiscussion(_judge(), _judge(name="other"), max_rounds=1),
    "interview": lambda: Interview(_judge("pointwise"), FakeBackend("y", name="candidate")),
    "interview_tokens": lambda: Interview(
        _judge("pointwise"), FakeBackend("y", name="candidate"), turns=1, max_tokens=64
    ),
    "ranking": lambda: PairwiseRanking(_judge()),
    "ranking_adaptive": lambda: PairwiseRanking(_judge(), "adaptive", budget=10, confidence=0.95, concurrency=2),
    "stack_flat": lambda: build_judge(
        JudgeConfig(mode="listwise", temperature=0.5),
        StrategySpec(
            samples=3, jury_rubrics=["helpfulness", "honesty"], cascade_to="human", rank_by="adaptive", rank_budget=20
        ),
        FakeBackend("x"),
    ),
    "stack_flat_write_first": lambda: build_judge(
        JudgeConfig(mode="pairwise"),
        StrategySpec(write_first="generated_metrics", cascade_to="openai:x", escalate_when=["error"]),
        FakeBackend("x"),
        FakeBackend("x", name="strong"),
    ),
    "tree_ranking": lambda: _tree(RANKED_TREE, "listwise"),
    "tree_pointwise": lambda: _tree(POINTWISE_TREE, "pointwise"),
    "tree_interview": lambda: _tree(
        {"kind": "interview", "candidate": "other", "turns": 3, "judge": {"rubric": "helpfulness"}}, "pointwise"
    ),
}

# Captured from the code as it was before the strategies had Params models.
FINGERPRINTS = {
    "self_consistency": "f5dfa4568d2e2277",
    "self_consistency_mean": "0c8a130bf209cac8",
    "self_reference": "7e964e7ad8ecd818",
    "self_reference_tokens": "5e48028196d14fc7",
    "revision": "b03fc5f98b35cd8d",
    "generated_metrics": "9fcdc27babe24e53",
    "generated_metrics_n": "a21e12015393b3ae",
    "jury": "65e193a22a13602e",
    "jury_weighted": "6980adea256c816e",
    "jury_median": "349ee524e6c8ed22",
    "cascade": "9a0eabbdfd33d73a",
    "cascade_human": "d83625c5fb4f2b86",
    "cascade_conditions": "cf1238d434f68092",
    "cascade_no_confidence": "3005d18527529a80",
    "debate": "9ec23d71fc215b90",
    "debate_roles": "385ada6affc1e997",
    "discussion": "fc09ad98d563f239",
    "discussion_rounds": "ecf87635158a603f",
    "interview": "b7825b5b5653c27e",
    "interview_tokens": "cbedde2ba8c6c7af",
    "ranking": "fe86d703ae331d5b",
    "ranking_adaptive": "88309c6d689dd338",
    "stack_flat": "bddda9d0ee4ee6a4",
    "stack_flat_write_first": "00b77f425598c347",
    "tree_ranking": "243aa4e687f7a9f5",
    "tree_pointwise": "9c179307b0bb3b8c",
    "tree_interview": "5f5b993528ad8dad",
}


@pytest.mark.parametrize("name", sorted(BUILDS))
def test_fingerprints_are_the_ones_before_params(name: str) -> None:
    assert BUILDS[name]().fingerprint == FINGERPRINTS[name]


# -- one model per strategy: the tree, the docs and the CLI come from it ---------------------------------------------


@pytest.mark.parametrize("kind", list(STRATEGIES))
def test_a_node_is_kind_slots_and_params(kind: str) -> None:
    strategy = STRATEGIES[kind]
    fields = set(node_model(kind, strategy).model_fields)
    assert fields == {"kind", *(s.name for s in strategy.slots), *strategy.Params.model_fields}


@pytest.mark.parametrize("kind", list(STRATEGIES))
def test_constructor_defaults_are_the_params_defaults(kind: str) -> None:
    strategy = STRATEGIES[kind]
    signature = inspect.signature(strategy)
    for name, field in strategy.Params.model_fields.items():
        if not field.is_required():
            given = signature.parameters[name].default
            assert (list(given) if isinstance(given, tuple) else given) == strategy.Params.default(name), name


def test_settings_are_checked_by_the_params_with_the_strategys_message() -> None:
    with pytest.raises(ConfigError, match=r"^SelfConsistency needs k >= 2 samples, got 1$"):
        SelfConsistency.Params.check(k=1)
    with pytest.raises(ConfigError, match=r"^SelfConsistency: k: Input should be a valid integer"):
        SelfConsistency.Params.check(k="many")
    with pytest.raises(ConfigError, match="Revision: max_tokens must be at least 1"):
        Revision.Params.check(max_tokens=0)  # the write-first params, under each strategy's own name
    with pytest.raises(ConfigError, match="budget applies to method 'adaptive' only"):
        PairwiseRanking.Params.check(method="sort", budget=3)
    assert Cascade.Params.check(escalate_when=["flagged", "error", "error"]).escalate_when == ["error", "flagged"]


def test_a_file_value_is_checked_when_built_by_the_strategy() -> None:
    tree = parse_strategy({"kind": "self_consistency", "k": 1, "judge": {"temperature": 0.5}})  # the shape is fine
    with pytest.raises(ConfigError, match="k >= 2"):
        build_tree(tree, JudgeConfig(mode="pairwise"), "local", _models().__getitem__)


def test_the_docs_table_is_what_the_strategies_generate() -> None:
    committed = GUIDE.read_text(encoding="utf-8")
    generated = rewrite(committed)
    if committed != generated:
        diff = difflib.unified_diff(committed.splitlines(), generated.splitlines(), "docs/guide.md", "generated", n=0)
        shown = "\n".join(list(diff)[:20])
        raise AssertionError(
            f"the strategy table in docs/guide.md is stale: regenerate it with `{REGENERATE}`\n{shown}"
        )


def test_the_docs_table_lists_every_kind_and_field() -> None:
    text = table()
    for kind, strategy in STRATEGIES.items():
        assert f"| `{kind}` ({strategy.__name__}) |" in text
        for name in strategy.Params.model_fields:
            assert f"| `{name}` |" in text
    assert "| `threshold` | number | `0.75` |" in text and "`sort` or `knockout` or `adaptive` or `all_pairs`" in text


def _option(command: str, name: str) -> click.Option:
    found = [p for p in all_commands()[command].params if isinstance(p, click.Option) and name in p.opts]
    assert len(found) == 1, name
    return found[0]


@pytest.mark.parametrize("command", ["judge", "arena"])
def test_the_cli_flags_take_their_choices_and_defaults_from_the_params(command: str) -> None:
    aggregate = _option(command, "--aggregate")
    assert list(aggregate.type.choices) == list(SelfConsistency.Params.choices("aggregate"))  # type: ignore[attr-defined]
    assert aggregate.default == SelfConsistency.Params.default("aggregate")
    vote = _option(command, "--vote")
    assert set(vote.type.choices) == set(Jury.Params.choices("vote")) - {"weighted"}  # type: ignore[attr-defined]
    assert vote.default == Jury.Params.default("vote")
    assert _option(command, "--escalate-when").default == ",".join(Cascade.Params.default("escalate_when"))
    assert _option(command, "--escalate-below").default == Cascade.Params.default("threshold")
    assert "samples per judgment" in (_option(command, "--samples").help or "")
    if command == "judge":
        assert list(_option(command, "--rank-by").type.choices) == list(METHODS)  # type: ignore[attr-defined]
    spec = StrategySpec()
    assert (spec.aggregate, spec.vote, spec.threshold) == ("majority", "majority", 0.75)


# -- a new strategy: one class with its Params, and one registry line ------------------------------------------------


class Tagged(Strategy):
    """The smallest strategy: judges with its one judge and tags the verdict."""

    name = "tagged"
    slots = (Slot("judge", "the judge whose verdict is tagged", optional=True),)

    class Params(StrategyParams):
        tag: str = Field("checked", description="the word put in the verdict's strategy record")

    def __init__(self, judge: Judge, tag: str = "checked") -> None:
        self.params = self.Params.check(tag=tag)
        super().__init__([judge])

    def settings(self) -> dict[str, Any]:
        return self.params.model_dump()

    async def _judge(self, item: Item) -> Verdict:
        verdict = await judge_item(self.judges[0], item)
        verdict.strategy = {"name": self.name, "tag": self.params.tag, "inner": verdict.strategy}
        return verdict


@pytest.fixture
def tagged() -> Iterator[None]:
    register("tagged", Tagged)
    try:
        yield
    finally:
        STRATEGIES.pop("tagged")


def test_a_registered_strategy_is_usable_from_a_strategy_file(tagged: None, tmp_path: Path) -> None:
    path = tmp_path / "tagged.yaml"
    path.write_text(
        "kind: jury\n"
        "judges:\n"
        "  - {kind: tagged, tag: first}\n"
        "  - kind: tagged\n"
        "    judge: {kind: self_reference, judge: {rubric: honesty}}\n"
    )
    judge = build_tree(load_strategy(path), JudgeConfig(mode="pairwise"), "local", _models().__getitem__)
    assert isinstance(judge, Jury) and all(isinstance(j, Tagged) for j in judge.judges)
    first, second = judge.judges
    assert first.settings() == {"tag": "first"} and second.settings() == {"tag": "checked"}  # type: ignore[attr-defined]
    assert isinstance(second.judges[0], SelfReference)  # type: ignore[attr-defined]
    verdict = run(first(Item(id="x", prompt="p", response_a="a", response_b="b")))
    assert verdict.strategy is not None and verdict.strategy["tag"] == "first"
    with pytest.raises(ConfigError, match="colour: Extra inputs") as bad:
        parse_strategy({"kind": "tagged", "colour": "red"})
    assert "interview, ranking or tagged" in str(bad.value)
    assert "| `tagged` (Tagged) | `judge` |" in table()


def test_a_kind_is_registered_once() -> None:
    with pytest.raises(ConfigError, match="taken"):
        register("judge", Tagged)
    with pytest.raises(ConfigError, match="taken"):
        register("jury", Tagged)
    with pytest.raises(ConfigError, match="not a Strategy"):
        register("tagged", dict)  # type: ignore[arg-type]
    assert "tagged" not in STRATEGIES
    with pytest.raises(ConfigError, match="kind"):
        parse_strategy({"kind": "tagged"})


def test_declared_fields_are_checked_by_strategy_params_with_no_validator_of_their_own() -> None:
    class Params(StrategyParams):
        rule: str = choice("a", ("a", "b"), "one of two", unknown="unknown rule")
        rules: list[str] = choice(["a"], ("a", "b"), "some of two")
        rounds: int = count(1, "rounds")
        budget: int | None = positive(None, "a budget")

    assert Params.check(rule="b", rules=["b", "a"], rounds=2, budget=3).rounds == 2
    for values, message in [
        ({"rule": "c"}, "unknown rule 'c'; choose one of a, b"),
        ({"rules": ["d", "a", "c", "d"]}, r"unknown rules \['c', 'd'\]; choose one of a, b"),
        ({"rounds": 0}, r"needs rounds >= 1 \(an integer\), got 0"),
        ({"rounds": True}, r"needs rounds >= 1 \(an integer\), got True"),
        ({"budget": 0}, "budget must be at least 1, got 0"),
    ]:
        with pytest.raises(ConfigError, match=message):
            Params.check(**values)
