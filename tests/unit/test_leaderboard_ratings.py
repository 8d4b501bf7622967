"""Leaderboard ratings: win rate against a baseline, Elo, Bradley-Terry (ties, anchor, style control), win matrix
and mean scores, on small synthetic cases with known answers."""

from __future__ import annotations

import json
import math
import statistics

import numpy as np
import pandas as pd
import pytest

from jurist.errors import ConfigError, InputError
from jurist.leaderboard import (
    Battle,
    bradley_terry,
    elo_ratings,
    mean_scores,
    win_matrix,
    win_rate_vs_baseline,
)
from jurist.leaderboard.ratings import ELO_PER_LOGIT

from .helpers import shared


def battle(a: str, b: str, winner: str, prompt: str = "p", **extra: object) -> Battle:
    return Battle(prompt_id=prompt, model_a=a, model_b=b, winner=winner, **extra)


def davidson_battles(strength: dict[str, float], n: int, nu: float, seed: int) -> list[Battle]:
    """Battles between random pairs, outcomes drawn from the Davidson model with log-strengths `strength`."""
    rng = np.random.default_rng(seed)
    names = list(strength)
    battles = []
    for k in range(n):
        a, b = rng.choice(len(names), size=2, replace=False)
        half_gap = (strength[names[a]] - strength[names[b]]) / 2
        weights = np.array([math.exp(half_gap), math.exp(-half_gap), nu])
        winner = ("A", "B", "tie")[rng.choice(3, p=weights / weights.sum())]
        battles.append(battle(names[a], names[b], winner, prompt=f"p{k}"))
    return battles


# -- win rate ---------------------------------------------------------------------------------------------------


def test_win_rate_counts_ties_as_half_whichever_side_the_baseline_is_on() -> None:
    battles = [
        battle("base", "m", "B"),  # m wins
        battle("m", "base", "A"),  # m wins
        battle("m", "base", "B"),  # m loses
        battle("base", "m", "tie"),
        battle("other", "m", "A"),  # no baseline: ignored
    ]
    (rate,) = [r for r in win_rate_vs_baseline(battles, "base") if r.model == "m"]
    outcomes = [1.0, 1.0, 0.0, 0.5]
    assert rate.win_rate == pytest.approx(62.5)
    assert rate.standard_error == pytest.approx(100 * statistics.stdev(outcomes) / 2)
    assert (rate.n, rate.wins, rate.losses, rate.ties) == (4, 2, 1, 1)
    assert rate.baseline == "base"


def test_win_rate_uses_the_judges_preference_as_a_soft_outcome() -> None:
    battles = [battle("base", "m", "B", preference=0.8), battle("n", "base", "B", preference=0.8)]
    rates = {r.model: r.win_rate for r in win_rate_vs_baseline(battles, "base")}
    assert rates == pytest.approx({"m": 80.0, "n": 20.0})


def test_win_rate_needs_the_baseline_and_two_systems() -> None:
    with pytest.raises(ConfigError, match="baseline 'gpt'"):
        win_rate_vs_baseline([battle("a", "b", "A")], "gpt")
    with pytest.raises(ConfigError, match="at least 2 systems"):
        win_rate_vs_baseline([], "gpt")


def test_a_battle_naming_one_model_twice_is_refused_even_unvalidated() -> None:
    sneaky = Battle.model_construct(prompt_id="p", model_a="a", model_b="a", winner="A", preference=None)
    with pytest.raises(ConfigError, match="twice"):
        bradley_terry([sneaky, battle("a", "b", "A")], n_bootstrap=0)


def test_alpaca_eval_raw_win_rates_match_the_published_leaderboard() -> None:
    board = pd.read_csv(
        shared("alpaca_eval/leaderboards/AE2_weighted_alpaca_eval_gpt4_turbo_leaderboard.csv"), index_col=0
    )
    battles = []
    for model in ("claude-2.1", "alpaca-7b_verbose"):
        for row in json.loads(shared(f"alpaca_eval/annotations/{model}.json").read_text()):
            p = float(row["preference"])
            winner = "B" if p > 1.5 else "A" if p < 1.5 else "tie"
            battles.append(battle("gpt4_1106_preview", model, winner, prompt=str(row["index"]), preference=p - 1))
    for rate in win_rate_vs_baseline(battles, "gpt4_1106_preview"):
        assert rate.win_rate == pytest.approx(board.loc[rate.model, "win_rate"], abs=1e-6)
        assert rate.standard_error == pytest.approx(board.loc[rate.model, "standard_error"], abs=1e-6)
        assert rate.n == board.loc[rate.model, "n_total"]


# -- Elo --------------------------------------------------------------------------------------------------------


def test_elo_single_update_and_order_dependence() -> None:
    assert elo_ratings([battle("a", "b", "A")], k=4.0) == pytest.approx({"a": 1002.0, "b": 998.0})
    battles = [battle("a", "b", "A"), battle("a", "b", "A"), battle("a", "b", "B")]
    forward, backward = elo_ratings(battles), elo_ratings(battles[::-1])
    assert forward["a"] != pytest.approx(backward["a"], abs=1e-6)
    assert sum(forward.values()) == pytest.approx(2000.0)  # Elo moves points, it does not create them


# -- Bradley-Terry ----------------------------------------------------------------------------------------------

STRENGTH = {"best": 1.2, "good": 0.6, "middle": 0.0, "weak": -0.6, "worst": -1.2}


