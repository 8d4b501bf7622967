"""Length-controlled scoring (the audit's length_score mitigation): the fit recovers a judge's length
preference, and reading verdicts without it undoes what padding did."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any

import pytest

from jurist import ConfigError, FakeBackend, GenerateRequest, GenerateResponse, JobOptions, JudgeConfig
from jurist.audit import AuditOptions, audit, render_report
from jurist.audit.length_control import controlled_winner, fit_length
from jurist.outcomes import Preference
from jurist.types import Item, Verdict

from .helpers import logprob_capable, user_text, with_logprobs
from .test_audit_fakes import length_biased

_PAIR = re.compile(r"# Response A[^\n]*\n(?P<a>.*)\n\n# Response B[^\n]*\n(?P<b>.*)\n\nAnswer with only", re.S)
_SUM = re.compile(r"What is (\d+) plus (\d+)\?")
EXTRA = " Adding the two equal numbers gives exactly that, as you can check by counting."
CONTENT, LENGTH, SCALE = 0.5, 3.0, 65.0  # the fake's log-odds: a little for being right, a lot for length


def _right(prompt: str, response: str) -> float:
    found = _SUM.search(prompt)
    assert found is not None
    return float(re.search(rf"\b{int(found[1]) + int(found[2])}\b", response) is not None)


def log_odds(prompt: str, a: str, b: str) -> float:
    return CONTENT * (_right(prompt, a) - _right(prompt, b)) + LENGTH * math.tanh((len(a) - len(b)) / SCALE)


def length_loving() -> FakeBackend:
    """A judge whose probability for A is logistic in log_odds: it reads the answers a little, their length a lot."""

    def reply(request: GenerateRequest) -> GenerateResponse:
        text = user_text(request)
        pair = _PAIR.search(text)
        assert pair is not None, text[:300]
        p = 1 / (1 + math.exp(-log_odds(text, pair["a"], pair["b"])))
        winner = "A" if p > 0.5 else "B"
        return with_logprobs(json.dumps({"winner": winner}), winner, {"A": p, "B": 1 - p})

    return FakeBackend(reply, capabilities=logprob_capable())


def items(n: int = 12) -> list[dict[str, Any]]:
    """Sums whose right and wrong answers vary in length independently of which is right."""
    rows = []
    for i in range(n):
        x = 101 + i
        good = f"It is {2 * x}." + EXTRA * (i % 3)
        bad = f"The sum is {2 * x + 1}." + EXTRA * ((i // 2) % 3)
        a, b = (good, bad) if i % 2 == 0 else (bad, good)
        rows.append({"id": f"s{i}", "prompt": f"What is {x} plus {x}?", "response_a": a, "response_b": b})
        rows[-1]["label"] = "A" if i % 2 == 0 else "B"
    return rows


def _audit(tmp_path: Path, backend: FakeBackend, probes: list[str], mitigations: list[str], mode: str = "pairwise"):
    config = JudgeConfig(mode=mode, rationale="none", allow_tie=False)
    settings = AuditOptions(probes=probes, mitigations=mitigations, n_resamples=50)
    return audit(
        items(), out=tmp_path / "audit", config=config, model=backend, audit=settings, options=JobOptions(cache=False)
    )


def test_the_fit_recovers_a_length_preference_of_its_shape() -> None:
    pairs = []
    for row in items():
        item = Item(**row)
        p = 1 / (1 + math.exp(-log_odds(item.prompt, item.response_a or "", item.response_b or "")))
        pairs.append(
            (item, Verdict(id=item.id, mode="pairwise", outcome=Preference(winner="A", probs={"A": p, "B": 1 - p})))
        )
    fit = fit_length(pairs)
    assert fit is not None and fit.n == 12
    assert 2.0 < fit.coefficient < 4.0 and abs(fit.intercept) < 0.3
    # a verdict won by length alone goes to the right answer once length is taken out
    padded = Item(id="x", prompt="What is 1 plus 1?", response_a="It is 2.", response_b="It is 3." + EXTRA * 4)
    p = 1 / (1 + math.exp(-log_odds(padded.prompt, padded.response_a or "", padded.response_b or "")))
    verdict = Verdict(id="x", mode="pairwise", outcome=Preference(winner="B", probs={"A": p, "B": 1 - p}))
    assert p < 0.5 and controlled_winner(fit, padded, verdict) == "A"


def test_the_fit_needs_probabilities_and_differing_lengths() -> None:
    item = Item(id="x", prompt="q", response_a="aa", response_b="b")
    no_probs = Verdict(id="x", mode="pairwise", outcome=Preference(winner="A"))
    assert fit_length([(item, no_probs)] * 10) is None
    same = Verdict(id="x", mode="pairwise", outcome=Preference(winner="A", probs={"A": 0.7, "B": 0.3}))
    assert fit_length([(item, same)] * 10) is None  # one length difference: nothing to fit


def test_length_score_undoes_what_padding_did(tmp_path: Path) -> None:
    report = _audit(tmp_path, length_loving(), ["verbosity", "position"], ["length_score"])
    plain, controlled = report.result("verbosity").rate, report.result("verbosity", "length_score").rate
    assert plain is not None and controlled is not None
    assert plain.value < 0.5 and controlled.value == 1.0
    fit = report.length_fits["length_score"]
    assert 2.0 < fit.coefficient < 4.0 and fit.n == 12
    assert "length control (length_score)" in render_report(report)
    # no new judging: the arm reads the plain judge's runs
    assert not (tmp_path / "audit" / "runs" / "length_score").exists()


def test_length_score_is_refused_without_probabilities_or_pairs(tmp_path: Path) -> None:
    backend = length_biased()  # answers in text only: no logprobs
    with pytest.raises(ConfigError, match="length_score reads the judge's probabilities"):
        _audit(tmp_path, backend, ["verbosity"], ["length_score"])
    assert backend.requests == []
    with pytest.raises(ConfigError, match="length_score controls the length difference of a pair: pairwise only"):
        _audit(tmp_path, backend, ["verbosity"], ["length_score"], mode="pointwise")
