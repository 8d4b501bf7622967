"""`jurist pairs`: preference pairs from hand-made run directories whose verdicts are known, every filter's drop
counted by reason, each TRL format's exact shape, and the wrong sources refused with exit code 2."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from jurist.alignment.pairs import PairFilters, build_pairs, report_path
from jurist.cli import main
from jurist.errors import ConfigError
from jurist.outcomes import OrderResult, Preference, Ranking, Score
from jurist.run.log import RunHeader, RunStore
from jurist.types import ErrorInfo, ItemTexts, Turn, Verdict

FINGERPRINT = "f" * 16


def make_run(out: Path, verdicts: list[Verdict]) -> Path:
    """A run directory holding exactly `verdicts`, written by the run log's one writer."""
    store = RunStore(out, fsync="never")
    store.open(RunHeader(judge={"backend": "hand"}, fingerprint=FINGERPRINT))
    for v in verdicts:
        store.append(v.model_copy(update={"judge_fingerprint": FINGERPRINT}))
    store.close()
    return out


def pw(
    vid: str,
    winner: str | None,
    *,
    a: str = "answer a",
    b: str = "answer b",
    prompt: str | None = None,
    consistent: bool | None = True,
    probs: dict[str, float] | None = None,
    **envelope: Any,
) -> Verdict:
    orders = None if consistent is None else [OrderResult(order="AB"), OrderResult(order="BA")]
    preference = Preference(winner=winner, consistent=consistent, probs=probs, orders=orders)
    texts = ItemTexts(prompt=prompt or f"prompt {vid}", response_a=a, response_b=b)
    return Verdict(id=vid, mode="pairwise", outcome=preference, item=texts, **envelope)


def pt(
    vid: str, prompt: str, response: str, score: float | None, expected: float | None = None, **meta: Any
) -> Verdict:
    outcome = None if score is None else Score(score=score, expected=expected)
    error = ErrorInfo(reason="parse_failure", message="no score") if score is None else None
    texts = ItemTexts(prompt=prompt, response=response)
    return Verdict(id=vid, mode="pointwise", outcome=outcome, error=error, item=texts, metadata=meta or None)


def test_pairwise_filters_each_drop_for_its_reason(tmp_path: Path) -> None:
    run = make_run(
        tmp_path / "run",
        [
            pw("kept-a", "A"),
            pw("kept-b", "B", a="short", b="the longer one"),
            pw("failed", None, error=ErrorInfo(reason="timeout", message="timed out")),
            pw("inconsistent", "A", consistent=False),
            pw("half", "A", incomplete=ErrorInfo(reason="timeout", message="order BA failed"), flagged=True),
            pw("undecided", None, consistent=None),
            pw("flagged", "A", flagged=True),
            pw("tie", "tie"),
            pw("identical", "A", a="same", b="same"),
            pw("duplicate", "A", prompt="prompt kept-a"),
            pw("one-order", "B", consistent=None),
        ],
    )
    result = build_pairs(run)
    report = result.report
    assert report.kind == "pairwise" and report.verdicts == 11 and report.failed_verdicts == 1
    assert report.dropped == {
        "failed": 1,
        "inconsistent": 1,
        "one_order_failed": 1,
        "undecided": 1,
        "flagged": 1,
        "tie": 1,
        "identical": 1,
        "duplicate": 1,
    }
    assert report.considered == 11 and report.kept == 3 and report.unchecked_order == 1
    by_id = {p.id: p for p in result.pairs}
    assert (by_id["kept-b"].chosen, by_id["kept-b"].rejected) == ("the longer one", "short")
    assert (by_id["kept-b"].chosen_index, by_id["kept-b"].rejected_index) == (1, 0)
    assert (by_id["kept-a"].chosen, by_id["kept-a"].rejected) == ("answer a", "answer b")

    # without the consistency filter, the disagreeing and half-failed verdicts give pairs; duplicates kept on demand
    loose = build_pairs(run, filters=PairFilters(consistency=False, dedupe=False)).report
    assert "inconsistent" not in loose.dropped and "one_order_failed" not in loose.dropped
    assert "flagged" not in loose.dropped and "duplicate" not in loose.dropped
    assert loose.kept == 7


