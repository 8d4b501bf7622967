"""Meta-evaluation of a run: how far its verdicts agree with the human (or gold) labels its items carry.

What is measured depends on the mode and the labels:
- pairwise and categorical pointwise: accuracy, Cohen's kappa and the confusion matrix; position consistency where
  both orders were judged; calibration (ECE, Brier, reliability table) where verdicts carry probabilities;
  selective evaluation (Trust or Escalate) where they carry a confidence;
- numeric pointwise: Pearson, Spearman and Kendall at item level, per group ("summary level": within each source
  document, then averaged) when items name a group, and at system level when they name a system;
- several annotators per item (metadata `annotations`): Fleiss' kappa and Krippendorff's alpha among the humans,
  and the Alternative Annotator Test of the judge against them.
Every figure comes with a bootstrap interval. The statistics live in `jurist.stats`; this module picks the ones that
fit a run and gathers them in one report.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from .conventions import CONVENTIONS, ConventionReport, apply_convention
from .errors import ConfigError, InputError, JuristError
from .outcomes import Preference, Score
from .run.log import read_run
from .stats import (
    AgreementReport,
    AltTestResult,
    CalibrationReport,
    CorrelationReport,
    Estimate,
    IsotonicCalibrator,
    PPIEstimate,
    SelectiveCalibration,
    TemperatureScaler,
    agreement_report,
    alt_test,
    bootstrap_ci,
    calibration_report,
    correlation_report,
    fleiss_kappa,
    krippendorff_alpha,
    ppi_mean,
    selective_curve,
)
from .summary import FAILURE_WARNING_SHARE
from .types import Verdict

MIN_LABELLED = 10  # fewer labelled verdicts than this give intervals too wide to say anything
ScoreField = Literal["score", "expected"]
Calibrator = TemperatureScaler | IsotonicCalibrator


class MetaOptions(BaseModel):
    """Where a run's items keep their grouping, and how the statistics are run."""

    model_config = ConfigDict(extra="forbid")

    group_key: str = Field("group", description="metadata key of the source document / prompt (summary level)")
    system_key: str = Field("system", description="metadata key of the system that wrote the response")
    annotations_key: str = Field("annotations", description="metadata key of the individual annotators' labels")
    score: ScoreField = Field("score", description="pointwise: the argmax score, or the probability-weighted one")
    n_resamples: int = Field(1000, ge=1)
    seed: int = 0
    alphas: list[float] = Field(default_factory=lambda: [0.05, 0.1, 0.15, 0.2, 0.25, 0.3])
    delta: float = Field(0.1, gt=0, lt=1)
    epsilon: float = Field(0.2, ge=0, description="Alternative Annotator Test's epsilon")
    group_required: bool = Field(
        False, description="refuse a run none of whose verdicts carries `group_key` (the user named the key)"
    )
    by: str | None = Field(None, description="metadata key to break every figure down by (subset, category...)")
    convention: str | None = Field(None, description=f"a benchmark's own headline metric: {', '.join(CONVENTIONS)}")


class AnnotatorAgreement(BaseModel):
    n_items: int
    n_annotators: int
    fleiss_kappa: float | None = Field(None, description="items every annotator labelled")
    krippendorff_alpha: float


class MetaReport(BaseModel):
    run: str
    mode: str
    verdicts: int
    labelled: int
    failed: int
    # items without a complete verdict (failed, or incomplete): their share of the verdicts, the labelled ones among
    # them, and accuracy with those counted as wrong (`agreement` leaves them out)
    incomplete: int = 0
    failed_share: float = 0.0
    failure_reasons: dict[str, int] = Field(default_factory=dict)
    labelled_failed: int = 0
    accuracy_failures_wrong: Estimate | None = None
    agreement: AgreementReport | None = None
    position_consistency: Estimate | None = None
    calibration: CalibrationReport | None = None
    calibrated_with: str | None = None
    selective: list[SelectiveCalibration] | None = None
    correlation: CorrelationReport | None = None
    annotators: AnnotatorAgreement | None = None
    alt_test: AltTestResult | None = None
    convention: ConventionReport | None = None
    by: str | None = None
    breakdown: dict[str, MetaReport] | None = Field(None, description="value of `by` -> the report on its items")
    skipped: dict[str, str] = Field(default_factory=dict, description="section -> why it could not be computed")
    notes: list[str] = Field(default_factory=list)
    # `--labels review`: the labels came from people in `jurist review`; PPI then uses the reviewed items as the
    # labelled set and the judge's verdicts on the others as the unlabelled one
    labels_from: Literal["data", "review"] = "data"
    ppi: PPIEstimate | None = None


