"""Judging strategies (self-consistency, jury, cascade) driven by scripted backends: aggregation, stacking,
configuration errors, fingerprints, and runs end to end."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import jurist
from jurist import BackendError, ConfigError, FakeBackend, GenerateRequest, Item, JudgeConfig, make_judge
from jurist.data.load import LoadedData
from jurist.judges.base import Judge, judge_item
from jurist.run.engine import run as run_engine
from jurist.run.runner import RunOptions
from jurist.strategies import Cascade, Jury, SelfConsistency, cascade_report

from .helpers import first_shown, logprob_capable, run, user_text, with_logprobs

PAIR = Item(id="q1", prompt="Name a prime.", response_a="Seven.", response_b="Nine.", label="A")
POINT = Item(id="p1", prompt="Name a prime.", response="Seven.", label=4)
LIST = Item(id="r1", prompt="Name a prime.", responses=["Nine.", "Seven.", "Eleven."])
NO_CACHE = jurist.JobOptions(cache=False)


def pair_judge(winner: str, **config: object) -> Judge:
    """A pairwise judge that always prefers `winner` ("A"/"B" of the item, whatever the order shown)."""
    text = {"A": PAIR.response_a, "B": PAIR.response_b}

    def script(request: GenerateRequest) -> str:
        if winner == "tie":
            return '{"winner": "tie"}'
        shown_first = first_shown(request, "Seven.", "Nine.")
        return '{"winner": "A"}' if shown_first == text[winner] else '{"winner": "B"}'

    return make_judge(FakeBackend(script), JudgeConfig(mode="pairwise", **config))  # type: ignore[arg-type]


def point_judge(*scores: str, **config: object) -> Judge:
    replies = [f'{{"score": "{s}", "rationale": "r{s}"}}' for s in scores]
    return make_judge(FakeBackend(replies), JudgeConfig(mode="pointwise", **config))  # type: ignore[arg-type]


def seeded_point_judge(score_by_seed: dict[int, str], **config: object) -> Judge:
    """A sampling pointwise judge whose answer depends on the request's seed (as a sampled model's would)."""

    def script(request: GenerateRequest) -> str:
        return f'{{"score": "{score_by_seed[request.seed or 0]}"}}'

    cfg = JudgeConfig(mode="pointwise", temperature=0.7, seed=0, **config)  # type: ignore[arg-type]
    return make_judge(FakeBackend(script), cfg)


def failing_judge(mode: str = "pairwise") -> Judge:
    error = BackendError("server down", retryable=True, reason="retries_exhausted")
    return make_judge(FakeBackend([error]), JudgeConfig(mode=mode))  # type: ignore[arg-type]


# -- self-consistency -----------------------------------------------------------------------------------------


def test_self_consistency_samples_with_seed_offsets_and_takes_the_majority():
    judge = seeded_point_judge({0: "4", 1: "4", 2: "2", 3: "4", 4: "5"})
    sc = SelfConsistency(judge, k=5)
    verdict = run(judge_item(sc, POINT))  # stamped, as the engine stamps every verdict
    backend = judge.backend
    assert isinstance(backend, FakeBackend)
    assert sorted(r.seed for r in backend.requests) == [0, 1, 2, 3, 4]
    assert all(r.temperature == 0.7 for r in backend.requests)
    assert verdict.ok and verdict.outcome.choice == "4" and verdict.outcome.score == 4.0
    assert verdict.strategy is not None
    assert verdict.strategy["name"] == "self_consistency"
    assert verdict.strategy["votes"] == {"4": 3.0, "2": 1.0, "5": 1.0}
    assert verdict.strategy["agreement"] == pytest.approx(0.6)
    assert verdict.strategy["disagreement"] == pytest.approx(0.4)
    assert verdict.strategy["std"] == pytest.approx(0.9798, abs=1e-4)  # population std of 4, 4, 2, 4, 5
    assert [s["score"] for s in verdict.strategy["samples"]] == [4.0, 4.0, 2.0, 4.0, 5.0]
    # usage and raw texts are summed over the samples
    assert verdict.usage.calls == 5 and len(verdict.raw) == 5
    assert verdict.judge_fingerprint == sc.fingerprint and verdict.label == 4.0


def test_self_consistency_mean_of_scores_reports_the_spread():
    judge = seeded_point_judge({0: "4", 1: "5", 2: "3"})
    verdict = run(SelfConsistency(judge, k=3, aggregate="mean")(POINT))
    assert verdict.outcome.score == pytest.approx(4.0)
    assert verdict.outcome.choice is None  # the samples chose different labels: the mean is no label's value
    assert verdict.strategy is not None
    assert verdict.strategy["std"] == pytest.approx((2 / 3) ** 0.5)


def test_self_consistency_pairwise_majority_and_a_split_vote_is_a_tie():
    votes = {0: "A", 1: "B", 2: "A"}

    def script(request: GenerateRequest) -> str:
        # the sample prefers the same response in both orders; which one depends on its seed
        preferred = {"A": "Seven.", "B": "Nine."}[votes[request.seed or 0]]
        return '{"winner": "A"}' if first_shown(request, "Seven.", "Nine.") == preferred else '{"winner": "B"}'

    judge = make_judge(FakeBackend(script), JudgeConfig(mode="pairwise", temperature=1.0, seed=0))
    verdict = run(SelfConsistency(judge, k=3)(PAIR))
    assert verdict.outcome.winner == "A" and verdict.outcome.consistent is True
    assert verdict.strategy is not None and verdict.strategy["agreement"] == pytest.approx(2 / 3)
    assert verdict.usage.calls == 6  # 3 samples x 2 orders

    votes.update({2: "B", 3: "A"})  # two samples each way
    split = run(SelfConsistency(judge, k=4)(PAIR))
    assert split.outcome.winner == "tie" and split.strategy is not None and split.strategy["tie"] is True


def test_self_consistency_listwise_majority_of_the_best():
    rankings = {0: "[2, 3, 1]", 1: "[2, 1, 3]", 2: "[3, 2, 1]"}

    def script(request: GenerateRequest) -> str:
        return f'{{"ranking": {rankings[request.seed or 0]}}}'

    judge = make_judge(FakeBackend(script), JudgeConfig(mode="listwise", temperature=0.5, seed=0))
    verdict = run(SelfConsistency(judge, k=3)(LIST))
    assert verdict.outcome.best == 2
    assert (
        verdict.outcome.ranking is not None
        and verdict.outcome.ranking[0] == 2
        and sorted(verdict.outcome.ranking) == [1, 2, 3]
    )


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: SelfConsistency(point_judge("4"), k=3), "temperature"),
        (lambda: SelfConsistency(seeded_point_judge({}), k=1), "k >= 2"),
        (lambda: SelfConsistency(seeded_point_judge({}), k=3, aggregate="mode"), "unknown aggregate"),
        (
            lambda: SelfConsistency(
                make_judge(FakeBackend("x"), JudgeConfig(mode="pairwise", temperature=1)), 3, "mean"
            ),
            "pointwise",
        ),
        (lambda: SelfConsistency(Jury([point_judge("4")]), k=3), "LLMJudge"),  # type: ignore[arg-type]
    ],
)
def test_self_consistency_bad_configurations(build, message):
    with pytest.raises(ConfigError, match=message):
        build()


# -- jury -----------------------------------------------------------------------------------------------------


def test_jury_majority_reports_disagreement_and_each_judge():
    jury = Jury([pair_judge("A"), pair_judge("A"), pair_judge("B")])
    verdict = run(jury(PAIR))
    assert verdict.ok and verdict.outcome.winner == "A" and verdict.outcome.consistent is True
    strategy = verdict.strategy
    assert strategy is not None and strategy["name"] == "jury"
    assert strategy["votes"] == {"A": 2.0, "B": 1.0}
    assert strategy["disagreement"] == pytest.approx(1 / 3)
    assert [j["winner"] for j in strategy["judges"]] == ["A", "A", "B"]
    assert verdict.usage.calls == 6 and len(verdict.raw) == 6


def test_jury_tie_in_the_vote_is_a_tie_or_flagged_when_no_tie_is_allowed():
    tied = run(Jury([pair_judge("A"), pair_judge("B")])(PAIR))
    assert tied.outcome.winner == "tie" and not tied.flagged

    no_tie = Jury([pair_judge("A", allow_tie=False), pair_judge("B", allow_tie=False)])
    flagged = run(no_tie(PAIR))
    assert flagged.outcome.winner is None and flagged.flagged and flagged.ok


def test_jury_weighted_vote_lets_the_heavier_judge_decide():
    jury = Jury([pair_judge("A"), pair_judge("B"), pair_judge("B")], vote="weighted", weights=[3, 1, 1])
    verdict = run(jury(PAIR))
    assert verdict.outcome.winner == "A"
    assert verdict.strategy is not None and verdict.strategy["agreement"] == pytest.approx(0.6)
    assert verdict.strategy["disagreement"] == pytest.approx(2 / 3)


def test_jury_pointwise_mean_median_and_weighted():
    def judges() -> list[Judge]:
        return [point_judge("2"), point_judge("4"), point_judge("5")]

    assert run(Jury(judges(), vote="mean")(POINT)).outcome.score == pytest.approx(11 / 3)
    assert run(Jury(judges(), vote="median")(POINT)).outcome.score == 4.0
    assert run(Jury(judges(), vote="weighted", weights=[2, 1, 1])(POINT)).outcome.score == pytest.approx(13 / 4)
    majority = run(Jury([point_judge("4"), point_judge("4"), point_judge("1")])(POINT))
    assert majority.outcome.choice == "4" and majority.outcome.score == 4.0 and majority.rationale == "r4"


def test_jury_leaves_out_a_failed_judge_and_fails_when_all_fail():
    verdict = run(Jury([pair_judge("B"), failing_judge(), pair_judge("B")])(PAIR))
    assert verdict.ok and verdict.outcome.winner == "B"
    assert verdict.strategy is not None and verdict.strategy["failed"] == [1]
    assert verdict.strategy["judges"][1]["error"] == "retries_exhausted"

    failed = run(Jury([failing_judge(), failing_judge()])(PAIR))
    assert failed.error is not None and failed.error.reason == "retries_exhausted" and failed.error.retryable


def test_jury_pointwise_probabilities_are_averaged():
    def judge(p4: float) -> Judge:
        reply = with_logprobs('{"score": "4"}', "4", {"4": p4, "3": 1 - p4})
        return make_judge(FakeBackend([reply], capabilities=logprob_capable()), JudgeConfig(mode="pointwise"))

    verdict = run(Jury([judge(0.8), judge(0.6)])(POINT))
    assert verdict.outcome.probs is not None
    assert verdict.outcome.probs["4"] == pytest.approx(0.7, abs=1e-6)
    assert verdict.outcome.expected == pytest.approx(3.7, abs=1e-6)


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: Jury([]), "at least one judge"),
        (lambda: Jury([pair_judge("A"), point_judge("4")]), "same mode"),
        (lambda: Jury([pair_judge("A")], vote="plurality"), "unknown vote rule"),
        (lambda: Jury([pair_judge("A"), pair_judge("B")], vote="mean"), "only pointwise"),
        (lambda: Jury([pair_judge("A"), pair_judge("B")], vote="weighted"), "needs weights"),
        (lambda: Jury([pair_judge("A"), pair_judge("B")], vote="weighted", weights=[1.0]), "one per judge"),
        (lambda: Jury([pair_judge("A"), pair_judge("B")], vote="weighted", weights=[1, -1]), "not negative"),
        (lambda: Jury([pair_judge("A"), pair_judge("B")], weights=[1, 2]), "only used with vote='weighted'"),
        (lambda: Jury(["not a judge"]), "not a judge"),  # type: ignore[list-item]
    ],
)
def test_jury_bad_configurations(build, message):
    with pytest.raises(ConfigError, match=message):
        build()


# -- stacking -------------------------------------------------------------------------------------------------


def test_a_jury_of_self_consistent_judges():
    first = SelfConsistency(seeded_point_judge({0: "4", 1: "4", 2: "3"}), k=3)
    second = SelfConsistency(seeded_point_judge({0: "2", 1: "4", 2: "4"}), k=3)
    third = SelfConsistency(seeded_point_judge({0: "5", 1: "5", 2: "1"}), k=3)
    verdict = run(Jury([first, second, third])(POINT))
    assert verdict.outcome.choice == "4" and verdict.outcome.score == 4.0
    assert verdict.usage.calls == 9
    assert verdict.strategy is not None
    inner = [j["strategy"] for j in verdict.strategy["judges"]]
    assert [s["name"] for s in inner] == ["self_consistency"] * 3
    assert [s["agreement"] for s in inner] == pytest.approx([2 / 3, 2 / 3, 2 / 3])
    assert verdict.strategy["disagreement"] == pytest.approx(1 / 3)


def test_a_jury_of_swap_controlled_judges_counts_position_consistency():
    def inconsistent(request: GenerateRequest) -> str:
        return '{"winner": "A"}'  # always the first shown: the orders disagree

    flip = make_judge(FakeBackend(inconsistent), JudgeConfig(mode="pairwise", on_inconsistent="tie"))
    verdict = run(Jury([pair_judge("A"), flip, pair_judge("A")])(PAIR))
    assert verdict.outcome.winner == "A"
    assert verdict.outcome.consistent is False  # one juror's two orders disagreed


# -- cascade --------------------------------------------------------------------------------------------------


def cheap_with_probs(p_a: float) -> Judge:
    reply_ab = with_logprobs('{"winner": "A"}', "A", {"A": p_a, "B": 1 - p_a})
    reply_ba = with_logprobs('{"winner": "B"}', "B", {"B": p_a, "A": 1 - p_a})

    def script(request: GenerateRequest) -> object:
        return reply_ab if first_shown(request, "Seven.", "Nine.") == "Seven." else reply_ba

    backend = FakeBackend(script, capabilities=logprob_capable())  # type: ignore[arg-type]
    return make_judge(backend, JudgeConfig(mode="pairwise"))


def test_cascade_keeps_a_sure_cheap_verdict_and_escalates_an_unsure_one():
    strong = pair_judge("B")
    sure = Cascade(cheap_with_probs(0.9), strong, threshold=0.8)
    verdict = run(sure(PAIR))
    assert verdict.outcome.winner == "A"
    assert verdict.strategy is not None and verdict.strategy["escalated"] is False
    assert verdict.strategy["confidence"] == pytest.approx(0.9)
    assert isinstance(strong.backend, FakeBackend) and strong.backend.requests == []

    unsure = Cascade(cheap_with_probs(0.6), strong, threshold=0.8)
    escalated = run(unsure(PAIR))
    assert escalated.outcome.winner == "B"
    assert escalated.strategy is not None and escalated.strategy["escalated"] is True
    assert escalated.strategy["reasons"] == ["low_confidence"]
    assert escalated.strategy["cheap"]["winner"] == "A"
    assert escalated.usage.calls == 4 and len(escalated.raw) == 4  # both judges' calls are counted


def test_cascade_escalates_on_swap_inconsistency_errors_and_flags_as_configured():
    def first_shown_wins(request: GenerateRequest) -> str:
        return '{"winner": "A"}'

    inconsistent = make_judge(FakeBackend(first_shown_wins), JudgeConfig(mode="pairwise", on_inconsistent="tie"))
    verdict = run(Cascade(inconsistent, pair_judge("B"))(PAIR))
    assert verdict.outcome.winner == "B" and verdict.strategy is not None
    assert verdict.strategy["reasons"] == ["inconsistent"]

    only_errors = Cascade(inconsistent, pair_judge("B"), escalate_when=["error"])
    kept = run(only_errors(PAIR))
    assert kept.outcome.winner == "tie" and kept.strategy is not None and kept.strategy["escalated"] is False

    failed = run(Cascade(failing_judge(), pair_judge("B"))(PAIR))
    assert failed.ok and failed.outcome.winner == "B"
    assert failed.strategy is not None and failed.strategy["reasons"] == ["error"]

    flagging = make_judge(FakeBackend(first_shown_wins), JudgeConfig(mode="pairwise", on_inconsistent="flag"))
    flagged = run(Cascade(flagging, pair_judge("A"), escalate_when=["flagged"])(PAIR))
    assert flagged.outcome.winner == "A" and flagged.strategy is not None and flagged.strategy["reasons"] == ["flagged"]


def test_cascade_keeps_the_cheap_answer_when_the_strong_judge_fails():
    verdict = run(Cascade(cheap_with_probs(0.55), failing_judge(), threshold=0.9)(PAIR))
    assert verdict.ok and verdict.outcome.winner == "A"
    assert verdict.strategy is not None and verdict.strategy["strong_error"] == "retries_exhausted"


def test_cascade_uses_a_strategy_agreement_as_confidence():
    cheap = SelfConsistency(seeded_point_judge({0: "4", 1: "4", 2: "2"}), k=3)  # agreement 2/3
    strong = point_judge("5")
    assert run(Cascade(cheap, strong, threshold=0.9)(POINT)).outcome.score == 5.0
    assert run(Cascade(cheap, strong, threshold=0.5)(POINT)).outcome.score == 4.0


def test_cascade_report_counts_escalations_and_savings():
    cascade = Cascade(cheap_with_probs(0.6), pair_judge("B"), threshold=0.8)
    verdicts = [run(cascade(PAIR)), run(Cascade(cheap_with_probs(0.95), pair_judge("B"), threshold=0.8)(PAIR))]
    verdicts.append(run(pair_judge("A")(PAIR)))  # not from a cascade: ignored
    report = cascade_report(verdicts)
    assert report["items"] == 2 and report["escalated"] == 1
    assert report["share_escalated"] == 0.5 and report["strong_runs_saved"] == 1
    assert report["reasons"] == {"low_confidence": 1}


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: Cascade(pair_judge("A"), point_judge("4")), "cheap judge judges pairwise"),
        (lambda: Cascade(pair_judge("A"), pair_judge("B"), escalate_when=["unsure"]), "unknown escalation"),
        (lambda: Cascade(pair_judge("A"), pair_judge("B"), escalate_when=[]), "never be asked"),
        (lambda: Cascade(pair_judge("A"), pair_judge("B"), threshold=1.5), "threshold"),
    ],
)
def test_cascade_bad_configurations(build, message):
    with pytest.raises(ConfigError, match=message):
        build()


# -- fingerprints ---------------------------------------------------------------------------------------------


def test_fingerprints_change_when_any_part_changes():
    def jury(seed: int = 0, tie: bool = True) -> Jury:
        return Jury([pair_judge("A", seed=seed), pair_judge("B", allow_tie=tie)])

    base = jury().fingerprint
    assert jury().fingerprint == base  # same parts, same fingerprint
    assert jury(seed=1).fingerprint != base  # an inner judge's config
    assert jury(tie=False).fingerprint != base
    assert (
        Jury([pair_judge("A"), pair_judge("B")], vote="weighted", weights=[1, 2]).fingerprint
        != Jury([pair_judge("A"), pair_judge("B")], vote="weighted", weights=[2, 1]).fingerprint
    )
    one, two = pair_judge("A", seed=1), pair_judge("A", seed=2)
    assert Jury([one, two]).fingerprint != Jury([two, one]).fingerprint  # order of the jurors (weights follow it)

    sc = SelfConsistency(seeded_point_judge({}), k=3)
    assert SelfConsistency(seeded_point_judge({}), k=3).fingerprint == sc.fingerprint
    assert SelfConsistency(seeded_point_judge({}), k=4).fingerprint != sc.fingerprint
    assert SelfConsistency(seeded_point_judge({}, scale="1-10"), k=3).fingerprint != sc.fingerprint
    assert SelfConsistency(seeded_point_judge({}), k=3, aggregate="mean").fingerprint != sc.fingerprint

    cascade = Cascade(sc, point_judge("4"))
    assert Cascade(sc, point_judge("4", rationale="none")).fingerprint != cascade.fingerprint
    assert Cascade(sc, point_judge("4"), threshold=0.5).fingerprint != cascade.fingerprint
    assert Cascade(point_judge("4"), sc).fingerprint != cascade.fingerprint
    # the other backend's name is part of an inner judge's identity
    renamed = make_judge(FakeBackend("x", name="other"), JudgeConfig(mode="pointwise"))
    assert Cascade(sc, renamed).fingerprint != cascade.fingerprint


def test_the_spec_names_the_strategy_its_settings_and_its_judges():
    jury = Jury([pair_judge("A"), pair_judge("B")], vote="weighted", weights=[1, 2])
    described = jury.spec.identity
    assert described["strategy"] == "jury" and described["config"] == {"mode": "pairwise"}
    assert described["settings"] == {"vote": "weighted", "weights": [1.0, 2.0]}
    assert [j["config"]["mode"] for j in described["judges"]] == ["pairwise", "pairwise"]
    assert json.dumps(described)  # JSON-able, for config.json


# -- the runner -----------------------------------------------------------------------------------------------


def test_concurrency_is_divided_among_the_judges_and_each_checks_its_own_context():
    small = make_judge(
        FakeBackend("x", capabilities=jurist.Capabilities(max_concurrency=8, context_length=100)),
        JudgeConfig(mode="pointwise"),
    )
    large = make_judge(
        FakeBackend("x", capabilities=jurist.Capabilities(max_concurrency=16, context_length=10_000)),
        JudgeConfig(mode="pointwise"),
    )
    jury = Jury([small, large])
    assert jury.concurrency() == 4  # the smaller model's 8, shared by the two judges of an item
    assert jury.spec.backend == "fake"
    # each inner judge is checked against its own model's context: the small one (100) cannot take a long item
    long_item = Item(id="long", prompt="word " * 400, response="x")
    with pytest.raises(jurist.InputError, match=r"long.* context of 100"):
        jury.check_data(LoadedData(items=[long_item], path="<python>", lines={}))
    large.check_data(LoadedData(items=[long_item], path="<python>", lines={}))


def test_a_wrapped_judge_runs_end_to_end_into_a_run_directory(tmp_path: Path):
    rows = [
        {"id": f"q{i}", "prompt": "Name a prime.", "response_a": "Seven.", "response_b": "Nine.", "label": "A"}
        for i in range(4)
    ]
    jury = Jury([pair_judge("A"), pair_judge("A"), pair_judge("B")])
    result = run(jurist.ajudge(rows, out=tmp_path / "run", judge=jury, options=NO_CACHE))
    verdicts = result.verdicts()
    assert len(verdicts) == 4 and all(v.outcome.winner == "A" for v in verdicts)
    assert all(v.strategy is not None and v.strategy["name"] == "jury" for v in verdicts)
    assert all(v.judge_fingerprint == jury.fingerprint for v in verdicts)
    config = json.loads((tmp_path / "run" / "config.json").read_text())
    assert config["fingerprint"] == jury.fingerprint and config["judge"]["strategy"] == "jury"
    summary = result.summary()
    assert summary.mode == "pairwise" and summary.judged == 4 and summary.accuracy == 1.0

    # resuming with the same strategy judges nothing again; a changed inner judge is refused, not mixed
    outcome = run(run_engine(jury, jurist.load_items(_write(tmp_path, rows), "pairwise"), tmp_path / "run", NO_CACHE))
    assert outcome.skipped == 4 and outcome.judged == 0
    changed = Jury([pair_judge("A"), pair_judge("A"), pair_judge("B", allow_tie=False)])
    with pytest.raises(ConfigError, match="other settings"):
        run(jurist.ajudge(rows, out=tmp_path / "run", judge=changed, options=NO_CACHE))


def test_a_judge_factory_gets_the_model_backend_with_its_retries(tmp_path: Path):
    calls: list[str] = []

    def script(request: GenerateRequest) -> str:
        calls.append(user_text(request))
        return '{"score": "4"}' if len(calls) % 2 else '{"score": "2"}'

    backend = FakeBackend(script)

    def build(model: jurist.Backend) -> Judge:
        return Jury(
            [
                make_judge(model, JudgeConfig(mode="pointwise")),
                make_judge(model, JudgeConfig(mode="pointwise", seed=1)),
            ],
            vote="mean",
        )

    rows = [{"id": "p1", "prompt": "Name a prime.", "response": "Seven.", "label": 3}]
    result = jurist.judge(rows, out=tmp_path / "f", model=backend, judge=build, options=NO_CACHE)
    (verdict,) = result.verdicts()
    assert verdict.outcome.score == 3.0 and len(calls) == 2
    assert json.loads((tmp_path / "f" / "config.json").read_text())["judge"]["backend"].startswith("fake")


def test_api_refuses_ambiguous_or_missing_judge_settings(tmp_path: Path):
    rows = [{"id": "p1", "prompt": "p", "response": "r"}]
    with pytest.raises(ConfigError, match="not both"):
        jurist.judge(rows, out=tmp_path, config="pointwise", judge=point_judge("4"))
    with pytest.raises(ConfigError, match="own backends"):
        jurist.judge(rows, out=tmp_path, model=FakeBackend("x"), judge=point_judge("4"))
    with pytest.raises(ConfigError, match="say how to judge"):
        jurist.judge(rows, out=tmp_path)


def test_the_run_options_concurrency_still_applies(tmp_path: Path):
    rows = [{"id": f"p{i}", "prompt": "p", "response": "r"} for i in range(3)]
    jury = Jury([point_judge("4"), point_judge("5")], vote="mean")
    options = jurist.JobOptions(cache=False, run=RunOptions(concurrency=1))
    result = jurist.judge(rows, out=tmp_path / "c", judge=jury, options=options)
    assert [v.outcome.score for v in result.verdicts()] == [4.5, 4.5, 4.5]


def _write(tmp_path: Path, rows: list[dict[str, object]]) -> Path:
    path = tmp_path / "items.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_a_cascade_to_humans_flags_unsure_items_and_keeps_no_decision() -> None:
    sure = make_judge(
        FakeBackend([with_logprobs('{"winner": "A"}', "A", {"A": 0.95, "B": 0.05})], capabilities=logprob_capable()),
        JudgeConfig(mode="pairwise", swap=False),
    )
    unsure = make_judge(
        FakeBackend([with_logprobs('{"winner": "A"}', "A", {"A": 0.55, "B": 0.45})], capabilities=logprob_capable()),
        JudgeConfig(mode="pairwise", swap=False),
    )
    kept = run(Cascade(sure, None, escalate_when=["low_confidence"], threshold=0.8)(PAIR))
    assert (
        kept.outcome.winner == "A" and not kept.flagged and kept.strategy is not None and not kept.strategy["escalated"]
    )
    queued = run(Cascade(unsure, None, escalate_when=["low_confidence"], threshold=0.8)(PAIR))
    assert queued.outcome.winner is None and queued.flagged and queued.error is None
    assert queued.strategy is not None and queued.strategy["escalated_to"] == "human"
    assert queued.strategy["cheap"]["winner"] == "A"
    assert cascade_report([kept, queued])["escalated"] == 1
