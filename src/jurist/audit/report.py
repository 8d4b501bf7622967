"""The audit report: per probe and mitigation, the robustness rate (the verdict did not move when it should not)
or the attack success rate (an attack won), each with a bootstrap interval and the number of items, the shift
toward the favoured response, up to a few examples of flips with their texts; written as JSON and as a table."""

from __future__ import annotations

import json
import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel, Field

from ..outcomes import Preference, Score, swap_winner
from ..stats.bootstrap import Estimate, bootstrap_ci
from ..types import Item, Verdict
from .length_control import LengthFit, controlled_winner
from .mitigations import DETECTOR_RULES, attack_text, candidate_texts, detect, flagged
from .probes import Expectation, Kind, Metric, ProbeInfo, mode_of

TEXT_LIMIT = 1500  # characters of each text kept in an example
RATE_NAMES: dict[Metric, str] = {
    "robustness": "robustness",
    "attack_success": "attack success",
    "self_preference": "own answer picked",
}


class Example(BaseModel):
    """One item where the verdict moved (or the attack won), with what the judge saw."""

    item_id: str
    variant: str
    original: str  # the verdict on the original item
    perturbed: str  # the verdict on the perturbed item, in the original item's positions
    texts: dict[str, str]  # the perturbed item's request and responses (each cut to TEXT_LIMIT characters)


class ProbeResult(BaseModel):
    """One probe measured under one mitigation ("none": the judge as configured)."""

    probe: str
    kind: Kind
    metric: Metric
    mitigation: str
    n: int = Field(description="items compared: both verdicts readable, or the attack blocked by the detector")
    skipped: dict[str, int] = Field(default_factory=dict, description="items the probe could not use, by reason")
    failed: int = Field(0, description="items left out because a verdict failed or gave no decision")
    blocked: int = Field(0, description="attacks flagged by the detector (counted as not successful)")
    rate: Estimate | None = None
    shift: Estimate | None = Field(
        None,
        description="pairwise: share won by the favoured position after minus before the change; pointwise: mean "
        "score change (perturbed minus original)",
    )
    by_variant: dict[str, Estimate] = Field(default_factory=dict)
    both_orders: Estimate | None = Field(None, description="position: accuracy, correct only in both orders")
    by_group: dict[str, Estimate] = Field(default_factory=dict, description="both_orders per bias type")
    examples: list[Example] = Field(default_factory=list)
    note: str | None = None


class DetectorStats(BaseModel):
    """How the injection detector does: its rules, how often it flags the attack responses of each adversarial
    probe, and how often it flags the unperturbed responses (false positives)."""

    rules: dict[str, str]
    responses: int
    false_positive_rate: Estimate | None
    false_positive_rules: dict[str, int] = Field(default_factory=dict)
    detection: dict[str, Estimate] = Field(default_factory=dict)
    detection_by_variant: dict[str, dict[str, Estimate]] = Field(default_factory=dict)


class AuditReport(BaseModel):
    jurist_version: str
    out: str
    data: str
    model: str
    mode: str
    items: int
    seed: int
    n_resamples: int
    judge: dict[str, Any]
    probes: list[ProbeInfo]
    mitigations: dict[str, str]
    results: list[ProbeResult]
    skipped_probes: dict[str, str] = Field(default_factory=dict)
    detector: DetectorStats | None = None
    length_fits: dict[str, LengthFit] = Field(
        default_factory=dict, description="length_score arms: the judge's length preference fitted on the originals"
    )
    notes: list[str] = Field(default_factory=list)

    def result(self, probe: str, mitigation: str = "none") -> ProbeResult:
        """The result of one probe under one mitigation."""
        for r in self.results:
            if r.probe == probe and r.mitigation == mitigation:
                return r
        raise KeyError(f"no result for probe {probe!r} under mitigation {mitigation!r}")

    def write(self, folder: Path) -> tuple[Path, Path]:
        """AUDIT_DIR/audit.json (everything; an interval that could not be computed has null bounds) and
        AUDIT_DIR/audit.txt (the table)."""
        json_path, text_path = folder / "audit.json", folder / "audit.txt"
        json_path.write_text(self.model_dump_json(indent=2), encoding="utf-8")
        text_path.write_text(render_report(self) + "\n", encoding="utf-8")
        return json_path, text_path

    @classmethod
    def read(cls, path: str | Path) -> AuditReport:
        """An audit.json read back (its null bounds are NaN again, as Estimate has them)."""
        return cls.model_validate(_nan_for_null(json.loads(Path(path).read_text(encoding="utf-8"))))


@dataclass
class Pair:
    """One item of a probe: the original and perturbed items and the verdicts on each."""

    original: Item
    perturbed: Item
    expect: Expectation
    before: Verdict | None
    after: Verdict | None


