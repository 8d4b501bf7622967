"""Correlation between judge scores and human scores, at the three levels summarisation research reports.

- item level: one correlation over all items;
- group level ("summary-level" in G-Eval/SummEval): correlate within each group (e.g. the summaries of one
  article), skip groups where either side is constant (the correlation is undefined there), average over groups;
- system level: average the human and the judge score of each system, then correlate those averages.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict

from jurist.errors import ConfigError, InputError
from jurist.stats.bootstrap import Estimate, bootstrap_ci

CorrelationMethod = Literal["pearson", "spearman", "kendall"]
METHODS: tuple[CorrelationMethod, ...] = ("pearson", "spearman", "kendall")


class LevelCorrelations(BaseModel):
    """One correlation method at each level; a level is None when its grouping was not given."""

    model_config = ConfigDict(extra="forbid")

    item: Estimate
    group: Estimate | None = None
    system: Estimate | None = None


class CorrelationReport(BaseModel):
    """Judge-human correlations per method and level, each with a bootstrap interval.

    `n` counts items. In the estimates, `item.n` and `system.n` count items too, `group.n` counts the groups used.
    `groups_skipped` are groups where humans or the judge gave every item the same score (or that hold one item).
    """

    model_config = ConfigDict(extra="forbid")

    n: int
    by_method: dict[str, LevelCorrelations]
    n_groups: int | None = None
    groups_used: int | None = None
    groups_skipped: int | None = None
    n_systems: int | None = None

    def render(self) -> str:
        """A plain-text table: one row per method, one column per level."""
        columns = ["item"]
        if self.n_groups is not None:
            columns.append("group")
        if self.n_systems is not None:
            columns.append("system")
        width = 26
        lines = [("method".ljust(10) + "".join(c.ljust(width) for c in columns)).rstrip()]
        for method, levels in self.by_method.items():
            cells = [levels.item, levels.group, levels.system]
            shown = [cell.format() for cell in cells if cell is not None]
            lines.append((method.ljust(10) + "".join(text.ljust(width) for text in shown)).rstrip())
        notes = [f"items: {self.n}"]
        if self.n_groups is not None:
            notes.append(f"groups: {self.groups_used} used, {self.groups_skipped} skipped (constant scores)")
        if self.n_systems is not None:
            notes.append(f"systems: {self.n_systems}")
        return "\n".join([*lines, "; ".join(notes)])


def correlate(x: Sequence[float] | np.ndarray, y: Sequence[float] | np.ndarray, method: str = "pearson") -> float:
    """Pearson, Spearman or Kendall (tau-b) correlation; NaN when either side is constant or n < 2."""
    _check_method(method)
    xs, ys = _scores(x, "x"), _scores(y, "y")
    if xs.size != ys.size:
        raise InputError(f"x has {xs.size} values but y has {ys.size}", hint="give one pair of scores per item")
    return _correlate(xs, ys, method)


def correlation_report(
    human: Sequence[float] | np.ndarray,
    judge: Sequence[float] | np.ndarray,
    groups: Sequence[str | int] | None = None,
    systems: Sequence[str | int] | None = None,
    methods: Sequence[str] = METHODS,
    n_resamples: int = 1000,
    seed: int = 0,
    confidence: float = 0.95,
) -> CorrelationReport:
    """Item-, group- and system-level correlations of `judge` with `human`, each with a bootstrap interval.

    Intervals: item level resamples items, or whole groups when `groups` is given (items of one article are not
    independent); group level resamples the groups used. System level resamples items within each system and
    recomputes the system means: the systems are the fixed set being compared, and the uncertainty is in how well
    each system's mean is known from its finite items. Resampling the systems themselves would, with the handful of
    systems usually compared, mostly duplicate points and give unstable or undefined correlations.
    """
    for method in methods:
        _check_method(method)
    if not methods:
        raise ConfigError("no correlation methods given: use some of 'pearson', 'spearman', 'kendall'")
    h, j = _scores(human, "human"), _scores(judge, "judge")
    if h.size == 0 and j.size == 0:
        raise ConfigError("no items to correlate: both score lists are empty")
    if h.size != j.size:
        raise InputError(f"{h.size} human scores but {j.size} judge scores", hint="give one pair of scores per item")
    for name, keys in (("groups", groups), ("systems", systems)):
        if keys is not None and len(keys) != h.size:
            raise InputError(f"{name} has {len(keys)} entries but there are {h.size} items", field=name)

    group_values: dict[str, list[float]] = {}
    n_groups = groups_used = None
    if groups is not None:
        _, group_codes = np.unique(np.asarray(groups), return_inverse=True)
        members = [np.flatnonzero(group_codes == g) for g in range(group_codes.max() + 1)]
        usable = [m for m in members if np.ptp(h[m]) > 0 and np.ptp(j[m]) > 0]
        n_groups, groups_used = len(members), len(usable)
        group_values = {method: [_correlate(h[m], j[m], method) for m in usable] for method in methods}
    system_codes = None if systems is None else np.unique(np.asarray(systems), return_inverse=True)[1]

    by_method: dict[str, LevelCorrelations] = {}
    for method in methods:

        def item_level(a: np.ndarray, b: np.ndarray, method: str = method) -> float:
            return _correlate(a, b, method)

        item = bootstrap_ci(item_level, h, j, groups=groups, n_resamples=n_resamples, seed=seed, confidence=confidence)
        levels = LevelCorrelations(item=item)
        if groups is not None:
            levels.group = _mean_of_groups(group_values[method], n_resamples, seed, confidence)
        if system_codes is not None:

            def system_level(a: np.ndarray, b: np.ndarray, codes: np.ndarray, method: str = method) -> float:
                return _correlate(_means_by(a, codes), _means_by(b, codes), method)

            levels.system = bootstrap_ci(
                system_level,
                h,
                j,
                system_codes,
                strata=system_codes,
                n_resamples=n_resamples,
                seed=seed,
                confidence=confidence,
            )
        by_method[method] = levels

    return CorrelationReport(
        n=int(h.size),
        by_method=by_method,
        n_groups=n_groups,
        groups_used=groups_used,
        groups_skipped=None if n_groups is None or groups_used is None else n_groups - groups_used,
        n_systems=None if system_codes is None else int(system_codes.max() + 1),
    )


def _mean_of_groups(values: list[float], n_resamples: int, seed: int, confidence: float) -> Estimate:
    # Resampling the usable groups and averaging their correlations is the same as resampling the per-group values.
    if not values:
        return Estimate(value=math.nan, low=math.nan, high=math.nan, n=0, confidence=confidence, method="none")
    return bootstrap_ci(np.mean, values, n_resamples=n_resamples, seed=seed, confidence=confidence)


def _means_by(values: np.ndarray, codes: np.ndarray) -> np.ndarray:
    return np.bincount(codes, weights=values) / np.bincount(codes)


def _correlate(x: np.ndarray, y: np.ndarray, method: str) -> float:
    if x.size < 2 or np.ptp(x) == 0 or np.ptp(y) == 0:
        return math.nan
    # Pearson and Spearman (Pearson on average ranks) via numpy: this runs once per bootstrap resample, and
    # scipy.stats.pearsonr/spearmanr add about half a millisecond of checks to every call.
    if method == "pearson":
        return float(np.corrcoef(x, y)[0, 1])
    if method == "spearman":
        return float(np.corrcoef(_average_ranks(x), _average_ranks(y))[0, 1])
    from scipy.stats import kendalltau  # only here: importing scipy.stats costs about a second and a half of CPU

    return float(kendalltau(x, y).statistic)


def _average_ranks(x: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
    """1-based ranks, ties given the mean of the ranks they span: scipy.stats.rankdata's "average", value for value
    (every rank is a whole or half number, exact in a float), without importing scipy.stats for the run summary.
    With `weights`, each value stands for that many equal values (`JointCounts`' distinct pairs)."""
    _, inverse, counts = np.unique(x, return_inverse=True, return_counts=True)
    if weights is not None:
        counts = np.bincount(inverse, weights=weights)
    last = np.cumsum(counts)  # the rank of the last value of each tie
    return (last - (counts - 1) / 2)[inverse]


def _check_method(method: str) -> None:
    if method not in METHODS:
        raise ConfigError(f"unknown correlation method {method!r}: use one of {', '.join(METHODS)}")


def _scores(values: Sequence[float] | np.ndarray, what: str) -> np.ndarray:
    try:
        scores = np.asarray(values, dtype=float)
    except (TypeError, ValueError) as exc:
        raise InputError(f"{what} scores must be numbers: {exc}", field=what) from None
    if scores.ndim != 1:
        raise InputError(f"{what} scores must be a flat list of numbers, got shape {scores.shape}", field=what)
    if np.isnan(scores).any():
        first = int(np.flatnonzero(np.isnan(scores))[0])
        raise InputError(
            f"{what} scores hold a missing value (NaN) at item {first}",
            field=what,
            hint="drop items without a score on both sides before correlating",
        )
    return scores


# JointCounts keeps at most this many distinct (x, y) pairs before it bins them (about 10 MB of Python objects).
JOINT_CAP = 65_536


class JointCounts:
    """Pearson and Spearman over (x, y) pairs added one at a time, in memory that grows with the number of distinct
    pairs, not of pairs: a run's summary over a million items keeps a few dozen (judge score, human label) pairs
    with their counts, where arrays of every pair (and the ranks to correlate them) took about 80 MB. Exact, equal
    to `correlate` on the same pairs, while there are at most `cap` distinct pairs; past that (continuous values,
    such as expected scores, over very many items) both values are binned to fewer decimals (floor(v * 10^d): a
    coarser bin is a whole number of finer ones, so binning again in steps equals binning once), one decimal at a
    time until the pairs fit, and `decimals` says to how many (None: exact) so that a caller can say so."""

    def __init__(self, cap: int | None = None) -> None:
        self.cap = JOINT_CAP if cap is None else cap
        self.counts: dict[tuple[float, float], int] = {}  # (x, y) -> count; binned: (bin of x, bin of y)
        self.n = 0
        self.decimals: int | None = None

    def add(self, x: float, y: float) -> None:
        key = (x, y) if self.decimals is None else (self._bin(x), self._bin(y))
        self.counts[key] = self.counts.get(key, 0) + 1
        self.n += 1
        if len(self.counts) > self.cap:
            self._coarsen()

    def _bin(self, value: float) -> int:
        assert self.decimals is not None
        return math.floor(value * 10.0**self.decimals)

    def _coarsen(self) -> None:
        binned = self.decimals is not None
        self.decimals = 6 if self.decimals is None else self.decimals - 1
        while True:
            merged: dict[tuple[float, float], int] = {}
            for (x, y), count in self.counts.items():
                key = (x // 10, y // 10) if binned else (self._bin(x), self._bin(y))
                merged[key] = merged.get(key, 0) + count
            self.counts, binned = merged, True
            if len(merged) <= self.cap:
                return
            self.decimals -= 1

    def varies(self) -> bool:
        """Whether both x and y take more than one value (else a correlation is undefined)."""
        xs, ys, _ = self._columns()
        return self.n >= 2 and np.ptp(xs) > 0 and np.ptp(ys) > 0

    def correlate(self, method: Literal["pearson", "spearman"]) -> float:
        """The correlation, weighting each distinct pair by its count; NaN when either side is constant."""
        if not self.varies():
            return math.nan
        xs, ys, weights = self._columns()  # bins stand for their values: a shared scale changes no correlation
        if method == "spearman":
            xs, ys = _average_ranks(xs, weights), _average_ranks(ys, weights)
        dx = xs - np.average(xs, weights=weights)
        dy = ys - np.average(ys, weights=weights)
        covariance = np.sum(weights * dx * dy)
        return float(covariance / math.sqrt(np.sum(weights * dx * dx) * np.sum(weights * dy * dy)))

    def _columns(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        pairs = np.array(list(self.counts), dtype=float).reshape(-1, 2)
        return pairs[:, 0], pairs[:, 1], np.array(list(self.counts.values()), dtype=float)
