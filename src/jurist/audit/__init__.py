"""Bias and robustness audit of a judge (`jurist audit`): controlled perturbations of items, the share of verdicts
that stay put (or of attacks that win) with bootstrap intervals, and the same after each mitigation.

    from jurist.audit import AuditOptions, audit
    report = audit("pairs.jsonl", out="audit", config="pairwise", model="local",
                   audit=AuditOptions(probes=["position", "verbosity"], mitigations=["swap"]))
    print(report.result("position", "swap").rate.format())

With `AuditOptions(rewrite_model=SPEC)` a model writes the verbosity, authority, sentiment and distraction
perturbations (audit/rewrite.py) instead of the fixed wordings.
"""

from .mitigations import DETECTOR_RULES, MITIGATIONS, Delimited, detect, escape_candidate
from .probes import PROBES, Expectation, Probe, ProbeInfo, Recipe, select_probes
from .report import AuditReport, DetectorStats, Example, ProbeResult, render_report
from .runner import AuditOptions, aaudit, audit

__all__ = [
    "DETECTOR_RULES",
    "MITIGATIONS",
    "PROBES",
    "AuditOptions",
    "AuditReport",
    "Delimited",
    "DetectorStats",
    "Example",
    "Expectation",
    "Probe",
    "ProbeInfo",
    "ProbeResult",
    "Recipe",
    "aaudit",
    "audit",
    "detect",
    "escape_candidate",
    "render_report",
    "select_probes",
]
