"""Charts as inline SVG, drawn here in Python: no chart library, no script, nothing fetched. Each function takes
plain numbers and names and returns markup; every name (a system, a label: data) goes through `escape`.

Styling is by SVG presentation attributes (fill, stroke), not `style` attributes, which the report's
Content-Security-Policy does not allow."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

PALETTE = ("#3b6fb6", "#d0803a", "#4c9a5b", "#b0483f", "#7a5bb0", "#8a7a50")
INK = "#222"
GRID = "#ccc"
FONT = 'font-family="system-ui, sans-serif"'


@dataclass(frozen=True)
class Interval:
    """One row of an interval chart: a value with its interval (NaN or None bounds: no whisker)."""

    name: str
    value: float | None
    low: float | None = None
    high: float | None = None
    note: str = ""  # printed after the value (counts: "n 40, 2 failed")


def _num(value: float | None) -> float | None:
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else float(value)


def _fmt(value: float, digits: int) -> str:
    return f"{value:.{digits}f}"


def _text(x: float, y: float, text: str, *, anchor: str = "start", size: int = 12, extra: str = "") -> str:
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}" font-size="{size}" fill="{INK}" {FONT}{extra}>'
        f"{escape(text)}</text>"
    )


def _svg(width: float, height: float, title: str, body: list[str], kind: str) -> Markup:
    head = (
        f'<svg class="chart" data-chart="{kind}" role="img" '
        f'viewBox="0 0 {width:.0f} {height:.0f}" width="{width:.0f}" height="{height:.0f}">'
        f"<title>{escape(title)}</title>"
    )
    return Markup(head + "".join(body) + "</svg>")


def interval_chart(
    rows: Sequence[Interval],
    *,
    title: str,
    lo: float | None = None,
    hi: float | None = None,
    digits: int = 3,
    reference: float | None = None,
) -> Markup:
    """Horizontal dot-and-whisker rows, one per name, on one shared axis from `lo` to `hi` (default: the data's
    range). `reference` draws a dashed vertical line (e.g. chance, or 1000 on the Elo scale)."""
    seen = [x for r in rows for x in (_num(r.value), _num(r.low), _num(r.high)) if x is not None]
    lo = min(seen, default=0.0) if lo is None else lo
    hi = max(seen, default=1.0) if hi is None else hi
    if hi <= lo:
        lo, hi = lo - 1.0, hi + 1.0
    label_w, plot_w, note_w, row_h, top = 170.0, 360.0, 190.0, 26.0, 30.0
    width, height = label_w + plot_w + note_w, top + row_h * len(rows) + 10

    def x(value: float) -> float:
        return label_w + (min(max(value, lo), hi) - lo) / (hi - lo) * plot_w

    body = [
        f'<line x1="{label_w}" y1="{top - 6}" x2="{label_w + plot_w}" y2="{top - 6}" stroke="{GRID}"/>',
        _text(label_w, top - 12, _fmt(lo, digits), size=10),
        _text(label_w + plot_w, top - 12, _fmt(hi, digits), anchor="end", size=10),
    ]
    if reference is not None and lo <= reference <= hi:
        body.append(
            f'<line x1="{x(reference):.1f}" y1="{top - 6}" x2="{x(reference):.1f}" y2="{height - 6}" '
            f'stroke="{GRID}" stroke-dasharray="4 3"/>'
        )
    for i, row in enumerate(rows):
        y = top + row_h * i + row_h / 2
        name = row.name if len(row.name) <= 24 else row.name[:23] + "…"
        body.append(_text(label_w - 8, y + 4, name, anchor="end"))
        value, low, high = _num(row.value), _num(row.low), _num(row.high)
        parts = []
        if low is not None and high is not None:
            body.append(
                f'<line class="whisker" x1="{x(low):.1f}" y1="{y:.1f}" x2="{x(high):.1f}" y2="{y:.1f}" '
                f'stroke="{PALETTE[0]}" stroke-width="2" data-low="{low}" data-high="{high}"/>'
            )
            for end in (low, high):
                body.append(
                    f'<line x1="{x(end):.1f}" y1="{y - 6:.1f}" x2="{x(end):.1f}" y2="{y + 6:.1f}" '
                    f'stroke="{PALETTE[0]}" stroke-width="2"/>'
                )
        if value is not None:
            body.append(
                f'<circle class="point" cx="{x(value):.1f}" cy="{y:.1f}" r="5" fill="{PALETTE[0]}" '
                f'data-value="{value}"/>'
            )
            parts.append(_fmt(value, digits))
            if low is not None and high is not None:
                parts.append(f"[{_fmt(low, digits)}, {_fmt(high, digits)}]")
        else:
            parts.append("no value")
        if row.note:
            parts.append(row.note)
        body.append(_text(label_w + plot_w + 10, y + 4, " ".join(parts), size=11))
    return _svg(width, height, title, body, "interval")


def _shade(share: float) -> str:
    """White to the palette's blue, by `share` in [0, 1]."""
    share = min(max(share, 0.0), 1.0)
    r, g, b = (int(255 + (c - 255) * share) for c in (0x3B, 0x6F, 0xB6))
    return f"#{r:02x}{g:02x}{b:02x}"