def test_bradley_terry_recovers_known_strengths() -> None:
    bt = bradley_terry(davidson_battles(STRENGTH, 2000, nu=0.5, seed=1), n_bootstrap=20)
    assert bt.ranking == list(STRENGTH)
    mean = statistics.fmean(STRENGTH.values())
    for name, true in STRENGTH.items():
        assert bt.scores[name] == pytest.approx(1000 + ELO_PER_LOGIT * (true - mean), abs=40)
        low, high = bt.intervals[name]
        assert low <= bt.scores[name] <= high
    assert bt.tie_param == pytest.approx(0.5, abs=0.1)
    assert statistics.fmean(bt.scores.values()) == pytest.approx(1000.0)
    assert (bt.n_battles, bt.n_bootstrap, bt.tie_model) == (2000, 20, "davidson")


def test_davidson_without_ties_reduces_to_plain_bradley_terry() -> None:
    battles = [b for b in davidson_battles(STRENGTH, 1500, nu=0.5, seed=2) if b.winner != "tie"]
    davidson = bradley_terry(battles, tie_model="davidson", n_bootstrap=0)
    plain = bradley_terry(battles, tie_model="half", n_bootstrap=0)
    assert davidson.tie_param is not None and davidson.tie_param < 1e-3
    for name in STRENGTH:
        assert davidson.scores[name] == pytest.approx(plain.scores[name], abs=0.5)


def test_rao_kupper_fits_ties_with_theta_above_one() -> None:
    bt = bradley_terry(davidson_battles(STRENGTH, 1500, nu=0.8, seed=3), tie_model="rao_kupper", n_bootstrap=0)
    assert bt.ranking == list(STRENGTH)
    assert bt.tie_param is not None and bt.tie_param > 1.2


def test_anchor_sits_at_1000() -> None:
    bt = bradley_terry(davidson_battles(STRENGTH, 600, nu=0.5, seed=4), anchor="middle", n_bootstrap=10)
    assert bt.scores["middle"] == pytest.approx(1000.0)
    assert bt.intervals["middle"] == pytest.approx((1000.0, 1000.0))
    assert bt.anchor == "middle"


def test_style_control_removes_an_advantage_that_is_only_length() -> None:
    # Two equally strong systems; the judge leans to the longer answer, and "long" is usually longer.
    rng = np.random.default_rng(5)
    battles = []
    for k in range(600):
        a, b = ("long", "short") if k % 2 else ("short", "long")
        length = {"long": float(rng.integers(50, 400)), "short": float(rng.integers(20, 200))}
        p_a = 1 / (1 + math.exp(-4 * (length[a] - length[b]) / (length[a] + length[b])))
        winner = "A" if rng.random() < p_a else "B"
        features = {name: {"length": length[name]} for name in (a, b)}
        battles.append(battle(a, b, winner, prompt=f"p{k}", features_a=features[a], features_b=features[b]))
    plain = bradley_terry(battles, n_bootstrap=0)
    controlled = bradley_terry(battles, n_bootstrap=0, features=["length"])
    assert plain.scores["long"] - plain.scores["short"] > 100
    assert abs(controlled.scores["long"] - controlled.scores["short"]) < 0.25 * (
        plain.scores["long"] - plain.scores["short"]
    )
    assert 0.5 < controlled.feature_coefs["length"] < 3.0


def test_style_control_needs_the_features_on_every_battle() -> None:
    battles = [battle("a", "b", "A", features_a={"length": 3.0}, features_b={"length": 5.0}), battle("a", "b", "B")]
    with pytest.raises(InputError, match="style feature 'length'"):
        bradley_terry(battles, features=["length"], n_bootstrap=0)


def test_bradley_terry_refuses_bad_settings_and_unconnected_systems() -> None:
    battles = [battle("a", "b", "A"), battle("c", "d", "B")]
    with pytest.raises(ConfigError, match="never compared"):
        bradley_terry(battles, n_bootstrap=0)
    with pytest.raises(ConfigError, match="anchor 'z'"):
        bradley_terry(battles[:1], anchor="z", n_bootstrap=0)
    with pytest.raises(ConfigError, match="unknown tie model"):
        bradley_terry(battles[:1], tie_model="glicko", n_bootstrap=0)  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="at least 2 systems"):
        bradley_terry([], n_bootstrap=0)


def test_a_system_that_never_loses_still_gets_a_finite_score() -> None:
    bt = bradley_terry([battle("a", "b", "A"), battle("b", "a", "B"), battle("b", "c", "tie")], n_bootstrap=5)
    assert bt.ranking[0] == "a"
    assert all(math.isfinite(score) for score in bt.scores.values())


# -- win matrix and mean scores ---------------------------------------------------------------------------------


def test_win_matrix_by_hand() -> None:
    matrix = win_matrix([battle("a", "b", "A"), battle("b", "a", "tie"), battle("a", "c", "B")])
    assert list(matrix.index) == list(matrix.columns) == ["a", "b", "c"]
    expected = [[math.nan, 0.75, 0.0], [0.25, math.nan, math.nan], [1.0, math.nan, math.nan]]
    np.testing.assert_allclose(matrix.to_numpy(), expected)  # NaN where two systems never met


def test_mean_scores_resample_whole_prompts() -> None:
    rows = [("x", f"q{i}", float(score)) for i, score in enumerate([6, 7, 8, 9, 10])]
    rows += [("y", f"q{i}", float(score)) for i, score in enumerate([1, 2, 3, 4, 5]) for _turn in range(2)]
    x, y = mean_scores(rows, n_bootstrap=200)
    assert (x.system, y.system) == ("x", "y")
    assert x.mean == pytest.approx(8.0) and y.mean == pytest.approx(3.0)
    assert (y.n, y.n_prompts) == (10, 5)
    assert x.low < x.mean < x.high and y.high < x.low
    with pytest.raises(InputError, match="not a finite number"):
        mean_scores([("x", "q", math.nan)])
