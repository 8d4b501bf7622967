"""`jurist equivalence`: does each final answer match its reference? The normaliser first, the judge only where it
cannot decide."""

from __future__ import annotations

from pathlib import Path

import click

from ..reasoning.answers import EquivalenceReport, aequivalent
from .common import (
    JudgingProgress,
    Reading,
    Server,
    check_server_options,
    data_options,
    no_cache_option,
    one_line_errors,
    overwrite_option,
    run_judging,
    say,
    server_options,
    wait_option,
)


@click.command("equivalence")
@click.argument("data", type=click.Path(path_type=Path))
@click.option("--out", type=click.Path(path_type=Path), required=True, help="run directory (created, or resumed)")
@click.option("--no-judge", is_flag=True, help="the normaliser only: answers it cannot decide stay undecided")
@server_options()
@data_options(
    field_help="read a field from another column: response=answer, reference=gold, prompt=question...",
    label_map_help="read raw gold labels as 1 (equal) / 0 (different): yes=1,no=0",
    records_help="the key of the list of records in a .json DATA file",
)
@no_cache_option
@overwrite_option
@wait_option
def equivalence(
    data: Path,
    out: Path,
    no_judge: bool,
    server: Server,
    reading: Reading,
    no_cache: bool,
    overwrite: bool,
    wait: bool,
) -> None:
    """Whether each item's final answer (`response`) matches its `reference`: numbers (commas, percent, fractions,
    scientific notation, units), simple algebraic forms, multiple-choice letters and normalised text are decided
    by rules; the model is asked only about the rest. A gold `label` (1 equal, 0 different) is scored.

    Writes the run directory --out (resumable) and equivalence.json in it: counts by result and by the path that
    decided (choice, number, algebra, text, judge), failures, and the accuracy against the labels.

    Examples:

    \b
      jurist equivalence answers.jsonl --no-judge --out runs/eq
      jurist equivalence answers.jsonl --model openai:gpt-4o-mini --out runs/eq
    """
    with one_line_errors():
        if not no_judge:
            check_server_options({"--model": server.model}, server.base_url, server.api_key_env)
        loaded = reading.load(data, "pointwise")
        options = server.job(cache=not no_cache, overwrite=overwrite, wait=wait)
    progress = JudgingProgress(out, "answers already judged")
    report: EquivalenceReport = run_judging(
        aequivalent(
            loaded,
            out=out,
            model=None if no_judge else server.model,
            options=options,
            on_start=progress.on_start,
            on_verdict=progress.on_verdict,
        ),
        progress.bar,
        out,
    )
    paths = ", ".join(f"{path} {n}" for path, n in sorted(report.paths.items()))
    results = ", ".join(f"{result} {n}" for result, n in sorted(report.results.items()))
    accuracy = "" if report.accuracy is None else f"; accuracy {report.accuracy:.3f} on {report.labelled} labelled"
    click.echo(f"{report.total} answers: {results}; decided by {paths}{accuracy}")
    say(f"report: {out / 'equivalence.json'}")
