"""Length control (Dubois et al. 2024, "Length-Controlled AlpacaEval"): a judge's preference modelled as a
logistic function of a bounded length term, fitted to soft outcomes, so that the length term can be read off or
set to zero. AlpacaEval's length-controlled win rate (leaderboard/length_control.py) and the audit's
length-controlled scoring of each verdict (audit/length_control.py) both fit this model here.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from jurist.blas import one_blas_thread


def length_term(differences: ArrayLike, scale: float | None = None) -> np.ndarray:
    """tanh(length difference / `scale`), AlpacaEval's length feature: bounded, so that one very long answer does
    not dominate the fit. `scale` is by default the differences' standard deviation; a scale of 0 (every
    difference the same) gives zeros: no length effect can be told apart from the intercept."""
    values = np.asarray(differences, dtype=float)
    spread = float(values.std()) if scale is None else scale
    return np.tanh(values / spread) if spread > 0 else np.zeros(values.shape)


def fit_soft_logistic(design: Any, outcome: np.ndarray, penalty: np.ndarray) -> np.ndarray:
    """The weights w of logit P = design @ w that maximise the cross-entropy likelihood of soft outcomes in [0, 1]
    minus a ridge penalty, 0.5 * sum(penalty * w**2) (a 0 leaves that weight free).

    `design` may be a dense array or a scipy sparse matrix.
    """
    from scipy.optimize import minimize
    from scipy.special import expit, log_expit

    def objective(w: np.ndarray) -> tuple[float, np.ndarray]:
        eta = design @ w
        loglik = outcome * log_expit(eta) + (1 - outcome) * log_expit(-eta)
        grad = design.T @ (expit(eta) - outcome) + penalty * w
        return -float(loglik.sum()) + 0.5 * float(penalty @ (w * w)), np.asarray(grad)

    with one_blas_thread():  # small fits
        result = minimize(objective, np.zeros(design.shape[1]), jac=True, method="L-BFGS-B", options={"maxiter": 2000})
    return np.asarray(result.x)
