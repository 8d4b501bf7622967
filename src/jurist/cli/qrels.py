"""`jurist qrels`: judge the pool of some runs for relevance, write LLM qrels, and evaluate every run with them (and
with human qrels), with the agreement of the two and how alike they order the systems."""

from __future__ import annotations

from pathlib import Path

import click
from click.core import ParameterSource

from ..errors import ConfigError
from ..retrieval.pooling import QRELS_FILE, REPORT_FILE, QrelsReport, ajudge_qrels
from ..retrieval.relevance import relevance_template
from ..retrieval.trec import read_passages, read_qrels, read_queries, read_run
from .common import (
    Judging,
    JudgingProgress,
    Server,
    check_server_options,
    few_shot_option,
    judge_config_options,
    min_relevant_option,
    no_cache_option,
    one_line_errors,
    overwrite_option,
    run_judging,
    say,
    server_options,
)


@click.command("qrels")
@click.argument("runs", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--queries", type=click.Path(path_type=Path), required=True, help="queries: TSV qid<TAB>text or JSONL")
@click.option("--passages", type=click.Path(path_type=Path), required=True, help="passages: JSONL (id, text) or TSV")
@click.option(
    "--qrels", "human_qrels", type=click.Path(path_type=Path), help="human qrels (qid 0 docid grade), to compare"
)
@click.option("--depth", type=click.IntRange(min=1), default=10, show_default=True, help="pool the top K of each run")
@click.option("--recall-k", type=click.IntRange(min=1), default=100, show_default=True, help="the k of Recall@k")
@min_relevant_option("MAP, MRR, Recall and binarised kappa")
@few_shot_option
@click.option("--out", type=click.Path(path_type=Path), required=True, help="run directory (created, or resumed)")
@server_options()
@judge_config_options(
    on_inconsistent_help="refused: relevance grades are pointwise",
    rationale_default="none",
    rationale_help="ask for the rationale before the grade, after it, or not at all",
)
@click.option("--seed", type=int, default=0, show_default=True, help="the judge's seed")
@no_cache_option
@overwrite_option
def qrels(
    runs: tuple[Path, ...],
    queries: Path,
    passages: Path,
    human_qrels: Path | None,
    depth: int,
    recall_k: int,
    min_relevant: int,
    few_shot: bool,
    out: Path,
    server: Server,
    judging: Judging,
    seed: int,
    no_cache: bool,
    overwrite: bool,
) -> None:
    """Judge the relevance of the pool of RUNS (TREC run files: the union of each run's top --depth documents per
    query) on the TREC 0-3 scale, write the LLM qrels (OUT/llm.qrels) and a report (OUT/qrels_report.json), and print
    nDCG@10, MAP, MRR and Recall@k of every run under the LLM qrels and, with --qrels, under the human ones, with
    the agreement of the two (Cohen's kappa, Krippendorff's alpha) and the correlation of the system orderings they
    give (Kendall's tau, tau-AP). The judge is the relevance task (rubric passage_relevance) unless --rubric or
    --template say otherwise. Resumable: run the same command again after an interruption.

    Examples:

    \b
      jurist qrels bm25.run dense.run --queries queries.tsv --passages corpus.jsonl --out runs/qrels
      jurist qrels *.run --queries q.tsv --passages p.jsonl --qrels human.qrels --depth 20 --few-shot \\
          --model openai:gpt-4o-mini --out runs/qrels_gpt
    """
    with one_line_errors():
        _refuse_pairwise_options()
        check_server_options({"--model": server.model}, server.base_url, server.api_key_env)
        read_queries_ = read_queries(queries)
        loaded_runs = {str(path): read_run(path, read_queries_) for path in runs}
        human = None if human_qrels is None else read_qrels(human_qrels)
        config = judging.config("pointwise", seed)
        config = config.model_copy(
            update={
                "template": judging.template or relevance_template(few_shot),
                "rubric": judging.rubric or "passage_relevance",
            }
        )
        options = server.job(cache=not no_cache, overwrite=overwrite)
        the_passages = read_passages(passages)

    progress = JudgingProgress(out, "pairs already judged")
    report = run_judging(
        ajudge_qrels(
            loaded_runs,
            read_queries_,
            the_passages,
            out=out,
            depth=depth,
            human=human,
            config=config,
            model=server.model,
            options=options,
            recall_k=recall_k,
            min_relevant=min_relevant,
            on_start=progress.on_start,
            on_verdict=progress.on_verdict,
        ),
        progress.bar,
        out,
    )
    _print(report, out)


def _refuse_pairwise_options() -> None:
    """The relevance judge is pointwise: the shared judging options' pairwise settings would be silently ignored."""
    ctx = click.get_current_context()
    for name, flag in (("no_tie", "--no-tie"), ("on_inconsistent", "--on-inconsistent")):
        if ctx.get_parameter_source(name) in (ParameterSource.COMMANDLINE, ParameterSource.ENVIRONMENT):
            raise ConfigError(f"{flag} is for pairwise judging; relevance grades are pointwise: leave it out")


def _print(report: QrelsReport, out: Path) -> None:
    say(
        f"pool: {report.pooled} (query, doc) pairs over {report.queries} queries at depth {report.depth}; "
        f"graded {report.graded}, failed {report.failed} (left unjudged); "
        f"{report.calls_per_query:.1f} calls and {report.tokens_per_query:.0f} tokens per query"
    )
    k = report.runs[0].llm.recall_k
    click.echo(f"{'run':30} {'qrels':6} {'nDCG@10':>8} {'MAP':>7} {'MRR':>7} {f'R@{k}':>7}")
    for e in report.runs:
        for which, s in (("llm", e.llm), ("human", e.human)):
            if s is not None:
                click.echo(f"{e.name[-30:]:30} {which:6} {s.ndcg_10:8.4f} {s.map:7.4f} {s.mrr:7.4f} {s.recall:7.4f}")
    if report.agreement is not None:
        a = report.agreement
        click.echo(
            f"agreement with human qrels on {a.pairs} pairs ({a.only_human} judged only by humans, {a.only_llm} only "
            f"by the LLM): kappa {a.kappa:.3f} (4 grades), {a.kappa_binary:.3f} (grade >= {a.min_relevant}); "
            f"Krippendorff's alpha (ordinal) {a.alpha:.3f}"
        )
    for metric, o in (report.ordering or {}).items():
        click.echo(
            f"system ordering by {metric} ({o.systems} runs): Kendall's tau {o.kendall_tau:.3f}, tau-AP {o.tau_ap:.3f}"
        )
    say(f"LLM qrels: {out / QRELS_FILE}; report: {out / REPORT_FILE}")