def test_margin_from_the_judges_probabilities(tmp_path: Path) -> None:
    run = make_run(
        tmp_path / "run",
        [
            pw("sure", "A", probs={"A": 0.9, "B": 0.1}),  # margin 0.8
            pw("lean", "B", probs={"A": 0.4, "B": 0.6}),  # margin 0.2
            pw("tie-mass", "A", probs={"A": 0.5, "B": 0.1, "tie": 0.4}),  # P(A) half-ties 0.7: margin 0.4
            pw("bare", "A"),
        ],
    )
    result = build_pairs(run, filters=PairFilters(min_margin=0.3))
    assert result.report.dropped == {"no_margin": 1, "low_margin": 1}
    margins = {p.id: p.margin for p in result.pairs}
    assert margins == pytest.approx({"sure": 0.8, "tie-mass": 0.4})
    everything = {p.id: p.margin for p in build_pairs(run).pairs}
    assert everything["lean"] == pytest.approx(0.2) and everything["bare"] is None


def test_length_balance_drops_only_longer_chosen_responses(tmp_path: Path) -> None:
    run = make_run(
        tmp_path / "run",
        [
            pw("verbose", "A", a="x" * 300, b="y" * 100),  # chosen 3x longer
            pw("fine", "A", a="x" * 150, b="y" * 100),
            pw("short-chosen", "A", a="x" * 10, b="y" * 100),  # shorter chosen is never dropped
            pw("empty-rejected", "B", a="", b="text"),
        ],
    )
    report = build_pairs(run, filters=PairFilters(max_length_ratio=2.0)).report
    assert report.dropped == {"length_imbalance": 2}
    assert report.kept == 2


def test_pointwise_best_against_worst_per_prompt(tmp_path: Path) -> None:
    run = make_run(
        tmp_path / "run",
        [
            pt("q1-0", "q1", "middle", 3),
            pt("q1-1", "q1", "best", 5),
            pt("q1-2", "q1", "worst", 1),
            pt("q1-3", "q1", "failed", None),
            pt("q2-0", "q2", "same", 4),
            pt("q2-1", "q2", "other", 4),
            pt("q3-0", "q3", "alone", 2),
            pt("q3-1", "q3", "failed too", None),
            pt("q4-0", "q4", "close", 3.0, expected=3.4),  # the expected score breaks the tie of the labels
            pt("q4-1", "q4", "closer", 3.0, expected=3.1),
        ],
    )
    result = build_pairs(run)
    report = result.report
    assert report.kind == "pointwise" and report.failed_verdicts == 2
    assert report.dropped == {"too_few_candidates": 1, "tie": 1}
    assert report.considered == 4 and report.kept == 2
    q1 = next(p for p in result.pairs if p.prompt == "q1")
    assert (q1.chosen, q1.rejected, q1.gap) == ("best", "worst", 4.0)
    assert (q1.chosen_index, q1.rejected_index) == (1, 2)
    q4 = next(p for p in result.pairs if p.prompt == "q4")
    assert (q4.chosen, q4.gap) == ("close", pytest.approx(0.3))

    gapped = build_pairs(run, filters=PairFilters(min_gap=1.0)).report
    assert gapped.dropped == {"too_few_candidates": 1, "tie": 1, "small_gap": 1}

    every = build_pairs(run, pairing="all")
    # q1: 3 scored -> 3 pairs; q2: 1 pair, a tie; q3: too few; q4: 1 pair
    assert every.report.considered == 6 and every.report.dropped == {"too_few_candidates": 1, "tie": 1}
    assert sorted((p.chosen, p.rejected) for p in every.pairs if p.prompt == "q1") == [
        ("best", "middle"),
        ("best", "worst"),
        ("middle", "worst"),
    ]


