"""The judges, driven by the scripted FakeBackend: pointwise, pairwise (with swap), listwise, and failure records."""

from __future__ import annotations

import pytest

from jurist import (
    BackendError,
    FakeBackend,
    GenerateResponse,
    Item,
    ListwiseJudge,
    PairwiseJudge,
    PointwiseJudge,
    Usage,
)
from jurist.backends import Capabilities
from jurist.errors import ContextOverflowError
from jurist.judges.base import judge_item

from .helpers import first_shown, logprob_capable, make, run, user_text, with_logprobs

POINT = Item(id="p1", prompt="Name a prime.", response="Seven.", label=4)
PAIR = Item(id="q1", prompt="Name a prime.", response_a="Seven.", response_b="Nine.", label="A")
LIST = Item(id="r1", prompt="Name a prime.", responses=["Nine.", "Seven.", "Eleven."])


# -- pointwise ----------------------------------------------------------------------------------------------


def test_make_judge_builds_the_judge_of_the_mode():
    assert isinstance(make(FakeBackend(["x"]), mode="pointwise"), PointwiseJudge)
    assert isinstance(make(FakeBackend(["x"]), mode="pairwise"), PairwiseJudge)
    assert isinstance(make(FakeBackend(["x"]), mode="listwise"), ListwiseJudge)


def test_pointwise_score_choice_and_rationale():
    backend = FakeBackend(['{"score": "4", "rationale": "Correct but short."}'])
    verdict = run(judge_item(make(backend, mode="pointwise"), POINT))  # stamped, as the engine stamps it
    assert verdict.error is None and verdict.ok
    assert verdict.outcome.choice == "4"
    assert verdict.outcome.score == 4.0
    assert verdict.rationale == "Correct but short."
    assert verdict.label == 4.0
    assert backend.requests[0].top_logprobs == 0  # the backend has no logprobs


def test_no_structured_sends_no_schema():
    backend = FakeBackend(['{"score": "4", "rationale": "r"}'])
    verdict = run(make(backend, mode="pointwise", structured=False)(POINT))
    assert verdict.outcome.score == 4.0
    assert backend.requests[0].json_schema is None


def test_pointwise_sends_json_schema_with_the_scale_labels():
    backend = FakeBackend(['{"score": "2", "rationale": "r"}'], capabilities=logprob_capable())
    run(make(backend, mode="pointwise")(POINT))
    schema = backend.requests[0].json_schema
    assert schema is not None
    assert schema["properties"]["score"]["enum"] == ["1", "2", "3", "4", "5"]
    assert schema["required"] == ["score", "rationale"]
    assert backend.requests[0].top_logprobs == 10


def test_pointwise_binary_scale_choice_maps_to_value():
    verdict = run(make(FakeBackend(['{"score": "pass", "rationale": "ok"}']), mode="pointwise", scale="binary")(POINT))
    assert verdict.outcome.choice == "pass" and verdict.outcome.score == 1.0


def test_pointwise_categories_scale():
    judge = make(
        FakeBackend(['{"score": "good", "rationale": "ok"}']), mode="pointwise", scale="categories:bad,ok,good"
    )
    verdict = run(judge(POINT))
    assert verdict.outcome.choice == "good" and verdict.outcome.score == 2.0


def test_pointwise_expected_score_from_logprobs():
    text = '{"score": "4", "rationale": "mostly right"}'
    probs = {"3": 0.2, "4": 0.6, "5": 0.1, "Four": 0.1}  # "Four" is no label: renormalised away
    backend = FakeBackend([with_logprobs(text, "4", probs)], capabilities=logprob_capable())
    verdict = run(make(backend, mode="pointwise")(POINT))
    assert verdict.outcome.score == 4.0
    p = {"3": 0.2 / 0.9, "4": 0.6 / 0.9, "5": 0.1 / 0.9}
    assert verdict.outcome.probs == pytest.approx({"1": 0.0, "2": 0.0, **p})
    assert verdict.outcome.expected == pytest.approx(sum(prob * int(s) for s, prob in p.items()))
    assert verdict.outcome.expected == pytest.approx(3.888888, rel=1e-5)


def test_pointwise_no_expected_score_without_logprobs():
    verdict = run(make(FakeBackend(['{"score": "4", "rationale": "r"}']), mode="pointwise")(POINT))
    assert verdict.outcome.score == 4.0
    assert verdict.outcome.expected is None and verdict.outcome.probs is None


