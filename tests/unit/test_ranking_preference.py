"""P(first wins), the one convention: ties as half or dropped, renormalised, None without mass; and every reader
of a pairwise judgment (ranking, the arena's battles, the audit's length control) reads it through p_first."""

from __future__ import annotations

import pytest

from jurist import outcomes
from jurist.audit.length_control import prob_a
from jurist.leaderboard.arena import to_battle
from jurist.outcomes import Preference
from jurist.ranking import p_first, verdict_probability, winner_share
from jurist.types import ErrorInfo, Item, Verdict

PROBS = {"A": 0.2, "B": 0.6, "tie": 0.2}


def test_ties_count_half_or_are_dropped() -> None:
    assert p_first(PROBS) == pytest.approx(0.3)  # "half" is the default
    assert p_first(PROBS, ties="half") == pytest.approx(0.2 + 0.2 / 2)
    assert p_first(PROBS, ties="drop") == pytest.approx(0.2 / 0.8)
    # the two treatments agree when the judge gave no mass to a tie
    assert p_first({"A": 0.7, "B": 0.3, "tie": 0.0}, ties="half") == p_first({"A": 0.7, "B": 0.3}, ties="drop")


def test_weights_are_renormalised_and_missing_labels_are_zero() -> None:
    assert p_first({"A": 2.0, "B": 6.0, "tie": 2.0}) == pytest.approx(p_first(PROBS))
    assert p_first({"A": 1.0}) == 1.0
    assert p_first({"B": 0.5, "tie": 0.5}) == pytest.approx(0.25)


def test_no_probability_mass_is_none() -> None:
    assert p_first(None) is None
    assert p_first({}) is None
    assert p_first({"A": 0.0, "B": 0.0, "tie": 0.0}) is None
    assert p_first({"tie": 1.0}, ties="drop") is None  # nothing left once ties are dropped
    with pytest.raises(ValueError, match="tie treatment"):
        p_first(PROBS, ties="ignore")  # type: ignore[arg-type]


def test_a_discrete_verdict_reads_one_zero_or_half() -> None:
    assert [winner_share(w) for w in ("A", "B", "tie", None)] == [1.0, 0.0, 0.5, 0.5]


def test_the_convention_has_one_home_in_the_core_outcomes() -> None:
    assert (p_first, winner_share) == (outcomes.p_first, outcomes.winner_share)  # jurist.ranking re-exports them


def test_every_reader_uses_the_one_convention() -> None:
    verdict = Verdict(id="v", mode="pairwise", outcome=Preference(winner="B", probs=PROBS))
    # ranking: P(A) with ties as half
    assert verdict_probability(verdict) == p_first(PROBS, ties="half")
    # the arena: a battle's preference is P(B), its complement with the same treatment (AlpacaEval's convention)
    item = Item(
        id="v", prompt="?", response_a="a", response_b="b", metadata={"prompt_id": "p", "model_a": "x", "model_b": "y"}
    )
    battle = to_battle(item, verdict)
    assert battle is not None and battle.preference == pytest.approx(1 - verdict_probability(verdict))
    assert battle.p_second() == battle.preference
    # the audit's length control: the judge's lean between A and B, ties dropped
    assert prob_a(verdict) == p_first(PROBS, ties="drop")
    failed = Verdict(
        id="v", mode="pairwise", outcome=Preference(probs=PROBS), error=ErrorInfo(reason="timeout", message="slow")
    )
    assert prob_a(failed) is None
