"""What a judge decided about one item, by kind: a `Score` (pointwise), a `Preference` between two responses
(pairwise) or a `Ranking` of several (listwise). A `Verdict` (jurist.types) carries one as its `outcome`.

Every kind answers the questions that readers of verdicts ask, so that nobody branches on the mode to re-derive
them: `decision()` (what it decided, as votes and reports compare it), `confidence()` (the judge's probability of
its decision, where it gave logprobs) and, for a preference, `p_first()`. Every field may be None: a verdict that
decided nothing (a flagged inconsistency, a failed turn) keeps what it did read.

P(first wins), the one convention for reading a pairwise judgment as the probability that the first-listed
response (A) beats the second (B). `probs` is the judge's distribution over the labels "A", "B" and "tie" (a
missing label has probability 0); it is renormalised, so any non-negative weights will do. What a tie means is
the caller's explicit choice:
- "half": a tie is half a win for each side, P = (A + tie/2) / (A + B + tie). Ranking and leaderboards use it
  (Chatbot Arena and AlpacaEval count ties this way); its complement is P(second wins) with the same treatment.
- "drop": ties are left out, P = A / (A + B): the judge's lean between the two when it had to choose (the audit's
  length control fits this).
A discrete verdict without probabilities reads as 1 (A), 0 (B) or 1/2 (a tie, or no decision): `winner_share`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, ClassVar, Literal, Self, TypeVar, cast

from pydantic import BaseModel, Field

Winner = Literal["A", "B", "tie"]
# how strongly a pairwise judge prefers its winner, where its format says (Arena-Hard: [[A>>B]] strong, [[A>B]] weak)
Strength = Literal["strong", "weak"]
Ties = Literal["half", "drop"]
TIES: tuple[Ties, ...] = ("half", "drop")

_SHARE = {"A": 1.0, "B": 0.0, "tie": 0.5}
_SWAPPED = {"A": "B", "B": "A"}
L = TypeVar("L", bound=str)


def p_first(probs: Mapping[str, float] | None, ties: Ties = "half") -> float | None:
    """P(A beats B) from label probabilities, ties treated as `ties` says; None without probability mass."""
    if ties not in TIES:
        raise ValueError(f"unknown tie treatment {ties!r}; choose one of {', '.join(TIES)}")
    if not probs:
        return None
    a, b = probs.get("A", 0.0), probs.get("B", 0.0)
    if ties == "drop":
        return a / (a + b) if a + b > 0 else None
    tie = probs.get("tie", 0.0)
    total = a + b + tie
    return (a + tie / 2) / total if total > 0 else None


def winner_share(winner: str | None) -> float:
    """A's share of a discrete verdict: 1 when A won, 0 when B won, 1/2 for a tie or no decision."""
    return _SHARE.get(winner or "", 0.5)


def swap_winner(label: L) -> L:
    """The same decision named from the other presentation order (the responses shown as B, A): A and B trade
    places; a tie, or any other label, stays as it is."""
    return cast(L, _SWAPPED.get(label, label))


def swap_probs(probs: Mapping[L, float] | None) -> dict[L, float] | None:
    """Label probabilities named from the other presentation order (`swap_winner` on every label)."""
    return None if probs is None else {swap_winner(label): p for label, p in probs.items()}


class OrderResult(BaseModel):
    """One presentation order of a pairwise judgment, with the winner mapped back to the original labels."""

    order: Literal["AB", "BA"]
    winner: Winner | None = None
    strength: Strength | None = None
    probs: dict[str, float] | None = None
    error: str | None = None


class _Outcome(BaseModel):
    kind: str  # each kind's own name: what `Outcome` tells them apart by (declared here so that it is written first)
    # the judge's probability of each label (read from logprobs); None when the backend gave none
    probs: dict[str, float] | None = None
    # the name each field had when verdicts were flat records (run directories before outcomes, exports)
    FLAT: ClassVar[dict[str, str]]
    # the fields that hold the decision (the rest is its evidence: probabilities, orders, criteria)
    DECISION: ClassVar[tuple[str, ...]]

    def confidence(self) -> float | None:
        """The probability of the most likely label, or None without probabilities."""
        return max(self.probs.values()) if self.probs else None

    def without_decision(self) -> Self:
        """A copy with the decision taken out and its evidence kept (an item escalated to people)."""
        return self.model_copy(update=dict.fromkeys(self.DECISION))

    def flat(self) -> dict[str, Any]:
        """The fields under their flat names, as JSON values: what exports write."""
        values = self.model_dump(mode="json")
        return {name: values[field] if field in values else getattr(self, field) for name, field in self.FLAT.items()}


