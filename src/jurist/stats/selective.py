"""Selective evaluation with a guarantee of human agreement ("Trust or Escalate", Jung et al., ICLR 2025).

On a human-labelled calibration set we know, for each item, the judge's confidence and whether the judge agreed
with the human label. We pick a confidence threshold lambda so that, with probability at least 1 - delta over the
draw of the calibration set, the judge disagrees with humans on at most a share alpha of the items it is confident
about (confidence >= lambda). Items below the threshold are escalated (to a stronger judge or a human) or abstained.

The threshold comes from fixed-sequence testing: candidates are scanned from the most confident downward, and at
each one the null "risk above this threshold > alpha" is tested with an exact binomial p-value; the scan stops at
the first candidate that is not rejected at level delta, and the threshold is the last one that was. A candidate
that trusts fewer than `min_calibration_items(alpha, delta)` items can never be rejected (even with no errors), so
the scan starts at the first candidate that trusts at least that many; otherwise it would always stop at once.
`min_trusted` raises that starting point, which makes the scan less likely to stop early on a few unlucky errors
among the very top items (the authors' released code starts at 30 trusted items).

When not even the most confident items can be certified (typically: too few calibration items for the requested
alpha and delta) the result has `threshold=None`, coverage 0 and a `note` that says how many calibration items
would be needed at best. We return this instead of raising, so that a curve over many alphas keeps one point per
alpha; callers that need a threshold check `certified`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike, NDArray
from pydantic import BaseModel, ConfigDict

from jurist.errors import ConfigError


class SelectiveCalibration(BaseModel):
    """A confidence threshold certified on a calibration set, and what it does on that set.

    `threshold` is None when no threshold could be certified (see `note`). `coverage` is the share of calibration
    items at or above the threshold; `empirical_agreement` the judge's agreement with humans on those items (None
    when there are none). `risk_upper_bound` is the exact one-sided (1 - delta) upper confidence bound on the
    disagreement rate above the threshold. `min_calibration_items` is the fewest calibration items that could
    certify alpha at this delta even if the judge never disagreed: ceil(log(delta) / log(1 - alpha)).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    threshold: float | None
    alpha: float
    delta: float
    n_calibration: int
    n_trusted: int
    coverage: float
    empirical_agreement: float | None
    risk_upper_bound: float | None
    min_calibration_items: int
    note: str | None = None

    @property
    def certified(self) -> bool:
        return self.threshold is not None

    @property
    def guaranteed_agreement(self) -> float:
        """The agreement level the threshold guarantees (with probability >= 1 - delta): 1 - alpha."""
        return 1.0 - self.alpha


def min_calibration_items(alpha: float, delta: float) -> int:
    """The fewest calibration items that can certify risk <= alpha at level delta: all of them agreeing with humans.

    With n items and no disagreement the binomial p-value is (1 - alpha)^n, which must be <= delta.
    """
    _check_levels(alpha, delta)
    return math.ceil(math.log(delta) / math.log1p(-alpha))


