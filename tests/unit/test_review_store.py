"""The review store (jurist.review.store): SQLite in WAL mode, claims that keep two pages off one item, undo,
restarts, reviewer names; and the labels read back for the rest of jurist (review_labels, combine)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from jurist.errors import ConfigError, InputError
from jurist.review import ReviewStore, combine, review_labels
from jurist.review.store import CLAIM_TTL_S, STORE_FILE, ReviewLabel

QUEUE = ["q0", "q1", "q2", "q3"]


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_the_store_is_in_wal_mode(tmp_path: Path) -> None:
    with ReviewStore.of_run(tmp_path) as store:
        assert store.journal_mode() == "wal"
    # the mode is a property of the file: a plain connection sees it too
    with sqlite3.connect(tmp_path / STORE_FILE) as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_two_connections_never_claim_the_same_item(tmp_path: Path) -> None:
    first, second = ReviewStore.of_run(tmp_path), ReviewStore.of_run(tmp_path)
    first.register("alice")
    second.register("bob")
    a = first.claim_next("alice", "tab-alice-1", QUEUE)
    b = second.claim_next("bob", "tab-bob-1", QUEUE)
    c = first.claim_next("alice", "tab-alice-2", QUEUE)  # the same reviewer in a second tab
    assert a is not None and b is not None and c is not None
    assert [a.item, b.item, c.item] == ["q0", "q1", "q2"]
    # asking again from a tab gives its own item back, not a new one
    again = second.claim_next("bob", "tab-bob-1", QUEUE)
    assert again is not None and again.item == "q1"
    first.close()
    second.close()


def test_an_answered_item_is_not_offered_again_and_another_reviewer_gets_it_after(tmp_path: Path) -> None:
    with ReviewStore.of_run(tmp_path) as store:
        store.register("alice")
        store.register("bob")
        claim = store.claim_next("alice", "tab-a", QUEUE)
        assert claim is not None and claim.item == "q0"
        store.answer("alice", "tab-a", "q0", "A")
        assert store.claim_next("alice", "tab-a", QUEUE).item == "q1"  # type: ignore[union-attr]
        assert store.claim_next("bob", "tab-b", QUEUE).item == "q0"  # type: ignore[union-attr]


def test_an_expired_claim_frees_its_item(tmp_path: Path) -> None:
    clock = Clock()
    with ReviewStore(tmp_path / STORE_FILE, clock=clock) as store:
        store.register("alice")
        assert store.claim_next("alice", "closed-tab", QUEUE).item == "q0"  # type: ignore[union-attr]
        assert store.claim_next("alice", "new-tab", QUEUE).item == "q1"  # type: ignore[union-attr]
        clock.now += CLAIM_TTL_S + 1
        assert store.claim_next("alice", "newer-tab", QUEUE).item == "q0"  # type: ignore[union-attr]


def test_a_restart_frees_the_items_its_reviewers_old_pages_held(tmp_path: Path) -> None:
    with ReviewStore.of_run(tmp_path) as store:
        store.register("alice")
        store.register("bob")
        store.claim_next("alice", "old-page", QUEUE)
        store.claim_next("bob", "bob-page", QUEUE)
        store.release("bob-page")
        assert store.claim_of("bob-page") is None
        store.claim_next("bob", "bob-page", QUEUE)
        store.release_reviewer("alice")
        assert store.claim_of("old-page") is None and store.claim_of("bob-page") is not None
        assert store.claim_next("alice", "new-page", QUEUE).item == "q0"  # type: ignore[union-attr]


def test_undo_takes_the_latest_answer_back_and_shows_its_item_again(tmp_path: Path) -> None:
    with ReviewStore.of_run(tmp_path) as store:
        store.register("alice")
        for item, label in (("q0", "A"), ("q1", "tie")):
            assert store.claim_next("alice", "tab-a", QUEUE).item == item  # type: ignore[union-attr]
            store.answer("alice", "tab-a", item, label, note="why")
        taken = store.undo("alice", "tab-a")
        assert taken is not None and taken.item == "q1" and taken.label == "tie"
        assert [(a.item, a.label) for a in store.labels("alice")] == [("q0", "A")]
        assert store.claim_next("alice", "tab-a", QUEUE).item == "q1"  # type: ignore[union-attr]
        store.answer("alice", "tab-a", "q1", "B")
        assert [(a.item, a.label) for a in store.labels("alice")] == [("q0", "A"), ("q1", "B")]
    with sqlite3.connect(tmp_path / STORE_FILE) as db:  # the undone answer is kept, marked
        assert db.execute("SELECT COUNT(*) FROM labels WHERE undone IS NOT NULL").fetchone()[0] == 1


def test_an_answer_on_an_item_another_page_holds_is_refused_but_an_expired_claim_keeps_it(tmp_path: Path) -> None:
    clock = Clock()
    with ReviewStore(tmp_path / STORE_FILE, clock=clock) as store:
        store.register("alice")
        store.claim_next("alice", "tab-a", QUEUE)  # q0
        store.claim_next("alice", "tab-b", QUEUE)  # q1
        with pytest.raises(ConfigError, match="open on another page"):
            store.answer("alice", "tab-a", "q1", "A")
        store.mark_verdict_shown("tab-a", "q0")
        clock.now += CLAIM_TTL_S + 1  # tab-a's person took a long time; nobody took q0 over
        store.claim_next("alice", "tab-c", ["q2"])  # expiry happens on the next claim
        answered = store.answer("alice", "tab-a", "q0", "B")
        assert answered.label == "B" and not answered.verdict_shown  # the expired claim's record is gone
        assert store.answer("alice", "tab-c", "q2", "A", verdict_shown=True).verdict_shown  # the page says so


def test_labels_survive_a_restart(tmp_path: Path) -> None:
    store = ReviewStore.of_run(tmp_path)
    store.register("alice")
    for item in QUEUE[:3]:
        store.claim_next("alice", "tab-a", QUEUE)
        store.answer("alice", "tab-a", item, 4.0, shown_order=None, verdict_shown=item == "q1")
    del store  # no close: a crash
    with ReviewStore.of_run(tmp_path) as reopened:
        answers = reopened.labels()
        assert [(a.item, a.label, a.verdict_shown) for a in answers] == [
            ("q0", 4.0, False),
            ("q1", 4.0, True),
            ("q2", 4.0, False),
        ]
        assert reopened.resume("alice") == "alice"


def test_a_reviewer_name_is_unique_in_a_run(tmp_path: Path) -> None:
    with ReviewStore.of_run(tmp_path) as store:
        store.register("alice")
    with ReviewStore.of_run(tmp_path) as fresh, pytest.raises(ConfigError, match="--resume-as alice"):
        fresh.register("alice")
    with ReviewStore.of_run(tmp_path) as fresh, pytest.raises(ConfigError, match="no reviewer 'bob'"):
        fresh.resume("bob")
    with ReviewStore.of_run(tmp_path) as fresh, pytest.raises(ConfigError, match="reviewer name"):
        fresh.register("<b>")


def _answer(item: str, reviewer: str, label: str | float | None) -> ReviewLabel:
    return ReviewLabel(id=0, item=item, reviewer=reviewer, label=label, created=0.0)


def test_several_reviewers_combine_by_majority_or_mean_and_tied_votes_are_left_out() -> None:
    answers = [
        _answer("x", "a", "A"),
        _answer("x", "b", "A"),
        _answer("x", "c", "B"),
        _answer("y", "a", "A"),
        _answer("y", "b", "B"),  # one each: no majority
        _answer("z", "a", "tie"),
        _answer("s", "a", None),  # a skip is no label
        _answer("p", "a", 2.0),
        _answer("p", "b", 5.0),
    ]
    assert combine(answers) == {"x": "A", "z": "tie", "p": 3.5}


def test_review_labels_reads_the_run_directory(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no review labels"):
        review_labels(tmp_path)
    with ReviewStore.of_run(tmp_path) as store:
        store.register("alice")
        store.register("bob")
        for reviewer, tab, label in (("alice", "tab-a", "A"), ("bob", "tab-b", "B")):
            store.claim_next(reviewer, tab, ["q0"])
            store.answer(reviewer, tab, "q0", label)
    assert review_labels(tmp_path, "alice") == {"q0": "A"}
    assert review_labels(tmp_path, "bob") == {"q0": "B"}
    assert review_labels(tmp_path) == {}  # one A, one B: tied, left out
    with pytest.raises(ConfigError, match="no reviewer 'carol'"):
        review_labels(tmp_path, "carol")
