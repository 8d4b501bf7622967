"""jurist.ranking: every method recovers a known order from a consistent comparator, terminates with a permutation
on a contradictory one, respects its call bounds, and ranks responses through a real pairwise judge."""

from __future__ import annotations

import asyncio
import itertools
import json
import random

import pytest

from jurist import ConfigError, FakeBackend, GenerateRequest, JudgeConfig, make_judge
from jurist.outcomes import Preference
from jurist.ranking import (
    Compare,
    RankResult,
    adaptive_rank,
    all_pairs_rank,
    knockout_best,
    merge_sort_max_calls,
    pairwise_comparator,
    rank_responses,
    sort_rank,
    verdict_probability,
)
from jurist.types import ErrorInfo, Verdict

from .helpers import run


class Recorder:
    """Wraps a comparator; records every ordered pair asked."""

    def __init__(self, fn: Compare) -> None:
        self.fn = fn
        self.asked: list[tuple[int, int]] = []

    async def __call__(self, i: int, j: int) -> float:
        assert i != j
        self.asked.append((i, j))
        return await self.fn(i, j)


def from_order(order: list[int], soft: bool = False) -> Recorder:
    """A consistent comparator: the candidate earlier in `order` wins (certainly, or softly by rank distance)."""
    rank = {k: r for r, k in enumerate(order)}

    async def compare(i: int, j: int) -> float:
        if soft:
            return 0.5 + 0.4 * (1 if rank[i] < rank[j] else -1) * min(1.0, abs(rank[i] - rank[j]) / 3)
        return 1.0 if rank[i] < rank[j] else 0.0

    return Recorder(compare)


def rock_paper_scissors(n: int) -> Recorder:
    """Intransitive: i beats j when (j - i) mod n is odd, so every candidate beats half the others in a cycle."""

    async def compare(i: int, j: int) -> float:
        return 1.0 if (j - i) % n % 2 == 1 else 0.0

    return Recorder(compare)


def always_first() -> Recorder:
    """Pure position bias: whoever is shown first wins; contradicts itself on every reversed pair."""

    async def compare(i: int, j: int) -> float:
        return 1.0

    return Recorder(compare)


def coin_flips(seed: int) -> Recorder:
    rng = random.Random(seed)

    async def compare(i: int, j: int) -> float:
        return rng.choice([0.0, 0.5, 1.0, rng.random()])

    return Recorder(compare)


def shuffled(n: int, seed: int) -> list[int]:
    order = list(range(n))
    random.Random(seed).shuffle(order)
    return order


def assert_never_repeats_ordered_pair(rec: Recorder) -> None:
    assert len(rec.asked) == len(set(rec.asked)), "an ordered pair was asked twice"


FULL_RANKERS = {
    "sort": lambda n, c: sort_rank(n, c),
    "adaptive": lambda n, c: adaptive_rank(n, c),
    "all_pairs": lambda n, c: all_pairs_rank(n, c),
}


# -- consistent comparators: the true order is recovered -------------------------------------------------------


@pytest.mark.parametrize("method", list(FULL_RANKERS))
@pytest.mark.parametrize("n", [2, 3, 5, 8, 13, 16])
def test_full_rankers_recover_the_true_order(method, n):
    for seed in range(3):
        order = shuffled(n, seed)
        rec = from_order(order)
        result = run(FULL_RANKERS[method](n, rec))
        assert isinstance(result, RankResult)
        assert result.ranking == order
        assert result.best == order[0]
        assert result.calls == len(rec.asked)
        assert_never_repeats_ordered_pair(rec)


@pytest.mark.parametrize("method", list(FULL_RANKERS))
def test_full_rankers_recover_the_order_from_soft_probabilities(method):
    order = shuffled(12, 7)
    result = run(FULL_RANKERS[method](12, from_order(order, soft=True)))
    assert result.ranking == order


@pytest.mark.parametrize("n", [2, 3, 5, 7, 8, 16, 17])
def test_knockout_finds_the_best_in_n_minus_one_calls(n):
    for seed in range(4):
        order = shuffled(n, seed)
        rec = from_order(order)
        result = run(knockout_best(n, rec))
        assert result.best == order[0]
        assert result.ranking[0] == order[0]
        assert sorted(result.ranking) == list(range(n))
        assert result.calls == len(rec.asked) == n - 1  # certain answers: no rematch
        assert_never_repeats_ordered_pair(rec)


def test_knockout_ranks_by_round_knocked_out():
    order = list(range(8))  # 0 best; pairs (0,1) (2,3) (4,5) (6,7) -> 0, 2, 4, 6 -> 0, 4 -> 0
    result = run(knockout_best(8, from_order(order)))
    assert result.ranking == [0, 4, 2, 6, 1, 3, 5, 7]


