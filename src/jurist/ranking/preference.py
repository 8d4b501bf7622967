"""P(first wins): the one convention for reading a pairwise judgment as the probability that the first-listed
response (A) beats the second (B).

`probs` is the judge's distribution over the labels "A", "B" and "tie" (a missing label has probability 0); it
is renormalised, so any non-negative weights will do. What a tie means is the caller's explicit choice:
- "half": a tie is half a win for each side, P = (A + tie/2) / (A + B + tie). Ranking and leaderboards use it
  (Chatbot Arena and AlpacaEval count ties this way); its complement is P(second wins) with the same treatment.
- "drop": ties are left out, P = A / (A + B): the judge's lean between the two when it had to choose (the audit's
  length control fits this).
A discrete verdict without probabilities reads as 1 (A), 0 (B) or 1/2 (a tie, or no decision): `winner_share`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

Ties = Literal["half", "drop"]
TIES: tuple[Ties, ...] = ("half", "drop")

_SHARE = {"A": 1.0, "B": 0.0, "tie": 0.5}


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
