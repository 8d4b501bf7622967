"""`jurist report`: one self-contained HTML file from run, audit and arena directories, to read offline or send.

    from jurist.report import write_report
    write_report(["runs/gpt4o", "audits/gpt4o"], "report.html")

collect.py reads each directory into a typed view, charts.py draws inline SVG, html.py fills the template
(report.html.j2, autoescaped) and inlines report.css and report.js under a Content-Security-Policy.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from ..errors import ConfigError
from ..files import write_atomic
from .collect import ITEM_TEXT_LIMIT, ArenaView, AuditView, ItemRecord, Kind, RunView, View, collect, detect_kind
from .html import embed_json, render

__all__ = [
    "ITEM_TEXT_LIMIT",
    "ArenaView",
    "AuditView",
    "ItemRecord",
    "Kind",
    "RunView",
    "View",
    "build_report",
    "collect",
    "detect_kind",
    "embed_json",
    "render",
    "write_report",
]


def build_report(dirs: Sequence[str | Path], *, n_resamples: int = 1000, text_limit: int = ITEM_TEXT_LIMIT) -> str:
    """The report's HTML for these run, audit and arena directories (in this order); each text of a run's item view
    is cut to `text_limit` characters."""
    if not dirs:
        raise ConfigError("give at least one run, audit or arena directory")
    paths = [Path(d) for d in dirs]
    for path in paths:  # every directory checked before the slow part (meta-evaluation)
        detect_kind(path)
    return render([collect(path, n_resamples=n_resamples, text_limit=text_limit) for path in paths])


def write_report(
    dirs: Sequence[str | Path],
    out: str | Path,
    *,
    force: bool = False,
    n_resamples: int = 1000,
    text_limit: int = ITEM_TEXT_LIMIT,
) -> Path:
    """Write the report to `out` (whole or not at all). An existing file is replaced only with `force`, and never
    one of the directories' own files."""
    target = Path(out)
    if target.is_dir():
        raise ConfigError(f"{target} is a folder: give --out a file name, such as {target / 'report.html'}")
    if target.exists():
        if not force:
            raise ConfigError(f"{target} exists; pass --force to replace it, or choose another --out")
        for d in dirs:
            if target.resolve().parent == Path(d).resolve() and target.suffix.lower() not in (".html", ".htm"):
                raise ConfigError(f"{target} belongs to {d}; write the report elsewhere (--out)")
    html = build_report(dirs, n_resamples=n_resamples, text_limit=text_limit)
    try:
        write_atomic(target, html)
    except OSError as exc:
        raise ConfigError(f"cannot write {target}: {exc.strerror or exc}; choose another --out") from exc
    return target
