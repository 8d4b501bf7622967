"""One reader of the JSONL logs jurist appends to (files.read_log): the run's verdicts and sessions and the audit's
model texts agree on what a torn line is, and each says what a damaged line inside the log means."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from jurist.audit.textlog import append_log, read_log
from jurist.backends.replay import llmbar_results
from jurist.data.benchmarks.sources import read_json
from jurist.errors import InputError, RunDirError
from jurist.files import parse_json
from jurist.files import read_log as read_appended
from jurist.run.log import SESSIONS_FILE, SessionRecord, read_sessions


def test_a_torn_last_line_is_left_out_and_a_damaged_line_inside_is_listed_by_its_line(tmp_path: Path) -> None:
    path = tmp_path / "log.jsonl"
    path.write_bytes(b'{"n": 1}\n\n{"n": oops\n{"n": 3}\n{"n": 4')  # line 3 is damaged, the last line torn
    log = read_appended(path, json.loads)
    assert log.records == [{"n": 1}, {"n": 3}]
    assert [number for number, _ in log.damaged] == [3]
    assert log.end == len(b'{"n": 1}\n\n{"n": oops\n{"n": 3}\n')  # where the repair cuts the torn write
    whole = tmp_path / "whole.jsonl"
    whole.write_bytes(b'{"n": 1}\n{"n": 2}')  # a last record without its newline is whole
    assert read_appended(whole, json.loads).records == [{"n": 1}, {"n": 2}]
    assert read_appended(tmp_path / "absent.jsonl", json.loads).records == []


def test_an_audit_text_with_a_unicode_line_separator_reads_back_as_one_record(tmp_path: Path) -> None:
    # json.dumps(ensure_ascii=False) writes U+2028 and U+0085 as they are; str.splitlines() split the record there
    # and the old reader dropped both halves, so the model was asked again on every rerun.
    path = tmp_path / "rewrites.jsonl"
    record = {"key": "k1", "output": "first\u2028second\x85third"}
    append_log(path, record)
    append_log(path, {"key": "k2", "output": "plain"})
    assert read_log(path) == [record, {"key": "k2", "output": "plain"}]


def test_an_audit_log_skips_a_damaged_line_anywhere(tmp_path: Path) -> None:
    path = tmp_path / "answers.jsonl"
    append_log(path, {"key": "a"})
    with path.open("a", encoding="utf-8") as fh:
        fh.write('{"key": "torn')  # killed mid-write; the next run appends to the same line
    append_log(path, {"key": "b"})
    append_log(path, {"key": "c"})
    assert [r["key"] for r in read_log(path)] == ["a", "c"]


def test_a_damaged_session_record_is_named_by_its_line_in_the_file(tmp_path: Path) -> None:
    # The sessions reader used to count only the non-blank lines, so a blank line above the damage made it name
    # the wrong line; the message tells the user to delete that line.
    record = SessionRecord(wall_s=1.0, judged=2).model_dump_json()
    (tmp_path / SESSIONS_FILE).write_text(f"{record}\n\n{{oops\n{record}\n")
    with pytest.raises(RunDirError, match=rf"{SESSIONS_FILE}:3: corrupt session record"):
        read_sessions(tmp_path)
    (tmp_path / SESSIONS_FILE).write_text(f"{record}\n{record[:10]}")  # a torn last line is left out
    assert len(read_sessions(tmp_path)) == 1


def test_every_json_reader_names_the_line_that_does_not_parse(tmp_path: Path) -> None:
    broken = tmp_path / "result.json"
    broken.write_text('[\n{"input": "q",\n "output_1": oops}\n]\n')
    for read in (read_json, llmbar_results):  # llmbar_results said only "cannot read LLMBar results: ..."
        with pytest.raises(InputError, match="malformed JSON at column 14") as info:
            read(broken)
        assert (info.value.file, info.value.line) == (str(broken), 3)


def test_json_nested_too_deeply_names_its_line_or_the_first_and_says_to_flatten() -> None:
    deep = "[" * 5000 + "]" * 5000
    for line, expected in ((7, 7), (None, 1)):
        with pytest.raises(InputError, match="nested too deeply") as info:
            parse_json(deep, file="f.json", hint="unused here", line=line)
        assert info.value.line == expected and "flatten" in str(info.value)
