"""Quantitative judges: a small regression from a pointwise run's outputs (score, probability-weighted score, label
probabilities, response length) onto human scores, fitted on a seeded train split and measured on the held-out
rest; saved as JSON (no pickle) and applied to new runs. `jurist calibrate-scores` is its command."""

from __future__ import annotations

import json
import math
import random
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict

from .errors import InputError
from .extras import require
from .files import read_text, write_atomic
from .outcomes import Score
from .run.log import read_run
from .stats.bootstrap import Estimate, bootstrap_ci
from .stats.correlation import correlate
from .types import Verdict

MIN_TRAIN = 5
MIN_TEST = 3
FEW_GROUPS = 10


class ScoreModel(BaseModel):
    """A fitted ridge regression over standardized features; `predict` needs no scikit-learn."""

    model_config = ConfigDict(extra="forbid")

    features: list[str]
    labels: list[str]  # the scale's labels whose probabilities are features ("p:<label>")
    mean: list[float]
    scale: list[float]
    coef: list[float]
    intercept: float
    ridge_alpha: float
    trained_on: int
    run_dir: str = ""

    def predict(self, verdicts: Sequence[Verdict]) -> np.ndarray:
        x = features(verdicts, self.labels)
        return np.asarray(((x - np.array(self.mean)) / np.array(self.scale)) @ np.array(self.coef) + self.intercept)

    def save(self, path: Path) -> None:
        write_atomic(path, self.model_dump_json(indent=2) + "\n")

    @classmethod
    def load(cls, path: Path) -> ScoreModel:
        text = read_text(path)
        try:
            return cls.model_validate_json(text)
        except ValueError as exc:
            raise InputError(f"{path}: not a score model written by `jurist calibrate-scores` ({exc})") from None


class Metrics(BaseModel):
    spearman: Estimate
    pearson: Estimate
    mae: Estimate


class CalibrationResult(BaseModel):
    """Held-out figures before (the raw expected score) and after the fitted model, with bootstrap intervals."""

    verdicts: int
    failed: int  # verdicts with an error or no score: left out of fit and measurement
    unlabelled: int
    train: int
    test: int
    test_groups: int
    split_by: str  # the metadata key whose groups never straddle the split, or "item"
    before: Metrics
    after: Metrics
    spearman_gain: Estimate  # after minus before on the same resamples
    mae_gain: Estimate  # before minus after (positive: smaller error)
    model: ScoreModel

    def render(self) -> str:
        lines = [
            f"{self.verdicts} verdicts: {self.failed} failed (no score), {self.unlabelled} without a human score;",
            f"train {self.train}, held out {self.test} ({self.test_groups} groups, split by {self.split_by})",
            "",
            "held-out      raw expected score      calibrated",
        ]
        for name in ("spearman", "pearson", "mae"):
            b, a = getattr(self.before, name), getattr(self.after, name)
            lines.append(f"{name:<12}  {b.format(3):<22}  {a.format(3)}")
        lines.append(f"Spearman gain {self.spearman_gain.format(3)}; MAE reduction {self.mae_gain.format(3)}")
        if self.split_by != "item" and self.test_groups < FEW_GROUPS:
            # a cluster bootstrap over k groups has few distinct resamples: its interval is coarse
            lines.append(f"note: {self.test_groups} held-out groups; the intervals resample them and are coarse")
        return "\n".join(lines)


def scored(verdict: Verdict) -> bool:
    return verdict.error is None and isinstance(verdict.outcome, Score) and verdict.outcome.score is not None


def features(verdicts: Sequence[Verdict], labels: Sequence[str]) -> np.ndarray:
    """One row per verdict: score, expected score (the score without logprobs), each label's probability (0 where
    none), log(1 + response characters)."""
    rows = []
    for v in verdicts:
        o = v.outcome
        assert isinstance(o, Score) and o.score is not None
        probs = o.probs or {}
        response = (v.item.response if v.item else None) or ""
        expected = o.expected if o.expected is not None else o.score
        rows.append([o.score, expected, *(probs.get(label, 0.0) for label in labels), math.log1p(len(response))])
    return np.array(rows, dtype=float)


def human_score(verdict: Verdict, field: str) -> float | None:
    """The human score: the item's label (`data`) or a metadata field; None where absent; an error if not numeric."""
    value = verdict.label if field == "data" else (verdict.metadata or {}).get(field)
    if value is None:
        return None
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        where = "label" if field == "data" else f"metadata field {field!r}"
        raise InputError(f"item {verdict.id}: {where} is {value!r}, not a number; name a numeric human score") from None


def _check_pointwise(run_dir: Path, mode: str | None) -> None:
    if mode != "pointwise":
        raise InputError(f"{run_dir}: a {mode} run; calibrate-scores needs a pointwise run (scores on a scale)")