def test_pointwise_no_expected_score_on_a_ten_point_scale():
    # "1" is a prefix of "10": a token probability cannot tell them apart, so none is reported.
    text = '{"score": "7", "rationale": "r"}'
    backend = FakeBackend([with_logprobs(text, "7", {"7": 0.5, "8": 0.5})], capabilities=logprob_capable())
    verdict = run(make(backend, mode="pointwise", scale="1-10")(POINT))
    assert verdict.outcome.score == 7.0
    assert verdict.outcome.expected is None


def test_pointwise_rubric_scale_conflict_is_a_config_error():
    from jurist import ConfigError

    with pytest.raises(ConfigError, match="1-5"):
        make(FakeBackend(["x"]), mode="pointwise", rubric="helpfulness", scale="1-10")


def test_pointwise_parse_failure_keeps_raw_text():
    verdict = run(make(FakeBackend(["I would rather not say."]), mode="pointwise")(POINT))
    assert verdict.error is not None
    assert verdict.error.reason == "parse_failure"
    assert verdict.raw == ["I would rather not say."]
    assert verdict.outcome is None
    assert verdict.usage.calls == 1 and verdict.usage.completion_tokens > 0


def test_rationale_none_caps_the_answer_length():
    backend = FakeBackend(['{"score": "3"}'])
    judge = make(backend, mode="pointwise", rationale="none")
    verdict = run(judge(POINT))
    assert verdict.outcome.score == 3.0
    assert backend.requests[0].max_tokens == 32
    assert "rationale" not in user_text(backend.requests[0])


# -- pairwise -----------------------------------------------------------------------------------------------


def _prefers(text: str, a: str = "Seven.", b: str = "Nine."):
    """A judge that always prefers response text `text`, wherever it is shown."""

    def script(request):
        label = "A" if first_shown(request, a, b) == text else "B"
        return f'{{"winner": "{label}", "rationale": "{text} is right"}}'

    return script


def test_pairwise_swap_sends_both_orders():
    backend = FakeBackend(_prefers("Seven."))
    verdict = run(make(backend, mode="pairwise")(PAIR))
    assert len(backend.requests) == 2
    assert first_shown(backend.requests[0], "Seven.", "Nine.") == "Seven."
    assert first_shown(backend.requests[1], "Seven.", "Nine.") == "Nine."
    assert verdict.outcome.winner == "A"
    assert verdict.outcome.consistent is True
    assert verdict.flagged is False
    assert [(o.order, o.winner) for o in verdict.outcome.orders] == [("AB", "A"), ("BA", "A")]
    assert verdict.rationale == "Seven. is right"
    assert len(verdict.raw) == 2


def test_pairwise_consistent_b():
    verdict = run(make(FakeBackend(_prefers("Nine.")), mode="pairwise")(PAIR))
    assert verdict.outcome.winner == "B" and verdict.outcome.consistent is True


def test_pairwise_consistent_tie():
    verdict = run(make(FakeBackend(['{"winner": "tie", "rationale": "same"}']), mode="pairwise")(PAIR))
    assert verdict.outcome.winner == "tie" and verdict.outcome.consistent is True


def test_pairwise_inconsistent_is_a_tie_by_default_without_probabilities():
    verdict = run(make(FakeBackend(['{"winner": "A", "rationale": "first"}']), mode="pairwise")(PAIR))
    assert verdict.outcome.consistent is False
    assert verdict.outcome.probs is None
    assert verdict.outcome.winner == "tie"
    assert verdict.flagged is False


def _position_biased_with_probs():
    """Says "A" in both orders; the AB order is more confident, so the averaged probabilities favour A."""
    text = '{"winner": "A", "rationale": "r"}'
    replies = [
        with_logprobs(text, "A", {"A": 0.6, "B": 0.4}),  # order AB: A (Seven.) at 0.6
        with_logprobs(text, "A", {"A": 0.55, "B": 0.45}),  # order BA: shown-first Nine. at 0.55
    ]
    return FakeBackend(replies, capabilities=logprob_capable())


def test_pairwise_inconsistent_default_uses_probabilities():
    verdict = run(make(_position_biased_with_probs(), mode="pairwise")(PAIR))
    assert verdict.outcome.consistent is False
    assert verdict.outcome.winner == "A"


