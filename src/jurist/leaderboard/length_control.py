"""AlpacaEval's length-controlled win rate (Dubois et al. 2024, "Length-Controlled AlpacaEval").

Judges prefer longer answers, so a raw win rate against a baseline rewards verbosity. The paper fits, per
model m, a logistic model (GLM) of the judge's preference for m's output over the baseline's on instruction x:

    logit P(m wins on x) = θ_m + φ_m · tanh(Δlen / std(Δlen)) + ψ_m · γ_x

with Δlen = len(m's output) - len(baseline's output) and std taken over m's instructions, θ_m the model term,
and γ_x the instruction's difficulty. The length-controlled (LC) win rate answers "what if the lengths were
equal?": the model's predicted win rate averaged over its instructions with the length term set to zero,
100 · mean_x σ(θ_m + ψ_m · γ_x).

Instruction difficulty. Upstream estimates γ_x once from the many models on its leaderboard. Here it comes from
the annotated models at hand, in a joint fit: logit P(m wins on x) = a_m + b_m · length_m,x + γ_x (an additive,
Rasch-like instruction effect shared by the models), with a ridge penalty on γ since each instruction has only
as many observations as there are models. γ then enters each model's own GLM as a covariate with a free slope ψ_m.
By default the fit is cross-fitted: a model's γ comes from the other models only, leaving out its whole family
(its own concise/verbose prompt variants, say), so that - as upstream, where one model is one of many - its own
judgements do not leak into the covariate that is kept when the length term is dropped. With "joint", γ comes
from all models, the model included. With only a handful of models γ is noisy, so LC win rates are approximate.

Regularisation. Setting the length term to zero extrapolates whenever a model's outputs are all much longer or
shorter than the baseline's, so the length slope φ_m gets a ridge penalty (`length_penalty`, in log-likelihood
units). Its default 2.0 was chosen by comparing with the published AlpacaEval 2.0 numbers of 8 systems: it
brings the fitted slopes to the size of the published ones (|φ| about 1 to 2.2) - an in-sample choice.

Annotation rows use AlpacaEval's fields: `preference` in [1, 2] (2 = the model's output, output_2, wins; 1.5 and
the legacy 0 are draws), `len_output_1` (baseline) and `len_output_2` (model) in characters, and `instruction`.
The raw win rate is 100 · mean(preference - 1), draws as 1/2, which is AlpacaEval's published win_rate.

The length term and the fit are jurist.stats.length's, which the audit's length-controlled scoring shares.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict

from jurist.errors import ConfigError, InputError
from jurist.stats.length import fit_soft_logistic, length_term

Difficulty = Literal["cross_fit", "joint", "none"]
DIFFICULTIES: tuple[Difficulty, ...] = ("cross_fit", "joint", "none")

# Ridge on the per-instruction difficulties in the joint fit: a standard normal prior, in logits.
DIFFICULTY_PENALTY = 1.0
LENGTH_PENALTY = 2.0


class LCWinRate(BaseModel):
    """Raw and length-controlled win rates (percent) of one model against the baseline, with its GLM terms."""

    model_config = ConfigDict(extra="forbid")

    model: str
    win_rate: float
    lc_win_rate: float
    n: int
    standard_error: float
    intercept: float
    length_coef: float
    difficulty_coef: float


class _Annotations:
    """One model's rows as arrays: soft outcome, tanh-normalised length difference, instruction."""

    def __init__(self, model: str, rows: Sequence[Mapping[str, Any]]) -> None:
        if not rows:
            raise ConfigError(f"model '{model}' has no annotation rows")
        outcome, delta, instructions = [], [], []
        for line, row in enumerate(rows, start=1):
            for key in ("preference", "len_output_1", "len_output_2", "instruction"):
                if row.get(key) is None:
                    raise InputError(
                        f"annotation row of model '{model}' has no '{key}'",
                        line=line,
                        field=key,
                        hint="rows need AlpacaEval's preference, len_output_1, len_output_2 and instruction",
                    )
            try:
                preference = float(row["preference"])
            except (TypeError, ValueError):
                message = f"preference {row['preference']!r} of model '{model}' is not a number"
                raise InputError(message, line=line, field="preference") from None
            if preference == 0.0:  # AlpacaEval 1's code for a draw
                preference = 1.5
            if not 1.0 <= preference <= 2.0:
                raise InputError(
                    f"preference {row['preference']!r} of model '{model}' is outside [1, 2]",
                    line=line,
                    field="preference",
                    hint="AlpacaEval preferences run from 1 (baseline wins) to 2 (model wins); 1.5 is a draw",
                )
            outcome.append(preference - 1.0)
            delta.append(float(row["len_output_2"]) - float(row["len_output_1"]))
            instructions.append(str(row["instruction"]))
        self.outcome = np.asarray(outcome)
        self.length = length_term(delta)
        self.instructions = instructions


