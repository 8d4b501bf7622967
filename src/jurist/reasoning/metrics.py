"""ProcessBench's metrics (Zheng et al. 2024): a verifier names the first wrong step of each solution (-1: none).
Accuracy on the erroneous solutions (the predicted index equals the gold one), on the correct ones (it predicts
-1), and their harmonic mean, F1. A solution the verifier failed on counts as wrong, and is counted."""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import BaseModel


class ProcessBenchScore(BaseModel):
    error_accuracy: float | None  # None where there are no erroneous solutions
    correct_accuracy: float | None  # None where there are no correct solutions
    f1: float | None
    n_erroneous: int
    n_correct: int
    failed: int  # solutions with no prediction (counted as wrong)


def processbench(predicted: Sequence[int | None], gold: Sequence[int]) -> ProcessBenchScore:
    """The metrics of `predicted` first-error indices (0-based, -1 for none, None for a failure) against `gold`."""
    if len(predicted) != len(gold):
        raise ValueError(f"{len(predicted)} predictions for {len(gold)} gold labels")
    hits = {True: 0, False: 0}  # keyed by "the solution is erroneous"
    totals = {True: 0, False: 0}
    for guess, truth in zip(predicted, gold, strict=True):
        erroneous = truth >= 0
        totals[erroneous] += 1
        hits[erroneous] += int(guess is not None and guess == truth)
    error_acc = hits[True] / totals[True] if totals[True] else None
    correct_acc = hits[False] / totals[False] if totals[False] else None
    f1 = None
    if error_acc is not None and correct_acc is not None:
        f1 = 2 * error_acc * correct_acc / (error_acc + correct_acc) if error_acc + correct_acc else 0.0
    return ProcessBenchScore(
        error_accuracy=error_acc,
        correct_accuracy=correct_acc,
        f1=f1,
        n_erroneous=totals[True],
        n_correct=totals[False],
        failed=sum(guess is None for guess in predicted),
    )
