"""`evaluate_rag`: the RAG metrics of a set of items (question = `prompt`, answer = `response`, retrieved passages =
`contexts`), each metric judged into its own run directory under `out` (resumable), and `out/rag.json`."""

from __future__ import annotations

import statistics
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel

from .. import files
from ..api import ajudge, sync_twin
from ..backends.base import Backend
from ..data.load import DataSource, LoadedData, load_data
from ..errors import ConfigError
from ..outcomes import Score
from ..retrieval.metrics import MIN_RELEVANT
from ..run.engine import JobOptions
from ..run.log import read_run
from ..types import Verdict
from .groundedness import Decompose, GroundednessJudge, require_contexts
from .relevance import ContextRelevanceJudge, answer_relevance_config

Metric = Literal["groundedness", "answer_relevance", "context_relevance"]
METRICS: tuple[Metric, ...] = ("groundedness", "answer_relevance", "context_relevance")
REPORT_FILE = "rag.json"


class MetricReport(BaseModel):
    """One metric over the items: its run directory, how many items it judged, failed on (no score) or judged in
    part (`incomplete`: some claims or passages failed, left out of the item's score), the mean score of the items
    scored (groundedness: supported fraction; answer relevance: 1-5; context relevance: precision), and calls."""

    run: Path
    items: int
    failed: int
    incomplete: int
    mean: float | None
    calls: int


class GroundednessReport(MetricReport):
    """Claims over all items, by label; `failed_claims` could not be judged (counted apart, never as not found);
    `evidence_found` of `with_evidence` quoted evidence sentences occur in the context. Where items carry our
    labels of their claims (metadata `claim_labels`, one per claim found), `gold_claims` were compared and
    `gold_agree` agreed (failed claims count as disagreeing)."""

    claims: int
    supported: int
    contradicted: int
    not_found: int
    failed_claims: int
    with_evidence: int
    evidence_found: int
    gold_claims: int = 0
    gold_agree: int = 0


class ContextReport(MetricReport):
    """Passages over all items; `mean` is the mean context precision, `mean_average_precision` its rank-weighted
    form; `failed_passages` could not be graded (left out of both)."""

    passages: int
    failed_passages: int
    mean_average_precision: float | None
    min_relevant: int


class RagReport(BaseModel):
    out: Path
    items: int
    groundedness: GroundednessReport | None = None
    answer_relevance: MetricReport | None = None
    context_relevance: ContextReport | None = None


def _scores(verdicts: list[Verdict]) -> list[float]:
    return [v.outcome.score for v in verdicts if isinstance(v.outcome, Score) and v.outcome.score is not None]


def _base(run: Path, verdicts: list[Verdict]) -> dict[str, Any]:
    scores = _scores([v for v in verdicts if v.error is None])
    return {
        "run": run,
        "items": len(verdicts),
        "failed": sum(v.error is not None for v in verdicts),
        "incomplete": sum(v.error is None and v.incomplete is not None for v in verdicts),
        "mean": statistics.fmean(scores) if scores else None,
        "calls": sum(v.usage.calls for v in verdicts),
    }


def groundedness_report(run: Path, verdicts: list[Verdict]) -> GroundednessReport:
    """Sum up groundedness verdicts (their per-claim records in `strategy`)."""
    claims = [c for v in verdicts for c in (v.strategy or {}).get("claims", [])]
    gold_claims = gold_agree = 0
    for v in verdicts:
        gold = (v.metadata or {}).get("claim_labels")
        mine = (v.strategy or {}).get("claims", [])
        if isinstance(gold, list) and len(gold) == len(mine):
            gold_claims += len(gold)
            gold_agree += sum(c["label"] == g for c, g in zip(mine, gold, strict=True))
    return GroundednessReport(
        **_base(run, verdicts),
        claims=len(claims),
        supported=sum(c["label"] == "supported" for c in claims),
        contradicted=sum(c["label"] == "contradicted" for c in claims),
        not_found=sum(c["label"] == "not_found" for c in claims),
        failed_claims=sum(c["label"] is None for c in claims),
        with_evidence=sum(bool(c["evidence"]) for c in claims),
        evidence_found=sum(bool(c["evidence_found"]) for c in claims),
        gold_claims=gold_claims,
        gold_agree=gold_agree,
    )


