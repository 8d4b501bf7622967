"""Combining several verdicts about one item into one: votes for decisions, mean or median for scores."""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Sequence
from typing import Any, Literal, cast

from ..outcomes import Preference, Ranking, Score, Winner
from ..types import OUTCOME_KINDS, ErrorInfo, Item, Mode, Usage, Verdict
from .base import brief, combined_raw

VoteRule = Literal["majority", "mean", "median", "weighted"]
VOTE_RULES: tuple[str, ...] = ("majority", "mean", "median", "weighted")
# Rules that need numbers: only pointwise verdicts have them.
NUMERIC_RULES: tuple[str, ...] = ("mean", "median")
_EPS = 1e-9


def aggregate(
    item: Item,
    mode: Mode,
    verdicts: Sequence[Verdict],
    *,
    rule: str,
    weights: Sequence[float],
    allow_tie: bool,
    members: str,
) -> Verdict:
    """One verdict from `verdicts` (one per inner judge or sample, failed ones included).

    Failed verdicts are left out of the vote and listed; if all failed, the result is a failed verdict.
    `verdict.strategy` gets the vote tally, `agreement` (share of the vote weight behind the decision),
    `disagreement` (share of voters that decided otherwise) and a compact record per inner verdict under `members`.
    """
    records = [brief(v) for v in verdicts]
    failed = [i for i, v in enumerate(verdicts) if v.error is not None]
    details: dict[str, Any] = {members: records, "failed": failed}
    result = Verdict(id=item.id, mode=mode, usage=Usage.total(v.usage for v in verdicts), raw=combined_raw(verdicts))
    if len(failed) == len(verdicts):
        reasons = {v.error.reason for v in verdicts if v.error is not None}
        result.error = ErrorInfo(
            reason=reasons.pop() if len(reasons) == 1 else "all_judges_failed",
            message="; ".join(f"{i}: {v.error.message}" for i, v in enumerate(verdicts) if v.error is not None),
            retryable=any(v.error is not None and v.error.retryable for v in verdicts),
        )
        result.strategy = details
        return result
    ok = [(v, w) for v, w in zip(verdicts, weights, strict=True) if v.error is None]
    voters = [(v, w) for v, w in ok if v.decision() is not None]
    details["abstained"] = len(ok) - len(voters)  # e.g. a pairwise verdict flagged with no winner
    outcome = result.outcome = OUTCOME_KINDS[mode]()
    if isinstance(outcome, Preference):
        known = [c for v, _ in ok if (c := v.outcome_as(Preference).consistent) is not None]
        outcome.consistent = all(known) if known else None
    if not voters:
        result.flagged = True
        result.strategy = details
        return result
    if isinstance(outcome, Score) and rule in (*NUMERIC_RULES, "weighted"):
        _numeric(outcome, voters, rule, details)
    else:
        result.flagged = _vote(outcome, voters, allow_tie, details)
    final = details.pop("consensus", result.decision())  # a mean or median is compared by its most common label
    agreeing = [v for v, _ in voters if v.decision() == final]
    details["disagreement"] = 1 - len(agreeing) / len(voters)
    result.rationale = next((v.rationale for v in agreeing if v.rationale), None)
    result.strategy = details
    return result


