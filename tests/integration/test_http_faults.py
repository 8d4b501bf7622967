"""Faults of a real HTTP server: what is retried, what is recorded on the item, what stops the run."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from jurist.testing import FakeOpenAIServer
from jurist.testing.fake_openai_server import GARBAGE

from .support import (
    cli_args,
    cli_env,
    counts_by_item,
    judge_via_api,
    make_items,
    records,
    run_cli,
    times_for,
    write_jsonl,
)


def test_429_is_retried_after_the_retry_after_header(server: FakeOpenAIServer, tmp_path: Path) -> None:
    # Retry-After 0.6 s is longer than the first jittered backoff can be (at most 0.5 s), so gaps of
    # at least 0.6 s show that the header was honoured.
    items = make_items("pointwise", 3, markers={0: "#fault:429x2@0.6"})
    verdicts = judge_via_api(server, items, tmp_path / "run")

    assert all(v.ok for v in verdicts.values())
    stats = server.stats(prompts=True)
    assert counts_by_item(stats) == {"item-0000": 3, "item-0001": 1, "item-0002": 1}
    assert stats["statuses"]["429"] == 2
    (times,) = times_for(stats, "item-0000")
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert all(0.58 <= gap < 3.0 for gap in gaps), gaps


@pytest.mark.parametrize(("marker", "sent"), [("#fault:500x1", 2), ("#fault:503x2@0.05", 3)])
def test_server_errors_are_retried(server: FakeOpenAIServer, tmp_path: Path, marker: str, sent: int) -> None:
    items = make_items("pointwise", 2, markers={1: marker})
    verdicts = judge_via_api(server, items, tmp_path / "run")

    assert verdicts["item-0001"].ok and verdicts["item-0001"].outcome.choice is not None
    assert counts_by_item(server.stats(prompts=True)) == {"item-0000": 1, "item-0001": sent}


def test_a_slow_answer_past_the_timeout_is_retried(server: FakeOpenAIServer, tmp_path: Path) -> None:
    items = make_items("pointwise", 2, markers={0: "#fault:slowx1@3"})
    verdicts = judge_via_api(server, items, tmp_path / "run", timeout=0.4)

    assert verdicts["item-0000"].ok
    assert counts_by_item(server.stats(prompts=True))["item-0000"] == 2


def test_an_item_that_always_times_out_is_recorded_as_failed_and_the_run_goes_on(
    server: FakeOpenAIServer, tmp_path: Path
) -> None:
    items = make_items("pointwise", 6, markers={2: "#fault:slow@3"})
    verdicts = judge_via_api(server, items, tmp_path / "run", timeout=0.4, max_retries=1)

    assert len(verdicts) == 6
    failed = verdicts["item-0002"]
    assert failed.error is not None
    assert failed.error.reason == "retries_exhausted"
    assert "within 0.4s" in failed.error.message
    assert failed.outcome is None
    assert all(v.ok and v.outcome.score is not None for k, v in verdicts.items() if k != "item-0002")
    assert counts_by_item(server.stats(prompts=True))["item-0002"] == 2  # the first try and one retry


def test_a_dropped_connection_is_retried(server: FakeOpenAIServer, tmp_path: Path) -> None:
    items = make_items("pointwise", 2, markers={0: "#fault:dropx2"})
    verdicts = judge_via_api(server, items, tmp_path / "run")

    assert verdicts["item-0000"].ok
    stats = server.stats(prompts=True)
    assert stats["statuses"]["drop"] == 2
    assert counts_by_item(stats)["item-0000"] == 3


def test_a_malformed_body_is_retried_then_recorded(server: FakeOpenAIServer, tmp_path: Path) -> None:
    items = make_items("pointwise", 3, markers={0: "#fault:malformedx1", 1: "#fault:malformed"})
    verdicts = judge_via_api(server, items, tmp_path / "run", max_retries=1)

    assert verdicts["item-0000"].ok
    broken = verdicts["item-0001"]
    assert broken.error is not None and broken.error.reason == "retries_exhausted"
    assert "not JSON" in broken.error.message
    assert verdicts["item-0002"].ok
    counts = counts_by_item(server.stats(prompts=True))
    assert counts["item-0000"] == 2 and counts["item-0001"] == 2 and counts["item-0002"] == 1


@pytest.mark.parametrize("mode", ["pointwise", "pairwise", "listwise"])
def test_judge_text_without_a_verdict_is_a_parse_failure_that_keeps_the_raw_text(
    server: FakeOpenAIServer, tmp_path: Path, mode: str
) -> None:
    items = make_items(mode, 2, markers={0: "#fault:garbage"})
    verdicts = judge_via_api(server, items, tmp_path / "run", mode=mode)

    bad = verdicts["item-0000"]
    assert bad.error is not None and bad.error.reason == "parse_failure"
    assert bad.raw and all(GARBAGE in raw for raw in bad.raw)
    assert verdicts["item-0001"].ok
    # A parse failure is the judge's answer, not a transport fault: it is not sent again.
    per_item = 2 if mode == "pairwise" else 1
    assert counts_by_item(server.stats(prompts=True))["item-0000"] == per_item


def test_every_mode_reads_the_servers_verdicts(server: FakeOpenAIServer, tmp_path: Path) -> None:
    for mode in ("pointwise", "pairwise", "listwise"):
        verdicts = judge_via_api(server, make_items(mode, 3), tmp_path / mode, mode=mode)
        assert len(verdicts) == 3 and all(v.ok for v in verdicts.values()), mode
        for v in verdicts.values():
            assert v.usage.calls == (2 if mode == "pairwise" else 1)
            assert v.usage.prompt_tokens > 0 and v.usage.completion_tokens > 0
            if mode == "pointwise":
                assert v.outcome.choice in {"1", "2", "3", "4", "5"} and v.outcome.score == float(v.outcome.choice)
            elif mode == "listwise":
                assert sorted(v.outcome.ranking or []) == [1, 2, 3] and v.outcome.best == (v.outcome.ranking or [0])[0]


def test_logprobs_from_the_server_give_probabilities_on_pairwise_verdicts(
    server: FakeOpenAIServer, tmp_path: Path
) -> None:
    verdicts = judge_via_api(server, make_items("pairwise", 3), tmp_path / "run", mode="pairwise")

    for v in verdicts.values():
        assert v.ok and v.outcome.orders is not None and len(v.outcome.orders) == 2
        ab, ba = v.outcome.orders
        # The fake always says "A" with probability 0.7; in the swapped order its "A" is the original B.
        assert ab.winner == "A" and ba.winner == "B" and v.outcome.consistent is False
        assert ab.probs == pytest.approx({"A": 0.7, "B": 0.15, "tie": 0.15})
        assert ba.probs == pytest.approx({"A": 0.15, "B": 0.7, "tie": 0.15})
        assert v.outcome.probs == pytest.approx({"A": 0.425, "B": 0.425, "tie": 0.15})
        assert sum(v.outcome.probs.values()) == pytest.approx(1.0)


def test_pointwise_logprobs_give_an_expected_score(server: FakeOpenAIServer, tmp_path: Path) -> None:
    verdicts = judge_via_api(server, make_items("pointwise", 4), tmp_path / "run")

    for v in verdicts.values():
        assert v.outcome.probs is not None and v.outcome.choice is not None
        assert v.outcome.probs[v.outcome.choice] == pytest.approx(0.7)
        expected = sum(float(label) * p for label, p in v.outcome.probs.items())
        assert v.outcome.expected == pytest.approx(expected)


def test_swap_sends_two_requests_per_pairwise_item_and_no_swap_one(server: FakeOpenAIServer, tmp_path: Path) -> None:
    items = make_items("pairwise", 5)
    judge_via_api(server, items, tmp_path / "swapped", mode="pairwise")
    stats = server.stats(prompts=True)
    assert stats["total"] == 10
    assert set(counts_by_item(stats).values()) == {2}
    prompts = [p for p in stats["prompts"] if "[id:item-0003]" in p]
    assert len(prompts) == 2  # the same item, in both orders
    first, second = sorted(prompts, key=lambda p: p.index("The answer is 6."))
    assert first.index("The answer is 6.") < first.index("Perhaps 7.")
    assert second.index("Perhaps 7.") < second.index("The answer is 6.")

    server.reset()
    judge_via_api(server, items, tmp_path / "one-order", mode="pairwise", swap=False)
    assert server.stats()["total"] == 5


def test_the_response_cache_answers_a_repeated_run_without_requests(server: FakeOpenAIServer, tmp_path: Path) -> None:
    items = make_items("pointwise", 4)
    first = judge_via_api(server, items, tmp_path / "first", cache=True)
    assert server.stats()["total"] == 4
    second = judge_via_api(server, items, tmp_path / "second", cache=True)
    assert server.stats()["total"] == 4
    assert {k: v.outcome.choice for k, v in first.items()} == {k: v.outcome.choice for k, v in second.items()}


# What each misshapen 200 reply is called in the item's error message.
SHAPES = {
    "shape-content-number": "choices.0.message.content",
    "shape-usage-string": "usage",
    "shape-no-choices": "choices",
    "shape-list": "not a JSON object but a list",
    "shape-html": "not JSON",
    "shape-empty": "is empty",
}


@pytest.mark.parametrize(("kind", "said"), SHAPES.items())
def test_a_reply_of_the_wrong_shape_is_retried_then_recorded_on_its_item(
    server: FakeOpenAIServer, tmp_path: Path, kind: str, said: str
) -> None:
    items = make_items("pointwise", 3, markers={0: f"#fault:{kind}x1", 1: f"#fault:{kind}"})
    verdicts = judge_via_api(server, items, tmp_path / "run", max_retries=1)

    assert verdicts["item-0000"].ok  # wrong once, right on the retry
    broken = verdicts["item-0001"].error
    assert broken is not None and broken.reason == "retries_exhausted" and broken.retryable
    assert said in broken.message, broken.message
    assert verdicts["item-0002"].ok
    counts = counts_by_item(server.stats(prompts=True))
    assert counts == {"item-0000": 2, "item-0001": 2, "item-0002": 1}


def test_a_reply_past_the_size_cap_fails_its_item_unread_and_is_not_sent_again(
    server: FakeOpenAIServer, tmp_path: Path
) -> None:
    items = make_items("pointwise", 2, markers={0: "#fault:huge@40"})
    verdicts = judge_via_api(server, items, tmp_path / "run", timeout=30)

    huge = verdicts["item-0000"].error
    assert huge is not None and huge.reason == "bad_response" and "larger than 32 MiB" in huge.message
    assert verdicts["item-0001"].ok
    assert counts_by_item(server.stats(prompts=True))["item-0000"] == 1


def test_the_cli_run_goes_on_past_replies_of_every_wrong_shape(
    server: FakeOpenAIServer, tmp_path: Path, cache_dir: Path
) -> None:
    kinds = [*SHAPES, "huge@40", "malformed"]
    markers = {i: f"#fault:{kind}" for i, kind in enumerate(kinds)}
    data = write_jsonl(tmp_path / "items.jsonl", make_items("pointwise", len(kinds) + 3, markers=markers))
    out = tmp_path / "run"
    proc = run_cli(cli_args(data, out, server.url, "--max-retries", "1", "--timeout", "30"), cli_env(cache_dir))

    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout
    by_id = {r["id"]: r for r in records(out)}
    assert len(by_id) == len(kinds) + 3
    for i in range(len(kinds)):
        assert by_id[f"item-{i:04d}"]["error"]["reason"] in ("retries_exhausted", "bad_response")
    assert all(by_id[f"item-{i:04d}"]["error"] is None for i in range(len(kinds), len(kinds) + 3))