def test_pointwise_grouped_by_a_metadata_field(tmp_path: Path) -> None:
    run = make_run(
        tmp_path / "run",
        [
            pt("a", "same words", "one", 2, group="g1"),
            pt("b", "same words", "two", 4, group="g2"),
            pt("c", "same words", "three", 5, group="g1"),
        ],
    )
    by_prompt = build_pairs(run)
    assert [(p.chosen, p.rejected) for p in by_prompt.pairs] == [("three", "one")]
    grouped = build_pairs(run, group_by="group")
    assert grouped.report.dropped == {"too_few_candidates": 1}
    assert [(p.id, p.chosen, p.rejected) for p in grouped.pairs] == [("g1", "three", "one")]
    with pytest.raises(ConfigError, match="no metadata field 'nope'"):
        build_pairs(run, group_by="nope")


def test_listwise_first_against_last_and_every_pair(tmp_path: Path) -> None:
    texts = ItemTexts(prompt="rank these", responses=["r1", "r2", "r3"])
    run = make_run(
        tmp_path / "run",
        [
            Verdict(id="l1", mode="listwise", outcome=Ranking(ranking=[2, 3, 1]), item=texts),
            Verdict(id="l2", mode="listwise", error=ErrorInfo(reason="timeout", message="x"), item=texts),
        ],
    )
    result = build_pairs(run)
    assert result.report.dropped == {"failed": 1}
    [pair] = result.pairs
    assert (pair.chosen, pair.rejected, pair.gap, pair.chosen_index, pair.rejected_index) == ("r2", "r1", 2.0, 1, 0)
    every = build_pairs(run, pairing="all", filters=PairFilters(min_gap=2))
    assert every.report.considered == 4 and every.report.dropped == {"failed": 1, "small_gap": 2}


