"""`jurist rag`: groundedness, answer relevance and context relevance/precision of RAG answers, one command over
one items file (each metric into its own run directory under --out)."""

from __future__ import annotations

from pathlib import Path

import click

from ..rag.evaluate import METRICS, REPORT_FILE, Metric, RagReport, aevaluate_rag
from .common import (
    JudgingProgress,
    Reading,
    Server,
    check_server_options,
    data_options,
    fail,
    few_shot_option,
    min_relevant_option,
    no_cache_option,
    one_line_errors,
    overwrite_option,
    run_judging,
    say,
    server_options,
    wait_option,
)


def _metrics(value: str) -> list[Metric]:
    chosen = [m.strip() for m in value.split(",") if m.strip()]
    unknown = [m for m in chosen if m not in METRICS]
    if unknown or not chosen:
        fail(f"--metrics: unknown metric(s) {', '.join(unknown) or '(none)'}; choose from {', '.join(METRICS)}")
    return chosen  # type: ignore[return-value]


def _mean(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


@click.command("rag")
@click.argument("data", type=click.Path(path_type=Path))
@click.option("--out", type=click.Path(path_type=Path), required=True, help="folder of the metrics' run directories")
@click.option(
    "--metrics",
    default=",".join(METRICS),
    show_default=True,
    help="comma-separated: groundedness, answer_relevance, context_relevance",
)
@click.option(
    "--decompose",
    type=click.Choice(["sentences", "model"]),
    default="sentences",
    show_default=True,
    help="split answers into claims by sentence, or by the model (sentences where its list is unreadable)",
)
@min_relevant_option("context precision")
@few_shot_option
@server_options()
@data_options(
    field_help="read a field from another column: prompt=question, response=answer, contexts=passages",
    label_map_help="not used: the RAG metrics read no gold label",
    records_help="the key of the list of records in a .json DATA file",
)
@no_cache_option
@overwrite_option
@wait_option
def rag(
    data: Path,
    out: Path,
    metrics: str,
    decompose: str,
    min_relevant: int,
    few_shot: bool,
    server: Server,
    reading: Reading,
    no_cache: bool,
    overwrite: bool,
    wait: bool,
) -> None:
    """Evaluate RAG answers: each item has a question (`prompt`), an answer (`response`) and the retrieved passages
    (`contexts`, a list in rank order, or one `context` text).

    \b
    groundedness       the answer split into claims (sentences, or --decompose model), each judged against the
                       passages: supported / contradicted / not found, with the evidence sentence quoted (and
                       checked to occur in them); score = the supported fraction; failed claims counted apart
    answer_relevance   does the answer address the question (rubric answer_relevance, 1-5)
    context_relevance  each passage graded for the question on the TREC 0-3 scale (the relevance task);
                       context precision = the relevant fraction, and its rank-weighted form (average precision)

    Writes one run directory per metric under --out (resumable: run the same command again) and OUT/rag.json.

    Examples:

    \b
      jurist rag answers.jsonl --model openai:gpt-4o-mini --out runs/rag
      jurist rag answers.jsonl --metrics groundedness --decompose model --out runs/rag
    """
    with one_line_errors():
        check_server_options({"--model": server.model}, server.base_url, server.api_key_env)
        chosen = _metrics(metrics)
        loaded = reading.load(data, "pointwise")
        options = server.job(cache=not no_cache, overwrite=overwrite, wait=wait)
    progress = JudgingProgress(out, "items already judged")
    report: RagReport = run_judging(
        aevaluate_rag(
            loaded,
            out=out,
            model=server.model,
            metrics=chosen,
            decompose="model" if decompose == "model" else "sentences",
            few_shot=few_shot,
            min_relevant=min_relevant,
            options=options,
            on_start=progress.on_start,
            on_verdict=progress.on_verdict,
        ),
        progress.bar,
        out,
    )
    click.echo(render_rag(report))
    say(f"report: {out / REPORT_FILE}")


def render_rag(report: RagReport) -> str:
    """The report as a few lines: each metric's mean, with its failures counted."""
    lines = [f"{report.items} items"]
    g = report.groundedness
    if g is not None:
        line = (
            f"groundedness {_mean(g.mean)} ({g.failed} items failed, {g.incomplete} in part); {g.claims} claims: "
            f"{g.supported} supported, {g.contradicted} contradicted, {g.not_found} not found, {g.failed_claims} "
            f"failed; evidence found in the context for {g.evidence_found} of {g.with_evidence} quoted"
        )
        if g.gold_claims:
            line += f"; agrees with the claims' labels on {g.gold_agree} of {g.gold_claims}"
        lines.append(line)
    a = report.answer_relevance
    if a is not None:
        lines.append(f"answer relevance {_mean(a.mean)} on 1-5 ({a.failed} items failed)")
    c = report.context_relevance
    if c is not None:
        lines.append(
            f"context precision {_mean(c.mean)}, average precision {_mean(c.mean_average_precision)} "
            f"(grade >= {c.min_relevant} relevant; {c.failed} items failed, {c.incomplete} in part; "
            f"{c.failed_passages} of {c.passages} passages not graded)"
        )
    calls = sum(m.calls for m in (g, a, c) if m is not None)
    lines.append(f"{calls} model calls")
    return "\n".join(lines)
