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


# -- options that would be silently ignored ----------------------------------------------------------------

PAIR = json.dumps({"prompt": "Name a prime.", "response_a": "Seven.", "response_b": "Eight."})
LIST = json.dumps({"prompt": "Name a prime.", "responses": ["Seven.", "Eight.", "Nine."]})


@pytest.mark.parametrize(
    ("mode", "extra", "needles"),
    [
        ("pointwise", ["--vote", "mean"], ["--vote", "--jury-rubric"]),
        ("pointwise", ["--aggregate", "mean"], ["--aggregate", "--samples"]),
        ("pointwise", ["--escalate-when", "error"], ["--escalate-when", "--cascade-to"]),
        ("pointwise", ["--escalate-below", "0.9"], ["--escalate-below", "--cascade-to"]),
        ("pointwise", ["--demos-k", "3"], ["--demos-k", "--demos"]),
        ("pointwise", ["--demos-select", "bm25"], ["--demos-select", "--demos"]),
        ("pointwise", ["--demos-embed-model", "gguf:e.gguf"], ["--demos-embed-model", "--demos-select embedding"]),
        (
            "pointwise",
            ["--demos-embed-model", "gguf:e.gguf", "--demos-select", "embedding"],
            ["--demos-select", "--demos"],
        ),
        ("listwise", ["--rank-budget", "5"], ["--rank-budget", "--rank-by adaptive"]),
        ("listwise", ["--rank-budget", "5", "--rank-by", "sort"], ["--rank-budget", "--rank-by adaptive"]),
        ("pointwise", ["--no-swap"], ["--no-swap", "--mode pairwise", "--rank-by"]),
        ("listwise", ["--on-inconsistent", "tie"], ["--on-inconsistent", "--mode pairwise", "--rank-by"]),
        ("pointwise", ["--no-tie"], ["--no-tie", "--mode pairwise"]),
        ("pairwise", ["--scale", "1-10"], ["--scale", "--mode pointwise"]),
    ],
)
def test_an_option_that_would_be_ignored_is_refused(tmp_path, mode, extra, needles):
    data = jsonl(tmp_path, {"pointwise": GOOD, "pairwise": PAIR, "listwise": LIST}[mode])
    result, out = judge(tmp_path, data, mode, *extra)
    text = assert_clean_failure(result, out, *needles, "is ignored without")
    assert "leave it out" in text


@pytest.mark.parametrize(
    "extra",
    [
        ["--vote", "majority"],  # the default value, given explicitly, is still given
        ["--demos-k", "2"],
        ["--escalate-below", "0.75"],
    ],
)
def test_an_option_given_at_its_default_value_is_still_refused(tmp_path, extra):
    result, out = judge(tmp_path, jsonl(tmp_path, GOOD), "pointwise", *extra)
    assert_clean_failure(result, out, extra[0], "is ignored without")


def test_pairwise_options_apply_to_the_pairs_a_ranking_compares(tmp_path):
    # the option check passes: what stops the run is the malformed second line, read after the options are checked
    data = jsonl(tmp_path, LIST, "not json")
    result, out = judge(tmp_path, data, "listwise", "--rank-by", "sort", "--no-swap", "--on-inconsistent", "tie")
    assert_clean_failure(result, out, f"{data}:2:", "malformed JSON")


def audit(tmp_path, data, *extra):
    out = tmp_path / "audit"
    args = ["audit", str(data), "--out", str(out), *OFFLINE, "--no-cache", *extra]
    return CliRunner().invoke(main, args), out


@pytest.mark.parametrize(
    ("extra", "needles"),
    [
        (["--no-tie", "--mode", "pointwise"], ["--no-tie", "--mode pairwise"]),
        (["--scale", "1-10"], ["--scale", "--mode pointwise"]),
        (["--rewrite-tokens", "100"], ["--rewrite-tokens", "--rewrite-model"]),
        (["--answer-tokens", "100"], ["--answer-tokens", "--probe self_preference"]),
        (["--on-inconsistent", "tie", "--mitigation", "delimit"], ["--on-inconsistent", "--mitigation swap"]),
    ],
)
def test_audit_refuses_an_option_that_would_be_ignored(tmp_path, extra, needles):
    data = jsonl(tmp_path, GOOD if "pointwise" in extra else PAIR)
    result, out = audit(tmp_path, data, *extra)
    assert_clean_failure(result, out, *needles, "is ignored without")


def test_audit_takes_on_inconsistent_with_a_combined_swap_mitigation(tmp_path):
    data = jsonl(tmp_path, PAIR, "not json")
    result, out = audit(tmp_path, data, "--on-inconsistent", "tie", "--mitigation", "delimit+swap")
    assert_clean_failure(result, out, f"{data}:2:", "malformed JSON")


def test_audit_offers_no_listwise_mode(tmp_path):
    help_text = " ".join(CliRunner().invoke(main, ["audit", "--help"]).output.split())
    assert "--mode [pairwise|pointwise]" in help_text and "there is no listwise audit" in help_text
    result, out = audit(tmp_path, jsonl(tmp_path, LIST), "--mode", "listwise")
    assert result.exit_code == 2
    assert "'listwise' is not one of" in result.output and "--mode" in result.output
    assert not out.exists()


