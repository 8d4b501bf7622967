"""Calibration of a judge's probabilities: do verdicts given with 80% confidence turn out right 80% of the time?

Inputs are, per item, a probability for each label (`{"A": 0.7, "B": 0.2, "tie": 0.1}`, or a binary
`{"yes": 0.9, "no": 0.1}`) and the correct label. Most measures look at the top label only: its probability is
the confidence, and it is correct when it equals the true label.

Recalibration maps a judge's probabilities to better ones. Fit a calibrator on a labelled split, `save` it, and
`load` and `apply` it to the verdicts of a later run of the same judge:
- `TemperatureScaler` divides log-probabilities by one fitted temperature (> 1 softens an over-confident judge);
  it never changes which label is on top.
- `IsotonicCalibrator` learns a monotone map of the top-label confidence; more flexible, needs more items.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Mapping, Sequence
from pathlib import Path
from typing import Literal, Self, TypeVar

import numpy as np
from pydantic import BaseModel, ConfigDict, ValidationError

from jurist.errors import ConfigError, InputError
from jurist.extras import require

BinStrategy = Literal["uniform", "quantile"]
# A label: "A", "tie", 1, ... Generic so that a list of dict[str, float] keeps its key type through apply().
L = TypeVar("L", bound=Hashable)

MIN_FIT_ITEMS = 10
# Probabilities are floored here before taking logs, so a label given probability 0 costs a large finite loss.
PROBABILITY_FLOOR = 1e-12
# How far a probability dict may sum from 1 (rounding in judges' outputs) before it is rejected.
SUM_TOLERANCE = 0.01


class ReliabilityBin(BaseModel):
    """One confidence bin: items whose confidence lies in (low, high] (the first bin also takes `low` itself)."""

    model_config = ConfigDict(extra="forbid")

    low: float
    high: float
    count: int
    mean_confidence: float | None = None
    accuracy: float | None = None


class ReliabilityTable(BaseModel):
    """Per-bin mean confidence against accuracy; `ece` is their count-weighted mean absolute gap."""

    model_config = ConfigDict(extra="forbid")

    n: int
    strategy: BinStrategy
    bins: list[ReliabilityBin]
    ece: float

    def render(self) -> str:
        """A plain-text table, one row per bin; empty bins show '-'."""
        lines = [f"{'confidence':<15}{'count':>7}{'mean conf':>11}{'accuracy':>10}{'gap':>8}"]
        for b in self.bins:
            span = f"{b.low:.2f}-{b.high:.2f}"
            if b.mean_confidence is None or b.accuracy is None:
                lines.append(f"{span:<15}{b.count:>7}{'-':>11}{'-':>10}{'-':>8}")
                continue
            gap = b.accuracy - b.mean_confidence
            lines.append(f"{span:<15}{b.count:>7}{b.mean_confidence:>11.3f}{b.accuracy:>10.3f}{gap:>+8.3f}")
        lines.append(f"ECE {self.ece:.4f} over {self.n} items ({self.strategy} bins)")
        return "\n".join(lines)


class CalibrationReport(BaseModel):
    """Calibration of a judge's probabilities against the correct labels."""

    model_config = ConfigDict(extra="forbid")

    n: int
    accuracy: float
    mean_confidence: float
    ece: float
    brier: float
    reliability: ReliabilityTable

    def render(self) -> str:
        head = (
            f"items: {self.n}  accuracy: {self.accuracy:.3f}  mean confidence: {self.mean_confidence:.3f}\n"
            f"ECE: {self.ece:.4f}  Brier: {self.brier:.4f}"
        )
        return head + "\n\n" + self.reliability.render()


def reliability_table(
    confidences: Sequence[float] | np.ndarray,
    correct: Sequence[bool | int] | np.ndarray,
    n_bins: int = 10,
    strategy: BinStrategy = "uniform",
) -> ReliabilityTable:
    """Bin items by confidence (`uniform`: equal-width bins on [0, 1]; `quantile`: bins of about equal count)
    and compare each bin's mean confidence with its accuracy."""
    conf, right = _confidences(confidences, correct)
    if n_bins < 1:
        raise ConfigError(f"n_bins must be at least 1, got {n_bins}")
    if strategy == "uniform":
        edges = np.linspace(0.0, 1.0, n_bins + 1)
    elif strategy == "quantile":
        # Repeated confidences can make quantile edges coincide; those bins merge.
        edges = np.unique(np.quantile(conf, np.linspace(0.0, 1.0, n_bins + 1)))
        if edges.size == 1:
            edges = np.array([edges[0], edges[0]])
    else:
        raise ConfigError(f"unknown bin strategy {strategy!r}: use 'uniform' or 'quantile'")
    index = np.searchsorted(edges[1:-1], conf, side="left")
    bins: list[ReliabilityBin] = []
    ece = 0.0
    for b in range(edges.size - 1):
        members = index == b
        count = int(members.sum())
        if count == 0:
            bins.append(ReliabilityBin(low=float(edges[b]), high=float(edges[b + 1]), count=0))
            continue
        mean_confidence, bin_accuracy = float(conf[members].mean()), float(right[members].mean())
        ece += count / conf.size * abs(bin_accuracy - mean_confidence)
        bins.append(
            ReliabilityBin(
                low=float(edges[b]),
                high=float(edges[b + 1]),
                count=count,
                mean_confidence=mean_confidence,
                accuracy=bin_accuracy,
            )
        )
    return ReliabilityTable(n=int(conf.size), strategy=strategy, bins=bins, ece=ece)


