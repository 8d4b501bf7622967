"""The report as one HTML file: a Jinja2 template with autoescape on, the charts drawn as inline SVG (charts.py),
the verdicts embedded as JSON for a small script (report.js) that builds the table and the item view with
textContent. A Content-Security-Policy in the page lets only that script and that style run, and loads nothing."""

from __future__ import annotations

import base64
import datetime
import hashlib
import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup

from .._version import __version__
from ..audit.report import RATE_NAMES, AuditReport
from ..leaderboard.arena import ArenaReport
from ..stats.bootstrap import Estimate
from .charts import Interval, Series, heatmap, histogram, interval_chart, line_chart
from .collect import ArenaView, AuditView, MetaView, RunView, View

HERE = Path(__file__).parent
# What a JSON string may hold that would end the <script> element or confuse an HTML parser: written as escapes.
_JSON_ESCAPES = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}


def embed_json(value: Any) -> Markup:
    """`value` as JSON that is safe inside <script type="application/json">: no "<", ">" or "&" anywhere (so no
    "</script>" or "<!--"), and no U+2028/9; NaN becomes null (JSON has none)."""
    text = json.dumps(_no_nan(value), ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    for raw, escaped in _JSON_ESCAPES.items():
        text = text.replace(raw, escaped)
    return Markup(text)


def _no_nan(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _no_nan(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_no_nan(v) for v in value]
    return value


def _hash(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode() + "'"


def content_security_policy(script: str, style: str) -> str:
    """Nothing may load or connect; only the report's own script and style (by hash) run; images only as data:."""
    return (
        f"default-src 'none'; script-src {_hash(script)}; style-src {_hash(style)}; img-src data:; "
        "connect-src 'none'; base-uri 'none'; form-action 'none'"
    )


# -- template helpers ---------------------------------------------------------------------------------------------


def _number(value: float | None, digits: int = 3) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return f"{value:.{digits}f}"


def _percent(value: float | None, digits: int = 1) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return f"{value:.{digits}%}"


def _estimate(value: Estimate | None) -> str:
    return "–" if value is None else f"{value.format()} (n {value.n})"


def _environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(HERE), autoescape=True, undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True
    )
    env.filters.update(number=_number, percent=_percent, estimate=_estimate)
    return env


# -- charts per kind ----------------------------------------------------------------------------------------------


Chart = tuple[str, Markup, str]  # title, svg, caption


def meta_charts(meta: MetaView) -> list[Chart]:
    report, charts = meta.report, []
    if report.agreement is not None:
        confusion = report.agreement.confusion
        names = [str(x) for x in confusion.labels]
        svg = heatmap(
            names,
            names,
            [[float(c) for c in row] for row in confusion.counts],
            title="confusion matrix",
            row_title="human ↓",
            column_title="judge →",
        )
        charts.append(("Confusion matrix", svg, f"{report.agreement.n} labelled verdicts without an error"))
    if report.calibration is not None:
        bins = [
            b for b in report.calibration.reliability.bins if b.mean_confidence is not None and b.accuracy is not None
        ]
        series = Series(
            "accuracy per bin",
            [(b.mean_confidence or 0.0, b.accuracy or 0.0) for b in bins],
            sizes=[b.count for b in bins],
        )
        svg = line_chart([series], title="reliability diagram", x_label="confidence", y_label="accuracy", diagonal=True)
        caption = f"ECE {report.calibration.ece:.3f} over {report.calibration.n} verdicts with probabilities"
        charts.append(("Reliability diagram", svg, caption))
    if meta.scores_by_label and len(meta.edges) > 1:
        svg = histogram(meta.scores_by_label, meta.edges, title="scores by human label", x_label=meta.score_name)
        total = sum(len(v) for v in meta.scores_by_label.values())
        charts.append(("Scores by human label", svg, f"{meta.score_name}, {total} verdicts"))
    certified = [s for s in report.selective or [] if s.threshold is not None and s.empirical_agreement is not None]
    if report.selective and certified:  # with none certified there is no curve (the text says why)
        points = [(s.coverage, s.empirical_agreement or 0.0) for s in certified]
        guaranteed = [(s.coverage, s.guaranteed_agreement) for s in certified]
        svg = line_chart(
            [Series("agreement on the trusted items", points), Series("guaranteed agreement", guaranteed, dashed=True)],
            title="selective evaluation",
            x_label="coverage (share of items trusted)",
            y_label="agreement",
        )
        uncertified = len(report.selective) - len(certified)
        caption = (
            f"Trust or Escalate thresholds at delta {report.selective[0].delta}; {len(certified)} levels certified"
        )
        if uncertified:
            caption += f", {uncertified} not (too few items or too low agreement)"
        charts.append(("Selective evaluation", svg, caption))
    return charts


def audit_charts(report: AuditReport) -> list[Chart]:
    """One chart per probe: its rate under each mitigation, with the interval and the items counted."""
    charts = []
    for probe in dict.fromkeys(r.probe for r in report.results):
        results = [r for r in report.results if r.probe == probe]
        rows = []
        for r in results:
            note = (
                f"n {r.n}"
                + (f", {r.failed} failed" if r.failed else "")
                + (f", {r.blocked} blocked" if r.blocked else "")
            )
            if r.rate is None:
                rows.append(Interval(r.mitigation, None, note=note))
            else:
                rows.append(Interval(r.mitigation, r.rate.value, r.rate.low, r.rate.high, note=note))
        metric = RATE_NAMES.get(results[0].metric, results[0].metric)
        better = "lower is better" if results[0].metric == "attack_success" else "higher is better"
        svg = interval_chart(rows, title=f"{probe}: {metric}", lo=0.0, hi=1.0)
        charts.append((f"{probe}: {metric} by mitigation", svg, f"{better}; 95% bootstrap intervals"))
    return charts


def arena_charts(view: ArenaView) -> list[Chart]:
    report: ArenaReport = view.report
    charts: list[Chart] = []
    if report.mode == "pairwise":
        rows = [Interval(r.system, r.bt_score, r.bt_low, r.bt_high, note=f"{r.battles} battles") for r in report.rows]
        svg = interval_chart(rows, title="Bradley-Terry scores", digits=0, reference=1000.0)
        charts.append(("Leaderboard", svg, "Bradley-Terry score on the Elo scale with its 95% bootstrap interval"))
    else:
        rows = [
            Interval(r.system, r.mean_score, r.mean_low, r.mean_high, note=f"{r.scored} scored") for r in report.rows
        ]
        svg = interval_chart(rows, title="mean scores", digits=2)
        charts.append(("Leaderboard", svg, "mean score with its 95% bootstrap interval"))
    if view.systems:
        svg = heatmap(
            view.systems,
            view.systems,
            view.win_matrix,
            title="win matrix",
            row_title="system ↓",
            column_title="share of wins against →",
            digits=2,
            scale=1.0,
        )
        charts.append(("Win matrix", svg, "the row's share of wins against the column, ties as half; – never met"))
    return charts


# -- the page -----------------------------------------------------------------------------------------------------


def _section(index: int, view: View) -> dict[str, Any]:
    anchor = f"s{index}"
    if isinstance(view, RunView):
        charts = meta_charts(view.meta) if view.meta is not None else []
        items = [r.model_dump(exclude_none=True, exclude_defaults=True) for r in view.items]
        return {"kind": "run", "anchor": anchor, "view": view, "charts": charts, "data": embed_json(items)}
    if isinstance(view, AuditView):
        return {"kind": "audit", "anchor": anchor, "view": view, "charts": audit_charts(view.report)}
    return {"kind": "arena", "anchor": anchor, "view": view, "charts": arena_charts(view)}


def render(views: Sequence[View]) -> str:
    """The whole report as one HTML document."""
    script = (HERE / "report.js").read_text(encoding="utf-8")
    style = (HERE / "report.css").read_text(encoding="utf-8")
    template = _environment().get_template("report.html.j2")
    return template.render(
        sections=[_section(i, v) for i, v in enumerate(views, start=1)],
        csp=content_security_policy(script, style),
        script=Markup(script),
        style=Markup(style),
        version=__version__,
        generated=datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        rate_names=RATE_NAMES,
    )