def test_knockout_rematches_close_matches_in_the_other_order_within_2n():
    rank = {k: k for k in range(10)}

    async def close(i: int, j: int) -> float:
        return 0.55 if rank[i] < rank[j] else 0.45

    rec = Recorder(close)
    result = run(knockout_best(10, rec))
    assert result.best == 0
    assert result.calls == len(rec.asked) == 2 * 9  # every match is close: each asked in both orders
    assert_never_repeats_ordered_pair(rec)
    no_rematch = run(knockout_best(10, Recorder(close), margin=0.0))
    assert no_rematch.calls == 9
    capped = run(knockout_best(10, Recorder(close), max_rematches=3))
    assert capped.calls == 9 + 3


def test_knockout_rematch_cancels_a_position_bias():
    # Candidate 1 is truly better, but the judge prefers whoever is shown first a little more.
    async def biased(i: int, j: int) -> float:
        true = 0.6 if i == 1 else 0.4
        return min(1.0, true + 0.15)

    result = run(knockout_best(2, biased))
    assert result.best == 1  # asked (0, 1): 0.55 for 0; then (1, 0): 0.75 for 1; mean says 1
    assert result.calls == 2


# -- counts ---------------------------------------------------------------------------------------------------


def test_call_bounds():
    n = 16
    order = shuffled(n, 3)
    assert run(all_pairs_rank(n, from_order(order))).calls == n * (n - 1) // 2
    assert merge_sort_max_calls(16) == 49
    for seed in range(5):
        rec = coin_flips(seed)
        assert run(sort_rank(n, rec)).calls <= merge_sort_max_calls(n)
        assert run(knockout_best(n, coin_flips(seed))).calls <= 2 * (n - 1)
        adaptive = run(adaptive_rank(n, coin_flips(seed), budget=30))
        assert adaptive.calls <= 30
        assert adaptive.stop_reason == "budget"


def test_all_pairs_balances_presentation_order():
    rec = from_order(list(range(9)))
    run(all_pairs_rank(9, rec))
    firsts = [i for i, _ in rec.asked]
    for k in range(9):
        assert 3 <= firsts.count(k) <= 5  # each of the 8 comparisons: about half shown first
    assert {frozenset(p) for p in rec.asked} == {frozenset(p) for p in itertools.combinations(range(9), 2)}


def test_adaptive_budget_smaller_than_the_seed_sort_still_ranks():
    order = shuffled(16, 1)
    rec = from_order(order)
    result = run(adaptive_rank(16, rec, budget=10))
    assert result.calls == len(rec.asked) == 10
    assert result.stop_reason == "budget"
    assert sorted(result.ranking) == list(range(16))
    zero = run(adaptive_rank(4, from_order([0, 1, 2, 3]), budget=0))
    assert zero.calls == 0 and sorted(zero.ranking) == [0, 1, 2, 3]


def test_adaptive_settles_on_a_consistent_judge_and_refines_noisy_ones():
    settled = run(adaptive_rank(8, from_order(shuffled(8, 2))))
    assert settled.stop_reason in {"settled", "exhausted"}
    assert settled.calls < 8 * 7 // 2 + 1
    # A noisy judge: adaptive spends calls beyond the sort on neighbours it is unsure about.
    strengths = [0.3 * k for k in range(10)]
    rng = random.Random(0)

    async def noisy(i: int, j: int) -> float:
        return 1.0 if strengths[i] - strengths[j] + rng.gauss(0, 0.8) > 0 else 0.0

    rec = Recorder(noisy)
    result = run(adaptive_rank(10, rec, budget=40))
    assert result.calls == len(rec.asked) > merge_sort_max_calls(10) - 10
    assert_never_repeats_ordered_pair(rec)
    assert result.scores is not None and len(result.scores) == 10


# -- contradictory comparators: always a permutation ----------------------------------------------------------


ALL_METHODS = {
    **FULL_RANKERS,
    "knockout": lambda n, c: knockout_best(n, c),
    "adaptive_budget": lambda n, c: adaptive_rank(n, c, budget=20),
}


@pytest.mark.parametrize("method", list(ALL_METHODS))
@pytest.mark.parametrize("make", [rock_paper_scissors, lambda n: always_first(), lambda n: coin_flips(n)])
@pytest.mark.parametrize("n", [2, 3, 9, 16])
def test_contradictory_comparators_still_give_a_permutation(method, make, n):
    rec = make(n)
    result = run(asyncio.wait_for(ALL_METHODS[method](n, rec), timeout=5))
    assert sorted(result.ranking) == list(range(n))
    assert result.best == result.ranking[0]
    assert result.calls == len(rec.asked) <= n * (n - 1)
    assert_never_repeats_ordered_pair(rec)


def test_out_of_range_and_nan_answers_are_clipped():
    async def wild(i: int, j: int) -> float:
        return {0: 7.0, 1: -3.0}.get((i + j) % 3, float("nan"))

    for method in ALL_METHODS.values():
        result = run(method(6, wild))
        assert sorted(result.ranking) == list(range(6))


