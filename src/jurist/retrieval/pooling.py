"""Pooled LLM judging of runs: judge the union of the runs' top-k documents for relevance, write the LLM qrels,
and evaluate every run with them (and with human qrels when given), with the agreement of the two and how alike
they order the systems. `jurist qrels` is this from the command line."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from pydantic import BaseModel

from ..api import ajudge, sync_twin
from ..backends import Backend
from ..errors import InputError
from ..files import write_atomic
from ..judges import JudgeConfig
from ..run.engine import JobOptions
from ..types import Usage, Verdict
from .metrics import MIN_RELEVANT, QrelsAgreement, RunScores, SystemOrdering, evaluate_run, qrels_agreement
from .metrics import system_ordering as ordering_of
from .relevance import relevance_config, relevance_items, verdict_qrels
from .trec import Passage, Qrel, Query, RunEntry, pool, write_qrels

QRELS_FILE = "llm.qrels"
REPORT_FILE = "qrels_report.json"


class RunEvaluation(BaseModel):
    name: str
    llm: RunScores
    human: RunScores | None = None


class QrelsReport(BaseModel):
    """What `judge_qrels` did and found; also written to REPORT_FILE in the run directory."""

    depth: int
    queries: int  # queries with at least one pooled document
    pooled: int  # (query, doc) pairs judged
    graded: int
    failed: int  # pooled pairs with no grade: left out of the LLM qrels (so counted as unjudged, i.e. irrelevant)
    failed_ids: list[str]
    usage: Usage  # the judge's tokens and calls over the pool
    calls_per_query: float
    tokens_per_query: float
    runs: list[RunEvaluation]
    agreement: QrelsAgreement | None = None
    # by metric (ndcg_10, map): the systems ordered under human vs LLM qrels; with human qrels and >= 2 runs
    ordering: dict[str, SystemOrdering] | None = None


async def ajudge_qrels(
    runs: Mapping[str, Sequence[RunEntry]],
    queries: Mapping[str, Query],
    passages: Mapping[str, Passage],
    *,
    out: str | Path,
    depth: int = 10,
    human: Sequence[Qrel] | None = None,
    config: JudgeConfig | None = None,
    model: str | Backend | None = None,
    options: JobOptions | None = None,
    recall_k: int = 100,
    min_relevant: int = MIN_RELEVANT,
    on_start: Callable[[int, int], None] | None = None,
    on_verdict: Callable[[Verdict], None] | None = None,
) -> QrelsReport:
    """Judge the pool of `runs` (named runs, e.g. by file) at `depth` into the run directory `out` (resumable),
    write `out/llm.qrels` and `out/qrels_report.json`, and return the report. `config` defaults to the zero-shot
    relevance task (`relevance_config()`)."""
    if not runs:
        raise InputError("give at least one run to pool", field="runs")
    pairs = pool(runs.values(), depth)
    items = relevance_items(queries, passages, pairs)
    result = await ajudge(
        items,
        out=out,
        config=config or relevance_config(),
        model=model,
        options=options,
        on_start=on_start,
        on_verdict=on_verdict,
    )
    wanted = {item.id for item in items}
    verdicts = [v for v in result.verdicts() if v.id in wanted]
    llm, failed = verdict_qrels(verdicts)
    # an item with no verdict at all (the session stopped early) is as unjudged as a failed one
    failed_ids = sorted({*failed, *(wanted - {v.id for v in verdicts})})
    write_qrels(Path(out) / QRELS_FILE, llm)
    usage = sum((v.usage for v in verdicts), Usage())
    n_queries = len({q for q, _ in pairs})
    evaluations = [
        RunEvaluation(
            name=name,
            llm=evaluate_run(entries, llm, recall_k=recall_k, min_relevant=min_relevant),
            human=None if human is None else evaluate_run(entries, human, recall_k=recall_k, min_relevant=min_relevant),
        )
        for name, entries in runs.items()
    ]
    report = QrelsReport(
        depth=depth,
        queries=n_queries,
        pooled=len(pairs),
        graded=len(llm),
        failed=len(failed_ids),
        failed_ids=failed_ids,
        usage=usage,
        calls_per_query=usage.calls / n_queries,
        tokens_per_query=(usage.prompt_tokens + usage.completion_tokens) / n_queries,
        runs=evaluations,
        agreement=None if human is None else qrels_agreement(human, llm, min_relevant=min_relevant),
        ordering=_ordering(evaluations) if human is not None and len(evaluations) >= 2 else None,
    )
    write_atomic(Path(out) / REPORT_FILE, report.model_dump_json(indent=2))
    return report


def _ordering(evaluations: list[RunEvaluation]) -> dict[str, SystemOrdering]:
    found = {}
    for metric in ("ndcg_10", "map"):
        by_human = {e.name: getattr(e.human, metric) for e in evaluations}
        by_llm = {e.name: getattr(e.llm, metric) for e in evaluations}
        found[metric] = ordering_of(by_human, by_llm)
    return found


judge_qrels = sync_twin(ajudge_qrels)