def meta_evaluate(
    run_dir: str | Path,
    options: MetaOptions | None = None,
    *,
    calibrator: Calibrator | None = None,
    labels: Mapping[str, str | float] | None = None,
) -> MetaReport:
    """The meta-evaluation of the run in `run_dir`. `calibrator` (fitted on another run with `fit_calibrator`)
    is applied to the verdicts' probabilities before calibration and selective evaluation are measured. `labels`
    (item id -> label, e.g. `jurist.review.review_labels(run_dir)`) replace the items' own labels: an item without
    one counts as unlabelled, and PPI estimates the labels' mean from them and the judge's other verdicts."""
    options = options or MetaOptions()
    header, verdicts = read_run(run_dir)
    if labels is not None:
        verdicts = [v.model_copy(update={"label": labels.get(v.id)}) for v in verdicts]
    mode = str(header.mode or (verdicts[0].mode if verdicts else ""))
    report = MetaReport(
        run=str(run_dir),
        mode=mode,
        verdicts=len(verdicts),
        labelled=sum(v.label is not None for v in verdicts),
        failed=sum(v.error is not None for v in verdicts),
    )
    # an incomplete verdict (a pairwise order failed) is not a full verdict: left out like a failure, and said so
    incomplete = sum(v.incomplete is not None and v.error is None for v in verdicts)
    usable = [v for v in verdicts if v.label is not None and v.error is None and v.incomplete is None]
    if report.labelled == 0:
        raise InputError(
            "no verdict in this run has a human label to compare with",
            file=str(run_dir),
            hint="judge data with a label column (map it with --field label=COLUMN), or a benchmark such as "
            "llmbar:Natural",
        )
    if len(usable) < MIN_LABELLED:
        raise InputError(
            f"only {len(usable)} verdicts have both a label and no error; meta-evaluation needs at least "
            f"{MIN_LABELLED}",
            file=str(run_dir),
            hint="judge more labelled items (or resume the run to retry failed ones)",
        )
    if report.labelled < report.verdicts:
        report.notes.append(f"{report.verdicts - report.labelled} verdicts have no label and are left out")
    if report.failed:
        report.notes.append(
            f"{report.failed} verdicts failed and are left out of these figures (where accuracy applies, the headline "
            "also shows it with them counted as wrong; `jurist show` lists their reasons)"
        )
    if incomplete:
        report.notes.append(
            f"{incomplete} verdicts are incomplete (one of the two orders failed) and are left out; resuming the "
            "run judges them again when the failure was transient"
        )
    labelled = [v for v in verdicts if v.label is not None]
    _check_request(report, labelled, options)
    if options.convention is not None:  # first: a run that does not fit it is refused before anything else is done
        _section(report, f"the {options.convention} convention", _convention, report, labelled, options, refuse=True)
    _section(report, f"the {mode} figures", _mode_figures, report, usable, options, calibrator)
    _section(report, "annotator agreement", _annotators, report, usable, options)
    if options.by is not None:
        _section(report, f"the breakdown by {options.by}", _breakdown, report, labelled, options)
    if labels is not None:
        report.labels_from = "review"
        _section(report, "prediction-powered inference", _ppi, report, verdicts)
    _failures_counted(report, verdicts, options)
    return report