def context_report(run: Path, verdicts: list[Verdict], min_relevant: int) -> ContextReport:
    """Sum up context relevance verdicts (their per-passage records in `strategy`)."""
    records = [v.strategy or {} for v in verdicts if v.error is None]
    ap = [r["average_precision"] for r in records if r.get("average_precision") is not None]
    passages = [p for r in records for p in r.get("passages", [])]
    failed_items = [v for v in verdicts if v.error is not None]
    return ContextReport(
        **_base(run, verdicts),
        passages=len(passages) + sum(len((v.item.contexts or []) if v.item else []) for v in failed_items),
        failed_passages=sum(p["grade"] is None for p in passages)
        + sum(len((v.item.contexts or []) if v.item else []) for v in failed_items),
        mean_average_precision=statistics.fmean(ap) if ap else None,
        min_relevant=min_relevant,
    )


async def aevaluate_rag(
    data: DataSource,
    *,
    out: str | Path,
    model: str | Backend | None = None,
    metrics: Sequence[Metric] = METRICS,
    decompose: Decompose = "sentences",
    few_shot: bool = False,
    min_relevant: int = MIN_RELEVANT,
    options: JobOptions | None = None,
    on_start: Callable[[int, int], None] | None = None,
    on_verdict: Callable[[Verdict], None] | None = None,
) -> RagReport:
    """Judge the chosen metrics of every item into `out/<metric>/` (run directories, resumable) and write
    `out/rag.json`; `model` as for `jurist.judge` (default: the embedded model). Groundedness and context relevance
    need every item's `contexts`: an item without them is an InputError before any call."""
    chosen = list(dict.fromkeys(metrics))
    unknown = [m for m in chosen if m not in METRICS]
    if unknown or not chosen:
        named = ", ".join(unknown) or "(none given)"
        raise ConfigError(f"unknown RAG metric(s) {named}; choose from {', '.join(METRICS)}")
    if not 0 <= min_relevant <= 3:
        raise ConfigError(f"min_relevant is {min_relevant}; it is a grade on the TREC 0-3 scale")
    loaded = load_data(data, "pointwise")
    if "groundedness" in chosen or "context_relevance" in chosen:
        require_contexts(loaded)
    # our judges read no gold label; answer relevance's scale check would refuse one that is not on 1-5
    unlabelled = LoadedData(
        path=loaded.path,
        items=[item.model_copy(update={"label": None}) for item in loaded.items],
        lines=loaded.lines,
        unit=loaded.unit,
        field_map=loaded.field_map,
    )
    root = Path(out)
    report = RagReport(out=root, items=len(loaded.items))
    common: dict[str, Any] = {"model": model, "options": options, "on_start": on_start, "on_verdict": on_verdict}
    for metric in chosen:
        run = root / metric
        if metric == "groundedness":
            await ajudge(unlabelled, out=run, judge=lambda b: GroundednessJudge(b, decompose=decompose), **common)
            report.groundedness = groundedness_report(run, read_run(run).verdicts)
        elif metric == "answer_relevance":
            await ajudge(unlabelled, out=run, config=answer_relevance_config(), **common)
            report.answer_relevance = MetricReport(**_base(run, read_run(run).verdicts))
        else:
            judge = lambda b: ContextRelevanceJudge(b, few_shot=few_shot, min_relevant=min_relevant)  # noqa: E731
            await ajudge(unlabelled, out=run, judge=judge, **common)
            report.context_relevance = context_report(run, read_run(run).verdicts, min_relevant)
    root.mkdir(parents=True, exist_ok=True)
    files.write_atomic(root / REPORT_FILE, report.model_dump_json(indent=2))
    return report


evaluate_rag = sync_twin(aevaluate_rag)
