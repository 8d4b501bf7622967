"""What `jurist align` found: agreement before and after on each split, with bootstrap intervals, and what it cost."""

from __future__ import annotations

from pydantic import BaseModel

from ..stats.bootstrap import Estimate, bootstrap_ci
from .search import Evaluation, Step
from .space import Candidate


class SplitRow(BaseModel):
    """One split: the run's own judge (before) and the aligned one (after). A failed verdict counts as a
    disagreement, and is also counted on its own."""

    split: str
    n: int
    before: Estimate
    after: Estimate
    disagreements_before: int
    disagreements_after: int
    failed_before: int
    failed_after: int


class AlignReport(BaseModel):
    run_dir: str
    labels: str  # data | review
    mode: str
    model: str
    seed: int
    fractions: tuple[float, float, float]
    sizes: dict[str, int]
    split_ids: dict[str, list[str]]  # which items went where, so a split can be checked and reused
    unlabelled: int  # the run's items with no label, left out
    budget: int | None
    calls_search: int  # model calls made (response-cache hits are free and not counted)
    calls_test: int
    stopped: str
    before: Candidate
    after: Candidate
    rows: list[SplitRow]
    trace: list[Step]
    strategy: str  # the strategy file written
    notes: list[str] = []

    @property
    def calls(self) -> int:
        return self.calls_search + self.calls_test

    def row(self, split: str) -> SplitRow:
        return next(r for r in self.rows if r.split == split)

    def render(self) -> str:
        lines = [
            f"jurist align: {self.mode} run {self.run_dir}, labels from {self.labels}, model {self.model}",
            f"splits (seed {self.seed}): "
            + ", ".join(f"{k} {v}" for k, v in self.sizes.items())
            + (f"; {self.unlabelled} unlabelled items left out" if self.unlabelled else ""),
            "",
            f"{'split':<6} {'items':>5}  {'agreement before':<24} {'agreement after':<24} "
            f"{'disagreements':>13}  {'failed':>9}",
        ]
        for r in self.rows:
            lines.append(
                f"{r.split:<6} {r.n:>5}  {r.before.format():<24} {r.after.format():<24} "
                f"{f'{r.disagreements_before} -> {r.disagreements_after}':>13}  "
                f"{f'{r.failed_before} -> {r.failed_after}':>9}"
            )
        budget = f" of a budget of {self.budget}" if self.budget is not None else ""
        lines += [
            "",
            "agreement: share of items whose verdict equals the label (a failed verdict counts as wrong), "
            "95% bootstrap interval",
            f"model calls: {self.calls}{budget} (search on train/dev {self.calls_search}, test {self.calls_test}; "
            "response-cache hits are free)",
            f"search: {len(self.trace)} steps, stopped: {self.stopped}",
            f"before: {self.before.describe()}",
            f"after:  {self.after.describe()}",
            *self.notes,
            f"strategy: {self.strategy}",
        ]
        return "\n".join(lines)


def split_row(split: str, before: Evaluation, after: Evaluation, n_resamples: int, seed: int) -> SplitRow:
    def estimate(evaluation: Evaluation) -> Estimate:
        values = [float(ok) for ok in evaluation.correct.values()]
        return bootstrap_ci(lambda x: float(x.mean()), values, n_resamples=n_resamples, seed=seed)

    return SplitRow(
        split=split,
        n=before.n,
        before=estimate(before),
        after=estimate(after),
        disagreements_before=before.n - sum(before.correct.values()),
        disagreements_after=after.n - sum(after.correct.values()),
        failed_before=before.failed,
        failed_after=after.failed,
    )