def _ppi(report: MetaReport, verdicts: list[Verdict]) -> None:
    """The mean of the people's labels (pairwise: the share won by response A, a tie half; pointwise: the score)
    estimated by PPI++ from the reviewed items and the judge's verdicts on the items nobody reviewed."""

    def value(label: object) -> float | None:
        if report.mode == "pairwise":
            return {"A": 1.0, "B": 0.0, "tie": 0.5}.get(str(label))
        return float(label) if isinstance(label, int | float) and not isinstance(label, bool) else None

    def judged(verdict: Verdict) -> float | None:
        if verdict.error is not None or verdict.incomplete is not None:
            return None
        if report.mode == "pairwise":
            return verdict.outcome_as(Preference).p_first(ties="half")
        return verdict.outcome_as(Score).score

    pairs = [(value(v.label), judged(v)) for v in verdicts if v.label is not None]
    labelled = [(y, f) for y, f in pairs if y is not None and f is not None]
    unlabelled = [f for v in verdicts if v.label is None and (f := judged(v)) is not None]
    if not unlabelled:
        raise ConfigError("every judged item is reviewed: there are no unlabelled items for PPI to add")
    report.ppi = ppi_mean([y for y, _ in labelled], [f for _, f in labelled], unlabelled)


def _failures_counted(report: MetaReport, verdicts: list[Verdict], options: MetaOptions) -> None:
    """How many items have no complete verdict, and accuracy with the labelled ones among them counted as wrong:
    a judge whose verdicts failed on most items must not look accurate on the few that parsed."""
    report.incomplete = sum(v.incomplete is not None and v.error is None for v in verdicts)
    report.failed_share = (report.failed + report.incomplete) / report.verdicts if report.verdicts else 0.0
    reasons = Counter(v.error.reason for v in verdicts if v.error is not None)
    if report.incomplete:
        reasons["one order failed"] = report.incomplete
    report.failure_reasons = dict(sorted(reasons.items()))
    report.labelled_failed = sum(
        v.label is not None and (v.error is not None or v.incomplete is not None) for v in verdicts
    )
    if report.agreement is None or not report.labelled_failed:
        return
    n = report.agreement.n
    right = round(report.agreement.accuracy.value * n)
    outcomes = [1.0] * right + [0.0] * (n - right + report.labelled_failed)  # order does not matter to a bootstrap
    report.accuracy_failures_wrong = bootstrap_ci(
        lambda c: float(c.mean()), outcomes, n_resamples=options.n_resamples, seed=options.seed
    )


# -- sections ----------------------------------------------------------------------------------------------------


def _section(report: MetaReport, name: str, compute: Any, *args: Any, refuse: bool = False) -> None:
    """Run one section of the report; its failure becomes a note naming it, and the other sections still run.
    `refuse`: an InputError (what the user asked for does not fit the run) stops the whole command instead."""
    try:
        compute(*args)
    except Exception as exc:  # any failure: one section must never take the whole report with it
        if refuse and isinstance(exc, InputError):
            raise
        _skip(report, name, str(exc) if isinstance(exc, JuristError) else f"{type(exc).__name__}: {exc}")


def _skip(report: MetaReport, name: str, reason: str) -> None:
    report.skipped[name] = reason
    report.notes.append(f"{name} not computed: {reason}")


def _mode_figures(
    report: MetaReport, verdicts: list[Verdict], options: MetaOptions, calibrator: Calibrator | None
) -> None:
    if report.mode == "pairwise":
        _pairwise(report, verdicts, options, calibrator)
    elif report.mode == "pointwise":
        _pointwise(report, verdicts, options, calibrator)
    elif report.mode == "listwise":
        _listwise(report, verdicts, options)


