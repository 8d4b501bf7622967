"""jurist recovers published judge figures from the judgments their authors recorded (no model is called), through
the `jurist` command alone: bench/reproduce_cli.py's two commands per judge (`jurist import`, then `jurist meta-eval
--convention NAME --out`), run here in-process, against the published figures the script reads (LLMBar's
statistics.json, the PandaLM repository's figures, AlpacaEval's leaderboard). Replay by text (the `replay:` backend
answering with LLMBar's GPT-4 texts) is checked on the same runs, each order read as LLMBar read it.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections import Counter
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from click.testing import CliRunner

from jurist import JobOptions, JudgeConfig, Verdict, ajudge, conventions, load_items
from jurist.backends.replay import ReplayBackend, llmbar_records
from jurist.cli import main
from jurist.stats import cohen_kappa
from unit.helpers import load_reproduce_bench

PROJECT = Path(__file__).resolve().parents[2]
SHARED_DATA = PROJECT.parent / "shared" / "data"

pytestmark = pytest.mark.skipif(not SHARED_DATA.is_dir(), reason=f"no shared data at {SHARED_DATA}")


load_bench = load_reproduce_bench  # the one loader of bench/reproduce_cli.py, shared with the unit tests


@pytest.fixture(scope="module")
def bench() -> ModuleType:
    return load_bench()


@pytest.fixture
def in_process(monkeypatch: pytest.MonkeyPatch) -> Any:
    """The script's runner, `jurist ARGS` with $JURIST_DATA_DIR on the shared data, in this process."""
    monkeypatch.setenv("JURIST_DATA_DIR", str(SHARED_DATA))

    def run(args: list[str]) -> None:
        result = CliRunner().invoke(main, args)
        assert result.exit_code == 0, result.output

    return run


LLMBAR_RUNS = [
    *((name, "Vanilla_NoRules") for name in ("Natural", "Neighbor", "GPTInst", "GPTOut", "Manual", "MT-Bench")),
    # Processed MT-Bench has no released run with rules.
    *((name, "Vanilla") for name in ("Natural", "Neighbor", "GPTInst", "GPTOut", "Manual")),
]
ALPACA_MODELS = [
    "NullModel",
    "alpaca-7b",
    "alpaca-7b_concise",
    "alpaca-7b_verbose",
    "claude-2.1",
    "gpt-3.5-turbo-1106",
    "gpt-3.5-turbo-1106_concise",
    "gpt-3.5-turbo-1106_verbose",
]


def test_the_script_reproduces_every_released_run(bench: ModuleType) -> None:
    assert sorted(bench.llmbar_runs()) == sorted(LLMBAR_RUNS)
    assert bench.alpaca_models() == ALPACA_MODELS
    assert all((SHARED_DATA / "pandalm_testset" / file).exists() for file in bench.PANDALM_FILES.values())


# -- through the command line ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "strategy"), LLMBAR_RUNS)
def test_llmbar_gpt4_figures_through_the_command_line(
    bench: ModuleType, in_process: Any, name: str, strategy: str, tmp_path: Path
) -> None:
    ours = bench.reproduce(bench.llmbar(name, strategy), in_process, tmp_path)
    published = bench.published_llmbar(name, strategy)
    assert set(published) == {"Acc", "Agr", "Acc, first order", "Acc, swapped order", "both orders right"}
    assert {k: round(ours[k], 2) for k in published} == {k: round(v, 2) for k, v in published.items()}


@pytest.mark.parametrize("judge", ["gpt-3.5-turbo", "pandalm-7b"])
def test_pandalm_judge_scores_through_the_command_line(
    bench: ModuleType, in_process: Any, judge: str, tmp_path: Path
) -> None:
    ours = bench.reproduce(bench.pandalm(judge), in_process, tmp_path)
    published = bench.PANDALM_REPO[judge]
    assert {metric: round(ours[metric], 4) for metric in published} == published