def heatmap(
    rows: Sequence[str],
    columns: Sequence[str],
    values: Sequence[Sequence[float | None]],
    *,
    title: str,
    row_title: str,
    column_title: str,
    digits: int = 0,
    scale: float | None = None,
) -> Markup:
    """A grid of cells coloured by value over `scale` (default: the largest value); empty (None/NaN) cells are
    grey with a dash. Confusion matrices (counts) and win matrices (shares) alike."""
    known = [v for line in values for c in line if (v := _num(c)) is not None]
    top_value = scale if scale is not None else max(known, default=1.0) or 1.0
    cell, label_w, top = 54.0, 130.0, 58.0
    width, height = label_w + cell * len(columns) + 10, top + cell * len(rows) + 10
    body = [
        _text(label_w + cell * len(columns) / 2, 14, column_title, anchor="middle", size=11),
        _text(8, top - 8, row_title, size=11),
    ]
    for j, name in enumerate(columns):
        short = name if len(name) <= 8 else name[:7] + "…"
        body.append(_text(label_w + cell * j + cell / 2, top - 8, short, anchor="middle", size=11))
    for i, name in enumerate(rows):
        y = top + cell * i
        short = name if len(name) <= 18 else name[:17] + "…"
        body.append(_text(label_w - 8, y + cell / 2 + 4, short, anchor="end", size=11))
        for j in range(len(columns)):
            value = _num(values[i][j])
            fill = "#eee" if value is None else _shade(value / top_value)
            ink = "#fff" if value is not None and value / top_value > 0.6 else INK
            shown = "–" if value is None else _fmt(value, digits)
            cx = label_w + cell * j
            body.append(
                f'<rect class="cell" x="{cx:.1f}" y="{y:.1f}" width="{cell - 2}" height="{cell - 2}" fill="{fill}" '
                f'data-row="{i}" data-column="{j}"/>'
            )
            body.append(
                f'<text class="value" x="{cx + cell / 2 - 1:.1f}" y="{y + cell / 2 + 4:.1f}" text-anchor="middle" '
                f'font-size="12" fill="{ink}" {FONT}>{escape(shown)}</text>'
            )
    return _svg(width, height, title, body, "heatmap")


@dataclass(frozen=True)
class Series:
    """A line of points (x, y) with an optional size per point (a bin's count)."""

    name: str
    points: Sequence[tuple[float, float]]
    sizes: Sequence[int] | None = None
    dashed: bool = False


