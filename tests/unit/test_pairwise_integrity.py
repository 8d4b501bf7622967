"""Pairwise verdicts that must not pass for more than they are: one order failed (incomplete, judged again on
resume), and averaged probabilities that are exactly equal (a tie, never the first position)."""

from __future__ import annotations

import json

import pytest

import jurist
from jurist import BackendError, FakeBackend, JobOptions, Limits, RunOptions
from jurist.meta import meta_evaluate
from jurist.summary import render_summary

from .helpers import first_shown, logprob_capable, make, run, user_text, with_logprobs
from .test_judges import PAIR


@pytest.fixture(autouse=True)
def _private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("JURIST_CACHE_DIR", str(tmp_path / "cache"))


# -- 7. equal probabilities --------------------------------------------------------------------------------------


def _mirrored_probs() -> FakeBackend:
    """Both orders name the first-shown response with 0.6: averaged back to the original labels, A and B get
    exactly 0.5 each."""
    text = '{"winner": "A", "rationale": "r"}'
    replies = [with_logprobs(text, "A", {"A": 0.6, "B": 0.4}), with_logprobs(text, "A", {"A": 0.6, "B": 0.4})]
    return FakeBackend(replies, capabilities=logprob_capable())


def test_equal_averaged_probabilities_are_a_tie_not_the_first_position():
    verdict = run(make(_mirrored_probs(), mode="pairwise", on_inconsistent="probs")(PAIR))
    assert verdict.outcome.consistent is False
    assert verdict.outcome.probs == pytest.approx({"A": 0.5, "B": 0.5, "tie": 0.0})
    assert verdict.outcome.winner == "tie" and verdict.flagged is False


def test_equal_averaged_probabilities_without_ties_are_flagged():
    verdict = run(make(_mirrored_probs(), mode="pairwise", on_inconsistent="probs", allow_tie=False)(PAIR))
    assert verdict.outcome.probs == pytest.approx({"A": 0.5, "B": 0.5})
    assert verdict.outcome.winner is None and verdict.flagged is True and verdict.error is None


# -- 5. one order failed -----------------------------------------------------------------------------------------

PAIRS = [
    {"id": "steady", "prompt": "p1", "response_a": "good", "response_b": "bad", "label": "A"},
    {"id": "shaky", "prompt": "p2 shaky", "response_a": "good", "response_b": "bad", "label": "A"},
]


def _script(server_down: dict[str, bool]):
    """Prefers "good"; while `server_down` says so, the swapped order of the "shaky" item gets a 503."""

    def answer(request):
        shown_first = first_shown(request, "good", "bad")
        if "shaky" in user_text(request) and shown_first == "bad" and server_down["now"]:
            return BackendError("HTTP 503: overloaded", status=503, retryable=True, reason="http_503")
        return json.dumps({"winner": "A" if shown_first == "good" else "B", "rationale": "r"})

    return answer


def test_an_item_with_one_failed_order_is_incomplete_counted_apart_and_judged_again_on_resume(tmp_path):
    out = tmp_path / "run"
    down = {"now": True}
    options = JobOptions(limits=Limits(max_retries=0), run=RunOptions(concurrency=1))  # with the response cache
    result = jurist.judge(PAIRS, out=out, config="pairwise", model=FakeBackend(_script(down)), options=options)
    shaky = {v.id: v for v in result.verdicts()}["shaky"]
    assert shaky.error is None and shaky.outcome.winner == "A"  # the one-order winner stays visible
    assert shaky.flagged is True and shaky.outcome.consistent is None
    assert shaky.incomplete is not None
    assert shaky.incomplete.reason == "retries_exhausted" and shaky.incomplete.retryable is True
    assert "BA" in shaky.incomplete.message

    summary = result.summary()
    assert (summary.judged, summary.failed, summary.incomplete, summary.flagged) == (2, 0, 1, 1)
    assert summary.labelled == 1  # only the complete verdict is measured
    assert summary.outcome == {"A": 1.0}
    assert summary.consistency_n == 1
    assert "1 incomplete" in render_summary(summary)

    down["now"] = False  # the server has recovered
    backend = FakeBackend(_script(down))
    again = jurist.judge(PAIRS, out=out, config="pairwise", model=backend, options=options)
    assert (again.outcome.skipped, again.outcome.judged) == (1, 1)
    assert len(backend.requests) == 1  # the order that had succeeded came from the response cache
    assert first_shown(backend.requests[0], "good", "bad") == "bad"
    shaky = {v.id: v for v in again.verdicts()}["shaky"]
    assert shaky.incomplete is None and shaky.outcome.consistent is True and shaky.flagged is False
    assert again.summary().incomplete == 0


def test_an_incomplete_item_is_kept_when_its_failure_would_repeat(tmp_path):
    out = tmp_path / "run"

    def script(request):
        if first_shown(request, "good", "bad") == "bad" and "shaky" in user_text(request):
            return "no verdict in here"
        return json.dumps({"winner": "A" if first_shown(request, "good", "bad") == "good" else "B"})

    options = JobOptions(cache=False)
    jurist.judge(PAIRS, out=out, config="pairwise", model=FakeBackend(script), options=options)
    backend = FakeBackend(script)
    again = jurist.judge(PAIRS, out=out, config="pairwise", model=backend, options=options)
    assert again.outcome.judged == 0 and backend.requests == []
    shaky = {v.id: v for v in again.verdicts()}["shaky"]
    assert shaky.incomplete is not None and shaky.incomplete.reason == "parse_failure"
    assert not shaky.incomplete.retryable


def test_meta_evaluation_leaves_incomplete_verdicts_out_and_says_so(tmp_path):
    out = tmp_path / "run"
    pairs = [("good", "bad", "A"), ("bad", "good", "B")]
    rows = [
        {"id": f"i{k}", "prompt": f"p{k}" + (" shaky" if k < 2 else "")}
        | dict(zip(("response_a", "response_b", "label"), pairs[k % 2], strict=True))
        for k in range(12)
    ]

    def script(request):
        if first_shown(request, "good", "bad") == "bad" and "shaky" in user_text(request):
            return "no verdict in here"
        return json.dumps({"winner": "A" if first_shown(request, "good", "bad") == "good" else "B"})

    jurist.judge(rows, out=out, config="pairwise", model=FakeBackend(script), options=JobOptions(cache=False))
    report = meta_evaluate(out)
    assert report.agreement is not None and report.agreement.n == 10
    assert any("2 verdicts are incomplete" in note for note in report.notes)
