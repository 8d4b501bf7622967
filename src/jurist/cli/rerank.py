"""`jurist rerank`: rerank the top-k of a run with the judge (pointwise grades, pairwise comparisons, or listwise
sliding windows), write the reranked run, and print nDCG@10 and MAP before and after, and the calls per query."""

from __future__ import annotations

from pathlib import Path

import click
from click.core import ParameterSource

from ..errors import ConfigError
from ..ranking import METHODS as RANK_METHODS
from ..retrieval.relevance import relevance_template
from ..retrieval.rerank import (
    METHODS,
    PAIRWISE_TEMPLATE,
    REPORT_FILE,
    RerankReport,
    arerank,
    check_window,
    read_run_for,
)
from ..retrieval.trec import read_passages, read_qrels, read_queries
from .common import (
    Judging,
    JudgingProgress,
    Server,
    check_server_options,
    judge_config_options,
    min_relevant_option,
    no_cache_option,
    no_swap_option,
    one_line_errors,
    overwrite_option,
    run_judging,
    say,
    server_options,
)


@click.command("rerank")
@click.argument("run", type=click.Path(path_type=Path))
@click.option("--queries", type=click.Path(path_type=Path), required=True, help="queries: TSV qid<TAB>text or JSONL")
@click.option("--passages", type=click.Path(path_type=Path), required=True, help="passages: JSONL (id, text) or TSV")
@click.option(
    "--qrels", "human_qrels", type=click.Path(path_type=Path), help="human qrels (qid 0 docid grade), to compare"
)
@click.option(
    "--method",
    type=click.Choice(list(METHODS)),
    default="pointwise",
    show_default=True,
    help="pointwise: relevance grades; pairwise: comparisons ranked by --rank-by; listwise: sliding windows",
)
@click.option(
    "--depth", type=click.IntRange(min=1), default=10, show_default=True, help="rerank the top K of each query"
)
@click.option(
    "--rank-by",
    type=click.Choice(RANK_METHODS),
    help="pairwise: how comparisons are scheduled (default sort: merge sort; adaptive: Bradley-Terry until settled)",
)
@click.option("--rank-budget", type=click.IntRange(min=1), help="--rank-by adaptive: at most this many comparisons")
@click.option("--window", type=int, default=20, show_default=True, help="listwise: passages in one prompt (>= 2)")
@click.option(
    "--step", type=int, default=10, show_default=True, help="listwise: positions the window moves up (1 to window-1)"
)
@click.option(
    "--shuffle-window",
    is_flag=True,
    help="listwise: show each window's passages in a seeded random order and map the answer back",
)
@click.option(
    "--both-orders",
    is_flag=True,
    help="listwise: ask each window twice, as given and reversed, and rank by the mean position",
)
@min_relevant_option("MAP")
@click.option("--out", type=click.Path(path_type=Path), required=True, help="run directory (created, or resumed)")
@server_options()
@judge_config_options(
    on_inconsistent_help="pairwise: when the two orders disagree (probs, tie, or flag: the pair counts as a tie)",
    rationale_default="none",
    rationale_help="pointwise and pairwise: ask for the rationale before the answer, after it, or not at all",
)
@no_swap_option
@click.option("--seed", type=int, default=0, show_default=True, help="the judge's seed (and the window shuffle's)")
@no_cache_option
@overwrite_option
def rerank(
    run: Path,
    queries: Path,
    passages: Path,
    human_qrels: Path | None,
    method: str,
    depth: int,
    rank_by: str | None,
    rank_budget: int | None,
    window: int,
    step: int,
    shuffle_window: bool,
    both_orders: bool,
    min_relevant: int,
    out: Path,
    server: Server,
    judging: Judging,
    no_swap: bool,
    seed: int,
    no_cache: bool,
    overwrite: bool,
) -> None:
    """Rerank the top --depth documents of each query of RUN (a TREC run file) with the judge, keeping the rest
    below in their order: --method pointwise grades each passage's relevance (0-3, the relevance task) and sorts by
    the grade (probability-weighted where the model gives logprobs); pairwise ranks by comparisons (--rank-by sort or
    adaptive, the rerank_pairwise template); listwise asks RankGPT-style windows of --window passages, from the
    bottom of the top-k to the top, --step at a time, each answered as a permutation "[2] > [1] > ...".

    Writes OUT/reranked.run (tag jurist-METHOD) and OUT/rerank_report.json (calls and tokens per query, failures
    with their reasons, and with --qrels nDCG@10 and MAP before and after). Resumable: the same command again asks
    the model nothing it has answered.

    Examples:

    \b
      jurist rerank bm25.run --queries q.tsv --passages p.jsonl --qrels human.qrels --depth 20 --out runs/rr
      jurist rerank bm25.run --queries q.tsv --passages p.jsonl --method listwise --window 4 --step 2 \\
          --both-orders --model openai:gpt-4o-mini --out runs/rr_listwise
    """
    with one_line_errors():
        _refuse_options_of_other_methods(method, judging)
        if method == "listwise":
            check_window(window, step)
        check_server_options({"--model": server.model}, server.base_url, server.api_key_env)
        the_queries = read_queries(queries)
        the_passages = read_passages(passages)
        entries = read_run_for(run, the_queries, the_passages, depth)
        human = None if human_qrels is None else read_qrels(human_qrels)
        config = None
        if method == "pointwise":
            config = judging.config("pointwise", seed).model_copy(
                update={
                    "template": judging.template or relevance_template(),
                    "rubric": judging.rubric or "passage_relevance",
                }
            )
        elif method == "pairwise":
            config = judging.config("pairwise", seed, swap=not no_swap)
            config = config.model_copy(update={"template": judging.template or PAIRWISE_TEMPLATE})
        else:
            config = judging.config("listwise", seed)
        options = server.job(cache=not no_cache, overwrite=overwrite)

    progress = JudgingProgress(out, "passages already graded" if method == "pointwise" else "queries already reranked")
    result = run_judging(
        arerank(
            entries,
            the_queries,
            the_passages,
            out=out,
            method=method,  # type: ignore[arg-type]
            depth=depth,
            human=human,
            config=config,
            model=server.model,
            options=options,
            rank_by=rank_by or "sort",
            rank_budget=rank_budget,
            window=window,
            step=step,
            shuffle_window=shuffle_window,
            both_orders=both_orders,
            seed=seed,
            min_relevant=min_relevant,
            on_start=progress.on_start,
            on_verdict=progress.on_verdict,
        ),
        progress.bar,
        out,
    )
    _print(result.report, out)