def _check_request(report: MetaReport, labelled: list[Verdict], options: MetaOptions) -> None:
    """Refuse, before anything is computed, what the user asked for and the run cannot give."""
    if options.convention is not None:
        if options.convention not in CONVENTIONS:
            raise InputError(f"unknown convention {options.convention!r}", hint=f"use one of {', '.join(CONVENTIONS)}")
        if report.mode != "pairwise":
            raise InputError(
                f"the {options.convention} convention counts pairwise verdicts; this is a {report.mode} run",
                file=report.run,
                hint="leave out --convention for this run",
            )
    for key, asked, why in (
        (options.by, options.by is not None, "--by"),
        (options.group_key, options.group_required, "--group"),
    ):
        if asked and not any(key in (v.metadata or {}) for v in labelled):
            raise InputError(
                f"{why} {key}: no verdict's item has metadata `{key}`",
                file=report.run,
                hint=f"name one of the keys the items carry: {', '.join(_metadata_keys(labelled)) or 'none'}",
            )


def _metadata_keys(verdicts: list[Verdict]) -> list[str]:
    return sorted({k for v in verdicts for k in v.metadata or {}})


def _convention(report: MetaReport, labelled: list[Verdict], options: MetaOptions) -> None:
    assert options.convention is not None
    report.convention = apply_convention(options.convention, labelled, options.n_resamples, options.seed)


def _breakdown(report: MetaReport, labelled: list[Verdict], options: MetaOptions) -> None:
    """Every figure of the mode (and the convention) again on the items of each value of `options.by`."""
    assert options.by is not None
    groups: dict[str, list[Verdict]] = {}
    for v in labelled:
        value = (v.metadata or {}).get(options.by)
        if value is not None:
            groups.setdefault(str(value), []).append(v)
    missing = len(labelled) - sum(len(g) for g in groups.values())
    if missing:
        report.notes.append(f"{missing} labelled verdicts have no `{options.by}` and are in no group of the breakdown")
    report.by = options.by
    report.breakdown = {}
    for value in sorted(groups):
        mine = groups[value]
        sub = MetaReport(
            run=f"{report.run} [{options.by} = {value}]",
            mode=report.mode,
            verdicts=len(mine),
            labelled=len(mine),
            failed=sum(v.error is not None for v in mine),
        )
        usable = [v for v in mine if v.error is None and v.incomplete is None]
        if usable:
            # calibration and selective evaluation stay run-level: a group rarely has the items they need
            _section(sub, f"the {report.mode} figures", _mode_figures, sub, usable, options, None)
            sub.calibration, sub.selective = None, None
        else:
            _skip(sub, f"the {report.mode} figures", "no verdict of this group is usable: all failed or are incomplete")
        if options.convention is not None:
            _section(sub, f"the {options.convention} convention", _convention, sub, mine, options)
        _failures_counted(sub, mine, options)
        report.breakdown[value] = sub


# -- modes -------------------------------------------------------------------------------------------------------


def _pairwise(report: MetaReport, verdicts: list[Verdict], options: MetaOptions, calibrator: Calibrator | None) -> None:
    judged = [_decided(v) or "none" for v in verdicts]
    undecided = judged.count("none")
    if undecided:
        report.notes.append(f"{undecided} flagged verdicts have no winner and count as wrong")
    clusters = _clusters(report, verdicts, options)
    report.agreement = agreement_report(
        [str(v.label) for v in verdicts], judged, n_resamples=options.n_resamples, seed=options.seed, groups=clusters
    )
    swapped = [(c, i) for i, v in enumerate(verdicts) if (c := v.outcome_as(Preference).consistent) is not None]
    if swapped:
        report.position_consistency = bootstrap_ci(
            lambda c: float(c.mean()),
            [float(c) for c, _ in swapped],
            n_resamples=options.n_resamples,
            seed=options.seed,
            groups=None if clusters is None else [clusters[i] for _, i in swapped],
        )
    with_probs = [(probs, v) for v in verdicts if (probs := _probs(v))]
    _calibration(report, [_normalised(p) for p, _ in with_probs], [str(v.label) for _, v in with_probs], calibrator)
    _selective(report, verdicts, lambda v: v.decision() == v.label, options, calibrator)


