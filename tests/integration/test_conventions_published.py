"""`jurist meta-eval RUN --convention NAME` recovers published judge figures from the run directory alone, on the
authors' recorded judgments (no model is called): LLMBar's GPT-4 Acc and Agr (statistics.json) and the PandaLM
judges' accuracy and macro precision / recall / F1 (the figures of WeOpenML/PandaLM's data/compute_metrics.py)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from types import ModuleType

import pytest
from click.testing import CliRunner

import jurist
from jurist import FakeBackend, JudgeConfig
from jurist.backends import Capabilities
from jurist.cli import main
from jurist.data.benchmarks.pandalm import PREDICTIONS, load_pandalm

from .test_reproduce_published import LLMBAR_RUNS, SHARED_DATA, load_bench, replay_llmbar

pytestmark = pytest.mark.skipif(not SHARED_DATA.is_dir(), reason=f"no shared data at {SHARED_DATA}")


@pytest.fixture(scope="module")
def bench() -> ModuleType:
    return load_bench()


def convention(run: Path, name: str, out: Path) -> dict[str, float]:
    """The convention's figures, by name, as `jurist meta-eval --convention NAME --out FILE` writes them."""
    result = CliRunner().invoke(
        main, ["meta-eval", str(run), "--convention", name, "--bootstrap", "20", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert f"Published convention: {name}" in result.output
    report = json.loads(out.read_text())
    shown = [*report["convention"]["figures"], *report["convention"]["detail"]]
    return {f["name"]: f["estimate"]["value"] for f in shown}


@pytest.mark.parametrize(("name", "strategy"), LLMBAR_RUNS)
def test_llmbar_convention_gives_the_published_statistics(bench: ModuleType, name: str, strategy: str, tmp_path):
    # the texts replayed by a live judge's run, then counted from the run directory by the command line
    asyncio.run(replay_llmbar(bench, name, strategy, tmp_path / "run"))
    ours = convention(tmp_path / "run", "llmbar", tmp_path / "meta.json")
    published = bench.published_llmbar(name, strategy)  # Acc, Agr, each order's accuracy, both orders right
    assert {k: round(ours[k], 2) for k in published} == {k: round(v, 2) for k, v in published.items()}


@pytest.mark.parametrize("judge", list(PREDICTIONS))
def test_pandalm_convention_gives_the_authors_figures(bench: ModuleType, judge: str, tmp_path: Path) -> None:
    folder = SHARED_DATA / "pandalm_testset"
    data = load_pandalm(folder)
    file, key = PREDICTIONS[judge]
    released = {f"pandalm-{row['idx']}": str(row[key]) for row in json.loads((folder / file).read_text())}
    # The released predictions, answered in the judge's place one item after another (one request in flight, one
    # order per item, as PandaLM judged); "garbage" stays unreadable and fails to parse.
    names = {"1": "A", "2": "B", "0": "tie", "Tie": "tie"}
    replies = [
        json.dumps({"winner": names[released[it.id]]}) if released[it.id] in names else released[it.id]
        for it in data.items
    ]
    backend = FakeBackend(replies, capabilities=Capabilities(max_concurrency=1))
    config = JudgeConfig(mode="pairwise", swap=False, allow_tie=True, rationale="none")
    result = jurist.judge(
        data, out=tmp_path / "run", config=config, model=backend, options=jurist.JobOptions(cache=False)
    )
    winners = {v.id: v.decision() for v in result.verdicts()}
    assert all(winners[i] == names[p] for i, p in released.items() if p in names)  # the run holds the release
    ours = convention(tmp_path / "run", "pandalm", tmp_path / "meta.json")
    published = bench.PANDALM_REPO[judge]
    assert {metric: round(ours[metric], 4) for metric in published} == published
