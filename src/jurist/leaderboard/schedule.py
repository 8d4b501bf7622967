"""Which battles to run: fixed designs (all pairs, everyone against a baseline) and an adaptive one that spends the
judge's budget on the pairs of systems whose order is still uncertain.

A match is `(prompt_id, model_a, model_b)`. Fixed designs alternate which system is shown first, so a judge's
position bias does not favour one side. The adaptive design fits Bradley-Terry to the battles so far and gives
each next battle to the pair of systems that most shrinks the overlap between neighbouring intervals - mostly
close systems whose intervals overlap; systems far apart, whose order is already clear, are rarely compared.
Each pair gets prompts it has not been compared on yet, least-used prompts first.
"""

from __future__ import annotations

import itertools
import math
from collections import Counter, defaultdict
from collections.abc import Sequence
from statistics import NormalDist

import numpy as np

from jurist.errors import ConfigError
from jurist.leaderboard.battles import Battle
from jurist.leaderboard.ratings import ELO_PER_LOGIT, BradleyTerry, bradley_terry

Match = tuple[str, str, str]


def _check(systems: Sequence[str], prompts: Sequence[str]) -> None:
    if len(set(systems)) != len(systems):
        repeated = sorted(name for name, count in Counter(systems).items() if count > 1)
        raise ConfigError(f"systems are listed more than once: {repeated}; give each system once")
    if len(systems) < 2:
        raise ConfigError(f"a schedule needs at least 2 systems; got {list(systems)}")
    if not prompts:
        raise ConfigError("a schedule needs at least one prompt")
    if len(set(prompts)) != len(prompts):
        raise ConfigError("prompt ids are listed more than once; give each prompt once")


def all_pairs_schedule(systems: Sequence[str], prompts: Sequence[str]) -> list[Match]:
    """Every pair of systems on every prompt; who goes first alternates across prompts and pairs."""
    _check(systems, prompts)
    schedule = []
    for p, prompt in enumerate(prompts):
        for k, (first, second) in enumerate(itertools.combinations(systems, 2)):
            schedule.append((prompt, first, second) if (p + k) % 2 == 0 else (prompt, second, first))
    return schedule


def baseline_schedule(systems: Sequence[str], prompts: Sequence[str], baseline: str) -> list[Match]:
    """Every system against `baseline` on every prompt; the baseline goes first on every other prompt."""
    _check(systems, prompts)
    if baseline not in systems:
        raise ConfigError(f"baseline '{baseline}' is not one of the systems: {', '.join(systems)}")
    schedule = []
    for p, prompt in enumerate(prompts):
        for system in systems:
            if system != baseline:
                schedule.append((prompt, baseline, system) if p % 2 == 0 else (prompt, system, baseline))
    return schedule


def settled(bt: BradleyTerry) -> bool:
    """True when every pair of neighbours in the ranking has disjoint intervals (the order is resolved)."""
    # A comparison with NaN (no intervals) is False, so a fit without bootstrap is never settled.
    return all(bt.intervals[worse][1] < bt.intervals[better][0] for better, worse in itertools.pairwise(bt.ranking))


def _is_connected(battles: Sequence[Battle], systems: Sequence[str]) -> bool:
    linked: dict[str, set[str]] = defaultdict(set)
    for battle in battles:
        linked[battle.model_a].add(battle.model_b)
        linked[battle.model_b].add(battle.model_a)
    seen, frontier = {systems[0]}, [systems[0]]
    while frontier:
        for other in linked[frontier.pop()]:
            if other not in seen:
                seen.add(other)
                frontier.append(other)
    return seen >= set(systems)


class _PromptLedger:
    """Which prompts each pair of systems has been compared on, and how often each prompt was used."""

    def __init__(self, battles: Sequence[Battle], prompts: Sequence[str], rng: np.random.Generator) -> None:
        self.prompts = list(prompts)
        self.prompt_set = set(prompts)
        self.used: dict[frozenset[str], set[str]] = defaultdict(set)
        self.use: Counter[str] = Counter()
        for battle in battles:
            self.used[frozenset((battle.model_a, battle.model_b))].add(battle.prompt_id)
            self.use[battle.prompt_id] += 1
        self.tiebreak = dict(zip(self.prompts, rng.permutation(len(self.prompts)).tolist(), strict=True))

    def has_fresh(self, pair: tuple[str, str]) -> bool:
        return not self.prompt_set <= self.used[frozenset(pair)]

    def take(self, pair: tuple[str, str]) -> str | None:
        """A prompt the pair has not been compared on, the least used one first; None when there is none."""
        taken = self.used[frozenset(pair)]
        free = [p for p in self.prompts if p not in taken]
        if not free:
            return None
        prompt = min(free, key=lambda p: (self.use[p], self.tiebreak[p]))
        taken.add(prompt)
        self.use[prompt] += 1
        return prompt


