"""`jurist report`: run, audit and arena directories as one self-contained HTML file."""

from __future__ import annotations

from pathlib import Path

import click

from .common import bootstrap_option, one_line_errors, say

TEXT_LIMIT = 20_000  # jurist.report.ITEM_TEXT_LIMIT (a test checks), not imported: `jurist --help` loads no report


@click.command()
@click.argument("dirs", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "--out",
    "dest",
    type=click.Path(path_type=Path),
    required=True,
    help="the HTML file to write (report.html); missing folders are created",
)
@click.option("--force", is_flag=True, help="replace an existing --out file (a directory's own files never are)")
@click.option(
    "--max-text-chars",
    "text_limit",
    type=click.IntRange(min=100),
    default=TEXT_LIMIT,
    show_default=True,
    help="cut each text of the item view (prompt, response, rationale...) to this many characters: a smaller file",
)
@bootstrap_option()
def report(dirs: tuple[Path, ...], dest: Path, force: bool, text_limit: int, n_resamples: int) -> None:
    """Write one HTML file that shows runs, audits and arenas: summaries, a verdict table with search, filters
    and sorting, each item with its responses side by side, meta-evaluation, audit and leaderboard charts. It
    works offline and loads nothing.

    Examples:

    \b
      jurist report runs/gpt4o --out report.html
      jurist report runs/gpt4o audits/gpt4o arenas/chat --out reports/all.html --force
    """
    from ..report import write_report

    with one_line_errors():
        target = write_report(dirs, dest, force=force, n_resamples=n_resamples, text_limit=text_limit)
    size = target.stat().st_size
    say(f"wrote {target} ({size / 1024:,.0f} KiB)")
    click.echo(str(target))
