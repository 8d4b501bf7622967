"""IR metrics, qrels agreement and system-ordering correlation, against values computed by hand."""

from __future__ import annotations

import math

import pytest

from jurist.errors import InputError
from jurist.retrieval.metrics import evaluate_run, qrels_agreement, system_ordering, tau_ap
from jurist.retrieval.trec import Qrel, RunEntry

pytest.importorskip("ir_measures")


def qrels(rows: list[tuple[str, str, int]]) -> list[Qrel]:
    return [Qrel(query_id=q, doc_id=d, grade=g) for q, d, g in rows]


def run(rows: dict[str, list[str]]) -> list[RunEntry]:
    return [
        RunEntry(query_id=q, doc_id=d, rank=i + 1, score=10.0 - i, tag="t")
        for q, docs in rows.items()
        for i, d in enumerate(docs)
    ]


HUMAN = qrels([("q1", "d1", 3), ("q1", "d2", 0), ("q1", "d3", 2), ("q2", "d4", 1), ("q2", "d5", 2)])
LOG3 = math.log2(3)


def test_metrics_of_a_tiny_run_by_hand() -> None:
    # q1 ranks d2 (0), d1 (3), d9 (unjudged); relevant (grade >= 2): d1, d3.
    #   nDCG@10 = (3/log2 3) / (3 + 2/log2 3); AP = (1/2) / 2; RR = 1/2; R@2 = 1/2
    # q2 ranks d5 (2), d4 (1): the ideal order, and its one relevant document first: every metric is 1.
    q1_ndcg = (3 / LOG3) / (3 + 2 / LOG3)
    scores = evaluate_run(run({"q1": ["d2", "d1", "d9"], "q2": ["d5", "d4"]}), HUMAN, recall_k=2)
    assert scores.ndcg_10 == pytest.approx((q1_ndcg + 1) / 2)
    assert (scores.map, scores.mrr, scores.recall) == pytest.approx((0.625, 0.75, 0.75))
    assert (scores.queries, scores.missing_queries, scores.recall_k) == (2, 0, 2)


def test_a_query_the_run_misses_scores_zero_and_is_counted() -> None:
    scores = evaluate_run(run({"q1": ["d1", "d3"]}), HUMAN, recall_k=2)
    assert (scores.ndcg_10, scores.map, scores.mrr, scores.recall) == pytest.approx((0.5, 0.5, 0.5, 0.5))
    assert scores.missing_queries == 1


def test_the_run_is_read_in_rank_order_not_score_order() -> None:
    # the scores say d2 first, the ranks d1 first: ranks win
    entries = [
        RunEntry(query_id="q1", doc_id="d1", rank=1, score=0.0, tag="t"),
        RunEntry(query_id="q1", doc_id="d2", rank=2, score=9.0, tag="t"),
    ]
    assert evaluate_run(entries, HUMAN[:3]).mrr == 1.0


def test_min_relevant_changes_the_binary_metrics() -> None:
    entries = run({"q2": ["d4", "d5"]})
    assert evaluate_run(entries, HUMAN[3:]).mrr == 0.5
    assert evaluate_run(entries, HUMAN[3:], min_relevant=1).mrr == 1.0


def test_agreement_by_hand() -> None:
    # human 0 0 2 3, LLM 0 2 2 3 (+ one pair only the LLM judged, one only humans did)
    human = qrels([("q", "a", 0), ("q", "b", 0), ("q", "c", 2), ("q", "d", 3), ("q", "h", 1)])
    llm = qrels([("q", "a", 0), ("q", "b", 2), ("q", "c", 2), ("q", "d", 3), ("q", "x", 3)])
    report = qrels_agreement(human, llm)
    # 4 grades: po = 3/4, pe = (2*1 + 1*2 + 1*1)/16 = 5/16 -> kappa = (12/16 - 5/16) / (11/16) = 7/11
    assert report.kappa == pytest.approx(7 / 11)
    # binary (>= 2): F F T T vs F T T T: po = 3/4, pe = 1/2 * 3/4 + 1/2 * 1/4 = 1/2 -> kappa = 1/2
    assert report.kappa_binary == pytest.approx(0.5)
    assert 0 < report.alpha < 1
    assert (report.pairs, report.only_human, report.only_llm) == (4, 1, 1)
    assert qrels_agreement(human, human).alpha == pytest.approx(1.0)


def test_agreement_needs_shared_pairs() -> None:
    with pytest.raises(InputError, match="share no"):
        qrels_agreement(HUMAN, qrels([("q9", "d1", 1)]))


TRUTH = {"A": 4.0, "B": 3.0, "C": 2.0, "D": 1.0}


@pytest.mark.parametrize(
    ("estimate", "expected"),
    [
        ({"A": 4, "B": 3, "C": 2, "D": 1}, 1.0),
        ({"A": 1, "B": 2, "C": 3, "D": 4}, -1.0),
        # top pair swapped: C(2..4) = 0/1, 2/2, 3/3 -> 2/3 * 2 - 1
        ({"B": 4, "A": 3, "C": 2, "D": 1}, 1 / 3),
        # bottom pair swapped: 1/1, 2/2, 2/3 -> 2/3 * 8/3 - 1
        ({"A": 4, "B": 3, "D": 2, "C": 1}, 7 / 9),
    ],
)
def test_tau_ap_by_hand(estimate: dict[str, float], expected: float) -> None:
    assert tau_ap(TRUTH, estimate) == pytest.approx(expected)


def test_tau_ap_counts_a_tie_in_truth_as_half() -> None:
    # A, B tied in truth: C(2) = 1/2, C(3) = 2/2 -> 2/2 * 3/2 - 1
    assert tau_ap({"A": 4, "B": 4, "C": 1}, {"A": 3, "B": 2, "C": 1}) == pytest.approx(0.5)


def test_system_ordering_weighs_a_top_swap_more_than_kendall() -> None:
    top = system_ordering(TRUTH, {"B": 4, "A": 3, "C": 2, "D": 1})
    bottom = system_ordering(TRUTH, {"A": 4, "B": 3, "D": 2, "C": 1})
    # one discordant pair of six either way: tau = (5 - 1) / 6
    assert top.kendall_tau == pytest.approx(2 / 3) and bottom.kendall_tau == pytest.approx(2 / 3)
    assert top.tau_ap < bottom.tau_ap
    with pytest.raises(InputError, match="different systems"):
        system_ordering(TRUTH, {"A": 1.0})
