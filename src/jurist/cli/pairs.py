"""`jurist pairs`: preference pairs (DPO, KTO) from a judged run or a reward table; its filter options are shared
with `jurist self-reward`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import click

from ..alignment.pairs import FORMATS, PAIRINGS, PairFilters, build_pairs, render_report
from ..errors import JuristError
from .common import _group, fail, say

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class Filtering:
    """The pair filters (--min-margin ... --keep-duplicates) and the pairing, as one object."""

    pairing: str
    no_consistency: bool
    min_margin: float | None
    min_gap: float | None
    max_length_ratio: float | None
    keep_duplicates: bool

    def filters(self) -> PairFilters:
        return PairFilters(
            consistency=not self.no_consistency,
            min_margin=self.min_margin,
            min_gap=self.min_gap,
            max_length_ratio=self.max_length_ratio,
            dedupe=not self.keep_duplicates,
        )


def pair_options() -> Callable[[F], F]:
    """--pairing, --no-consistency, --min-margin, --min-gap, --max-length-ratio, --keep-duplicates, as `filtering`."""
    return _group(
        "filtering",
        Filtering,
        [
            click.option(
                "--pairing",
                type=click.Choice(list(PAIRINGS)),
                default="best-worst",
                show_default=True,
                help="scored or ranked responses: the best against the worst, or every pair (ties dropped)",
            ),
            click.option(
                "--no-consistency",
                is_flag=True,
                help="pairwise: keep verdicts whose two orders disagreed or could not be compared (one failed)",
            ),
            click.option(
                "--min-margin",
                type=click.FloatRange(0, 1),
                help="pairwise: drop pairs with P(chosen wins) - P(rejected wins) below this (needs probabilities)",
            ),
            click.option(
                "--min-gap",
                type=click.FloatRange(min=0),
                help="scores, rewards, ranks: drop pairs whose chosen response is less than this above the rejected",
            ),
            click.option(
                "--max-length-ratio",
                type=click.FloatRange(min=1),
                help="drop pairs whose chosen response has more than this many times the rejected one's characters",
            ),
            click.option("--keep-duplicates", is_flag=True, help="keep repeated pairs (same prompt, chosen, rejected)"),
        ],
    )


format_option = click.option(
    "--format",
    "fmt",
    type=click.Choice(list(FORMATS)),
    default="standard",
    show_default=True,
    help="TRL's: standard prompt/chosen/rejected texts, conversational message lists, kto prompt/completion/label",
)


@click.command("pairs")
@click.argument("source", type=click.Path(path_type=Path))
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    required=True,
    help="the pairs file (JSONL); the report goes beside it as NAME.report.json",
)
@format_option
@pair_options()
@click.option(
    "--group-by", metavar="FIELD", help="pointwise: group the items by this metadata field instead of their prompt"
)
@click.option("--force", is_flag=True, help="replace an existing --out file (a run's own files never are)")
def pairs(source: Path, out: Path, fmt: str, filtering: Filtering, group_by: str | None, force: bool) -> None:
    """Build preference pairs from SOURCE, a judged run directory or a reward directory, for DPO or KTO.

    A pairwise run gives a pair per verdict (the winner chosen); a pointwise run, per prompt, its best and worst
    scored responses; a listwise run its first and last ranked; a reward directory its best and worst rewards.
    Every filter's drops are counted by reason, printed and written to the report. Bad input (a file, a folder
    that is no run, a filter that cannot act on the source) exits with 2.

    Examples:

    \b
      jurist pairs runs/gpt4o --out pairs.jsonl --min-margin 0.5 --max-length-ratio 2
      jurist pairs runs/rewards --out kto.jsonl --format kto --pairing all --min-gap 0.5
    """
    try:
        result = build_pairs(
            source,
            out,
            format=fmt,  # type: ignore[arg-type]
            filters=filtering.filters(),
            pairing=filtering.pairing,  # type: ignore[arg-type]
            group_by=group_by,
            force=force,
        )
    except JuristError as exc:
        fail(str(exc))
    say(render_report(result.report))
