"""The CLI's help: every command shows examples, and they use only the command's own options."""

from __future__ import annotations

import shlex

import click
import pytest
from click.testing import CliRunner

from jurist.cli import all_commands, main


def examples(text: str) -> list[list[str]]:
    """The `jurist ...` command lines under "Examples:" (continuation lines joined)."""
    lines = text.split("Examples:", 1)[1].split("Options:", 1)[0].replace("\\\n", " ").splitlines()
    return [shlex.split(line) for line in lines if line.strip().startswith("jurist ")]


@pytest.mark.parametrize("name", sorted(all_commands()))
def test_every_command_has_examples_that_use_real_options(name: str) -> None:
    result = CliRunner().invoke(main, [name, "--help"])
    assert result.exit_code == 0, result.output
    found = examples(result.output)
    assert found, f"`jurist {name} --help` shows no example"
    for words in found:
        command, rest = all_commands()[words[1]], words[2:]
        while isinstance(command, click.Group) and rest and rest[0] in command.commands:  # `jurist tune data`
            command, rest = command.commands[rest[0]], rest[1:]
        known = {o for p in command.params for o in (*p.opts, *p.secondary_opts)}
        unknown = [w for w in rest if w.startswith("--") and w not in known]
        assert not unknown, f"example `{' '.join(words)}` uses {unknown}, which `jurist {words[1]}` lacks"


def test_judge_and_audit_share_their_option_groups() -> None:
    """The same option means the same thing in both: the server and judging options come from one group each."""
    assert isinstance(main, click.Group)
    for group in (
        ["--model", "--base-url", "--api-key-env", "--context-length", "--concurrency", "--rpm", "--tpm"],
        ["--timeout", "--max-retries", "--rubric", "--scale", "--template", "--no-tie", "--temperature", "--rules"],
        ["--no-structured", "--field", "--label-map", "--records"],
    ):
        for flag in group:
            judge, audit = (next(p for p in all_commands()[c].params if flag in p.opts) for c in ("judge", "audit"))
            assert (judge.type.__class__, judge.default) == (audit.type.__class__, audit.default), flag