def arena(tmp_path, *extra):
    answers = jsonl(tmp_path, json.dumps({"id": "q1", "prompt": "Name a prime.", "output": "Seven."}), name="a.jsonl")
    others = jsonl(tmp_path, json.dumps({"id": "q1", "prompt": "Name a prime.", "output": "Eight."}), name="b.jsonl")
    out = tmp_path / "arena"
    args = ["arena", "--system", f"a={answers}", "--system", f"b={others}", "--out", str(out), *OFFLINE, *extra]
    return CliRunner().invoke(main, [*args, "--no-cache"]), out


@pytest.mark.parametrize(
    ("extra", "needles"),
    [
        (["--mode", "pointwise", "--schedule", "all-pairs"], ["--schedule", "--mode pairwise"]),
        (["--mode", "pointwise", "--budget", "10"], ["--budget", "--schedule adaptive"]),
        (["--round-size", "4"], ["--round-size", "--schedule adaptive"]),
        (["--mode", "pointwise", "--no-swap"], ["--no-swap", "--mode pairwise"]),
        (["--scale", "1-10"], ["--scale", "--mode pointwise"]),
        (["--mode", "pointwise", "--no-tie"], ["--no-tie", "--mode pairwise"]),
        (["--mode", "pointwise", "--on-inconsistent", "tie"], ["--on-inconsistent", "--mode pairwise"]),
        (["--vote", "mean"], ["--vote", "--jury-rubric"]),
        (["--escalate-below", "0.9"], ["--escalate-below", "--cascade-to"]),
    ],
)
def test_arena_refuses_an_option_that_would_be_ignored(tmp_path, extra, needles):
    result, out = arena(tmp_path, *extra)
    assert_clean_failure(result, out, *needles, "is ignored without")


# -- --base-url and --api-key-env --------------------------------------------------------------------------


@pytest.mark.parametrize("extra", [["--base-url", "http://127.0.0.1:9"], ["--api-key-env", "MY_KEY"]])
def test_server_options_with_a_model_that_calls_no_server_are_refused(tmp_path, extra):
    out = tmp_path / "run"
    args = ["judge", str(jsonl(tmp_path, GOOD)), "--mode", "pointwise", "--out", str(out), "--model", "local"]
    result = CliRunner().invoke(main, [*args, *extra, "--no-cache"])
    assert_clean_failure(result, out, extra[0], "openai:", "anthropic:", "--model local")


def test_server_options_apply_to_a_cascade_to_an_http_model(tmp_path):
    data = jsonl(tmp_path, GOOD, "not json")
    out = tmp_path / "run"
    args = ["judge", str(data), "--mode", "pointwise", "--out", str(out), "--model", "local", "--no-cache"]
    result = CliRunner().invoke(main, [*args, "--cascade-to", "openai:strong", "--base-url", "http://127.0.0.1:9"])
    assert_clean_failure(result, out, f"{data}:2:", "malformed JSON")  # past the option checks


UNSET = "JURIST_TEST_UNSET_KEY"


@pytest.mark.parametrize("command", ["judge", "audit", "arena"])
def test_an_unset_key_variable_with_a_base_url_is_a_warning_before_any_call(tmp_path, monkeypatch, command):
    monkeypatch.delenv(UNSET, raising=False)
    extra = ["--api-key-env", UNSET, "--limit" if command == "audit" else "--max-retries", "1"]
    if command == "judge":
        result, _ = judge(tmp_path, jsonl(tmp_path, GOOD), "pointwise", "--api-key-env", UNSET)
    elif command == "audit":
        result, _ = audit(tmp_path, jsonl(tmp_path, PAIR), *extra)
    else:
        result, _ = arena(tmp_path, "--api-key-env", UNSET)
    text = result.output
    assert f"warning: --api-key-env names {UNSET}, which is not set" in text, text
    assert "without an API key" in text
    # printed before anything else: before the progress bar and the first (failing) request
    assert text.lstrip().startswith("warning:"), text


def test_a_set_key_variable_gives_no_warning(tmp_path, monkeypatch):
    monkeypatch.setenv(UNSET, "not-a-real-key")
    result, _ = judge(tmp_path, jsonl(tmp_path, GOOD), "pointwise", "--api-key-env", UNSET)
    assert "warning:" not in result.output
    assert "not-a-real-key" not in result.output


def test_an_unset_key_variable_at_the_vendors_url_is_an_error(tmp_path, monkeypatch):
    # no --base-url and no OPENAI_BASE_URL: the vendor needs a key, so the backend refuses to start (no warning)
    monkeypatch.delenv(UNSET, raising=False)
    out = tmp_path / "run"
    args = ["judge", str(jsonl(tmp_path, GOOD)), "--mode", "pointwise", "--out", str(out), "--no-cache"]
    result = CliRunner().invoke(main, [*args, "--model", "openai:gpt-4o", "--api-key-env", UNSET])
    assert_clean_failure(result, out, f"no API key: set {UNSET}")
