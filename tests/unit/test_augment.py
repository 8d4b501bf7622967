"""Write-first strategies: self-generated reference, revision as reference, generated metrics."""

from __future__ import annotations

import asyncio

import pytest

from jurist import BackendError, ConfigError, FakeBackend, GenerateRequest, JobOptions, JudgeConfig, judge, make_judge
from jurist.judges.base import judge_item
from jurist.strategies import GeneratedMetrics, Revision, SelfReference
from jurist.types import Item

PAIR = Item(id="1", prompt="What is 6 x 7?", response_a="42", response_b="48")


def _script(request: GenerateRequest) -> str:
    text = request.messages[-1].content
    if text.startswith("Answer the following request"):
        return "6 x 7 = 42."
    if text.startswith("Here is a request and a response"):
        return "The capital of France is Paris."
    if text.startswith("Write 2 short questions"):
        return "1. Is the product correct?\n2. Is it a single number?\n3. An extra line"
    return '{"winner": "A"}' if "winner" in text else '{"score": "4"}'


def test_self_reference_answers_first_and_judges_against_it() -> None:
    backend = FakeBackend(_script)
    strategy = SelfReference(make_judge(backend, JudgeConfig(mode="pairwise", swap=False)))
    verdict = asyncio.run(judge_item(strategy, PAIR))  # stamped, as the engine stamps it
    assert verdict.outcome.winner == "A"
    assert verdict.strategy is not None and verdict.strategy["written"] == "6 x 7 = 42."
    assert "# Reference answer\n6 x 7 = 42." in backend.requests[1].messages[-1].content
    assert verdict.usage.calls == 2 and verdict.raw[0] == "6 x 7 = 42."
    assert verdict.item_hash == PAIR.content_hash()  # the item as given, so resuming recognises it


def test_self_reference_keeps_a_given_reference() -> None:
    backend = FakeBackend(_script)
    strategy = SelfReference(make_judge(backend, JudgeConfig(mode="pairwise", swap=False)))
    verdict = asyncio.run(strategy(PAIR.model_copy(update={"reference": "42"})))
    assert len(backend.requests) == 1 and verdict.strategy == {
        "name": "self_reference",
        "written": None,
        "reference": "given",
    }


def test_revision_is_the_reference_and_pointwise_only() -> None:
    backend = FakeBackend(_script)
    strategy = Revision(make_judge(backend, JudgeConfig(mode="pointwise")))
    item = Item(id="p", prompt="What is the capital of France?", response="Lyon.")
    verdict = asyncio.run(strategy(item))
    assert verdict.outcome.score == 4
    assert "Lyon." in backend.requests[0].messages[-1].content
    assert "# Reference answer\nThe capital of France is Paris." in backend.requests[1].messages[-1].content
    with pytest.raises(ConfigError, match="pointwise only"):
        Revision(make_judge(backend, JudgeConfig(mode="pairwise")))


def test_generated_metrics_are_shown_like_rules() -> None:
    backend = FakeBackend(_script)
    strategy = GeneratedMetrics(make_judge(backend, JudgeConfig(mode="pairwise", swap=False)), n=2)
    verdict = asyncio.run(strategy(PAIR))
    prompt = backend.requests[1].messages[-1].content
    assert "- Is the product correct?\n- Is it a single number?\n" in prompt and "An extra line" not in prompt
    assert verdict.strategy is not None
    assert verdict.strategy["metrics"] == ["Is the product correct?", "Is it a single number?"]


def test_a_failed_extra_call_is_a_recorded_failure() -> None:
    def script(request: GenerateRequest) -> str | Exception:
        return BackendError("boom", reason="http_500", retryable=True)

    strategy = SelfReference(make_judge(FakeBackend(script), JudgeConfig(mode="pairwise")))
    verdict = asyncio.run(strategy(PAIR))
    assert verdict.error is not None and verdict.error.reason == "http_500" and verdict.error.retryable


def test_bad_configuration_and_fingerprints() -> None:
    backend = FakeBackend(_script)
    base = make_judge(backend, JudgeConfig(mode="pairwise"))
    with pytest.raises(ConfigError, match="n must be at least 1"):
        GeneratedMetrics(base, n=0)
    with pytest.raises(ConfigError, match="max_tokens"):
        SelfReference(base, max_tokens=0)
    with pytest.raises(ConfigError, match="model judge"):
        SelfReference(SelfReference(base))  # type: ignore[arg-type]
    prints = {
        SelfReference(base).fingerprint,
        SelfReference(base, max_tokens=64).fingerprint,
        GeneratedMetrics(base, n=2).fingerprint,
        GeneratedMetrics(base, n=3).fingerprint,
        base.fingerprint,
    }
    assert len(prints) == 5


def test_runs_into_a_run_directory(tmp_path) -> None:  # type: ignore[no-untyped-def]
    backend = FakeBackend(_script)
    strategy = SelfReference(make_judge(backend, JudgeConfig(mode="pairwise")))
    result = judge([PAIR], out=tmp_path, judge=strategy, options=JobOptions(cache=False))
    (verdict,) = result.verdicts()
    assert verdict.strategy is not None and verdict.strategy["name"] == "self_reference"
    judge([PAIR], out=tmp_path, judge=strategy, options=JobOptions(cache=False))
    assert len(backend.requests) == 3  # resumed: nothing sent again