def test_pairwise_inconsistent_tie_ignores_probabilities():
    verdict = run(make(_position_biased_with_probs(), mode="pairwise", on_inconsistent="tie")(PAIR))
    assert verdict.outcome.consistent is False
    assert verdict.outcome.probs is not None
    assert verdict.outcome.winner == "tie"
    assert verdict.flagged is False


def test_pairwise_inconsistent_flagged():
    verdict = run(make(_position_biased_with_probs(), mode="pairwise", on_inconsistent="flag")(PAIR))
    assert verdict.outcome.consistent is False
    assert verdict.flagged is True
    assert verdict.outcome.winner is None
    assert verdict.error is None


def test_pairwise_inconsistent_decided_by_averaged_probabilities():
    verdict = run(make(_position_biased_with_probs(), mode="pairwise", on_inconsistent="probs")(PAIR))
    assert verdict.outcome.consistent is False
    assert verdict.outcome.orders[0].probs == pytest.approx({"A": 0.6, "B": 0.4, "tie": 0.0})
    assert verdict.outcome.orders[1].probs == pytest.approx({"A": 0.45, "B": 0.55, "tie": 0.0})
    assert verdict.outcome.probs == pytest.approx({"A": 0.525, "B": 0.475, "tie": 0.0})
    assert verdict.outcome.winner == "A"


def test_pairwise_probs_argmax_can_pick_b():
    text = '{"winner": "A", "rationale": "r"}'
    replies = [with_logprobs(text, "A", {"A": 0.51, "B": 0.49}), with_logprobs(text, "A", {"A": 0.9, "B": 0.1})]
    backend = FakeBackend(replies, capabilities=logprob_capable())
    verdict = run(make(backend, mode="pairwise", on_inconsistent="probs")(PAIR))
    assert verdict.outcome.winner == "B"


def test_pairwise_probs_fall_back_to_tie_without_logprobs():
    judge = make(FakeBackend(['{"winner": "A", "rationale": "r"}']), mode="pairwise", on_inconsistent="probs")
    verdict = run(judge(PAIR))
    assert verdict.outcome.probs is None
    assert verdict.outcome.winner == "tie"


@pytest.mark.parametrize("failing", ["parse", "backend"])
def test_pairwise_one_order_failing_uses_the_other(failing):
    bad = "no verdict here" if failing == "parse" else BackendError("HTTP 400: bad", status=400, reason="http_400")
    backend = FakeBackend(['{"winner": "B", "rationale": "r"}', bad])
    verdict = run(make(backend, mode="pairwise")(PAIR))
    assert verdict.error is None
    assert verdict.outcome.winner == "B"
    assert verdict.flagged is True
    assert verdict.outcome.consistent is None
    assert verdict.outcome.orders[1].winner is None
    expected_reason = "parse_failure" if failing == "parse" else "http_400"
    assert verdict.outcome.orders[1].error.startswith(expected_reason)
    assert verdict.raw[0] == '{"winner": "B", "rationale": "r"}'
    if failing == "parse":
        assert verdict.raw[1] == "no verdict here"


def test_pairwise_first_order_failing_uses_the_swapped_verdict_mapped_back():
    backend = FakeBackend(["???", '{"winner": "B", "rationale": "r"}'])
    verdict = run(make(backend, mode="pairwise")(PAIR))
    assert verdict.outcome.winner == "A"  # B in the swapped order is the original A
    assert verdict.flagged is True


def test_pairwise_both_orders_unparseable_records_the_error_and_raw_texts():
    backend = FakeBackend(["I like both.", "I like neither."])
    verdict = run(judge_item(make(backend, mode="pairwise"), PAIR))
    assert verdict.error is not None
    assert verdict.error.reason == "parse_failure"
    assert verdict.outcome.winner is None
    assert verdict.raw == ["I like both.", "I like neither."]
    assert verdict.usage.calls == 2  # the failed calls still cost tokens
    assert [o.error.split(":")[0] for o in verdict.outcome.orders] == ["parse_failure", "parse_failure"]
    assert verdict.item_hash == PAIR.content_hash()


def test_pairwise_both_orders_backend_errors_record_the_reason():
    error = BackendError("HTTP 400: nope", status=400, reason="http_400")
    verdict = run(make(FakeBackend([error]), mode="pairwise")(PAIR))
    assert verdict.error is not None
    assert verdict.error.reason == "http_400"
    assert "nope" in verdict.error.message
    assert verdict.error.retryable is False


