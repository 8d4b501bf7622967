"""Bootstrap confidence intervals for any statistic of paired arrays.

Every number meta-evaluation reports (accuracy, kappa, a correlation) comes with a percentile interval from
resampling: items with replacement, whole groups with replacement (cluster bootstrap, for items that share a
prompt or an article), or items within fixed strata (for per-system means). Some statistics are undefined on some
resamples (a kappa when every resampled label is the same, a correlation when one side is constant); those
resamples are skipped and counted rather than poisoning the interval with NaN.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict

from jurist.errors import ConfigError, InputError

Statistic = Callable[..., float]


class Estimate(BaseModel):
    """A point estimate with a bootstrap confidence interval.

    `low`/`high` are NaN when no interval can be computed (fewer than two items, or every resample undefined).
    `skipped` counts resamples on which the statistic was undefined (NaN) and that were left out of the interval.
    """

    model_config = ConfigDict(extra="forbid")

    value: float
    low: float
    high: float
    n: int
    confidence: float = 0.95
    method: str = "percentile"
    n_resamples: int = 0
    skipped: int = 0

    def format(self, digits: int = 3) -> str:
        """`0.512 [0.431, 0.588]`, or just the value when there is no interval."""
        if math.isnan(self.value):
            return "n/a"
        if math.isnan(self.low) or math.isnan(self.high):
            return f"{self.value:.{digits}f}"
        return f"{self.value:.{digits}f} [{self.low:.{digits}f}, {self.high:.{digits}f}]"


def bootstrap_ci(
    statistic: Statistic,
    *arrays: Sequence[Any] | np.ndarray,
    n_resamples: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
    groups: Sequence[Any] | np.ndarray | None = None,
    strata: Sequence[Any] | np.ndarray | None = None,
) -> Estimate:
    """Percentile bootstrap interval for `statistic(*arrays)`; deterministic for a given seed.

    The arrays are paired (same length, row i of each belongs to item i) and are resampled together.
    - plain: items are resampled with replacement (scipy.stats.bootstrap does the resampling);
    - `groups`: whole groups are resampled with replacement and their items concatenated (cluster bootstrap);
    - `strata`: items are resampled with replacement within each stratum, so every stratum keeps its size.
    The statistic receives numpy arrays and returns a float, NaN where it is undefined.
    """
    if not arrays:
        raise ConfigError("bootstrap_ci needs at least one data array after the statistic")
    if not 0 < confidence < 1:
        raise ConfigError(f"confidence must be between 0 and 1 (exclusive), got {confidence}")
    if n_resamples < 1:
        raise ConfigError(f"n_resamples must be at least 1, got {n_resamples}")
    if groups is not None and strata is not None:
        raise ConfigError("give either groups (cluster bootstrap) or strata (stratified bootstrap), not both")
    data = [np.asarray(a) for a in arrays]
    n = len(data[0])
    if n == 0:
        raise ConfigError("cannot bootstrap an empty sample: there are no items")
    for name, keys in (("groups", groups), ("strata", strata)):
        if keys is not None and len(keys) != n:
            raise InputError(f"{name} has {len(keys)} entries but the data has {n} items", field=name)
    if any(len(a) != n for a in data):
        raise InputError(f"paired arrays differ in length: {[len(a) for a in data]}", hint="give one value per item")

    value = float(statistic(*data))
    if groups is not None:
        method = "cluster percentile"
        distribution = _resample_groups(statistic, data, np.asarray(groups), n_resamples, seed)
    elif strata is not None:
        method = "stratified percentile"
        distribution = _resample_within_strata(statistic, data, np.asarray(strata), n_resamples, seed)
    else:
        method = "percentile"
        distribution = _resample_items(statistic, data, n_resamples, seed) if n >= 2 else None
    if distribution is None:
        # One item (or one group): no spread to resample, so no honest interval.
        return Estimate(value=value, low=math.nan, high=math.nan, n=n, confidence=confidence, method="none")

    defined = distribution[~np.isnan(distribution)]
    skipped = int(distribution.size - defined.size)
    if defined.size == 0:
        low = high = math.nan
    else:
        tail = (1 - confidence) / 2 * 100
        low, high = (float(q) for q in np.percentile(defined, [tail, 100 - tail]))
    return Estimate(
        value=value,
        low=low,
        high=high,
        n=n,
        confidence=confidence,
        method=method,
        n_resamples=n_resamples,
        skipped=skipped,
    )


def _resample_items(statistic: Statistic, data: list[np.ndarray], n_resamples: int, seed: int) -> np.ndarray:
    from scipy.stats import DegenerateDataWarning, bootstrap

    def as_float(*resampled: np.ndarray) -> float:
        return float(statistic(*resampled))

    with warnings.catch_warnings():
        # scipy warns when some resample gives NaN; we drop and count those ourselves.
        warnings.simplefilter("ignore", DegenerateDataWarning)
        result = bootstrap(
            tuple(data),
            as_float,
            n_resamples=n_resamples,
            paired=True,
            vectorized=False,
            method="percentile",
            rng=np.random.default_rng(seed),
        )
    return np.asarray(result.bootstrap_distribution, dtype=float)


def _resample_groups(
    statistic: Statistic, data: list[np.ndarray], groups: np.ndarray, n_resamples: int, seed: int
) -> np.ndarray | None:
    _, codes = np.unique(groups, return_inverse=True)
    members = [np.flatnonzero(codes == g) for g in range(codes.max() + 1)]
    if len(members) < 2:
        return None
    rng = np.random.default_rng(seed)
    distribution = np.empty(n_resamples)
    for r in range(n_resamples):
        picked = rng.integers(0, len(members), size=len(members))
        index = np.concatenate([members[g] for g in picked])
        distribution[r] = float(statistic(*(a[index] for a in data)))
    return distribution


def _resample_within_strata(
    statistic: Statistic, data: list[np.ndarray], strata: np.ndarray, n_resamples: int, seed: int
) -> np.ndarray:
    _, codes = np.unique(strata, return_inverse=True)
    members = [np.flatnonzero(codes == s) for s in range(codes.max() + 1)]
    rng = np.random.default_rng(seed)
    distribution = np.empty(n_resamples)
    for r in range(n_resamples):
        index = np.concatenate([m[rng.integers(0, m.size, size=m.size)] for m in members])
        distribution[r] = float(statistic(*(a[index] for a in data)))
    return distribution
