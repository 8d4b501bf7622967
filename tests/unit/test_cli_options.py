"""One meaning per option name across the commands, and the old spellings of renamed options: each still works,
hidden from --help, with a one-line warning on stderr."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click
import pytest
from click.testing import CliRunner, Result

import jurist
from jurist import FakeBackend
from jurist.cli import all_commands, main
from jurist.cli.common import BOOTSTRAP_RESAMPLES, RenamedOption
from jurist.errors import ConfigError

NO_CACHE = jurist.JobOptions(cache=False)

# Names whose settings differ between commands on purpose, and why.
DIFFERENT_ON_PURPOSE = {
    "--mode": "each command offers the modes it can judge (no listwise audit or arena), judge's has no default",
    "--rationale": "audit audits the bare judge: no rationale by default",
    "--method": "meta-eval's calibration method; rerank's way of reranking (pointwise, pairwise, listwise)",
    "--format": "the format of the command's own file: the table export writes, the records import reads",
}


def visible_options() -> dict[str, dict[str, click.Option]]:
    """Option name -> command -> the option, for the options --help shows."""
    found: dict[str, dict[str, click.Option]] = {}
    for name, command in all_commands().items():
        for param in command.params:
            if isinstance(param, click.Option) and not param.hidden:
                for opt in param.opts:
                    found.setdefault(opt, {})[name] = param
    return found


def settings(option: click.Option) -> tuple[Any, ...]:
    kind = option.type
    choices = tuple(kind.choices) if isinstance(kind, click.Choice) else None
    return (kind.__class__, choices, option.default, option.is_flag, option.multiple)


def test_an_option_name_means_one_thing_in_every_command() -> None:
    clashes = []
    for opt, commands in visible_options().items():
        if opt in DIFFERENT_ON_PURPOSE or opt == "--help":
            continue
        seen = {name: settings(option) for name, option in commands.items()}
        if len(set(seen.values())) > 1:
            clashes.append(f"{opt}: {seen}")
    assert not clashes, "\n".join(clashes)


def test_every_interval_has_the_same_bootstrap_default() -> None:
    bootstrap = visible_options()["--bootstrap"]
    assert set(bootstrap) == {"align", "arena", "audit", "calibrate-scores", "meta-eval", "report"}
    assert {option.default for option in bootstrap.values()} == {BOOTSTRAP_RESAMPLES} == {1000}


@pytest.mark.parametrize(
    "flag",
    [
        *("--model", "--base-url", "--api-key-env", "--context-length", "--adapter", "--concurrency", "--rpm"),
        "--tpm",
        *("--timeout", "--max-retries", "--rubric", "--scale", "--template", "--no-tie", "--on-inconsistent"),
        *("--max-tokens", "--temperature", "--rules", "--no-structured", "--no-cache", "--overwrite", "--seed"),
    ],
)
def test_the_commands_that_judge_share_the_server_and_judge_options(flag: str) -> None:
    commands = visible_options()[flag]
    assert {"judge", "audit", "arena"} <= set(commands), flag
    assert len({settings(commands[c]) for c in ("judge", "audit", "arena")}) == 1, flag


@pytest.mark.parametrize(
    "flag",
    ["--write-first", "--samples", "--aggregate", "--jury-rubric", "--vote", "--cascade-to", "--strategy"],
)
def test_judge_and_arena_share_the_strategy_options(flag: str) -> None:
    commands = visible_options()[flag]
    assert {"judge", "arena"} <= set(commands), flag
    assert settings(commands["judge"]) == settings(commands["arena"]), flag


# -- old spellings ------------------------------------------------------------------------------------------------

OLD_SPELLINGS = {
    ("export", "--to", "--out"),
    ("meta-eval", "--json", "--out"),
    ("meta-eval", "--system", "--system-key"),
}
OLD_SPELLINGS |= {("import", "--by", "--id-field")}


def test_every_old_spelling_is_tested_here_and_hidden_from_help() -> None:
    found = {
        (name, p.opts[0], p.new)
        for name, command in all_commands().items()
        for p in command.params
        if isinstance(p, RenamedOption)
    }
    assert found == OLD_SPELLINGS
    for name, old, new in found:
        shown = CliRunner().invoke(main, [name, "--help"]).output
        assert f"{new} " in shown and f"{old} " not in shown, (name, old)


def pairwise_run(tmp_path: Path) -> Path:
    out = tmp_path / "run"
    rows = [
        {"id": f"q{i}", "prompt": f"question {i}", "response_a": "x", "response_b": "y", "label": "A", "sys": "s1"}
        for i in range(12)  # meta-eval needs 10 labelled verdicts
    ]
    jurist.judge(rows, out=out, config="pairwise", model=FakeBackend('{"winner": "A"}'), options=NO_CACHE)
    return out


def warned(result: Result, old: str, new: str) -> None:
    assert result.stderr.strip().splitlines()[0] == f"warning: {old} is deprecated: use {new}, which means the same"
    assert old not in result.stdout


def test_export_to_still_writes_where_out_would(tmp_path: Path) -> None:
    run = pairwise_run(tmp_path)
    old, new = tmp_path / "old.csv", tmp_path / "new.csv"
    result = CliRunner().invoke(main, ["export", str(run), "--to", str(old)])
    assert result.exit_code == 0, result.output
    warned(result, "--to", "--out")
    assert result.stdout.strip() == str(old)
    assert result.stderr.strip().count("\n") == 0  # one line
    assert CliRunner().invoke(main, ["export", str(run), "--out", str(new)]).exit_code == 0
    assert old.read_text() == new.read_text()


def test_meta_eval_json_still_writes_the_report(tmp_path: Path) -> None:
    run = pairwise_run(tmp_path)
    old, new = tmp_path / "old.json", tmp_path / "new.json"
    result = CliRunner().invoke(main, ["meta-eval", str(run), "--bootstrap", "20", "--json", str(old)])
    assert result.exit_code == 0, result.output
    warned(result, "--json", "--out")
    assert CliRunner().invoke(main, ["meta-eval", str(run), "--bootstrap", "20", "--out", str(new)]).exit_code == 0
    assert json.loads(old.read_text()) == json.loads(new.read_text())


def test_meta_eval_system_still_names_the_system_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[str] = []

    def meta_evaluate(run_dir: Path, options: Any, calibrator: Any = None) -> None:
        seen.append(options.system_key)
        raise ConfigError("stop here")

    monkeypatch.setattr("jurist.meta.meta_evaluate", meta_evaluate)
    old, new = (
        CliRunner().invoke(main, ["meta-eval", str(tmp_path), flag, "sys"]) for flag in ("--system", "--system-key")
    )
    assert old.exit_code == new.exit_code == 2 and "stop here" in old.output and "stop here" in new.output
    assert seen == ["sys", "sys"]
    warned(old, "--system", "--system-key")
    assert "warning" not in new.output


def test_import_by_still_names_the_id_field(tmp_path: Path) -> None:
    decisions = tmp_path / "decisions.jsonl"
    decisions.write_text(json.dumps({"id": "q1", "decision": "A"}) + "\n")
    args = ["import", "llmbar:Natural", "--decisions", str(decisions), "--out", str(tmp_path / "run")]
    result = CliRunner().invoke(main, [*args, "--format", "llmbar", "--by", "idx"])
    # the value reached --id-field: llmbar's records name their own ids, so a custom id field is refused
    assert result.exit_code == 2 and "leave out --id-field" in result.output
    warned(result, "--by", "--id-field")


def test_the_old_and_the_new_spelling_together_are_refused(tmp_path: Path) -> None:
    run = pairwise_run(tmp_path)
    result = CliRunner().invoke(main, ["export", str(run), "--to", str(tmp_path / "a.csv"), "--out", "b.csv"])
    assert result.exit_code == 2
    assert "--to is the old spelling of --out: give --out alone" in result.output
    assert not (tmp_path / "a.csv").exists()
