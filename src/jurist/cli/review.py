"""`jurist review`: label a run's items in a local web app, next to the judge."""

from __future__ import annotations

import asyncio
import webbrowser
from pathlib import Path

import click

from .common import one_line_errors, say


@click.command("review")
@click.argument("run_dir", type=click.Path(path_type=Path))
@click.option(
    "--queue",
    type=click.Choice(["flagged", "inconsistent", "escalated", "disagreeing", "all"]),
    default="flagged",
    show_default=True,
    help="which items to review: flagged by the judge, inconsistent across the two orders, escalated by a cascade, "
    "disagreeing with the item's label, or all",
)
@click.option("--reviewer", metavar="NAME", help="a new reviewer's name (names are unique in a run)")
@click.option("--resume-as", metavar="NAME", help="continue as an existing reviewer of this run")
@click.option("--port", type=click.IntRange(0, 65535), default=8000, show_default=True, help="port (0: a free one)")
@click.option("--no-browser", is_flag=True, help="print the URL only; do not open a browser")
@click.option(
    "--show-verdict", is_flag=True, help="show the judge's verdict before the answer (recorded with each answer)"
)
@click.option("--seed", type=int, default=0, show_default=True, help="the shuffled order of each pair")
def review(
    run_dir: Path,
    queue: str,
    reviewer: str | None,
    resume_as: str | None,
    port: int,
    no_browser: bool,
    show_verdict: bool,
    seed: int,
) -> None:
    """Review RUN_DIR's items one at a time in a local web app (127.0.0.1, a random token in the URL it prints):
    the prompt, the responses (pairwise side by side, in an order shuffled per item and recorded), then the
    judge's verdict and rationale once you have answered. Keys: A / B / T (pairwise), 1-5 (pointwise), S skip,
    U undo, N note, V show the verdict first. Labels go to RUN_DIR/review.sqlite; `jurist meta-eval RUN_DIR
    --labels review` reads them. Each person reviews under a name unique in the run: start with --reviewer NAME,
    continue later with --resume-as NAME. Ctrl-C stops the server; every answer is already saved.

    Examples:

    \b
      jurist review runs/llmbar --reviewer alice
      jurist review runs/llmbar --resume-as alice --queue disagreeing
    """
    from ..review.app import ReviewOptions, ReviewSession, aserve_review

    def ready(url: str, session: ReviewSession) -> None:
        say(f"reviewing {len(session.items)} items of the {queue} queue as {session.reviewer}; Ctrl-C stops")
        click.echo(url)  # stdout, alone on its line: scripts read it
        if not no_browser:
            webbrowser.open(url)

    with one_line_errors():
        options = ReviewOptions(
            queue=queue,
            reviewer=reviewer,
            resume_as=resume_as,
            port=port,
            seed=seed,
            show_verdict=show_verdict,
        )
        try:  # the run, the queue and the reviewer are checked before the server listens: exit 2, no traceback
            asyncio.run(aserve_review(run_dir, options, on_ready=ready))
        except KeyboardInterrupt:
            say(f"stopped; the answers are in {run_dir / 'review.sqlite'}")