def _pointwise(
    report: MetaReport, verdicts: list[Verdict], options: MetaOptions, calibrator: Calibrator | None
) -> None:
    numeric = all(isinstance(v.label, int | float) and not isinstance(v.label, bool) for v in verdicts)
    if not numeric:  # named categories (pass/fail, bad/ok/good): agreement, like pairwise
        report.agreement = agreement_report(
            [str(v.label) for v in verdicts],
            [_decided(v) or "none" for v in verdicts],
            n_resamples=options.n_resamples,
            seed=options.seed,
            groups=_clusters(report, verdicts, options),
        )
        with_probs = [(probs, v) for v in verdicts if (probs := _probs(v))]
        _calibration(
            report,
            [_normalised(p) for p, _ in with_probs],
            [str(v.label) for _, v in with_probs],
            calibrator,
        )
        return
    field = "score_expected" if options.score == "expected" else "score"
    scored = [(v, x) for v in verdicts if (x := _score(v, options.score)) is not None]
    if len(scored) < len(verdicts):
        report.notes.append(f"{len(verdicts) - len(scored)} verdicts have no {field} and are left out")
    if len(scored) < MIN_LABELLED:
        raise InputError(
            f"only {len(scored)} verdicts have a {field}; correlations need at least {MIN_LABELLED}",
            file=report.run,
            hint="use --score score when the backend gave no logprobs",
        )
    groups = _metadata([v for v, _ in scored], options.group_key)
    systems = _metadata([v for v, _ in scored], options.system_key)
    report.correlation = correlation_report(
        [float(v.label) for v, _ in scored],  # type: ignore[arg-type]
        [x for _, x in scored],
        groups=groups,
        systems=systems,
        n_resamples=options.n_resamples,
        seed=options.seed,
    )
    if groups is None:
        report.notes.append(f"no `{options.group_key}` in the items' metadata: no group (summary) level")
    if systems is None:
        report.notes.append(f"no `{options.system_key}` in the items' metadata: no system level")


def _listwise(report: MetaReport, verdicts: list[Verdict], options: MetaOptions) -> None:
    """Whether the judge's best is the labelled best (a ranking label's first entry)."""
    truth = [str(v.label[0] if isinstance(v.label, list) else v.label) for v in verdicts]
    judged = [_decided(v) or "none" for v in verdicts]
    report.agreement = agreement_report(truth, judged, n_resamples=options.n_resamples, seed=options.seed)
    report.notes.append("listwise: agreement is on the best response only")


# -- shared pieces -----------------------------------------------------------------------------------------------


def _calibration(
    report: MetaReport, probs: list[dict[str, float]], labels: list[str], calibrator: Calibrator | None
) -> None:
    if len(probs) < MIN_LABELLED:
        return
    inside = [(p, t) for p, t in zip(probs, labels, strict=True) if t in p]
    if len(inside) < len(probs):
        report.notes.append(
            f"{len(probs) - len(inside)} labels are not among the judge's choices (e.g. a tie when ties were off): "
            "left out of calibration"
        )
    if len(inside) < MIN_LABELLED:
        return
    probs, labels = [p for p, _ in inside], [t for _, t in inside]
    if calibrator is not None:
        probs = calibrator.apply(probs)
        report.calibrated_with = type(calibrator).__name__
    report.calibration = calibration_report(probs, labels)


def _selective(
    report: MetaReport, verdicts: list[Verdict], right: Any, options: MetaOptions, calibrator: Calibrator | None
) -> None:
    known = [(v, c) for v in verdicts if (c := _confidence(v, calibrator)) is not None]
    if len(known) < MIN_LABELLED:
        return
    report.selective = selective_curve(
        [c for _, c in known], [bool(right(v)) for v, _ in known], delta=options.delta, alphas=options.alphas
    )


