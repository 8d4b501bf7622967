"""`jurist align`: search the judge's prompt space for the judge that agrees best with people's labels."""

from __future__ import annotations

from pathlib import Path

import click

from .common import (
    Server,
    bootstrap_option,
    check_server_options,
    labels_option,
    no_cache_option,
    one_line_errors,
    say,
    server_options,
)


@click.command("align")
@click.argument("run_dir", type=click.Path(path_type=Path))
@labels_option
@click.option("--reviewer", help="--labels review: only this reviewer's labels")
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    required=True,
    help="folder for strategy.toml (use with `jurist judge --strategy`), its files and align_report.json",
)
@click.option("--seed", type=int, default=0, show_default=True, help="seeds the splits and the demo choice")
@click.option(
    "--budget",
    type=click.IntRange(min=1),
    help="model calls at most, search and test together (response-cache hits are free); default: no limit",
)
@click.option(
    "--splits",
    default="0.5,0.25,0.25",
    show_default=True,
    help="train,dev,test fractions of the labelled items (stratified by label)",
)
@click.option(
    "--rounds", type=click.IntRange(min=1), default=2, show_default=True, help="passes over the components at most"
)
@server_options()
@bootstrap_option()
@no_cache_option
def align(
    run_dir: Path,
    labels_from: str,
    reviewer: str | None,
    out: Path,
    seed: int,
    budget: int | None,
    splits: str,
    rounds: int,
    server: Server,
    n_resamples: int,
    no_cache: bool,
) -> None:
    """Teach the judge from people: split RUN_DIR's labelled items into train/dev/test, search the judge's
    prompt space (instruction wording, rubric, rules, few-shot examples from the train items) by greedy coordinate
    ascent scored on train and selected on dev, and measure the run's own judge and the chosen one on the held-out
    test split. Writes OUT/strategy.toml, which `jurist judge --strategy` uses as it is, and OUT/align_report.json.

    Examples:

    \b
      jurist align runs/llmbar --labels data --out aligned/llmbar --budget 2000
      jurist judge new.jsonl --mode pairwise --strategy aligned/llmbar/strategy.toml --out runs/new
    """
    from ..align import AlignOptions, align
    from ..align.splits import parse_fractions

    with one_line_errors():
        check_server_options({"--model": server.model}, server.base_url, server.api_key_env)
        options = AlignOptions(
            labels=labels_from,
            reviewer=reviewer,
            seed=seed,
            budget=budget,
            splits=parse_fractions(splits),
            rounds=rounds,
            n_resamples=n_resamples,
        )
        report = align(
            run_dir, out, model=server.model, options=options, job=server.job(cache=not no_cache), on_step=say
        )
    click.echo(report.render())
