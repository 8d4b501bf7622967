"""Agreement between categorical labels: a judge against humans, or several raters with each other.

Labels are strings ("A", "B", "tie") or numbers (0, 1, 2). They are mapped to integer codes before any library
sees them, so mixed label spaces (a judge answering "tie" where humans only used "A"/"B") are counted, not crashed
on. Chance-corrected scores (kappa, alpha) are NaN where they are undefined: when only one label occurs at all.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict

from jurist.errors import ConfigError, InputError
from jurist.extras import require
from jurist.stats.bootstrap import Estimate, bootstrap_ci

Label = str | int | float
AlphaLevel = Literal["nominal", "ordinal", "interval"]


class ConfusionMatrix(BaseModel):
    """Counts of (human label, judge label) pairs: `counts[i][j]` = items humans labelled `labels[i]` and the judge
    labelled `labels[j]`."""

    model_config = ConfigDict(extra="forbid")

    labels: list[Label]
    counts: list[list[int]]

    def render(self) -> str:
        """A plain-text table, humans down the rows and the judge across the columns."""
        names = [str(label) for label in self.labels]
        corner = "human \\ judge"
        first = max([len(corner), *(len(name) for name in names)])
        width = max([5, *(len(name) for name in names), *(len(str(c)) for row in self.counts for c in row)])
        lines = [corner.ljust(first) + "".join(name.rjust(width + 2) for name in names)]
        for name, row in zip(names, self.counts, strict=True):
            lines.append(name.ljust(first) + "".join(str(c).rjust(width + 2) for c in row))
        return "\n".join(lines)


class AgreementReport(BaseModel):
    """How well a judge's labels match human labels, with bootstrap intervals.

    `labels_only_in_judge` / `labels_only_in_human` list labels one side used and the other never did; a non-empty
    list usually means the two label spaces were not mapped to each other (e.g. a judge that says "tie" scored
    against humans who were not allowed ties).
    """

    model_config = ConfigDict(extra="forbid")

    n: int
    labels: list[Label]
    accuracy: Estimate
    cohen_kappa: Estimate
    confusion: ConfusionMatrix
    labels_only_in_judge: list[Label]
    labels_only_in_human: list[Label]

    def render(self) -> str:
        """A short text summary: n, accuracy and kappa with intervals, label mismatches, the confusion matrix."""
        level = f"{self.accuracy.confidence:.0%}"
        lines = [
            f"items: {self.n}",
            f"accuracy:      {self.accuracy.format()}  ({level} bootstrap CI)",
            f"Cohen's kappa: {self.cohen_kappa.format()}",
        ]
        if self.labels_only_in_judge:
            lines.append(f"labels only the judge used: {', '.join(map(str, self.labels_only_in_judge))}")
        if self.labels_only_in_human:
            lines.append(f"labels only the humans used: {', '.join(map(str, self.labels_only_in_human))}")
        lines += ["", self.confusion.render()]
        return "\n".join(lines)


def accuracy(y_true: Sequence[Label], y_pred: Sequence[Label]) -> float:
    """Share of items where the two labels are equal."""
    truth, predicted, _ = _encode(y_true, y_pred)
    return float(np.mean(truth == predicted))


def cohen_kappa(
    y_true: Sequence[Label],
    y_pred: Sequence[Label],
    labels: Sequence[Label] | None = None,
    weights: Literal["linear", "quadratic"] | None = None,
) -> float:
    """Cohen's kappa (scikit-learn). With `weights`, disagreements cost by distance in the order of `labels`."""
    metrics = require("sklearn.metrics", "cohen_kappa")
    truth, predicted, names = _encode(y_true, y_pred, labels)
    if len(set(truth) | set(predicted)) < 2:
        return math.nan  # both sides gave one and the same label: chance agreement is 1, kappa is 0/0
    return float(metrics.cohen_kappa_score(truth, predicted, labels=list(range(len(names))), weights=weights))


