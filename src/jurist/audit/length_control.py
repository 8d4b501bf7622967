"""Length-controlled scoring (the audit's `length_score` mitigation): AlpacaEval's length control, per verdict.

AlpacaEval's length-controlled win rate fits the judge's preference with a term for the length difference of the
two outputs, tanh(difference / its standard deviation), and reads the win rate with that term set to zero. Here
the same model is fitted to one judge's verdicts on the audit's unperturbed pairs:

    log-odds that A wins = intercept + coefficient * tanh((len(A) - len(B)) / scale)

by logistic regression on the judge's own probability for A (soft targets, which keep the fit finite; a tiny
ridge penalty on the coefficient only for numerical safety), the same fit as AlpacaEval's (jurist.stats.length).
Every verdict, before and after a perturbation, is then read with the length term removed: A wins when
log-odds(A) - coefficient * tanh(...) > 0. It changes no prompt and makes no call; it needs the judge's
probabilities (token logprobs), and lengths are in characters. It removes a length preference of the shape it fits:
one that grows in another shape is only partly removed.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from pydantic import BaseModel, Field

from ..outcomes import Preference
from ..stats.length import fit_soft_logistic, length_term
from ..types import Item, Verdict

# The fewest unperturbed pairs with probabilities the fit needs.
MIN_PAIRS = 5
# Ridge penalty on the coefficient, per pair (the intercept is not penalised).
PENALTY = 1e-4
_EPS = 1e-6


class LengthFit(BaseModel):
    """The judge's length preference, fitted on unperturbed pairs."""

    coefficient: float = Field(description="log-odds for A per unit of tanh(length difference / scale)")
    intercept: float = Field(description="log-odds for A at equal lengths (position preference and the rest)")
    scale: float = Field(description="standard deviation of len(A) - len(B) over the fitted pairs, characters")
    n: int = Field(description="pairs fitted")


def length_feature(item: Item, scale: float) -> float:
    return math.tanh((len(item.response_a or "") - len(item.response_b or "")) / scale)


def prob_a(verdict: Verdict | None) -> float | None:
    """The judge's probability that A wins against B (ties left out), or None without probabilities."""
    if verdict is None or verdict.error is not None:
        return None
    return verdict.outcome_as(Preference).p_first(ties="drop", discrete=False)


def _logit(p: float) -> float:
    p = min(max(p, _EPS), 1 - _EPS)
    return math.log(p / (1 - p))


def fit_length(pairs: Sequence[tuple[Item, Verdict | None]]) -> LengthFit | None:
    """The fit on the pairs whose verdict has probabilities; None when fewer than MIN_PAIRS have them or every
    pair has the same length difference (nothing to fit)."""
    rows = [(item, p) for item, verdict in pairs if (p := prob_a(verdict)) is not None]
    if len(rows) < MIN_PAIRS:
        return None
    diffs = np.array([len(it.response_a or "") - len(it.response_b or "") for it, _ in rows], dtype=float)
    scale = float(diffs.std())
    if scale == 0:
        return None
    design = np.column_stack([np.ones(len(rows)), length_term(diffs, scale)])
    # Clipped, so that a judge sure of every pair still gets a finite intercept.
    y = np.clip(np.array([p for _, p in rows]), _EPS, 1 - _EPS)
    # PENALTY is per pair on the mean cross-entropy; fit_soft_logistic sums it and halves its penalty.
    intercept, coefficient = (float(v) for v in fit_soft_logistic(design, y, np.array([0.0, 2 * PENALTY * len(rows)])))
    return LengthFit(coefficient=coefficient, intercept=intercept, scale=scale, n=len(rows))


def controlled_winner(fit: LengthFit, item: Item, verdict: Verdict | None) -> str | None:
    """The verdict's winner with its length term removed (a tie stays a tie); None without probabilities."""
    if verdict is not None and verdict.outcome_as(Preference).winner == "tie":
        return "tie"
    p = prob_a(verdict)
    if p is None:
        return None
    z = _logit(p) - fit.coefficient * length_feature(item, fit.scale)
    return "A" if z > 0 else "B" if z < 0 else "tie"
