"""The README as a test: every ```python block runs as written, as a script, against the fake OpenAI server
(OPENAI_BASE_URL points the block's `openai:` models at it); the `jurist` commands of the ```bash blocks and of the
inline examples name only subcommands and options that exist, and those that judge `data.jsonl` run."""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from jurist.cli import all_commands, main
from jurist.testing import FakeOpenAIServer

from .support import make_items, records, write_jsonl

README = Path(__file__).resolve().parents[2] / "README.md"
TEXT = README.read_text(encoding="utf-8")
FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.MULTILINE | re.DOTALL)
INLINE = re.compile(r"`(jurist [^`]+)`")
OPTION = re.compile(r"(?<![\w-])--[a-z][a-z0-9-]*")


def blocks(language: str) -> list[str]:
    return [body for lang, body in FENCE.findall(TEXT) if lang == language]


def shell_commands(block: str) -> list[list[str]]:
    """The block's commands as argument lists: continuation lines joined, comments dropped."""
    joined = block.replace("\\\n", " ")
    return [words for line in joined.splitlines() if (words := shlex.split(line, comments=True))]


def jurist_commands() -> list[list[str]]:
    return [words for block in blocks("bash") for words in shell_commands(block) if words[0] == "jurist"]


def command(name: str) -> click.Command:
    assert isinstance(main, click.Group)
    commands = all_commands()
    found = commands.get(name)
    assert found is not None, f"README uses `jurist {name}`, which does not exist; commands: {', '.join(commands)}"
    return found


def options_of(cmd: click.Command) -> set[str]:
    names = {"--help"}
    for param in cmd.params:
        names.update(o for o in (*param.opts, *param.secondary_opts) if o.startswith("--"))
    return names


def judge_options_table() -> str:
    """The table under "The main options of `judge`"."""
    after = TEXT.split("The main options of `judge`", 1)[1]
    return after.split("\n\n", 2)[1]


def test_the_readme_has_the_examples_this_test_reads() -> None:
    assert len(blocks("python")) >= 2
    assert len(jurist_commands()) >= 4
    assert "--rank-budget" in judge_options_table()
    assert len(runnable()) >= 2


@pytest.mark.parametrize("index", range(len(blocks("python"))))
def test_python_block_runs_as_written(index: int, server: FakeOpenAIServer, tmp_path: Path, cache_dir: Path) -> None:
    code = blocks("python")[index]
    write_jsonl(tmp_path / "data.jsonl", make_items("pairwise", 3))
    env = {
        **os.environ,
        "OPENAI_BASE_URL": server.url,
        "OPENAI_API_KEY": "sk-readme-test",
        "JURIST_CACHE_DIR": str(cache_dir),
    }
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, f"README python block {index + 1} failed:\n{code}\n{proc.stderr}"
    assert "sk-readme-test" not in proc.stdout + proc.stderr
    runs = [p for p in (tmp_path / "runs").iterdir()]
    assert runs, "the block judged nothing"
    for run in runs:
        verdicts = records(run)
        assert verdicts and all(v["error"] is None for v in verdicts), run


def named(words: list[str]) -> tuple[str, click.Command]:
    """The command `jurist WORDS...` runs: a group's subcommand where the first word names a group (jurist tune
    data), with the name it is shown under."""
    found = command(words[1])
    if isinstance(found, click.Group) and len(words) > 2 and words[2] in found.commands:
        return f"{words[1]} {words[2]}", found.commands[words[2]]
    return words[1], found


def test_every_jurist_command_in_the_readme_names_options_that_exist() -> None:
    uses: list[tuple[str, click.Command, str, str]] = []  # (name, command, option, where)
    for words in jurist_commands():
        name, cmd = named(words)
        options = [word.split("=", 1)[0] for word in words[2:]]  # --opt=value names --opt
        uses += [(name, cmd, option, " ".join(words)) for option in options if OPTION.fullmatch(option)]
    for example in INLINE.findall(TEXT):
        name, cmd = named(example.split())  # an inline example with no option still names a command that must exist
        uses += [(name, cmd, option, example) for option in OPTION.findall(example)]
    judge = command("judge")
    uses += [("judge", judge, option, "the options table of judge") for option in OPTION.findall(judge_options_table())]
    assert len(uses) > 30
    unknown = [
        f"`jurist {name} {option}` ({where})" for name, cmd, option, where in uses if option not in options_of(cmd)
    ]
    assert not unknown, "README names options that do not exist:\n" + "\n".join(unknown)


def runnable() -> list[list[str]]:
    """The README's `jurist judge` commands on data.jsonl: cheap to run against the fake server."""
    return [words for words in jurist_commands() if words[1] == "judge" and words[2] == "data.jsonl"]


@pytest.mark.parametrize("words", runnable(), ids=lambda words: " ".join(words[:5]))
def test_judge_commands_on_data_jsonl_run(
    words: list[str], server: FakeOpenAIServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    mode = words[words.index("--mode") + 1]
    write_jsonl(tmp_path / "data.jsonl", make_items(mode, 3))
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("OPENAI_BASE_URL", server.url)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-readme-test")
    args = list(words[1:])
    if "--base-url" in args:  # the one change: the example's local server is the fake one
        args[args.index("--base-url") + 1] = server.url
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    out = tmp_path / args[args.index("--out") + 1]
    verdicts = records(out)
    assert len(verdicts) == 3 and all(v["error"] is None for v in verdicts), json.dumps(verdicts)[:500]
