"""The run directory's format (jurist.run.log): written exactly as before, and a directory written by the first
format (no `fallbacks`, verdicts without the item's texts, sessions without `interrupted`) reads and resumes."""

from __future__ import annotations

import json

import pytest

import jurist
from jurist import ConfigError, FakeBackend, JobOptions
from jurist.export import flat_record
from jurist.run.log import RunHeader, read_run, read_sessions, read_verdicts
from jurist.summary import summarize

NO_CACHE = JobOptions(cache=False)
# What each record of the first format held; every field added since has a default.
FIRST_VERDICT_FIELDS = {
    "id", "mode", "score", "choice", "score_expected", "score_probs", "winner", "probs", "consistent", "flagged",
    "orders", "ranking", "best", "rationale", "raw", "usage", "latency_s", "error", "label", "item_hash",
    "judge_fingerprint",
}  # fmt: skip
FIRST_SESSION_FIELDS = {"started", "wall_s", "judged", "failed", "skipped"}


@pytest.fixture(autouse=True)
def _private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("JURIST_CACHE_DIR", str(tmp_path / "cache"))


def rows(n):
    return [{"id": f"i{k}", "prompt": f"question {k}", "response": f"r{k}", "label": k % 5 + 1} for k in range(n)]


def backend():
    return FakeBackend(lambda request: json.dumps({"score": 3, "rationale": "fine"}))


def test_the_files_are_written_as_before(tmp_path):
    out = tmp_path / "run"
    jurist.judge(rows(2), out=out, config="pointwise", model=backend(), options=NO_CACHE)
    text = (out / "config.json").read_text()
    header = json.loads(text)
    assert list(header) == ["judge", "data", "items", "fingerprint", "fallbacks"]
    assert text == json.dumps(header, indent=2)
    (line,) = (out / "sessions.jsonl").read_text().splitlines()
    session = json.loads(line)
    assert list(session) == ["started", "wall_s", "judged", "failed", "skipped", "interrupted", "concurrency"]
    assert line == json.dumps(session)


def to_first_format(out):
    """Rewrite a run directory as the first version of jurist wrote it."""
    config = json.loads((out / "config.json").read_text())
    del config["fallbacks"]
    (out / "config.json").write_text(json.dumps(config, indent=2))
    # flat records (before outcomes), as the JSONL export still writes them
    verdicts = [flat_record(v) for v in read_verdicts(out / "verdicts.jsonl")]
    old = [{k: v for k, v in record.items() if k in FIRST_VERDICT_FIELDS} for record in verdicts]
    (out / "verdicts.jsonl").write_text("".join(json.dumps(record) + "\n" for record in old))
    sessions = [json.loads(line) for line in (out / "sessions.jsonl").read_text().splitlines()]
    old = [{k: v for k, v in record.items() if k in FIRST_SESSION_FIELDS} for record in sessions]
    (out / "sessions.jsonl").write_text("".join(json.dumps(record) + "\n" for record in old))


def test_a_run_directory_of_the_first_format_reads_and_resumes(tmp_path):
    out = tmp_path / "run"
    jurist.judge(rows(3), out=out, config="pointwise", model=backend(), options=NO_CACHE)
    to_first_format(out)
    assert '"item":' not in (out / "verdicts.jsonl").read_text()

    assert '"score":' in (out / "verdicts.jsonl").read_text()
    header, verdicts = read_run(out)
    assert (header.fallbacks, header.items, header.mode, header.backend) == ([], 3, "pointwise", "fake")
    assert all(v.outcome is not None and v.outcome.decision() == "3" for v in verdicts)
    assert sorted(v.id for v in verdicts) == ["i0", "i1", "i2"] and all(v.item is None for v in verdicts)
    assert [s.interrupted for s in read_sessions(out)] == [False]
    summary = summarize(out)
    assert (summary.items, summary.judged, summary.failed, summary.fallbacks) == (3, 3, 0, [])

    again = backend()
    result = jurist.judge(rows(4), out=out, config="pointwise", model=again, options=NO_CACHE)
    assert result.outcome is not None
    assert (result.outcome.skipped, result.outcome.judged) == (3, 1) and len(again.requests) == 1
    config = json.loads((out / "config.json").read_text())
    assert config["fallbacks"] == [] and config["items"] == 4
    assert len(read_sessions(out)) == 2 and summarize(out).judged == 4


def test_a_header_keeps_keys_it_does_not_know_and_adds_none():
    header = RunHeader.model_validate({"judge": {"backend": "x"}, "fingerprint": "f", "written_later": [1]})
    assert header.record() == {"judge": {"backend": "x"}, "fingerprint": "f", "written_later": [1]}
    with_fallbacks = header.model_copy(update={"fallbacks": ["no logprobs"]})
    assert with_fallbacks.record()["fallbacks"] == ["no logprobs"] and with_fallbacks.record()["written_later"] == [1]
    assert RunHeader(imported={"records": 2}).record() == {"import": {"records": 2}}


def test_a_header_of_the_wrong_shape_is_a_clear_error(tmp_path):
    out = tmp_path / "run"
    jurist.judge(rows(1), out=out, config="pointwise", model=backend(), options=NO_CACHE)
    (out / "config.json").write_text(json.dumps({"judge": "fake", "fingerprint": "f"}))
    with pytest.raises(ConfigError, match=r"config.json: this run's configuration is damaged \(judge: "):
        read_run(out)