def expected_calibration_error(
    confidences: Sequence[float] | np.ndarray,
    correct: Sequence[bool | int] | np.ndarray,
    n_bins: int = 10,
    strategy: BinStrategy = "uniform",
) -> float:
    """ECE: the count-weighted mean over confidence bins of |accuracy - mean confidence|. 0 is perfect."""
    return reliability_table(confidences, correct, n_bins=n_bins, strategy=strategy).ece


def brier_score(probs: Sequence[Mapping[L, float]], labels: Sequence[L]) -> float:
    """Multi-class Brier score: mean over items of the summed squared differences between the probabilities and the
    one-hot truth. 0 is perfect; always answering 1.0 on a wrong label scores 2."""
    _check_probabilities(probs, labels)
    total = 0.0
    for dist, truth in zip(probs, labels, strict=True):
        total += sum((p - (1.0 if label == truth else 0.0)) ** 2 for label, p in dist.items())
    return total / len(probs)


def top_label(probs: Sequence[Mapping[L, float]]) -> tuple[list[L], np.ndarray]:
    """The most probable label of each item (the first one on a tie) and its probability."""
    predicted = [max(dist, key=lambda label: dist[label]) for dist in probs]
    return predicted, np.array([dist[label] for dist, label in zip(probs, predicted, strict=True)], dtype=float)


def calibration_report(
    probs: Sequence[Mapping[L, float]], labels: Sequence[L], n_bins: int = 10, strategy: BinStrategy = "uniform"
) -> CalibrationReport:
    """ECE (on top-label confidence), multi-class Brier score and the reliability table."""
    _check_probabilities(probs, labels)
    predicted, conf = top_label(probs)
    right = np.array([p == t for p, t in zip(predicted, labels, strict=True)])
    table = reliability_table(conf, right, n_bins=n_bins, strategy=strategy)
    return CalibrationReport(
        n=len(probs),
        accuracy=float(right.mean()),
        mean_confidence=float(conf.mean()),
        ece=table.ece,
        brier=brier_score(probs, labels),
        reliability=table,
    )


class _SavedAsJson(BaseModel):
    """Save and load a fitted calibrator as a JSON file."""

    model_config = ConfigDict(extra="forbid")

    def save(self, path: str | Path) -> None:
        Path(path).write_text(self.model_dump_json(indent=2) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, path: str | Path) -> Self:
        try:
            return cls.model_validate_json(Path(path).read_text(encoding="utf-8"))
        except OSError as exc:
            raise ConfigError(f"cannot read calibrator file {path}: {exc}") from None
        except ValidationError as exc:
            raise ConfigError(f"{path} is not a saved {cls.__name__}: {exc}") from None


class TemperatureScaler(_SavedAsJson):
    """Divides each item's log-probabilities by one temperature and renormalises.

    The temperature is fitted by minimising the negative log-likelihood of the true labels; > 1 means the judge was
    over-confident. The most probable label never changes.
    """

    kind: Literal["temperature"] = "temperature"
    temperature: float = 1.0
    n_fit: int = 0

    def fit(self, probs: Sequence[Mapping[L, float]], labels: Sequence[L]) -> Self:
        from scipy.optimize import minimize_scalar
        from scipy.special import logsumexp

        _check_fit_size(probs)
        _check_probabilities(probs, labels)
        names = sorted({label for dist in probs for label in dist}, key=str)
        column = {label: i for i, label in enumerate(names)}
        # Labels an item has no probability for stay at -inf: they get no mass at any temperature.
        logp = np.full((len(probs), len(names)), -np.inf)
        for row, dist in enumerate(probs):
            for label, p in dist.items():
                logp[row, column[label]] = math.log(max(p, PROBABILITY_FLOOR))
        truth = logp[np.arange(len(probs)), [column[label] for label in labels]]

        def negative_log_likelihood(log_temperature: float) -> float:
            t = math.exp(log_temperature)
            return float(np.mean(logsumexp(logp / t, axis=1) - truth / t))

        # Searching log(T) keeps T positive; 0.01-100 spans anything from near-argmax to near-uniform.
        result = minimize_scalar(negative_log_likelihood, bounds=(math.log(0.01), math.log(100.0)), method="bounded")
        self.temperature = float(math.exp(result.x))
        self.n_fit = len(probs)
        return self

    def apply(self, probs: Sequence[Mapping[L, float]]) -> list[dict[L, float]]:
        scaled: list[dict[L, float]] = []
        for dist in probs:
            logits = {label: math.log(max(p, PROBABILITY_FLOOR)) / self.temperature for label, p in dist.items()}
            top = max(logits.values())
            weights = {label: math.exp(z - top) for label, z in logits.items()}
            total = sum(weights.values())
            scaled.append({label: w / total for label, w in weights.items()})
        return scaled


