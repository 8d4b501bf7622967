"""`jurist trajectory`: judge agent trajectories against their requirements and as a whole."""

from __future__ import annotations

from pathlib import Path

import click

from ..agents.evaluate import TrajectoryReport, ajudge_trajectories
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


@click.command("trajectory")
@click.argument("data", type=click.Path(path_type=Path))
@click.option("--out", type=click.Path(path_type=Path), required=True, help="run directory (created, or resumed)")
@click.option("--criteria", default="", help="what the overall 1-5 score should weigh (added to the prompt)")
@click.option(
    "--rubric",
    help="a rubric (built-in name or file) for the overall score; a checklist rubric's items are the requirements "
    "of items that give none",
)
@click.option(
    "--window-chars",
    type=click.IntRange(min=1),
    help="characters of steps shown at once (default: from the model's context, else 12000)",
)
@server_options()
@data_options(
    field_help="read a field from another column: trajectory=messages, requirements=checks",
    label_map_help="read raw gold labels",
    records_help="the key of the list of records in a .json DATA file",
)
@no_cache_option
@overwrite_option
@wait_option
def trajectory(
    data: Path,
    out: Path,
    criteria: str,
    rubric: str | None,
    window_chars: int | None,
    server: Server,
    reading: Reading,
    no_cache: bool,
    overwrite: bool,
    wait: bool,
) -> None:
    """Judge each agent `trajectory` (a list of messages with tool calls and results, in OpenAI's or Anthropic's
    format) against its `requirements` (satisfied, violated or not enough evidence, with the steps cited as
    evidence) and as a whole (1-5). Long trajectories are judged in windows, each after a digest of the earlier
    steps; a step too long for a window is a recorded error of its item. Items may carry `gold` (one label a
    requirement): the agreement is reported.

    Writes the run directory --out (resumable; each verdict's `strategy` holds the requirements' results) and
    trajectory.json in it.

    Examples:

    \b
      jurist trajectory agent_runs.jsonl --model openai:gpt-4o-mini --out runs/agents
      jurist trajectory agent_runs.jsonl --window-chars 6000 --criteria 'Penalise unneeded tool calls.' --out runs/a
    """
    with one_line_errors():
        check_server_options({"--model": server.model}, server.base_url, server.api_key_env)
        loaded = reading.load(data, "pointwise")
        options = server.job(cache=not no_cache, overwrite=overwrite, wait=wait)
    progress = JudgingProgress(out, "trajectories already judged")
    report: TrajectoryReport = run_judging(
        ajudge_trajectories(
            loaded,
            out=out,
            model=server.model,
            criteria=criteria,
            rubric=rubric,
            window_chars=window_chars,
            options=options,
            on_start=progress.on_start,
            on_verdict=progress.on_verdict,
        ),
        progress.bar,
        out,
    )
    counts = ", ".join(f"{n} {label.replace('_', ' ')}" for label, n in report.requirements.items())
    line = f"{report.total} trajectories: {report.failed} failed; requirements: {counts}"
    if report.mean_score is not None:
        line += f"; mean score {report.mean_score:.2f}"
    if report.gold_agreement is not None:
        line += (
            f"; gold agreement {report.gold_agreement:.3f} (n={report.gold_requirements}, "
            f"{report.gold_failed} in failed items, counted wrong)"
        )
    click.echo(f"{line}; {report.calls} model calls")
    say(f"report: {out / 'trajectory.json'}")