def calibrate(
    run_dir: Path,
    *,
    labels: str = "data",
    group_key: str = "group",
    test_fraction: float = 0.3,
    ridge_alpha: float = 1.0,
    seed: int = 0,
    n_resamples: int = 1000,
) -> CalibrationResult:
    """Fit a ScoreModel on a seeded train split of `run_dir`'s scored, labelled verdicts and measure it held out.
    Items sharing `group_key` (e.g. a SummEval article) stay on one side of the split."""
    log = read_run(run_dir)
    _check_pointwise(run_dir, log.header.mode)
    good = [v for v in log.verdicts if scored(v)]
    pairs = [(v, h) for v in good if (h := human_score(v, labels)) is not None]
    if not pairs:
        field = "a label" if labels == "data" else f"metadata field {labels!r}"
        raise InputError(f"{run_dir}: no scored verdict has {field}; name the human score with --labels")
    keys = [(v.metadata or {}).get(group_key) for v, _ in pairs]
    by_group = all(k is not None for k in keys)
    groups = [str(k) if by_group else v.id for (v, _), k in zip(pairs, keys, strict=True)]
    unique = sorted(set(groups))
    random.Random(seed).shuffle(unique)
    held = set(unique[: max(1, round(len(unique) * test_fraction))])
    train = [p for p, g in zip(pairs, groups, strict=True) if g not in held]
    test = [p for p, g in zip(pairs, groups, strict=True) if g in held]
    if len(train) < MIN_TRAIN or len(test) < MIN_TEST or len(unique) < 2:
        raise InputError(
            f"{run_dir}: {len(pairs)} scored, labelled items in {len(unique)} groups split into {len(train)} to "
            f"train and {len(test)} to test; need at least {MIN_TRAIN} and {MIN_TEST}: judge more items"
        )
    model = _fit([v for v, _ in train], np.array([h for _, h in train]), ridge_alpha, str(run_dir))
    test_v = [v for v, _ in test]
    y = np.array([h for _, h in test])
    raw = features(test_v, [])[:, 1]
    fitted = model.predict(test_v)
    test_groups = [g for g in groups if g in held]
    boot: dict[str, Any] = {"n_resamples": n_resamples, "seed": seed, "groups": test_groups}

    def metrics(pred: np.ndarray) -> Metrics:
        return Metrics(
            spearman=bootstrap_ci(lambda p, t: correlate(p, t, "spearman"), pred, y, **boot),
            pearson=bootstrap_ci(lambda p, t: correlate(p, t, "pearson"), pred, y, **boot),
            mae=bootstrap_ci(lambda p, t: float(np.mean(np.abs(p - t))), pred, y, **boot),
        )

    return CalibrationResult(
        verdicts=len(log.verdicts),
        failed=len(log.verdicts) - len(good),
        unlabelled=len(good) - len(pairs),
        train=len(train),
        test=len(test),
        test_groups=len(held),
        split_by=group_key if by_group else "item",
        before=metrics(raw),
        after=metrics(fitted),
        spearman_gain=bootstrap_ci(
            lambda a, b, t: correlate(a, t, "spearman") - correlate(b, t, "spearman"), fitted, raw, y, **boot
        ),
        mae_gain=bootstrap_ci(
            lambda a, b, t: float(np.mean(np.abs(b - t)) - np.mean(np.abs(a - t))), fitted, raw, y, **boot
        ),
        model=model,
    )


def _fit(verdicts: list[Verdict], y: np.ndarray, ridge_alpha: float, run_dir: str) -> ScoreModel:
    linear_model = require("sklearn.linear_model", "fitting a score model")
    labels = sorted({label for v in verdicts for label in ((v.outcome.probs or {}) if v.outcome else {})})
    names = ["score", "expected", *(f"p:{label}" for label in labels), "log_length"]
    x = features(verdicts, labels)
    mean = x.mean(axis=0)
    scale = x.std(axis=0)
    scale[scale == 0] = 1.0  # a constant feature (no logprobs, one length) contributes nothing rather than NaN
    # ridge: the label probabilities sum to one and follow the expected score, so plain least squares is unstable
    reg = linear_model.Ridge(alpha=ridge_alpha).fit((x - mean) / scale, y)
    return ScoreModel(
        features=names,
        labels=labels,
        mean=mean.tolist(),
        scale=scale.tolist(),
        coef=[float(c) for c in reg.coef_],
        intercept=float(reg.intercept_),
        ridge_alpha=ridge_alpha,
        trained_on=len(verdicts),
        run_dir=run_dir,
    )


def apply_model(run_dir: Path, model: ScoreModel, out: Path) -> tuple[int, int]:
    """Write `out` (JSON lines: id, score, expected, calibrated; calibrated null for a failed verdict) for every
    verdict of `run_dir`; returns (scored, failed)."""
    log = read_run(run_dir)
    _check_pointwise(run_dir, log.header.mode)
    good = [v for v in log.verdicts if scored(v)]
    predicted = dict(zip((v.id for v in good), model.predict(good).tolist(), strict=True)) if good else {}
    lines = []
    for v in log.verdicts:
        o = v.outcome if isinstance(v.outcome, Score) else None
        row = {
            "id": v.id,
            "score": o.score if o else None,
            "expected": o.expected if o else None,
            "calibrated": predicted.get(v.id),
        }
        lines.append(json.dumps(row))
    write_atomic(out, "".join(line + "\n" for line in lines))
    return len(good), len(log.verdicts) - len(good)
