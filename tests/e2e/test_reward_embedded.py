"""`jurist reward` with the real embedded model, on one item of two candidates."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("llama_cpp")
pytestmark = pytest.mark.embedded


def test_score_rewards_from_the_embedded_model(tmp_path: Path) -> None:
    data = tmp_path / "candidates.jsonl"
    item = {"id": "sum", "prompt": "What is 2 + 2?", "responses": ["2 + 2 = 4.", "It is 5."]}
    data.write_text(json.dumps(item) + "\n")
    out = tmp_path / "run"
    env = {"JURIST_CACHE_DIR": str(tmp_path / "cache"), "PATH": "/usr/bin:/bin"}
    result = subprocess.run(
        [sys.executable, "-m", "jurist.cli", "reward", str(data), "--out", str(out), "--rationale", "none"],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr
    rows = [json.loads(line) for line in (out / "rewards.jsonl").read_text().splitlines()]
    assert [r["candidate"] for r in rows] == [0, 1]
    for row in rows:
        assert row["error"] is None
        # the embedded model gives logprobs: the reward is the expected score, strictly inside the 1-5 scale
        assert 1 < row["raw"] < 5 and row["raw"] != round(row["raw"])
    assert sum(r["best"] for r in rows) == 1
