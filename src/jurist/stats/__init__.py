"""Statistics for judging the judges: pure functions, numbers in and typed results out.

- `bootstrap`: `Estimate` (a value with a confidence interval) and `bootstrap_ci` (plain, cluster, stratified);
- `agreement`: accuracy, Cohen's and Fleiss' kappa, Krippendorff's alpha, confusion matrix, `agreement_report`;
- `correlation`: item-, group- (summary-) and system-level correlations, `correlation_report`;
- `calibration`: ECE, Brier score, reliability table, temperature and isotonic recalibration;
- `selective`: a confidence threshold with a guarantee on agreement with humans (Trust or Escalate);
- `ppi`: prediction-powered inference, a mean from few human labels and many judge labels;
- `alt_test`: the Alternative Annotator Test (can the judge replace a human annotator?).

scikit-learn, statsmodels, krippendorff and scipy are imported inside the functions that need them, so importing
this package stays cheap.
"""

from jurist.stats.agreement import (
    AgreementReport,
    ConfusionMatrix,
    Label,
    accuracy,
    agreement_report,
    cohen_kappa,
    confusion_matrix,
    fleiss_kappa,
    krippendorff_alpha,
)
from jurist.stats.alt_test import AltTestResult, AnnotatorResult, alt_test
from jurist.stats.bootstrap import Estimate, bootstrap_ci
from jurist.stats.calibration import (
    CalibrationReport,
    IsotonicCalibrator,
    ReliabilityBin,
    ReliabilityTable,
    TemperatureScaler,
    brier_score,
    calibration_report,
    expected_calibration_error,
    reliability_table,
    top_label,
)
from jurist.stats.correlation import CorrelationReport, LevelCorrelations, correlate, correlation_report
from jurist.stats.ppi import PPIEstimate, ppi_mean
from jurist.stats.selective import (
    SelectiveCalibration,
    apply_threshold,
    calibrate_threshold,
    min_calibration_items,
    selective_curve,
)

__all__ = [
    "AgreementReport",
    "AltTestResult",
    "AnnotatorResult",
    "CalibrationReport",
    "ConfusionMatrix",
    "CorrelationReport",
    "Estimate",
    "IsotonicCalibrator",
    "Label",
    "LevelCorrelations",
    "PPIEstimate",
    "ReliabilityBin",
    "ReliabilityTable",
    "SelectiveCalibration",
    "TemperatureScaler",
    "accuracy",
    "agreement_report",
    "alt_test",
    "apply_threshold",
    "bootstrap_ci",
    "brier_score",
    "calibrate_threshold",
    "calibration_report",
    "cohen_kappa",
    "confusion_matrix",
    "correlate",
    "correlation_report",
    "expected_calibration_error",
    "fleiss_kappa",
    "krippendorff_alpha",
    "min_calibration_items",
    "ppi_mean",
    "reliability_table",
    "selective_curve",
    "top_label",
]
