"""The one Bradley-Terry model (jurist.ranking.bradley_terry) and the one pair planner (jurist.ranking.PairPlanner),
as listwise ranking and the arena both use them."""

from __future__ import annotations

import math
import random

import numpy as np
import pytest

from jurist.errors import ConfigError
from jurist.ranking import PairPlanner
from jurist.ranking import bradley_terry as bt


def hunter_mm(n: int, first: np.ndarray, second: np.ndarray, shares: np.ndarray, prior: float) -> np.ndarray:
    """The reference: minorise-maximise updates (Hunter 2004) with `prior` virtual wins and losses against an
    opponent of strength 1, run to convergence (what listwise ranking fitted before it shared the model)."""
    gamma = np.ones(n)
    wins = np.full(n, prior)
    np.add.at(wins, first, shares)
    np.add.at(wins, second, 1 - shares)
    for _ in range(20000):
        denom = 2 * prior / (gamma + 1)
        share = 1 / (gamma[first] + gamma[second])
        denom += np.bincount(first, share, n) + np.bincount(second, share, n)
        new = wins / denom
        if np.abs(np.log(new / gamma)).max() < 1e-12:
            break
        gamma = new
    return np.log(gamma)


def test_soft_outcomes_with_a_prior_reach_the_mm_solution() -> None:
    rng = random.Random(3)
    n = 8
    pairs = [tuple(rng.sample(range(n), 2)) for _ in range(30)]
    first, second = (np.array(side) for side in zip(*pairs, strict=True))
    shares = np.array([rng.random() for _ in pairs])
    data = bt.Comparisons(n=n, first=first, second=second, outcome=shares)
    fitted = bt.fit(data, np.ones(len(pairs)), prior=0.5)
    # the two optimisers meet well within the strengths' standard errors (about 0.5 here)
    np.testing.assert_allclose(fitted.strengths, hunter_mm(n, first, second, shares, 0.5), atol=2e-3)
    assert fitted.tie_param is None and fitted.coefs.size == 0


def test_a_candidate_that_won_everything_stays_finite_under_either_penalty() -> None:
    data = bt.Comparisons(n=3, first=np.array([0, 0, 1]), second=np.array([1, 2, 2]), outcome=np.ones(3))
    for penalty in ({"prior": 0.5}, {"ridge": 1e-3}):
        strengths = bt.fit(data, np.ones(3), **penalty).strengths  # type: ignore[arg-type]
        assert np.isfinite(strengths).all() and list(np.argsort(-strengths)) == [0, 1, 2]


def test_tie_models_other_than_half_need_discrete_outcomes() -> None:
    soft = bt.Comparisons(n=2, first=np.array([0]), second=np.array([1]), outcome=np.array([0.3]))
    with pytest.raises(ConfigError, match="soft outcomes need 'half'"):
        bt.fit(soft, np.ones(1), "davidson", ridge=1e-3)
    with pytest.raises(ConfigError, match="unknown tie model"):
        bt.fit(soft, np.ones(1), "glicko", ridge=1e-3)  # type: ignore[arg-type]


def test_information_by_hand() -> None:
    strengths = np.array([0.5, -0.5])
    weight = 3 * (1 / (1 + math.exp(-1))) * (1 / (1 + math.exp(1)))  # 3 comparisons, p = σ(1)
    info = bt.information(strengths, np.array([0]), np.array([1]), np.array([3.0]))
    np.testing.assert_allclose(info, [[weight, -weight], [-weight, weight]])
    with_prior = bt.information(strengths, np.array([0]), np.array([1]), np.array([3.0]), prior=0.5)
    virtual = [2 * 0.5 * (1 / (1 + math.exp(-s))) * (1 / (1 + math.exp(s))) for s in strengths]
    np.testing.assert_allclose(with_prior, info + np.diag(virtual))


def test_groups_of_connected_candidates() -> None:
    assert bt.groups(4, np.array([0, 1]), np.array([1, 0])) == [[0, 1], [2], [3]]
    assert bt.groups(3, np.array([0, 2]), np.array([1, 1])) == [[0, 1, 2]]


def test_the_planner_asks_the_neighbours_whose_intervals_overlap() -> None:
    strengths = np.array([2.0, 0.05, 0.0, -2.0])  # 1 and 2 nearly equal, the rest far apart
    first, second = (np.array(side) for side in zip(*[(i, j) for i in range(4) for j in range(i + 1, 4)], strict=True))
    planner = PairPlanner(strengths, bt.information(strengths, first, second, np.full(6, 20.0)), 0.95)
    assert list(planner.order) == [0, 1, 2, 3]
    everything = [(i, j) for i in range(4) for j in range(i + 1, 4)]
    assert planner.best(everything) == (1, 2)
    assert planner.best([(0, 3), (0, 1)]) == (0, 1)  # of two, the one between neighbours


def test_adding_a_comparison_is_the_information_of_one_more() -> None:
    strengths = np.array([0.8, 0.1, -0.3, -0.6])
    first, second, weights = np.array([0, 1, 2, 0]), np.array([1, 2, 3, 2]), np.array([2.0, 1.0, 3.0, 1.0])
    planner = PairPlanner(strengths, bt.information(strengths, first, second, weights, prior=0.5), 0.9)
    planner.add((1, 3))
    more = bt.information(strengths, np.append(first, 1), np.append(second, 3), np.append(weights, 1.0), prior=0.5)
    np.testing.assert_allclose(planner.covariance, np.linalg.inv(more), atol=1e-10)
