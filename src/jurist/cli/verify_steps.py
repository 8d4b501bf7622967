"""`jurist verify-steps`: judge each step of each solution in context and find the first wrong one."""

from __future__ import annotations

from pathlib import Path

import click

from ..reasoning.steps import StepReport, averify_steps
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


@click.command("verify-steps")
@click.argument("data", type=click.Path(path_type=Path))
@click.option("--out", type=click.Path(path_type=Path), required=True, help="run directory (created, or resumed)")
@click.option(
    "--separator",
    help="split solutions at this string (default: numbered lines, else paragraphs, else lines); \\n is a newline",
)
@click.option("--stop-at-first-error", is_flag=True, help="stop judging a solution at its first incorrect step")
@server_options()
@data_options(
    field_help="read a field from another column: prompt=problem, response=solution, label=first_error",
    label_map_help="read raw gold labels as first-error indices",
    records_help="the key of the list of records in a .json DATA file",
)
@no_cache_option
@overwrite_option
@wait_option
def verify_steps(
    data: Path,
    out: Path,
    separator: str | None,
    stop_at_first_error: bool,
    server: Server,
    reading: Reading,
    no_cache: bool,
    overwrite: bool,
    wait: bool,
) -> None:
    """Judge every step of each solution (`response`; the problem is `prompt`) as correct, incorrect or neutral,
    with the earlier steps as context, one model call per step. A gold `label` (the 0-based index of the first
    wrong step, -1 for a correct solution) is scored as ProcessBench does: accuracy on erroneous and on correct
    solutions and their harmonic mean F1.

    Writes the run directory --out (resumable; each verdict's `strategy` holds the steps, their labels and
    first_error) and steps.json in it.

    Examples:

    \b
      jurist verify-steps solutions.jsonl --model openai:gpt-4o-mini --out runs/steps
      jurist verify-steps solutions.jsonl --separator '\\n\\n' --stop-at-first-error --out runs/steps
    """
    with one_line_errors():
        check_server_options({"--model": server.model}, server.base_url, server.api_key_env)
        loaded = reading.load(data, "pointwise")
        options = server.job(cache=not no_cache, overwrite=overwrite, wait=wait)
    progress = JudgingProgress(out, "solutions already verified")
    report: StepReport = run_judging(
        averify_steps(
            loaded,
            out=out,
            model=server.model,
            separator=None if separator is None else separator.replace("\\n", "\n"),
            stop_at_first_error=stop_at_first_error,
            options=options,
            on_start=progress.on_start,
            on_verdict=progress.on_verdict,
        ),
        progress.bar,
        out,
    )
    line = f"{report.total} solutions: {report.failed} failed, {report.with_error} with an error found"
    metrics = report.metrics
    if metrics is not None:
        parts = [
            f"error accuracy {metrics.error_accuracy:.3f} (n={metrics.n_erroneous})"
            if metrics.error_accuracy is not None
            else "no erroneous solutions",
            f"correct accuracy {metrics.correct_accuracy:.3f} (n={metrics.n_correct})"
            if metrics.correct_accuracy is not None
            else "no correct solutions",
            f"F1 {metrics.f1:.3f}" if metrics.f1 is not None else "no F1",
        ]
        line += "; " + ", ".join(parts) + f" ({metrics.failed} failed, counted wrong)"
    click.echo(f"{line}; {report.calls} model calls")
    say(f"report: {out / 'steps.json'}")