def test_reward_table_best_against_worst(tmp_path: Path) -> None:
    run = make_run(
        tmp_path / "rewards",
        [Verdict(id="p1#0", mode="pointwise", outcome=Score(score=1), item=ItemTexts(prompt="p1", response="a"))],
    )

    def row(item: str, k: int, reward: float | None, response: str, prompt: str = "p1") -> dict[str, Any]:
        return {
            "id": item,
            "candidate": k,
            "reward": reward,
            "raw": reward,
            "rank": None,
            "best": False,
            "length": len(response),
            "prompt": prompt,
            "response": response,
        }

    rows = [
        row("p1", 0, 0.2, "a"),
        row("p1", 1, 0.9, "b"),
        row("p1", 2, None, "c"),
        row("p2", 0, 0.5, "d", "p2"),
        row("p2", 1, 0.5, "e", "p2"),
    ]
    (run / "rewards.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    result = build_pairs(run)
    assert result.report.kind == "reward" and result.report.failed_verdicts == 1 and result.report.verdicts == 5
    assert result.report.dropped == {"tie": 1}
    [pair] = result.pairs
    assert (pair.id, pair.prompt, pair.chosen, pair.rejected, pair.chosen_index) == ("p1", "p1", "b", "a", 1)
    assert pair.gap == pytest.approx(0.7)
    (run / "rewards.jsonl").write_text('{"id": "p1", "candidate": "first"}\n')
    with pytest.raises(Exception, match=r"rewards.jsonl:1.*candidate"):
        build_pairs(run)


def test_each_format_has_trls_exact_shape(tmp_path: Path) -> None:
    run = make_run(tmp_path / "run", [pw("x", "B", a="lost", b="won", prompt="the question")])
    assert build_pairs(run, format="standard").rows == [{"prompt": "the question", "chosen": "won", "rejected": "lost"}]
    assert build_pairs(run, format="conversational").rows == [
        {
            "prompt": [{"role": "user", "content": "the question"}],
            "chosen": [{"role": "assistant", "content": "won"}],
            "rejected": [{"role": "assistant", "content": "lost"}],
        }
    ]
    assert build_pairs(run, format="kto").rows == [
        {"prompt": "the question", "completion": "won", "label": True},
        {"prompt": "the question", "completion": "lost", "label": False},
    ]


def test_conversations_keep_their_turns_and_need_the_conversational_format(tmp_path: Path) -> None:
    turns = [Turn(role="user", content="hi"), Turn(role="assistant", content="hello")]
    texts = ItemTexts(prompt="and now?", response_a="good", response_b="bad", turns=turns)
    run = make_run(tmp_path / "run", [Verdict(id="c", mode="pairwise", outcome=Preference(winner="A"), item=texts)])
    [row] = build_pairs(run, format="conversational").rows
    assert row["prompt"] == [
        {"role": "user", "content": "hi"},
        {"role": "assistant", "content": "hello"},
        {"role": "user", "content": "and now?"},
    ]
    with pytest.raises(ConfigError, match="conversational"):
        build_pairs(run, format="standard")


def test_kto_rows_are_unique_and_contradictions_left_out(tmp_path: Path) -> None:
    run = make_run(
        tmp_path / "run",
        [pt("0", "q", "top", 5), pt("1", "q", "mid", 3), pt("2", "q", "low", 1)],
    )
    result = build_pairs(run, format="kto", pairing="all")
    # top>mid, top>low, mid>low: "mid" is chosen once and rejected once, so it is left out
    assert result.report.kto_conflicts == 1
    assert result.rows == [
        {"prompt": "q", "completion": "top", "label": True},
        {"prompt": "q", "completion": "low", "label": False},
    ]


def test_writes_pairs_and_report_atomically_and_refuses_to_overwrite(tmp_path: Path) -> None:
    run = make_run(tmp_path / "run", [pw("x", "A"), pw("y", "tie")])
    out = tmp_path / "out" / "pairs.jsonl"
    result = build_pairs(run, out)
    assert [json.loads(line) for line in out.read_text().splitlines()] == result.rows
    report = json.loads(report_path(out).read_text())
    assert report["kept"] == 1 and report["dropped"] == {"tie": 1} and report["rows"] == 1
    assert sorted(p.name for p in out.parent.iterdir()) == ["pairs.jsonl", "pairs.report.json"]  # no temporary left
    with pytest.raises(ConfigError, match="already exists"):
        build_pairs(run, out)
    build_pairs(run, out, force=True)
    with pytest.raises(ConfigError, match="own files"):
        build_pairs(run, run / "verdicts.jsonl", force=True)


# -- the command ------------------------------------------------------------------------------------------------------


def invoke(*args: str | Path) -> Any:
    return CliRunner().invoke(main, ["pairs", *map(str, args)])


def test_cli_prints_the_counts_and_writes_the_report(tmp_path: Path) -> None:
    run = make_run(tmp_path / "run", [pw("x", "A", probs={"A": 0.9, "B": 0.1}), pw("y", "A", consistent=False)])
    result = invoke(run, "--out", tmp_path / "p.jsonl", "--min-margin", "0.5", "--format", "conversational")
    assert result.exit_code == 0, result.output
    assert "dropped          1  inconsistent" in result.output and "kept             1" in result.output
    assert json.loads((tmp_path / "p.report.json").read_text())["format"] == "conversational"


@pytest.mark.parametrize(
    ("make", "args", "message"),
    [
        (lambda d: (d / "meta.json").write_text("{}") and d / "meta.json", [], "is a file"),
        (lambda d: d, [], "neither a run directory"),
        (lambda d: make_run(d / "r", [pt("a", "q", "x", 1)]), ["--min-margin", "0.5"], "--min-margin reads a pairwise"),
        (lambda d: make_run(d / "r", [pw("a", "A")]), ["--min-gap", "1"], "--min-gap compares scores"),
        (lambda d: make_run(d / "r", [pw("a", "A")]), ["--group-by", "x"], "--group-by groups a pointwise"),
        (
            lambda d: make_run(
                d / "r", [Verdict(id="a", mode="listwise", outcome=Ranking(ranking=[1, 2]), item=ItemTexts(prompt="q"))]
            ),
            [],
            "carries no responses",
        ),
    ],
)
def test_a_source_of_the_wrong_kind_is_a_clear_error(tmp_path: Path, make: Any, args: list[str], message: str) -> None:
    source = make(tmp_path)
    result = invoke(source, "--out", tmp_path / "p.jsonl", *args)
    assert result.exit_code == 2, result.output
    assert message in result.output and "Traceback" not in result.output
    assert not (tmp_path / "p.jsonl").exists()