def line_chart(
    series: Sequence[Series],
    *,
    title: str,
    x_label: str,
    y_label: str,
    diagonal: bool = False,
    x_range: tuple[float, float] = (0.0, 1.0),
    y_range: tuple[float, float] = (0.0, 1.0),
) -> Markup:
    """Points joined by lines on fixed axes (a reliability diagram with its diagonal, a selective-evaluation
    curve); a point's size grows with its count where sizes are given."""
    left, top, plot, bottom = 50.0, 16.0, 260.0, 44.0
    width, height = left + plot + 170, top + plot + bottom
    (x0, x1), (y0, y1) = x_range, y_range

    def px(x: float) -> float:
        return left + (x - x0) / (x1 - x0) * plot

    def py(y: float) -> float:
        return top + plot - (y - y0) / (y1 - y0) * plot

    body = [
        f'<rect x="{left}" y="{top}" width="{plot}" height="{plot}" fill="none" stroke="{GRID}"/>',
        _text(left + plot / 2, height - 8, x_label, anchor="middle", size=11),
        _text(
            14, top + plot / 2, y_label, anchor="middle", size=11, extra=f' transform="rotate(-90 14 {top + plot / 2})"'
        ),
    ]
    for t in (0.0, 0.5, 1.0):
        xv, yv = x0 + t * (x1 - x0), y0 + t * (y1 - y0)
        body.append(_text(px(xv), top + plot + 14, f"{xv:g}", anchor="middle", size=10))
        body.append(_text(left - 4, py(yv) + 3, f"{yv:g}", anchor="end", size=10))
    if diagonal:
        body.append(
            f'<line x1="{px(x0)}" y1="{py(y0)}" x2="{px(x1)}" y2="{py(y1)}" stroke="{GRID}" stroke-dasharray="4 3"/>'
        )
    biggest = max((s for line in series for s in (line.sizes or [])), default=1) or 1
    for k, line in enumerate(series):
        colour = PALETTE[k % len(PALETTE)]
        if len(line.points) > 1:
            path = " ".join(f"{px(x):.1f},{py(y):.1f}" for x, y in line.points)
            dash = ' stroke-dasharray="5 3"' if line.dashed else ""
            body.append(f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="1.5"{dash}/>')
        for n, (x, y) in enumerate(line.points):
            r = 3.0 if line.sizes is None else 3.0 + 5.0 * math.sqrt(line.sizes[n] / biggest)
            body.append(
                f'<circle class="point" cx="{px(x):.1f}" cy="{py(y):.1f}" r="{r:.1f}" fill="{colour}" '
                f'data-x="{x}" data-y="{y}"/>'
            )
        body.append(f'<rect x="{left + plot + 12}" y="{top + 18 * k}" width="10" height="10" fill="{colour}"/>')
        body.append(_text(left + plot + 26, top + 18 * k + 9, line.name, size=11))
    return _svg(width, height, title, body, "line")


def histogram(
    groups: Mapping[str, Sequence[float]], edges: Sequence[float], *, title: str, x_label: str, digits: int = 2
) -> Markup:
    """Counts of each group's values in the bins between `edges` (the last bin includes its right edge), bars of
    the groups side by side in each bin."""
    counts = {name: bin_counts(values, edges) for name, values in groups.items()}
    tallest = max((c for line in counts.values() for c in line), default=1) or 1
    bins = len(edges) - 1
    left, top, plot_h, bottom, bin_w = 40.0, 16.0, 180.0, 40.0, max(36.0, 360.0 / max(bins, 1))
    width, height = left + bin_w * bins + 170, top + plot_h + bottom
    bar_w = (bin_w - 6) / max(len(counts), 1)
    body = [
        f'<line x1="{left}" y1="{top + plot_h}" x2="{left + bin_w * bins}" y2="{top + plot_h}" stroke="{GRID}"/>',
        _text(left - 4, top + 8, str(tallest), anchor="end", size=10),
        _text(left + bin_w * bins / 2, height - 6, x_label, anchor="middle", size=11),
    ]
    for b in range(bins):
        body.append(_text(left + bin_w * b, top + plot_h + 14, _fmt(edges[b], digits), anchor="middle", size=10))
    body.append(_text(left + bin_w * bins, top + plot_h + 14, _fmt(edges[-1], digits), anchor="middle", size=10))
    for k, (name, line) in enumerate(counts.items()):
        colour = PALETTE[k % len(PALETTE)]
        for b, count in enumerate(line):
            h = plot_h * count / tallest
            x = left + bin_w * b + 3 + bar_w * k
            body.append(
                f'<rect class="bar" x="{x:.1f}" y="{top + plot_h - h:.1f}" width="{bar_w:.1f}" height="{h:.1f}" '
                f'fill="{colour}" data-group="{escape(name)}" data-bin="{b}" data-count="{count}"/>'
            )
        legend_x = left + bin_w * bins + 12
        body.append(f'<rect x="{legend_x}" y="{top + 18 * k}" width="10" height="10" fill="{colour}"/>')
        body.append(_text(legend_x + 14, top + 18 * k + 9, f"{name} ({sum(line)})", size=11))
    return _svg(width, height, title, body, "histogram")


def bin_counts(values: Sequence[float], edges: Sequence[float]) -> list[int]:
    """How many values fall in each bin [edges[i], edges[i+1]) (the last bin closed); values outside are left out."""
    counts = [0] * (len(edges) - 1)
    for value in values:
        for i in range(len(counts)):
            last = i == len(counts) - 1
            if edges[i] <= value < edges[i + 1] or (last and value == edges[-1]):
                counts[i] += 1
                break
    return counts
