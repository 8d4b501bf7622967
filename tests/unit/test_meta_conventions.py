"""`jurist meta-eval`: published metric conventions (`--convention`), breakdowns by a metadata field (`--by`),
clustered intervals (`--group`) and a report that survives a failing section, on runs judged by scripted backends
whose answers are set per item and per presentation order, so every figure can be counted by hand."""

from __future__ import annotations

import json
import random
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner

import jurist
from jurist import FakeBackend, GenerateRequest, InputError, JudgeConfig
from jurist.cli import main
from jurist.conventions import apply_convention, macro_precision_recall_f1
from jurist.meta import MetaOptions, meta_evaluate, render_meta
from jurist.outcomes import Preference
from jurist.types import Verdict

from .helpers import user_text

NO_CACHE = jurist.JobOptions(cache=False, limits=jurist.Limits(max_retries=0))
UNREADABLE = "I would rather not say."  # no verdict in any convention the parser knows
SWAP = {"A": "B", "B": "A", "tie": "tie"}


def scripted_run(
    tmp_path: Path,
    plan: list[tuple[str, str | None, str | None]],
    *,
    swap: bool = True,
    extra: list[dict[str, Any]] | None = None,
    name: str = "run",
) -> Path:
    """A pairwise run whose item i has label plan[i][0] and whose judge names plan[i][1] as the winner when the
    responses are shown in the original order and plan[i][2] when they are swapped (winners in the original
    labels; None: an answer with no verdict)."""
    items = [
        {
            "id": f"q{i}",
            "prompt": f"question {i}",
            "response_a": f"alpha {i}",
            "response_b": f"beta {i}",
            "label": label,
            **((extra or [{}] * len(plan))[i]),
        }
        for i, (label, _, _) in enumerate(plan)
    ]

    def script(request: GenerateRequest) -> str:
        text = user_text(request)
        i = int(re.search(r"question (\d+)", text).group(1))  # type: ignore[union-attr]
        original_order = text.index(f"alpha {i}") < text.index(f"beta {i}")
        winner = plan[i][1] if original_order else plan[i][2]
        if winner is None:
            return UNREADABLE
        shown = winner if original_order else SWAP[winner]
        return json.dumps({"winner": shown})

    config = JudgeConfig(mode="pairwise", rationale="none", allow_tie=True, swap=swap)
    jurist.judge(items, out=tmp_path / name, config=config, model=FakeBackend(script), options=NO_CACHE)
    return tmp_path / name


def figures(report: Any) -> dict[str, float]:
    assert report.convention is not None, report.notes
    return {f.name: f.estimate.value for f in [*report.convention.figures, *report.convention.detail]}


def evaluate(run: Path, **options: Any) -> Any:
    return meta_evaluate(run, MetaOptions(n_resamples=50, **options))


# -- conventions -------------------------------------------------------------------------------------------------


def test_llmbar_averages_the_orders_and_counts_two_unreadable_orders_as_agreeing(tmp_path: Path) -> None:
    plan = [
        *[("A", "A", "A")] * 6,  # right in both orders, agreeing
        ("B", "B", "A"),  # right first, wrong swapped
        ("A", "B", "B"),  # wrong in both, agreeing
        ("B", None, None),  # nothing readable in either order: wrong twice, and LLMBar's `equal` says they agree
        ("A", "A", None),  # one readable order: right once, not agreeing
        ("B", "tie", "tie"),  # LLMBar's parser cannot return a tie: read like unreadable answers
        ("A", "A", "A"),
    ]
    got = figures(evaluate(scripted_run(tmp_path, plan), convention="llmbar"))
    n = len(plan)
    first, second = 7 + 1 + 1, 7  # orders naming the label
    assert got["Acc, first order"] == pytest.approx(100 * first / n)
    assert got["Acc, swapped order"] == pytest.approx(100 * second / n)
    assert got["Acc"] == pytest.approx(100 * (first + second) / (2 * n))
    assert got["Agr"] == pytest.approx(100 * (7 + 1 + 1 + 1) / n)  # 7 right pairs, 1 wrong pair, 2 unreadable pairs
    assert got["both orders right"] == pytest.approx(100 * 7 / n)


