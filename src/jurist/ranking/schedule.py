"""The one pair planner: which comparison to make next so that a Bradley-Terry ranking settles soonest.

Given log-strengths and their Fisher information (bradley_terry.information), the covariance of the strengths is
the information's pseudo-inverse. Two ranking neighbours are settled when their intervals at `confidence` do not
overlap; the shortfall of a pair is the overlap, z·(sd_upper + sd_lower) - gap, when positive. The best next
comparison is the one that lowers the total shortfall most, predicted by a Sherman-Morrison update of the
covariance for each candidate pair: mostly close neighbours whose intervals overlap, and candidates whose intervals
are wide; candidates far apart, whose order is already clear, are rarely chosen. The caller says which pairs may
be compared (the arena: pairs with a prompt left; listwise ranking: uncertain neighbours not yet asked both ways).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from statistics import NormalDist

import numpy as np

Pair = tuple[int, int]


class PairPlanner:
    """The planner for one fit; `add` counts a chosen comparison as made, so one fit can plan a batch."""

    def __init__(
        self, strengths: np.ndarray, information: np.ndarray, confidence: float, order: Sequence[int] | None = None
    ) -> None:
        self.strengths = np.asarray(strengths, dtype=float)
        # ranking, best first; by default by strength (ties by index)
        self.order = np.array(order if order is not None else np.argsort(-self.strengths, kind="stable"), dtype=int)
        self.z = NormalDist().inv_cdf(0.5 + confidence / 2)
        self.covariance = np.linalg.pinv(information)

    def _weight(self, i: int, j: int) -> float:
        """The information one comparison of i and j adds: p·(1 - p), p = P(i beats j)."""
        p = 1.0 / (1.0 + math.exp(self.strengths[j] - self.strengths[i]))
        return p * (1.0 - p)

    def _cost(self, variances: np.ndarray) -> np.ndarray:
        """Total shortfall over neighbour pairs, plus a tiny share of the summed sds to break ties (and to keep
        shrinking intervals once nothing overlaps). `variances` is candidates x plans."""
        sd = np.sqrt(np.clip(variances, 0.0, None))
        upper, lower = self.order[:-1], self.order[1:]
        gap = (self.strengths[upper] - self.strengths[lower])[:, None]
        shortfall = np.clip(self.z * (sd[upper] + sd[lower]) - gap, 0.0, None)
        return shortfall.sum(axis=0) + 1e-6 * sd.sum(axis=0)

    def best(self, pairs: Sequence[Pair]) -> Pair:
        """The pair whose next comparison lowers the cost most (the first such pair on equal costs)."""
        first = np.array([i for i, _ in pairs])
        second = np.array([j for _, j in pairs])
        weight = np.array([self._weight(i, j) for i, j in zip(first, second, strict=True)])
        spread = self.covariance[:, first] - self.covariance[:, second]
        along = spread[first, np.arange(len(pairs))] - spread[second, np.arange(len(pairs))]
        variances = np.diag(self.covariance)[:, None] - weight * spread**2 / (1.0 + weight * along)
        return pairs[int(np.argmin(self._cost(variances)))]

    def add(self, pair: Pair) -> None:
        i, j = pair
        weight = self._weight(i, j)
        spread = self.covariance[:, i] - self.covariance[:, j]
        self.covariance -= weight * np.outer(spread, spread) / (1.0 + weight * (spread[i] - spread[j]))