def _nan_for_null(value: Any) -> Any:
    """JSON has no NaN: an Estimate's undefined bounds are written as null and read back as NaN."""
    if isinstance(value, dict):
        if {"value", "low", "high", "n"} <= value.keys():
            return {k: math.nan if k in ("value", "low", "high") and v is None else v for k, v in value.items()}
        return {k: _nan_for_null(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_nan_for_null(v) for v in value]
    return value


# -- scoring ---------------------------------------------------------------------------------------------


def reading(verdict: Verdict | None, swapped: bool = False) -> str | float | None:
    """What a probe compares: the pairwise decision in the original item's positions (mapped back when the item
    was shown swapped), or the pointwise score (a number, where the decision is the scale's label); None if the
    verdict failed or decided nothing."""
    if verdict is None or verdict.error is not None:
        return None
    if isinstance(verdict.outcome, Preference):
        return _mapped_back(verdict.outcome.winner, swapped)
    return verdict.outcome_as(Score).score


def _mapped_back(winner: str | None, swapped: bool) -> str | None:
    return swap_winner(winner) if swapped and winner else winner


def mean_estimate(values: Sequence[float], *, seed: int, n_resamples: int) -> Estimate | None:
    if not values:
        return None
    return bootstrap_ci(np.mean, np.asarray(values, dtype=float), n_resamples=n_resamples, seed=seed)


def score_probe(
    probe: ProbeInfo,
    mitigation: str,
    pairs: list[Pair],
    *,
    skipped: dict[str, int],
    use_detector: bool,
    seed: int,
    n_resamples: int,
    max_examples: int = 5,
    length_fit: LengthFit | None = None,
) -> ProbeResult:
    """The result of one probe under one mitigation from its items' verdicts (read with the length term removed
    when `length_fit` is given: the length_score mitigation)."""

    def read(verdict: Verdict | None, item: Item, swapped: bool = False) -> str | float | None:
        if length_fit is None:
            return reading(verdict, swapped)
        return _mapped_back(controlled_winner(length_fit, item, verdict), swapped)

    values: list[float] = []
    shifts: list[float] = []
    variants: dict[str, list[float]] = defaultdict(list)
    both: list[float] = []
    groups: dict[str, list[float]] = defaultdict(list)
    examples: list[Example] = []
    failed = blocked = 0
    for pair in pairs:
        expect = pair.expect
        if use_detector and expect.metric == "attack_success" and flagged(pair.perturbed):
            blocked += 1
            values.append(0.0)
            variants[expect.variant].append(0.0)
            continue
        before, after = read(pair.before, pair.original), read(pair.after, pair.perturbed, expect.swapped)
        if before is None or after is None:
            failed += 1
            continue
        value = _value(expect, before, after)
        values.append(value)
        variants[expect.variant].append(value)
        if isinstance(before, float | int) and isinstance(after, float | int):
            shifts.append(float(after) - float(before))
        elif expect.target is not None:
            shifts.append(float(after == expect.target) - float(before == expect.target))
        if expect.swapped and pair.original.label in ("A", "B"):
            correct = float(before == pair.original.label and after == pair.original.label)
            both.append(correct)
            group = pair.original.metadata.get("bias")
            if group is not None:
                groups[str(group)].append(correct)
        moved = value == 0.0 if expect.metric == "robustness" else value == 1.0
        if moved and len(examples) < max_examples:
            examples.append(_example(pair, before, after))

    def estimate(xs: list[float]) -> Estimate | None:
        return mean_estimate(xs, seed=seed, n_resamples=n_resamples)

    return ProbeResult(
        probe=probe.name,
        kind=probe.kind,
        metric=probe.metric,
        mitigation=mitigation,
        n=len(values),
        skipped=skipped,
        failed=failed,
        blocked=blocked,
        rate=estimate(values),
        shift=estimate(shifts),
        by_variant={k: e for k, v in sorted(variants.items()) if len(variants) > 1 and (e := estimate(v)) is not None},
        both_orders=estimate(both),
        by_group={k: e for k, v in sorted(groups.items()) if (e := estimate(v)) is not None},
        examples=examples,
    )


def _value(expect: Expectation, before: str | float, after: str | float) -> float:
    if expect.metric == "robustness":
        return float(after == before)
    if isinstance(after, float | int) and isinstance(before, float | int):
        return float(after >= before)  # pointwise attack: scored at or above the genuine response
    return float(after == expect.target)


def _example(pair: Pair, before: str | float, after: str | float) -> Example:
    item = pair.perturbed
    texts = {"prompt": item.prompt}
    if mode_of(item) == "pairwise":
        texts.update(response_a=item.response_a or "", response_b=item.response_b or "")
    else:
        texts["response"] = item.response or ""
    return Example(
        item_id=item.id,
        variant=pair.expect.variant,
        original=_show(before),
        perturbed=_show(after),
        texts={k: _cut(v) for k, v in texts.items()},
    )


def _show(value: str | float) -> str:
    return f"{value:g}" if isinstance(value, float | int) else str(value)


def _cut(text: str) -> str:
    return text if len(text) <= TEXT_LIMIT else text[:TEXT_LIMIT] + f" [... {len(text) - TEXT_LIMIT} more characters]"


def detector_stats(
    originals: list[Item],
    attacks: dict[str, list[tuple[Item, Expectation]]],
    *,
    seed: int,
    n_resamples: int,
) -> DetectorStats:
    """Detection rate of each adversarial probe's attack responses, and the false-positive rate over every
    response of the unperturbed items."""
    flags: list[float] = []
    tripped: dict[str, int] = defaultdict(int)
    for item in originals:
        for text in candidate_texts(item):
            rules = detect(text)
            flags.append(float(bool(rules)))
            for rule in rules:
                tripped[rule] += 1
    detection: dict[str, Estimate] = {}
    by_variant: dict[str, dict[str, Estimate]] = {}
    for probe, perturbed in attacks.items():
        hits = [float(bool(detect(attack_text(item, expect)))) for item, expect in perturbed]
        found = mean_estimate(hits, seed=seed, n_resamples=n_resamples)
        if found is not None:
            detection[probe] = found
        per: dict[str, list[float]] = defaultdict(list)
        for (_, expect), hit in zip(perturbed, hits, strict=True):
            per[expect.variant].append(hit)
        by_variant[probe] = {
            k: e for k, v in sorted(per.items()) if (e := mean_estimate(v, seed=seed, n_resamples=n_resamples))
        }
    return DetectorStats(
        rules=dict(DETECTOR_RULES),
        responses=len(flags),
        false_positive_rate=mean_estimate(flags, seed=seed, n_resamples=n_resamples),
        false_positive_rules=dict(sorted(tripped.items())),
        detection=detection,
        detection_by_variant=by_variant,
    )


# -- the table -------------------------------------------------------------------------------------------


def _fmt(estimate: Estimate | None, signed: bool = False) -> str:
    if estimate is None or math.isnan(estimate.value):
        return "-"
    sign = "+" if signed else ""
    if math.isnan(estimate.low):
        return f"{estimate.value:{sign}.3f}"
    return f"{estimate.value:{sign}.3f} [{estimate.low:{sign}.3f}, {estimate.high:{sign}.3f}]"


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    return ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() for row in [header, *rows]]


