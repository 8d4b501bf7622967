"""jurist.blas: the small fits (Bradley-Terry, the length GLM) run BLAS on one thread, and leave its limit as it was."""

from __future__ import annotations

import numpy as np
import scipy.optimize  # noqa: F401  (loads the BLAS libraries that the fits use, as they do before limiting)
from threadpoolctl import threadpool_info

from jurist.blas import one_blas_thread


def _blas_threads() -> list[int]:
    return [pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"]


def test_one_blas_thread_limits_blas_within_and_restores_it_after() -> None:
    np.ones((2, 2)) @ np.ones((2, 2))
    before = _blas_threads()
    with one_blas_thread():
        assert set(_blas_threads()) <= {1}
    assert _blas_threads() == before
