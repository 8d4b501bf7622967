"""Agreement statistics and the bootstrap behind their intervals, on small hand-checkable cases."""

from __future__ import annotations

import math

import numpy as np
import pytest

from jurist.errors import ConfigError, InputError
from jurist.stats import (
    accuracy,
    agreement_report,
    bootstrap_ci,
    cohen_kappa,
    confusion_matrix,
    fleiss_kappa,
    krippendorff_alpha,
)


def two_by_two(a_a: int, a_b: int, b_a: int, b_b: int) -> tuple[list[str], list[str]]:
    """Human and judge labels with the given counts of (human, judge) pairs."""
    pairs = [("A", "A")] * a_a + [("A", "B")] * a_b + [("B", "A")] * b_a + [("B", "B")] * b_b
    return [h for h, _ in pairs], [j for _, j in pairs]


def test_perfect_agreement_gives_accuracy_and_kappa_one() -> None:
    labels = ["A", "B", "tie", "A", "B", "B"]
    assert accuracy(labels, labels) == 1.0
    assert cohen_kappa(labels, labels) == pytest.approx(1.0)
    report = agreement_report(labels, labels, n_resamples=200)
    assert report.accuracy.value == 1.0 and report.accuracy.low == 1.0 and report.accuracy.high == 1.0
    assert report.cohen_kappa.value == pytest.approx(1.0)
    assert report.labels_only_in_judge == [] and report.labels_only_in_human == []


def test_kappa_matches_hand_computation() -> None:
    # observed agreement 35/50 = 0.7; chance (25*30 + 25*20) / 50^2 = 0.5; kappa = (0.7 - 0.5) / 0.5 = 0.4
    human, judge = two_by_two(20, 5, 10, 15)
    assert accuracy(human, judge) == pytest.approx(0.7)
    assert cohen_kappa(human, judge) == pytest.approx(0.4)
    report = agreement_report(human, judge, n_resamples=200)
    assert report.cohen_kappa.value == pytest.approx(0.4)
    assert report.cohen_kappa.low < 0.4 < report.cohen_kappa.high
    assert report.confusion.counts == [[20, 5], [10, 15]]


def test_report_kappa_equals_scikit_learn_kappa_on_random_labels() -> None:
    rng = np.random.default_rng(3)
    names = np.array(["A", "B", "tie"])
    human = names[rng.integers(0, 3, 80)].tolist()
    judge = [h if rng.random() < 0.6 else str(names[rng.integers(0, 3)]) for h in human]
    report = agreement_report(human, judge, n_resamples=50)
    assert report.cohen_kappa.value == pytest.approx(cohen_kappa(human, judge), abs=1e-12)


def test_kappa_is_nan_when_only_one_label_occurs() -> None:
    assert math.isnan(cohen_kappa(["A", "A"], ["A", "A"]))
    assert cohen_kappa(["A", "B"], ["A", "A"]) == pytest.approx(0.0)


def test_weighted_kappa_matches_hand_computation() -> None:
    # Pairs (1,1), (2,2), (3,2). Unweighted: p_o = 2/3, p_e = (1*1 + 1*2 + 1*0) / 9 = 1/3, kappa = 0.5.
    # Linear weights |i - j|: observed cost 1, expected cost (2 + 1 + 2 + 2) / 3 = 7/3, kappa = 1 - 3/7 = 4/7.
    human, judge = [1, 2, 3], [1, 2, 2]
    assert cohen_kappa(human, judge) == pytest.approx(0.5)
    assert cohen_kappa(human, judge, labels=[1, 2, 3], weights="linear") == pytest.approx(4 / 7)


