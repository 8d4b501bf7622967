"""Failures are loud: when more than 2% of the items got no verdict, the run summary and the meta-evaluation open
with a warning, and accuracy is shown both ways (failures left out, and failures counted as wrong)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

import jurist
from jurist import BackendError, FakeBackend, GenerateRequest, JudgeConfig
from jurist.cli import main
from jurist.meta import meta_evaluate, render_meta
from jurist.summary import render_summary, summarize

from .helpers import first_shown, user_text

NO_CACHE = jurist.JobOptions(cache=False, limits=jurist.Limits(max_retries=0))
ONE_ORDER = JudgeConfig(mode="pairwise", swap=False)


def rows(n: int) -> list[dict[str, str]]:
    """Pairs whose label is the response saying "good"; "broken N" in a prompt marks an item the judge fails on."""
    return [
        {
            "id": f"q{i}",
            "prompt": f"question {i}",
            "response_a": "good" if i % 2 else "bad",
            "response_b": "bad" if i % 2 else "good",
            "label": "A" if i % 2 else "B",
        }
        for i in range(n)
    ]


def judge_run(tmp_path: Path, n: int, unparsed: set[int], timeouts: frozenset[int] = frozenset(), **kw) -> Path:
    """A judge that picks "good" (right) on every item except: `unparsed` items get rambling text with no verdict,
    `timeouts` items a timeout."""

    def script(request: GenerateRequest):
        number = int(user_text(request).split("question ", 1)[1].split()[0])
        if number in timeouts:
            return BackendError("timed out", reason="timeout", retryable=False)
        if number in unparsed:
            return "Both answers have some merit; it is hard to say which one the user would prefer."
        return json.dumps({"winner": "A" if first_shown(request, "good", "bad") == "good" else "B"})

    out = tmp_path / "run"
    jurist.judge(rows(n), out=out, config=kw.get("config", ONE_ORDER), model=FakeBackend(script), options=NO_CACHE)
    return out


# -- the run summary ---------------------------------------------------------------------------------------------


def test_summary_opens_with_a_warning_and_shows_accuracy_both_ways(tmp_path):
    # the case, scaled: most verdicts failed to parse, and the few that parsed are all right
    out = judge_run(tmp_path, 40, unparsed=set(range(25)), timeouts=frozenset({25, 26}))
    summary = summarize(out)
    assert (summary.judged, summary.failed, summary.labelled) == (40, 27, 13)
    assert summary.failed_share == pytest.approx(27 / 40)
    assert summary.accuracy == 1.0  # failures left out
    assert summary.labelled_records == 40
    assert summary.accuracy_failures_wrong == pytest.approx(13 / 40)
    text = render_summary(summary)
    first = text.splitlines()[0]
    assert first.startswith("warning")
    assert "27 of 40 items (67.5%) have no verdict (parse_failure: 25, timeout: 2)" in first
    assert "accuracy with them counted as wrong: 32.5%" in first
    assert "accuracy 100.0% (failures left out), 32.5% of 40 with failures counted as wrong" in text


def test_no_warning_at_or_below_two_percent_but_accuracy_still_counts_the_failure(tmp_path):
    summary = summarize(judge_run(tmp_path, 50, unparsed={3}))  # 2.0%: not above the threshold
    text = render_summary(summary)
    assert not any(line.startswith("warning") for line in text.splitlines())
    assert summary.accuracy == 1.0 and summary.accuracy_failures_wrong == pytest.approx(49 / 50)
    assert "accuracy 100.0% (failures left out), 98.0% of 50 with failures counted as wrong" in text


def test_warning_just_above_two_percent(tmp_path):
    text = render_summary(summarize(judge_run(tmp_path, 49, unparsed={3})))  # 1 of 49 = 2.04%
    assert text.startswith("warning    1 of 49 items (2.0%) have no verdict (parse_failure: 1)")


def test_a_clean_run_shows_accuracy_one_way_only(tmp_path):
    summary = summarize(judge_run(tmp_path, 20, unparsed=set()))
    text = render_summary(summary)
    assert summary.failed_share == 0.0 and summary.accuracy_failures_wrong == 1.0
    assert "accuracy 100.0%" in text and "counted as wrong" not in text
    assert not any(line.startswith("warning") for line in text.splitlines())


def test_incomplete_pairs_count_as_missing_verdicts(tmp_path):
    def script(request: GenerateRequest):
        number = int(user_text(request).split("question ", 1)[1].split()[0])
        good_first = first_shown(request, "good", "bad") == "good"
        if number < 4 and not good_first:  # the second order of four items fails to parse
            return "no verdict in here"
        return json.dumps({"winner": "A" if good_first else "B"})

    out = tmp_path / "run"
    jurist.judge(rows(20), out=out, config="pairwise", model=FakeBackend(script), options=NO_CACHE)
    summary = summarize(out)
    assert (summary.failed, summary.incomplete, summary.labelled) == (0, 4, 16)
    assert summary.accuracy_failures_wrong == pytest.approx(16 / 20)
    first = render_summary(summary).splitlines()[0]
    assert "4 of 20 items (20.0%) have no complete verdict (one order failed: 4)" in first
    report = meta_evaluate(out)
    assert (report.failed, report.incomplete, report.labelled_failed) == (0, 4, 4)
    assert report.accuracy_failures_wrong is not None and report.accuracy_failures_wrong.value == pytest.approx(0.8)
    assert render_meta(report).startswith(
        "warning: 4 of 20 items (20.0%) have no complete verdict (one order failed: 4)"
    )


def test_the_show_command_prints_the_warning_first(tmp_path):
    out = judge_run(tmp_path, 20, unparsed=set(range(10)))
    result = CliRunner().invoke(main, ["show", str(out)])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("warning    10 of 20 items (50.0%) have no verdict")


# -- meta-evaluation ---------------------------------------------------------------------------------------------


def test_meta_eval_opens_with_the_warning_and_shows_accuracy_both_ways(tmp_path):
    out = judge_run(tmp_path, 40, unparsed=set(range(25)), timeouts=frozenset({25, 26}))
    report = meta_evaluate(out)
    assert (report.failed, report.incomplete, report.labelled_failed) == (27, 0, 27)
    assert report.failed_share == pytest.approx(27 / 40)
    assert report.agreement is not None and report.agreement.accuracy.value == 1.0  # the 13 that parsed
    estimate = report.accuracy_failures_wrong
    assert estimate is not None and estimate.value == pytest.approx(13 / 40) and estimate.n == 40
    assert estimate.low < 13 / 40 < estimate.high
    lines = render_meta(report).splitlines()
    assert lines[0] == (
        "warning: 27 of 40 items (67.5%) have no verdict (parse_failure: 25, timeout: 2); the figures below leave "
        "them out"
    )
    assert lines[3].startswith("accuracy: 1.000 [1.000, 1.000] on 13 with failures left out; 0.325 [")
    assert lines[3].endswith("on 40 with the 27 failures counted as wrong")


def test_meta_eval_below_the_threshold_has_no_warning_but_both_accuracies(tmp_path):
    report = meta_evaluate(judge_run(tmp_path, 60, unparsed={5}))
    text = render_meta(report)
    assert not any(line.startswith("warning") for line in text.splitlines())
    assert report.accuracy_failures_wrong is not None
    assert report.accuracy_failures_wrong.value == pytest.approx(59 / 60)
    assert "with the 1 failures counted as wrong" in text


def test_meta_eval_without_failures_shows_one_accuracy(tmp_path):
    report = meta_evaluate(judge_run(tmp_path, 20, unparsed=set()))
    assert report.failed_share == 0.0 and report.accuracy_failures_wrong is None
    assert "counted as wrong" not in render_meta(report)


def test_meta_eval_command_prints_the_warning_first(tmp_path):
    out = judge_run(tmp_path, 40, unparsed=set(range(20)))
    result = CliRunner().invoke(main, ["meta-eval", str(out)])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("warning: 20 of 40 items (50.0%) have no verdict")
    assert "0.500 [" in result.output and "with the 20 failures counted as wrong" in result.output