class IsotonicCalibrator(_SavedAsJson):
    """A monotone map from the judge's top-label confidence to the chance of being right (scikit-learn isotonic
    regression), stored as the breakpoints of a piecewise-linear curve; outside them it stays flat.

    `apply` sets the top label's probability to the calibrated confidence and rescales the other labels to share
    the rest in their old proportions. If the calibrated confidence drops below another label's share, that label
    becomes the most probable: at that confidence the judge is right less often than not.
    """

    kind: Literal["isotonic"] = "isotonic"
    confidence_points: list[float] = []
    calibrated_points: list[float] = []
    n_fit: int = 0

    def fit(self, probs: Sequence[Mapping[L, float]], labels: Sequence[L]) -> Self:
        isotonic = require("sklearn.isotonic", "fitting an isotonic calibrator")
        _check_fit_size(probs)
        _check_probabilities(probs, labels)
        predicted, conf = top_label(probs)
        right = np.array([p == t for p, t in zip(predicted, labels, strict=True)], dtype=float)
        regression = isotonic.IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip").fit(conf, right)
        self.confidence_points = [float(x) for x in regression.X_thresholds_]
        self.calibrated_points = [float(y) for y in regression.y_thresholds_]
        self.n_fit = len(probs)
        return self

    def calibrate_confidences(self, confidences: Sequence[float] | np.ndarray) -> np.ndarray:
        """The calibrated value of each top-label confidence."""
        if not self.confidence_points:
            raise ConfigError("this IsotonicCalibrator is not fitted: call fit(...) or load a saved one first")
        return np.interp(np.asarray(confidences, dtype=float), self.confidence_points, self.calibrated_points)

    def apply(self, probs: Sequence[Mapping[L, float]]) -> list[dict[L, float]]:
        predicted, conf = top_label(probs)
        new_conf = self.calibrate_confidences(conf)
        calibrated: list[dict[L, float]] = []
        for dist, top, old, new in zip(probs, predicted, conf, new_conf, strict=True):
            others = [label for label in dist if label != top]
            rest = 1.0 - float(old)
            result: dict[L, float] = {top: float(new)} if others else {top: 1.0}
            for label in others:
                # A top label that held all the mass leaves nothing to rescale: share the rest equally.
                share = dist[label] / rest if rest > 0 else 1.0 / len(others)
                result[label] = (1.0 - float(new)) * share
            calibrated.append({label: result[label] for label in dist})
        return calibrated


def _confidences(
    confidences: Sequence[float] | np.ndarray, correct: Sequence[bool | int] | np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    conf = np.asarray(confidences, dtype=float)
    right = np.asarray(correct, dtype=float)
    if conf.size == 0:
        raise ConfigError("no items: calibration needs at least one confidence and its correctness")
    if conf.shape != right.shape or conf.ndim != 1:
        raise InputError(
            f"confidences ({conf.size}) and correct ({right.size}) must be flat lists of the same length",
            hint="give one confidence and one right/wrong flag per item",
        )
    if not np.all((conf >= 0) & (conf <= 1)):
        raise InputError("confidences must lie between 0 and 1", field="confidences")
    if not np.all((right == 0) | (right == 1)):
        raise InputError("correct must hold only True/False (or 1/0)", field="correct")
    return conf, right


def _check_fit_size(probs: Sequence[Mapping[L, float]]) -> None:
    if len(probs) < MIN_FIT_ITEMS:
        raise ConfigError(
            f"need at least {MIN_FIT_ITEMS} labelled items to fit a calibrator, got {len(probs)}: "
            "label more items of the calibration split"
        )


def _check_probabilities(probs: Sequence[Mapping[L, float]], labels: Sequence[L]) -> None:
    if len(probs) == 0:
        raise ConfigError("no items: give at least one probability dict and its correct label")
    if len(probs) != len(labels):
        raise InputError(
            f"{len(probs)} probability dicts but {len(labels)} labels", hint="give one correct label per item"
        )
    for i, (dist, truth) in enumerate(zip(probs, labels, strict=True)):
        if truth not in dist:
            raise ConfigError(
                f"item {i}: the correct label {truth!r} is not among its probability labels {list(dist)!r}; "
                "every item needs a probability for each label it could have, the correct one included"
            )
        values = list(dist.values())
        if not all(0.0 <= p <= 1.0 for p in values):
            raise InputError(f"item {i}: probabilities must lie between 0 and 1, got {dict(dist)!r}")
        if abs(sum(values) - 1.0) > SUM_TOLERANCE:
            raise InputError(
                f"item {i}: probabilities sum to {sum(values):.4f}, not 1",
                hint="normalise each item's probabilities over its labels before measuring calibration",
            )
