"""The one Bradley-Terry model: log-strengths (with ties, style covariates and a prior) fitted to comparisons.

A comparison k puts candidate `first[k]` against `second[k]`; `outcome[k]` is the first's share (1 a win, 0 a loss,
1/2 a tie, or a soft share such as a judge's P(first wins)); `covariates[k]` are style differences. eta, the
first's advantage in log-odds, is strength_first - strength_second + covariates · coefs. Ties are treated one of
three ways:
- "half": a tie is half a win for each side (as Chatbot Arena does); the only model that takes soft outcomes;
- "davidson" (Davidson 1970): P(first) ∝ π_first, P(second) ∝ π_second, P(tie) ∝ ν·sqrt(π_first·π_second);
- "rao_kupper" (Rao and Kupper 1967): P(first) = π_first / (π_first + θ·π_second), a tie takes the rest; θ >= 1.

The fit is maximum a posteriori (scipy L-BFGS on the exact gradient). Two penalties keep it finite when a
candidate has won or lost everything, or is not connected to the others: `ridge`, a Gaussian penalty on the
strengths and coefficients, and `prior`, virtual wins and losses against a virtual opponent of log-strength 0
(Hunter 2004's device, which also shrinks the strengths of little-seen candidates towards it).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np

from ..blas import one_blas_thread
from ..errors import ConfigError

TieModel = Literal["davidson", "rao_kupper", "half"]
TIE_MODELS: tuple[TieModel, ...] = ("davidson", "rao_kupper", "half")

# Bounds of the log tie parameter: exp(-20) is "no ties"; exp(5) is far beyond any real tie rate.
_LOG_TIE_BOUNDS = (-20.0, 5.0)


@dataclass(frozen=True)
class Comparisons:
    """Comparisons among `n` candidates as arrays: one row per comparison (or per distinct comparison, its count
    passed to `fit` as a weight). `covariates`, when given, has one column per style feature."""

    n: int
    first: np.ndarray
    second: np.ndarray
    outcome: np.ndarray
    covariates: np.ndarray | None = None

    @property
    def n_features(self) -> int:
        return 0 if self.covariates is None else int(self.covariates.shape[1])

    def style(self) -> np.ndarray:
        """The covariates; a rows x 0 array without style features."""
        return self.covariates if self.covariates is not None else np.zeros((len(self.first), 0))


@dataclass(frozen=True)
class Fit:
    """Fitted parameters: `params` = [log-strengths (one per candidate), style coefficients, log tie parameter
    (not for "half")], the layout `fit` takes back as `start`."""

    params: np.ndarray
    n: int
    n_features: int
    tie_model: TieModel

    @property
    def strengths(self) -> np.ndarray:
        return self.params[: self.n]

    @property
    def coefs(self) -> np.ndarray:
        return self.params[self.n : self.n + self.n_features]

    @property
    def tie_param(self) -> float | None:
        """Davidson's ν or Rao-Kupper's θ; None for "half"."""
        if self.tie_model == "davidson":
            return math.exp(self.params[-1])
        if self.tie_model == "rao_kupper":
            return math.exp(math.exp(self.params[-1]))
        return None


def _negative_log_posterior(
    params: np.ndarray, data: Comparisons, tie_model: TieModel, weights: np.ndarray, prior: float, ridge: float
) -> tuple[float, np.ndarray]:
    """Negative (weighted) log-likelihood plus the penalties, and its gradient (parameters as in `Fit`)."""
    from scipy.special import expit, log_expit

    n, f = data.n, data.n_features
    strengths, coefs = params[:n], params[n : n + f]
    style = data.style()
    eta = strengths[data.first] - strengths[data.second] + style @ coefs
    d_kappa = None
    if tie_model == "half":
        y = data.outcome
        loglik = y * log_expit(eta) + (1 - y) * log_expit(-eta)
        d_eta = y - expit(eta)
    else:
        won, lost, tied = data.outcome == 1.0, data.outcome == 0.0, data.outcome == 0.5
        if tie_model == "davidson":
            # Divide every term by sqrt(π_A π_B): P(A) = e^{eta/2} / D, P(B) = e^{-eta/2} / D, P(tie) = ν / D.
            kappa = params[-1]
            log_d = np.logaddexp(np.logaddexp(eta / 2, -eta / 2), kappa)
            p_a, p_b, p_tie = np.exp(eta / 2 - log_d), np.exp(-eta / 2 - log_d), np.exp(kappa - log_d)
            loglik = np.where(won, eta / 2, np.where(lost, -eta / 2, kappa)) - log_d
            d_eta = np.where(won, 0.5, np.where(lost, -0.5, 0.0)) - (p_a - p_b) / 2
            d_kappa = tied - p_tie
        else:
            # Rao-Kupper with t = log θ = e^kappa: P(A) = σ(eta - t), P(B) = σ(-eta - t),
            # P(tie) = (e^{2t} - 1) / ((e^{eta/2} + e^{t - eta/2}) (e^{t + eta/2} + e^{-eta/2})).
            t = math.exp(params[-1])
            w_low, w_high = expit(eta - t), expit(eta + t)
            log_tie = (
                math.log(math.expm1(2 * t)) - np.logaddexp(eta / 2, t - eta / 2) - np.logaddexp(t + eta / 2, -eta / 2)
            )
            loglik = np.where(won, log_expit(eta - t), np.where(lost, log_expit(-eta - t), log_tie))
            d_eta = np.where(won, 1 - w_low, np.where(lost, -w_high, 1 - w_low - w_high))
            d_t_tie = 2 / -math.expm1(-2 * t) - (1 - w_low) - w_high
            d_t = np.where(won, -(1 - w_low), np.where(lost, -w_high, d_t_tie))
            d_kappa = d_t * t
    weighted = weights * d_eta
    grad_strengths = np.bincount(data.first, weighted, n) - np.bincount(data.second, weighted, n)
    grad = np.concatenate([-grad_strengths + ridge * strengths, -(style.T @ weighted) + ridge * coefs])
    value = -float(weights @ loglik) + 0.5 * ridge * float(strengths @ strengths + coefs @ coefs)
    if prior:
        # `prior` wins and `prior` losses against an opponent of log-strength 0, for every candidate
        value -= prior * float(np.sum(log_expit(strengths) + log_expit(-strengths)))
        grad[:n] += prior * (2 * expit(strengths) - 1)
    if d_kappa is not None:
        grad = np.append(grad, -float(weights @ d_kappa))
    return value, grad


def fit(
    data: Comparisons,
    weights: np.ndarray,
    tie_model: TieModel = "half",
    *,
    prior: float = 0.0,
    ridge: float = 0.0,
    start: np.ndarray | None = None,
) -> Fit:
    """The maximum a posteriori parameters, from `start` (a `Fit.params`) when given.

    `weights[k]` is how often comparison k counts (a count, or a bootstrap resample's draw). At least one of
    `prior` and `ridge` should be positive, or a candidate that won everything has no finite strength.
    """
    from scipy.optimize import minimize

    if tie_model not in TIE_MODELS:
        raise ConfigError(f"unknown tie model '{tie_model}'; choose one of {', '.join(TIE_MODELS)}")
    if tie_model != "half" and not np.isin(data.outcome, (0.0, 0.5, 1.0)).all():
        raise ConfigError(f"tie model '{tie_model}' needs outcomes of 1, 0 or 1/2; soft outcomes need 'half'")
    n_params = data.n + data.n_features + (tie_model != "half")
    if start is None:
        start = np.zeros(n_params)
        if tie_model != "half":
            start[-1] = -1.0
    bounds = [(None, None)] * (n_params - 1) + [_LOG_TIE_BOUNDS if tie_model != "half" else (None, None)]
    with one_blas_thread():  # the fits are tiny
        result = minimize(
            _negative_log_posterior,
            start,
            args=(data, tie_model, weights, prior, ridge),
            jac=True,
            method="L-BFGS-B",
            bounds=bounds,
            options={"maxiter": 1000},
        )
    return Fit(params=np.asarray(result.x), n=data.n, n_features=data.n_features, tie_model=tie_model)


def information(
    strengths: np.ndarray, first: np.ndarray, second: np.ndarray, weights: np.ndarray, prior: float = 0.0
) -> np.ndarray:
    """The Fisher information matrix of the log-strengths, a tie counted as half a win (the logistic model).

    Each comparison of i and j adds w·p·(1 - p)·(e_i - e_j)(e_i - e_j)ᵀ, p = P(i beats j) at `strengths`; the
    prior adds 2·prior·σ(s)·σ(-s) to each diagonal entry. Without a prior it is singular (only differences of
    strengths are identified): invert it with a pseudo-inverse.
    """
    from scipy.special import expit

    n = len(strengths)
    p = expit(strengths[first] - strengths[second])
    w = weights * p * (1 - p)
    matrix = np.zeros((n, n))
    # added comparison by comparison, so each entry's sum (to the last digit) follows the comparisons' order
    rows = np.column_stack([first, second, first, second]).ravel()
    cols = np.column_stack([first, second, second, first]).ravel()
    np.add.at(matrix, (rows, cols), np.column_stack([w, w, -w, -w]).ravel())
    if prior:
        s = expit(strengths)
        matrix[np.diag_indices(n)] += 2 * prior * s * (1 - s)
    return matrix


def groups(n: int, first: np.ndarray, second: np.ndarray) -> list[list[int]]:
    """The candidates in groups linked by chains of comparisons; one group when every candidate is connected."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    graph = coo_matrix((np.ones(len(first)), (first, second)), shape=(n, n))
    count, labels = connected_components(graph, directed=False)
    return [np.flatnonzero(labels == g).tolist() for g in range(count)]
