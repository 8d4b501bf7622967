"""Alternative Annotator Test: a good LLM passes, a random one fails, thin annotators are excluded with a reason."""

from __future__ import annotations

import json
from collections import Counter

import numpy as np
import pytest
from scipy import stats

from jurist.errors import ConfigError
from jurist.stats.alt_test import AltTestResult, alt_test

from .helpers import shared


def crowd(rng: np.random.Generator, n_items: int, n_annotators: int, skill: float) -> tuple[list[list[int]], list[int]]:
    """Each annotator gives the true label with probability `skill`, else one of the other two at random."""
    truth = rng.integers(0, 3, n_items)
    rows = []
    for label in truth:
        row = [
            int(label) if rng.uniform() < skill else int((label + rng.integers(1, 3)) % 3) for _ in range(n_annotators)
        ]
        rows.append(row)
    return rows, [int(label) for label in truth]


def majority(row: list[int]) -> int:
    return Counter(row).most_common(1)[0][0]


def assert_consistent(result: AltTestResult, n_annotators: int) -> None:
    assert len(result.annotators) == n_annotators
    tested = [row for row in result.annotators if row.excluded_reason is None]
    assert result.n_tested == len(tested)
    assert 0.0 <= result.winning_rate <= 1.0 and 0.0 <= result.advantage_probability <= 1.0
    assert result.winning_rate == pytest.approx(sum(row.rejected for row in tested) / len(tested))
    assert result.advantage_probability == pytest.approx(np.mean([row.rho_f for row in tested]))
    assert result.passed == (result.winning_rate >= 0.5)
    for row in tested:
        assert row.rho_f is not None and row.rho_h is not None and row.p_value is not None
        assert 0.0 <= row.rho_f <= 1.0 and 0.0 <= row.rho_h <= 1.0
        assert row.rho_f + row.rho_h >= 1.0 - 1e-12  # on every item at least one of W^f, W^h is 1
        assert row.adjusted_p_value is not None and row.p_value <= row.adjusted_p_value <= 1.0
        assert row.rejected == (row.adjusted_p_value <= result.q)


def test_llm_copying_the_majority_passes():
    rng = np.random.default_rng(0)
    rows, _ = crowd(rng, 120, 5, skill=0.75)
    result = alt_test(rows, [majority(row) for row in rows])
    assert_consistent(result, 5)
    assert result.passed and result.winning_rate == 1.0
    assert result.advantage_probability > 0.8


def test_llm_answering_at_random_fails():
    rng = np.random.default_rng(1)
    rows, _ = crowd(rng, 120, 5, skill=0.75)
    result = alt_test(rows, [int(label) for label in rng.integers(0, 3, len(rows))])
    assert_consistent(result, 5)
    assert not result.passed and result.winning_rate == 0.0
    assert all(row.p_value is not None and row.p_value > 0.5 for row in result.annotators)


def test_epsilon_sets_how_much_worse_than_a_human_the_llm_may_be():
    # Annotators are right 90% of the time, the LLM 75%: it loses to each annotator on some items, so it passes with
    # a generous margin and fails with none.
    rng = np.random.default_rng(2)
    rows, truth = crowd(rng, 300, 4, skill=0.9)
    llm = [label if rng.uniform() < 0.75 else (label + 1) % 3 for label in truth]
    generous = alt_test(rows, llm, epsilon=0.3)
    strict = alt_test(rows, llm, epsilon=0.0)
    assert generous.passed and not strict.passed
    assert generous.advantage_probability == strict.advantage_probability


def test_p_value_is_the_one_sided_t_test_on_the_paired_indicators():
    # Annotator 1 vs annotators 2 and 3: the LLM agrees with both others on items 0-2 where annotator 1 does not,
    # and annotator 1 agrees with both where the LLM does not on items 3-4; items 5-9 are full ties.
    rows = [[0, 1, 1]] * 3 + [[1, 1, 1]] * 2 + [[2, 2, 2]] * 5
    llm = [1, 1, 1, 0, 0, 2, 2, 2, 2, 2]
    result = alt_test(rows, llm, epsilon=0.1, min_items=2)
    first = result.annotators[0]
    w_f = np.array([1, 1, 1, 0, 0, 1, 1, 1, 1, 1])
    w_h = np.array([0, 0, 0, 1, 1, 1, 1, 1, 1, 1])
    assert first.rho_f == pytest.approx(w_f.mean()) and first.rho_h == pytest.approx(w_h.mean())
    expected = stats.ttest_1samp(w_f - w_h, popmean=-0.1, alternative="greater").pvalue
    assert first.p_value == pytest.approx(expected)
    assert first.p_value < 0.5  # the LLM does better than annotator 1 here, so H0 looks unlikely


