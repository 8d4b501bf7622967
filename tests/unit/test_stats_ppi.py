"""Prediction-powered inference: narrower intervals with a good judge, no harm from a useless one, valid coverage."""

from __future__ import annotations

import numpy as np
import pytest

from jurist.errors import ConfigError
from jurist.stats.ppi import ppi_mean

N_LABELLED, N_UNLABELLED = 100, 2000


def scores(rng: np.random.Generator, n: int) -> np.ndarray:
    return rng.normal(3.0, 1.0, n)


def test_good_judge_narrows_the_interval():
    rng = np.random.default_rng(0)
    y = scores(rng, N_LABELLED)
    unlabelled_truth = scores(rng, N_UNLABELLED)
    result = ppi_mean(y, y + rng.normal(0, 0.2, N_LABELLED), unlabelled_truth + rng.normal(0, 0.2, N_UNLABELLED))
    assert result.tuned and result.lam > 0.7  # ideal: 1 / ((1 + 100/2000) * 1.04) = 0.92
    assert result.width_ratio is not None and result.width_ratio < 0.5
    assert result.width < result.classical_width
    assert result.low < result.estimate < result.high
    assert result.n_labelled == N_LABELLED and result.n_unlabelled == N_UNLABELLED


def test_useless_judge_gets_little_weight_and_leaves_the_width_about_unchanged():
    rng = np.random.default_rng(1)
    y = scores(rng, N_LABELLED)
    noise_lab, noise_unl = scores(rng, N_LABELLED), scores(rng, N_UNLABELLED)
    tuned = ppi_mean(y, noise_lab, noise_unl)
    assert tuned.lam < 0.2
    assert tuned.width_ratio is not None and 0.9 < tuned.width_ratio < 1.05
    # Without tuning, the noise only adds variance: width ~ sqrt(2 + n/N) times the human-only one.
    original = ppi_mean(y, noise_lab, noise_unl, lam=1.0)
    assert original.lam == 1.0 and not original.tuned
    assert original.width_ratio is not None and original.width_ratio > 1.3


def test_fixed_weight_matches_the_estimator_formula():
    y = np.array([1.0, 0.0, 0.5, 1.0, 1.0])
    f_lab = np.array([1.0, 0.5, 0.5, 1.0, 0.0])
    f_unl = np.array([1.0, 1.0, 0.0, 0.5, 1.0, 0.5, 1.0])
    for lam in (0.0, 0.4, 1.0):
        result = ppi_mean(y, f_lab, f_unl, lam=lam)
        assert result.estimate == pytest.approx(y.mean() + lam * (f_unl.mean() - f_lab.mean()))
        se = np.sqrt(lam**2 * f_unl.var(ddof=1) / 7 + (y - lam * f_lab).var(ddof=1) / 5)
        assert result.high - result.estimate == pytest.approx(1.959964 * se, rel=1e-6)
    human_only = ppi_mean(y, f_lab, f_unl, lam=0.0)
    assert human_only.estimate == pytest.approx(human_only.classical_estimate)
    assert human_only.width_ratio == pytest.approx(1.0)


@pytest.mark.parametrize("lam", [None, 1.0])
def test_win_rate_interval_covers_the_truth_despite_a_biased_judge(lam):
    # Human verdicts 1 / 0.5 / 0 with true mean 0.55; the judge copies the human 70% of the time and otherwise says
    # "1", so its own mean (0.685) is biased. PPI must correct that bias to cover 0.55.
    rng = np.random.default_rng(42)
    values, probs = np.array([1.0, 0.5, 0.0]), np.array([0.5, 0.1, 0.4])
    true_mean = float(values @ probs)

    def draw(n: int) -> tuple[np.ndarray, np.ndarray]:
        human = rng.choice(values, size=n, p=probs)
        return human, np.where(rng.uniform(size=n) < 0.7, human, 1.0)

    simulations, covered, judge_only_covered = 400, 0, 0
    for _ in range(simulations):
        y, f_lab = draw(N_LABELLED)
        _, f_unl = draw(N_UNLABELLED)
        result = ppi_mean(y, f_lab, f_unl, lam=lam)
        covered += result.low <= true_mean <= result.high
        judge_only_covered += abs(f_unl.mean() - true_mean) < result.high - result.estimate
    assert covered / simulations >= 0.9
    assert judge_only_covered / simulations < 0.05  # the judge alone is far off: the bias correction is doing work


def test_constant_human_labels_have_no_width_ratio():
    result = ppi_mean([1.0, 1.0, 1.0], [1.0, 0.0, 1.0], [1.0, 0.0, 0.0, 1.0])
    assert result.width_ratio is None and result.classical_width == 0.0


@pytest.mark.parametrize(
    ("y", "f_lab", "f_unl", "options"),
    [
        ([1.0], [1.0], [0.0, 1.0], {}),
        ([1.0, 0.0, 1.0], [1.0, 0.0], [0.0, 1.0], {}),
        ([1.0, 0.0], [1.0, 0.0], [1.0], {}),
        ([1.0, 0.0], [1.0, float("nan")], [0.0, 1.0], {}),
        ([1.0, 0.0], [1.0, 0.0], ["a", "b"], {}),
        ([1.0, 0.0], [1.0, 0.0], [0.0, 1.0], {"lam": 1.5}),
        ([1.0, 0.0], [1.0, 0.0], [0.0, 1.0], {"confidence": 95}),
    ],
)
def test_bad_input_is_a_config_error(y, f_lab, f_unl, options):
    with pytest.raises(ConfigError):
        ppi_mean(y, f_lab, f_unl, **options)