@pytest.mark.parametrize("model", ALPACA_MODELS)
def test_alpaca_eval_win_rates_and_standard_errors_through_the_command_line(
    bench: ModuleType, in_process: Any, model: str, tmp_path: Path
) -> None:
    ours = bench.reproduce(bench.alpaca(model), in_process, tmp_path)
    published = bench.published_alpaca(model)
    for figure in ("win rate", "standard error", "discrete win rate"):
        assert round(ours[figure], 2) == round(published[figure], 2), figure
    report = json.loads((tmp_path / f"alpaca_eval-{model}.meta.json").read_text())["convention"]
    win_rate = next(f for f in report["figures"] if f["name"] == "win rate")
    assert report["items"] == win_rate["estimate"]["n"] == published["n"]  # every row judged, none failed


# -- replay by text ----------------------------------------------------------------------------------------------


async def replay_llmbar(bench: ModuleType, name: str, strategy: str, out: Path) -> list[Verdict]:
    """GPT-4's recorded texts on one LLMBar set, answering jurist's pairwise judge by text (both orders, ties
    allowed)."""
    folder = SHARED_DATA / bench.LLMBAR_SETS[name]
    fields = {"prompt": "input", "response_a": "output_1", "response_b": "output_2", "label": "label"}
    data = load_items(folder / "dataset.json", "pairwise", fields)
    backend = ReplayBackend(llmbar_records(folder / "evaluators" / "GPT-4" / strategy / "result.json"))
    config = JudgeConfig(mode="pairwise", swap=True, allow_tie=True)
    # No response cache: a cache keyed by the backend's name could hand one recording's answers to another.
    result = await ajudge(data, out=out, config=config, model=backend, options=JobOptions(cache=False))
    return result.verdicts()


def recorded_winners_read_back(bench: ModuleType, name: str, strategy: str, verdicts: list[Verdict]) -> int:
    """How many per-order winners jurist read equal LLMBar's own `winner` field."""
    path = SHARED_DATA / bench.LLMBAR_SETS[name] / "evaluators" / "GPT-4" / strategy / "result.json"
    rows = json.loads(path.read_text(encoding="utf-8"))
    by_id = {v.id: v for v in verdicts}
    to_label = {"1": "A", "2": "B"}
    same = 0
    for index, row in enumerate(rows):
        orders = by_id[str(index)].outcome.orders or []
        for order, key in zip(orders, ("swap = False", "swap = True"), strict=True):
            same += order.winner == to_label.get(str(row["results"][0][key]["winner"]), "tie")
    return same


@pytest.mark.parametrize(("name", "strategy"), LLMBAR_RUNS)
def test_llmbar_gpt4_texts_replayed_give_the_published_figures(
    bench: ModuleType, name: str, strategy: str, tmp_path: Path
) -> None:
    verdicts = asyncio.run(replay_llmbar(bench, name, strategy, tmp_path / "run"))
    assert verdicts and all(v.error is None for v in verdicts)
    # every recorded answer read as LLMBar read it
    assert recorded_winners_read_back(bench, name, strategy, verdicts) == 2 * len(verdicts)
    report = conventions.llmbar(verdicts, n_resamples=0)
    ours = {f.name: f.estimate.value for f in [*report.figures, *report.detail]}
    published = bench.published_llmbar(name, strategy)
    assert {k: round(ours[k], 2) for k in published} == {k: round(v, 2) for k, v in published.items()}


# -- the human annotators ----------------------------------------------------------------------------------------


def test_pandalm_inter_annotator_agreement_is_pairwise_cohen_kappa() -> None:
    rows = json.loads((SHARED_DATA / "pandalm_testset" / "testset-v1.json").read_text(encoding="utf-8"))
    ratings = [[int(row[f"annotator{i}"]) for i in (1, 2, 3)] for row in rows]
    kappas = [cohen_kappa([r[a] for r in ratings], [r[b] for r in ratings]) for a, b in ((0, 1), (0, 2), (1, 2))]
    # "... agreement 0.85/0.88/0.86" in ../shared/data/README.md, from PandaLM's README (annotators 1&2, 1&3, 2&3)
    quoted = re.search(
        r"inter-annotator agreement (\d\.\d+)/(\d\.\d+)/(\d\.\d+)", (SHARED_DATA / "README.md").read_text()
    )
    assert quoted is not None
    assert [round(k, 2) for k in kappas] == [float(x) for x in quoted.groups()]
    assert Counter(Counter(r).most_common(1)[0][1] >= 2 for r in ratings) == {True: len(rows)}  # a majority each
