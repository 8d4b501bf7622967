"""Bracketed labels read from token probabilities where the backend can start the answer (the embedded model), and
from the text elsewhere; step verification and answer equivalence through it."""

from __future__ import annotations

import asyncio
import math

import pytest

from jurist.backends.base import Capabilities, GenerateRequest, GenerateResponse, TokenLogprob
from jurist.backends.fake import FakeBackend
from jurist.judges.labels import ask_label
from jurist.reasoning.answers import EquivalenceJudge
from jurist.reasoning.steps import StepJudge
from jurist.types import Item, Usage

ABLE = Capabilities(prefill=True, logprobs=True, max_concurrency=1)


def _tokens(top: dict[str, float], chosen: str) -> object:
    """A reply that opens with the prefilled "[[" and whose next token has the alternatives `top` (probabilities)."""

    def answer(request: GenerateRequest) -> GenerateResponse:
        assert request.prefill == "[[" and request.top_logprobs == 10
        logs = {token: math.log(p) for token, p in top.items()}
        tokens = [TokenLogprob(token="[[", logprob=0.0), TokenLogprob(token=chosen, logprob=logs[chosen], top=logs)]
        return GenerateResponse(text="[[" + chosen + " and then rambling", logprobs=tokens, usage=Usage(calls=1))

    return answer


def test_the_label_is_read_from_the_next_tokens_probabilities() -> None:
    backend = FakeBackend(_tokens({"IN": 0.3, "COR": 0.6, "NE": 0.05, "The": 0.05}, "COR"), capabilities=ABLE)
    answer = asyncio.run(ask_label(backend, "judge", ("correct", "incorrect", "neutral"), max_tokens=256))
    assert answer.label == "correct"
    expected = {"correct": 0.6 / 0.95, "incorrect": 0.3 / 0.95, "neutral": 0.05 / 0.95}  # "The" is no label
    assert answer.probabilities == pytest.approx(expected)


def test_without_probabilities_the_label_is_read_from_the_text() -> None:
    backend = FakeBackend("Looks fine. [[INCORRECT]] no wait [[correct]]")
    answer = asyncio.run(ask_label(backend, "judge", ("correct", "incorrect", "neutral"), max_tokens=256))
    assert answer.label == "correct" and answer.probabilities is None
    assert backend.requests[0].prefill == "" and backend.requests[0].max_tokens == 256


def test_no_label_anywhere_is_none() -> None:
    backend = FakeBackend("The answer is 4 pens.")
    assert asyncio.run(ask_label(backend, "judge", ("correct", "incorrect"), max_tokens=64)).label is None


def test_step_verification_keeps_each_steps_probabilities() -> None:
    backend = FakeBackend(_tokens({"IN": 0.7, "COR": 0.3}, "IN"), capabilities=ABLE)
    verdict = asyncio.run(StepJudge(backend)(Item(id="s", prompt="2+2?", response="1. 2+2=5\n2. So 5.")))
    assert verdict.strategy is not None
    assert verdict.strategy["labels"] == ["incorrect", "incorrect"] and verdict.strategy["first_error"] == 0
    assert verdict.strategy["probabilities"][0] == pytest.approx({"correct": 0.3, "incorrect": 0.7, "neutral": 0.0})
    assert StepJudge(backend).spec.identity["labels_from"] == "token probabilities"
    assert StepJudge(FakeBackend("x")).spec.identity["labels_from"] == "text"


def test_equivalence_asks_the_model_by_probabilities_when_the_normaliser_cannot_decide() -> None:
    backend = FakeBackend(_tokens({"EQU": 0.8, "DIFF": 0.2}, "EQU"), capabilities=ABLE)
    item = Item(id="e", prompt="Name the capital.", response="the city of Paris", reference="Paris, France")
    verdict = asyncio.run(EquivalenceJudge(backend)(item))
    assert verdict.strategy is not None and verdict.strategy["path"] == "judge"
    assert verdict.outcome is not None and verdict.outcome.decision() == "equal"
    assert verdict.strategy["probabilities"] == pytest.approx({"equivalent": 0.8, "different": 0.2})
