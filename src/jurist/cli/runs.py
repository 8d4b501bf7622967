"""`jurist show` and `jurist export`: a run directory read again."""

from __future__ import annotations

from pathlib import Path

import click

from ..errors import JuristError
from ..export import export_run
from ..summary import render_summary, summarize
from .common import fail, labels_option, renamed_option, say


@click.command()
@click.argument("run_dir", type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="print the summary as JSON")
def show(run_dir: Path, as_json: bool) -> None:
    """Print the summary of a run again.

    Examples:

    \b
      jurist show runs/gpt4o
      jurist show runs/gpt4o --json
    """
    try:
        summary = summarize(run_dir)
    except JuristError as exc:
        fail(str(exc))
    click.echo(summary.model_dump_json(indent=2) if as_json else render_summary(summary))


@click.command()
@click.argument("run_dir", type=click.Path(path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["csv", "parquet", "jsonl"]), default="csv", show_default=True)
@renamed_option(
    "--out",
    "dest",
    was="--to",
    type=click.Path(path_type=Path),
    help="output file (default RUN_DIR/verdicts.export.FMT, rewritten by each export); missing folders are created",
)
@click.option("--force", is_flag=True, help="replace an existing --out file (a run's own files never are)")
@click.option("--no-texts", is_flag=True, help="leave out the items' texts (prompt, responses, reference, turns)")
@click.option(
    "--raw-cells",
    is_flag=True,
    help="CSV: keep cells starting with = + - @ tab or CR as they are (default: prefixed with ' so that "
    "spreadsheets do not run them as formulas)",
)
@labels_option
def export(
    run_dir: Path, fmt: str, dest: Path | None, force: bool, no_texts: bool, raw_cells: bool, labels_from: str
) -> None:
    """Write a run's verdicts as CSV, Parquet or JSONL: one row per item with the verdict, the item's texts and
    one meta.KEY column per metadata key; with `--labels review`, the label column holds the reviewers' labels of
    `jurist review` (empty where nobody reviewed the item).

    Examples:

    \b
      jurist export runs/gpt4o
      jurist export runs/gpt4o --format jsonl --out tables/gpt4o.jsonl --no-texts
      jurist export runs/gpt4o --labels review --out tables/reviewed.csv
    """
    missing = dest is not None and not dest.parent.exists()
    try:
        if labels_from == "review":
            from ..review import review_labels

            reviewed: dict[str, str | float] | None = review_labels(run_dir)
        else:
            reviewed = None
        target = export_run(
            run_dir,
            fmt,  # type: ignore[arg-type]
            dest,
            texts=not no_texts,
            force=force,
            raw_cells=raw_cells,
            labels=reviewed,
        )
    except JuristError as exc:
        fail(str(exc))
    if missing:
        say(f"created {target.parent}")
    click.echo(str(target))