def _vote(
    outcome: Score | Preference | Ranking, voters: list[tuple[Verdict, float]], allow_tie: bool, details: dict[str, Any]
) -> bool:
    """Count the voters' decisions into `outcome`; True (flag it) when the vote split where a split is a doubt:
    pairwise without ties (no winner), pointwise and listwise (kept: the label nearest the mean, the best rank)."""
    tally: dict[Any, float] = {}
    for v, w in voters:
        tally[v.decision()] = tally.get(v.decision(), 0.0) + w
    total = sum(tally.values())
    top = max(tally.values())
    leaders = [k for k, n in tally.items() if n >= top - _EPS]
    details["votes"] = {str(k): n for k, n in tally.items()}
    details["agreement"] = top / total if total > 0 else 0.0
    details["tie"] = len(leaders) > 1
    weights = [w for _, w in voters]
    if isinstance(outcome, Preference):
        outcome.probs = _mean_dicts([v.outcome_as(Preference).probs for v, _ in voters], weights)
        if len(leaders) == 1:
            outcome.winner = cast(Winner, leaders[0])
        elif allow_tie:
            outcome.winner = "tie"
        else:
            return True  # a split vote and no tie allowed: no winner
        return False
    if isinstance(outcome, Ranking):
        outcome.probs = _mean_dicts([v.outcome_as(Ranking).probs for v, _ in voters], weights)
        positions = _borda(voters)
        best = min(leaders, key=lambda b: (positions.get(b, float("inf")), b))  # ties go to the better mean rank
        outcome.ranking = [best, *[p for p in sorted(positions, key=lambda p: (positions[p], p)) if p != best]]
        return len(leaders) > 1
    scores = {v.decision(): v.outcome_as(Score).score for v, _ in voters}
    mean = _weighted_mean([v.outcome_as(Score).score or 0.0 for v, _ in voters], weights)
    pick = min(leaders, key=lambda c: (abs((scores[c] or 0.0) - mean), scores[c] or 0.0))
    outcome.choice = pick if isinstance(pick, str) else None
    outcome.score = scores[pick]
    _pointwise_extras(outcome, voters, details)
    return len(leaders) > 1  # a split vote: the label nearest the mean is kept


def _numeric(outcome: Score, voters: list[tuple[Verdict, float]], rule: str, details: dict[str, Any]) -> None:
    scored = [(s, w) for v, w in voters if (s := v.outcome_as(Score).score) is not None]
    values = [s for s, _ in scored]
    if rule == "median":
        outcome.score = float(statistics.median(values))
    else:
        weights = [w if rule == "weighted" else 1.0 for _, w in scored]
        outcome.score = _weighted_mean(values, weights)
    choices = Counter(v.decision() for v, _ in voters)
    common, count = choices.most_common(1)[0]
    details["agreement"] = count / len(voters)  # share of voters on the most common label
    details["votes"] = {str(k): float(n) for k, n in choices.items()}
    details["consensus"] = common
    if count == len(voters) and isinstance(common, str):
        outcome.choice = common  # every voter chose this label; otherwise the score is no label's value
    _pointwise_extras(outcome, voters, details)


def _pointwise_extras(outcome: Score, voters: list[tuple[Verdict, float]], details: dict[str, Any]) -> None:
    scores = [v.outcome_as(Score) for v, _ in voters]
    values = [s.score for s in scores if s.score is not None]
    details["std"] = statistics.pstdev(values) if len(values) > 1 else 0.0
    expected = [s.expected for s in scores]
    if all(e is not None for e in expected):
        outcome.expected = _weighted_mean(cast(list[float], expected), [w for _, w in voters])
    outcome.probs = _mean_dicts([s.probs for s in scores], [w for _, w in voters])


def _borda(voters: list[tuple[Verdict, float]]) -> dict[int, float]:
    """Mean (weighted) position of each response over the voters' rankings: lower is better."""
    sums: dict[int, float] = {}
    weight: dict[int, float] = {}
    for v, w in voters:
        for position, response in enumerate(v.outcome_as(Ranking).ranking or []):
            sums[response] = sums.get(response, 0.0) + w * position
            weight[response] = weight.get(response, 0.0) + w
    return {r: sums[r] / weight[r] if weight[r] > 0 else float(len(sums)) for r in sums}


def _weighted_mean(values: Sequence[float], weights: Sequence[float]) -> float:
    pairs = list(zip(values, weights, strict=False))
    total = sum(w for _, w in pairs)
    if total <= 0:
        return sum(values) / len(values)
    return sum(x * w for x, w in pairs) / total


def _mean_dicts(dicts: Sequence[dict[str, float] | None], weights: Sequence[float]) -> dict[str, float] | None:
    """The weighted average of probability tables, or None unless every voter has one over the same labels."""
    if not dicts or any(d is None for d in dicts):
        return None
    tables = cast(list[dict[str, float]], list(dicts))
    keys = set(tables[0])
    if any(set(t) != keys for t in tables):
        return None
    total = sum(weights)
    if total <= 0:
        weights, total = [1.0] * len(tables), float(len(tables))
    return {k: sum(t[k] * w for t, w in zip(tables, weights, strict=True)) / total for k in tables[0]}
