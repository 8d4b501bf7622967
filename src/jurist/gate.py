"""The CI gate: `--fail-under METRIC=VALUE` on a run's summary (`jurist judge`) or its meta-evaluation (`jurist
meta-eval`). A figure below its threshold fails the gate; a metric that the run cannot give (no labels, another mode)
is a configuration error, never a pass. Every message says how many items failed and whether the gated figure counts
them: where both figures exist (accuracy), the stricter one, with the failures counted as wrong, is gated.

Kept light (no statistics imported): the CLI builds its options from the metric tables below at startup.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Generic, TypeVar

from .errors import ConfigError

if TYPE_CHECKING:
    from .meta import MetaReport
    from .stats import Estimate
    from .summary import Summary

R = TypeVar("R")


COUNTED = "counted as wrong"


class Undefined(Exception):
    """The run cannot give this metric; the message says why."""


@dataclass(frozen=True)
class Figure:
    """A gated figure: its value, its interval where the report has one, and how failed items enter it."""

    value: float
    low: float | None = None
    high: float | None = None
    failures: str = "left out"  # or COUNTED: failed items enter the figure as wrong

    def interval(self) -> str:
        if self.low is None or self.high is None or math.isnan(self.low) or math.isnan(self.high):
            return ""
        return f" [{self.low:.3f}, {self.high:.3f}] (95% bootstrap)"


@dataclass(frozen=True)
class Metric(Generic[R]):
    about: str
    read: Callable[[R], Figure]


@dataclass(frozen=True)
class Threshold:
    metric: str
    value: float


def parse_threshold(text: str, known: Mapping[str, Metric[R]]) -> Threshold:
    """`METRIC=VALUE`, METRIC one of `known` (the messages leave the option's name to the caller)."""
    name, sep, raw = text.partition("=")
    name = name.strip()
    if not sep or not name:
        raise ConfigError(f"{text!r}: write METRIC=VALUE, e.g. accuracy=0.8")
    if name not in known:
        raise ConfigError(f"unknown metric {name!r}; known: {', '.join(known)}")
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{text!r}: {raw!r} is not a number") from None
    if math.isnan(value):
        raise ConfigError(f"{text!r}: the threshold must be a number, not NaN")
    return Threshold(name, value)


@dataclass(frozen=True)
class GateResult:
    passed: list[str]
    failed: list[str]

    @property
    def ok(self) -> bool:
        return not self.failed


def check_gate(report: R, thresholds: list[Threshold], known: Mapping[str, Metric[R]], failures: str) -> GateResult:
    """Each threshold against `report`. `failures` describes the run's failed items ("2 of 20 items failed"); it is
    in every line. An undefined metric raises ConfigError, naming the metric and why."""
    passed: list[str] = []
    failed: list[str] = []
    for threshold in thresholds:
        try:
            figure = known[threshold.metric].read(report)
        except Undefined as exc:
            raise ConfigError(f"--fail-under {threshold.metric}: undefined for this run: {exc}") from None
        if math.isnan(figure.value):
            raise ConfigError(f"--fail-under {threshold.metric}: undefined for this run (the figure is NaN)")
        line = (
            f"{threshold.metric} {figure.value:.3f}{figure.interval()} "
            f"{'<' if figure.value < threshold.value else '>='} {threshold.value:g} "
            f"({failures}: {'counted as wrong in' if figure.failures == COUNTED else 'left out of'} this figure)"
        )
        (failed if figure.value < threshold.value else passed).append(line)
    return GateResult(passed, failed)


# -- the run summary (`jurist judge`) ------------------------------------------------------------------------------


def _summary_value(name: str, needs: str) -> Callable[[Summary], Figure]:
    def read(summary: Summary) -> Figure:
        value = getattr(summary, name)
        if value is None:
            raise Undefined(f"this {summary.mode} run has no {name}: it needs {needs}")
        return Figure(float(value))

    return read


def _summary_accuracy(summary: Summary) -> Figure:
    # the stricter figure: labelled items without a verdict count as wrong (0 when every labelled item failed)
    if summary.accuracy_failures_wrong is not None:
        return Figure(summary.accuracy_failures_wrong, failures=COUNTED)
    if summary.accuracy is None:
        raise Undefined(f"no verdict of this {summary.mode} run has a human label (map one with --field label=COLUMN)")
    return Figure(summary.accuracy)


def _summary_mean_score(summary: Summary) -> Figure:
    if "mean_score" not in summary.outcome:
        raise Undefined(f"mean_score is the mean of pointwise scores; this run is {summary.mode}, with no score")
    return Figure(summary.outcome["mean_score"])


def _verdict_share(summary: Summary) -> Figure:
    return Figure(1.0 - summary.failed_share, failures=COUNTED)


SUMMARY_METRICS: dict[str, Metric[Summary]] = {
    "accuracy": Metric("labelled items judged right, failures counted as wrong", _summary_accuracy),
    "mean_score": Metric("pointwise: the mean score", _summary_mean_score),
    "position_consistency": Metric(
        "pairwise: share of swapped pairs judged the same both ways",
        _summary_value("position_consistency", "pairwise items judged in both orders"),
    ),
    "spearman": Metric(
        "pointwise: Spearman with numeric labels", _summary_value("spearman", "3+ items with varied numeric labels")
    ),
    "spearman_expected": Metric(
        "pointwise: Spearman of the probability-weighted score",
        _summary_value("spearman_expected", "varied numeric labels and logprobs"),
    ),
    "pearson": Metric(
        "pointwise: Pearson with numeric labels", _summary_value("pearson", "3+ items with varied numeric labels")
    ),
    "kendall": Metric(
        "listwise: mean Kendall tau with ranking labels", _summary_value("kendall", "listwise items with full rankings")
    ),
    "verdict_share": Metric("share of items with a complete verdict", _verdict_share),
}


# what a summary metric needs of the data, checked before judging: a CI run must not judge for nothing
_NEEDS_LABELS = ("accuracy", "spearman", "spearman_expected", "pearson", "kendall")
_NEEDS_MODE = {
    "mean_score": "pointwise",
    "position_consistency": "pairwise",
    "spearman": "pointwise",
    "spearman_expected": "pointwise",
    "pearson": "pointwise",
    "kendall": "listwise",
}


def check_before_judging(thresholds: tuple[Threshold, ...], *, mode: str, labelled: int, swap: bool) -> None:
    """Refuse, before any call, a summary metric that this run cannot give (ConfigError, exit 2)."""
    for threshold in thresholds:
        name = threshold.metric
        wanted = _NEEDS_MODE.get(name)
        if wanted is not None and wanted != mode:
            raise ConfigError(f"--fail-under {name}: undefined for this run: it needs --mode {wanted}, not {mode}")
        if name in _NEEDS_LABELS and not labelled:
            raise ConfigError(
                f"--fail-under {name}: undefined for this run: no item has a human label (map one with --field "
                "label=COLUMN)"
            )
        if name == "position_consistency" and not swap:
            raise ConfigError(f"--fail-under {name}: undefined for this run: --no-swap judges one order only")


def summary_failures(summary: Summary) -> str:
    missing = summary.failed + summary.incomplete
    return f"{missing} of {summary.judged} items failed"


# -- the meta-evaluation (`jurist meta-eval`) ----------------------------------------------------------------------


def _estimate(estimate: Estimate, failures: str = "left out") -> Figure:
    return Figure(estimate.value, estimate.low, estimate.high, failures)


def _meta_accuracy(report: MetaReport) -> Figure:
    if report.agreement is None:
        raise Undefined(_no_agreement(report))
    if report.accuracy_failures_wrong is not None:  # the stricter figure, with its own interval
        return _estimate(report.accuracy_failures_wrong, COUNTED)
    return _estimate(report.agreement.accuracy, COUNTED if not report.labelled_failed else "left out")


def _meta_kappa(report: MetaReport) -> Figure:
    if report.agreement is None:
        raise Undefined(_no_agreement(report))
    return _estimate(report.agreement.cohen_kappa)


def _no_agreement(report: MetaReport) -> str:
    why = report.skipped.get(f"the {report.mode} figures")
    if why:
        return why
    return f"this {report.mode} run has numeric labels: gate a correlation (spearman, pearson, kendall) instead"


def _meta_position(report: MetaReport) -> Figure:
    if report.position_consistency is None:
        raise Undefined("no pair of this run was judged in both orders (pairwise, without --no-swap)")
    return _estimate(report.position_consistency)


def _meta_correlation(method: str, level: str) -> Callable[[MetaReport], Figure]:
    def read(report: MetaReport) -> Figure:
        if report.correlation is None:
            raise Undefined(
                report.skipped.get(f"the {report.mode} figures")
                or "correlations need pointwise verdicts with numeric labels: gate accuracy or kappa instead"
            )
        estimate = getattr(report.correlation.by_method[method], level)
        if estimate is None:
            key = "--group" if level == "group" else "--system-key"
            raise Undefined(f"no {level} level: the items name no {level} (see {key})")
        return _estimate(estimate)

    return read


META_METRICS: dict[str, Metric[MetaReport]] = {
    "accuracy": Metric("agreement with the labels, failures counted as wrong", _meta_accuracy),
    "kappa": Metric("Cohen's kappa with the labels", _meta_kappa),
    "position_consistency": Metric("pairwise: swapped pairs judged the same both ways", _meta_position),
    **{
        f"{method}{'' if level == 'item' else '_' + level}": Metric(
            f"{method} at {level} level", _meta_correlation(method, level)
        )
        for method in ("spearman", "pearson", "kendall")
        for level in ("item", "group", "system")
    },
}


def meta_failures(report: MetaReport) -> str:
    missing = report.failed + report.incomplete
    return f"{missing} of {report.verdicts} items failed ({report.labelled_failed} of them labelled)"


def check_thresholds(report: Summary | MetaReport, thresholds: Mapping[str, float]) -> GateResult:
    """The gate from Python: `check_thresholds(open_run(out).summary(), {"accuracy": 0.8})` or on a meta_evaluate()
    report (`{"kappa": 0.6}`). `.ok`, and one line per threshold in `.passed` / `.failed`, as the CLI prints them.
    An unknown or undefined metric raises ConfigError."""
    from .summary import Summary

    if isinstance(report, Summary):
        return check_gate(report, _parsed(thresholds, SUMMARY_METRICS), SUMMARY_METRICS, summary_failures(report))
    return check_gate(report, _parsed(thresholds, META_METRICS), META_METRICS, meta_failures(report))


def _parsed(thresholds: Mapping[str, float], known: Mapping[str, Metric[R]]) -> list[Threshold]:
    return [parse_threshold(f"{name}={value}", known) for name, value in thresholds.items()]