def test_a_convention_that_does_not_fit_the_run_is_refused_clearly(tmp_path: Path) -> None:
    run = scripted_run(tmp_path, [("A", "A", None)] * 12, swap=False)
    result = CliRunner().invoke(main, ["meta-eval", str(run), "--convention", "llmbar", "--bootstrap", "20"])
    assert result.exit_code == 2
    assert "needs both presentation orders" in result.output and "Traceback" not in result.output
    with pytest.raises(InputError, match="pointwise run"):
        items = [{"id": f"p{i}", "prompt": f"p {i}", "response": "r", "label": 3} for i in range(12)]
        jurist.judge(items, out=tmp_path / "pw", config="pointwise", model=FakeBackend('{"score": "3"}'))
        evaluate(tmp_path / "pw", convention="pandalm")


def test_judgebench_sums_the_two_orders_votes_so_one_right_and_one_tie_is_right(tmp_path: Path) -> None:
    plan = [
        ("A", "A", "A"),  # +2: right
        ("A", "A", "tie"),  # +1: right (JudgeBench's rule)
        ("B", "B", None),  # +1 (a failure votes 0): right
        ("A", "A", "B"),  # 0: not right
        ("B", "tie", "tie"),  # 0
        ("A", "B", "B"),  # -2: wrong
        *[("B", "B", "B")] * 6,
    ]
    got = figures(evaluate(scripted_run(tmp_path, plan), convention="judgebench"))
    assert got["accuracy"] == pytest.approx(100 * 9 / 12)
    # one order per pair: right when it names the label
    single = scripted_run(tmp_path, plan, swap=False, name="single")
    assert figures(evaluate(single, convention="judgebench"))["accuracy"] == pytest.approx(100 * 10 / 12)


def test_pandalm_counts_failures_as_ties_and_its_macro_f1_is_scikit_learns(tmp_path: Path) -> None:
    from sklearn.metrics import precision_recall_fscore_support

    rng = np.random.default_rng(3)
    for _ in range(5):
        truth, predicted = rng.integers(0, 3, 40), rng.integers(0, 3, 40)
        predicted[predicted == 2] = 1  # a class never predicted: its precision is 0, not undefined
        ours = macro_precision_recall_f1(truth, predicted, 3)
        theirs = precision_recall_fscore_support(truth, predicted, labels=[0, 1, 2], average="macro", zero_division=0)
        assert ours == pytest.approx(theirs[:3])
    plan = [("A", "A", None)] * 5 + [("tie", None, None)] * 3 + [("B", "tie", None)] * 2 + [("B", "B", None)] * 4
    report = evaluate(scripted_run(tmp_path, plan, swap=False), convention="pandalm")
    # the 3 unreadable verdicts on tie items count as a (right) tie; the 2 ties on B items are wrong
    assert figures(report)["accuracy"] == pytest.approx((5 + 3 + 4) / 14)
    assert any("3 verdicts failed or have no winner and count as a tie" in n for n in report.convention.notes)


def test_autoj_agreement_needs_both_orders_right_and_consistency_their_agreement(tmp_path: Path) -> None:
    plan = [
        *[("A", "A", "A")] * 6,
        ("tie", "tie", "tie"),  # a tie label answered tie twice: right
        ("B", "B", "A"),  # inconsistent
        ("A", "B", "B"),  # consistent, wrong
        ("B", "B", None),  # a failed order: wrong, agrees with nothing
        ("A", "tie", "A"),
    ]
    got = figures(evaluate(scripted_run(tmp_path, plan), convention="autoj"))
    assert got["agreement"] == pytest.approx(100 * 7 / 11)
    assert got["consistency"] == pytest.approx(100 * 8 / 11)
    single = figures(evaluate(scripted_run(tmp_path, plan, swap=False, name="one"), convention="autoj"))
    assert single["agreement"] == pytest.approx(100 * 9 / 11)