def test_numeric_labels_with_distance_alignment():
    rng = np.random.default_rng(3)
    quality = rng.uniform(1, 5, 80)
    rows = [[float(np.clip(round(q + rng.normal(0, 0.8)), 1, 5)) for _ in range(4)] for q in quality]
    for alignment in ("absolute", "squared"):
        good = alt_test(rows, [float(np.mean(row)) for row in rows], alignment=alignment)
        bad = alt_test(rows, [float(x) for x in rng.uniform(1, 5, 80)], alignment=alignment)
        assert_consistent(good, 4)
        assert good.passed and not bad.passed
    with pytest.raises(ConfigError, match="numeric"):
        alt_test([["a", "b", "c"]] * 40, ["a"] * 40, alignment="absolute")


def test_annotator_with_too_few_items_is_excluded_with_the_reason():
    rng = np.random.default_rng(4)
    rows, _ = crowd(rng, 100, 4, skill=0.8)
    sparse: list[list[int | None]] = [[*row[:3], row[3] if i < 12 else None] for i, row in enumerate(rows)]
    result = alt_test(sparse, [majority(row[:3]) for row in rows], annotator_names=["ann", "bob", "cy", "dee"])
    assert_consistent(result, 4)
    dee = result.annotators[3]
    assert dee.annotator == "dee" and dee.n_items == 12 and dee.p_value is None and not dee.rejected
    assert dee.excluded_reason is not None and "12" in dee.excluded_reason and "30" in dee.excluded_reason
    assert result.n_tested == 3
    assert alt_test(sparse, [majority(row[:3]) for row in rows], min_items=10).n_tested == 4


def test_items_without_an_llm_label_are_skipped():
    rng = np.random.default_rng(5)
    rows, truth = crowd(rng, 60, 3, skill=0.8)
    llm: list[int | None] = [label if i % 2 else None for i, label in enumerate(truth)]
    result = alt_test(rows, llm)
    assert {row.n_items for row in result.annotators} == {30}


@pytest.mark.parametrize(
    ("rows", "llm", "options"),
    [
        ([[0, 1]] * 40, [0] * 40, {}),
        ([[0, 1, 1]] * 40, [0] * 39, {}),
        ([[0, 1, 1]] * 39 + [[0, 1]], [0] * 40, {}),
        ([], [], {}),
        ([[0, 1, 1]] * 40, [0] * 40, {"epsilon": 1.5}),
        ([[0, 1, 1]] * 40, [0] * 40, {"q": 0.0}),
        ([[0, 1, 1]] * 40, [0] * 40, {"min_items": 1}),
        ([[0, 1, 1]] * 40, [0] * 40, {"alignment": "cosine"}),
        ([[0, 1, 1]] * 40, [0] * 40, {"annotator_names": ["a", "b"]}),
        ([[0, 1, 1]] * 20, [0] * 20, {}),  # nobody reaches min_items=30
    ],
)
def test_bad_input_is_a_config_error(rows, llm, options):
    with pytest.raises(ConfigError):
        alt_test(rows, llm, **options)


def test_gpt35_on_the_pandalm_test_set_is_well_formed():
    human = json.loads(shared("pandalm_testset/testset-v1.json").read_text())
    gpt = json.loads(shared("pandalm_testset/gpt-3.5-turbo-testset-v1.json").read_text())
    # GPT-3.5's answers are "1", "2", "Tie" or "garbage" (unparsed); humans use 1, 2 and 0 for a tie.
    gpt_label = {"1": 1, "2": 2, "Tie": 0}
    by_idx = {row["idx"]: gpt_label.get(row["gpt_result"]) for row in gpt}
    rows = [[row[f"annotator{k}"] for k in (1, 2, 3)] for row in human]
    llm = [by_idx[row["idx"]] for row in human]
    for epsilon in (0.2, 0.1):
        result = alt_test(rows, llm, epsilon=epsilon)
        assert_consistent(result, 3)
        assert result.n_tested == 3
        assert all(row.n_items == sum(label is not None for label in llm) for row in result.annotators)
