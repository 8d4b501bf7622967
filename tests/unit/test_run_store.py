"""The run directory's own files under damage: a lost final newline, corrupt or unreadable files, a full disk,
a second process, and the backend fallbacks recorded in config.json."""

from __future__ import annotations

import errno
import json
import os
import threading

import pytest
from click.testing import CliRunner

import jurist
from jurist import ConfigError, FakeBackend, JobOptions, RunOptions
from jurist.cli import main
from jurist.run import log as log_module
from jurist.run.log import RunHeader, RunStore
from jurist.summary import render_summary

from .helpers import user_text

NO_CACHE = JobOptions(cache=False)


@pytest.fixture(autouse=True)
def _private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("JURIST_CACHE_DIR", str(tmp_path / "cache"))


def score_script(request):
    response = user_text(request).split("# Response\n", 1)[1]
    return json.dumps({"score": response[1], "rationale": "r"})


def rows(n=3):
    return [{"id": f"i{k}", "prompt": f"question {k}", "response": f"r{k}", "label": k} for k in range(1, n + 1)]


def judge(out, backend, n=3, options=NO_CACHE):
    return jurist.judge(rows(n), out=out, config="pointwise", model=backend, options=options)


def ids_on_disk(out):
    return sorted(json.loads(line)["id"] for line in (out / "verdicts.jsonl").read_text().splitlines())


# -- 1. the last record ------------------------------------------------------------------------------------------


def test_a_complete_last_record_without_its_newline_is_kept(tmp_path):
    out = tmp_path / "run"
    backend = FakeBackend(score_script)
    judge(out, backend)
    path = out / "verdicts.jsonl"
    path.write_bytes(path.read_bytes()[:-1])  # `truncate -s -1`: only the final newline is lost
    assert len(jurist.open_run(out).verdicts()) == 3
    result = judge(out, backend)
    assert (result.outcome.skipped, result.outcome.judged) == (3, 0)
    assert len(backend.requests) == 3  # nothing judged again
    assert path.read_text().endswith("}\n")
    assert ids_on_disk(out) == ["i1", "i2", "i3"]  # kept, and every line is whole JSON
    assert len(jurist.open_run(out).verdicts()) == 3


def test_a_last_line_torn_inside_a_character_is_cut_and_judged_again(tmp_path):
    out = tmp_path / "run"
    backend = FakeBackend(lambda r: json.dumps({"score": "2", "rationale": "très bien"}, ensure_ascii=False))
    judge(out, backend)
    path = out / "verdicts.jsonl"
    data = path.read_bytes()
    path.write_bytes(data[: data.rindex("è".encode()) + 1])  # killed between the two bytes of "è"
    assert len(jurist.open_run(out).verdicts()) == 2
    result = judge(out, backend)
    assert (result.outcome.skipped, result.outcome.judged) == (2, 1)
    assert ids_on_disk(out) == ["i1", "i2", "i3"]


# -- 8. damaged files, unwritable directories, a full disk -------------------------------------------------------


def test_a_truncated_config_is_a_clear_error_that_says_what_to_do(tmp_path):
    out = tmp_path / "run"
    backend = FakeBackend(score_script)
    judge(out, backend)
    config = out / "config.json"
    config.write_text(config.read_text()[:25])
    with pytest.raises(ConfigError) as info:
        judge(out, backend)
    message = str(info.value)
    assert str(config) in message and "delete it" in message.lower()
    assert len(backend.requests) == 3
    shown = CliRunner().invoke(main, ["show", str(out)])
    assert shown.exit_code == 2 and "config.json" in shown.output and "Traceback" not in shown.output
    config.unlink()  # what the message says: the verdicts carry their own fingerprint and are reused
    result = judge(out, backend)
    assert result.outcome.skipped == 3 and len(backend.requests) == 3


def test_a_config_that_is_json_but_no_object_is_a_clear_error(tmp_path):
    out = tmp_path / "run"
    judge(out, FakeBackend(score_script))
    (out / "config.json").write_text("[1, 2]")
    with pytest.raises(ConfigError, match=r"config\.json"):
        judge(out, FakeBackend(score_script))
    assert CliRunner().invoke(main, ["export", str(out)]).exit_code == 2


def test_invalid_utf8_inside_the_verdicts_names_the_line(tmp_path):
    out = tmp_path / "run"
    backend = FakeBackend(score_script)
    judge(out, backend)
    path = out / "verdicts.jsonl"
    lines = path.read_bytes().splitlines(keepends=True)
    path.write_bytes(lines[0] + lines[1].replace(b'"r"', b'"\xff\xfe"') + lines[2])
    with pytest.raises(ConfigError, match=r"verdicts.jsonl:2: .*UTF-8"):
        judge(out, backend)
    assert len(backend.requests) == 3
    shown = CliRunner().invoke(main, ["show", str(out)])
    assert shown.exit_code == 2 and "verdicts.jsonl:2" in shown.output and "Traceback" not in shown.output


def test_a_corrupt_sessions_log_is_a_clear_error(tmp_path):
    out = tmp_path / "run"
    backend = FakeBackend(score_script)
    judge(out, backend)
    judge(out, backend)
    sessions = out / "sessions.jsonl"
    first, second = sessions.read_text().splitlines(keepends=True)
    sessions.write_text("{oops\n" + second)
    shown = CliRunner().invoke(main, ["show", str(out)])
    assert shown.exit_code == 2 and "sessions.jsonl:1" in shown.output and "Traceback" not in shown.output
    sessions.write_text(first + second[:10])  # a torn last line (killed while logging) is skipped
    assert jurist.open_run(out).summary().wall_s >= 0


