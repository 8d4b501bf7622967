"""`jurist arena`: a leaderboard of systems from their answers to the same prompts."""

from __future__ import annotations

from pathlib import Path

import click
from rich.console import Console

from ..errors import ConfigError
from .common import (
    PAIRWISE,
    POINTWISE,
    STRATEGY_NEEDS,
    Judging,
    JudgingProgress,
    Needs,
    Server,
    Stacking,
    bootstrap_option,
    check_needs,
    check_server_options,
    judge_config_options,
    mode_option,
    no_cache_option,
    no_swap_option,
    one_line_errors,
    run_judging,
    server_options,
    strategy_options,
    warn,
)

ARENA_NEEDS: Needs = {
    **STRATEGY_NEEDS,
    "schedule": [PAIRWISE],
    "budget": [("schedule", ("adaptive",))],
    "round_size": [("schedule", ("adaptive",))],
    "no_swap": [PAIRWISE],
    "on_inconsistent": [PAIRWISE],
    "no_tie": [PAIRWISE],
    "scale": [POINTWISE],
}


@click.command()
@click.option(
    "--system",
    "system_specs",
    multiple=True,
    metavar="NAME=PATH",
    help="one system's answers: rows of id, prompt, output (repeatable; JSONL, JSON, CSV or Parquet)",
)
@click.option(
    "--table",
    type=click.Path(path_type=Path),
    help="all systems' answers in one table: prompt_id, prompt, system, output",
)
@click.option("--out", type=click.Path(path_type=Path), required=True, help="arena directory (created, or resumed)")
@mode_option("compare answers in battles, or grade each answer alone (mean scores)")
@click.option(
    "--schedule",
    type=click.Choice(["baseline", "all-pairs", "adaptive"]),
    help="which battles: every system against --baseline, all pairs, or adaptively where the ranking is unsure "
    "(default: baseline when --baseline is given, else all-pairs)",
)
@click.option("--baseline", help="the system others are measured against (win rates; its score is fixed at 1000)")
@click.option("--budget", type=click.IntRange(min=1), help="--schedule adaptive: at most this many battles")
@click.option("--round-size", type=click.IntRange(min=1), help="--schedule adaptive: battles per round")
@click.option("--null-model", is_flag=True, help="add a system that answers every prompt with the same refusal")
@click.option(
    "--verbose-variant",
    "verbose_variants",
    multiple=True,
    metavar="NAME",
    help="add NAME-verbose: NAME's answers padded with sentences that add nothing (repeatable)",
)
@server_options()
@judge_config_options(
    on_inconsistent_help="pairwise, when a battle's two orders disagree: averaged probabilities decide (tie if "
    "none), tie, or flag",
    rationale_default="after",
    rationale_help="ask for the rationale before the verdict, after it, or not at all",
)
@no_swap_option
@strategy_options(ranking=False)
@click.option("--seed", type=int, default=0, show_default=True, help="judge seed, adaptive schedule and bootstrap")
@bootstrap_option(zero="no intervals")
@no_cache_option
@click.option("--overwrite", is_flag=True, help="discard an existing arena run in --out made with other settings")
def arena(
    system_specs: tuple[str, ...],
    table: Path | None,
    out: Path,
    mode: str,
    schedule: str | None,
    baseline: str | None,
    budget: int | None,
    round_size: int | None,
    null_model: bool,
    verbose_variants: tuple[str, ...],
    server: Server,
    judging: Judging,
    no_swap: bool,
    stacking: Stacking,
    seed: int,
    n_resamples: int,
    no_cache: bool,
    overwrite: bool,
) -> None:
    """Rank systems by their answers to the same prompts: battles judged pairwise (Bradley-Terry with intervals,
    raw and style-controlled, win rate against a baseline, Elo) or answers graded alone (mean scores). Writes
    leaderboard.csv, battles.jsonl, win_matrix.csv and arena.json into OUT; the verdicts are a resumable run.

    Exit codes as for `jurist judge`: 3 when no battle (or answer) got a verdict, in every session.

    Examples:

    \b
      jurist arena --system gpt4o=gpt4o.jsonl --system llama=llama.jsonl --out arenas/a --model openai:gpt-4o
      jurist arena --table answers.csv --baseline gpt4o --null-model --out arenas/b
      jurist arena --table answers.csv --model openai:gpt-4o --rpm 500 --template judge.toml --temperature 0.7 \\
        --samples 3 --out arenas/c
    """
    from ..leaderboard.arena import (
        ArenaOptions,
        arun_arena,
        load_systems,
        load_table,
        parse_system_spec,
        render_arena,
        with_null_model,
        with_verbose_variant,
    )

    with one_line_errors():
        check_needs(ARENA_NEEDS)
        check_server_options(stacking.models(server.model), server.base_url, server.api_key_env)
        if bool(system_specs) == (table is not None):
            raise ConfigError("give the answers either as --system NAME=PATH (one per system) or as one --table")
        data = load_table(table) if table is not None else load_systems([parse_system_spec(s) for s in system_specs])
        for name in verbose_variants:
            data = with_verbose_variant(data, name)
        if null_model:
            data = with_null_model(data)
        settings = ArenaOptions(
            mode=mode,
            schedule=schedule or ("baseline" if baseline else "all-pairs"),
            baseline=baseline,
            budget=budget,
            round_size=round_size,
            n_bootstrap=n_resamples,
            seed=seed,
        )
        config = judging.config(mode, seed, swap=not no_swap)
        strategy = stacking.strategy()
        options = server.job(cache=not no_cache, overwrite=overwrite)

    progress = JudgingProgress(out, "judgments already made")  # on_start: once per round (adaptive)
    report = run_judging(
        arun_arena(
            data,
            out=out,
            arena=settings,
            config=config,
            model=server.model,
            strategy=strategy,
            options=options,
            on_start=progress.on_start,
            on_verdict=progress.on_verdict,
        ),
        progress.bar,
        out,
    )
    for warning in report.warnings:
        warn(warning)
    Console().print(render_arena(report))
    click.echo(
        f"\nwritten to {out}: leaderboard.csv, arena.json"
        + (", battles.jsonl, win_matrix.csv" if mode == "pairwise" else "")
    )
