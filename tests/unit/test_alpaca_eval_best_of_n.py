"""The AlpacaEval best-of-N loader: several models' outputs per instruction with GPT-4-turbo's recorded wins, on a
tiny synthetic copy laid out like the real one, and on the real copy in ../shared/data when it is there."""

from __future__ import annotations

import gzip
import json
import warnings
from pathlib import Path

import pytest

from jurist import ConfigError
from jurist.alignment.selection import longest_picks, oracle_quality, pick_quality, random_pick_quality
from jurist.data.benchmarks import load_alpaca_eval_candidates, load_benchmark

from .helpers import shared

INSTRUCTIONS = ["Say hi.", "Count to three.", "Name a colour."]


@pytest.fixture(autouse=True)
def no_data_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("JURIST_DATA_DIR", raising=False)
    monkeypatch.setenv("JURIST_DATA_URL", "file:///nonexistent-jurist-mirror")


def write_copy(root: Path, preferences: dict[str, list[float | None]]) -> Path:
    """annotations/<model>.json and model_outputs/<model>.json.gz for each model (None: no annotation of that
    instruction), and the baseline's outputs, which fix the instructions' order."""
    (root / "annotations").mkdir(parents=True)
    (root / "model_outputs").mkdir()

    def outputs(model: str) -> None:
        rows = [{"instruction": ins, "output": f"{model} on {ins}", "generator": model} for ins in INSTRUCTIONS]
        (root / "model_outputs" / f"{model}.json.gz").write_bytes(gzip.compress(json.dumps(rows).encode()))

    outputs("gpt4_1106_preview")
    for model, prefs in preferences.items():
        outputs(model)
        rows = [
            {"instruction": ins, "preference": p, "dataset": "helpful_base", "generator_2": model}
            for ins, p in zip(INSTRUCTIONS, prefs, strict=True)
            if p is not None
        ]
        (root / "annotations" / f"{model}.json").write_text(json.dumps(rows))
    return root


def test_candidates_on_a_synthetic_copy(tmp_path: Path) -> None:
    root = write_copy(tmp_path / "alpaca_eval", {"m1": [2.0, 1.25, 0], "m2": [1.0, 1.75, 1.5], "m3": [1.5, 1.0, 2.0]})
    loaded = load_alpaca_eval_candidates(["m2", "m1"], root=root)
    assert [it.id for it in loaded.items] == ["alpaca_eval-bon-0", "alpaca_eval-bon-1", "alpaca_eval-bon-2"]
    first = loaded.items[0]
    assert first.prompt == "Say hi." and first.responses == ["m2 on Say hi.", "m1 on Say hi."]
    assert first.metadata["systems"] == ["m2", "m1"] and first.metadata["dataset"] == "helpful_base"
    # wins: preference - 1, the draw code 0 read as 1/2
    assert [it.metadata["wins"] for it in loaded.items] == [[0.0, 1.0], [0.75, 0.25], [0.5, 0.5]]
    assert loaded.warnings == []
    assert len(load_alpaca_eval_candidates(root=root).items[0].responses or []) == 3  # every annotated model


def test_an_instruction_some_model_lacks_is_left_out_and_said(tmp_path: Path) -> None:
    root = write_copy(tmp_path / "alpaca_eval", {"m1": [2.0, None, 1.5], "m2": [1.0, 1.5, 7.0]})
    loaded = load_alpaca_eval_candidates(["m1", "m2"], root=root)
    # instruction 1 has no m1 annotation, instruction 2 an m2 preference outside [1, 2]
    assert [it.id for it in loaded.items] == ["alpaca_eval-bon-0"]
    assert loaded.warnings == ["2 instructions left out: not annotated (or not usably) for every model"]


def test_bad_model_lists_are_refused(tmp_path: Path) -> None:
    root = write_copy(tmp_path / "alpaca_eval", {"m1": [2.0, 1.0, 1.5]})
    with pytest.raises(ConfigError, match="two or more different models"):
        load_alpaca_eval_candidates(["m1"], root=root)
    with pytest.raises(ConfigError, match="two or more different models"):
        load_alpaca_eval_candidates(["m1", "m1"], root=root)
    with pytest.raises(ConfigError, match="no AlpacaEval annotations for model 'gpt-7'"):
        load_alpaca_eval_candidates(["m1", "gpt-7"], root=root)


def test_the_benchmark_spec_names_the_models(tmp_path: Path) -> None:
    write_copy(tmp_path / "alpaca_eval", {"m1": [2.0, 1.0, 1.5], "m2": [1.0, 1.0, 1.0], "m3": [1.2, 1.2, 1.2]})
    loaded = load_benchmark("alpaca_eval_best_of_n:m3, m1", data_dir=tmp_path)
    assert loaded.items[0].metadata["systems"] == ["m3", "m1"]


def test_the_real_copy_reproduces_each_systems_win_rate() -> None:
    root = shared("alpaca_eval")
    models = ["alpaca-7b", "claude-2.1", "gpt-3.5-turbo-1106"]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # these three are annotated on all 805 instructions: nothing left out
        loaded = load_alpaca_eval_candidates(models, root=root)
    assert len(loaded.items) == 805 and loaded.warnings == []
    wins = [it.metadata["wins"] for it in loaded.items]
    # each column's mean is the published raw win rate (../shared/data/README.md: claude-2.1 15.73, gpt-3.5 9.18)
    assert sum(w[1] for w in wins) / 805 * 100 == pytest.approx(15.73, abs=0.005)
    assert sum(w[2] for w in wins) / 805 * 100 == pytest.approx(9.18, abs=0.005)
    # the selectors' reference points are ordered as they must be
    random, oracle = random_pick_quality(wins), oracle_quality(wins)
    longest = pick_quality(wins, longest_picks([it.responses or [] for it in loaded.items]))
    assert random < longest < oracle
    every = load_alpaca_eval_candidates(root=root)
    assert len(every.items) == 802 and len(every.items[0].responses or []) == 8  # alpaca-7b_verbose has 802 rows
