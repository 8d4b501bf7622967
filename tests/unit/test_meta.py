"""Meta-evaluation of runs against human labels (`jurist.meta`, `jurist meta-eval`), on runs judged by scripted
backends whose answers are known, so every figure can be checked by hand."""

from __future__ import annotations

import json
import random
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

import jurist
from jurist import FakeBackend, GenerateRequest, GenerateResponse, InputError, JudgeConfig
from jurist.cli import main
from jurist.meta import MetaOptions, fit_calibrator, load_calibrator, meta_evaluate, render_meta
from jurist.run.log import read_run

from .helpers import logprob_capable, user_text, with_logprobs

NO_CACHE = jurist.JobOptions(cache=False)


def _number(request: GenerateRequest) -> int:
    return int(re.search(r"question (\d+)", user_text(request)).group(1))  # type: ignore[union-attr]


def pairwise_run(tmp_path: Path, n: int = 40, right_every: int = 4) -> Path:
    """The judge prefers the response saying "good" (the label), except on every `right_every`-th item, where it
    is wrong with low confidence: 75% accuracy, and confidence that tells right from wrong."""
    items = [
        {
            "id": f"q{i}",
            "prompt": f"question {i}",
            "response_a": "good" if i % 2 else "bad",
            "response_b": "bad" if i % 2 else "good",
            "label": "A" if i % 2 else "B",
        }
        for i in range(n)
    ]

    def script(request: GenerateRequest) -> GenerateResponse:
        i = _number(request)
        text = user_text(request)
        good_first = text.index("good") < text.index("bad")
        wrong = i % right_every == 0
        shown = "A" if good_first != wrong else "B"
        sure = 0.55 if wrong else 0.95
        other = "B" if shown == "A" else "A"
        return with_logprobs(f'{{"winner": "{shown}"}}', shown, {shown: sure, other: 1 - sure})

    backend = FakeBackend(script, capabilities=logprob_capable())
    config = JudgeConfig(mode="pairwise", rationale="none", allow_tie=False)
    jurist.judge(items, out=tmp_path / "pairs", config=config, model=backend, options=NO_CACHE)
    return tmp_path / "pairs"


def test_pairwise_agreement_consistency_calibration_and_selective(tmp_path: Path) -> None:
    report = meta_evaluate(pairwise_run(tmp_path), MetaOptions(n_resamples=200, alphas=[0.05, 0.1, 0.3]))
    assert report.verdicts == report.labelled == 40 and report.failed == 0
    assert report.agreement is not None and report.agreement.accuracy.value == pytest.approx(0.75)
    assert report.agreement.accuracy.low < 0.75 < report.agreement.accuracy.high
    assert report.position_consistency is not None and report.position_consistency.value == 1.0
    assert report.calibration is not None and report.calibration.n == 40
    # 30 confident right answers cannot certify 5% disagreement at delta 0.1 (that takes 45 items); 10% can, and
    # its threshold must leave out the unsure (0.55) wrong answers
    assert report.selective is not None
    assert report.selective[0].threshold is None and "45" in (report.selective[0].note or "")
    strict = report.selective[1]
    assert strict.threshold is not None and strict.threshold > 0.55
    assert strict.coverage == pytest.approx(0.75) and strict.empirical_agreement == 1.0
    text = render_meta(report)
    assert "accuracy:" in text and "Selective evaluation" in text and "position consistency: 1.000" in text


def test_a_calibrator_fitted_on_one_run_applies_to_another(tmp_path: Path) -> None:
    run = pairwise_run(tmp_path)
    before = meta_evaluate(run, MetaOptions(n_resamples=50))
    fitted = fit_calibrator(run, "isotonic")
    fitted.save(tmp_path / "cal.json")
    after = meta_evaluate(run, MetaOptions(n_resamples=50), calibrator=load_calibrator(tmp_path / "cal.json"))
    assert after.calibrated_with == "IsotonicCalibrator"
    assert before.calibration is not None and after.calibration is not None
    assert after.calibration.ece < before.calibration.ece


def pointwise_run(tmp_path: Path) -> Path:
    """Human scores 1-5 over 4 documents x 6 systems; the judge's score follows the human one except for noise."""
    rng = random.Random(1)
    items, judged = [], {}
    for doc in range(4):
        for system in range(6):
            human = rng.randint(1, 5)
            key = f"d{doc}s{system}"
            judged[key] = min(5, max(1, human + rng.choice([-1, 0, 0, 1])))
            items.append(
                {
                    "id": key,
                    "prompt": f"document {key}",
                    "response": "summary",
                    "label": human,
                    "group": f"d{doc}",
                    "system": f"s{system}",
                }
            )

    def script(request: GenerateRequest) -> str:
        key = re.search(r"document (d\ds\d)", user_text(request)).group(1)  # type: ignore[union-attr]
        return f'{{"score": "{judged[key]}"}}'

    jurist.judge(
        items,
        out=tmp_path / "scores",
        config=JudgeConfig(mode="pointwise", rationale="none"),
        model=FakeBackend(script),
        options=NO_CACHE,
    )
    return tmp_path / "scores"


