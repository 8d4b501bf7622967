"""Exports: never over a run's own files or an existing file unless asked, the item texts and metadata kept,
and CSV cells that a spreadsheet would run as formulas neutralised."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from click.testing import CliRunner

import jurist
from jurist import FakeBackend, JobOptions
from jurist.cli import main
from jurist.export import export_run

from .helpers import user_text

NO_CACHE = JobOptions(cache=False)


@pytest.fixture(autouse=True)
def _private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("JURIST_CACHE_DIR", str(tmp_path / "cache"))


def rationale_script(request):
    """Scores 3; the rationale is the text after "say:" in the response, so tests choose what the cells hold."""
    response = user_text(request).split("# Response\n", 1)[1].split("\n", 1)[0]
    return json.dumps({"score": "3", "rationale": response.split("say:", 1)[1]})


ROWS = [
    {"id": "plain", "prompt": "What is 2+2?", "response": "say:fine", "group": "g1", "label": 3},
    {"id": "formula", "prompt": "=1+1", "response": 'say:=HYPERLINK("http://x")', "group": "@SUM(A1)"},
    {"id": "dash", "prompt": "-2+3", "response": "say:- a list item", "group": "+cmd", "score": -1},
    {"id": "control", "prompt": "\tTab", "response": "say:\rreturn", "group": "-7.5"},
]


@pytest.fixture
def run_dir(tmp_path):
    out = tmp_path / "run"
    jurist.judge(ROWS, out=out, config="pointwise", model=FakeBackend(rationale_script), options=NO_CACHE)
    return out


def invoke(*args):
    return CliRunner().invoke(main, ["export", *map(str, args)])


# -- 3. where an export may write --------------------------------------------------------------------------------


@pytest.mark.parametrize("own", ["verdicts.jsonl", "config.json", "sessions.jsonl", "run.lock"])
def test_export_refuses_the_runs_own_files_even_with_force(run_dir, own):
    target = run_dir / own
    before = target.read_bytes()
    result = invoke(run_dir, "--format", "jsonl", "--out", target, "--force")
    assert result.exit_code == 2
    assert own in result.output and "Traceback" not in result.output
    assert target.read_bytes() == before


@pytest.mark.parametrize("kind", ["symbolic", "hard"])
def test_export_refuses_a_link_to_the_runs_own_files(run_dir, tmp_path, kind):
    link = tmp_path / "innocent.csv"
    if kind == "symbolic":
        link.symlink_to(run_dir / "verdicts.jsonl")
    else:
        link.hardlink_to(run_dir / "verdicts.jsonl")
    before = (run_dir / "verdicts.jsonl").read_bytes()
    result = invoke(run_dir, "--out", link, "--force")
    assert result.exit_code == 2 and "verdicts.jsonl" in result.output
    assert (run_dir / "verdicts.jsonl").read_bytes() == before


def test_export_refuses_an_existing_file_unless_forced(run_dir, tmp_path):
    target = tmp_path / "mine.csv"
    target.write_text("precious")
    result = invoke(run_dir, "--out", target)
    assert result.exit_code == 2 and "--force" in result.output
    assert target.read_text() == "precious"
    result = invoke(run_dir, "--out", target, "--force")
    assert result.exit_code == 0, result.output
    assert len(pd.read_csv(target)) == 4


def test_export_rewrites_its_default_file_in_the_run(run_dir):
    assert invoke(run_dir).exit_code == 0
    again = invoke(run_dir)
    assert again.exit_code == 0, again.output
    assert again.output.strip() == str(run_dir / "verdicts.export.csv")


def test_export_creates_missing_folders_and_says_so(run_dir, tmp_path):
    target = tmp_path / "new" / "deeper" / "v.parquet"
    result = invoke(run_dir, "--format", "parquet", "--out", target)
    assert result.exit_code == 0, result.output
    assert f"created {tmp_path / 'new' / 'deeper'}" in result.output
    assert len(pd.read_parquet(target)) == 4


def test_export_to_a_folder_is_a_clear_error(run_dir, tmp_path):
    result = invoke(run_dir, "--out", tmp_path, "--force")
    assert result.exit_code == 2 and "folder" in result.output and "Traceback" not in result.output


# -- 4. what an export holds -------------------------------------------------------------------------------------


def test_to_pandas_has_the_texts_and_one_column_per_metadata_key(run_dir):
    frame = jurist.open_run(run_dir).to_pandas().set_index("id")
    assert frame.loc["plain", "prompt"] == "What is 2+2?"
    assert frame.loc["plain", "response"] == "say:fine"
    assert frame.loc["plain", "meta.group"] == "g1"
    # a metadata key named like a verdict column never replaces it
    assert frame.loc["dash", "meta.score"] == -1 and frame.loc["dash", "score"] == 3.0
    bare = jurist.open_run(run_dir).to_pandas(texts=False)
    assert "prompt" not in bare.columns and "response" not in bare.columns
    assert "meta.group" in bare.columns


@pytest.mark.parametrize("fmt", ["csv", "parquet", "jsonl"])
def test_exports_have_the_texts_unless_left_out(run_dir, tmp_path, fmt):
    def read(path):
        if fmt == "csv":
            return pd.read_csv(path)
        if fmt == "parquet":
            return pd.read_parquet(path)
        return pd.DataFrame([json.loads(line) for line in path.read_text().splitlines()])

    full = read(export_run(run_dir, fmt, tmp_path / f"full.{fmt}"))
    bare = read(export_run(run_dir, fmt, tmp_path / f"bare.{fmt}", texts=False))
    if fmt == "jsonl":
        assert full.set_index("id").loc["plain", "item"]["prompt"] == "What is 2+2?"
        assert "item" not in bare.columns
    else:
        assert full.set_index("id").loc["plain", "prompt"] == "What is 2+2?"
        assert full.set_index("id").loc["plain", "meta.group"] == "g1"
        assert "prompt" not in bare.columns and "meta.group" in bare.columns
    result = invoke(run_dir, "--format", fmt, "--out", tmp_path / f"cli.{fmt}", "--no-texts")
    assert result.exit_code == 0, result.output
    assert "prompt" not in read(tmp_path / f"cli.{fmt}").columns


def test_a_run_written_before_texts_were_kept_still_exports(run_dir):
    path = run_dir / "verdicts.jsonl"
    old = [{k: v for k, v in json.loads(line).items() if k != "item"} for line in path.read_text().splitlines()]
    path.write_text("".join(json.dumps(r) + "\n" for r in old))
    frame = jurist.open_run(run_dir).to_pandas()
    assert len(frame) == 4 and "prompt" not in frame.columns
    assert "meta.group" in frame.columns


def test_csv_cells_that_would_run_as_formulas_are_neutralised(run_dir, tmp_path):
    result = invoke(run_dir, "--out", tmp_path / "safe.csv")
    assert result.exit_code == 0, result.output
    safe = pd.read_csv(tmp_path / "safe.csv", keep_default_na=False).set_index("id")
    assert safe.loc["formula", "prompt"] == "'=1+1"
    assert safe.loc["formula", "rationale"] == '\'=HYPERLINK("http://x")'
    assert safe.loc["formula", "meta.group"] == "'@SUM(A1)"
    assert safe.loc["dash", "rationale"] == "'- a list item"
    assert safe.loc["dash", "meta.group"] == "'+cmd"
    assert safe.loc["control", "prompt"] == "'\tTab"
    assert safe.loc["control", "meta.group"] == "-7.5"  # a plain number runs nothing
    assert safe.loc["plain", "rationale"] == "fine"
    numbers = pd.read_csv(tmp_path / "safe.csv").set_index("id")  # numeric columns are left as numbers
    assert numbers.loc["dash", "meta.score"] == -1
    assert numbers["meta.score"].dtype.kind == "f" and numbers["latency_s"].dtype.kind == "f"

    result = invoke(run_dir, "--out", tmp_path / "raw.csv", "--raw-cells")
    assert result.exit_code == 0, result.output
    raw = pd.read_csv(tmp_path / "raw.csv", keep_default_na=False).set_index("id")
    assert raw.loc["formula", "prompt"] == "=1+1" and raw.loc["dash", "meta.group"] == "+cmd"