def test_pairwise_both_orders_transient_errors_stay_retryable():
    error = BackendError("gave up", retryable=True, reason="retries_exhausted")
    verdict = run(make(FakeBackend([error]), mode="pairwise")(PAIR))
    assert verdict.error.reason == "retries_exhausted"
    assert verdict.error.retryable is True


def test_pairwise_no_swap_sends_one_request():
    backend = FakeBackend(['{"winner": "A", "rationale": "r"}'])
    verdict = run(make(backend, mode="pairwise", swap=False)(PAIR))
    assert len(backend.requests) == 1
    assert verdict.outcome.winner == "A"
    assert verdict.outcome.orders is None
    assert verdict.outcome.consistent is None
    assert verdict.flagged is False


def test_pairwise_allow_tie_false_removes_tie():
    backend = FakeBackend(['{"winner": "tie", "rationale": "r"}'], capabilities=logprob_capable())
    verdict = run(make(backend, mode="pairwise", allow_tie=False)(PAIR))
    schema = backend.requests[0].json_schema
    assert schema["properties"]["winner"]["enum"] == ["A", "B"]
    assert '"tie"' not in user_text(backend.requests[0])
    assert verdict.error is not None and verdict.error.reason == "parse_failure"


def test_pairwise_with_tie_allowed_schema_has_tie():
    backend = FakeBackend(['{"winner": "A", "rationale": "r"}'], capabilities=logprob_capable())
    run(make(backend, mode="pairwise")(PAIR))
    assert backend.requests[0].json_schema["properties"]["winner"]["enum"] == ["A", "B", "tie"]


def test_pairwise_one_at_a_time_for_a_single_slot_backend():
    backend = FakeBackend(_prefers("Seven."), capabilities=Capabilities(max_concurrency=1))
    verdict = run(make(backend, mode="pairwise")(PAIR))
    assert verdict.outcome.winner == "A" and len(backend.requests) == 2


def test_pairwise_usage_is_summed_over_both_orders():
    reply = GenerateResponse(
        text='{"winner": "A", "rationale": "r"}',
        usage=Usage(prompt_tokens=100, completion_tokens=7, cached_tokens=40, calls=1),
    )
    verdict = run(make(FakeBackend([reply]), mode="pairwise")(PAIR))
    assert verdict.usage == Usage(prompt_tokens=200, completion_tokens=14, cached_tokens=80, calls=2)


# -- listwise -----------------------------------------------------------------------------------------------


def test_listwise_ranking_and_best():
    backend = FakeBackend(['{"ranking": [2, 3, 1], "rationale": "Seven is prime."}'])
    verdict = run(make(backend, mode="listwise")(LIST))
    assert verdict.outcome.ranking == [2, 3, 1]
    assert verdict.outcome.best == 2
    assert verdict.rationale == "Seven is prime."
    assert verdict.outcome.probs is None


def test_listwise_free_text_ranking():
    verdict = run(make(FakeBackend(["Ranking: 3 > 2 > 1"]), mode="listwise")(LIST))
    assert verdict.outcome.ranking == [3, 2, 1] and verdict.outcome.best == 3


def test_listwise_schema_and_best_probabilities():
    text = '{"ranking": [2, 3, 1], "rationale": "r"}'
    reply = with_logprobs(text, "2", {"2": 0.7, "3": 0.2, "1": 0.1}, occurrence=0)
    backend = FakeBackend([reply], capabilities=logprob_capable())
    verdict = run(make(backend, mode="listwise")(LIST))
    items = backend.requests[0].json_schema["properties"]["ranking"]
    assert items["minItems"] == items["maxItems"] == 3
    assert verdict.outcome.probs == pytest.approx({"1": 0.1, "2": 0.7, "3": 0.2})


def test_listwise_bad_ranking_is_a_parse_failure():
    verdict = run(make(FakeBackend(['{"ranking": [1, 1, 2]}']), mode="listwise")(LIST))
    assert verdict.error.reason == "parse_failure"
    assert verdict.raw == ['{"ranking": [1, 1, 2]}']
    assert verdict.usage.calls == 1


