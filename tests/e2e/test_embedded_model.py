"""End to end with the real embedded model (SmolLM2-135M-Instruct via llama.cpp), on a few items only."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("llama_cpp")
pytestmark = pytest.mark.embedded

ROOT = Path(__file__).resolve().parents[2]


def _jurist(*args: str, env_cache: Path) -> subprocess.CompletedProcess[str]:
    env = {"JURIST_CACHE_DIR": str(env_cache), "PATH": "/usr/bin:/bin"}
    return subprocess.run(
        [sys.executable, "-m", "jurist.cli", *args], capture_output=True, text=True, env=env, timeout=600
    )


def test_pairwise_on_the_bundled_example(tmp_path: Path) -> None:
    rows = (ROOT / "examples" / "pairs.jsonl").read_text().splitlines()[:2]
    data = tmp_path / "pairs.jsonl"
    data.write_text("\n".join(rows) + "\n")
    out = tmp_path / "run"
    result = _jurist(
        "judge", str(data), "--mode", "pairwise", "--out", str(out), "--rationale", "none", env_cache=tmp_path / "cache"
    )
    assert result.returncode == 0, result.stderr
    assert "position consistency" in result.stdout
    verdicts = [json.loads(line) for line in (out / "verdicts.jsonl").read_text().splitlines()]
    assert [v["id"] for v in verdicts] == ["capital", "haiku"]
    for v in verdicts:
        assert v["error"] is None
        o = v["outcome"]
        assert o["kind"] == "preference"
        assert len(o["orders"]) == 2 and all(order["winner"] in ("A", "B", "tie") for order in o["orders"])
        assert o["probs"] is not None and abs(sum(o["probs"].values()) - 1) < 1e-6
        assert o["winner"] == max(o["probs"], key=o["probs"].get) or o["consistent"]
        assert len(v["raw"]) == 2 and all(r.startswith("{") for r in v["raw"])
        # The second order reuses the cached system prompt and request: fewer tokens computed than sent.
        assert 0 < v["usage"]["cached_tokens"] < v["usage"]["prompt_tokens"]
    assert json.loads((out / "config.json").read_text())["judge"]["backend"] == "local"


def test_pointwise_scores_with_expected_value(tmp_path: Path) -> None:
    data = tmp_path / "points.jsonl"
    data.write_text(json.dumps({"id": "p1", "prompt": "What is 2 + 2?", "response": "2 + 2 = 4.", "label": 5}) + "\n")
    out = tmp_path / "run"
    result = _jurist(
        "judge", str(data), "--mode", "pointwise", "--out", str(out), "--max-tokens", "24", env_cache=tmp_path / "cache"
    )
    assert result.returncode == 0, result.stderr
    (verdict,) = [json.loads(line) for line in (out / "verdicts.jsonl").read_text().splitlines()]
    assert verdict["error"] is None
    score = verdict["outcome"]
    assert score["score"] in (1, 2, 3, 4, 5) and score["choice"] == str(int(score["score"]))
    assert 1 <= score["expected"] <= 5
    assert abs(sum(score["probs"].values()) - 1) < 1e-6
