"""The relevance task: items from query/passage pairs, the prompts it sends, and grades with their expected value."""

from __future__ import annotations

from pathlib import Path

import pytest

from jurist import FakeBackend, GenerateRequest, GenerateResponse, JobOptions, JudgeConfig, judge, make_judge
from jurist.errors import InputError
from jurist.outcomes import Score
from jurist.retrieval.relevance import grade_of, relevance_config, relevance_items, verdict_qrels
from jurist.retrieval.trec import Passage, Qrel, Query
from jurist.rubrics import load_rubric
from jurist.types import Verdict

from .helpers import logprob_capable, user_text, with_logprobs

QUERIES = {"q1": Query(id="q1", text="boiling point of water"), "q2": Query(id="q2", text="capital of peru")}
PASSAGES = {
    "d1": Passage(id="d1", text="Water boils at 100 C at sea level."),
    "d2": Passage(id="d2", text="Lima is the capital of Peru."),
}


def test_items_from_a_pool() -> None:
    items = relevance_items(QUERIES, PASSAGES, [("q1", "d1"), ("q2", "d2"), ("q2", "d1")])
    assert [i.id for i in items] == ["q1/d1", "q2/d2", "q2/d1"]
    assert (items[2].prompt, items[2].response) == ("capital of peru", "Water boils at 100 C at sea level.")
    assert items[2].metadata == {"query_id": "q2", "doc_id": "d1"}


def test_items_refuse_an_unknown_query_or_passage() -> None:
    with pytest.raises(InputError, match="unknown query 'q9'"):
        relevance_items(QUERIES, PASSAGES, [("q9", "d1")])
    with pytest.raises(InputError, match="unknown passage 'd9'"):
        relevance_items(QUERIES, PASSAGES, [("q1", "d9")])


def test_the_rubric_is_the_trec_scale_with_a_description_per_grade() -> None:
    rubric = load_rubric("passage_relevance")
    assert rubric.get_scale().labels == ["0", "1", "2", "3"]
    assert set(rubric.descriptors) == {"0", "1", "2", "3"}


@pytest.mark.parametrize("few_shot", [False, True])
def test_the_prompt_shows_query_passage_grades_and_examples_only_when_few_shot(few_shot: bool) -> None:
    backend = FakeBackend('{"score": "2"}')
    config = relevance_config(few_shot=few_shot, rationale="none")
    request = make_judge(backend, config).requests(relevance_items(QUERIES, PASSAGES, [("q2", "d2")])[0])[0]
    text = user_text(request)
    assert "# Query\ncapital of peru" in text and "# Passage\nLima is the capital of Peru." in text
    assert "3: Perfectly relevant" in text and "an integer from 0 to 3" in text
    assert ("Grade: 3" in text) is few_shot


def test_judging_gives_grades_expected_grades_and_qrels(tmp_path: Path) -> None:
    def reply(request: GenerateRequest) -> GenerateResponse:
        text = user_text(request)
        if "Lima" in text and "peru" in text:
            return with_logprobs('{"score": "3"}', "3", {"3": 0.7, "2": 0.3})
        if "boiling" in text and "boils" in text:
            return with_logprobs('{"score": "2"}', "2", {"2": 0.5, "3": 0.25, "1": 0.25})
        return with_logprobs('{"score": "0"}', "0", {"0": 0.9, "1": 0.1})

    backend = FakeBackend(reply, capabilities=logprob_capable())
    items = relevance_items(QUERIES, PASSAGES, [("q1", "d1"), ("q2", "d2"), ("q2", "d1")])
    result = judge(
        items,
        out=tmp_path / "run",
        config=relevance_config(rationale="none"),
        model=backend,
        options=JobOptions(cache=False),
    )
    verdicts = {v.id: v for v in result.verdicts()}
    expected = {k: v.outcome.expected for k, v in verdicts.items() if isinstance(v.outcome, Score)}
    assert expected == pytest.approx({"q1/d1": 2.0, "q2/d2": 2.7, "q2/d1": 0.1})
    qrels, failed = verdict_qrels(verdicts.values())
    assert failed == []
    assert sorted(qrels, key=lambda q: (q.query_id, q.doc_id)) == [
        Qrel(query_id="q1", doc_id="d1", grade=2),
        Qrel(query_id="q2", doc_id="d1", grade=0),
        Qrel(query_id="q2", doc_id="d2", grade=3),
    ]


def test_a_failed_verdict_has_no_grade_and_is_counted() -> None:
    failed = Verdict(id="q1/d1", mode="pointwise", metadata={"query_id": "q1", "doc_id": "d1"})
    good = Verdict(
        id="q1/d2", mode="pointwise", outcome=Score(score=1, choice="1"), metadata={"query_id": "q1", "doc_id": "d2"}
    )
    assert grade_of(failed) is None and grade_of(good) == 1
    assert verdict_qrels([failed, good]) == ([Qrel(query_id="q1", doc_id="d2", grade=1)], ["q1/d1"])


def test_the_rubric_alone_grades_0_to_3_with_the_generic_template() -> None:
    backend = FakeBackend('{"score": "3", "rationale": "ok"}')
    judge_ = make_judge(backend, JudgeConfig(mode="pointwise", rubric="passage_relevance"))
    item = relevance_items(QUERIES, PASSAGES, [("q2", "d2")])[0]
    text = user_text(judge_.requests(item)[0])
    assert "an integer from 0 to 3" in text and "# Request\ncapital of peru" in text
