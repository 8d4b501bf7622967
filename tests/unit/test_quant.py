"""Quantitative judges (`jurist.quant`, `jurist calibrate-scores`) on runs judged by scripted backends: the human
score is a known linear function of the judge's expected score, so the fitted model must recover it."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

import jurist
from jurist import FakeBackend, GenerateRequest, GenerateResponse, InputError, JudgeConfig
from jurist.cli.calibrate_scores import calibrate_scores
from jurist.quant import ScoreModel, calibrate
from jurist.run.log import read_run

from .helpers import logprob_capable, user_text, with_logprobs

NO_CACHE = jurist.JobOptions(cache=False)
POINTWISE = JudgeConfig(mode="pointwise", rationale="none")


def _expected(i: int) -> tuple[int, dict[str, float]]:
    """Item i's judged label and probabilities: label s with 0.6, the next one up with 0.4 (so expected = s + 0.4)."""
    s = i % 4 + 1
    return s, {str(s): 0.6, str(s + 1): 0.4}


def human(i: int) -> float:
    s, _ = _expected(i)
    return 5.2 - 0.8 * (s + 0.4)  # reversed: the raw score ranks the items backwards


def score_run(tmp_path: Path, n: int = 40, name: str = "scores", failing: frozenset[int] = frozenset()) -> Path:
    items = [
        {"id": f"q{i}", "prompt": f"question {i}", "response": "summary", "label": human(i), "group": f"doc{i // 4}"}
        for i in range(n)
    ]

    def script(request: GenerateRequest) -> GenerateResponse | str:
        i = int(re.search(r"question (\d+)", user_text(request)).group(1))  # type: ignore[union-attr]
        if i in failing:
            return "no score here"
        s, probs = _expected(i)
        return with_logprobs(f'{{"score": "{s}"}}', str(s), probs)

    backend = FakeBackend(script, capabilities=logprob_capable())
    jurist.judge(items, out=tmp_path / name, config=POINTWISE, model=backend, options=NO_CACHE)
    return tmp_path / name


def test_the_fit_recovers_a_linear_relation_held_out(tmp_path: Path) -> None:
    run = score_run(tmp_path, failing=frozenset({3}))
    verdicts = read_run(run).verdicts
    assert any(v.outcome and v.outcome.expected == pytest.approx(1.4) for v in verdicts)  # type: ignore[union-attr]
    result = calibrate(run, ridge_alpha=1e-6, n_resamples=200)
    assert result.verdicts == 40 and result.failed == 1 and result.unlabelled == 0
    assert result.train + result.test == 39
    # 10 documents of 4 items, 3 held out whole: every held-out group is complete (but doc0, which lost q3)
    assert result.split_by == "group" and result.test_groups == 3 and result.test in (11, 12)
    assert result.before.spearman.value == pytest.approx(-1.0)
    assert result.after.spearman.value == pytest.approx(1.0)
    assert result.after.mae.value < 1e-3 < result.before.mae.value
    assert result.spearman_gain.value == pytest.approx(2.0)
    assert result.mae_gain.low > 0
    # the model is the relation: predicting on any expected score gives 5.2 - 0.8 * expected
    assert np.allclose(result.model.predict(verdicts[:2]), [human(0), human(1)], atol=1e-3)
    assert "Spearman gain" in result.render() and "3 held-out groups" in result.render()


def test_apply_round_trip_through_json(tmp_path: Path) -> None:
    run = score_run(tmp_path)
    model_file = tmp_path / "model.json"
    result = CliRunner().invoke(calibrate_scores, [str(run), "--out", str(model_file), "--bootstrap", "50"])
    assert result.exit_code == 0, result.output
    assert "held-out" in result.output
    saved = json.loads(model_file.read_text())
    assert saved["features"][:2] == ["score", "expected"] and "log_length" in saved["features"]
    assert ScoreModel.load(model_file).coef == saved["coef"]
    other = score_run(tmp_path, n=8, name="new", failing=frozenset({5}))
    scored = tmp_path / "scored.jsonl"
    applied = CliRunner().invoke(calibrate_scores, [str(other), "--apply", str(model_file), "--out", str(scored)])
    assert applied.exit_code == 0, applied.output
    assert "7 verdicts scored" in applied.output and "1 failed" in applied.output
    rows = {r["id"]: r for r in map(json.loads, scored.read_text().splitlines())}
    assert rows["q5"]["calibrated"] is None
    assert rows["q2"]["calibrated"] == pytest.approx(human(2), abs=0.1)


def test_a_metadata_field_as_the_human_score(tmp_path: Path) -> None:
    items = [{"id": f"q{i}", "prompt": f"q {i}", "response": "r" * i, "expert": i % 3} for i in range(12)]
    jurist.judge(
        items, out=tmp_path / "r", config=POINTWISE, model=FakeBackend(['{"score": "3"}'] * 12), options=NO_CACHE
    )
    result = calibrate(tmp_path / "r", labels="expert", n_resamples=20)
    assert result.split_by == "item" and result.train + result.test == 12


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--score-field", "nothing"], "no scored verdict has metadata field 'nothing'"),
        ([], "need at least"),
    ],
)
def test_bad_input_exits_2(tmp_path: Path, args: list[str], message: str) -> None:
    run = score_run(tmp_path, n=6)
    result = CliRunner().invoke(calibrate_scores, [str(run), "--out", str(tmp_path / "m.json"), *args])
    assert result.exit_code == 2 and message in result.output
    assert not (tmp_path / "m.json").exists()


def test_a_pairwise_run_or_a_bad_model_exits_2(tmp_path: Path) -> None:
    items = [{"id": "p", "prompt": "x", "response_a": "a", "response_b": "b", "label": "A"}]
    jurist.judge(
        items,
        out=tmp_path / "pairs",
        config=JudgeConfig(mode="pairwise", rationale="none"),
        model=FakeBackend(['{"winner": "A"}'] * 2),
        options=NO_CACHE,
    )
    result = CliRunner().invoke(calibrate_scores, [str(tmp_path / "pairs"), "--out", str(tmp_path / "m.json")])
    assert result.exit_code == 2 and "pairwise run" in result.output
    bad = tmp_path / "bad.json"
    bad.write_text('{"coef": [1]}')
    result = CliRunner().invoke(calibrate_scores, [str(score_run(tmp_path)), "--apply", str(bad), "--out", "x"])
    assert result.exit_code == 2 and "not a score model" in result.output
    with pytest.raises(InputError, match="not a number"):
        jurist_items = [{"id": f"q{i}", "prompt": f"q {i}", "response": "r", "expert": "good"} for i in range(3)]
        jurist.judge(
            jurist_items,
            out=tmp_path / "words",
            config=POINTWISE,
            model=FakeBackend(['{"score": "3"}'] * 3),
            options=NO_CACHE,
        )
        calibrate(tmp_path / "words", labels="expert")