def test_a_run_directory_that_cannot_be_made_is_a_clear_error(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    with pytest.raises(ConfigError) as info:
        judge(blocker / "run", FakeBackend(score_script))
    assert str(blocker / "run") in str(info.value) and "--out" in str(info.value)


def test_a_read_only_run_directory_is_a_clear_error(tmp_path, monkeypatch):
    # Tests run as root, where chmod does not stop a write: the refusal is made by the OS call instead.
    out = tmp_path / "run"
    backend = FakeBackend(score_script)
    judge(out, backend)
    before = (out / "verdicts.jsonl").read_bytes()

    def refuse(*args, **kwargs):
        raise OSError(errno.EROFS, "Read-only file system")

    monkeypatch.setattr(log_module.os, "replace", refuse)
    with pytest.raises(ConfigError) as info:
        judge(out, backend, n=4)
    assert "Read-only file system" in str(info.value) and str(out) in str(info.value)
    assert (out / "verdicts.jsonl").read_bytes() == before
    assert len(backend.requests) == 3


def test_a_full_disk_stops_the_run_keeps_every_verdict_and_the_next_run_resumes(tmp_path, monkeypatch):
    out = tmp_path / "run"
    real_write = os.write
    written = {"records": 0}

    def write(fd, data):
        if data.startswith(b'{"id"'):
            if written["records"] == 2:
                real_write(fd, data[:30])  # part of the record reached the disk before it filled up
                raise OSError(errno.ENOSPC, "No space left on device")
            written["records"] += 1
        return real_write(fd, data)

    monkeypatch.setattr(log_module.os, "write", write)
    options = JobOptions(cache=False, run=RunOptions(concurrency=1))
    with pytest.raises(ConfigError) as info:
        judge(out, FakeBackend(score_script), n=5, options=options)
    message = str(info.value)
    assert "verdicts.jsonl" in message and "No space left" in message and "resume" in message
    assert len(jurist.open_run(out).verdicts()) == 2
    monkeypatch.setattr(log_module.os, "write", real_write)  # space was freed
    backend = FakeBackend(score_script)
    result = judge(out, backend, n=5, options=options)
    assert (result.outcome.skipped, result.outcome.judged) == (2, 3)
    assert ids_on_disk(out) == ["i1", "i2", "i3", "i4", "i5"]


# -- 2. one process per run directory ----------------------------------------------------------------------------


def test_a_second_store_on_the_same_directory_is_refused_while_the_first_is_open(tmp_path):
    out = tmp_path / "run"
    first = RunStore(out)
    first.open(RunHeader(fingerprint="f1"))
    try:
        with pytest.raises(ConfigError) as info:
            RunStore(out).open(RunHeader(fingerprint="f1"))
        message = str(info.value)
        assert "in use by another jurist process" in message and f"pid {os.getpid()}" in message
        assert "--wait" in message
    finally:
        first.close()
    second = RunStore(out)
    second.open(RunHeader(fingerprint="f1"))  # free again once the first is closed
    second.close()


def test_wait_starts_when_the_other_run_ends(tmp_path):
    out = tmp_path / "run"
    holder = RunStore(out)
    holder.open(RunHeader(fingerprint="x"))
    timer = threading.Timer(0.5, holder.close)
    timer.start()
    backend = FakeBackend(score_script)
    options = JobOptions(cache=False, run=RunOptions(wait=True, overwrite=True))
    result = judge(out, backend, options=options)
    timer.join()
    assert result.outcome.judged == 3 and len(backend.requests) == 3


# -- 9. backend fallbacks ----------------------------------------------------------------------------------------


def test_backend_fallbacks_are_recorded_across_sessions_and_summarised(tmp_path):
    out = tmp_path / "run"
    json_object = "response_format json_schema -> json_object (HTTP 500: schema not supported)"
    no_logprobs = "logprobs -> none (HTTP 400: logprobs not supported)"
    backend = FakeBackend(score_script)
    backend.fallbacks = [json_object]  # type: ignore[attr-defined]
    judge(out, backend, n=2)
    config = json.loads((out / "config.json").read_text())
    assert config["fallbacks"] == [json_object]
    fingerprint = config["fingerprint"]

    later = FakeBackend(score_script)  # a later session: another server fallback, the same settings
    later.fallbacks = [no_logprobs, json_object]  # type: ignore[attr-defined]
    result = judge(out, later, n=3)
    assert result.outcome.skipped == 2 and result.outcome.judged == 1
    config = json.loads((out / "config.json").read_text())
    assert config["fallbacks"] == [json_object, no_logprobs]
    assert config["fingerprint"] == fingerprint
    summary = result.summary()
    assert summary.fallbacks == [json_object, no_logprobs]
    text = render_summary(summary)
    assert json_object in text and no_logprobs in text

    judge(out, FakeBackend(score_script), n=3)  # a session without fallbacks keeps the earlier ones
    assert json.loads((out / "config.json").read_text())["fallbacks"] == [json_object, no_logprobs]