def test_mt_bench_agreement_compares_the_judge_with_every_human_vote_with_and_without_ties(tmp_path: Path) -> None:
    # (label, judge's vote in both orders, human votes, turn)
    rows = [
        ("A", "A", ["A", "A", "B"], 1),  # w/ tie 2/3; w/o tie 2/3
        ("tie", "tie", ["tie", "tie (bothbad)"], 1),  # w/ tie 2/2 (FastChat: any two ties agree); w/o: left out
        ("B", "A", ["model_b", "tie"], 2),  # w/ tie 0/2; w/o tie 0/1
        ("B", "B", ["B"], 2),  # 1/1 both ways
        ("A", None, ["A"], 2),  # no judge vote: FastChat leaves the item out
        *[("A", "A", ["A"], 1)] * 7,  # 7/7 both ways
    ]
    plan = [(label, vote, vote) for label, vote, _, _ in rows]
    extra = [{"annotations": votes, "turn": turn} for _, _, votes, turn in rows]
    got = figures(evaluate(scripted_run(tmp_path, plan, extra=extra), convention="mt_bench"))
    assert got["agreement w/ tie"] == pytest.approx(100 * (2 + 2 + 0 + 1 + 7) / (3 + 2 + 2 + 1 + 7))
    assert got["agreement w/o tie"] == pytest.approx(100 * (2 + 0 + 1 + 7) / (3 + 1 + 1 + 7))
    assert got["w/ tie, failures as disagreements"] == pytest.approx(100 * 12 / 16)
    assert got["turn 1 w/ tie"] == pytest.approx(100 * (2 + 2 + 7) / (3 + 2 + 7))
    assert got["turn 2 w/o tie"] == pytest.approx(100 * 1 / 2)


def test_rewardbench_scores_ties_as_half_and_weights_subsets_by_its_published_counts(tmp_path: Path) -> None:
    subsets = {  # subset -> (right, wrong, tie) verdicts
        "alpacaeval-easy": (3, 1, 0),
        "mt-bench-med": (1, 0, 1),
        "llmbar-natural": (2, 2, 0),
        "refusals-dangerous": (4, 0, 0),
        "math-prm": (1, 1, 0),
        "hep-go": (2, 0, 0),
        "my-own-set": (1, 0, 0),
    }
    plan, extra = [], []
    for subset, (right, wrong, tie) in subsets.items():
        plan += [("A", "A", "A")] * right + [("A", "B", "B")] * wrong + [("A", "tie", "tie")] * tie
        extra += [{"subset": subset}] * (right + wrong + tie)
    report = evaluate(scripted_run(tmp_path, plan, extra=extra), convention="rewardbench")
    got = figures(report)
    assert got["alpacaeval-easy"] == pytest.approx(75.0) and got["mt-bench-med"] == pytest.approx(75.0)
    assert got["Chat"] == pytest.approx(100 * (0.75 * 100 + 0.75 * 40) / (100 + 40))
    assert got["Chat Hard"] == pytest.approx(50.0)
    assert got["Reasoning"] == pytest.approx(100 * (0.5 * 984 + 1.0 * 164) / (984 + 164))
    assert got["Score"] == pytest.approx((got["Chat"] + got["Chat Hard"] + got["Safety"] + got["Reasoning"]) / 4)
    assert any("my-own-set" in n for n in report.convention.notes)
    partial = scripted_run(tmp_path, [("A", "A", "A")] * 10, extra=[{"subset": "hep-go"}] * 10, name="partial")
    assert "Score" not in figures(evaluate(partial, convention="rewardbench"))


# -- --by, --group, and sections that fail ---------------------------------------------------------------------