def _confidence(verdict: Verdict, calibrator: Calibrator | None) -> float | None:
    """Probabilities (recalibrated when asked) or a strategy's vote share; failing those, swap consistency:
    1 when both orders agreed, 0.5 when they did not (a text-only judge still has that signal)."""
    probs = _probs(verdict)
    if calibrator is not None and probs:
        return max(calibrator.apply([_normalised(probs)])[0].values())
    known = verdict.confidence()
    consistent = verdict.outcome_as(Preference).consistent
    if known is None and consistent is not None:
        return 1.0 if consistent else 0.5
    return known


def _annotators(report: MetaReport, verdicts: list[Verdict], options: MetaOptions) -> None:
    rows = [(v, a) for v in verdicts if isinstance(a := (v.metadata or {}).get(options.annotations_key), list)]
    if not rows:
        return
    width = max(len(a) for _, a in rows)
    if width < 2:
        report.notes.append(
            f"annotator agreement skipped: `{options.annotations_key}` holds one annotator per item, and agreement "
            "among annotators needs two or more"
        )
        return
    matrix: list[list[Any]] = [
        [*(str(x) if x is not None else None for x in a), *[None] * (width - len(a))] for _, a in rows
    ]
    complete = [r for r in matrix if all(x is not None for x in r)]
    report.annotators = AnnotatorAgreement(
        n_items=len(matrix),
        n_annotators=width,
        fleiss_kappa=fleiss_kappa(complete) if len(complete) >= 2 else None,
        krippendorff_alpha=krippendorff_alpha(matrix),
    )
    if width < 3:
        report.notes.append("the Alternative Annotator Test needs 3 or more annotators per item")
        return
    judged = [_decided(v) for v, _ in rows]
    try:
        report.alt_test = alt_test(matrix, judged, epsilon=options.epsilon)
    except ConfigError as exc:
        report.notes.append(f"Alternative Annotator Test not run: {exc}")


def _clusters(report: MetaReport, verdicts: list[Verdict], options: MetaOptions) -> list[str] | None:
    """The group (`--group`: source document, prompt) of each verdict, for a cluster bootstrap of agreement: items
    that share a prompt are not independent, and resampling them one by one gives intervals that are too narrow.
    None (items resampled one by one) when some verdicts have no group, which the report then says."""
    groups = _metadata(verdicts, options.group_key)
    if groups is None:
        if any(options.group_key in (v.metadata or {}) for v in verdicts):
            report.notes.append(
                f"some items have no `{options.group_key}`: agreement intervals resample items, not groups"
            )
        return None
    report.notes.append(
        f"agreement intervals: cluster bootstrap over {len(set(groups))} groups of `{options.group_key}`"
    )
    return groups


def _metadata(verdicts: Sequence[Verdict], key: str) -> list[str] | None:
    values = [(v.metadata or {}).get(key) for v in verdicts]
    if any(x is None for x in values):
        return None
    return [str(x) for x in values]


def _normalised(probs: dict[str, float]) -> dict[str, float]:
    total = sum(probs.values())
    return {k: p / total for k, p in probs.items()} if total > 0 else dict(probs)


def _decided(verdict: Verdict) -> str | None:
    """The verdict's decision as a label to compare with people's: the winner, the best position, the pointwise
    label (or its score, a whole number without its ".0"); None when it decided nothing."""
    decision = verdict.decision()
    if decision is None or isinstance(decision, str):
        return decision
    return str(int(decision)) if float(decision).is_integer() else str(decision)


def _probs(verdict: Verdict) -> dict[str, float] | None:
    return verdict.outcome.probs if verdict.outcome is not None else None


def _score(verdict: Verdict, which: str) -> float | None:
    """The pointwise score, or its expected value over the label probabilities (`which` "expected")."""
    score = verdict.outcome_as(Score)
    return score.expected if which == "expected" else score.score


# -- recalibration -----------------------------------------------------------------------------------------------


