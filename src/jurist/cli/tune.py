"""`jurist tune`: tuning a judge. `jurist tune data` builds its training data (jurist.tune.data)."""

from __future__ import annotations

from pathlib import Path

import click

from ..tune.data import TuneOptions, build_training_data
from .common import one_line_errors, say


@click.group("tune")
def tune() -> None:
    """Tune a judge: build its training data from labelled pairs, a teacher run or recorded annotations.

    \b
    Examples:
      jurist tune data 'alpaca_eval:*' --exclude llmbar,pandalm,evalbiasbench --out tune-data
    """


def _exclusions(value: str | None) -> list[str]:
    return [spec.strip() for spec in (value or "").split(",") if spec.strip()]


@tune.command("data")
@click.argument("sources", nargs=-1)
@click.option("--out", required=True, type=click.Path(path_type=Path), help="the folder to write the data into")
@click.option("--teacher", type=click.Path(path_type=Path), help="a pairwise run directory: its verdicts are targets")
@click.option(
    "--exclude",
    help="comma-separated test sets (benchmark specs or files) whose prompts may not be trained on; `llmbar` is "
    "LLMBar's 419 pairs (Natural and the four adversarial sets)",
)
@click.option("--swap/--no-swap", default=True, show_default=True, help="both orders of every pair, labels mapped")
@click.option(
    "--ties",
    type=click.Choice(["keep", "drop"]),
    default="drop",
    show_default=True,
    help="keep tied pairs (the judge learns to answer tie) or drop them",
)
@click.option("--no-consistency", is_flag=True, help="keep teacher verdicts whose two orders disagreed")
@click.option(
    "--length-balance",
    type=click.FloatRange(0.5, 1),
    default=0.5,
    show_default=True,
    help="the highest share of pairs that 'the longer response wins' (or the shorter) may have: 0.5 = as many of "
    "each, 1 = the data's own share",
)
@click.option("--keep-duplicates", is_flag=True, help="keep repeated pairs (same prompt and responses)")
@click.option("--dev-share", type=float, default=0.1, show_default=True, help="share of the prompts held for dev")
@click.option("--seed", type=int, default=0, show_default=True, help="the seed of the split and the balancing")
@click.option(
    "--rationale",
    type=click.Choice(["none", "after"]),
    default="none",
    show_default=True,
    help="the target: the verdict alone, or the verdict then the teacher's rationale (pairs without one dropped)",
)
@click.option("--force", is_flag=True, help="replace the training data already in --out")
def data(
    sources: tuple[str, ...],
    out: Path,
    teacher: Path | None,
    exclude: str | None,
    swap: bool,
    ties: str,
    no_consistency: bool,
    length_balance: float,
    keep_duplicates: bool,
    dev_share: float,
    seed: int,
    rationale: str,
    force: bool,
) -> None:
    """Build judge training data in TRL's formats (sft/, preference/, reward/; train and dev) with a data card.

    SOURCES are data files or benchmark specs with pairwise labels (A, B, tie): `llmbar:Natural`, `pandalm`,
    `alpaca_eval:claude-2.1` (`alpaca_eval:*`: GPT-4-turbo's recorded preferences for every annotated model but
    NullModel). The prompts are the ones jurist's pairwise judge sends; the target is its JSON answer, the verdict
    first. Training data never holds a prompt of the --exclude sets; train and dev never share a prompt.

    \b
    Examples:
      jurist tune data 'alpaca_eval:*' --exclude llmbar,pandalm --out tune-data
      jurist tune data --teacher runs/gpt4 --rationale after --out distil
      jurist tune data pairs.jsonl --no-swap --ties keep --length-balance 0.6 --dev-share 0.2 --seed 1 --out tune-data
    """
    with one_line_errors():
        options = TuneOptions(
            swap=swap,
            ties=ties,
            consistency=not no_consistency,
            length_balance=length_balance,
            dedupe=not keep_duplicates,
            exclude=_exclusions(exclude),
            dev_share=dev_share,
            seed=seed,
            rationale=rationale,
        )
        card = build_training_data(list(sources), out, options, teacher=teacher, force=force)
    for step in card.steps:
        why = "; ".join(f"{reason} {n}" for reason, n in step.dropped.items())
        say(f"{step.step}: {step.before} -> {step.after}" + (f" (dropped: {why})" if why else ""))
    for name, size in card.splits.items():
        say(f"{name}: {card.prompts[name]} prompts, {size['pairs']} pairs, {size['sft']} sft rows")
    say(f"wrote {out} (data card: {out / 'DATA_CARD.md'})")
