"""The CI gate: `--fail-under METRIC=VALUE` on `jurist judge` and `jurist meta-eval`, through the CLI against the
fake OpenAI-compatible server (which always answers "A", so the labels set the accuracy): its own exit code, the
failing figure with its interval and the failed items in the message, exit 2 for an unknown or undefined metric."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from jurist.cli import all_commands, main
from jurist.cli.common import EXIT_GATE, FailUnder
from jurist.gate import META_METRICS, SUMMARY_METRICS
from jurist.testing import FakeOpenAIServer

# 10 right (label A), 2 wrong (label B), 1 failed (its answer holds no verdict): accuracy 10/12 = 0.833 with the
# failure left out, 10/13 = 0.769 with it counted as wrong
ROWS = [
    *(
        {"id": f"r{i}", "prompt": f"question {i}", "response_a": "x", "response_b": "y", "label": "A"}
        for i in range(10)
    ),
    *({"id": f"w{i}", "prompt": f"other {i}", "response_a": "x", "response_b": "y", "label": "B"} for i in range(2)),
    {"id": "f0", "prompt": "broken #fault:garbage", "response_a": "x", "response_b": "y", "label": "A"},
]


@pytest.fixture(scope="module")
def server() -> Iterator[FakeOpenAIServer]:
    with FakeOpenAIServer() as fake:
        yield fake


def write(tmp_path: Path, rows: list[dict[str, str]]) -> Path:
    tmp_path.mkdir(exist_ok=True)
    data = tmp_path / "data.jsonl"
    data.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return data


def judge(server: FakeOpenAIServer, tmp_path: Path, *gate: str, rows: list[dict[str, str]] = ROWS) -> Result:
    args = ["judge", str(write(tmp_path, rows)), "--mode", "pairwise", "--no-swap", "--out", str(tmp_path / "run")]
    server_args = ["--model", "openai:fake", "--base-url", server.url, "--max-retries", "0", "--timeout", "10"]
    return CliRunner().invoke(main, [*args, *server_args, *gate])


def test_judge_passes_the_gate_with_exit_0(server: FakeOpenAIServer, tmp_path: Path) -> None:
    result = judge(server, tmp_path, "--fail-under", "accuracy=0.75", "--fail-under", "verdict_share=0.9")
    assert result.exit_code == 0, result.output
    assert "gate passed: accuracy 0.769 >= 0.75 (1 of 13 items failed: counted as wrong in this figure" in result.stderr
    assert "gate passed: verdict_share 0.923 >= 0.9" in result.stderr


def test_judge_gates_the_stricter_accuracy_and_exits_with_its_own_code(
    server: FakeOpenAIServer, tmp_path: Path
) -> None:
    # 0.833 with the failure left out would pass 0.8; counted as wrong it is 0.769, and the gate fails
    result = judge(server, tmp_path, "--fail-under", "accuracy=0.8")
    assert result.exit_code == EXIT_GATE == 4, result.output
    assert "gate failed: accuracy 0.769 < 0.8 (1 of 13 items failed: counted as wrong in this figure)" in (
        result.stderr
    )
    assert "Traceback" not in result.output
    assert (tmp_path / "run").is_dir()  # the run is kept: the same command resumes, or meta-eval reads it


def test_judge_refuses_an_unknown_metric_before_judging(server: FakeOpenAIServer, tmp_path: Path) -> None:
    before = server.stats()["total"]
    result = judge(server, tmp_path, "--fail-under", "bleu=0.5")
    assert result.exit_code == 2
    assert "unknown metric 'bleu'; known: " + ", ".join(SUMMARY_METRICS) in result.output
    assert server.stats()["total"] == before  # no call made


@pytest.mark.parametrize("bad", ["accuracy", "accuracy=high", "=0.5"])
def test_judge_refuses_a_malformed_threshold(server: FakeOpenAIServer, tmp_path: Path, bad: str) -> None:
    result = judge(server, tmp_path, "--fail-under", bad)
    assert result.exit_code == 2 and "--fail-under" in result.output


def test_a_metric_the_data_cannot_give_is_exit_2_before_judging(server: FakeOpenAIServer, tmp_path: Path) -> None:
    before = server.stats()["total"]
    unlabelled = [{k: v for k, v in row.items() if k != "label"} for row in ROWS[:3]]
    result = judge(server, tmp_path, "--fail-under", "accuracy=0.5", rows=unlabelled)
    assert result.exit_code == 2, result.output
    assert "--fail-under accuracy: undefined for this run: no item has a human label" in result.stderr
    other = judge(server, tmp_path / "b", "--fail-under", "mean_score=4")
    assert other.exit_code == 2 and "mean_score: undefined for this run: it needs --mode pointwise" in other.stderr
    one_order = judge(server, tmp_path / "c", "--fail-under", "position_consistency=0.9")
    assert one_order.exit_code == 2 and "--no-swap judges one order only" in one_order.stderr
    assert server.stats()["total"] == before


def test_a_figure_the_run_did_not_give_is_exit_2_after_judging(server: FakeOpenAIServer, tmp_path: Path) -> None:
    # every label the same: no correlation is defined, which only the judged run shows
    rows = [{"id": f"p{i}", "prompt": f"question {i}", "response": "an answer", "label": 3} for i in range(5)]
    tmp_path.mkdir(exist_ok=True)
    data = tmp_path / "points.jsonl"
    data.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    args = ["judge", str(data), "--mode", "pointwise", "--out", str(tmp_path / "run"), "--model", "openai:fake"]
    result = CliRunner().invoke(main, [*args, "--base-url", server.url, "--fail-under", "spearman=0.3"])
    assert result.exit_code == 2, result.output
    assert "spearman: undefined for this run: this pointwise run has no spearman: it needs 3+ items with varied" in (
        result.stderr
    )
    assert "mean_score" in result.stdout  # the summary was printed first


@pytest.fixture
def judged(server: FakeOpenAIServer, tmp_path: Path) -> Path:
    assert judge(server, tmp_path).exit_code == 0
    return tmp_path / "run"


def meta(run: Path, *gate: str) -> Result:
    return CliRunner().invoke(main, ["meta-eval", str(run), "--bootstrap", "200", *gate])


def test_meta_eval_fails_the_gate_with_the_interval_in_the_message(judged: Path) -> None:
    # a judge that always says A agrees with the labels no better than chance: kappa 0
    result = meta(judged, "--fail-under", "accuracy=0.7", "--fail-under", "kappa=0.6")
    assert result.exit_code == EXIT_GATE, result.output
    assert "gate passed: accuracy 0.769 [" in result.stderr  # counted as wrong, with its bootstrap interval
    failed = next(line for line in result.stderr.splitlines() if line.startswith("error: gate failed"))
    assert failed.startswith("error: gate failed: kappa 0.000 [")
    assert "] (95% bootstrap) < 0.6 (1 of 13 items failed (1 of them labelled): left out of this figure)" in failed


def test_meta_eval_passes_the_gate(judged: Path) -> None:
    result = meta(judged, "--fail-under", "accuracy=0.5", "--fail-under", "kappa=-0.5")
    assert result.exit_code == 0, result.output
    assert result.stderr.count("gate passed") == 2


def test_meta_eval_unknown_and_undefined_metrics_are_exit_2(judged: Path) -> None:
    unknown = meta(judged, "--fail-under", "f1=0.5")
    assert unknown.exit_code == 2 and "known: " + ", ".join(META_METRICS) in unknown.output
    undefined = meta(judged, "--fail-under", "spearman=0.5")
    assert undefined.exit_code == 2
    assert "--fail-under spearman: undefined for this run: correlations need pointwise verdicts" in undefined.stderr
    no_swap = meta(judged, "--fail-under", "position_consistency=0.5")
    assert no_swap.exit_code == 2 and "judged in both orders" in no_swap.stderr


def test_both_commands_share_the_one_option() -> None:
    options = {
        name: next(p for p in command.params if p.name == "fail_under")
        for name, command in all_commands().items()
        if any(p.name == "fail_under" for p in command.params)
    }
    assert set(options) == {"judge", "meta-eval"}
    known = {}
    for name, option in options.items():
        assert isinstance(option.type, FailUnder) and option.multiple and option.opts == ["--fail-under"]
        known[name] = option.type.known
    assert known == {"judge": SUMMARY_METRICS, "meta-eval": META_METRICS}


def test_the_exit_code_is_documented_in_both_commands() -> None:
    for command in ("judge", "meta-eval"):
        shown = CliRunner().invoke(main, [command, "--help"]).output
        assert "--fail-under" in shown and "4 a --fail-under threshold was not met" in " ".join(shown.split())


def test_the_gate_from_python(judged: Path) -> None:
    from jurist.api import open_run
    from jurist.errors import ConfigError
    from jurist.gate import check_thresholds
    from jurist.meta import MetaOptions, meta_evaluate

    summary = open_run(judged).summary()
    result = check_thresholds(summary, {"accuracy": 0.8, "verdict_share": 0.5})
    assert not result.ok
    assert result.failed == ["accuracy 0.769 < 0.8 (1 of 13 items failed: counted as wrong in this figure)"]
    assert result.passed[0].startswith("verdict_share 0.923 >= 0.5")
    report = meta_evaluate(judged, MetaOptions(n_resamples=50))
    assert check_thresholds(report, {"accuracy": 0.7}).ok
    with pytest.raises(ConfigError, match="unknown metric 'bleu'"):
        check_thresholds(report, {"bleu": 0.1})
