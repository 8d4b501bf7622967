"""docs/cli.md, the reference of every `jurist` command and option, generated from the commands themselves.

    python -m jurist.cli.reference docs/cli.md     # rewrite it (without a path: print it)

tests/unit/test_cli_reference.py fails while the committed file differs from what this prints."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from . import all_commands, main
from .common import BOOTSTRAP_RESAMPLES, RenamedOption

REGENERATE = "python -m jurist.cli.reference docs/cli.md"

INTRO = f"""# Command-line reference

Every option of every `jurist` command, as `jurist COMMAND --help` shows it. This file is generated from the
commands: after changing an option, run `{REGENERATE}`
(a test fails while this file and the commands differ).

One name means one thing in every command that has it:

- `--out` is where the command writes: the run (or audit, or arena) directory, created or resumed, for the commands
  that judge and `import`; the file for `export` and `meta-eval` (its report as JSON).
- `--json` prints the result as JSON on stdout instead of text.
- `--bootstrap N` is the number of resamples of every bootstrap interval, {BOOTSTRAP_RESAMPLES} by default
  everywhere: a percentile 95% interval rests on the resamples beyond each of its ends, {BOOTSTRAP_RESAMPLES // 40}
  of {BOOTSTRAP_RESAMPLES} (200 would leave 5, and the ends would move from one seed to the next).
- The options that say how to judge are one group each, the same in `judge`, `audit` and `arena`: the server's
  (`--model` ... `--max-retries`), the judge's (`--rubric` ... `--no-structured`) and, in `judge` and `arena`, the
  strategies' (`--write-first` ... `--strategy FILE`). Their defaults differ only where a command says why (`audit`
  asks for no rationale: it audits the bare judge).
- `--format` is the format of the command's file: the table `export` writes, the records `import` reads.

Renamed options keep their old spelling, hidden from `--help`; it still works and prints a one-line warning on
stderr (see [the end of this file](#old-spellings)).
"""


def _cell(text: str) -> str:
    """Text for a Markdown table cell: one line, pipes escaped."""
    return " ".join(text.split()).replace("|", "\\|")


def _summary(command: click.Command) -> tuple[str, list[str]]:
    """The first paragraph of the command's help, and the command lines under "Examples:"."""
    text = command.help or ""
    paragraph = " ".join(text.split("\n\n", 1)[0].split())
    examples = text.split("Examples:", 1)[1] if "Examples:" in text else ""
    lines = [line.strip() for line in examples.splitlines() if line.strip() and line.strip() != "\b"]
    joined = "\n".join(lines).replace("\\\n", "\\\n    ")  # continuation lines indented
    return paragraph, joined.splitlines()


def _command(name: str, command: click.Command, parent: click.Context) -> list[str]:
    ctx = click.Context(command, info_name=name, parent=parent)
    paragraph, examples = _summary(command)
    usage = " ".join(["jurist", name, *command.collect_usage_pieces(ctx)])
    lines = [f"## jurist {name}", "", f"`{usage}`", "", paragraph, ""]
    if examples:
        lines += ["```", *examples, "```", ""]
    rows = [p.get_help_record(ctx) for p in command.params if isinstance(p, click.Option)]
    # the help option from the context, not command.get_params: click keeps the first help option it made for a
    # command, and one invoked on its own (a test) made "--help" without the group's "-h"
    rows.append((", ".join(ctx.help_option_names), "Show this message and exit."))
    lines += ["| option | meaning |", "|---|---|"]
    lines += [f"| `{_cell(option)}` | {_cell(meaning)} |" for option, meaning in (r for r in rows if r)]
    return [*lines, ""]


def _old_spellings(commands: dict[str, click.Command]) -> list[str]:
    rows = [
        f"| `jurist {name}` | `{p.opts[0]}` | `{p.new}` |"
        for name, command in commands.items()
        for p in command.params
        if isinstance(p, RenamedOption)
    ]
    return ["## Old spellings", "", "| command | old spelling | use |", "|---|---|---|", *rows, ""]


def render() -> str:
    """docs/cli.md as the commands describe themselves now."""
    root = click.Context(main, info_name="jurist", **main.context_settings)  # -h as well as --help
    commands = all_commands()
    index = "Commands: " + ", ".join(f"[{name}](#jurist-{name})" for name in commands) + "."
    body = [line for name, command in commands.items() for line in _command(name, command, root)]
    for name, group in commands.items():  # a group's commands (`jurist tune data`) after the commands
        if isinstance(group, click.Group):
            parent = click.Context(group, info_name=name, parent=root)
            body += [
                line for sub, command in group.commands.items() for line in _command(f"{name} {sub}", command, parent)
            ]
    return "\n".join([INTRO, index, "", *body, *_old_spellings(commands)])


if __name__ == "__main__":
    text = render()
    if len(sys.argv) > 1:
        Path(sys.argv[1]).write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