def test_unmatched_label_spaces_are_reported() -> None:
    human = ["A", "B", "A", "B", "A"]
    judge = ["A", "B", "tie", "tie", "A"]
    report = agreement_report(human, judge, n_resamples=100)
    assert report.labels_only_in_judge == ["tie"]
    assert report.labels_only_in_human == []
    assert report.labels == ["A", "B", "tie"]
    assert report.confusion.counts[2] == [0, 0, 0]  # humans never said tie
    assert "labels only the judge used: tie" in report.render()

    flipped = agreement_report(judge, human, n_resamples=100)
    assert flipped.labels_only_in_human == ["tie"] and flipped.labels_only_in_judge == []


def test_empty_and_mismatched_inputs_raise() -> None:
    with pytest.raises(ConfigError, match="empty"):
        agreement_report([], [])
    with pytest.raises(InputError, match="differ in length"):
        accuracy(["A"], ["A", "B"])
    with pytest.raises(InputError, match="not in labels"):
        confusion_matrix(["A", "B"], ["A", "tie"], labels=["A", "B"])
    with pytest.raises(InputError, match="no label"):
        accuracy(["A", None], ["A", "B"])  # type: ignore[list-item]


def test_confusion_matrix_counts_and_render() -> None:
    matrix = confusion_matrix(["A", "A", "B", "tie"], ["A", "B", "B", "A"], labels=["A", "B", "tie"])
    assert matrix.counts == [[1, 1, 0], [0, 1, 0], [1, 0, 0]]
    rows = matrix.render().splitlines()
    assert rows[0].split()[-3:] == ["A", "B", "tie"]
    assert rows[3].split() == ["tie", "1", "0", "0"]


def test_fleiss_kappa_matches_hand_computation() -> None:
    # Each item: 2 of 3 raters agree, P_i = (2^2 + 1^2 - 3) / (3 * 2) = 1/3; chance 0.5^2 + 0.5^2 = 1/2.
    # kappa = (1/3 - 1/2) / (1 - 1/2) = -1/3.
    assert fleiss_kappa([["A", "A", "B"], ["A", "B", "B"]]) == pytest.approx(-1 / 3)
    assert fleiss_kappa([["A", "A", "A"], ["B", "B", "B"]]) == pytest.approx(1.0)
    with pytest.raises(InputError, match="same number of ratings"):
        fleiss_kappa([["A", "A"], ["B"]])


def test_krippendorff_alpha_matches_hand_computation() -> None:
    # Coincidences: o_AA = 2, o_AB = o_BA = 1, o_BB = 2; n_A = n_B = 3, n = 6.
    # D_o = 2/6, D_e = 2 * 3 * 3 / (6 * 5) = 0.6, alpha = 1 - (1/3) / 0.6 = 4/9.
    ratings: list[list[str | None]] = [["A", "A"], ["A", "B"], ["B", "B"]]
    assert krippendorff_alpha(ratings) == pytest.approx(4 / 9)
    # An item with one rating cannot be paired, so it changes nothing.
    assert krippendorff_alpha([*ratings, ["A", None]]) == pytest.approx(4 / 9)
    assert krippendorff_alpha([[1, 1], [2, 2], [3, None]], level="interval") == pytest.approx(1.0)
    with pytest.raises(ConfigError, match="numeric labels"):
        krippendorff_alpha(ratings, level="ordinal")


def test_bootstrap_is_deterministic_and_near_the_normal_interval() -> None:
    values = np.random.default_rng(0).normal(size=400)
    first = bootstrap_ci(np.mean, values, n_resamples=300, seed=5)
    again = bootstrap_ci(np.mean, values, n_resamples=300, seed=5)
    other = bootstrap_ci(np.mean, values, n_resamples=300, seed=6)
    assert (first.low, first.high) == (again.low, again.high)
    assert (first.low, first.high) != (other.low, other.high)
    # The normal-theory 95% half-width is 1.96 * sd / sqrt(n).
    expected = 1.96 * values.std(ddof=1) / math.sqrt(values.size)
    assert (first.high - first.low) / 2 == pytest.approx(expected, rel=0.2)


