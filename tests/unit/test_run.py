"""Runs end to end with the FakeBackend: the run directory, resuming, the summary and exports."""

from __future__ import annotations

import json
import re

import pandas as pd
import pytest

import jurist
from jurist import BackendError, ConfigError, FakeBackend, InputError, JobOptions, JudgeConfig, RunOptions, Verdict
from jurist.summary import render_summary

from .helpers import first_shown, run, user_text

NO_CACHE = JobOptions(cache=False)
# a record on disk: the envelope, and what was decided under "outcome" (kind, probs and the kind's own fields)
VERDICT_FIELDS = {"id", "outcome", "rationale", "raw", "usage", "latency_s", "error", "item_hash", "judge_fingerprint"}


@pytest.fixture(autouse=True)
def _private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("JURIST_CACHE_DIR", str(tmp_path / "cache"))


def score_script(request):
    """Scores a response "rN ..." with N, and answers nonsense for "broken"."""
    text = user_text(request)
    response = text.split("# Response\n", 1)[1]
    if response.startswith("broken"):
        return "I cannot rate this."
    return json.dumps({"score": response[1], "rationale": f"looks like {response[1]}"})


def point_rows(n=5):
    return [{"id": f"i{k}", "prompt": f"question {k}", "response": f"r{k}", "label": k} for k in range(1, n + 1)]


def read_lines(out):
    return [json.loads(line) for line in (out / "verdicts.jsonl").read_text().splitlines()]


def test_pointwise_run_writes_one_record_per_item(tmp_path):
    out = tmp_path / "run"
    backend = FakeBackend(score_script)
    result = jurist.judge(point_rows(), out=out, config="pointwise", model=backend, options=NO_CACHE)
    assert result.outcome is not None
    assert (result.outcome.total, result.outcome.judged, result.outcome.skipped, result.outcome.failed) == (5, 5, 0, 0)
    records = read_lines(out)
    assert sorted(r["id"] for r in records) == ["i1", "i2", "i3", "i4", "i5"]
    for record in records:
        assert set(record) >= VERDICT_FIELDS and {"kind", "probs"} <= set(record["outcome"])
        assert record["outcome"]["kind"] == "score" and record["outcome"]["score"] == float(record["id"][1])
        assert record["error"] is None
        assert record["rationale"] == f"looks like {record['id'][1]}"
        assert record["raw"] and record["usage"]["calls"] == 1
    config = json.loads((out / "config.json").read_text())
    assert config["judge"]["backend"] == "fake"
    assert config["judge"]["config"]["mode"] == "pointwise"
    assert config["fingerprint"] == records[0]["judge_fingerprint"]
    assert config["items"] == 5
    sessions = (out / "sessions.jsonl").read_text().splitlines()
    assert len(sessions) == 1 and json.loads(sessions[0])["judged"] == 5


def test_pairwise_and_listwise_records(tmp_path):
    def pair_script(request):
        return json.dumps({"winner": "A" if first_shown(request, "good", "bad") == "good" else "B", "rationale": "r"})

    rows = [{"prompt": "p", "response_a": "good", "response_b": "bad", "label": "A"}]
    jurist.judge(rows, out=tmp_path / "pair", config="pairwise", model=FakeBackend(pair_script), options=NO_CACHE)
    (record,) = read_lines(tmp_path / "pair")
    outcome = record["outcome"]
    assert outcome["winner"] == "A" and outcome["consistent"] is True and len(outcome["orders"]) == 2
    assert record["usage"]["calls"] == 2

    rows = [{"prompt": "p", "responses": ["x", "y", "z"], "label": [3, 1, 2]}]
    backend = FakeBackend(['{"ranking": [3, 1, 2], "rationale": "z first"}'])
    jurist.judge(rows, out=tmp_path / "list", config="listwise", model=backend, options=NO_CACHE)
    (record,) = read_lines(tmp_path / "list")
    assert record["outcome"]["ranking"] == [3, 1, 2] and record["label"] == [3, 1, 2]
    assert Verdict.model_validate(record).outcome.best == 3