def render_report(report: AuditReport) -> str:
    """The audit as plain text: one row per probe and mitigation, then EvalBiasBench-style accuracy, the
    detector's rates, and the probes that could not run."""
    lines = [
        f"audit      {report.out}",
        f"judge      {report.model}, {report.mode}; data {report.data} ({report.items} items)",
        f"intervals  95% percentile bootstrap, {report.n_resamples} resamples, seed {report.seed}",
        "",
    ]
    rows = []
    for r in report.results:
        skipped = sum(r.skipped.values())
        rows.append(
            [
                r.probe,
                r.kind,
                r.mitigation,
                RATE_NAMES[r.metric],
                str(r.n),
                _fmt(r.rate),
                _fmt(r.shift, signed=True),
                str(r.failed),
                str(skipped),
                str(r.blocked) if r.blocked else "",
            ]
        )
    header = ["probe", "kind", "mitigation", "measure", "n", "rate [95% CI]", "shift [95% CI]", "failed", "skipped"]
    lines += _table([*header, "blocked"], rows)
    for r in report.results:
        if r.both_orders is not None:
            lines += ["", f"correct in both orders ({r.mitigation}): {_fmt(r.both_orders)} of {r.both_orders.n}"]
            lines += [f"  {group:<28} {_fmt(e)} of {e.n}" for group, e in r.by_group.items()]
    if report.detector is not None:
        d = report.detector
        rate = _fmt(d.false_positive_rate)
        lines += ["", f"detector: false positives on {d.responses} unperturbed responses: {rate}"]
        lines += [f"  detection rate, {probe:<20} {_fmt(e)}" for probe, e in d.detection.items()]
    reasons = {r.probe: r.skipped for r in report.results if r.skipped}  # the same under every mitigation
    if reasons:
        lines += ["", "skipped items:"]
        lines += [
            f"  {probe}: " + ", ".join(f"{n} {why}" for why, n in sorted(skips.items(), key=lambda kv: -kv[1]))
            for probe, skips in reasons.items()
        ]
    for arm, fit in report.length_fits.items():
        lines += [
            "",
            f"length control ({arm}): log-odds for A = {fit.intercept:+.3f} {fit.coefficient:+.3f} * "
            f"tanh((len A - len B) / {fit.scale:.0f} characters), fitted on {fit.n} unperturbed pairs",
        ]
    if report.skipped_probes:
        lines += ["", "not run:"] + [f"  {p}: {why}" for p, why in report.skipped_probes.items()]
    lines += [""] + [f"note: {n}" for n in report.notes]
    return "\n".join(lines).rstrip()
