"""Issue 21's hot-path changes keep every figure: the run summary's Spearman correlations are computed without
scipy.stats (whose import costs about 1.5 s of CPU) and equal scipy's, value for value."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from scipy.stats import rankdata, spearmanr

import jurist
from jurist import FakeBackend, JobOptions
from jurist.backends import GenerateRequest
from jurist.stats.correlation import _average_ranks, correlate

from .helpers import user_text


@pytest.mark.parametrize("values", [[3.0, 1.0, 2.0], [1.0, 1.0, 1.0, 2.0], [5.0, 2.0, 5.0, 2.0, 5.0, -1.5, 0.0]])
def test_average_ranks_are_scipys(values: list[float]) -> None:
    x = np.asarray(values)
    assert _average_ranks(x).tolist() == rankdata(x).tolist()


def test_spearman_equals_scipys_on_tied_scores() -> None:
    rng = np.random.default_rng(0)
    for _ in range(50):
        judge, human = rng.integers(1, 6, 300).astype(float), rng.integers(1, 6, 300).astype(float)
        by_scipy = float(np.corrcoef(rankdata(judge), rankdata(human))[0, 1])  # the route used before
        assert correlate(judge, human, "spearman") == by_scipy
        assert correlate(judge, human, "spearman") == pytest.approx(spearmanr(judge, human).statistic, abs=1e-12)


def _score_of_response(request: GenerateRequest) -> str:
    response = user_text(request).split("# Response\n", 1)[1]
    return json.dumps({"score": response[1], "rationale": "r"})


def test_a_labelled_pointwise_summary_does_not_import_scipy_stats(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("JURIST_CACHE_DIR", str(tmp_path / "cache"))
    rows = [{"id": f"i{k}", "prompt": "q", "response": f"r{k % 5 + 1}", "label": (k * 7) % 5 + 1} for k in range(20)]
    out = tmp_path / "run"
    jurist.judge(rows, out=out, config="pointwise", model=FakeBackend(_score_of_response), options=JobOptions())
    code = (
        "import sys; from jurist.summary import summarize; s = summarize(sys.argv[1]); "
        "print(s.spearman is not None, s.pearson is not None, 'scipy.stats' in sys.modules)"
    )
    shown = subprocess.run([sys.executable, "-c", code, str(out)], capture_output=True, text=True)
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.split() == ["True", "True", "False"]