def test_by_breaks_every_pairwise_figure_and_the_convention_down_with_intervals(tmp_path: Path) -> None:
    plan = [("A", "A", "A")] * 10 + [("A", "B", "B")] * 5 + [("B", "B", "A")] * 5 + [("A", None, None)] * 2
    extra = [{"subset": "easy"}] * 10 + [{"subset": "hard"}] * 10 + [{"subset": "broken"}] * 2
    run = scripted_run(tmp_path, plan, extra=extra)
    report = evaluate(run, by="subset", convention="llmbar")
    assert report.breakdown is not None and set(report.breakdown) == {"easy", "hard", "broken"}
    easy, hard = report.breakdown["easy"], report.breakdown["hard"]
    assert easy.agreement is not None and easy.agreement.accuracy.value == 1.0
    assert hard.agreement is not None and hard.agreement.accuracy.value == 0.0  # 5 wrong, 5 inconsistent (a tie)
    assert hard.position_consistency is not None and hard.position_consistency.value == 0.5
    assert hard.agreement.accuracy.n == 10 and hard.position_consistency.low <= 0.5 <= hard.position_consistency.high
    assert figures(hard)["Acc"] == pytest.approx(25.0) and figures(easy)["Agr"] == pytest.approx(100.0)
    assert figures(report.breakdown["broken"])["Agr"] == pytest.approx(100.0)  # LLMBar's `equal`, still counted
    text = render_meta(report)
    assert "By subset" in text and "llmbar Acc" in text
    assert "[subset = broken] the pairwise figures not computed: no verdict of this group is usable" in text
    result = CliRunner().invoke(main, ["meta-eval", str(run), "--by", "subset", "--bootstrap", "20"])
    assert result.exit_code == 0 and re.search(r"hard\s+10\s+0\s+0\.000", result.output), result.output


def test_by_breaks_pointwise_correlations_down(tmp_path: Path) -> None:
    rng = random.Random(2)
    items, scores = [], {}
    for i in range(40):
        human = rng.randint(1, 5)
        scores[f"doc {i}"] = human if i < 20 else 6 - human  # follows the humans on "news", reverses them on "chat"
        items.append(
            {
                "id": f"d{i}",
                "prompt": f"doc {i}",
                "response": "s",
                "label": human,
                "category": "news" if i < 20 else "chat",
            }
        )

    def script(request: GenerateRequest) -> str:
        key = re.search(r"doc \d+", user_text(request)).group(0)  # type: ignore[union-attr]
        return json.dumps({"score": str(scores[key])})

    config = JudgeConfig(mode="pointwise", rationale="none")
    jurist.judge(items, out=tmp_path / "pw", config=config, model=FakeBackend(script), options=NO_CACHE)
    report = evaluate(tmp_path / "pw", by="category")
    assert report.breakdown is not None
    news, chat = report.breakdown["news"].correlation, report.breakdown["chat"].correlation
    assert news is not None and chat is not None
    assert news.by_method["spearman"].item.value == pytest.approx(1.0)
    assert chat.by_method["spearman"].item.value == pytest.approx(-1.0)


