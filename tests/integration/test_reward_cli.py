"""`jurist reward` from the command line, through the real HTTP backend and the fake server: the table in each
mode, Parquet output, and the run resumed."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from jurist.cli import main
from jurist.testing import FakeOpenAIServer

from .support import make_items, write_jsonl


def _reward(server: FakeOpenAIServer, data: Path, out: Path, *extra: str):  # type: ignore[no-untyped-def]
    args = ["reward", str(data), "--out", str(out), "--model", "openai:small", "--base-url", server.url, "--no-cache"]
    return CliRunner().invoke(main, [*args, *extra])


def _table(out: Path) -> list[dict]:  # type: ignore[type-arg]
    return [json.loads(line) for line in (out / "rewards.jsonl").read_text().splitlines()]


@pytest.mark.parametrize(
    ("mode", "extra", "calls_per_item"),
    [("score", (), 3), ("baseline", (), 6), ("tournament", ("--no-swap",), None)],
)
def test_each_mode_writes_the_table(
    make_server: Callable[..., FakeOpenAIServer], tmp_path: Path, mode: str, extra: tuple[str, ...], calls_per_item
) -> None:
    server = make_server()
    items = make_items("listwise", 4)
    for item in items:
        item["reference"] = "A baseline answer."
    data = write_jsonl(tmp_path / "c.jsonl", items)
    out = tmp_path / "run"
    result = _reward(server, data, out, "--reward-mode", mode, *extra)
    assert result.exit_code == 0, result.output
    rows = _table(out)
    assert len(rows) == 12 and {r["candidate"] for r in rows} == {0, 1, 2}
    assert all(r["error"] is None and r["reward"] is not None for r in rows)
    for item in items:
        mine = [r for r in rows if r["id"] == item["id"]]
        assert sum(r["best"] for r in mine) == 1 and min(r["rank"] for r in mine) == 1
    assert "4 items, 12 candidates: 12 rewarded, 0 failed" in result.output
    if calls_per_item is not None:
        assert f"{calls_per_item:.1f} model calls per item" in result.output
    assert json.loads((out / "config.json").read_text())["reward"]["mode"] == mode


def test_parquet_and_resume(make_server: Callable[..., FakeOpenAIServer], tmp_path: Path) -> None:
    server = make_server()
    data = write_jsonl(tmp_path / "c.jsonl", make_items("listwise", 3))
    out = tmp_path / "run"
    first = _reward(server, data, out, "--format", "parquet", "--normalise", "rank")
    assert first.exit_code == 0, first.output
    frame = pd.read_parquet(out / "rewards.parquet")
    assert len(frame) == 9 and frame["reward"].between(0, 1).all()
    calls = server.state.total
    assert calls == 9
    again = _reward(server, data, out, "--format", "parquet", "--normalise", "rank")
    assert again.exit_code == 0, again.output
    assert "resuming" in again.output and "9 of 9 judgments already made" in " ".join(again.output.split())
    assert server.state.total == calls  # nothing judged again
