"""`jurist arena` end to end: the bundled example through the CLI, the real HTTP backend and the fake server."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from click.testing import CliRunner, Result

from jurist.cli import main
from jurist.leaderboard.arena import NULL_MODEL
from jurist.testing import FakeOpenAIServer

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "arena"
SYSTEMS = ("careful", "terse", "rambling")


def _arena(server: FakeOpenAIServer, out: Path, *extra: str) -> Result:
    systems = [arg for name in SYSTEMS for arg in ("--system", f"{name}={EXAMPLE / (name + '.jsonl')}")]
    args = [
        "arena",
        *systems,
        "--out",
        str(out),
        "--model",
        "openai:fake-model",
        "--base-url",
        server.url,
        "--no-cache",
        "--bootstrap",
        "10",
        *extra,
    ]
    # A wide terminal, so that rich does not wrap the table's headers and cells.
    return CliRunner().invoke(main, args, env={"COLUMNS": "160"})


def test_the_bundled_example_against_a_baseline_with_gaming_checks_and_resume(
    server: FakeOpenAIServer, tmp_path: Path
) -> None:
    out = tmp_path / "arena"
    extra = ("--baseline", "careful", "--null-model", "--verbose-variant", "terse")
    result = _arena(server, out, *extra)
    assert result.exit_code == 0, result.output
    systems = {*SYSTEMS, "terse-verbose", NULL_MODEL}
    for name in systems:
        assert name in result.output
    assert "win % vs careful" in result.output
    report = json.loads((out / "arena.json").read_text())
    assert report["scheduled"] == 4 * 8  # four systems against the baseline on eight prompts
    assert report["decided"] + sum(report["failed"].values()) + report["undecided"] == 32
    assert report["null_output"] is not None
    assert server.stats()["total"] == 2 * 32  # both orders of every battle
    with (out / "leaderboard.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    assert {r["system"] for r in rows} == systems
    assert next(r for r in rows if r["system"] == "careful")["bt_score"] == "1000.0000"
    config = json.loads((out / "battles-run" / "config.json").read_text())
    assert config["items"] == 32

    again = _arena(server, out, *extra)
    assert again.exit_code == 0, again.output
    assert server.stats()["total"] == 2 * 32  # resumed: nothing is sent again
    assert "resuming" in again.output


def test_pointwise_mode_grades_each_answer_once(server: FakeOpenAIServer, tmp_path: Path) -> None:
    out = tmp_path / "arena"
    result = _arena(server, out, "--mode", "pointwise")
    assert result.exit_code == 0, result.output
    assert "mean score" in result.output
    report = json.loads((out / "arena.json").read_text())
    assert report["mode"] == "pointwise" and report["scheduled"] == 3 * 8
    assert server.stats()["total"] == 3 * 8
    assert not (out / "battles.jsonl").exists()


def test_an_unknown_verbose_variant_is_refused_before_any_call(server: FakeOpenAIServer, tmp_path: Path) -> None:
    result = _arena(server, tmp_path / "arena", "--verbose-variant", "nobody")
    assert result.exit_code == 2
    assert "--verbose-variant 'nobody' is not one of the systems" in result.output
    assert server.stats()["total"] == 0
