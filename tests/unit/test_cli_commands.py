"""The lazy command table (jurist.cli.COMMANDS): every entry loads the command it names, with its summary, and every
command defined in jurist/cli/ is in it."""

from __future__ import annotations

import importlib
import pkgutil
import subprocess
import sys

import click
import pytest
from click.testing import CliRunner

import jurist.cli
from jurist.cli import COMMANDS, all_commands, main


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_each_entry_loads_its_command(name: str) -> None:
    command = main.get_command(click.Context(main), name)
    assert isinstance(command, click.Command) and command.name == name
    assert command.get_short_help_str(limit=200) == COMMANDS[name][2]


def test_no_command_is_left_out() -> None:
    defined: set[str | None] = set()
    for module in pkgutil.iter_modules(jurist.cli.__path__):
        if module.name == "__main__":  # it runs the command line
            continue
        loaded = importlib.import_module(f"jurist.cli.{module.name}")
        for obj in vars(loaded).values():
            if isinstance(obj, click.Command) and getattr(obj.callback, "__module__", None) == loaded.__name__:
                defined.add(obj.name)
    defined.discard("main")
    # a group's commands (`jurist tune data`) are reached through the group
    grouped = {sub for c in all_commands().values() if isinstance(c, click.Group) for sub in c.commands}
    assert defined == set(all_commands()) | grouped


def test_help_lists_the_commands_without_importing_them() -> None:
    code = (
        "import sys; from click.testing import CliRunner; from jurist.cli import main; "
        "out = CliRunner().invoke(main, ['--help']).output; "
        "print(out); print(sorted(m for m in sys.modules if m.startswith('jurist.cli.')))"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    help_text, loaded = proc.stdout.rsplit("\n", 2)[0], proc.stdout.rsplit("\n", 2)[1]
    assert "verify-steps" in help_text and "Judge every item of a data file or benchmark." in help_text
    assert loaded == "[]"


def test_an_unknown_command_is_a_usage_error() -> None:
    result = CliRunner().invoke(main, ["judgee"])
    assert result.exit_code == 2 and "No such command 'judgee'" in result.output


def test_a_command_is_imported_with_the_collector_off_then_frozen() -> None:
    code = (
        "import gc; from click.testing import CliRunner; from jurist.cli import main; "
        "CliRunner().invoke(main, ['judge', '--help']); print(gc.get_freeze_count() > 10_000, gc.isenabled())"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert proc.stdout.split() == ["True", "True"]