def fleiss_kappa(ratings: Sequence[Sequence[Label]]) -> float:
    """Fleiss' kappa for several raters; `ratings[i]` holds every rater's label for item i.

    Every item needs the same number of ratings; use `krippendorff_alpha` when some ratings are missing. The
    arithmetic is statsmodels' `fleiss_kappa(method="fleiss")` step for step, so the results are identical
    (tests/unit/test_stats_agreement.py checks it).
    """
    if not ratings:
        raise ConfigError("fleiss_kappa needs at least one rated item; got none")
    sizes = {len(row) for row in ratings}
    if len(sizes) != 1 or 0 in sizes:
        raise InputError(
            f"every item needs the same number of ratings for Fleiss' kappa, found row sizes {sorted(sizes)}",
            hint="use krippendorff_alpha, which allows missing ratings",
        )
    flat = [label for row in ratings for label in row]
    _check_no_missing(flat, "ratings")
    names = _sorted_labels(flat)
    if len(names) < 2:
        return math.nan  # one label everywhere: chance agreement is 1, kappa is 0/0
    raters = len(ratings[0])
    if raters < 2:
        return math.nan  # no pair of ratings to agree: observed agreement is 0/0
    code = {label: i for i, label in enumerate(names)}
    # table[i, j]: how many raters gave item i the label j
    table = np.zeros((len(ratings), len(names)))
    for item, row in enumerate(ratings):
        for label in row:
            table[item, code[label]] += 1
    share = table.sum(axis=0) / table.sum()  # each label's share of all ratings
    agreement = ((table * table).sum(axis=1) - raters) / (raters * (raters - 1.0))  # agreeing pairs, per item
    observed = agreement.mean()
    expected = (share * share).sum()
    return float((observed - expected) / (1 - expected))


def krippendorff_alpha(ratings: Sequence[Sequence[Label | None]], level: AlphaLevel = "nominal") -> float:
    """Krippendorff's alpha (krippendorff package); `ratings[i][r]` is rater r's label for item i, None if missing.

    Rows may differ in length (short rows count as missing ratings). `ordinal` and `interval` need numeric labels;
    `ordinal` uses their numeric order.
    """
    import krippendorff

    if level not in ("nominal", "ordinal", "interval"):
        raise ConfigError(f"unknown level {level!r}: use 'nominal', 'ordinal' or 'interval'")
    if not ratings:
        raise ConfigError("krippendorff_alpha needs at least one rated item; got none")
    present = [label for row in ratings for label in row if label is not None]
    names = _sorted_labels(present)
    if len(names) < 2:
        return math.nan  # alpha is undefined when only one value was ever given
    if level == "nominal":
        code = {label: float(i) for i, label in enumerate(names)}
    else:
        if not all(_is_number(label) for label in names):
            raise ConfigError(f"level {level!r} needs numeric labels, got {names!r}; use level='nominal' for names")
        code = {label: float(label) for label in names}
    raters = max(len(row) for row in ratings)
    # The package wants raters down the rows and items across the columns, NaN for a missing rating.
    matrix = np.full((raters, len(ratings)), np.nan)
    for item, row in enumerate(ratings):
        for rater, label in enumerate(row):
            if label is not None:
                matrix[rater, item] = code[label]
    return float(krippendorff.alpha(reliability_data=matrix, level_of_measurement=level))


def confusion_matrix(
    y_true: Sequence[Label], y_pred: Sequence[Label], labels: Sequence[Label] | None = None
) -> ConfusionMatrix:
    """Counts of (true, predicted) label pairs over `labels` (default: every label either side used, sorted)."""
    truth, predicted, names = _encode(y_true, y_pred, labels)
    return ConfusionMatrix(labels=names, counts=_counts(truth, predicted, len(names)).tolist())


