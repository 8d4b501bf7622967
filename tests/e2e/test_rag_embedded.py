"""RAG groundedness with the real embedded model, on one answer of two claims."""

from __future__ import annotations

from pathlib import Path

import pytest

from jurist.outcomes import Score
from jurist.rag import evaluate_rag
from jurist.run.engine import JobOptions
from jurist.run.log import read_run

pytest.importorskip("llama_cpp")
pytestmark = pytest.mark.embedded


def test_groundedness_reads_each_claims_label_from_token_probabilities(tmp_path: Path) -> None:
    item = {
        "id": "mars",
        "prompt": "How many moons does Mars have?",
        "response": "Mars has two moons. They are called Phobos and Deimos.",
        "contexts": ["Mars has two small moons, Phobos and Deimos, discovered in 1877."],
    }
    out = tmp_path / "rag"
    report = evaluate_rag([item], out=out, metrics=["groundedness"], options=JobOptions(cache=False))
    assert report.groundedness is not None and report.groundedness.failed_claims == 0
    verdict = read_run(out / "groundedness").verdicts[0]
    claims = (verdict.strategy or {})["claims"]
    assert len(claims) == 2 and usage_shared_the_prefix(verdict.usage.cached_tokens)
    for claim in claims:
        # llama.cpp starts the answer with "[[": the label is the likeliest of the three next tokens
        assert claim["label"] in {"supported", "contradicted", "not_found"}
        assert sum(claim["probabilities"].values()) == pytest.approx(1.0)
    assert isinstance(verdict.outcome, Score) and verdict.outcome.expected is not None
    assert 0.0 <= verdict.outcome.expected <= 1.0


def usage_shared_the_prefix(cached_tokens: int) -> bool:
    """The second claim's prompt repeats the first one's up to the claim: llama.cpp reuses those tokens."""
    return cached_tokens > 40