def test_rerun_skips_judged_items(tmp_path):
    out = tmp_path / "run"
    backend = FakeBackend(score_script)
    jurist.judge(point_rows(), out=out, config="pointwise", model=backend, options=NO_CACHE)
    assert len(backend.requests) == 5
    result = jurist.judge(point_rows(), out=out, config="pointwise", model=backend, options=NO_CACHE)
    assert len(backend.requests) == 5
    assert result.outcome.skipped == 5 and result.outcome.judged == 0
    assert len(read_lines(out)) == 5


def test_changed_item_is_judged_again(tmp_path):
    out = tmp_path / "run"
    backend = FakeBackend(score_script)
    jurist.judge(point_rows(), out=out, config="pointwise", model=backend, options=NO_CACHE)
    rows = point_rows()
    rows[2]["response"] = "r1 (edited)"
    result = jurist.judge(rows, out=out, config="pointwise", model=backend, options=NO_CACHE)
    assert len(backend.requests) == 6
    assert "r1 (edited)" in user_text(backend.requests[-1])
    assert result.outcome.skipped == 4 and result.outcome.judged == 1
    latest = {v.id: v for v in result.verdicts()}
    assert latest["i3"].outcome.score == 1.0  # the new verdict wins
    assert len(result.verdicts()) == 5


def test_new_items_are_added_on_resume(tmp_path):
    out = tmp_path / "run"
    backend = FakeBackend(score_script)
    jurist.judge(point_rows(3), out=out, config="pointwise", model=backend, options=NO_CACHE)
    result = jurist.judge(point_rows(5), out=out, config="pointwise", model=backend, options=NO_CACHE)
    assert len(backend.requests) == 5
    assert result.outcome.skipped == 3 and result.outcome.judged == 2


def test_other_settings_refused_unless_overwrite(tmp_path):
    out = tmp_path / "run"
    backend = FakeBackend(score_script)
    jurist.judge(point_rows(2), out=out, config="pointwise", model=backend, options=NO_CACHE)
    other = JudgeConfig(mode="pointwise", temperature=0.5)
    with pytest.raises(ConfigError) as info:
        jurist.judge(point_rows(2), out=out, config=other, model=backend, options=NO_CACHE)
    assert "temperature" in str(info.value) and "--overwrite" in str(info.value)
    assert len(backend.requests) == 2
    overwrite = JobOptions(cache=False, run=RunOptions(overwrite=True))
    result = jurist.judge(point_rows(2), out=out, config=other, model=backend, options=overwrite)
    assert len(backend.requests) == 4
    assert result.outcome.skipped == 0
    records = read_lines(out)
    assert len(records) == 2
    assert json.loads((out / "config.json").read_text())["judge"]["config"]["temperature"] == 0.5


def test_other_model_is_refused(tmp_path):
    out = tmp_path / "run"
    jurist.judge(point_rows(1), out=out, config="pointwise", model=FakeBackend(score_script), options=NO_CACHE)
    with pytest.raises(ConfigError, match="backend"):
        jurist.judge(
            point_rows(1), out=out, config="pointwise", model=FakeBackend(score_script, name="b"), options=NO_CACHE
        )


def test_torn_last_line_is_ignored_and_repaired(tmp_path):
    out = tmp_path / "run"
    backend = FakeBackend(score_script)
    jurist.judge(point_rows(3), out=out, config="pointwise", model=backend, options=NO_CACHE)
    path = out / "verdicts.jsonl"
    lines = path.read_text().splitlines(keepends=True)
    torn_id = json.loads(lines[-1])["id"]
    path.write_text("".join(lines[:-1]) + lines[-1][:40])  # killed half-way through the last record
    assert len(jurist.open_run(out).verdicts()) == 2  # readable before the repair
    result = jurist.judge(point_rows(3), out=out, config="pointwise", model=backend, options=NO_CACHE)
    assert result.outcome.judged == 1 and result.outcome.skipped == 2
    assert torn_id in user_text(backend.requests[-1]).replace("question ", "i")
    text = path.read_text()
    assert text.endswith("\n")
    assert sorted(r["id"] for r in read_lines(out)) == ["i1", "i2", "i3"]  # every line is whole JSON