class _IntervalPlanner:
    """Predicts how one more battle between two systems would shrink the Bradley-Terry intervals.

    Uses the Fisher information of the fit (a tie counted as half a win): each battle between i and j adds
    p·(1 - p)·(e_i - e_j)(e_i - e_j)ᵀ, p = P(i beats j) at the fitted scores; the pseudo-inverse is the covariance
    of the mean-anchored log-strengths, the same anchoring as the reported intervals. The shortfall of a pair of
    ranking neighbours is how far their intervals overlap: z·(sd_upper + sd_lower) - gap, when positive.
    """

    def __init__(self, battles: Sequence[Battle], systems: Sequence[str], bt: BradleyTerry) -> None:
        self.systems = list(systems)
        index = {name: i for i, name in enumerate(self.systems)}
        self.strength = np.array([bt.scores[name] / ELO_PER_LOGIT for name in self.systems])
        self.order = np.array([index[name] for name in bt.ranking])
        self.z = NormalDist().inv_cdf(0.5 + bt.confidence / 2)
        information = np.zeros((len(systems), len(systems)))
        for battle in battles:
            i, j = index[battle.model_a], index[battle.model_b]
            weight = self._weight(i, j)
            information[[i, j], [i, j]] += weight
            information[[i, j], [j, i]] -= weight
        self.covariance = np.linalg.pinv(information)

    def _weight(self, i: int, j: int) -> float:
        p = 1.0 / (1.0 + math.exp(self.strength[j] - self.strength[i]))
        return p * (1.0 - p)

    def _cost(self, variances: np.ndarray) -> np.ndarray:
        """Total shortfall over neighbour pairs, plus a tiny share of the summed sds to break ties (and to keep
        shrinking intervals once nothing overlaps). `variances` is systems x candidates."""
        sd = np.sqrt(np.clip(variances, 0.0, None))
        upper, lower = self.order[:-1], self.order[1:]
        gap = (self.strength[upper] - self.strength[lower])[:, None]
        shortfall = np.clip(self.z * (sd[upper] + sd[lower]) - gap, 0.0, None)
        return shortfall.sum(axis=0) + 1e-6 * sd.sum(axis=0)

    def best(self, pairs: list[tuple[str, str]]) -> tuple[str, str]:
        """The pair whose next battle lowers the cost most (Sherman-Morrison update for each candidate)."""
        first = np.array([self.systems.index(a) for a, _ in pairs])
        second = np.array([self.systems.index(b) for _, b in pairs])
        weight = np.array([self._weight(i, j) for i, j in zip(first, second, strict=True)])
        spread = self.covariance[:, first] - self.covariance[:, second]
        along = spread[first, np.arange(len(pairs))] - spread[second, np.arange(len(pairs))]
        variances = np.diag(self.covariance)[:, None] - weight * spread**2 / (1.0 + weight * along)
        return pairs[int(np.argmin(self._cost(variances)))]

    def add(self, pair: tuple[str, str]) -> None:
        i, j = self.systems.index(pair[0]), self.systems.index(pair[1])
        weight = self._weight(i, j)
        spread = self.covariance[:, i] - self.covariance[:, j]
        self.covariance -= weight * np.outer(spread, spread) / (1.0 + weight * (spread[i] - spread[j]))


def next_battles(
    battles: Sequence[Battle],
    systems: Sequence[str],
    prompts: Sequence[str],
    budget: int,
    *,
    seed: int = 0,
) -> list[Match]:
    """Up to `budget` new matches that bring the ranking closest to settled (see `settled`).

    While the battles do not yet link every system (e.g. none at all), the matches form a connected seed design:
    a ring through the systems in a random order, the budget shared round-robin. Afterwards, each match goes to
    the pair of systems whose next battle most shrinks the overlap of neighbouring intervals under the current
    Bradley-Terry fit (see `_IntervalPlanner`): pairs of close systems whose intervals overlap, and systems whose
    intervals are wide. A pair is never given a prompt it was already compared on (least-used prompts first), so
    fewer than `budget` matches come back only when every pair has seen every prompt. Who goes first is a coin
    flip.
    """
    _check(systems, prompts)
    if budget < 0:
        raise ConfigError(f"budget must be 0 or more, got {budget}")
    unknown = sorted(({b.model_a for b in battles} | {b.model_b for b in battles}) - set(systems))
    if unknown:
        raise ConfigError(f"battles name systems that are not in the schedule: {unknown}; add them to systems")
    rng = np.random.default_rng(seed)
    ledger = _PromptLedger(battles, prompts, rng)
    matches: list[Match] = []

    def schedule(pair: tuple[str, str]) -> bool:
        prompt = ledger.take(pair)
        if prompt is None:
            return False
        first, second = pair if rng.random() < 0.5 else pair[::-1]
        matches.append((prompt, first, second))
        return True

    if not _is_connected(battles, systems):
        order = [systems[i] for i in rng.permutation(len(systems))]
        ring = list(zip(order, order[1:] + order[:1], strict=True)) if len(order) > 2 else [(order[0], order[1])]
        # Pairs with the fewest battles first, so repeated calls with a small budget complete the ring.
        active = sorted(ring, key=lambda pair: len(ledger.used[frozenset(pair)]))
        turn = 0
        while active and len(matches) < budget:
            pair = active[turn % len(active)]
            if schedule(pair):
                turn += 1
            else:
                active.remove(pair)
        return matches

    planner = _IntervalPlanner(battles, systems, bradley_terry(battles, n_bootstrap=0))
    candidates = [pair for pair in itertools.combinations(systems, 2) if ledger.has_fresh(pair)]
    while candidates and len(matches) < budget:
        pair = planner.best(candidates)
        schedule(pair)
        planner.add(pair)
        if not ledger.has_fresh(pair):
            candidates.remove(pair)
    return matches