# the options that only one method reads: given to another, they would be silently ignored
_ONLY_FOR = {
    "rank_by": ("--rank-by", "pairwise"),
    "rank_budget": ("--rank-budget", "pairwise"),
    "no_swap": ("--no-swap", "pairwise"),
    "on_inconsistent": ("--on-inconsistent", "pairwise"),
    "no_tie": ("--no-tie", "pairwise"),
    "window": ("--window", "listwise"),
    "step": ("--step", "listwise"),
    "shuffle_window": ("--shuffle-window", "listwise"),
    "both_orders": ("--both-orders", "listwise"),
}


def _refuse_options_of_other_methods(method: str, judging: Judging) -> None:
    ctx = click.get_current_context()
    for name, (flag, owner) in _ONLY_FOR.items():
        given = ctx.get_parameter_source(name) in (ParameterSource.COMMANDLINE, ParameterSource.ENVIRONMENT)
        if given and owner != method:
            raise ConfigError(f"{flag} is for --method {owner}, not {method}: leave it out")
    if method == "listwise":
        for value, flag in ((judging.rubric, "--rubric"), (judging.scale, "--scale"), (judging.template, "--template")):
            if value is not None:
                raise ConfigError(f"{flag} is for the pointwise and pairwise judges; listwise uses its own prompt")


def _print(report: RerankReport, out: Path) -> None:
    say(
        f"reranked the top {report.depth} documents of {report.reranked_queries} of the {report.queries} queries by "
        f"{report.method}: "
        f"{report.calls_per_query:.1f} calls and {report.tokens_per_query:.0f} tokens per query; "
        f"{report.failures} failures"
    )
    for reason in report.failure_reasons[:5]:
        click.echo(f"  failure: {click.unstyle(reason)[:200]}")
    if report.failures > 5:
        click.echo(f"  ... and {report.failures - 5} more in {out / REPORT_FILE}")
    if report.before is not None and report.after is not None:
        b, a = report.before, report.after
        click.echo(f"{'run':10} {'nDCG@10':>8} {'MAP':>7}")
        click.echo(f"{'before':10} {b.ndcg_10:8.4f} {b.map:7.4f}")
        click.echo(f"{'after':10} {a.ndcg_10:8.4f} {a.map:7.4f}")
        click.echo(f"({b.queries} queries with human qrels; {a.missing_queries} of them not in the run, scored 0)")
    say(f"reranked run: {report.run_file}; report: {out / REPORT_FILE}")
