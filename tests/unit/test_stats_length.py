"""One length-control fit (jurist.stats.length) serves AlpacaEval's length-controlled win rate and the audit's
length-controlled scoring; the audit's fit still minimises the loss its module documents."""

from __future__ import annotations

import math

import numpy as np
import pytest

from jurist.audit.length_control import PENALTY, fit_length
from jurist.outcomes import Preference
from jurist.stats.length import fit_soft_logistic, length_term
from jurist.types import Item, Verdict


def test_the_length_term_is_tanh_of_the_difference_over_its_spread() -> None:
    diffs = np.array([-300.0, -20.0, 0.0, 50.0, 400.0])
    assert length_term(diffs) == pytest.approx(np.tanh(diffs / diffs.std()))
    assert length_term(diffs, 100.0) == pytest.approx(np.tanh(diffs / 100.0))
    assert list(length_term([7.0, 7.0, 7.0])) == [0.0, 0.0, 0.0]  # no spread: no length effect to tell apart


def test_the_soft_logistic_fit_recovers_the_weights_of_exact_probabilities() -> None:
    x = np.linspace(-1.0, 1.0, 41)
    design = np.column_stack([np.ones_like(x), x])
    outcome = 1 / (1 + np.exp(-(0.4 + 2.5 * x)))
    assert fit_soft_logistic(design, outcome, np.zeros(2)) == pytest.approx([0.4, 2.5], abs=1e-4)


def test_the_audit_fit_minimises_its_documented_loss() -> None:
    # The audit's loss: mean cross-entropy of its probability for A, plus PENALTY * coefficient ** 2. The shared fit
    # sums the cross-entropy and halves its penalty, so the audit passes 2 * PENALTY * n: its gradient must vanish.
    rng = np.random.default_rng(3)
    pairs = []
    for k in range(30):
        a, b = "x" * int(rng.integers(5, 400)), "y" * int(rng.integers(5, 400))
        p = 1 / (1 + math.exp(-(0.3 + 1.7 * math.tanh((len(a) - len(b)) / 150) + rng.normal(0, 0.5))))
        item = Item(id=str(k), prompt="q", response_a=a, response_b=b)
        pairs.append(
            (item, Verdict(id=str(k), mode="pairwise", outcome=Preference(winner="A", probs={"A": p, "B": 1 - p})))
        )
    fit = fit_length(pairs)
    assert fit is not None and fit.n == 30
    x = np.array([math.tanh((len(i.response_a or "") - len(i.response_b or "")) / fit.scale) for i, _ in pairs])
    y = np.array([v.outcome.probs["A"] for _, v in pairs])
    residual = 1 / (1 + np.exp(-(fit.intercept + fit.coefficient * x))) - y
    gradient = [residual.mean(), (residual * x).mean() + 2 * PENALTY * fit.coefficient]
    assert gradient == pytest.approx([0.0, 0.0], abs=1e-5)
