"""`jurist judge`: judge every item of a data file or benchmark and print the summary."""

from __future__ import annotations

from pathlib import Path

import click

from ..api import ajudge
from ..data.load import ItemStream, LoadedData, describe_labels, select_items
from ..demos import DemoConfig
from ..gate import SUMMARY_METRICS, Threshold, check_before_judging, summary_failures
from ..types import MODES
from .common import (
    PAIRWISE,
    POINTWISE,
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
    fail_under_option,
    gate_or_exit,
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
    summary_or_exit,
    wait_option,
    warn,
)

JUDGE_NEEDS: Needs = {
    **STRATEGY_NEEDS,
    "demos_k": [("demos_pool", None)],
    "demos_select": [("demos_pool", None)],
    "demos_embed_model": [("demos_select", ("embedding",))],
    # pairwise settings also act on the pairs a --rank-by ranking compares
    "no_swap": [PAIRWISE, ("rank_by", None)],
    "on_inconsistent": [PAIRWISE, ("rank_by", None)],
    "no_tie": [PAIRWISE, ("rank_by", None)],
    "scale": [POINTWISE],
    "ray_address": [("engine", ("ray",))],
    "num_workers": [("engine", ("ray",))],
}


@click.command()
@click.argument("data", type=click.Path(path_type=Path))
@click.option("--mode", type=click.Choice(MODES), required=True, help="pointwise, pairwise or listwise")
@click.option("--out", type=click.Path(path_type=Path), required=True, help="run directory (created, or resumed)")
@server_options()
@judge_config_options(
    on_inconsistent_help="pairwise, when the two orders disagree: averaged probabilities decide (tie if none), tie, "
    "or flag",
    rationale_default="after",
    rationale_help="ask for the rationale before the verdict, after it, or not at all",
)
@data_options(
    field_help="map a column to a field, e.g. --field prompt=input (repeatable; COLUMN may be a,b to join, or a dotted "
    "path into nested records: label=annotations.informativeness.mean_human, scores.0)",
    label_map_help="how raw labels are read: pairwise to A/B/tie (e.g. 0=A,1=B,2=tie), pointwise to scale points or "
    "category names (e.g. No=0,Yes=1)",
    records_help="a .json file whose items sit under this key (or dotted path)",
)
@click.option("--limit", type=click.IntRange(min=1), help="judge only the first N items")
@click.option(
    "--sample",
    type=click.IntRange(min=1),
    help="judge N items drawn at random with --seed, each label keeping its share (stratified)",
)
@click.option("--seed", type=int, default=0, show_default=True, help="the judge's seed, and --sample's draw")
@click.option(
    "--turn-scope",
    type=click.Choice(["final", "each"]),
    default="final",
    show_default=True,
    help="conversations (items with turns): judge the last assistant turn, or each one (pointwise; score = mean)",
)
@no_swap_option
@click.option("--demos", "demos_pool", type=click.Path(path_type=Path), help="few-shot examples: a labelled data file")
@click.option("--demos-k", type=click.IntRange(1, 32), default=2, show_default=True, help="examples per item")
@click.option(
    "--demos-select",
    type=click.Choice(["fixed", "random", "bm25", "embedding"]),
    default="fixed",
    show_default=True,
    help="the first k, k at random (seeded), or the k most similar requests (BM25 over words, or embeddings)",
)
@click.option(
    "--demos-embed-model",
    default="local",
    show_default=True,
    help="--demos-select embedding: `local` (the embedded model, mean-pooled) or gguf:PATH of an embedding model",
)
@strategy_options(ranking=True)
@no_cache_option
@click.option(
    "--fsync",
    type=click.Choice(["always", "batch", "never"]),
    default="batch",
    show_default=True,
    help="how often verdicts are forced to disk (each is flushed to the OS at once regardless)",
)
@overwrite_option
@wait_option
@click.option(
    "--engine",
    type=click.Choice(["local", "ray"]),
    default="local",
    show_default=True,
    help="local: judge in this process; ray: as a Ray Data pipeline of --num-workers actors (jurist[ray]), verdicts "
    "in Parquet shards under RUN_DIR/shards/",
)
@click.option(
    "--ray-address",
    help="--engine ray: an existing cluster (HOST:PORT of its head, ray://HOST:PORT or auto); default: a local Ray "
    "started for the run",
)
@click.option(
    "--num-workers",
    type=click.IntRange(min=1),
    default=2,
    show_default=True,
    help="--engine ray: judging actors, each with its own backends, --concurrency and an equal share of --rpm/--tpm",
)
@fail_under_option(SUMMARY_METRICS, what="the summary's")
def judge(
    data: Path,
    mode: str,
    out: Path,
    server: Server,
    judging: Judging,
    reading: Reading,
    limit: int | None,
    sample: int | None,
    seed: int,
    turn_scope: str,
    no_swap: bool,
    demos_pool: Path | None,
    demos_k: int,
    demos_select: str,
    demos_embed_model: str,
    stacking: Stacking,
    no_cache: bool,
    fsync: str,
    overwrite: bool,
    wait: bool,
    engine: str,
    ray_address: str | None,
    num_workers: int,
    fail_under: tuple[Threshold, ...],
) -> None:
    """Judge every item in DATA (JSONL, JSON, CSV, Parquet or a saved HF dataset, or a benchmark such as
    llmbar:Natural; see `jurist benchmarks`) and print a summary.

    Exit codes: 0 done; 1 the run stopped on a configuration error at the server (bad key, unknown model); 2 bad
    input or options, or a run directory that cannot be used; 3 no item got a verdict (every one failed, in
    every session); 4 a --fail-under threshold was not met (the run is complete and kept); 130 interrupted (run the
    same command again to resume).

    Examples:

    \b
      jurist judge data.jsonl --mode pairwise --model openai:gpt-4o --out runs/gpt4o
      jurist judge llmbar:Natural --mode pairwise --out runs/llmbar --limit 50
      jurist judge answers.jsonl --mode pointwise --rubric helpfulness --scale 1-10 --out runs/help
      jurist judge llmbar:Natural --mode pairwise --out runs/ci --fail-under accuracy=0.8
    """
    with one_line_errors():
        check_needs(JUDGE_NEEDS)
        check_server_options(stacking.models(server.model), server.base_url, server.api_key_env)
        # JSONL and Parquet are streamed (read as they are judged); --sample draws from all the items
        loaded = reading.open(data, mode) if sample is None and engine == "local" else reading.load(data, mode)
        if isinstance(loaded, ItemStream):
            available = loaded.total or 0
            loaded = loaded.limited(limit) if limit else loaded
        else:
            available = len(loaded.items)
            loaded = select_items(loaded, limit=limit, sample=sample, seed=seed)
        labelled = sum(item.label is not None for item in _first(loaded).items)
        check_before_judging(fail_under, mode=mode, labelled=labelled, swap=not no_swap)
        config = judging.config(
            mode,
            seed,
            swap=not no_swap,
            turn_scope=turn_scope,
            demos=None
            if demos_pool is None
            else DemoConfig(pool=str(demos_pool), k=demos_k, select=demos_select, embed_model=demos_embed_model),
        )
        strategy = stacking.strategy()
        options = server.job(cache=not no_cache, fsync=fsync, overwrite=overwrite, wait=wait)

    progress = JudgingProgress(out, "items already judged")

    def on_start(total: int, skipped: int) -> None:
        # here, once the labels are checked against the judge's scale: a bad one is an error, printed alone
        how = "the first" if limit else f"a sample (seed {seed}) of"
        if isinstance(loaded, ItemStream) and len(loaded.head.items) < (loaded.total or 0):
            _say_stream(loaded, available, how)
        else:
            say_labels(_first(loaded), available, how)
        progress.on_start(total, skipped)

    if engine == "ray":
        from ..scale.ray_data import RayOptions, ajudge_ray  # Ray's engine, only when asked for

        work = ajudge_ray(
            _first(loaded),  # all the items: only --engine local streams
            out=out,
            config=config,
            model=server.model,
            strategy=strategy,
            options=options,
            ray=RayOptions(address=ray_address, num_workers=num_workers),
            on_start=on_start,
            on_verdict=progress.on_verdict,
        )
    else:
        work = ajudge(
            loaded,
            out=out,
            config=config,
            model=server.model,
            strategy=strategy,
            options=options,
            on_start=on_start,
            on_verdict=progress.on_verdict,
            on_wait=say,
        )
    run_judging(work, progress.bar, out)
    summary = summary_or_exit(out)
    gate_or_exit(summary, fail_under, SUMMARY_METRICS, summary_failures(summary))


def _first(loaded: LoadedData | ItemStream) -> LoadedData:
    """The items read before judging: all of them, or a stream's first block."""
    return loaded.head if isinstance(loaded, ItemStream) else loaded


def _say_stream(stream: ItemStream, available: int, how: str) -> None:
    """`say_labels` for a stream longer than its first block, whose labels are described from that block."""
    if stream.total is not None and stream.total < available:
        say(f"judging {how} {stream.total} of {available} items")
    head = stream.head
    say(describe_labels(head).replace("labels:", f"labels in the first {len(head.items)} items:", 1))
    for warning in head.warnings:
        warn(warning)
