"""Prefilled answer openings: sent only to backends that can take them, and the verdict still reads."""

from __future__ import annotations

import asyncio

from jurist import Capabilities, FakeBackend, GenerateRequest, JudgeConfig, make_judge
from jurist.types import Item

PAIR = Item(id="1", prompt="q", response_a="a", response_b="b")


def _answer(request: GenerateRequest) -> str:
    # A backend with prefill returns text that begins with the prefill, as llama.cpp does.
    return request.prefill + ('B"}' if request.prefill else '{"winner": "B"}')


def test_prefill_is_sent_only_when_the_backend_supports_it() -> None:
    plain = FakeBackend(_answer)
    able = FakeBackend(_answer, capabilities=Capabilities(prefill=True))
    for backend, expected in ((plain, ""), (able, '{"winner": "')):
        judge = make_judge(backend, JudgeConfig(mode="pairwise", rationale="none", swap=False))
        verdict = asyncio.run(judge(PAIR))
        assert verdict.outcome.winner == "B"
        assert backend.requests[0].prefill == expected


def test_no_prefill_when_reasoning_comes_first_or_output_is_free_text() -> None:
    backend = FakeBackend(['{"rationale": "r", "winner": "A"}'], capabilities=Capabilities(prefill=True))
    judge = make_judge(backend, JudgeConfig(mode="pairwise", rationale="before", swap=False))
    asyncio.run(judge(PAIR))
    assert backend.requests[0].prefill == '{"rationale": "'
    free = FakeBackend(["[[A]]"], capabilities=Capabilities(prefill=True))
    judge = make_judge(free, JudgeConfig(mode="pairwise", swap=False, structured=False))
    assert asyncio.run(judge(PAIR)).outcome.winner == "A"
    assert free.requests[0].prefill == ""


def test_listwise_prefill_opens_the_array() -> None:
    backend = FakeBackend(lambda r: r.prefill + "2, 1]}", capabilities=Capabilities(prefill=True))
    judge = make_judge(backend, JudgeConfig(mode="listwise", rationale="none"))
    verdict = asyncio.run(judge(Item(id="1", prompt="q", responses=["x", "y"])))
    assert backend.requests[0].prefill == '{"ranking": ['
    assert verdict.outcome.ranking == [2, 1]