def _instruction_difficulty(data: dict[str, _Annotations], models: Sequence[str], penalty: float) -> dict[str, float]:
    """γ per instruction from the joint additive fit over `models` (see the module docstring)."""
    from scipy.sparse import csr_matrix

    instructions = sorted({x for m in models for x in data[m].instructions})
    column = {x: i for i, x in enumerate(instructions)}
    n_models = len(models)
    rows, cols, values, outcome = [], [], [], []
    row = 0
    for j, model in enumerate(models):
        rows_of_model = data[model]
        for k, x in enumerate(rows_of_model.instructions):
            rows += [row, row, row]
            cols += [j, n_models + j, 2 * n_models + column[x]]
            values += [1.0, float(rows_of_model.length[k]), 1.0]
            row += 1
        outcome.append(rows_of_model.outcome)
    design = csr_matrix((values, (rows, cols)), shape=(row, 2 * n_models + len(instructions)))
    ridge = np.concatenate([np.zeros(2 * n_models), np.full(len(instructions), penalty)])
    weights = fit_soft_logistic(design, np.concatenate(outcome), ridge)
    return {x: float(weights[2 * n_models + i]) for i, x in enumerate(instructions)}


def length_controlled_win_rate(
    annotations_by_model: Mapping[str, Sequence[Mapping[str, Any]]],
    *,
    difficulty: Difficulty = "cross_fit",
    families: Mapping[str, str] | None = None,
    length_penalty: float = LENGTH_PENALTY,
    difficulty_penalty: float = DIFFICULTY_PENALTY,
) -> list[LCWinRate]:
    """Raw and length-controlled win rates of each model against the shared baseline, best LC first.

    `annotations_by_model` maps a model to its AlpacaEval annotation rows against the baseline. `difficulty` says
    how the instruction difficulty is estimated (see the module docstring): "cross_fit" (default) from the other
    models' annotations, leaving out the model and every model of its family (`families` maps a model to a family
    name, e.g. the concise and verbose prompt variants of one system; by default each model is its own family),
    "joint" from all models including the model itself, or "none" for no difficulty term.
    """
    from scipy.special import expit

    if not annotations_by_model:
        raise ConfigError("length_controlled_win_rate got no models; give {model: annotation rows}")
    if difficulty not in DIFFICULTIES:
        raise ConfigError(f"unknown difficulty estimate '{difficulty}'; choose one of {', '.join(DIFFICULTIES)}")
    if length_penalty < 0 or difficulty_penalty < 0:
        raise ConfigError("length_penalty and difficulty_penalty must be >= 0")
    data = {model: _Annotations(model, rows) for model, rows in annotations_by_model.items()}
    family = {model: (families or {}).get(model, model) for model in data}

    def difficulty_for(model: str) -> dict[str, float]:
        if difficulty == "none":
            return {}
        others = [m for m in data if difficulty == "joint" or family[m] != family[model]]
        return _instruction_difficulty(data, others, difficulty_penalty) if others else {}

    joint = difficulty_for(next(iter(data))) if difficulty == "joint" else None
    results = []
    for model, rows in data.items():
        gammas = joint if joint is not None else difficulty_for(model)
        # Instructions no other model was judged on get the average difficulty, 0.
        gamma = np.array([gammas.get(x, 0.0) for x in rows.instructions])
        n = rows.outcome.size
        design = np.column_stack([np.ones(n), rows.length, gamma])
        intercept, length_coef, difficulty_coef = fit_soft_logistic(
            design, rows.outcome, np.array([0.0, length_penalty, 0.0])
        )
        lc = 100.0 * float(np.mean(expit(intercept + difficulty_coef * gamma)))
        error = float(rows.outcome.std(ddof=1)) / math.sqrt(n) if n > 1 else math.nan
        results.append(
            LCWinRate(
                model=model,
                win_rate=100.0 * float(rows.outcome.mean()),
                lc_win_rate=lc,
                n=n,
                standard_error=100.0 * error,
                intercept=float(intercept),
                length_coef=float(length_coef),
                difficulty_coef=float(difficulty_coef),
            )
        )
    return sorted(results, key=lambda r: (-r.lc_win_rate, r.model))
