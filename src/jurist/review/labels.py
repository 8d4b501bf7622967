"""People's labels read back: as item labels for the rest of jurist (`review_labels`), and the live agreement of the
judge with the reviewers and of the reviewers with each other."""

from __future__ import annotations

import itertools
import math
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from pathlib import Path

from pydantic import BaseModel

from ..errors import InputError
from ..outcomes import Score
from ..stats import Estimate, agreement_report
from ..types import Verdict
from .store import STORE_FILE, LabelValue, ReviewLabel, ReviewStore

JUDGE = "judge"  # the judge's name in the agreement table
AGREEMENT_RESAMPLES = 500  # live intervals: recomputed after every answer, so fewer resamples than meta-eval's 1000


def review_labels(run_dir: str | Path, reviewer: str | None = None) -> dict[str, str | float]:
    """Item id -> the reviewers' label, in `Item.label`'s form: pairwise "A" / "B" / "tie" in the item's own order
    (whatever order the screen showed), pointwise a number. With `reviewer`, that reviewer's labels; else every
    reviewer's combined: the majority label (an item whose top labels are tied, e.g. one A and one B, is left out),
    or the mean score. Skipped and undone answers are not labels."""
    path = Path(run_dir) / STORE_FILE
    if not path.is_file():
        raise InputError(
            "this run has no review labels yet",
            file=str(path),
            hint=f"label some items first: jurist review {run_dir}",
        )
    with ReviewStore(path) as store:
        if reviewer is not None:
            store.resume(reviewer)
        answers = store.labels(reviewer)
    return combine(answers)


def combine(answers: Sequence[ReviewLabel]) -> dict[str, str | float]:
    """Per item, the majority label (ties between the top labels: left out) or the mean of numeric labels."""
    by_item: dict[str, list[LabelValue]] = defaultdict(list)
    for answer in answers:
        if answer.label is not None:
            by_item[answer.item].append(answer.label)
    combined: dict[str, str | float] = {}
    for item, values in by_item.items():
        if all(isinstance(v, int | float) for v in values):
            combined[item] = float(sum(float(v) for v in values) / len(values))
            continue
        top = Counter(str(v) for v in values).most_common()
        if len(top) == 1 or top[0][1] > top[1][1]:
            combined[item] = top[0][0]
    return combined


class Interval(BaseModel):
    value: float | None
    low: float | None
    high: float | None

    @classmethod
    def of(cls, estimate: Estimate) -> Interval:
        def finite(x: float) -> float | None:
            return None if math.isnan(x) else round(x, 4)

        return cls(value=finite(estimate.value), low=finite(estimate.low), high=finite(estimate.high))


class PairAgreement(BaseModel):
    """How often two raters (the judge, or reviewers) gave the same label on the items both labelled."""

    first: str
    second: str
    n: int
    accuracy: Interval | None = None  # share of items with the same label
    kappa: Interval | None = None  # Cohen's kappa; None (n/a) where only one label occurs


def live_agreement(
    answers: Sequence[ReviewLabel], judge: Mapping[str, LabelValue], *, seed: int = 0
) -> list[PairAgreement]:
    """The judge against each reviewer, then every two reviewers, with bootstrap intervals (jurist.stats)."""
    raters: dict[str, dict[str, LabelValue]] = defaultdict(dict)
    for answer in answers:
        if answer.label is not None:
            raters[answer.reviewer][answer.item] = answer.label
    people = sorted(raters)
    pairs = [(JUDGE, dict(judge), name, raters[name]) for name in people]
    pairs += [(a, raters[a], b, raters[b]) for a, b in itertools.combinations(people, 2)]
    return [_pair(a, labels_a, b, labels_b, seed) for a, labels_a, b, labels_b in pairs]


def _pair(
    first: str, labels_a: Mapping[str, LabelValue], second: str, labels_b: Mapping[str, LabelValue], seed: int
) -> PairAgreement:
    common = [item for item in labels_b if item in labels_a]
    found = PairAgreement(first=first, second=second, n=len(common))
    if len(common) < 2:
        return found  # one item says nothing about agreement
    # the reviewer (second) as the reference side; kappa is symmetric, so the order matters only for the matrix
    report = agreement_report(
        [_key(labels_b[i]) for i in common],
        [_key(labels_a[i]) for i in common],
        n_resamples=AGREEMENT_RESAMPLES,
        seed=seed,
    )
    found.accuracy = Interval.of(report.accuracy)
    found.kappa = Interval.of(report.cohen_kappa)
    return found


def _key(label: LabelValue) -> str | float:
    # 4 and 4.0 are one score; "A" stays a string
    return float(label) if isinstance(label, int | float) else str(label)


def judge_label(verdict: Verdict) -> LabelValue | None:
    """The judge's decision in the form of a reviewer's label: a winner, or the score."""
    if verdict.error is not None or verdict.outcome is None:
        return None
    if isinstance(verdict.outcome, Score):
        return verdict.outcome.score
    decided = verdict.decision()
    return decided if isinstance(decided, str) else None


def review_agreement(run_dir: str | Path, verdicts: Sequence[Verdict]) -> list[PairAgreement] | None:
    """The agreement table the review app shows, for a run's `verdicts`; None where the run has no review."""
    path = Path(run_dir) / STORE_FILE
    if not path.is_file():
        return None
    with ReviewStore(path) as store:
        answers = store.labels()
    judged = {v.id: label for v in verdicts if (label := judge_label(v)) is not None}
    return live_agreement(answers, judged)
