"""Prediction-powered inference for a mean (Angelopoulos et al., Science 2023; PPI++, Angelopoulos et al. 2023).

A few items carry a human label and a judge label; many more carry only a judge label. The judge's mean on the many
items is precise but biased; the human mean on the few is unbiased but noisy. PPI uses the labelled items to
measure the judge's bias and removes it:

    estimate = mean(y_labelled) + lam * (mean(yhat_unlabelled) - mean(yhat_labelled))

With lam = 1 this is the original PPI; PPI++ picks the lam that minimises the estimate's variance, so a judge that
tracks humans narrows the interval, and a useless judge gets lam near 0 and leaves the human-only interval about as
it was. The interval is the normal (CLT) one. Typical uses: a win rate (human and judge verdicts 1 / 0.5 / 0 per
item) or a mean score.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike, NDArray
from pydantic import BaseModel, ConfigDict

from jurist.errors import ConfigError


class PPIEstimate(BaseModel):
    """A prediction-powered estimate of a mean with its confidence interval, next to the human-only one.

    `lam` is the weight given to the judge (0: human labels only; 1: original PPI); `tuned` says whether it was
    chosen to minimise variance. `width_ratio` is the PPI interval's width over the human-only one (below 1: the
    judge helped); None when the human-only interval has zero width.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    estimate: float
    low: float
    high: float
    confidence: float
    n_labelled: int
    n_unlabelled: int
    lam: float
    tuned: bool
    classical_estimate: float
    classical_low: float
    classical_high: float
    width_ratio: float | None

    @property
    def width(self) -> float:
        return self.high - self.low

    @property
    def classical_width(self) -> float:
        return self.classical_high - self.classical_low


def ppi_mean(
    y_labelled: ArrayLike,
    yhat_labelled: ArrayLike,
    yhat_unlabelled: ArrayLike,
    *,
    confidence: float = 0.95,
    lam: float | None = None,
) -> PPIEstimate:
    """Estimate the mean of the human label from a few human labels and many judge labels.

    `y_labelled`: human labels; `yhat_labelled`: the judge's labels on the same items, in the same order;
    `yhat_unlabelled`: the judge's labels on the items no human labelled. `lam=None` tunes the judge's weight
    (PPI++), `lam=1.0` is the original PPI, `lam=0.0` ignores the judge.
    """
    y = _as_values(y_labelled, "y_labelled")
    f_lab = _as_values(yhat_labelled, "yhat_labelled")
    f_unl = _as_values(yhat_unlabelled, "yhat_unlabelled")
    if not 0.0 < confidence < 1.0:
        raise ConfigError(f"confidence must be between 0 and 1 (e.g. 0.95), got {confidence}")
    if y.size < 2:
        raise ConfigError(f"PPI needs at least 2 human-labelled items to estimate the judge's bias, got {y.size}")
    if f_lab.size != y.size:
        raise ConfigError(
            f"y_labelled has {y.size} items but yhat_labelled has {f_lab.size}: give the judge's label for each "
            "human-labelled item, in the same order"
        )
    if f_unl.size < 2:
        raise ConfigError(f"PPI needs at least 2 judge-only (unlabelled) items, got {f_unl.size}")
    if lam is not None and not 0.0 <= lam <= 1.0:
        raise ConfigError(f"lam must be between 0 and 1 (or None to tune it), got {lam}")

    n, big_n = y.size, f_unl.size
    weight = _tuned_lambda(y, f_lab, f_unl) if lam is None else lam
    estimate = float(y.mean() + weight * (f_unl.mean() - f_lab.mean()))
    # The two terms come from disjoint samples, so their variances add.
    variance = weight**2 * f_unl.var(ddof=1) / big_n + (y - weight * f_lab).var(ddof=1) / n
    from scipy import stats  # here, not at the top: scipy.stats takes about a second to import

    z = float(stats.norm.ppf(0.5 + confidence / 2))
    half = z * math.sqrt(variance)

    classical = float(y.mean())
    classical_half = z * float(y.std(ddof=1)) / math.sqrt(n)
    return PPIEstimate(
        estimate=estimate,
        low=estimate - half,
        high=estimate + half,
        confidence=confidence,
        n_labelled=n,
        n_unlabelled=big_n,
        lam=weight,
        tuned=lam is None,
        classical_estimate=classical,
        classical_low=classical - classical_half,
        classical_high=classical + classical_half,
        width_ratio=half / classical_half if classical_half > 0 else None,
    )


def _tuned_lambda(y: NDArray[np.float64], f_lab: NDArray[np.float64], f_unl: NDArray[np.float64]) -> float:
    """The variance-minimising weight Cov(y, f) / ((1 + n/N) Var(f)), clipped to [0, 1].

    Var(f) is estimated on all judge labels (labelled and unlabelled): both are draws of the same judge.
    """
    var_f = float(np.concatenate([f_lab, f_unl]).var(ddof=1))
    if var_f == 0.0:
        return 0.0  # a constant judge carries no information about the humans
    cov = float(np.cov(y, f_lab, ddof=1)[0, 1])
    weight = cov / ((1.0 + y.size / f_unl.size) * var_f)
    return float(np.clip(weight, 0.0, 1.0))


def _as_values(values: ArrayLike, name: str) -> NDArray[np.float64]:
    try:
        array = np.asarray(values, dtype=float).ravel()
    except (TypeError, ValueError) as error:
        raise ConfigError(f"{name} must hold numbers (e.g. 1 / 0.5 / 0 verdicts or scores): {error}") from None
    if not np.all(np.isfinite(array)):
        raise ConfigError(f"{name} holds NaN or infinite values; drop those items or fix their labels")
    return array