def calibrate_threshold(
    confidences: ArrayLike, correct: ArrayLike, *, alpha: float, delta: float = 0.1, min_trusted: int = 0
) -> SelectiveCalibration:
    """Find the lowest confidence threshold whose disagreement rate is certified <= alpha with probability 1 - delta.

    `confidences`: the judge's confidence per calibration item (any real scale; higher = more confident).
    `correct`: whether the judge agreed with the human label on that item (bool or 0/1).
    `min_trusted`: only consider thresholds that trust at least this many calibration items (the scan always skips
    those that trust fewer than `min_calibration_items(alpha, delta)`, which cannot be certified).
    """
    _check_levels(alpha, delta)
    if min_trusted < 0:
        raise ConfigError(f"min_trusted must be 0 or more, got {min_trusted}")
    conf, agree = _check_calibration(confidences, correct)
    needed = min_calibration_items(alpha, delta)

    # Sort most confident first. A threshold at a distinct confidence value v trusts every item with confidence >= v,
    # so the candidates are the distinct values and the trusted set at each is a prefix of the sorted items (ties
    # included). Testing at every observed value is the same as testing an arbitrarily fine fixed grid, because the
    # trusted set, and so the p-value, only changes at observed values.
    order = np.argsort(-conf, kind="stable")
    conf_sorted = conf[order]
    errors_cum = np.cumsum(~agree[order])
    prefix_end = np.flatnonzero(np.append(conf_sorted[1:] != conf_sorted[:-1], True))
    testable = prefix_end + 1 >= max(needed, min_trusted)
    prefix_end = prefix_end[testable]
    n_trusted = prefix_end + 1
    n_errors = errors_cum[prefix_end]

    # Exact binomial p-value of H0 "risk > alpha": the chance of this few errors if the risk were exactly alpha.
    from scipy import stats  # here, not at the top: scipy.stats takes about a second to import

    p_values = stats.binom.cdf(n_errors, n_trusted, alpha)
    not_rejected = np.flatnonzero(p_values > delta)
    n_rejected = int(not_rejected[0]) if not_rejected.size else len(p_values)

    n = len(conf)
    if n_rejected == 0:
        target = f"agreement >= {1 - alpha:.3g} with probability {1 - delta:.3g}"
        first = max(needed, min_trusted)
        if n < needed:
            why = f"even with no disagreement this needs at least {needed} calibration items, and there are {n}"
        elif n < first:
            why = f"min_trusted={min_trusted} is more than the {n} calibration items"
        else:
            why = f"the judge disagrees with humans too often on its {first} most confident items"
        note = f"no confidence threshold certifies {target}: {why}. Add calibration items, raise alpha or raise delta."
        return SelectiveCalibration(
            threshold=None,
            alpha=alpha,
            delta=delta,
            n_calibration=n,
            n_trusted=0,
            coverage=0.0,
            empirical_agreement=None,
            risk_upper_bound=None,
            min_calibration_items=needed,
            note=note,
        )

    chosen = n_rejected - 1
    trusted = int(n_trusted[chosen])
    errors = int(n_errors[chosen])
    return SelectiveCalibration(
        threshold=float(conf_sorted[prefix_end[chosen]]),
        alpha=alpha,
        delta=delta,
        n_calibration=n,
        n_trusted=trusted,
        coverage=trusted / n,
        empirical_agreement=1.0 - errors / trusted,
        risk_upper_bound=_clopper_pearson_upper(errors, trusted, delta),
        min_calibration_items=needed,
    )


def apply_threshold(confidences: ArrayLike, threshold: float | None) -> NDArray[np.bool_]:
    """Which items to trust (True) at this threshold; the others are escalated. None trusts nothing."""
    conf = np.asarray(confidences, dtype=float)
    if threshold is None:
        return np.zeros(conf.shape, dtype=bool)
    return conf >= threshold


def selective_curve(
    confidences: ArrayLike, correct: ArrayLike, *, delta: float = 0.1, alphas: Sequence[float], min_trusted: int = 0
) -> list[SelectiveCalibration]:
    """Coverage against guaranteed agreement: one calibration per alpha (uncertifiable alphas get coverage 0)."""
    if len(alphas) == 0:
        raise ConfigError("selective_curve needs at least one alpha (target disagreement rate), e.g. 0.05, 0.1, 0.2")
    return [
        calibrate_threshold(confidences, correct, alpha=alpha, delta=delta, min_trusted=min_trusted) for alpha in alphas
    ]


def _clopper_pearson_upper(errors: int, n: int, delta: float) -> float:
    """Exact one-sided upper (1 - delta) confidence bound on a binomial proportion."""
    if errors >= n:
        return 1.0
    from scipy import stats  # here, not at the top: scipy.stats takes about a second to import

    return float(stats.beta.ppf(1.0 - delta, errors + 1, n - errors))


def _check_levels(alpha: float, delta: float) -> None:
    if not 0.0 < alpha < 1.0:
        raise ConfigError(f"alpha (the tolerated disagreement rate) must be between 0 and 1, got {alpha}")
    if not 0.0 < delta < 1.0:
        raise ConfigError(f"delta (the chance the guarantee may fail) must be between 0 and 1, got {delta}")


def _check_calibration(confidences: ArrayLike, correct: ArrayLike) -> tuple[NDArray[np.float64], NDArray[np.bool_]]:
    conf = np.asarray(confidences, dtype=float).ravel()
    raw_correct = np.asarray(correct).ravel()
    if conf.size == 0:
        raise ConfigError("the calibration set is empty: give each item's judge confidence and whether it was correct")
    if conf.size != raw_correct.size:
        raise ConfigError(
            f"confidences ({conf.size}) and correct ({raw_correct.size}) must have one entry per calibration item"
        )
    if not np.all(np.isfinite(conf)):
        raise ConfigError("confidences must be finite numbers (found NaN or infinity); drop or fix those items")
    if not np.all(np.isin(raw_correct, (0, 1))):
        raise ConfigError("correct must hold booleans or 0/1: whether the judge agreed with the human label")
    return conf, raw_correct.astype(bool)
