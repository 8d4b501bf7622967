"""RAG evaluation: groundedness of an answer to its retrieved passages claim by claim, answer relevance to the
question, and context relevance/precision of each passage (`jurist rag`)."""

from importlib import resources
from pathlib import Path

from .claims import ClaimJudgment, occurs_in, parse_claim_judgment, parse_claim_list, split_claims
from .evaluate import (
    METRICS,
    ContextReport,
    GroundednessReport,
    MetricReport,
    RagReport,
    aevaluate_rag,
    evaluate_rag,
)
from .groundedness import GroundednessJudge, context_text, groundedness_verdict
from .relevance import (
    ContextRelevanceJudge,
    answer_relevance_config,
    average_precision,
    context_precision,
    context_verdict,
)


def example_path() -> Path:
    """The bundled RAG example set: 8 questions with retrieved passages and answers whose claims we labelled
    (metadata `claim_labels`: supported / contradicted / not_found, one per sentence)."""
    return Path(str(resources.files("jurist") / "rag" / "examples" / "rag.jsonl"))


__all__ = [
    "METRICS",
    "ClaimJudgment",
    "ContextRelevanceJudge",
    "ContextReport",
    "GroundednessJudge",
    "GroundednessReport",
    "MetricReport",
    "RagReport",
    "aevaluate_rag",
    "answer_relevance_config",
    "average_precision",
    "context_precision",
    "context_text",
    "context_verdict",
    "evaluate_rag",
    "example_path",
    "groundedness_verdict",
    "occurs_in",
    "parse_claim_judgment",
    "parse_claim_list",
    "split_claims",
]