def agreement_report(
    human: Sequence[Label],
    judge: Sequence[Label],
    labels: Sequence[Label] | None = None,
    n_resamples: int = 1000,
    seed: int = 0,
    confidence: float = 0.95,
    groups: Sequence[str | int] | None = None,
) -> AgreementReport:
    """Accuracy and Cohen's kappa of `judge` against `human`, each with a bootstrap interval, plus the confusion
    matrix and the labels only one side used. `groups` (e.g. a prompt id per item) makes the bootstrap resample
    whole groups, for items that are not independent of each other."""
    truth, predicted, names = _encode(human, judge, labels)
    n_labels = len(names)
    used_by_human = {names[c] for c in np.unique(truth)}
    used_by_judge = {names[c] for c in np.unique(predicted)}

    def agreement(t: np.ndarray, p: np.ndarray) -> float:
        return float(np.mean(t == p))

    def kappa(t: np.ndarray, p: np.ndarray) -> float:
        return _fast_kappa(t, p, n_labels)

    def with_interval(statistic: Callable[[np.ndarray, np.ndarray], float]) -> Estimate:
        return bootstrap_ci(
            statistic, truth, predicted, n_resamples=n_resamples, seed=seed, confidence=confidence, groups=groups
        )

    return AgreementReport(
        n=len(truth),
        labels=names,
        accuracy=with_interval(agreement),
        cohen_kappa=with_interval(kappa),
        confusion=confusion_matrix(human, judge, names),
        labels_only_in_judge=[label for label in names if label in used_by_judge - used_by_human],
        labels_only_in_human=[label for label in names if label in used_by_human - used_by_judge],
    )


def _fast_kappa(truth: np.ndarray, predicted: np.ndarray, n_labels: int) -> float:
    """Unweighted Cohen's kappa from label codes in plain numpy.

    Same formula as scikit-learn's (`cohen_kappa`); used for bootstrap intervals, where scikit-learn's input checks
    cost milliseconds per call and would make a 1000-resample interval take seconds.
    """
    counts = _counts(truth, predicted, n_labels)
    n = counts.sum()
    observed = np.trace(counts) / n
    expected = float(counts.sum(axis=1) @ counts.sum(axis=0)) / n**2
    return math.nan if expected == 1 else float((observed - expected) / (1 - expected))


def _counts(truth: np.ndarray, predicted: np.ndarray, n_labels: int) -> np.ndarray:
    """The confusion matrix of two arrays of label codes: `counts[i, j]` = items coded i in truth and j in predicted."""
    return np.bincount(truth * n_labels + predicted, minlength=n_labels * n_labels).reshape(n_labels, n_labels)


def _encode(
    y_true: Sequence[Label], y_pred: Sequence[Label], labels: Sequence[Label] | None = None
) -> tuple[np.ndarray, np.ndarray, list[Label]]:
    """Integer codes for both label lists, and the label of each code."""
    if len(y_true) == 0 and len(y_pred) == 0:
        raise ConfigError("no items to compare: both label lists are empty")
    if len(y_true) != len(y_pred):
        raise InputError(
            f"the label lists differ in length: {len(y_true)} human vs {len(y_pred)} judge labels",
            hint="give exactly one label per item on each side, in the same order",
        )
    _check_no_missing(y_true, "human labels")
    _check_no_missing(y_pred, "judge labels")
    seen = _sorted_labels([*y_true, *y_pred])
    if labels is None:
        names = seen
    else:
        names = list(labels)
        if len(set(names)) != len(names):
            raise ConfigError(f"labels contain duplicates: {names!r}")
        unknown = [label for label in seen if label not in set(names)]
        if unknown:
            raise InputError(
                f"the data use labels {unknown!r} that are not in labels={names!r}",
                hint="add them to labels, or leave labels unset to use every label found",
            )
    code = {label: i for i, label in enumerate(names)}
    truth = np.array([code[label] for label in y_true], dtype=int)
    predicted = np.array([code[label] for label in y_pred], dtype=int)
    return truth, predicted, names


def _check_no_missing(values: Sequence[Label | None], what: str) -> None:
    for i, value in enumerate(values):
        if value is None or (isinstance(value, float) and math.isnan(value)):
            raise InputError(
                f"{what}: item {i} has no label",
                hint="drop unlabelled items (or unparsed verdicts) first, or map them to an explicit label",
            )


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _sorted_labels(values: Sequence[Label]) -> list[Label]:
    """Distinct labels, numbers first in numeric order, then strings in alphabetical order."""

    def key(label: Label) -> tuple[int, float, str]:
        return (0, float(label), "") if _is_number(label) else (1, 0.0, str(label))

    return sorted(set(values), key=key)
