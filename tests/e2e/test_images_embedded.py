"""The embedded model has no vision: an item with images is refused before any call, with exit code 2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from jurist.cli import main

pytestmark = pytest.mark.embedded


def test_the_embedded_model_refuses_items_with_images(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JURIST_CACHE_DIR", str(tmp_path / "cache"))
    data = tmp_path / "data.jsonl"
    records = [
        {"id": "text-only", "prompt": "Name a prime.", "response": "Seven."},
        {"id": "with-chart", "prompt": "Read the chart.", "response": "Up.", "images": ["https://x.test/c.png"]},
    ]
    data.write_text("".join(json.dumps(r) + "\n" for r in records))
    out = tmp_path / "run"
    result = CliRunner().invoke(
        main, ["judge", str(data), "--mode", "pointwise", "--model", "local", "--out", str(out)]
    )
    assert result.exit_code == 2, result.output
    assert "item 'with-chart' has images" in result.output and f"{data}:2" in result.output
    assert not (out / "verdicts.jsonl").exists()
