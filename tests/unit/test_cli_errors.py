"""Bad input and bad configuration through the CLI: exit code 2, a message that says where and what to do,
no traceback, and no model call (nothing listens at the --base-url, and the run directory is never created)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from click.testing import CliRunner

from jurist.cli import main

from .helpers import PROJECT

OFFLINE = ["--model", "openai:fake", "--base-url", "http://127.0.0.1:9", "--max-retries", "0", "--timeout", "2"]


@pytest.fixture(autouse=True)
def _private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("JURIST_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)


def judge(tmp_path, data, mode="pointwise", *extra):
    out = tmp_path / "run"
    args = ["judge", str(data), "--mode", mode, "--out", str(out), *OFFLINE, "--no-cache", *extra]
    result = CliRunner().invoke(main, args)
    return result, out


def assert_clean_failure(result, out, *needles):
    text = result.output
    assert result.exit_code == 2, text
    assert "Traceback" not in text
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert text.lstrip().startswith("error: ")
    for needle in needles:
        assert needle in text, f"{needle!r} not in {text!r}"
    assert not out.exists(), "the run must stop before anything is judged"
    return text


def jsonl(tmp_path, *lines, name="data.jsonl"):
    path = tmp_path / name
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


GOOD = json.dumps({"prompt": "Name a prime.", "response": "Seven."})


def test_malformed_jsonl_line(tmp_path):
    data = jsonl(tmp_path, GOOD, '{"prompt": "p", "response": ')
    result, out = judge(tmp_path, data)
    text = assert_clean_failure(result, out, f"{data}:2:", "malformed JSON")
    assert "-> each line must be one complete JSON object" in text


def test_missing_field(tmp_path):
    data = jsonl(tmp_path, GOOD, json.dumps({"prompt": "p"}))
    result, out = judge(tmp_path, data)
    assert_clean_failure(result, out, f"{data}:2:", "field 'response'", "missing", "--field response=")


def test_missing_pairwise_field(tmp_path):
    data = jsonl(tmp_path, json.dumps({"prompt": "p", "response_a": "x"}))
    result, out = judge(tmp_path, data, "pairwise")
    assert_clean_failure(result, out, f"{data}:1:", "field 'response_b'", "needed for pairwise")


def test_mistyped_field(tmp_path):
    data = jsonl(tmp_path, GOOD, json.dumps({"id": "x", "prompt": "What is 2+3?", "response": 5}))
    result, out = judge(tmp_path, data)
    assert_clean_failure(result, out, f"{data}:2:", "field 'response'", "must be text", "int", "->")


def test_empty_file(tmp_path):
    data = tmp_path / "empty.jsonl"
    data.write_text("")
    result, out = judge(tmp_path, data)
    assert_clean_failure(result, out, str(data), "no items", "->")


def test_empty_prompt(tmp_path):
    data = jsonl(tmp_path, json.dumps({"prompt": "  ", "response": "x"}))
    result, out = judge(tmp_path, data)
    assert_clean_failure(result, out, f"{data}:1:", "field 'prompt'", "empty", "->")


def test_duplicate_id(tmp_path):
    rows = [{"id": "q1", "prompt": "p", "response": "x"}, {"id": "q1", "prompt": "p", "response": "y"}]
    data = jsonl(tmp_path, *map(json.dumps, rows))
    result, out = judge(tmp_path, data)
    assert_clean_failure(result, out, f"{data}:2:", "field 'id'", "duplicate id 'q1'", "line 1", "->")


def test_unknown_field_in_mapping(tmp_path):
    data = jsonl(tmp_path, GOOD)
    result, out = judge(tmp_path, data, "pointwise", "--field", "question=prompt")
    assert_clean_failure(result, out, "unknown field 'question'", "mappable fields are", "response_a")


def test_malformed_mapping(tmp_path):
    result, out = judge(tmp_path, jsonl(tmp_path, GOOD), "pointwise", "--field", "prompt")
    assert_clean_failure(result, out, "not KEY=COLUMN", "--field prompt=input")


def test_mapping_to_a_column_that_does_not_exist(tmp_path):
    data = jsonl(tmp_path, json.dumps({"instruction": "p", "output": "x"}))
    result, out = judge(tmp_path, data, "pointwise", "--field", "prompt=instruction", "--field", "response=answer")
    assert_clean_failure(result, out, f"{data}:1:", "field 'answer'", "missing", "instruction, output")


def test_mapping_an_optional_field_to_a_column_that_does_not_exist(tmp_path):
    data = jsonl(tmp_path, GOOD)
    result, out = judge(tmp_path, data, "pointwise", "--field", "label=gold")
    assert_clean_failure(result, out, str(data), "['gold']", "does not have", "columns present: prompt, response")


def test_unknown_file_type(tmp_path):
    data = tmp_path / "data.txt"
    data.write_text(GOOD)
    result, out = judge(tmp_path, data)
    assert_clean_failure(result, out, str(data), "unknown file type '.txt'", ".jsonl, .json, .csv, .parquet")


def test_missing_data_file(tmp_path):
    result, out = judge(tmp_path, tmp_path / "nope.jsonl")
    assert_clean_failure(result, out, "nope.jsonl", "no such file")


@pytest.mark.parametrize(
    ("mode", "row", "needle"),
    [
        ("pairwise", {"prompt": "p", "response_a": "x", "response_b": "y", "label": "X"}, "not one of A, B, tie"),
        ("pointwise", {"prompt": "p", "response": "x", "label": "good"}, "not a number"),
        ("listwise", {"prompt": "p", "responses": ["x", "y"], "label": [2, 2]}, "rank every position"),
    ],
)
def test_bad_label(tmp_path, mode, row, needle):
    data = jsonl(tmp_path, json.dumps(row))
    result, out = judge(tmp_path, data, mode)
    assert_clean_failure(result, out, f"{data}:1:", "field 'label'", needle, "->")


def test_bad_label_in_csv_names_the_line(tmp_path):
    data = tmp_path / "pairs.csv"
    data.write_text("prompt,response_a,response_b,label\np,x,y,A\np,x,y,maybe\n")
    result, out = judge(tmp_path, data, "pairwise")
    assert_clean_failure(result, out, f"{data}:3:", "field 'label'", "'maybe'")


def test_text_longer_than_the_context(tmp_path):
    data = jsonl(tmp_path, json.dumps({"id": "long", "prompt": "Summarise.", "response": "word " * 5000}))
    result, out = judge(tmp_path, data, "pointwise", "--context-length", "50")
    assert_clean_failure(result, out, f"{data}:1:", "item 'long'", "context of 50", "->")


def test_only_the_long_item_is_named(tmp_path):
    short = json.dumps({"id": "short", "prompt": "Name a prime.", "response": "Seven."})
    long = json.dumps({"id": "long", "prompt": "Summarise.", "response": "word " * 20000})
    data = jsonl(tmp_path, short, long)
    result, out = judge(tmp_path, data, "pointwise", "--context-length", "8000", "--max-tokens", "100")
    assert_clean_failure(result, out, f"{data}:2:", "item 'long'", "context of 8000 leaves 7900")


def test_messages_keep_brackets_in_names_and_values(tmp_path):
    folder = tmp_path / "runs[a]"
    folder.mkdir()
    data = jsonl(folder, json.dumps({"prompt": "p", "response_a": "x", "response_b": "y", "label": "[/b]"}))
    result, out = judge(tmp_path, data, "pairwise")
    assert_clean_failure(result, out, f"{data}:1:", "'[/b]'")


# -- bad configuration -------------------------------------------------------------------------------------


def test_unknown_rubric(tmp_path):
    result, out = judge(tmp_path, jsonl(tmp_path, GOOD), "pointwise", "--rubric", "kindness")
    assert_clean_failure(result, out, "unknown rubric 'kindness'", "helpfulness")


def test_unknown_model_spec(tmp_path):
    out = tmp_path / "run"
    args = ["judge", str(jsonl(tmp_path, GOOD)), "--mode", "pointwise", "--out", str(out), "--model", "gpt-4"]
    result = CliRunner().invoke(main, [*args, "--no-cache"])
    assert_clean_failure(result, out, "unknown model spec 'gpt-4'", "openai:MODEL")


def test_missing_template_file(tmp_path):
    missing = tmp_path / "judge.toml"
    result, out = judge(tmp_path, jsonl(tmp_path, GOOD), "pointwise", "--template", str(missing))
    assert_clean_failure(result, out, "template file not found", str(missing))


def test_bad_scale(tmp_path):
    result, out = judge(tmp_path, jsonl(tmp_path, GOOD), "pointwise", "--scale", "1-many")
    assert_clean_failure(result, out, "unknown scale '1-many'")


def test_show_and_export_of_a_folder_that_is_no_run(tmp_path):
    for args in (["show", str(tmp_path)], ["export", str(tmp_path)]):
        result = CliRunner().invoke(main, args)
        assert result.exit_code == 2
        assert "not a jurist run directory" in result.output
        assert "Traceback" not in result.output


def test_subprocess_reports_bad_input_without_traceback(tmp_path):
    data = jsonl(tmp_path, GOOD, "not json")
    out = tmp_path / "run"
    env = {"JURIST_CACHE_DIR": str(tmp_path / "cache"), "PATH": "/usr/bin:/bin", "PYTHONPATH": str(PROJECT / "src")}
    args = ["judge", str(data), "--mode", "pointwise", "--out", str(out), *OFFLINE]
    proc = subprocess.run(
        [sys.executable, "-m", "jurist.cli", *args], capture_output=True, text=True, env=env, timeout=60
    )
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert f"{data}:2:" in proc.stderr and "malformed JSON" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not out.exists()