def test_pointwise_correlations_at_three_levels(tmp_path: Path) -> None:
    from scipy.stats import spearmanr

    run = pointwise_run(tmp_path)
    report = meta_evaluate(run, MetaOptions(n_resamples=200))
    assert report.correlation is not None
    spearman = report.correlation.by_method["spearman"]
    _, verdicts = read_run(run)
    expected = spearmanr([v.label for v in verdicts], [v.outcome.score for v in verdicts]).statistic
    assert spearman.item.value == pytest.approx(expected)
    assert spearman.group is not None and spearman.system is not None
    assert report.correlation.n_groups == 4 and report.correlation.n_systems == 6


def test_several_annotators_give_inter_annotator_figures_and_the_alt_test(tmp_path: Path) -> None:
    rng = random.Random(0)
    items = []
    for i in range(60):
        truth = "A" if i % 2 else "B"
        # three annotators who mostly agree with the truth; the judge below always does
        votes = [truth if rng.random() < 0.85 else ("B" if truth == "A" else "A") for _ in range(3)]
        items.append(
            {
                "id": f"q{i}",
                "prompt": f"question {i}",
                "response_a": "x",
                "response_b": "y",
                "label": truth,
                "annotations": votes,
            }
        )
    truths = {f"question {i}": "A" if i % 2 else "B" for i in range(60)}

    def script(request: GenerateRequest) -> str:
        return f'{{"winner": "{truths[f"question {_number(request)}"]}"}}'

    config = JudgeConfig(mode="pairwise", rationale="none", swap=False)
    jurist.judge(items, out=tmp_path / "ann", config=config, model=FakeBackend(script), options=NO_CACHE)
    report = meta_evaluate(tmp_path / "ann", MetaOptions(n_resamples=100))
    assert report.annotators is not None and report.annotators.n_annotators == 3 and report.annotators.n_items == 60
    assert 0.2 < report.annotators.krippendorff_alpha < 0.9
    assert report.alt_test is not None and report.alt_test.passed  # the judge matches the truth the humans follow


def test_runs_without_enough_labels_are_refused(tmp_path: Path) -> None:
    items = [{"id": f"q{i}", "prompt": f"question {i}", "response": "r"} for i in range(12)]
    jurist.judge(
        items,
        out=tmp_path / "nolabels",
        config="pointwise",
        model=FakeBackend(['{"score": "3"}'] * 12),
        options=NO_CACHE,
    )
    with pytest.raises(InputError, match="no verdict in this run has a human label"):
        meta_evaluate(tmp_path / "nolabels")
    few = [{**it, "label": 3} for it in items[:5]]
    jurist.judge(
        few, out=tmp_path / "few", config="pointwise", model=FakeBackend(['{"score": "3"}'] * 5), options=NO_CACHE
    )
    with pytest.raises(InputError, match="at least 10"):
        meta_evaluate(tmp_path / "few")


def test_the_command_prints_the_report_writes_json_and_fails_clearly(tmp_path: Path) -> None:
    run = pairwise_run(tmp_path)
    result = CliRunner().invoke(
        main,
        [
            "meta-eval",
            str(run),
            "--bootstrap",
            "100",
            "--out",
            str(tmp_path / "m.json"),
            "--fit-calibrator",
            str(tmp_path / "c.json"),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "Cohen's kappa" in result.output and "calibrator (temperature) fitted" in result.output
    assert json.loads((tmp_path / "m.json").read_text())["agreement"]["n"] == 40
    assert json.loads((tmp_path / "c.json").read_text())["kind"] == "temperature"
    missing = CliRunner().invoke(main, ["meta-eval", str(tmp_path / "nowhere")])
    assert missing.exit_code == 2 and "error" in missing.output


def test_without_probabilities_swap_consistency_is_the_confidence() -> None:
    from jurist.meta import _confidence
    from jurist.outcomes import Preference
    from jurist.types import Verdict

    agreed = Verdict(id="a", mode="pairwise", outcome=Preference(winner="A", consistent=True))
    split = Verdict(id="b", mode="pairwise", outcome=Preference(winner="tie", consistent=False))
    one_order = Verdict(id="c", mode="pairwise", outcome=Preference(winner="A"))
    with_probs = Verdict(
        id="d", mode="pairwise", outcome=Preference(winner="A", consistent=False, probs={"A": 0.7, "B": 0.3})
    )
    assert [_confidence(v, None) for v in (agreed, split, one_order, with_probs)] == [1.0, 0.5, None, 0.7]
