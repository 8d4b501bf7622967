"""Retrieval evaluation: TREC files (queries, passages, qrels, runs), the relevance judging task, IR metrics of runs
and the agreement of LLM qrels with human ones."""

from .metrics import (
    QrelsAgreement,
    RunScores,
    SystemOrdering,
    evaluate_run,
    qrels_agreement,
    system_ordering,
    tau_ap,
)
from .pooling import QrelsReport, RunEvaluation, ajudge_qrels, judge_qrels
from .relevance import grade_of, relevance_config, relevance_items, relevance_template, verdict_qrels
from .trec import (
    GRADES,
    Passage,
    Qrel,
    Query,
    RunEntry,
    example_path,
    pool,
    qrels_table,
    read_passages,
    read_qrels,
    read_queries,
    read_run,
    run_table,
    write_qrels,
)

__all__ = [
    "GRADES",
    "Passage",
    "Qrel",
    "QrelsAgreement",
    "QrelsReport",
    "Query",
    "RunEntry",
    "RunEvaluation",
    "RunScores",
    "SystemOrdering",
    "ajudge_qrels",
    "evaluate_run",
    "example_path",
    "grade_of",
    "judge_qrels",
    "pool",
    "qrels_agreement",
    "qrels_table",
    "read_passages",
    "read_qrels",
    "read_queries",
    "read_run",
    "relevance_config",
    "relevance_items",
    "relevance_template",
    "run_table",
    "system_ordering",
    "tau_ap",
    "verdict_qrels",
    "write_qrels",
]
