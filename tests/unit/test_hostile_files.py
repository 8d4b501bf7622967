"""Hostile input files through the whole command: strategy files, and the CLI's answer to nasty data and templates
(exit 2, the file and line, no traceback, no model call)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from jurist import ConfigError
from jurist.strategies.tree import load_strategy

from .helpers import PROJECT

# Nothing listens at the base URL: a model call would fail, so exit 2 proves the check came first.
OFFLINE = ["--model", "openai:fake", "--base-url", "http://127.0.0.1:9", "--max-retries", "0", "--timeout", "2"]
GOOD = {"id": "a", "prompt": "Name a prime.", "response": "Seven.", "label": 4}


@pytest.mark.parametrize(
    ("name", "text", "line"),
    [
        ("s.yaml", "kind: jury\njudges: [\n  {kind: judge}\n  {kind: judge}\n", 4),
        ("s.toml", 'kind = "jury"\nvote = \n', 2),
        ("s.json", '{\n "kind": "jury",\n "judges": [}\n', 3),
    ],
)
def test_malformed_strategy_file_names_the_line(tmp_path: Path, name: str, text: str, line: int) -> None:
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(ConfigError) as info:
        load_strategy(path)
    assert f"{path}:{line}" in str(info.value)


def test_strategy_file_with_byte_order_mark_and_bad_utf8(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text("\ufeffkind: self_consistency\nk: 3\n", encoding="utf-8")
    assert load_strategy(path).root.kind == "self_consistency"
    path.write_bytes(b"kind: self_consistency\n# caf\xe9\nk: 3\n")
    with pytest.raises(ConfigError, match=f"{path}:2"):
        load_strategy(path)


def test_deeply_nested_strategy_is_a_config_error(tmp_path: Path) -> None:
    path = tmp_path / "s.json"
    path.write_text('{"kind": "jury", "x": ' + "[" * 5000 + "]" * 5000 + "}")
    with pytest.raises(ConfigError, match="nested"):
        load_strategy(path)


def _nasty_files(tmp_path: Path) -> list[tuple[list[str], str]]:
    """(extra arguments, text expected in stderr) for each nasty input."""
    cases = []
    bad_utf8 = tmp_path / "latin1.csv"
    bad_utf8.write_bytes(b"id,prompt,response\na,p,caf\xe9\n")
    cases.append(([str(bad_utf8)], f"{bad_utf8}:2"))
    deep = tmp_path / "deep.jsonl"
    deep.write_text(json.dumps(GOOD) + '\n{"prompt": "p", "response": "r", "x": ' + "[" * 5000 + "]" * 5000 + "}\n")
    cases.append(([str(deep)], f"{deep}:2"))
    infinite = tmp_path / "inf.jsonl"
    infinite.write_text(json.dumps(GOOD) + '\n{"id": "b", "prompt": "p", "response": "r", "label": Infinity}\n')
    cases.append(([str(infinite)], f"{infinite}:2"))
    off_scale = tmp_path / "off_scale.jsonl"
    off_scale.write_text(json.dumps(GOOD) + "\n" + json.dumps({**GOOD, "id": "b", "label": 999}) + "\n")
    cases.append(([str(off_scale)], f"{off_scale}:2"))
    template = tmp_path / "evil.toml"
    template.write_text(
        'name = "evil"\nmode = "pointwise"\n'
        "user = \"{{ cycler.__init__.__globals__.os.popen('touch PWNED').read() }} {{ response }}\"\n"
    )
    good = tmp_path / "good.jsonl"
    good.write_text(json.dumps(GOOD) + "\n")
    cases.append(([str(good), "--template", str(template)], str(template)))
    return cases


def test_cli_answers_nasty_files_with_exit_2_and_no_traceback(tmp_path: Path) -> None:
    env = {"JURIST_CACHE_DIR": str(tmp_path / "cache"), "PATH": "/usr/bin:/bin", "PYTHONPATH": str(PROJECT / "src")}
    for number, (args, needle) in enumerate(_nasty_files(tmp_path)):
        out = tmp_path / f"run{number}"
        command = [sys.executable, "-m", "jurist.cli", "judge", args[0], "--mode", "pointwise", "--out", str(out)]
        proc = subprocess.run(
            [*command, *args[1:], *OFFLINE], capture_output=True, text=True, env=env, timeout=120, cwd=tmp_path
        )
        assert proc.returncode == 2, proc.stderr
        assert needle in proc.stderr
        assert "Traceback" not in proc.stderr
        assert not (out / "verdicts.jsonl").exists()
    assert not (tmp_path / "PWNED").exists()


def test_replay_file_with_byte_order_mark_loads_and_bad_utf8_names_the_line(tmp_path: Path) -> None:
    from jurist import InputError
    from jurist.backends.replay import load_replay_records

    path = tmp_path / "replay.jsonl"
    record = json.dumps({"texts": ["Name a prime."], "completion": "[[A]]"})
    path.write_text("\ufeff" + record + "\n", encoding="utf-8")
    assert [r.completion for r in load_replay_records(path)] == ["[[A]]"]
    path.write_bytes(record.encode() + b"\n" + record.replace("prime", "caf\xe9").encode("latin-1") + b"\n")
    with pytest.raises(InputError) as info:
        load_replay_records(path)
    assert info.value.line == 2 and "UTF-8" in str(info.value)