class Score(_Outcome):
    """A pointwise outcome: a label on the scale (`choice`) and its value (`score`); with logprobs, the label
    probabilities and their expected value. Checklist rubrics give one score per criterion and `score` is their
    mean; turn_scope "each" gives one record per assistant turn ({"turn", "score", "choice", "rationale"}) and
    `score` is their mean. `choice` is None where the score is a mean between labels."""

    kind: Literal["score"] = "score"
    score: float | None = None
    choice: str | None = None
    expected: float | None = None
    criteria: dict[str, float] | None = None
    per_turn: list[dict[str, Any]] | None = None

    FLAT: ClassVar[dict[str, str]] = {
        "score": "score",
        "choice": "choice",
        "score_expected": "expected",
        "score_probs": "probs",
        "criteria_scores": "criteria",
        "per_turn": "per_turn",
    }
    DECISION: ClassVar[tuple[str, ...]] = ("score", "choice", "expected")

    def decision(self) -> str | float | None:
        """The label where there is one (what votes count), else the score."""
        return self.choice if self.choice is not None else self.score

    def value(self) -> float | None:
        """The score as a reward or a ranking key: the probability-weighted one where the judge gave logprobs
        (finer, so fewer ties), else the label's."""
        return self.expected if self.expected is not None else self.score

    def brief(self) -> dict[str, Any]:
        return {"score": self.score, "choice": self.choice, "score_expected": self.expected}


class Preference(_Outcome):
    """A pairwise outcome: the winner (None when undecided, e.g. the two orders disagreed and the verdict is
    flagged), whether both presentation orders named the same winner (`consistent`, None with one order), the
    strength of the preference where the format says it, and each order's reading (`orders`, when both were
    asked)."""

    kind: Literal["preference"] = "preference"
    winner: Winner | None = None
    consistent: bool | None = None
    # the orders' strength when every order read names the winner; None for a tie or where the format has none
    strength: Strength | None = None
    orders: list[OrderResult] | None = None

    FLAT: ClassVar[dict[str, str]] = {
        "winner": "winner",
        "probs": "probs",
        "consistent": "consistent",
        "strength": "strength",
        "orders": "orders",
    }
    DECISION: ClassVar[tuple[str, ...]] = ("winner",)

    def decision(self) -> Winner | None:
        return self.winner

    def p_first(self, ties: Ties = "half", *, discrete: bool = True) -> float | None:
        """P(A beats B), the module's one convention: from the judge's probabilities, ties as `ties` says; without
        them (and `discrete`), from the winner: 1, 0, or 1/2 for a tie ("half"; "drop" leaves a tie out). None
        when there is nothing to read."""
        p = p_first(self.probs, ties)
        if p is not None or not discrete or self.winner is None:
            return p
        if self.winner == "tie" and ties == "drop":
            return None
        return winner_share(self.winner)

    def brief(self) -> dict[str, Any]:
        return {"winner": self.winner, "consistent": self.consistent, "probs": self.probs}


class Ranking(_Outcome):
    """A listwise outcome: 1-based positions of the responses, best first; `probs` are the judge's probabilities
    of each position ("1", "2", ...) being the best, where it gave logprobs."""

    kind: Literal["ranking"] = "ranking"
    ranking: list[int] | None = None

    FLAT: ClassVar[dict[str, str]] = {"ranking": "ranking", "best": "best", "probs": "probs"}
    DECISION: ClassVar[tuple[str, ...]] = ("ranking",)

    @property
    def best(self) -> int | None:
        """The best response's position: the ranking's first."""
        return self.ranking[0] if self.ranking else None

    def decision(self) -> int | None:
        return self.best

    def brief(self) -> dict[str, Any]:
        return {"best": self.best, "ranking": self.ranking}


Outcome = Annotated[Score | Preference | Ranking, Field(discriminator="kind")]