def test_corrupt_line_in_the_middle_is_an_error(tmp_path):
    out = tmp_path / "run"
    jurist.judge(point_rows(3), out=out, config="pointwise", model=FakeBackend(score_script), options=NO_CACHE)
    path = out / "verdicts.jsonl"
    lines = path.read_text().splitlines(keepends=True)
    path.write_text(lines[0] + "{garbage\n" + "".join(lines[1:]))
    with pytest.raises(ConfigError, match=r"verdicts.jsonl:2"):
        jurist.open_run(out).verdicts()


def test_failures_are_recorded_and_transient_ones_retried_on_resume(tmp_path):
    out = tmp_path / "run"
    calls = {"n": 0}

    def flaky(request):
        calls["n"] += 1
        text = user_text(request)
        if "r2" in text and calls["n"] < 10:
            return BackendError("HTTP 503: overloaded", status=503, retryable=True, reason="http_503")
        if "r3" in text:
            return BackendError("HTTP 400: bad request", status=400, reason="http_400")
        return score_script(request)

    options = JobOptions(cache=False, limits=jurist.Limits(max_retries=0), run=RunOptions(concurrency=1))
    result = jurist.judge(point_rows(3), out=out, config="pointwise", model=FakeBackend(flaky), options=options)
    assert result.outcome.failed == 2
    summary = result.summary()
    assert summary.failures == {"retries_exhausted": 1, "http_400": 1}
    calls["n"] = 100  # the server has recovered
    backend = FakeBackend(flaky)
    result = jurist.judge(point_rows(3), out=out, config="pointwise", model=backend, options=options)
    assert len(backend.requests) == 1 and "r2" in user_text(backend.requests[0])  # not the permanent failure
    assert result.summary().failures == {"http_400": 1}
    no_retry = JobOptions(cache=False, run=RunOptions(retry_failed=False))
    result = jurist.judge(point_rows(3), out=out, config="pointwise", model=backend, options=no_retry)
    assert result.outcome.judged == 0


def test_fatal_error_stops_the_run_and_keeps_what_was_judged(tmp_path):
    out = tmp_path / "run"

    def script(request):
        if "r3" in user_text(request):
            return BackendError("HTTP 401: bad key", status=401, fatal=True, reason="auth")
        return score_script(request)

    options = JobOptions(cache=False, run=RunOptions(concurrency=1))
    with pytest.raises(BackendError, match="bad key"):
        jurist.judge(point_rows(5), out=out, config="pointwise", model=FakeBackend(script), options=options)
    assert sorted(r["id"] for r in read_lines(out)) == ["i1", "i2"]
    session = json.loads((out / "sessions.jsonl").read_text().splitlines()[-1])
    assert session["interrupted"] is True and session["judged"] == 2


def test_progress_callbacks(tmp_path):
    seen = []
    starts = []
    run(
        jurist.ajudge(
            point_rows(3),
            out=tmp_path / "run",
            config="pointwise",
            model=FakeBackend(score_script),
            options=NO_CACHE,
            on_start=lambda total, skipped: starts.append((total, skipped)),
            on_verdict=lambda v: seen.append(v.id),
        )
    )
    assert starts == [(3, 0)]
    assert sorted(seen) == ["i1", "i2", "i3"]


