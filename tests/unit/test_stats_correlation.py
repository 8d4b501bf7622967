"""Item-, group- and system-level correlations, on hand-checkable cases and on SummEval's expert scores."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from jurist.errors import ConfigError, InputError
from jurist.stats import correlate, correlation_report

from .helpers import shared


def test_correlate_hand_cases() -> None:
    x = [1.0, 2.0, 3.0, 4.0]
    assert correlate(x, [2.0, 4.0, 6.0, 8.0]) == pytest.approx(1.0)
    assert correlate(x, [8.0, 6.0, 4.0, 2.0], method="spearman") == pytest.approx(-1.0)
    # Monotone but not linear: ranks agree perfectly, values do not lie on a line.
    cubes = [v**3 for v in x]
    assert correlate(x, cubes, method="spearman") == pytest.approx(1.0)
    assert correlate(x, cubes, method="pearson") < 0.99
    # One discordant pair (2 vs 3) out of 6: tau = (5 - 1) / 6.
    assert correlate(x, [1.0, 3.0, 2.0, 4.0], method="kendall") == pytest.approx(4 / 6)


def test_correlate_is_nan_for_constant_input() -> None:
    assert math.isnan(correlate([1, 2, 3], [5, 5, 5]))
    assert math.isnan(correlate([3, 3, 3], [1, 2, 3], method="kendall"))


def test_bad_inputs_raise() -> None:
    with pytest.raises(ConfigError, match="unknown correlation method"):
        correlate([1, 2], [1, 2], method="cosine")
    with pytest.raises(ConfigError, match="empty"):
        correlation_report([], [])
    with pytest.raises(InputError, match="NaN"):
        correlation_report([1.0, float("nan"), 3.0], [1.0, 2.0, 3.0])
    with pytest.raises(InputError, match="groups has 2 entries"):
        correlation_report([1.0, 2.0, 3.0], [1.0, 2.0, 3.0], groups=["a", "b"])


def test_group_level_averages_groups_and_skips_constant_ones() -> None:
    human = [1, 2, 3, 1, 2, 3, 1, 2, 3]
    judge = [1, 2, 3, 3, 2, 1, 4, 4, 4]  # group a: +1, group b: -1, group c: judge constant
    groups = ["a"] * 3 + ["b"] * 3 + ["c"] * 3
    report = correlation_report(human, judge, groups=groups, methods=("pearson",), n_resamples=200)
    assert report.n_groups == 3 and report.groups_used == 2 and report.groups_skipped == 1
    group = report.by_method["pearson"].group
    assert group is not None
    assert group.value == pytest.approx(0.0)
    assert group.n == 2
    assert group.low == pytest.approx(-1.0) and group.high == pytest.approx(1.0)
    assert "1 skipped" in report.render()


def test_system_level_matches_pandas_means() -> None:
    rng = np.random.default_rng(4)
    systems = np.repeat([f"sys{i}" for i in range(6)], 20)
    quality = np.repeat(rng.normal(size=6), 20)
    human = quality + rng.normal(scale=0.5, size=systems.size)
    judge = quality + rng.normal(scale=0.8, size=systems.size)
    report = correlation_report(
        human, judge, systems=systems.tolist(), methods=("spearman", "kendall"), n_resamples=200
    )

    means = pd.DataFrame({"system": systems, "human": human, "judge": judge}).groupby("system").mean()
    for method in ("spearman", "kendall"):
        system = report.by_method[method].system
        assert system is not None
        assert system.value == pytest.approx(means["human"].corr(means["judge"], method=method))
        assert system.method == "stratified percentile"
        assert system.low <= system.value <= system.high
    assert report.n_systems == 6
    assert report.by_method["spearman"].group is None


def test_item_level_interval_is_deterministic_for_a_seed() -> None:
    rng = np.random.default_rng(7)
    human = rng.normal(size=60)
    judge = human + rng.normal(size=60)
    first = correlation_report(human, judge, methods=("pearson",), n_resamples=200, seed=3)
    again = correlation_report(human, judge, methods=("pearson",), n_resamples=200, seed=3)
    assert first.by_method["pearson"].item == again.by_method["pearson"].item
    item = first.by_method["pearson"].item
    assert item.value == pytest.approx(np.corrcoef(human, judge)[0, 1])
    assert item.low < item.value < item.high


def test_summary_level_on_summeval_matches_an_independent_computation() -> None:
    frame = pd.read_json(shared("summeval/summeval.jsonl"), lines=True)
    frame = frame[["article_id", "coherence", "relevance"]]
    report = correlation_report(
        frame["coherence"].to_numpy(),
        frame["relevance"].to_numpy(),
        groups=frame["article_id"].tolist(),
        methods=("spearman", "kendall"),
        n_resamples=100,
    )
    for method in ("spearman", "kendall"):
        # pandas gives NaN for an article where either side is constant; mean() skips those, as the protocol does.
        per_article = pd.Series(
            {
                article: rows["coherence"].corr(rows["relevance"], method=method)
                for article, rows in frame.groupby("article_id")
            }
        )
        group = report.by_method[method].group
        assert group is not None
        assert group.value == pytest.approx(per_article.mean(), abs=1e-9)
        assert report.groups_used == per_article.notna().sum()
        assert group.low < group.value < group.high
    assert report.n == len(frame)
    assert report.n_groups == frame["article_id"].nunique()


def test_joint_counts_equal_correlate_on_the_same_pairs() -> None:
    from jurist.stats.correlation import JointCounts

    rng = np.random.default_rng(3)
    judge = rng.integers(1, 6, 400).astype(float)
    human = np.clip(judge + rng.integers(-2, 3, 400), 1, 5)
    expected = judge + rng.normal(0, 0.4, 400)  # continuous: every pair distinct
    scores, continuous = JointCounts(), JointCounts()
    for j, h, e in zip(judge, human, expected, strict=True):
        scores.add(j, h)
        continuous.add(e, h)
    assert len(scores.counts) <= 25 and scores.n == 400
    for method in ("spearman", "pearson"):
        assert scores.correlate(method) == pytest.approx(correlate(judge, human, method), abs=1e-12)
        assert continuous.correlate(method) == pytest.approx(correlate(expected, human, method), abs=1e-12)
    assert scores.decimals is None and continuous.decimals is None


def test_joint_counts_past_the_cap_bin_both_values_and_say_to_how_many_decimals() -> None:
    from jurist.stats.correlation import JointCounts

    rng = np.random.default_rng(4)
    human = rng.integers(1, 6, 3000).astype(float)
    expected = human + rng.normal(0, 0.5, 3000)
    joint = JointCounts(cap=500)
    for e, h in zip(expected, human, strict=True):
        joint.add(e, h)
    assert joint.decimals is not None and len(joint.counts) <= 500 and joint.n == 3000
    # binning in steps as the pairs came equals binning every value once at the final decimals
    scale = 10.0**joint.decimals
    binned_e, binned_h = np.floor(expected * scale), np.floor(human * scale)
    assert joint.correlate("spearman") == pytest.approx(correlate(binned_e, binned_h, "spearman"), abs=1e-12)
    assert joint.correlate("pearson") == pytest.approx(correlate(binned_e, binned_h, "pearson"), abs=1e-12)
    assert joint.correlate("spearman") == pytest.approx(correlate(expected, human, "spearman"), abs=0.02)


def test_joint_counts_of_a_constant_side_are_undefined() -> None:
    from jurist.stats.correlation import JointCounts

    joint = JointCounts()
    for value in (1.0, 2.0, 3.0):
        joint.add(value, 4.0)
    assert not joint.varies() and math.isnan(joint.correlate("spearman"))
