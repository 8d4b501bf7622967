"""Strategy files (a tree of strategies in YAML/TOML/JSON) and listwise ranking by pairwise comparisons."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from jurist import ConfigError, FakeBackend, GenerateRequest, Item, JudgeConfig, make_judge
from jurist.backends import Backend
from jurist.strategies import (
    Cascade,
    Debate,
    Jury,
    PairwiseRanking,
    SelfReference,
    StrategySpec,
    build_judge,
    build_tree,
    load_strategy,
    parse_strategy,
)
from jurist.strategies.tree import models_in

from .helpers import run, user_text

RESPONSES = ["R-alpha", "R-bravo-bravo-bravo", "R-charlie-charl", "R-delta-d"]
LIST = Item(id="r1", prompt="Write something long.", responses=RESPONSES)


def longer_wins(request: GenerateRequest) -> str:
    """A pairwise judge that prefers the longer response, whichever order it is shown in."""
    text = user_text(request)
    first, second = sorted((r for r in LIST.responses or [] if r in text), key=text.index)
    return '{"winner": "A"}' if len(first) >= len(second) else '{"winner": "B"}'


def backends() -> dict[str, Backend]:
    return {"local": FakeBackend(['{"winner": "A"}'] * 50), "other": FakeBackend(['{"winner": "B"}'] * 50)}


def test_a_tree_builds_nested_strategies_with_leaf_overrides(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(
        "kind: jury\n"
        "judges:\n"
        "  - {kind: judge, rubric: helpfulness}\n"
        "  - {kind: self_reference, max_tokens: 32, judge: {rubric: honesty}}\n"
        "  - kind: debate\n"
        "    rounds: 1\n"
        "    judges: [{kind: judge}, {kind: judge, model: other}]\n"
    )
    tree = load_strategy(path)
    assert models_in(tree, "local") == {"local", "other"}
    made = backends()
    judge = build_tree(tree, JudgeConfig(mode="pairwise", rationale="none"), "local", made.__getitem__)
    assert isinstance(judge, Jury)
    first, second, third = judge.judges
    assert first.config.rubric == "helpfulness" and first.config.rationale == "none"  # type: ignore[attr-defined]
    assert isinstance(second, SelfReference) and second.inner.config.rubric == "honesty"
    assert isinstance(third, Debate) and third.rounds == 1
    assert [j.backend for j in third.debaters] == [made["local"], made["other"]]


def test_toml_and_json_files_read_the_same(tmp_path: Path) -> None:
    (tmp_path / "s.toml").write_text('kind = "self_consistency"\nk = 3\n[judge]\ntemperature = 0.7\n')
    (tmp_path / "s.json").write_text(json.dumps({"kind": "self_consistency", "k": 3, "judge": {"temperature": 0.7}}))
    trees = [load_strategy(tmp_path / name) for name in ("s.toml", "s.json")]
    assert trees[0] == trees[1]
    judge = build_tree(trees[0], JudgeConfig(mode="pointwise"), "local", backends().__getitem__)
    assert judge.settings()["k"] == 3  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({"kind": "parliament"}, "kind"),
        ({"kind": "jury", "judges": [{"kind": "judge"}], "quorum": 3}, "quorum"),
        ({"kind": "debate", "judges": "two"}, "judges"),
        ({"kind": "cascade", "cheap": {"kind": "judge"}}, "strong"),
        ([1, 2], "mapping"),
    ],
)
def test_bad_trees_say_where(data: object, expected: str) -> None:
    with pytest.raises(ConfigError, match=expected):
        parse_strategy(data, source="s.yaml")


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({"kind": "jury", "judges": []}, "at least one judge"),
        ({"kind": "debate", "rounds": 0, "judges": [{}, {}]}, "rounds"),
        ({"kind": "discussion", "judges": [{}]}, "exactly 2"),
        ({"kind": "judge", "rubrik": "x"}, "rubrik"),
        ({"kind": "judge", "rubric": "no_such_rubric"}, "no_such_rubric"),
        ({"kind": "ranking", "method": "bubble"}, "bubble"),
    ],
)
def test_bad_settings_fail_when_built(data: dict[str, object], expected: str) -> None:
    tree = parse_strategy(data)
    mode = "listwise" if data["kind"] == "ranking" else "pairwise"
    with pytest.raises(ConfigError, match=expected):
        build_tree(tree, JudgeConfig(mode=mode), "local", backends().__getitem__)  # type: ignore[arg-type]


def test_a_tree_of_another_mode_than_the_run_is_refused() -> None:
    tree = parse_strategy({"kind": "ranking"})
    with pytest.raises(ConfigError, match="listwise"):
        build_tree(tree, JudgeConfig(mode="pairwise"), "local", backends().__getitem__)


def test_missing_or_unreadable_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        load_strategy(tmp_path / "none.yaml")
    (tmp_path / "bad.yaml").write_text("kind: [unclosed\n")
    with pytest.raises(ConfigError, match="YAML"):
        load_strategy(tmp_path / "bad.yaml")
    (tmp_path / "s.txt").write_text("kind: judge")
    with pytest.raises(ConfigError, match="yaml"):
        load_strategy(tmp_path / "s.txt")


# -- ranking listwise items with a pairwise judge --------------------------------------------------------------


@pytest.mark.parametrize("method", ["sort", "all_pairs", "adaptive"])
def test_ranking_orders_the_responses_by_comparisons(method: str) -> None:
    backend = FakeBackend(longer_wins)
    judge = PairwiseRanking(make_judge(backend, JudgeConfig(mode="pairwise", swap=False)), method)
    verdict = run(judge(LIST))
    assert verdict.error is None
    assert verdict.outcome.ranking == [2, 3, 4, 1] and verdict.outcome.best == 2
    assert verdict.strategy is not None and verdict.strategy["all_pairs_calls"] == 6
    assert verdict.usage.calls == verdict.strategy["calls"] == len(backend.requests)
    if method == "sort":
        assert verdict.strategy["calls"] < 6


def test_knockout_finds_the_best_with_n_minus_one_calls() -> None:
    backend = FakeBackend(longer_wins)
    judge = PairwiseRanking(make_judge(backend, JudgeConfig(mode="pairwise", swap=False)), "knockout")
    verdict = run(judge(LIST))
    assert verdict.outcome.best == 2
    assert verdict.strategy is not None and verdict.strategy["calls"] >= 3


def test_ranking_fails_the_item_only_when_every_comparison_failed() -> None:
    from jurist import BackendError

    error = BackendError("server down", retryable=True, reason="retries_exhausted")
    judge = PairwiseRanking(make_judge(FakeBackend([error] * 20), JudgeConfig(mode="pairwise", swap=False)))
    verdict = run(judge(LIST))
    assert verdict.error is not None and verdict.error.reason == "retries_exhausted"
    assert verdict.outcome is None


def test_ranking_settings_are_checked() -> None:
    pairwise = make_judge(FakeBackend(['{"winner": "A"}']), JudgeConfig(mode="pairwise"))
    pointwise = make_judge(FakeBackend(['{"score": "1"}']), JudgeConfig(mode="pointwise"))
    with pytest.raises(ConfigError, match="pairwise judge"):
        PairwiseRanking(pointwise)
    with pytest.raises(ConfigError, match="unknown method"):
        PairwiseRanking(pairwise, "bubble")
    with pytest.raises(ConfigError, match=r"adaptive.? only"):
        PairwiseRanking(pairwise, "sort", budget=10)


def test_rank_by_in_the_flat_spec_wraps_the_stack() -> None:
    backend = FakeBackend(longer_wins)
    config = JudgeConfig(mode="listwise", swap=False)
    judge = build_judge(config, StrategySpec(rank_by="sort", jury_rubrics=["helpfulness", "honesty"]), backend)
    assert isinstance(judge, PairwiseRanking) and isinstance(judge.inner, Jury)
    assert judge.mode == "listwise" and judge.inner.mode == "pairwise"
    with pytest.raises(ConfigError, match="listwise"):
        build_judge(JudgeConfig(mode="pairwise"), StrategySpec(rank_by="sort"), backend)
    with pytest.raises(ConfigError, match="rank_by adaptive"):
        build_judge(config, StrategySpec(rank_budget=5), backend)


def test_a_cascade_node_can_escalate_to_people() -> None:
    tree = parse_strategy({"kind": "cascade", "cheap": {"kind": "judge"}, "strong": "human", "threshold": 0.9})
    judge = build_tree(tree, JudgeConfig(mode="pairwise"), "local", backends().__getitem__)
    assert isinstance(judge, Cascade) and judge.strong is None and judge.settings()["escalate_to"] == "human"
    assert (
        build_judge(
            JudgeConfig(mode="pairwise"), StrategySpec(cascade_to="human"), FakeBackend(['{"winner": "A"}'])
        ).settings()["escalate_to"]
        == "human"
    )  # type: ignore[attr-defined]