def fit_calibrator(
    run_dir: str | Path,
    method: Literal["temperature", "isotonic"] = "temperature",
    *,
    labels: Mapping[str, str | float] | None = None,
) -> Calibrator:
    """Fit a recalibration of the verdicts' probabilities on a labelled run (apply it to other runs of the same
    judge with `meta_evaluate(..., calibrator=...)`, or save it with `.save(path)`). `labels` replace the items'
    own, as in `meta_evaluate`."""
    _, verdicts = read_run(run_dir)
    if labels is not None:
        verdicts = [v.model_copy(update={"label": labels.get(v.id)}) for v in verdicts]
    rows = [
        (_normalised(probs), str(v.label))
        for v in verdicts
        if v.error is None and v.label is not None and (probs := _probs(v))
    ]
    rows = [(p, t) for p, t in rows if t in p]
    if len(rows) < MIN_LABELLED:
        raise InputError(
            f"{len(rows)} labelled verdicts with probabilities; fitting a calibrator needs at least {MIN_LABELLED}",
            file=str(run_dir),
            hint="judge more labelled items with a backend that gives logprobs",
        )
    fitted: Calibrator = TemperatureScaler() if method == "temperature" else IsotonicCalibrator()
    return fitted.fit([p for p, _ in rows], [t for _, t in rows])


def load_calibrator(path: str | Path) -> Calibrator:
    """A calibrator saved with `.save(path)`; the file says which kind it is."""
    import json

    try:
        kind = json.loads(Path(path).read_text()).get("kind")
    except (OSError, ValueError) as exc:
        raise ConfigError(f"calibrator {path}: cannot read it ({exc})") from None
    if kind == "temperature":
        return TemperatureScaler.load(path)
    if kind == "isotonic":
        return IsotonicCalibrator.load(path)
    raise ConfigError(f"calibrator {path}: unknown kind {kind!r} (expected temperature or isotonic)")


# -- text --------------------------------------------------------------------------------------------------------


def _failure_warning(report: MetaReport) -> list[str]:
    """The opening line when more than FAILURE_WARNING_SHARE of the items have no complete verdict."""
    if report.failed_share <= FAILURE_WARNING_SHARE:
        return []
    missing = report.failed + report.incomplete
    what = "no complete verdict" if report.incomplete else "no verdict"
    reasons = ", ".join(f"{k}: {n}" for k, n in report.failure_reasons.items())
    return [
        f"warning: {missing} of {report.verdicts} items ({report.failed_share:.1%}) have {what} ({reasons}); the "
        "figures below leave them out"
    ]


def _accuracy_both_ways(report: MetaReport) -> list[str]:
    """Accuracy with the failures left out and with them counted as wrong, whenever labelled items failed."""
    if report.accuracy_failures_wrong is None or report.agreement is None:
        return []
    n = report.agreement.n
    return [
        f"accuracy: {report.agreement.accuracy.format()} on {n} with failures left out; "
        f"{report.accuracy_failures_wrong.format()} on {n + report.labelled_failed} with the "
        f"{report.labelled_failed} failures counted as wrong"
    ]


