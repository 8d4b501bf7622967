"""The run summary's agreement figures come from jurist.stats (one implementation of each correlation) and equal
scipy's reference functions."""

from __future__ import annotations

import json

import pytest
from scipy.stats import kendalltau, pearsonr, spearmanr

import jurist
from jurist import FakeBackend, JobOptions
from jurist.types import Usage

from .helpers import user_text

NO_CACHE = JobOptions(cache=False)


@pytest.fixture(autouse=True)
def _private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("JURIST_CACHE_DIR", str(tmp_path / "cache"))


def _score_of_response(request):
    response = user_text(request).split("# Response\n", 1)[1]
    return json.dumps({"score": response[1], "rationale": "r"})


def _pointwise_summary(tmp_path, judged, labels):
    """The summary of a pointwise run whose judge gives each item the score in `judged`."""
    rows = [
        {"id": f"i{k}", "prompt": f"q{k}", "response": f"r{score}", "label": label}
        for k, (score, label) in enumerate(zip(judged, labels, strict=True))
    ]
    result = jurist.judge(
        rows, out=tmp_path / "run", config="pointwise", model=FakeBackend(_score_of_response), options=NO_CACHE
    )
    return result.summary()


def test_pointwise_correlations_equal_scipys(tmp_path):
    judged = [1, 2, 2, 3, 5, 4, 1]
    labels = [1, 3, 2, 2, 5, 5, 2]
    summary = _pointwise_summary(tmp_path, judged, labels)
    assert summary.spearman == pytest.approx(spearmanr(judged, labels).statistic, abs=1e-12)
    assert summary.pearson == pytest.approx(pearsonr(judged, labels).statistic, abs=1e-12)


def test_a_summary_past_the_distinct_pairs_cap_says_its_correlations_are_binned(tmp_path, monkeypatch):
    from jurist.stats import correlation
    from jurist.summary import render_summary

    monkeypatch.setattr(correlation, "JOINT_CAP", 5)  # 7 distinct (score, label) pairs, 5 in whole numbers
    judged = [1, 2, 2, 3, 5, 4, 1]
    labels = [1.25, 2.5, 2.75, 3.5, 5.0, 4.25, 1.75]
    summary = _pointwise_summary(tmp_path, judged, labels)
    decimals = summary.correlation_decimals
    assert decimals == 0
    assert summary.spearman == pytest.approx(spearmanr(judged, [int(label) for label in labels]).statistic)
    assert summary.spearman != pytest.approx(spearmanr(judged, labels).statistic)
    assert f"binned at {decimals} decimals" in render_summary(summary)


def test_listwise_kendall_is_the_mean_of_scipys_tau_b(tmp_path):
    rows = [
        {"id": "1", "prompt": "p", "responses": ["x", "y", "z", "w"], "label": [2, 1, 4, 3]},
        {"id": "2", "prompt": "p", "responses": ["x", "y", "z", "w"], "label": [4, 3, 2, 1]},
    ]
    backend = FakeBackend(['{"ranking": [2, 1, 3, 4], "rationale": "r"}'])
    summary = jurist.judge(rows, out=tmp_path / "run", config="listwise", model=backend, options=NO_CACHE).summary()
    taus = []
    for label in ([2, 1, 4, 3], [4, 3, 2, 1]):
        predicted = [[2, 1, 3, 4].index(p) for p in sorted(label)]
        taus.append(kendalltau(predicted, [label.index(p) for p in sorted(label)]).statistic)
    assert summary.kendall == pytest.approx(sum(taus) / 2, abs=1e-12)


def test_usage_total_is_the_one_sum_of_usage():
    parts = [Usage(prompt_tokens=3, completion_tokens=1, cached_tokens=2, calls=1), Usage(prompt_tokens=5, calls=2)]
    assert Usage.total(parts) == Usage(prompt_tokens=8, completion_tokens=1, cached_tokens=2, calls=3)
    assert Usage.total(iter(parts)) == parts[0] + parts[1]
    assert Usage.total([]) == Usage()