# -- configuration errors -------------------------------------------------------------------------------------


def test_bad_configuration_raises_config_error():
    one = from_order([0])
    for call in (
        lambda: sort_rank(1, one),
        lambda: knockout_best(0, one),
        lambda: all_pairs_rank(1, one),
        lambda: adaptive_rank(1, one),
        lambda: adaptive_rank(4, one, budget=-1),
        lambda: adaptive_rank(4, one, confidence=1.5),
        lambda: knockout_best(4, one, margin=0.9),
    ):
        with pytest.raises(ConfigError):
            run(call())
    judge = make_judge(FakeBackend(['{"winner": "A"}']), JudgeConfig(mode="pairwise"))
    with pytest.raises(ConfigError, match="unknown ranking method 'bogus'"):
        run(rank_responses(judge, "q", ["a", "b"], method="bogus"))
    with pytest.raises(ConfigError, match="at least 2"):
        run(rank_responses(judge, "q", ["a"]))
    with pytest.raises(ConfigError, match="budget"):
        run(rank_responses(judge, "q", ["a", "b", "c"], method="adaptive", budget=-2))
    with pytest.raises(ConfigError, match="at least 2"):
        pairwise_comparator(judge, "q", [])


# -- the judge adapter ----------------------------------------------------------------------------------------

QUALITY = {"terrible": 0, "poor": 1, "fine": 2, "good": 3, "excellent": 4, "perfect": 5}


def scripted_judge_reply(request: GenerateRequest) -> str:
    """Answers like a judge that knows each response's quality: the first-shown one wins if it is better."""
    text = request.messages[-1].content
    shown = sorted((text.find(f"<<{word}>>"), word) for word in QUALITY if f"<<{word}>>" in text)
    assert len(shown) == 2, text
    (_, first), (_, second) = shown
    return json.dumps({"winner": "A" if QUALITY[first] > QUALITY[second] else "B", "rationale": "r"})


@pytest.mark.parametrize("method", ["sort", "knockout", "adaptive", "all_pairs"])
def test_rank_responses_with_a_pairwise_judge_on_fake_backend(method):
    responses = [f"<<{w}>>" for w in ["fine", "perfect", "terrible", "good", "poor", "excellent"]]
    backend = FakeBackend(scripted_judge_reply)
    judge = make_judge(backend, JudgeConfig(mode="pairwise"))
    result = run(rank_responses(judge, "Say something.", responses, method=method))
    assert result.method == method
    assert result.best == 1
    if method != "knockout":
        assert result.ranking == [1, 5, 3, 0, 4, 2]
    assert result.errors == []
    assert len(backend.requests) == 2 * result.calls  # the judge asks both orders of each comparison


def test_comparator_reads_winner_probs_and_records_errors():
    backend = FakeBackend(['{"winner": "B"}', "no verdict here", '{"winner": "tie"}'])
    judge = make_judge(backend, JudgeConfig(mode="pairwise", swap=False))
    compare = pairwise_comparator(judge, "q", ["x", "y", "z"])
    assert run(compare(0, 1)) == 0.0
    assert run(compare(1, 2)) == 0.5  # parse failure: counted as a tie and recorded
    assert len(compare.errors) == 1 and compare.errors[0].startswith("1 vs 2: parse_failure")
    assert run(compare(2, 0)) == 0.5
    assert compare.verdicts[(0, 1)][0].outcome.winner == "B"
    assert verdict_probability(
        Verdict(id="v", mode="pairwise", outcome=Preference(winner="B", probs={"A": 0.1, "B": 0.9, "tie": 0.0}))
    ) == pytest.approx(0.1)
    assert verdict_probability(
        Verdict(id="v", mode="pairwise", outcome=Preference(winner="A", probs={"A": 0.6, "B": 0.2, "tie": 0.2}))
    ) == pytest.approx(0.7)
    assert verdict_probability(Verdict(id="v", mode="pairwise", outcome=Preference(winner="A"))) == 1.0
    assert verdict_probability(Verdict(id="v", mode="pairwise", flagged=True)) == 0.5


def test_rank_responses_reports_judge_failures_as_ties():
    backend = FakeBackend(["garbage"])
    judge = make_judge(backend, JudgeConfig(mode="pairwise"))
    result = run(rank_responses(judge, "q", ["a", "b", "c"], method="all_pairs"))
    assert sorted(result.ranking) == [0, 1, 2]
    assert len(result.errors) == 3
    assert result.calls == 3


def test_error_verdict_counts_as_half():
    async def failing(item):
        return Verdict(id=item.id, mode="pairwise", error=ErrorInfo(reason="http_500", message="boom"))

    compare = pairwise_comparator(failing, "q", ["a", "b"])
    assert run(compare(0, 1)) == 0.5
    assert compare.errors == ["0 vs 1: http_500: boom"]