def render_meta(report: MetaReport) -> str:
    """The report as readable text."""
    lines = [
        *_failure_warning(report),
        f"run: {report.run} ({report.mode})",
        f"verdicts: {report.verdicts}  labelled: {report.labelled}  failed: {report.failed}"
        + (f"  incomplete: {report.incomplete}" if report.incomplete else ""),
        *_accuracy_both_ways(report),
    ]
    if report.agreement is not None:
        lines += ["", "Agreement with the labels", report.agreement.render()]
    if report.position_consistency is not None:
        lines += ["", f"position consistency: {report.position_consistency.format()}"]
    if report.correlation is not None:
        lines += ["", "Correlation with the human scores", report.correlation.render()]
    if report.calibration is not None:
        title = "Calibration" + (f" (after {report.calibrated_with})" if report.calibrated_with else "")
        lines += ["", title, report.calibration.render()]
    if report.selective:
        lines += ["", f"Selective evaluation (Trust or Escalate, delta = {report.selective[0].delta})"]
        lines.append("guaranteed agreement  threshold  coverage  agreement on trusted")
        for s in report.selective:
            if s.threshold is None:
                lines.append(f"{s.guaranteed_agreement:>20.0%}  {'-':>9}  {0:>8.0%}  - ({s.note})")
            else:
                agree = "-" if s.empirical_agreement is None else f"{s.empirical_agreement:.1%}"
                lines.append(f"{s.guaranteed_agreement:>20.0%}  {s.threshold:>9.3f}  {s.coverage:>8.1%}  {agree}")
    if report.annotators is not None:
        a = report.annotators
        fleiss = "n/a" if a.fleiss_kappa is None or math.isnan(a.fleiss_kappa) else f"{a.fleiss_kappa:.3f}"
        lines += [
            "",
            f"Human annotators: {a.n_annotators} on {a.n_items} items; Fleiss' kappa {fleiss}, "
            f"Krippendorff's alpha {a.krippendorff_alpha:.3f}",
        ]
    if report.alt_test is not None:
        t = report.alt_test
        lines += [
            "",
            f"Alternative Annotator Test (epsilon {t.epsilon}, q {t.q}): winning rate {t.winning_rate:.2f}, "
            f"advantage probability {t.advantage_probability:.3f} -> "
            + ("the judge can replace an annotator" if t.passed else "the judge cannot replace an annotator"),
        ]
    if report.ppi is not None:
        p = report.ppi
        what = "share won by response A (ties half)" if report.mode == "pairwise" else "mean score"
        lines += [
            "",
            f"Prediction-powered inference ({what}; {p.n_labelled} reviewed, {p.n_unlabelled} judged only): "
            f"{p.estimate:.3f} [{p.low:.3f}, {p.high:.3f}]; reviewed items alone {p.classical_estimate:.3f} "
            f"[{p.classical_low:.3f}, {p.classical_high:.3f}]; judge weight {p.lam:.2f}",
        ]
    lines += _render_convention_and_breakdown(report)
    for note in report.notes:
        lines.append(f"note: {note}")
    return "\n".join(lines)


def _render_convention_and_breakdown(report: MetaReport) -> list[str]:
    lines: list[str] = []
    if report.convention is not None:
        lines += ["", f"Published convention: {report.convention.render()}"]
    if report.breakdown:
        lines += ["", f"By {report.by} (95% bootstrap intervals)", _breakdown_table(report.by or "", report.breakdown)]
        for value, sub in report.breakdown.items():
            lines += [f"note: [{report.by} = {value}] {note}" for note in sub.notes if "not computed" in note]
    return lines


def _breakdown_table(by: str, groups: dict[str, MetaReport]) -> str:
    """One row per group: the mode's figures (agreement or item-level correlations), then the convention's."""
    header = [by, "n", "no verdict", "accuracy", "accuracy, failures wrong", "kappa", "consistency"]
    rows: list[dict[str, str]] = []
    for value, sub in groups.items():
        row = {by: value, "n": str(sub.labelled), "no verdict": str(sub.failed + sub.incomplete)}
        if sub.agreement is not None:
            row |= {"accuracy": sub.agreement.accuracy.format(), "kappa": sub.agreement.cohen_kappa.format()}
        if sub.accuracy_failures_wrong is not None:
            row["accuracy, failures wrong"] = sub.accuracy_failures_wrong.format()
        if sub.position_consistency is not None:
            row["consistency"] = sub.position_consistency.format()
        if sub.correlation is not None:
            row |= {m: c.item.format() for m, c in sub.correlation.by_method.items()}
        if sub.convention is not None:
            row |= {f"{sub.convention.name} {k}": text for k, text in sub.convention.headline().items()}
        rows.append(row)
        header += [k for k in row if k not in header]
    header = [h for h in header if any(h in r for r in rows)]  # the columns some group has
    widths = {h: max(len(h), *(len(r.get(h, "-")) for r in rows)) for h in header}
    lines = ["  ".join(h.ljust(widths[h]) for h in header).rstrip()]
    lines += ["  ".join(r.get(h, "-").ljust(widths[h]) for h in header).rstrip() for r in rows]
    return "\n".join(lines)
