"""Selective evaluation: the certified threshold keeps the judge's disagreement rate <= alpha w.p. >= 1 - delta."""

from __future__ import annotations

import math

import numpy as np
import pytest

from jurist.errors import ConfigError
from jurist.stats.selective import (
    apply_threshold,
    calibrate_threshold,
    min_calibration_items,
    selective_curve,
)


def simulate(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Confidence c ~ U(0, 1) and P(judge disagrees with humans | c) = (1 - c)^2 / 2: a fairly well calibrated judge.

    The true disagreement rate on items with confidence >= t is then E[(1 - c)^2 / 2 | c >= t] = (1 - t)^2 / 6,
    which is <= 0.1 exactly when t >= 1 - sqrt(0.6) = 0.2254.
    """
    conf = rng.uniform(0.0, 1.0, n)
    correct = rng.uniform(0.0, 1.0, n) >= 0.5 * (1.0 - conf) ** 2
    return conf, correct


def true_risk(threshold: float) -> float:
    return (1.0 - threshold) ** 2 / 6


def naive_threshold(conf: np.ndarray, correct: np.ndarray, alpha: float) -> float | None:
    """The same downward scan, but trusting the empirical disagreement rate instead of a binomial bound."""
    order = np.argsort(-conf)
    risk = np.cumsum(~correct[order]) / np.arange(1, len(conf) + 1)
    above = np.flatnonzero(risk > alpha)
    stop = int(above[0]) if above.size else len(conf)
    return float(conf[order][stop - 1]) if stop else None


def test_guarantee_holds_over_many_calibration_draws_and_naive_choice_breaks_it():
    alpha, delta, n, draws = 0.1, 0.1, 400, 400
    rng = np.random.default_rng(1234)
    violations = naive_violations = certified = 0
    for _ in range(draws):
        conf, correct = simulate(rng, n)
        result = calibrate_threshold(conf, correct, alpha=alpha, delta=delta)
        if result.threshold is not None:
            certified += 1
            violations += true_risk(result.threshold) > alpha
        naive = naive_threshold(conf, correct, alpha)
        naive_violations += naive is not None and true_risk(naive) > alpha
    # At most about delta of the draws may break the guarantee (Monte-Carlo slack: 2.7 sd of the rate).
    assert violations / draws <= delta + 0.04
    # The procedure is not vacuous: it certifies a threshold in almost every draw...
    assert certified / draws > 0.9
    # ...and the check above can fail: without the bound the guarantee breaks far more often than delta.
    assert naive_violations / draws > 2 * delta


def test_realised_test_set_agreement_meets_target_on_a_fresh_draw():
    rng = np.random.default_rng(7)
    conf, correct = simulate(rng, 2000)
    result = calibrate_threshold(conf, correct, alpha=0.1, delta=0.05)
    assert result.threshold is not None
    test_conf, test_correct = simulate(rng, 20000)
    trusted = apply_threshold(test_conf, result.threshold)
    assert 0.0 < trusted.mean() < 1.0
    assert test_correct[trusted].mean() >= 0.9 - 0.01
    # The ideal threshold for this model is 0.2254 (coverage 0.77); a certified one is a little higher.
    assert 0.2254 <= result.threshold < 0.4
    assert result.coverage == pytest.approx(np.mean(conf >= result.threshold))
    assert result.empirical_agreement == pytest.approx(correct[conf >= result.threshold].mean())
    assert result.risk_upper_bound is not None and result.risk_upper_bound <= 0.1


@pytest.mark.parametrize(("alpha", "delta"), [(0.1, 0.1), (0.05, 0.1), (0.2, 0.05)])
def test_smallest_calibration_set_with_no_errors_is_exactly_certifiable(alpha, delta):
    needed = min_calibration_items(alpha, delta)
    assert (1 - alpha) ** needed <= delta < (1 - alpha) ** (needed - 1)
    conf = np.linspace(0.5, 1.0, needed)
    too_few = calibrate_threshold(conf[1:], np.ones(needed - 1, bool), alpha=alpha, delta=delta)
    assert too_few.threshold is None and too_few.coverage == 0.0 and not too_few.certified
    assert too_few.note is not None and str(needed) in too_few.note
    enough = calibrate_threshold(conf, np.ones(needed, bool), alpha=alpha, delta=delta)
    assert enough.threshold == pytest.approx(0.5) and enough.coverage == 1.0 and enough.empirical_agreement == 1.0


def test_scan_stops_at_first_candidate_that_is_not_rejected():
    # 30 confident correct items, then one wrong item, then 100 correct ones. With alpha=0.1, delta=0.1 the scan
    # starts at the top 22 ((0.9)^22 = 0.098 <= delta) and certifies up to the top 30; adding the error gives
    # P(Binom(31, 0.1) <= 1) = 0.17 > delta, so it stops there even though the full set (1 error in 131) would be
    # certifiable on its own.
    conf = np.concatenate([np.linspace(1.0, 0.9, 30), [0.85], np.linspace(0.8, 0.1, 100)])
    correct = np.concatenate([np.ones(30, bool), [False], np.ones(100, bool)])
    result = calibrate_threshold(conf, correct, alpha=0.1, delta=0.1)
    assert result.threshold == pytest.approx(0.9)
    assert result.n_trusted == 30


def test_min_trusted_keeps_one_early_error_from_stopping_the_scan():
    conf = np.linspace(1.0, 0.0, 200)
    correct = np.arange(200) != 2  # the third most confident item is wrong
    default = calibrate_threshold(conf, correct, alpha=0.1, delta=0.1)
    # P(Binom(22, 0.1) <= 1) = 0.34 > delta: the first testable candidate is not rejected.
    assert default.threshold is None and default.note is not None and "22 most confident" in default.note
    # P(Binom(60, 0.1) <= 1) = 0.014 <= delta, and every larger prefix has the same single error.
    later = calibrate_threshold(conf, correct, alpha=0.1, delta=0.1, min_trusted=60)
    assert later.threshold == 0.0 and later.n_trusted == 200


def test_tied_confidences_enter_or_leave_together():
    conf = np.repeat([1.0, 0.5], [40, 40])
    correct = np.concatenate([np.ones(40, bool), np.arange(40) % 2 == 0])
    result = calibrate_threshold(conf, correct, alpha=0.1, delta=0.1)
    assert result.threshold == 1.0 and result.n_trusted == 40
    assert apply_threshold(conf, result.threshold).sum() == 40
    assert not apply_threshold(conf, None).any()


def test_curve_coverage_grows_with_tolerated_disagreement():
    rng = np.random.default_rng(3)
    conf, correct = simulate(rng, 1000)
    alphas = [0.005, 0.05, 0.1, 0.15, 0.2, 0.3]
    curve = selective_curve(conf, correct, delta=0.1, alphas=alphas)
    assert [point.alpha for point in curve] == alphas
    coverages = [point.coverage for point in curve]
    assert coverages == sorted(coverages)
    assert curve[0].threshold is None  # 0.5% disagreement is out of reach for this judge on 1000 items
    assert curve[-1].coverage > 0.9
    for point in curve[1:]:
        assert point.empirical_agreement is not None and point.empirical_agreement >= 1 - point.alpha


def test_min_calibration_items_formula():
    assert min_calibration_items(0.1, 0.1) == math.ceil(math.log(0.1) / math.log(0.9)) == 22


@pytest.mark.parametrize(
    ("confidences", "correct", "alpha", "delta"),
    [
        ([0.9, 0.8], [True], 0.1, 0.1),
        ([], [], 0.1, 0.1),
        ([0.9, float("nan")], [True, True], 0.1, 0.1),
        ([0.9, 0.8], [1, 2], 0.1, 0.1),
        ([0.9, 0.8], [True, True], 0.0, 0.1),
        ([0.9, 0.8], [True, True], 0.1, 1.0),
    ],
)
def test_bad_input_is_a_config_error(confidences, correct, alpha, delta):
    with pytest.raises(ConfigError):
        calibrate_threshold(confidences, correct, alpha=alpha, delta=delta)
