"""`jurist reward`: a reward for each of N candidate responses per prompt, and the best of N."""

from __future__ import annotations

from pathlib import Path

import click

from ..alignment.reward import NORMALISATIONS, REWARD_MODES, RewardResult, areward
from ..data.load import select_items
from ..strategies.build import StrategySpec
from .common import (
    EXIT_NO_VERDICT,
    STRATEGY_NEEDS,
    Judging,
    JudgingProgress,
    Needs,
    Reading,
    Server,
    Stacking,
    check_needs,
    check_server_options,
    data_options,
    fail,
    judge_config_options,
    no_cache_option,
    no_swap_option,
    one_line_errors,
    overwrite_option,
    run_judging,
    say,
    say_labels,
    server_options,
    strategy_options,
    wait_option,
)

PAIRWISE_REWARD = ("reward_mode", ("baseline", "tournament"))
REWARD_NEEDS: Needs = {
    **STRATEGY_NEEDS,
    "rank_by": [("reward_mode", ("tournament",))],
    "no_swap": [PAIRWISE_REWARD],
    "on_inconsistent": [PAIRWISE_REWARD],
    "no_tie": [PAIRWISE_REWARD],
    "scale": [("reward_mode", ("score",))],
}


@click.command("reward")
@click.argument("data", type=click.Path(path_type=Path))
@click.option("--out", type=click.Path(path_type=Path), required=True, help="run directory (created, or resumed)")
@click.option(
    "--reward-mode",
    type=click.Choice(REWARD_MODES),
    default="score",
    show_default=True,
    help="score: each candidate judged pointwise (the expected score where the model gives logprobs); baseline: "
    "each against the item's reference, reward P(candidate wins); tournament: ranked by pairwise comparisons "
    "(--rank-by, knockout by default), reward from the place",
)
@click.option(
    "--normalise",
    type=click.Choice(NORMALISATIONS),
    help="per prompt: zscore (minus the mean, over the standard deviation) or rank (the place, mapped to [0, 1])",
)
@click.option(
    "--length-penalty",
    type=click.FloatRange(min=0.0),
    default=0.0,
    show_default=True,
    help="subtract this many reward units per standard deviation of length above the prompt's mean (before "
    "--normalise)",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["jsonl", "parquet"]),
    default="jsonl",
    show_default=True,
    help="the reward table's format (rewards.jsonl or rewards.parquet in --out)",
)
@server_options()
@judge_config_options(
    on_inconsistent_help="baseline and tournament, when the two orders disagree: averaged probabilities decide (tie "
    "if none), tie, or flag (no reward)",
    rationale_default="after",
    rationale_help="ask for the rationale before the verdict, after it, or not at all",
)
@data_options(
    field_help="map a column to a field, e.g. --field responses=candidates or --field reference=baseline (repeatable)",
    label_map_help="how raw labels are read (rewards do not use labels; they are kept on the verdicts)",
    records_help="a .json file whose items sit under this key (or dotted path)",
)
@click.option("--limit", type=click.IntRange(min=1), help="reward only the first N items")
@click.option("--sample", type=click.IntRange(min=1), help="reward N items drawn at random with --seed")
@click.option("--seed", type=int, default=0, show_default=True, help="the judge's seed, and --sample's draw")
@no_swap_option
@strategy_options(ranking=True)
@no_cache_option
@overwrite_option
@wait_option
def reward(
    data: Path,
    out: Path,
    reward_mode: str,
    normalise: str | None,
    length_penalty: float,
    fmt: str,
    server: Server,
    judging: Judging,
    reading: Reading,
    limit: int | None,
    sample: int | None,
    seed: int,
    no_swap: bool,
    stacking: Stacking,
    no_cache: bool,
    overwrite: bool,
    wait: bool,
) -> None:
    """A reward for every candidate response in DATA (items with a prompt and two or more `responses`; for
    --reward-mode baseline also the baseline response as `reference`), and the best of each item's candidates.

    Writes the run directory --out (resumable: run the same command again after an interruption) and the table
    rewards.jsonl in it: one row per candidate with id, candidate (its index from 0), reward, raw (the judge's,
    before --length-penalty and --normalise), rank, best, length, and the error of a candidate the judge failed on
    (which gets no reward, never 0). Exit codes as `jurist judge`.

    Examples:

    \b
      jurist reward candidates.jsonl --out runs/rewards
      jurist reward candidates.jsonl --reward-mode tournament --rank-by knockout --out runs/best_of_n
      jurist reward candidates.jsonl --reward-mode baseline --field reference=baseline --normalise zscore \\
          --model openai:gpt-4o-mini --out runs/vs_baseline
      jurist reward alpaca_eval_best_of_n:claude-2.1,alpaca-7b --limit 20 --out runs/alpaca_bon
    """
    with one_line_errors():
        check_needs(REWARD_NEEDS)
        check_server_options(stacking.models(server.model), server.base_url, server.api_key_env)
        loaded = reading.load(data, "listwise")
        available = len(loaded.items)
        loaded = select_items(loaded, limit=limit, sample=sample, seed=seed)
        judged_as = {"score": "pointwise", "baseline": "pairwise", "tournament": "pairwise"}[reward_mode]
        config = judging.config(judged_as, seed, swap=not no_swap)
        strategy = stacking.strategy()
        if isinstance(strategy, StrategySpec):
            # --rank-by and --rank-budget rank the tournament itself (areward), not the stack of its comparisons
            strategy = strategy.model_copy(update={"rank_by": None, "rank_budget": None})
        options = server.job(cache=not no_cache, overwrite=overwrite, wait=wait)

    progress = JudgingProgress(out, "judgments already made")

    def on_start(total: int, skipped: int) -> None:
        say_labels(loaded, available, "the first" if limit else f"a sample (seed {seed}) of")
        progress.on_start(total, skipped)

    result: RewardResult = run_judging(
        areward(
            loaded,
            out=out,
            mode=reward_mode,  # type: ignore[arg-type]
            config=config,
            model=server.model,
            strategy=strategy,
            normalise=normalise,  # type: ignore[arg-type]
            length_penalty=length_penalty,
            rank_by=stacking.rank_by,  # type: ignore[arg-type]
            rank_budget=stacking.rank_budget,
            table=fmt,  # type: ignore[arg-type]
            options=options,
            on_start=on_start,
            on_verdict=progress.on_verdict,
            on_wait=say,
        ),
        progress.bar,
        out,
    )
    candidates = len(result.rows)
    click.echo(
        f"{result.items} items, {candidates} candidates: {candidates - result.failed} rewarded, {result.failed} "
        f"failed (no reward); {result.calls_per_item:.1f} model calls per item\n"
        f"table: {result.table}"
    )
    if result.failed == candidates:
        fail("no candidate got a reward (see the errors in the table)", code=EXIT_NO_VERDICT)
