"""AlpacaEval's length-controlled win rate: a synthetic model that wins only by writing more, and the published
AlpacaEval 2.0 raw win rates."""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
import pandas as pd
import pytest

from jurist.errors import ConfigError, InputError
from jurist.leaderboard import length_controlled_win_rate

from .helpers import shared


def synthetic_rows(quality: float, length_effect: float, mean_extra_length: float, seed: int) -> list[dict[str, Any]]:
    """Annotation rows against a baseline: logit P(model wins) = quality + length_effect * tanh(Δlen / 400)
    + a per-instruction difficulty shared by every model (the same seed-free function of the instruction)."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(200):
        difficulty = math.sin(i)  # deterministic per instruction, so the models share it
        extra = rng.normal(mean_extra_length, 400)
        logit = quality + length_effect * math.tanh(extra / 400) - difficulty
        p = 1 / (1 + math.exp(-logit))
        rows.append(
            {
                "instruction": f"instruction {i}",
                "len_output_1": 1000,
                "len_output_2": int(1000 + extra),
                "preference": 2.0 if rng.random() < p else 1.0,
            }
        )
    return rows


def test_a_model_that_wins_only_by_length_drops_toward_half() -> None:
    rows = {
        "verbose": synthetic_rows(quality=0.0, length_effect=2.0, mean_extra_length=500, seed=1),
        "honest": synthetic_rows(quality=1.0, length_effect=0.0, mean_extra_length=0, seed=2),
        "plain": synthetic_rows(quality=-0.5, length_effect=0.0, mean_extra_length=0, seed=3),
    }
    results = {r.model: r for r in length_controlled_win_rate(rows)}
    verbose, honest = results["verbose"], results["honest"]
    assert verbose.win_rate > 65
    assert abs(verbose.lc_win_rate - 50) < 8
    assert verbose.lc_win_rate < verbose.win_rate - 10
    assert verbose.length_coef > 1.0
    # Without a length advantage, length control changes little.
    assert honest.lc_win_rate == pytest.approx(honest.win_rate, abs=5)
    assert results["plain"].lc_win_rate == pytest.approx(results["plain"].win_rate, abs=5)


def test_every_difficulty_estimate_keeps_the_raw_win_rate() -> None:
    rows = {"a": synthetic_rows(0.5, 1.0, 200, seed=4), "b": synthetic_rows(-0.5, 1.0, -200, seed=5)}
    raw = 100 * np.mean([float(r["preference"]) - 1 for r in rows["a"]])
    for difficulty in ("cross_fit", "joint", "none"):
        results = {r.model: r for r in length_controlled_win_rate(rows, difficulty=difficulty)}
        assert results["a"].win_rate == pytest.approx(raw)
        assert results["a"].n == 200
        assert 0 < results["a"].lc_win_rate < 100


def test_alpaca_eval_raw_win_rates_match_the_leaderboard_csv() -> None:
    board = pd.read_csv(
        shared("alpaca_eval/leaderboards/AE2_weighted_alpaca_eval_gpt4_turbo_leaderboard.csv"), index_col=0
    )
    models = ("NullModel", "gpt-3.5-turbo-1106", "alpaca-7b_concise")
    annotations = {m: json.loads(shared(f"alpaca_eval/annotations/{m}.json").read_text()) for m in models}
    for result in length_controlled_win_rate(annotations, difficulty="none"):
        assert result.win_rate == pytest.approx(board.loc[result.model, "win_rate"], abs=1e-6)
        assert result.standard_error == pytest.approx(board.loc[result.model, "standard_error"], abs=1e-6)
        assert result.n == board.loc[result.model, "n_total"]


def test_bad_annotations_and_settings_are_refused() -> None:
    row = {"instruction": "x", "len_output_1": 10, "len_output_2": 20, "preference": 1.7}
    with pytest.raises(InputError, match="outside \\[1, 2\\]"):
        length_controlled_win_rate({"m": [row | {"preference": 0.7}]})
    with pytest.raises(InputError, match="has no 'len_output_2'"):
        length_controlled_win_rate({"m": [{k: v for k, v in row.items() if k != "len_output_2"}]})
    with pytest.raises(ConfigError, match="unknown difficulty"):
        length_controlled_win_rate({"m": [row]}, difficulty="magic")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="no models"):
        length_controlled_win_rate({})
