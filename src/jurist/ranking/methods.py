"""Ranking methods: order N candidates with far fewer comparator calls than all N(N-1)/2 pairs.

Every method takes `n` (the number of candidates, indexed 0..n-1) and an async comparator
`compare(i, j) -> P(i beats j)` in [0, 1], where 0.5 means a tie or "unsure". The comparator may be noisy,
position-biased or intransitive (rock-paper-scissors); every method still terminates and returns a permutation.

- `all_pairs_rank`: the reference. Every unordered pair once, N(N-1)/2 calls; ranked by mean probability.
- `sort_rank`: merge sort with the judge as comparator, about N log2 N calls (at most 49 for N = 16).
- `knockout_best`: single elimination for the best of N: N-1 calls, plus at most N-1 re-asks of close matches.
- `adaptive_rank`: a merge-sort seed, then the Bradley-Terry fit with uncertainty (bradley_terry.py); the pair
  planner (schedule.py) picks which uncertain pair of neighbours to ask next, until every neighbouring pair is
  ordered with the asked confidence, the budget is spent, or no useful question is left.

Calls are memoised per unordered pair: once (i, j) is known, (j, i) is answered as 1 - P(i beats j) without a
call. Only `knockout_best` (close matches) and `adaptive_rank` (uncertain neighbours) ask a pair again on
purpose, and then always in the other presentation order, so no ordered pair is ever asked twice.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Sequence
from typing import Literal

import numpy as np
from pydantic import BaseModel, Field

from ..errors import ConfigError
from . import bradley_terry
from .compare import Compare, JudgeComparator, PairJudge, pairwise_comparator
from .schedule import PairPlanner

Method = Literal["sort", "knockout", "adaptive", "all_pairs"]
METHODS: tuple[Method, ...] = ("sort", "knockout", "adaptive", "all_pairs")
StopReason = Literal["settled", "budget", "exhausted"]


class RankResult(BaseModel):
    """The outcome of one ranking.

    `ranking` lists candidate indices, best first. For `knockout` it is only a partial order: the winner, then
    the candidates by the round in which they were knocked out (later is better), ties by their index.
    `scores` is the method's score per candidate (by index) where it has one. `stop_reason` is set by
    `adaptive_rank`: "settled" (every neighbouring pair is ordered with the asked confidence), "budget" (the
    budget was spent first) or "exhausted" (no pair left worth asking).
    """

    method: Method
    ranking: list[int]
    best: int
    calls: int = Field(ge=0)
    scores: list[float] | None = None
    stop_reason: StopReason | None = None
    errors: list[str] = Field(default_factory=list, description="judge failures counted as ties (rank_responses)")


class _BudgetSpent(Exception):
    """Raised inside an algorithm when the next comparison would exceed the budget."""


class _Ledger:
    """Memoised, counted access to the comparator.

    `ask(i, j)` returns P(i beats j): from memory when the pair was asked in either order, otherwise by a call.
    `reask(i, j)` deliberately calls again (the caller asks in the order not yet used) and records it.
    Every answer is also kept as an observation (`obs`) for score fitting.
    """

    def __init__(self, n: int, compare: Compare, budget: int | None = None, concurrency: int = 8) -> None:
        self.n = n
        self._compare = compare
        self.budget = budget
        self.calls = 0
        self.asked: set[tuple[int, int]] = set()  # ordered pairs actually sent to the comparator
        self._memo: dict[tuple[int, int], float] = {}  # (i, j) -> P(i beats j), first answer per ordered pair
        # (min, max) -> [count, summed P(min beats max)]
        self.obs: dict[tuple[int, int], list[float]] = {}
        self._semaphore = asyncio.Semaphore(max(1, concurrency))

    def known(self, i: int, j: int) -> float | None:
        if (i, j) in self._memo:
            return self._memo[(i, j)]
        if (j, i) in self._memo:
            return 1.0 - self._memo[(j, i)]
        return None

    async def ask(self, i: int, j: int) -> float:
        cached = self.known(i, j)
        if cached is not None:
            return cached
        return await self._call(i, j)

    async def reask(self, i: int, j: int) -> float:
        """Ask again on purpose. Uses the presentation order (i, j); an ordered pair already asked is refused."""
        if (i, j) in self.asked:
            raise ValueError(f"pair ({i}, {j}) was already asked in this order")
        return await self._call(i, j)

    def can_reask(self, i: int, j: int) -> bool:
        return (i, j) not in self.asked

    def times_asked(self, i: int, j: int) -> int:
        return int((i, j) in self.asked) + int((j, i) in self.asked)

    async def _call(self, i: int, j: int) -> float:
        if i == j:
            raise ValueError("a candidate cannot be compared with itself")
        if self.budget is not None and self.calls >= self.budget:
            raise _BudgetSpent
        self.calls += 1  # counted before the await so concurrent callers respect the budget
        self.asked.add((i, j))
        async with self._semaphore:
            raw = await self._compare(i, j)
        p = _clip(raw)
        self._memo.setdefault((i, j), p)
        key, p_low = ((i, j), p) if i < j else ((j, i), 1.0 - p)
        entry = self.obs.setdefault(key, [0.0, 0.0])
        entry[0] += 1.0
        entry[1] += p_low
        return p

    def mean(self, i: int, j: int) -> float | None:
        """Mean of every answer about the pair, as P(i beats j)."""
        key = (min(i, j), max(i, j))
        if key not in self.obs:
            return None
        count, p_low = self.obs[key]
        mean_low = p_low / count
        return mean_low if i < j else 1.0 - mean_low


def _clip(p: float) -> float:
    if not isinstance(p, int | float) or math.isnan(p):
        return 0.5
    return min(1.0, max(0.0, float(p)))


def _check(n: int, budget: int | None = None) -> None:
    if not isinstance(n, int) or n < 2:
        raise ConfigError(f"ranking needs at least 2 candidates, got n={n!r}")
    if budget is not None and budget < 0:
        raise ConfigError(f"budget must be a non-negative number of comparator calls, got {budget}")


# -- all pairs (the reference) ---------------------------------------------------------------------------------


async def all_pairs_rank(n: int, compare: Compare, *, concurrency: int = 8) -> RankResult:
    """Every unordered pair once: N(N-1)/2 calls, run concurrently (at most `concurrency` at a time).

    Presentation order alternates with the parity of i + j, so each candidate is shown first in about half of its
    comparisons (a position-biased judge then favours nobody). Ranked by mean P(win) over all opponents, ties by
    hard wins, then by index.
    """
    _check(n)
    ledger = _Ledger(n, compare, concurrency=concurrency)
    pairs = [(i, j) if (i + j) % 2 else (j, i) for i in range(n) for j in range(i + 1, n)]
    await asyncio.gather(*(ledger.ask(i, j) for i, j in pairs))
    scores = [0.0] * n
    wins = [0.0] * n
    for i in range(n):
        for j in range(n):
            if i != j:
                p = ledger.known(i, j)
                assert p is not None
                scores[i] += p / (n - 1)
                wins[i] += 1.0 if p > 0.5 else 0.5 if p == 0.5 else 0.0
    ranking = sorted(range(n), key=lambda k: (-scores[k], -wins[k], k))
    return RankResult(method="all_pairs", ranking=ranking, best=ranking[0], calls=ledger.calls, scores=scores)


# -- merge sort -----------------------------------------------------------------------------------------------


async def _merge(ledger: _Ledger, left: list[int], right: list[int]) -> list[int]:
    out: list[int] = []
    a = b = 0
    while a < len(left) and b < len(right):
        # A tie (exactly 0.5) keeps the left run first: the sort is stable and never loops.
        if await ledger.ask(left[a], right[b]) >= 0.5:
            out.append(left[a])
            a += 1
        else:
            out.append(right[b])
            b += 1
    return out + left[a:] + right[b:]


async def _merge_sort(ledger: _Ledger, items: list[int]) -> list[int]:
    """Bottom-up merge sort; the merges of one level run concurrently.

    Its structure does not depend on the answers, so it terminates after at most n*ceil(log2 n) - 2^ceil(log2 n)
    + 1 comparisons and returns a permutation whatever the comparator says, even when it contradicts itself.
    """
    runs = [[k] for k in items]
    while len(runs) > 1:
        pairs = [(runs[k], runs[k + 1]) for k in range(0, len(runs) - 1, 2)]
        # Every merge is let finish before a failure (budget spent) is raised, so no call is left running.
        merged = await asyncio.gather(*(_merge(ledger, left, right) for left, right in pairs), return_exceptions=True)
        for outcome in merged:
            if isinstance(outcome, BaseException):
                raise outcome
        runs = [m for m in merged if not isinstance(m, BaseException)] + ([runs[-1]] if len(runs) % 2 else [])
    return runs[0]


def merge_sort_max_calls(n: int) -> int:
    """The worst-case number of comparisons of `sort_rank` for n candidates."""
    if n < 2:
        return 0
    depth = math.ceil(math.log2(n))
    return n * depth - 2**depth + 1


async def sort_rank(n: int, compare: Compare, *, concurrency: int = 8) -> RankResult:
    """Merge sort with the judge as comparator: at most n*ceil(log2 n) - 2^ceil(log2 n) + 1 calls (49 for n = 16).

    Each pair is asked at most once (memoised; never re-asked). Merge sort is used because its comparisons are
    fixed by structure (no pivot whose one bad answer misplaces a whole partition), a wrong answer between two
    close candidates only swaps them locally, and it always terminates with a permutation, even for an
    intransitive comparator. The merges of each level run concurrently, so latency is about 2n sequential calls.
    """
    _check(n)
    ledger = _Ledger(n, compare, concurrency=concurrency)
    ranking = await _merge_sort(ledger, list(range(n)))
    return RankResult(method="sort", ranking=ranking, best=ranking[0], calls=ledger.calls)


# -- knockout -------------------------------------------------------------------------------------------------


async def knockout_best(
    n: int, compare: Compare, *, margin: float = 0.2, max_rematches: int | None = None, concurrency: int = 8
) -> RankResult:
    """A single-elimination tournament for the best of n: n-1 matches, one call each.

    Candidates are paired in index order each round; with an odd count the last one gets a bye. A match whose
    answer is close (|P - 0.5| <= margin) is deliberately asked again in the other presentation order (which also
    cancels a position bias) and decided by the mean of both answers; at most `max_rematches` such re-asks
    (default n-1), so the total stays within 2(n-1) calls. A match still tied after that goes to the first-listed
    candidate. Matches of one round run concurrently.
    """
    _check(n)
    if not 0.0 <= margin <= 0.5:
        raise ConfigError(f"knockout margin must be within [0, 0.5], got {margin}")
    if max_rematches is not None and max_rematches < 0:
        raise ConfigError(f"max_rematches must be non-negative, got {max_rematches}")
    ledger = _Ledger(n, compare, concurrency=concurrency)
    rematches_left = n - 1 if max_rematches is None else min(max_rematches, n - 1)
    eliminated_in = [0] * n
    alive = list(range(n))
    round_number = 0

    async def match(i: int, j: int) -> int:
        nonlocal rematches_left
        p = await ledger.ask(i, j)
        if abs(p - 0.5) <= margin and rematches_left > 0 and ledger.can_reask(j, i):
            rematches_left -= 1
            p = (p + 1.0 - await ledger.reask(j, i)) / 2
        return i if p >= 0.5 else j

    while len(alive) > 1:
        round_number += 1
        pairs = [(alive[k], alive[k + 1]) for k in range(0, len(alive) - 1, 2)]
        winners = await asyncio.gather(*(match(i, j) for i, j in pairs))
        for (i, j), w in zip(pairs, winners, strict=True):
            eliminated_in[j if w == i else i] = round_number
        alive = list(winners) + ([alive[-1]] if len(alive) % 2 else [])
    best = alive[0]
    eliminated_in[best] = round_number + 1
    ranking = sorted(range(n), key=lambda k: (-eliminated_in[k], k))
    return RankResult(method="knockout", ranking=ranking, best=best, calls=ledger.calls)


# -- adaptive (Bradley-Terry with uncertainty) ----------------------------------------------------------------


def _fit(
    n: int, obs: dict[tuple[int, int], list[float]], prior: float, start: list[float]
) -> tuple[list[float], np.ndarray]:
    """MAP Bradley-Terry log-strengths of every answer so far (soft outcomes, a tie as half a win) with `prior`
    virtual wins and losses against a virtual opponent, which keeps every estimate finite (complete separation,
    unconnected candidates); and their Fisher information."""
    pairs = np.array(list(obs), dtype=int).reshape(-1, 2)
    counts = np.array([count for count, _ in obs.values()], dtype=float)
    shares = np.array([summed for _, summed in obs.values()], dtype=float) / np.maximum(counts, 1.0)
    data = bradley_terry.Comparisons(n=n, first=pairs[:, 0], second=pairs[:, 1], outcome=shares)
    theta = bradley_terry.fit(data, counts, prior=prior, start=np.array(start)).strengths
    return theta.tolist(), bradley_terry.information(theta, data.first, data.second, counts, prior=prior)


def _phi(z: float) -> float:
    return 0.5 * (1.0 + math.erf(z / math.sqrt(2.0)))


def _certainty(ledger: _Ledger, theta: list[float], variances: list[float], a: int, b: int) -> float:
    """How sure the evidence is that a ranks above b: the fitted scores' P(a > b), or the judge's own answer
    averaged over both presentation orders once it has been asked both ways, whichever is higher. The variances
    are the inverse diagonal of the Fisher information (a cheap and slightly optimistic approximation)."""
    fitted = _phi((theta[a] - theta[b]) / math.sqrt(variances[a] + variances[b]))
    direct = ledger.mean(a, b)
    if direct is not None and ledger.times_asked(a, b) == 2:
        return max(fitted, direct)
    return fitted


async def adaptive_rank(
    n: int,
    compare: Compare,
    budget: int | None = None,
    confidence: float = 0.9,
    *,
    prior: float = 0.5,
    concurrency: int = 8,
) -> RankResult:
    """Rank with adaptively chosen pairs, stopping once the ranking is settled or the budget is spent.

    1. Seed: a merge sort (as in `sort_rank`), which orders everything in about n log2 n calls and leaves a
       connected set of comparisons. If the budget runs out during it, the ranking comes from what was seen.
    2. Refine: fit Bradley-Terry scores with uncertainty to every answer so far; order by score; for each pair
       of neighbours (distance 1, and 2 when no neighbour is left to ask), P(order right) = Phi(diff / sd). If every
       neighbouring pair reaches `confidence` (or the judge's own answer, averaged over both presentation
       orders, does), stop ("settled"). Otherwise ask, of the uncertain pairs that can still be asked, the one the
       pair planner (schedule.py) expects to settle the neighbours most (the least certain on equal terms): a
       pair never compared, or one compared once, then deliberately re-asked in the other presentation order (so
       an ordered pair is never asked twice, and a position bias is averaged out). With no such pair left, stop
       ("exhausted").

    `budget` caps the calls (default: n(n-1)/2, the all-pairs cost). The final ranking is by the fitted scores.
    """
    _check(n, budget)
    if not 0.5 < confidence < 1.0:
        raise ConfigError(f"confidence must be in (0.5, 1), got {confidence}")
    if prior <= 0:
        raise ConfigError(f"prior must be positive, got {prior}")
    cap = n * (n - 1) // 2 if budget is None else budget
    ledger = _Ledger(n, compare, budget=cap, concurrency=concurrency)
    seed_order = list(range(n))
    reason: StopReason | None = None
    try:
        seed_order = await _merge_sort(ledger, list(range(n)))
    except _BudgetSpent:
        reason = "budget"
    # Where scores tie (nothing seen), the seed order decides.
    seed_rank = {k: r for r, k in enumerate(seed_order)}
    theta: list[float] = [0.0] * n
    order = seed_order
    while True:
        theta, info = _fit(n, ledger.obs, prior, start=theta)
        order = sorted(range(n), key=lambda k: (-theta[k], seed_rank[k]))
        if reason is not None:
            break
        variances = (1.0 / np.diag(info)).tolist()

        neighbours = [
            (_certainty(ledger, theta, variances, order[r], order[r + 1]), order[r], order[r + 1]) for r in range(n - 1)
        ]
        if all(c >= confidence for c, _, _ in neighbours):
            reason = "settled"
            break
        candidates = [x for x in neighbours if x[0] < confidence and ledger.times_asked(x[1], x[2]) < 2]
        if not candidates:
            candidates = [
                (_certainty(ledger, theta, variances, order[r], order[r + 2]), order[r], order[r + 2])
                for r in range(n - 2)
                if ledger.times_asked(order[r], order[r + 2]) < 2
            ]
            candidates = [x for x in candidates if x[0] < confidence]
        if not candidates:
            reason = "exhausted"
            break
        if ledger.calls >= cap:
            reason = "budget"
            break
        planner = PairPlanner(np.array(theta), info, confidence, order=order)
        a, b = planner.best([(a, b) for _, a, b in sorted(candidates)])
        if ledger.known(a, b) is None:
            # First look at this pair: show the one ranked lower first, against the seed's habit.
            await ledger.ask(b, a)
        else:
            first, second = (a, b) if ledger.can_reask(a, b) else (b, a)
            await ledger.reask(first, second)
    return RankResult(
        method="adaptive", ranking=order, best=order[0], calls=ledger.calls, scores=theta, stop_reason=reason
    )


# -- by name ----------------------------------------------------------------------------------------------


async def rank_responses(
    judge: PairJudge,
    prompt: str,
    responses: Sequence[str],
    method: str = "sort",
    *,
    budget: int | None = None,
    confidence: float = 0.9,
    concurrency: int = 8,
) -> RankResult:
    """Rank `responses` to `prompt` with a pairwise judge, by "sort", "knockout", "adaptive" or "all_pairs".

    `budget` and `confidence` apply to "adaptive" only. The result's `errors` lists judge failures (each counted
    as a tie).
    """
    comparator = pairwise_comparator(judge, prompt, responses)
    return await rank_with(comparator, method, budget=budget, confidence=confidence, concurrency=concurrency)


async def rank_with(
    comparator: JudgeComparator,
    method: str = "sort",
    *,
    budget: int | None = None,
    confidence: float = 0.9,
    concurrency: int = 8,
) -> RankResult:
    """`rank_responses` over a comparator you hold, so its verdicts (usage, raw texts) can be read afterwards."""
    if method not in METHODS:
        raise ConfigError(f"unknown ranking method {method!r}; choose one of {', '.join(METHODS)}")
    if budget is not None and method != "adaptive":
        raise ConfigError(f"budget applies to method 'adaptive' only, not {method!r}")
    n = len(comparator.responses)
    _check(n, budget)
    if method == "sort":
        result = await sort_rank(n, comparator, concurrency=concurrency)
    elif method == "knockout":
        result = await knockout_best(n, comparator, concurrency=concurrency)
    elif method == "adaptive":
        result = await adaptive_rank(n, comparator, budget, confidence, concurrency=concurrency)
    else:
        result = await all_pairs_rank(n, comparator, concurrency=concurrency)
    result.errors = list(comparator.errors)
    return result