# -- failures, records, identity ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("error", "reason"),
    [
        (BackendError("HTTP 400: bad request", status=400, reason="http_400"), "http_400"),
        (ContextOverflowError("prompt is too long", status=400), "context_overflow"),
        (BackendError("gave up after 6 attempts", retryable=True, reason="retries_exhausted"), "retries_exhausted"),
    ],
)
def test_non_fatal_backend_error_becomes_a_recorded_error(error, reason):
    verdict = run(judge_item(make(FakeBackend([error]), mode="pointwise"), POINT))
    assert verdict.error is not None
    assert verdict.error.reason == reason
    assert str(error) in verdict.error.message
    assert verdict.error.retryable is error.retryable
    assert verdict.id == POINT.id
    assert verdict.item_hash == POINT.content_hash()


@pytest.mark.parametrize("mode", ["pointwise", "pairwise", "listwise"])
def test_fatal_backend_error_propagates(mode):
    error = BackendError("HTTP 401: authentication failed", status=401, fatal=True, reason="auth")
    judge = make(FakeBackend([error]), mode=mode)
    item = {"pointwise": POINT, "pairwise": PAIR, "listwise": LIST}[mode]
    with pytest.raises(BackendError) as info:
        run(judge(item))
    assert info.value.fatal and info.value.reason == "auth"


def test_verdict_carries_its_audit_trail():
    reply = GenerateResponse(
        text='{"score": "5", "rationale": "All correct."}', usage=Usage(prompt_tokens=50, completion_tokens=9, calls=1)
    )
    backend = FakeBackend([reply], delay_s=0.01)
    judge = make(backend, mode="pointwise")
    verdict = run(judge_item(judge, POINT))  # the one place a verdict is stamped: the engine's
    assert verdict.id == "p1" and verdict.mode == "pointwise"
    assert verdict.usage == Usage(prompt_tokens=50, completion_tokens=9, calls=1)
    assert verdict.latency_s >= 0.009
    assert verdict.raw == ['{"score": "5", "rationale": "All correct."}']
    assert verdict.rationale == "All correct."
    assert verdict.item_hash == POINT.content_hash() and len(verdict.item_hash) == 16
    assert verdict.judge_fingerprint == judge.fingerprint and len(verdict.judge_fingerprint) == 16


def test_item_hash_changes_with_judged_text_only():
    assert POINT.content_hash() == POINT.model_copy(update={"id": "other", "metadata": {"x": 1}}).content_hash()
    assert POINT.content_hash() != POINT.model_copy(update={"response": "Eight."}).content_hash()
    assert POINT.content_hash() != POINT.model_copy(update={"reference": "2"}).content_hash()


def test_fingerprint_is_stable_for_equal_settings():
    a = make(FakeBackend(["x"]), mode="pairwise", temperature=0.0)
    b = make(FakeBackend(["y"]), mode="pairwise", temperature=0.0)
    assert a.fingerprint == b.fingerprint


def test_fingerprint_changes_with_every_setting(tmp_path):
    template = tmp_path / "mine.toml"
    template.write_text('name = "mine"\nmode = "pointwise"\nuser = "{{ prompt }} {{ response }} {{ output_format }}"\n')
    base = make(FakeBackend(["x"]), mode="pointwise").fingerprint
    variants = {
        "model": make(FakeBackend(["x"], name="other-model"), mode="pointwise").fingerprint,
        "template": make(FakeBackend(["x"]), mode="pointwise", template=str(template)).fingerprint,
        "rubric": make(FakeBackend(["x"]), mode="pointwise", rubric="helpfulness").fingerprint,
        "temperature": make(FakeBackend(["x"]), mode="pointwise", temperature=0.7).fingerprint,
        "seed": make(FakeBackend(["x"]), mode="pointwise", seed=1).fingerprint,
        "max_tokens": make(FakeBackend(["x"]), mode="pointwise", max_tokens=99).fingerprint,
        "scale": make(FakeBackend(["x"]), mode="pointwise", scale="1-10").fingerprint,
    }
    assert base not in variants.values()
    assert len(set(variants.values())) == len(variants)


def test_fingerprint_changes_when_a_template_file_is_edited(tmp_path):
    template = tmp_path / "mine.toml"
    template.write_text('name = "mine"\nmode = "pointwise"\nuser = "{{ prompt }} {{ response }} {{ output_format }}"\n')
    before = make(FakeBackend(["x"]), mode="pointwise", template=str(template)).fingerprint
    template.write_text(
        'name = "mine"\nmode = "pointwise"\nuser = "Q {{ prompt }} {{ response }} {{ output_format }}"\n'
    )
    assert make(FakeBackend(["x"]), mode="pointwise", template=str(template)).fingerprint != before
