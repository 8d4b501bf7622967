"""`jurist issues`: qualitative error analysis of a judged run: its rationales' issues, grouped into named types."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import click

from .common import Server, check_server_options, no_cache_option, one_line_errors, say, server_options


@click.command("issues")
@click.argument("run_dir", type=click.Path(path_type=Path))
@click.option("--out", type=click.Path(path_type=Path), required=True, help="where issues.json and issues.md go")
@click.option(
    "--which",
    type=click.Choice(["bad", "all"]),
    default="bad",
    show_default=True,
    help="bad: flagged items, pointwise scores below --below, pairwise items with a winner (the loser's issues), "
    "listwise items; all: every judged item",
)
@click.option("--below", type=float, help="pointwise: a score below this is bad  [default: the run's median score]")
@click.option(
    "--embeddings",
    default="local",
    show_default=True,
    help="local (the embedded model's hidden states: coarse) | gguf:PATH (a GGUF embedding model)",
)
@click.option("--seed", type=int, default=0, show_default=True, help="the clustering order and the models' seed")
@click.option("--max-types", type=click.IntRange(min=1), default=8, show_default=True, help="at most this many types")
@click.option(
    "--similarity",
    type=click.FloatRange(-1.0, 1.0),
    default=0.8,
    show_default=True,
    help="cosine to a type's centre at which an issue joins it (lower: fewer, broader types)",
)
@server_options()
@no_cache_option
def issues(
    run_dir: Path,
    out: Path,
    which: Literal["bad", "all"],
    below: float | None,
    embeddings: str,
    seed: int,
    max_types: int,
    similarity: float,
    server: Server,
    no_cache: bool,
) -> None:
    """Read RUN_DIR's rationales and report the kinds of issues the judge found: the model lists the specific
    issues of each chosen item's rationale, the issues are grouped by their embeddings, and the model names each
    group (one call per type). Writes --out/issues.json and issues.md: the types with their item counts, share of
    the analysed items and example items with quotes, and the counts of items without a rationale and of
    extractions that could not be read. The same run, seed and response cache give the same report.

    Examples:

    \b
      jurist issues runs/llmbar --out runs/llmbar/issues
      jurist issues runs/summeval --below 3 --model openai:gpt-4o-mini --out issues/
    """
    from ..issues import IssuesOptions, analyse_issues

    with one_line_errors():
        check_server_options({"--model": server.model}, server.base_url, server.api_key_env)
        options = IssuesOptions(which=which, below=below, seed=seed, max_types=max_types, similarity=similarity)
        report = analyse_issues(
            run_dir, out, options, model=server.model, embeddings=embeddings, job=server.job(cache=not no_cache)
        )
    click.echo(
        f"{report.selected} of {report.verdicts} items chosen ({which}); {report.analysed} analysed, "
        f"{report.no_rationale} without a rationale, {report.unreadable} unreadable; {report.issues} issues in "
        f"{len(report.types)} types"
    )
    for t in report.types[:5]:
        click.echo(f"  {t.items:>4} items ({t.share:.0%})  {click.unstyle(t.name)}")
    say(f"report: {out / 'issues.md'}")