def test_group_makes_pairwise_intervals_cluster_and_a_missing_group_key_is_an_error(tmp_path: Path) -> None:
    # 8 prompts x 4 pairs each; the judge is right on every pair of half the prompts and wrong on the others, so
    # items of one prompt are far from independent
    plan = [("A", "A", "A") if (i // 4) % 2 else ("A", "B", "B") for i in range(32)]
    extra = [{"prompt_id": f"p{i // 4}"} for i in range(32)]
    run = scripted_run(tmp_path, plan, extra=extra)
    plain = evaluate(run)
    clustered = evaluate(run, group_key="prompt_id", group_required=True)
    assert plain.agreement is not None and clustered.agreement is not None
    assert clustered.agreement.accuracy.method == "cluster percentile"
    width = lambda e: e.high - e.low  # noqa: E731
    assert width(clustered.agreement.accuracy) > width(plain.agreement.accuracy)
    assert any("cluster bootstrap over 8 groups" in n for n in clustered.notes)
    result = CliRunner().invoke(main, ["meta-eval", str(run), "--group", "prompt", "--bootstrap", "20"])
    assert result.exit_code == 2 and "--group prompt" in result.output and "prompt_id" in result.output
    unknown_by = CliRunner().invoke(main, ["meta-eval", str(run), "--by", "subset", "--bootstrap", "20"])
    assert unknown_by.exit_code == 2 and "--by subset" in unknown_by.output


def test_one_failing_section_becomes_a_note_and_the_rest_of_the_report_stays(tmp_path: Path) -> None:
    plan = [("A", "A", "A")] * 8 + [("B", "A", "A")] * 4
    extra = [{"annotations": [label]} for label, _, _ in plan]  # a single annotator
    run = scripted_run(tmp_path, plan, extra=extra, swap=False)
    result = CliRunner().invoke(main, ["meta-eval", str(run), "--bootstrap", "20"])
    assert result.exit_code == 0, result.output
    assert "accuracy:      0.667" in result.output
    assert "annotator agreement skipped: `annotations` holds one annotator per item" in result.output
    # a section that raises, whatever the error, is named in a note with its reason
    import jurist.meta as meta

    def broken(*_: Any) -> None:
        raise ValueError("the statistic is undefined here")

    original = meta._annotators
    meta._annotators = broken  # type: ignore[assignment]
    try:
        report = evaluate(run)
    finally:
        meta._annotators = original  # type: ignore[assignment]
    assert report.agreement is not None and report.agreement.accuracy.value == pytest.approx(8 / 12)
    assert report.skipped == {"annotator agreement": "ValueError: the statistic is undefined here"}
    assert "note: annotator agreement not computed: ValueError: the statistic is undefined here" in render_meta(report)


def test_the_convention_is_printed_and_written_as_json(tmp_path: Path) -> None:
    run = scripted_run(tmp_path, [("A", "A", "A")] * 9 + [("B", "A", "B")])
    out = tmp_path / "m.json"
    result = CliRunner().invoke(
        main, ["meta-eval", str(run), "--convention", "llmbar", "--bootstrap", "20", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert "Published convention: llmbar" in result.output and "Acc  " in result.output
    written = json.loads(out.read_text())["convention"]
    acc = next(f for f in written["figures"] if f["name"] == "Acc")
    assert acc["estimate"]["value"] == pytest.approx(95.0) and acc["count"] == "19 / 20"


def test_alpaca_eval_win_rate_leaves_failures_out_and_shows_them_counted_as_losses(tmp_path: Path) -> None:
    # one order per item, winners only: 3 B, 6 A, 1 tie and 1 answer with no verdict (a failure)
    winners = ["B", "B", "B", "A", "A", "A", "A", "A", "A", "tie", None]
    run = scripted_run(tmp_path, [("A", w, w) for w in winners], swap=False)
    report = evaluate(run, convention="alpaca_eval")
    shares = [1, 1, 1, 0, 0, 0, 0, 0, 0, 0.5]
    got = figures(report)
    assert got["win rate"] == pytest.approx(100 * 3.5 / 10)
    assert got["win rate, failures as losses"] == pytest.approx(100 * 3.5 / 11)
    assert got["standard error"] == pytest.approx(100 * np.std(shares, ddof=1) / np.sqrt(10))
    assert got["discrete win rate"] == pytest.approx(100 * 3.5 / 10)
    counts = {f.name: f.count for f in report.convention.figures}
    assert counts["discrete win rate"] == "3 won, 6 lost, 1 drawn of 10"
    notes = " ".join(report.convention.notes)
    assert "1 of 11 items have no preference" in notes and "10 of 10 verdicts carry no probabilities" in notes


def test_alpaca_eval_counts_the_judges_probability_of_b_and_half_its_probability_of_a_tie() -> None:
    verdicts = [
        Verdict(id="1", mode="pairwise", outcome=Preference(winner="B", probs={"A": 0.2, "B": 0.7, "tie": 0.1})),
        Verdict(id="2", mode="pairwise", outcome=Preference(winner="A", probs={"A": 0.9, "B": 0.1, "tie": 0.0})),
        Verdict(id="3", mode="pairwise", outcome=Preference(winner="tie")),  # no probabilities: its winner counts, 1/2
    ]
    report = apply_convention("alpaca_eval", verdicts, n_resamples=20)
    got = {f.name: f.estimate.value for f in report.figures}
    assert got["win rate"] == pytest.approx(100 * (0.75 + 0.1 + 0.5) / 3)
    assert got["discrete win rate"] == pytest.approx(100 * 1.5 / 3)
    assert report.notes == [
        "1 of 3 verdicts carry no probabilities: each counts by its winner (1, 1/2 or 0); AlpacaEval's weighted "
        "annotator counts the judge's probability of B"
    ]
