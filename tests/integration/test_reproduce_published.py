"""jurist recovers published judge figures from the judgments their authors recorded (no model is called).

The computations are bench/reproduce.py's, which prints the same comparisons as tables. Published figures are read
from the shared data (LLMBar's statistics.json, the AlpacaEval leaderboard, the README's PandaLM agreement) except
the PandaLM judges' scores, which only the PandaLM repository states (see PANDALM_REPO in bench/reproduce.py).
"""

from __future__ import annotations

import asyncio
import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

PROJECT = Path(__file__).resolve().parents[2]
SHARED_DATA = PROJECT.parent / "shared" / "data"

pytestmark = pytest.mark.skipif(not SHARED_DATA.is_dir(), reason=f"no shared data at {SHARED_DATA}")


def load_bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("reproduce", PROJECT / "bench" / "reproduce.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # pydantic resolves the module's annotations through sys.modules
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def bench() -> ModuleType:
    return load_bench()


LLMBAR_RUNS = [
    *((name, "Vanilla_NoRules") for name in ("Natural", "Neighbor", "GPTInst", "GPTOut", "Manual", "MT-Bench")),
    # Processed MT-Bench has no released run with rules.
    *((name, "Vanilla") for name in ("Natural", "Neighbor", "GPTInst", "GPTOut", "Manual")),
]


@pytest.mark.parametrize(("name", "strategy"), LLMBAR_RUNS)
def test_llmbar_gpt4_acc_and_agr_through_the_pairwise_judge(bench: ModuleType, name: str, strategy: str, tmp_path):
    verdicts = asyncio.run(bench.replay_llmbar(name, strategy, tmp_path / "run"))
    assert verdicts and all(v.error is None for v in verdicts)
    same, total = bench.recorded_winners_read_back(name, strategy, verdicts)
    assert same == total == 2 * len(verdicts)  # every recorded answer read as LLMBar read it
    ours = bench.llmbar_figures(verdicts)
    published = bench.published_llmbar(name, strategy)
    for figure in ("acc", "agr", "acc_first", "acc_second"):
        assert round(getattr(ours, figure), 2) == round(getattr(published, figure), 2), figure


def test_pandalm_inter_annotator_agreement_is_pairwise_cohen_kappa(bench: ModuleType):
    kappas = bench.pandalm_kappas()
    quoted = bench.pandalm_readme_kappas()  # annotators 1&2, 1&3, 2&3
    assert [round(kappas[pair], 2) for pair in ((1, 2), (1, 3), (2, 3))] == quoted


@pytest.mark.parametrize("judge", ["gpt-3.5-turbo", "pandalm-7b"])
def test_pandalm_judge_scores_against_the_majority_label(bench: ModuleType, judge: str):
    ours = bench.pandalm_judge_scores(judge)
    published = bench.PANDALM_REPO[judge]
    assert {metric: round(ours[metric], 4) for metric in published} == published


def test_alpaca_eval_win_rates_and_standard_errors(bench: ModuleType):
    models = bench.alpaca_models()
    assert len(models) >= 8
    for model in models:
        ours, annotator = bench.alpaca_ours(model)
        published = bench.alpaca_published(model, annotator)
        assert ours.n == published.n, model
        assert round(ours.win_rate, 2) == round(published.win_rate, 2), model
        assert round(ours.standard_error, 2) == round(published.standard_error, 2), model