def test_bootstrap_skips_and_counts_undefined_resamples() -> None:
    # With 2 of 6 items labelled B, some resamples hold only A on both sides: kappa is undefined there.
    human = ["A", "A", "A", "A", "B", "B"]
    report = agreement_report(human, human, n_resamples=200, seed=1)
    assert report.cohen_kappa.skipped > 0
    assert report.accuracy.skipped == 0
    assert report.cohen_kappa.low == pytest.approx(1.0)


def test_cluster_bootstrap_is_wider_for_clustered_items() -> None:
    # 20 groups of 10 identical items: there are really 20 observations, not 200.
    rng = np.random.default_rng(2)
    values = np.repeat(rng.normal(size=20), 10)
    groups = np.repeat(np.arange(20), 10)
    plain = bootstrap_ci(np.mean, values, n_resamples=300)
    clustered = bootstrap_ci(np.mean, values, n_resamples=300, groups=groups)
    assert clustered.method == "cluster percentile"
    assert clustered.high - clustered.low > 2 * (plain.high - plain.low)


def test_stratified_bootstrap_keeps_stratum_sizes() -> None:
    strata = np.array([0] * 7 + [1] * 3)

    def size_of_first(values: np.ndarray, labels: np.ndarray) -> float:
        return float((labels == 0).sum())

    result = bootstrap_ci(size_of_first, np.arange(10.0), strata, n_resamples=100, strata=strata)
    assert result.low == result.high == 7.0
    with pytest.raises(ConfigError, match="not both"):
        bootstrap_ci(np.mean, np.arange(10.0), groups=strata, strata=strata)


# -- Fleiss' kappa and the confusion matrix are computed here: the same numbers as the reference libraries -------


def test_fleiss_kappa_matches_a_three_label_hand_computation() -> None:
    # 4 items, 3 raters. Per item, the share of agreeing rater pairs P_i = (sum_j n_ij^2 - 3) / (3 * 2):
    #   [A,A,A] -> 1; [A,A,B] -> 1/3; [B,C,C] -> 1/3; [C,C,C] -> 1; mean P = 2/3.
    # Shares: A 5/12, B 2/12, C 5/12; chance P_e = (25 + 4 + 25) / 144 = 3/8.
    # kappa = (2/3 - 3/8) / (1 - 3/8) = (7/24) / (5/8) = 7/15.
    ratings = [["A", "A", "A"], ["A", "A", "B"], ["B", "C", "C"], ["C", "C", "C"]]
    assert fleiss_kappa(ratings) == pytest.approx(7 / 15)
    assert math.isnan(fleiss_kappa([["A"], ["B"]]))  # one rater: no pair to agree


def test_fleiss_kappa_equals_statsmodels() -> None:
    inter_rater = pytest.importorskip("statsmodels.stats.inter_rater")
    rng = np.random.default_rng(7)
    for _ in range(200):
        n_items, n_raters, n_labels = int(rng.integers(2, 40)), int(rng.integers(2, 8)), int(rng.integers(2, 6))
        codes = rng.integers(0, n_labels, (n_items, n_raters))
        codes[: n_items // 2, :] = codes[: n_items // 2, :1]  # some items on which every rater agrees
        if len(np.unique(codes)) < 2:
            continue
        table, _ = inter_rater.aggregate_raters(codes, n_cat=n_labels)
        expected = inter_rater.fleiss_kappa(table, method="fleiss")
        assert fleiss_kappa(codes.tolist()) == expected  # identical, not just close


def test_confusion_matrix_equals_scikit_learn() -> None:
    metrics = pytest.importorskip("sklearn.metrics")
    rng = np.random.default_rng(8)
    names = ["A", "B", "tie", "both bad"]
    for _ in range(50):
        n = int(rng.integers(1, 60))
        human = [names[i] for i in rng.integers(0, 4, n)]
        judge = [names[i] for i in rng.integers(0, 3, n)]
        expected = metrics.confusion_matrix(human, judge, labels=names).tolist()
        assert confusion_matrix(human, judge, labels=names).counts == expected
