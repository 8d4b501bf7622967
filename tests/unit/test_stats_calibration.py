"""Calibration measures and recalibrators, on hand-checkable cases and seeded synthetic judges."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from jurist.errors import ConfigError, InputError
from jurist.stats import (
    IsotonicCalibrator,
    TemperatureScaler,
    brier_score,
    calibration_report,
    expected_calibration_error,
    reliability_table,
    top_label,
)


def synthetic_judge(n: int, sharpness: float, seed: int) -> tuple[list[dict[str, float]], list[str]]:
    """A binary judge that is right with probability q ~ U(0.55, 0.95) but reports q with its logit multiplied by
    `sharpness` (1: perfectly calibrated; > 1: over-confident)."""
    rng = np.random.default_rng(seed)
    q = rng.uniform(0.55, 0.95, n)
    reported = 1 / (1 + np.exp(-sharpness * np.log(q / (1 - q))))
    picks = rng.choice(["A", "B"], size=n)
    right = rng.random(n) < q
    probs, labels = [], []
    for pick, conf, ok in zip(picks, reported, right, strict=True):
        other = "B" if pick == "A" else "A"
        probs.append({str(pick): float(conf), other: float(1 - conf)})
        labels.append(str(pick) if ok else other)
    return probs, labels


def ece_of(probs: list[dict[str, float]], labels: list[str]) -> float:
    return calibration_report(probs, labels).ece


def test_ece_hand_cases() -> None:
    assert expected_calibration_error([0.9] * 10, [True] * 9 + [False]) == pytest.approx(0.0)
    assert expected_calibration_error([0.9] * 10, [True] * 5 + [False] * 5) == pytest.approx(0.4)
    # Bin 0.2: accuracy 0.5, gap 0.3; bin 0.8: accuracy 1.0, gap 0.2; each half the items.
    assert expected_calibration_error([0.2, 0.2, 0.8, 0.8], [0, 1, 1, 1]) == pytest.approx(0.25)


def test_reliability_table_bins() -> None:
    table = reliability_table([0.0, 0.1, 0.15, 0.95, 1.0], [0, 1, 1, 1, 1], n_bins=10)
    counts = [b.count for b in table.bins]
    # Bins are (low, high]; 0 and 0.1 fall in the first, 0.15 in the second, 0.95 and 1.0 in the last.
    assert counts == [2, 1, 0, 0, 0, 0, 0, 0, 0, 2]
    assert table.bins[0].accuracy == pytest.approx(0.5) and table.bins[0].mean_confidence == pytest.approx(0.05)
    assert table.bins[2].accuracy is None
    text = table.render()
    assert "0.90-1.00" in text and "ECE" in text

    quantile = reliability_table(np.linspace(0.5, 1.0, 100), [1] * 100, n_bins=4, strategy="quantile")
    assert [b.count for b in quantile.bins] == [25, 25, 25, 25]


def test_brier_score_hand_cases() -> None:
    assert brier_score([{"A": 1.0, "B": 0.0}], ["A"]) == pytest.approx(0.0)
    assert brier_score([{"A": 0.5, "B": 0.5}], ["A"]) == pytest.approx(0.5)
    # (0.6 - 0)^2 + (0.3 - 1)^2 + (0.1 - 0)^2 = 0.36 + 0.49 + 0.01
    assert brier_score([{"A": 0.6, "B": 0.3, "tie": 0.1}], ["B"]) == pytest.approx(0.86)


def test_bad_probability_inputs_raise() -> None:
    with pytest.raises(ConfigError, match="not among its probability labels"):
        brier_score([{"A": 0.7, "B": 0.3}], ["tie"])
    with pytest.raises(InputError, match="sum to"):
        brier_score([{"A": 0.7, "B": 0.7}], ["A"])
    with pytest.raises(ConfigError, match="no items"):
        calibration_report([], [])
    with pytest.raises(ConfigError, match="at least 10"):
        TemperatureScaler().fit([{"A": 0.9, "B": 0.1}] * 9, ["A"] * 9)


def test_calibrated_judge_has_small_ece_and_overconfident_judge_larger() -> None:
    calibrated = ece_of(*synthetic_judge(4000, sharpness=1.0, seed=1))
    overconfident = ece_of(*synthetic_judge(4000, sharpness=3.0, seed=1))
    assert calibrated < 0.03
    assert overconfident > 0.1


def test_temperature_scaling_reduces_ece_on_held_out_half() -> None:
    probs, labels = synthetic_judge(4000, sharpness=3.0, seed=2)
    fit_probs, fit_labels, test_probs, test_labels = probs[:2000], labels[:2000], probs[2000:], labels[2000:]
    scaler = TemperatureScaler().fit(fit_probs, fit_labels)
    # The judge sharpened logits 3x; undoing that needs a temperature near 3.
    assert scaler.temperature == pytest.approx(3.0, rel=0.25)
    scaled = scaler.apply(test_probs)
    assert ece_of(scaled, test_labels) < ece_of(test_probs, test_labels) / 2
    assert top_label(scaled)[0] == top_label(test_probs)[0]
    assert all(sum(dist.values()) == pytest.approx(1.0) for dist in scaled)


def test_temperature_apply_hand_case() -> None:
    # T = 2 takes square roots before renormalising: sqrt(0.9) / (sqrt(0.9) + sqrt(0.1)) = 0.75.
    scaled = TemperatureScaler(temperature=2.0).apply([{"A": 0.9, "B": 0.1}])
    assert scaled[0]["A"] == pytest.approx(0.75)


def test_isotonic_calibrator_reduces_ece_and_matches_scikit_learn() -> None:
    from sklearn.isotonic import IsotonicRegression

    probs, labels = synthetic_judge(4000, sharpness=3.0, seed=3)
    fit_probs, fit_labels, test_probs, test_labels = probs[:2000], labels[:2000], probs[2000:], labels[2000:]
    calibrator = IsotonicCalibrator().fit(fit_probs, fit_labels)
    calibrated = calibrator.apply(test_probs)
    assert ece_of(calibrated, test_labels) < ece_of(test_probs, test_labels) / 2
    assert all(sum(dist.values()) == pytest.approx(1.0) for dist in calibrated)

    predicted, conf = top_label(fit_probs)
    right = [p == t for p, t in zip(predicted, fit_labels, strict=True)]
    reference = IsotonicRegression(y_min=0, y_max=1, out_of_bounds="clip").fit(conf, right)
    _, test_conf = top_label(test_probs)
    assert np.allclose(calibrator.calibrate_confidences(test_conf), reference.predict(test_conf))


def test_calibrators_round_trip_through_json(tmp_path: Path) -> None:
    probs, labels = synthetic_judge(200, sharpness=2.0, seed=4)
    scaler = TemperatureScaler().fit(probs, labels)
    isotonic = IsotonicCalibrator().fit(probs, labels)
    scaler.save(tmp_path / "temperature.json")
    isotonic.save(tmp_path / "isotonic.json")

    loaded_scaler = TemperatureScaler.load(tmp_path / "temperature.json")
    loaded_isotonic = IsotonicCalibrator.load(tmp_path / "isotonic.json")
    assert loaded_scaler.apply(probs[:5]) == scaler.apply(probs[:5])
    assert loaded_isotonic.apply(probs[:5]) == isotonic.apply(probs[:5])
    with pytest.raises(ConfigError, match="not a saved TemperatureScaler"):
        TemperatureScaler.load(tmp_path / "isotonic.json")
    with pytest.raises(ConfigError, match="not fitted"):
        IsotonicCalibrator().apply(probs[:1])


def test_calibration_report_fields() -> None:
    probs = [{"A": 0.8, "B": 0.2}, {"A": 0.4, "B": 0.6}, {"A": 0.9, "B": 0.1}, {"A": 0.3, "B": 0.7}]
    report = calibration_report(probs, ["A", "A", "A", "B"])
    assert report.n == 4
    assert report.accuracy == pytest.approx(0.75)  # top labels A, B, A, B against A, A, A, B
    assert report.mean_confidence == pytest.approx((0.8 + 0.6 + 0.9 + 0.7) / 4)
    assert report.brier == pytest.approx(brier_score(probs, ["A", "A", "A", "B"]))
    assert "Brier" in report.render()
