"""One BLAS thread for the many small fits (Bradley-Terry in ranking/, the length GLM in stats/): for arrays this
small a multi-threaded BLAS only adds thread wake-ups, several times slower on a busy machine."""

from __future__ import annotations

import functools
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from threadpoolctl import ThreadpoolController


@functools.cache
def _threadpools() -> ThreadpoolController:
    from threadpoolctl import ThreadpoolController  # here: finding the BLAS libraries takes milliseconds, once

    return ThreadpoolController()


@contextmanager
def one_blas_thread() -> Iterator[None]:
    """Within: BLAS runs on one thread (the limits before are restored after). The libraries are found at the first
    call, so import what does the fit (scipy.optimize) before it."""
    with _threadpools().limit(limits=1, user_api="blas"):
        yield
