"""Which battles to run: fixed designs, the adaptive design and the settled test."""

from __future__ import annotations

import math
from collections import Counter

import numpy as np
import pytest

from jurist.errors import ConfigError
from jurist.leaderboard import (
    Battle,
    BradleyTerry,
    all_pairs_schedule,
    baseline_schedule,
    next_battles,
    settled,
)

SYSTEMS = ["a", "b", "c", "d"]
PROMPTS = [f"q{i}" for i in range(10)]


def played(matches: list[tuple[str, str, str]], strength: dict[str, float], seed: int) -> list[Battle]:
    """Play matches with Bradley-Terry outcomes (no ties)."""
    rng = np.random.default_rng(seed)
    battles = []
    for prompt, a, b in matches:
        p_a = 1 / (1 + math.exp(strength[b] - strength[a]))
        battles.append(Battle(prompt_id=prompt, model_a=a, model_b=b, winner="A" if rng.random() < p_a else "B"))
    return battles


def test_all_pairs_covers_every_pair_on_every_prompt_with_balanced_positions() -> None:
    schedule = all_pairs_schedule(SYSTEMS, PROMPTS)
    assert len(schedule) == len(PROMPTS) * 6
    pairs = Counter((prompt, frozenset((a, b))) for prompt, a, b in schedule)
    assert set(pairs.values()) == {1} and len(pairs) == len(schedule)
    first = Counter(a for _, a, _ in schedule)
    assert all(first[s] == 15 for s in SYSTEMS)  # each system is shown first in half of its 30 battles


def test_baseline_schedule_alternates_the_baseline_position() -> None:
    schedule = baseline_schedule(SYSTEMS, PROMPTS, "a")
    assert len(schedule) == 3 * len(PROMPTS)
    assert all("a" in (x, y) and x != y for _, x, y in schedule)
    assert sum(x == "a" for _, x, _ in schedule) == 15
    with pytest.raises(ConfigError, match="baseline 'z'"):
        baseline_schedule(SYSTEMS, PROMPTS, "z")


def test_first_call_gives_a_connected_seed_design() -> None:
    matches = next_battles([], SYSTEMS, PROMPTS, budget=8, seed=3)
    assert len(matches) == 8
    linked = {s: {s} for s in SYSTEMS}
    for _, a, b in matches:
        merged = linked[a] | linked[b]
        for s in merged:
            linked[s] = merged
    assert linked["a"] == set(SYSTEMS)
    assert len({(p, frozenset((a, b))) for p, a, b in matches}) == 8  # no pair repeats a prompt


def test_adaptive_battles_go_to_the_pair_whose_order_is_uncertain() -> None:
    strength = {"a": 1.5, "b": 0.05, "c": 0.0, "d": -1.5}  # b and c are nearly equal, the rest far apart
    prompts = [f"q{i}" for i in range(200)]
    battles = played(all_pairs_schedule(SYSTEMS, prompts[:20]), strength, seed=1)
    matches = next_battles(battles, SYSTEMS, prompts, budget=30, seed=1)
    assert len(matches) == 30
    pairs = Counter(frozenset((a, b)) for _, a, b in matches)
    assert pairs[frozenset(("b", "c"))] >= 15
    assert pairs[frozenset(("a", "d"))] == 0
    used = {(b.prompt_id, frozenset((b.model_a, b.model_b))) for b in battles}
    assert not used & {(p, frozenset((a, b))) for p, a, b in matches}


def test_no_matches_when_every_pair_has_seen_every_prompt() -> None:
    battles = played(all_pairs_schedule(["a", "b"], ["q1", "q2"]), {"a": 0.0, "b": 0.0}, seed=2)
    assert next_battles(battles, ["a", "b"], ["q1", "q2"], budget=5) == []
    (match,) = next_battles(battles, ["a", "b"], ["q1", "q2", "q3"], budget=5)
    assert match[0] == "q3" and set(match[1:]) == {"a", "b"}


def test_schedules_refuse_bad_input() -> None:
    with pytest.raises(ConfigError, match="at least 2 systems"):
        all_pairs_schedule(["a"], PROMPTS)
    with pytest.raises(ConfigError, match="more than once"):
        all_pairs_schedule(["a", "a", "b"], PROMPTS)
    with pytest.raises(ConfigError, match="not in the schedule"):
        next_battles([Battle(prompt_id="q0", model_a="a", model_b="x", winner="A")], SYSTEMS, PROMPTS, budget=3)
    with pytest.raises(ConfigError, match="budget"):
        next_battles([], SYSTEMS, PROMPTS, budget=-1)


def fit(intervals: dict[str, tuple[float, float]]) -> BradleyTerry:
    scores = {name: (low + high) / 2 for name, (low, high) in intervals.items()}
    ranking = sorted(scores, key=lambda name: -scores[name])
    return BradleyTerry(
        scores=scores,
        intervals=intervals,
        ranking=ranking,
        tie_model="davidson",
        n_battles=100,
        n_bootstrap=50,
        tie_param=0.3,
    )


def test_settled_needs_disjoint_intervals_for_every_pair_of_neighbours() -> None:
    assert settled(fit({"a": (1100, 1200), "b": (1000, 1090), "c": (900, 990)}))
    assert not settled(fit({"a": (1100, 1200), "b": (1000, 1110), "c": (900, 990)}))
    assert not settled(fit({"a": (math.nan, math.nan), "b": (math.nan, math.nan)}))