def test_python_items_are_validated_like_files(tmp_path):
    backend = FakeBackend(score_script)
    with pytest.raises(InputError, match="field 'response': missing"):
        jurist.judge([{"prompt": "p"}], out=tmp_path / "a", config="pointwise", model=backend, options=NO_CACHE)
    duplicate = [{"id": "x", "prompt": "p", "response": "r1"}, {"id": "x", "prompt": "q", "response": "r2"}]
    with pytest.raises(InputError, match="duplicate id 'x'"):
        jurist.judge(duplicate, out=tmp_path / "b", config="pointwise", model=backend, options=NO_CACHE)
    with pytest.raises(InputError, match="no items"):
        jurist.judge([], out=tmp_path / "c", config="pointwise", model=backend, options=NO_CACHE)
    assert backend.requests == []
    mixed = [{"id": 7, "prompt": "p", "response": "r2", "extra": 1}, jurist.Item(id="b", prompt="q", response="r4")]
    result = jurist.judge(mixed, out=tmp_path / "d", config="pointwise", model=backend, options=NO_CACHE)
    assert sorted((v.id, v.outcome.score) for v in result.verdicts()) == [("7", 2.0), ("b", 4.0)]


def test_data_file_with_field_map(tmp_path):
    path = tmp_path / "d.jsonl"
    path.write_text("".join(json.dumps({"q": r["prompt"], "a": r["response"]}) + "\n" for r in point_rows(2)))
    result = jurist.judge(
        path,
        out=tmp_path / "run",
        config="pointwise",
        model=FakeBackend(score_script),
        options=NO_CACHE,
        field_map={"prompt": "q", "response": "a"},
    )
    assert sorted(v.outcome.score for v in result.verdicts()) == [1.0, 2.0]
    assert json.loads((tmp_path / "run" / "config.json").read_text())["data"] == str(path)


# -- summary ----------------------------------------------------------------------------------------------------


def test_pointwise_summary(tmp_path):
    rows = point_rows(5)
    rows[4]["label"] = 4  # the judge says 5: four of five agree exactly, ranks still agree
    rows.append({"id": "bad", "prompt": "q", "response": "broken", "label": 3})
    result = jurist.judge(
        rows, out=tmp_path / "run", config="pointwise", model=FakeBackend(score_script), options=NO_CACHE
    )
    summary = result.summary()
    assert (summary.items, summary.judged, summary.failed) == (6, 6, 1)
    assert summary.failures == {"parse_failure": 1}
    assert summary.labelled == 5
    assert summary.accuracy == pytest.approx(0.8)
    assert summary.spearman == pytest.approx(0.9746794, rel=1e-6)
    assert summary.outcome["mean_score"] == pytest.approx(3.0)
    assert summary.usage.calls == 6
    text = render_summary(summary)
    assert "parse_failure: 1" in text and "accuracy 80.0%" in text and "spearman 0.975" in text


def test_pairwise_summary_consistency_and_accuracy(tmp_path):
    def script(request):
        text = user_text(request)
        if "stubborn" in text:
            return '{"winner": "A", "rationale": "first one"}'  # position-biased: inconsistent
        return json.dumps({"winner": "A" if first_shown(request, "good", "bad") == "good" else "B", "rationale": "r"})

    rows = [
        {"id": "1", "prompt": "p", "response_a": "good", "response_b": "bad", "label": "A"},
        {"id": "2", "prompt": "p", "response_a": "bad", "response_b": "good", "label": "B"},
        {"id": "3", "prompt": "p", "response_a": "bad", "response_b": "good", "label": "A"},
        {"id": "4", "prompt": "stubborn", "response_a": "good", "response_b": "bad", "label": "A"},
    ]
    result = jurist.judge(rows, out=tmp_path / "run", config="pairwise", model=FakeBackend(script), options=NO_CACHE)
    summary = result.summary()
    assert summary.mode == "pairwise" and summary.failed == 0
    assert summary.consistency_n == 4
    assert summary.position_consistency == pytest.approx(0.75)
    assert summary.labelled == 4
    assert summary.accuracy == pytest.approx(0.5)  # 1 and 2 right; 3 wrong; 4 is a tie
    assert summary.outcome == pytest.approx({"A": 0.25, "B": 0.5, "tie": 0.25})
    assert "position consistency  75.0% of 4 swapped pairs" in render_summary(summary)


