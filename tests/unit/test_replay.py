"""The replay backend: recorded completions matched to requests, failures when none fits, LLMBar's result files,
and GPT-4's "Output (a)" answers read by the pairwise judge."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pydantic import ValidationError

from jurist import (
    BackendError,
    ConfigError,
    GenerateRequest,
    InputError,
    Item,
    JobOptions,
    JudgeConfig,
    judge,
    make_judge,
)
from jurist.backends import make_backend
from jurist.backends.base import Message
from jurist.backends.replay import ReplayBackend, ReplayRecord, llmbar_records, load_replay_records
from jurist.errors import ParseError
from jurist.formats import PAIRWISE_PATTERNS
from jurist.parse import extract

from .helpers import run

PAIR = Item(id="q1", prompt="Name a prime.", response_a="Seven.", response_b="Nine.", label="A")


def ask(backend: ReplayBackend, user: str, system: str = "Be fair.") -> str:
    request = GenerateRequest(messages=(Message(role="system", content=system), Message(role="user", content=user)))
    return run(backend.generate(request)).text


def test_the_record_whose_texts_occur_in_order_answers():
    backend = ReplayBackend(
        [
            {"texts": ["Name a prime.", "Seven.", "Nine."], "completion": "seven shown first"},
            {"texts": ["Name a prime.", "Nine.", "Seven."], "completion": "nine shown first"},
        ]
    )
    assert ask(backend, "Q: Name a prime.\nA: Seven.\nB: Nine.") == "seven shown first"
    assert ask(backend, "Q: Name a prime.\nA: Nine.\nB: Seven.") == "nine shown first"


def test_each_text_is_searched_after_the_previous_one():
    # The second response quotes the first: [long, short] must not match when short is shown first.
    backend = ReplayBackend(
        [
            {"texts": ["Q", "It is seven.", "seven"], "completion": "long first"},
            {"texts": ["Q", "seven", "It is seven."], "completion": "short first"},
        ]
    )
    assert ask(backend, "Q\nA: seven\nB: It is seven.") == "short first"
    assert ask(backend, "Q\nA: It is seven.\nB: seven") == "long first"


def test_ties_go_to_the_most_texts_then_the_longest():
    backend = ReplayBackend(
        [
            {"texts": ["Name a prime. Seven."], "completion": "one longer text"},
            {"texts": ["Name a prime.", "Seven."], "completion": "two texts"},
            {"texts": ["prime", "Seven."], "completion": "two shorter texts"},
            {"texts": ["Seven."], "completion": "one text"},
        ]
    )
    assert ask(backend, "Name a prime. Seven.") == "two texts"
    assert ask(backend, "Seven. only") == "one text"


def test_only_the_last_user_message_is_matched():
    backend = ReplayBackend([{"texts": ["Seven."], "completion": "x"}])
    with pytest.raises(BackendError) as info:
        ask(backend, "something else", system="Seven.")
    assert info.value.reason == "replay_miss"


def test_a_miss_fails_clearly_and_is_not_retryable():
    backend = ReplayBackend([{"texts": ["Seven."], "completion": "x"}])
    with pytest.raises(BackendError) as info:
        ask(backend, "Eleven.")
    assert info.value.reason == "replay_miss"
    assert not info.value.retryable and not info.value.fatal
    assert "no recorded completion" in str(info.value) and "1 records" in str(info.value)


def test_equally_good_records_with_different_answers_are_ambiguous():
    backend = ReplayBackend(
        [{"texts": ["Seven.", "Nine."], "completion": "A"}, {"texts": ["Seven.", "Nine."], "completion": "B"}]
    )
    with pytest.raises(BackendError) as info:
        ask(backend, "Seven. Nine.")
    assert info.value.reason == "replay_ambiguous"
    same = ReplayBackend([{"texts": ["Seven."], "completion": "A"}, {"texts": ["Seven."], "completion": "A"}])
    assert ask(same, "Seven.") == "A"


def test_response_has_one_call_no_tokens_no_logprobs():
    backend = ReplayBackend([ReplayRecord(texts=["Seven."], completion="[[A]]")])
    request = GenerateRequest(messages=(Message(role="user", content="Seven."),), top_logprobs=5)
    response = run(backend.generate(request))
    assert response.text == "[[A]]" and response.logprobs is None
    assert (response.usage.calls, response.usage.prompt_tokens, response.usage.completion_tokens) == (1, 0, 0)
    caps = backend.capabilities
    assert not (caps.logprobs or caps.json_schema or caps.grammar or caps.prefill)
    assert backend.count_tokens(request.messages) is None


def test_a_record_needs_something_to_match():
    with pytest.raises(ValidationError):
        ReplayRecord(texts=["", ""], completion="A")
    with pytest.raises(ValidationError):
        ReplayRecord(texts=[], completion="A")


def test_replay_spec_loads_jsonl(tmp_path: Path):
    path = tmp_path / "gpt4.jsonl"
    path.write_text(json.dumps({"texts": ["Seven.", "Nine."], "completion": "Output (a)"}) + "\n\n")
    backend = make_backend(f"replay:{path}")
    assert isinstance(backend, ReplayBackend)
    assert backend.name.startswith("replay:gpt4.jsonl@")  # with the content hash, for the response cache
    assert ask(backend, "Seven. Nine.") == "Output (a)"


def test_bad_replay_files_are_reported(tmp_path: Path):
    with pytest.raises(ConfigError, match="does not exist"):
        make_backend(f"replay:{tmp_path / 'missing.jsonl'}")
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"texts": ["x"], "completion": "A"}\n{"texts": "x"}\n')
    with pytest.raises(InputError) as info:
        load_replay_records(bad)
    assert info.value.line == 2 and info.value.hint is not None
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n")
    with pytest.raises(InputError, match="no records"):
        load_replay_records(empty)


def llmbar_result(tmp_path: Path) -> Path:
    row = {
        "input": "Name a prime.",
        "output_1": "Seven.",
        "output_2": "Nine.",
        "label": 1,
        "results": [
            {
                "swap = False": {"completion": ["Output (a)", "stop"], "winner": "1"},
                "swap = True": {"completion": ["Output (b)", "stop"], "winner": "1"},
            }
        ],
    }
    path = tmp_path / "result.json"
    path.write_text(json.dumps([row]))
    return path


def test_llmbar_records_one_per_order(tmp_path: Path):
    records = llmbar_records(llmbar_result(tmp_path))
    assert [r.texts for r in records] == [["Name a prime.", "Seven.", "Nine."], ["Name a prime.", "Nine.", "Seven."]]
    assert [r.completion for r in records] == ["Output (a)", "Output (b)"]


def test_llmbar_records_refuse_other_files(tmp_path: Path):
    path = tmp_path / "result.json"
    path.write_text(json.dumps([{"input": "x", "output_1": "a"}]))
    with pytest.raises(InputError) as info:
        llmbar_records(path)
    assert info.value.line == 1


def test_pairwise_judge_reads_gpt4_answers_in_both_orders(tmp_path: Path):
    backend = ReplayBackend(llmbar_records(llmbar_result(tmp_path)))
    verdict = run(make_judge(backend, JudgeConfig(mode="pairwise"))(PAIR))
    assert verdict.error is None
    assert verdict.outcome.orders is not None and [o.winner for o in verdict.outcome.orders] == ["A", "A"]
    assert verdict.outcome.winner == "A" and verdict.outcome.consistent is True
    assert verdict.raw == ["Output (a)", "Output (b)"]
    assert verdict.usage.calls == 2 and verdict.usage.total_tokens == 0


def test_pairwise_judge_records_a_miss_as_a_failure():
    backend = ReplayBackend([{"texts": ["Another question."], "completion": "Output (a)"}])
    verdict = run(make_judge(backend, JudgeConfig(mode="pairwise"))(PAIR))
    assert verdict.outcome.winner is None and verdict.error is not None
    assert verdict.error.reason == "replay_miss"
    assert "no recorded completion" in verdict.error.message


@pytest.mark.parametrize(
    ("text", "expected"),
    [("Output (a)", "A"), ("Output (b)", "B"), (" output (B)\n", "B"), ("Response A", "A"), ("Assistant B", "B")],
)
def test_an_answer_that_is_only_a_named_choice_is_read(text: str, expected: str):
    assert extract(text, "winner", ["A", "B", "tie"], PAIRWISE_PATTERNS).value == expected


def test_named_choices_inside_a_longer_answer_are_headings_not_verdicts():
    with pytest.raises(ParseError):
        extract("Response A\nis thorough.\nResponse B\nis short.", "winner", ["A", "B", "tie"], PAIRWISE_PATTERNS)


# -- orders the texts cannot tell apart ------------------------------------------------------------------------

EMPTY_VS_A = Item(id="e1", prompt="Reply with one letter.", response_a="", response_b="A", label="B")


def one_letter_records(*, with_orders: bool) -> list[ReplayRecord]:
    # "" occurs everywhere and "A" in the template's own headings: by text alone both records fit both orders
    return [
        ReplayRecord(texts=[EMPTY_VS_A.prompt, "", "A"], completion="Output (b)", order="AB" if with_orders else None),
        ReplayRecord(texts=[EMPTY_VS_A.prompt, "A", ""], completion="Output (a)", order="BA" if with_orders else None),
    ]


def test_an_empty_and_a_one_letter_response_keep_their_orders_apart():
    verdict = run(
        make_judge(ReplayBackend(one_letter_records(with_orders=True)), JudgeConfig(mode="pairwise"))(EMPTY_VS_A)
    )
    assert verdict.error is None and verdict.incomplete is None
    assert verdict.outcome.orders is not None and [o.winner for o in verdict.outcome.orders] == ["B", "B"]
    # without the orders the texts alone cannot say which record answers which request, and the replay says so
    blind = run(
        make_judge(ReplayBackend(one_letter_records(with_orders=False)), JudgeConfig(mode="pairwise"))(EMPTY_VS_A)
    )
    assert blind.error is not None and blind.error.reason == "replay_ambiguous"


def test_llmbar_records_name_their_order(tmp_path: Path):
    assert [r.order for r in llmbar_records(llmbar_result(tmp_path))] == ["AB", "BA"]


def test_identical_responses_replay_each_order_even_through_the_response_cache(tmp_path: Path):
    same = Item(id="s1", prompt="Name a prime.", response_a="Seven.", response_b="Seven.", label="tie")
    records = [
        ReplayRecord(texts=["Name a prime.", "Seven.", "Seven."], completion="Output (a)", order="AB"),
        ReplayRecord(texts=["Name a prime.", "Seven.", "Seven."], completion="Output (b)", order="BA"),
    ]
    options = JobOptions(cache=True, cache_path=tmp_path / "cache.db")
    for out in ("first", "second"):  # the second run would find the first's answers in the cache
        result = judge([same], out=tmp_path / out, config="pairwise", model=ReplayBackend(records), options=options)
        (verdict,) = result.verdicts()
        # the judge chose the response shown first, then the one shown second: response_a both times
        assert verdict.outcome.orders is not None and [o.winner for o in verdict.outcome.orders] == ["A", "A"], out
