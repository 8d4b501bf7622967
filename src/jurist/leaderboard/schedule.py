"""Which battles to run: fixed designs (all pairs, everyone against a baseline) and an adaptive one that spends the
judge's budget on the pairs of systems whose order is still uncertain.

A match is `(prompt_id, model_a, model_b)`. Fixed designs alternate which system is shown first, so a judge's
position bias does not favour one side. The adaptive design fits Bradley-Terry to the battles so far and gives
each next battle to the pair of systems that jurist.ranking's pair planner chooses (ranking/schedule.py): the one
that most shrinks the overlap between neighbouring intervals. Each pair gets prompts it has not been compared on
yet, least-used prompts first.
"""

from __future__ import annotations

import itertools
from collections import Counter, defaultdict
from collections.abc import Sequence

import numpy as np

from jurist.errors import ConfigError
from jurist.leaderboard.battles import Battle
from jurist.leaderboard.ratings import ELO_PER_LOGIT, BradleyTerry, bradley_terry
from jurist.ranking import PairPlanner
from jurist.ranking import bradley_terry as bt

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


def _pairs(battles: Sequence[Battle], systems: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """The battles' two systems as indices into `systems`."""
    index = {name: i for i, name in enumerate(systems)}
    first = np.array([index[b.model_a] for b in battles], dtype=int)
    second = np.array([index[b.model_b] for b in battles], dtype=int)
    return first, second


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


def _planner(battles: Sequence[Battle], systems: Sequence[str]) -> PairPlanner:
    """The pair planner at the Davidson fit of the battles (its information counts a tie as half a win); the
    covariance is of the mean-anchored log-strengths, the same anchoring as the reported intervals."""
    fitted = bradley_terry(battles, n_bootstrap=0)
    strengths = np.array([fitted.scores[name] / ELO_PER_LOGIT for name in systems])
    first, second = _pairs(battles, systems)
    information = bt.information(strengths, first, second, np.ones(len(battles)))
    order = [list(systems).index(name) for name in fitted.ranking]
    return PairPlanner(strengths, information, fitted.confidence, order=order)


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
    Bradley-Terry fit (see jurist.ranking.PairPlanner): pairs of close systems whose intervals overlap, and
    systems whose intervals are wide. A pair is never given a prompt it was already compared on (least-used
    prompts first), so fewer than `budget` matches come back only when every pair has seen every prompt. Who goes
    first is a coin flip.
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

    if len(bt.groups(len(systems), *_pairs(battles, systems))) > 1:
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

    planner = _planner(battles, systems)
    named = {(i, j): (systems[i], systems[j]) for i, j in itertools.combinations(range(len(systems)), 2)}
    candidates = [pair for pair, names in named.items() if ledger.has_fresh(names)]
    while candidates and len(matches) < budget:
        pair = planner.best(candidates)
        schedule(named[pair])
        planner.add(pair)
        if not ledger.has_fresh(named[pair]):
            candidates.remove(pair)
    return matches