def test_listwise_summary(tmp_path):
    rows = [
        {"id": "1", "prompt": "p", "responses": ["x", "y", "z"], "label": [2, 1, 3]},
        {"id": "2", "prompt": "p", "responses": ["x", "y", "z"], "label": 1},
    ]
    backend = FakeBackend(['{"ranking": [2, 1, 3], "rationale": "r"}'])
    summary = jurist.judge(rows, out=tmp_path / "run", config="listwise", model=backend, options=NO_CACHE).summary()
    assert summary.labelled == 2
    assert summary.accuracy == pytest.approx(0.5)
    assert summary.kendall == pytest.approx(1.0)


def test_open_run_of_a_folder_that_is_no_run(tmp_path):
    with pytest.raises(ConfigError, match="not a jurist run directory"):
        jurist.open_run(tmp_path)


# -- export -----------------------------------------------------------------------------------------------------


def _judged_run(tmp_path):
    out = tmp_path / "run"
    rows = [*point_rows(3), {"id": "bad", "prompt": "q", "response": "broken"}]
    jurist.judge(rows, out=out, config="pointwise", model=FakeBackend(score_script), options=NO_CACHE)
    return out


def test_to_pandas(tmp_path):
    frame = jurist.open_run(_judged_run(tmp_path)).to_pandas()
    assert isinstance(frame, pd.DataFrame)
    assert len(frame) == 4
    assert {"id", "score", "winner", "rationale", "raw", "latency_s", "error_reason", "label"} <= set(frame.columns)
    by_id = frame.set_index("id")
    assert by_id.loc["i2", "score"] == 2.0
    assert by_id.loc["bad", "error_reason"] == "parse_failure"
    assert json.loads(by_id.loc["bad", "raw"]) == ["I cannot rate this."]


@pytest.mark.parametrize("fmt", ["csv", "parquet", "jsonl"])
def test_export_formats(tmp_path, fmt):
    from jurist.export import export_run

    out = _judged_run(tmp_path)
    target = export_run(out, fmt)
    assert target == out / f"verdicts.export.{fmt}"
    if fmt == "csv":
        frame = pd.read_csv(target)
    elif fmt == "parquet":
        frame = pd.read_parquet(target)
    else:
        frame = pd.DataFrame([json.loads(line) for line in target.read_text().splitlines()])
    assert len(frame) == 4
    assert sorted(frame["id"]) == ["bad", "i1", "i2", "i3"]
    assert dict(zip(frame["id"], frame["score"], strict=True))["i3"] == 3.0


def test_export_cli_to_a_chosen_file(tmp_path):
    from click.testing import CliRunner

    from jurist.cli import main

    out = _judged_run(tmp_path)
    dest = tmp_path / "all.csv"
    result = CliRunner().invoke(main, ["export", str(out), "--format", "csv", "--out", str(dest)])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == str(dest)
    assert len(pd.read_csv(dest)) == 4
    shown = CliRunner().invoke(main, ["show", str(out), "--json"])
    assert shown.exit_code == 0
    assert json.loads(shown.output)["failures"] == {"parse_failure": 1}


def test_unknown_export_format(tmp_path):
    from jurist.export import export_run

    with pytest.raises(ConfigError, match="unknown export format"):
        export_run(_judged_run(tmp_path), "xlsx")  # type: ignore[arg-type]


def test_verdict_lines_are_complete_records(tmp_path):
    out = _judged_run(tmp_path)
    for line in (out / "verdicts.jsonl").read_text().splitlines():
        verdict = jurist.Verdict.model_validate_json(line)
        assert re.fullmatch(r"[0-9a-f]{16}", verdict.item_hash)
