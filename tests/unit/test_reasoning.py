"""jurist.reasoning: the answer normaliser on hand-made cases, the equivalence judge asked only when it cannot
decide, step splitting and verification with a scripted backend, and ProcessBench's metrics by hand."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from jurist.backends.base import GenerateRequest
from jurist.backends.fake import FakeBackend
from jurist.errors import BackendError, ConfigError, InputError
from jurist.files import read_jsonl
from jurist.reasoning import (
    compare_answers,
    equivalent,
    example_path,
    processbench,
    split_steps,
    verify_steps,
)
from jurist.run.engine import JobOptions
from jurist.run.log import read_run

NO_CACHE = JobOptions(cache=False)


@pytest.mark.parametrize(
    ("response", "reference", "result", "path"),
    [
        ("(B)", "b", "equal", "choice"),
        ("answer: b", "B)", "equal", "choice"),
        ("The answer is C.", "(B)", "different", "choice"),
        ("1,250", "1250", "equal", "number"),
        ("50%", "0.5", "equal", "number"),
        ("50 percent", "50", "equal", "number"),
        ("3/4", "0.75", "equal", "number"),
        ("1.2e3", "1200", "equal", "number"),
        ("$12", "12 dollars", "equal", "number"),
        ("12 cm", "12", "equal", "number"),
        ("7", "8", "different", "number"),
        ("3.14", "3.14159", "different", "number"),
        ("150 cm", "1.5 m", "undecided", "none"),  # a unit conversion: for the judge
        ("2x + 2", "2(x+1)", "equal", "algebra"),
        ("(x-1)(x+1)", "x^2 - 1", "equal", "algebra"),
        ("x^2", "2x", "different", "algebra"),
        ("\\boxed{\\frac{1}{2}}", "0.5", "equal", "algebra"),
        ("x = 4", "4", "equal", "algebra"),
        ("Paris.", "paris", "equal", "text"),
        ("on", "no", "undecided", "none"),  # words are not products of one-letter variables
        ("Paris", "Lyon", "undecided", "none"),
        ("seven", "B", "undecided", "none"),
        ("", "4", "undecided", "none"),
    ],
)
def test_the_normaliser_decides_hand_made_cases(response: str, reference: str, result: str, path: str) -> None:
    match = compare_answers(response, reference)
    assert (match.result, match.path) == (result, path)


def test_the_parser_never_evaluates_python() -> None:
    # anything beyond numbers, one-letter variables and arithmetic is left undecided, never run
    assert compare_answers("__import__('os')", "0").result == "undecided"
    assert compare_answers("2**1000000", "0").result == "undecided"  # a huge power is not computed
    assert compare_answers("x^(10^9)", "x").result == "undecided"


def _equivalence_reply(request: GenerateRequest) -> str:
    text = request.messages[-1].content
    return "Same length.\n[[EQUIVALENT]]" if "150 cm" in text or "Paris, the French" in text else "[[DIFFERENT]]"


def test_equivalence_asks_the_judge_only_when_undecided(tmp_path: Path) -> None:
    backend = FakeBackend(_equivalence_reply)
    report = equivalent(example_path("equivalence"), out=tmp_path / "eq", model=backend, options=NO_CACHE)
    # e7 (a unit conversion) and e8 (a sentence) are the only ones the normaliser leaves undecided
    assert len(backend.requests) == 2
    assert report.paths == {"number": 2, "choice": 2, "algebra": 2, "judge": 2}
    assert (report.total, report.failed, report.labelled, report.correct) == (8, 0, 8, 8)
    verdicts = {v.id: v for v in read_run(tmp_path / "eq").verdicts}
    assert verdicts["e7"].strategy is not None and verdicts["e7"].strategy["path"] == "judge"
    assert verdicts["e3"].outcome is not None and verdicts["e3"].outcome.decision() is not None
    written = json.loads((tmp_path / "eq" / "equivalence.json").read_text())
    assert written["paths"]["judge"] == 2


def test_equivalence_without_a_model_leaves_the_undecided_without_outcome(tmp_path: Path) -> None:
    report = equivalent(example_path("equivalence"), out=tmp_path / "eq")
    assert report.results["undecided"] == 2 and report.labelled == 6
    undecided = [v for v in read_run(tmp_path / "eq").verdicts if v.outcome is None]
    assert sorted(v.id for v in undecided) == ["e7", "e8"]


def test_an_unreadable_judge_answer_is_a_counted_failure(tmp_path: Path) -> None:
    report = equivalent(
        example_path("equivalence"), out=tmp_path / "eq", model=FakeBackend("no idea"), options=NO_CACHE
    )
    assert report.failed == 2 and report.results["failed"] == 2


def test_steps_split_at_numbers_paragraphs_lines_or_a_separator() -> None:
    assert split_steps("Plan first.\n1. a = 2\n2) b = 3\nStep 3: a + b = 5") == [
        "Plan first.",
        "1. a = 2",
        "2) b = 3",
        "Step 3: a + b = 5",
    ]
    assert split_steps("First we add.\nStill adding.\n\nThen we divide.") == [
        "First we add.\nStill adding.",
        "Then we divide.",
    ]
    assert split_steps("a\nb\n\n") == ["a", "b"]
    assert split_steps("a ;; b ;; c", separator=";;") == ["a", "b", "c"]


def _wrong_arithmetic(request: GenerateRequest) -> str:
    """A scripted verifier that checks `p * q = r` and `p + q = r` in the step under review, and the one
    conceptual slip the examples hold (the mean of two speeds; n * 180 for an n-gon's angles)."""
    step = request.messages[-1].content.split("# Step under review")[1]
    step = step.split("\n", 1)[1].split("\n\nAnswer with")[0]
    if "mean of the two speeds" in step or "n * 180 degrees" in step:
        return "[[INCORRECT]]"
    for a, op, b, c in re.findall(r"(\d+) ([*+/-]) (\d+) = (\d+)", step):
        value = {"*": int(a) * int(b), "+": int(a) + int(b), "-": int(a) - int(b), "/": int(a) / int(b)}[op]
        if value != int(c):
            return "[[INCORRECT]]"
    if "x = 6" in step and "Divide" in step:
        return "[[INCORRECT]]"
    return "[[CORRECT]]"


def test_step_verification_finds_the_first_error_and_scores_processbench(tmp_path: Path) -> None:
    backend = FakeBackend(_wrong_arithmetic)
    report = verify_steps(example_path("steps"), out=tmp_path / "steps", model=backend, options=NO_CACHE)
    gold = {r["id"]: r["label"] for _, r in read_jsonl(example_path("steps"))}
    verdicts = {v.id: v for v in read_run(tmp_path / "steps").verdicts}
    for item_id, first in gold.items():
        record = verdicts[item_id].strategy
        assert record is not None
        assert record["first_error"] == (None if first < 0 else first), item_id
        assert len(record["labels"]) == len(record["steps"])
    assert report.metrics is not None
    assert (report.metrics.error_accuracy, report.metrics.correct_accuracy, report.metrics.f1) == (1.0, 1.0, 1.0)
    labelled_steps = sum(len((v.strategy or {})["labels"]) for v in verdicts.values())
    assert report.calls == len(backend.requests) == labelled_steps
    # the earlier steps are the context of a later one
    assert "Step 1: 1. Each pen costs $3." in backend.requests[1].messages[-1].content


def test_stopping_at_the_first_error_leaves_later_steps_unlabelled(tmp_path: Path) -> None:
    backend = FakeBackend(_wrong_arithmetic)
    rows = [{"id": "s", "prompt": "p", "response": "1. 2 + 2 = 5\n2. 5 + 1 = 6\n3. done", "label": 0}]
    verify_steps(rows, out=tmp_path / "s", model=backend, options=NO_CACHE, stop_at_first_error=True)
    (verdict,) = read_run(tmp_path / "s").verdicts
    assert verdict.strategy is not None and verdict.strategy["labels"] == ["incorrect", None, None]
    assert len(backend.requests) == 1


def test_an_empty_separator_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="separator"):
        verify_steps([], out=tmp_path / "s", model=FakeBackend("x"), separator="")


def test_processbench_metrics_by_hand() -> None:
    # erroneous: gold 2, 0, 1, 3 -> hits at 2 and 1 (0 predicted -1, 3 failed): 2/4
    # correct: gold -1 x 3 -> hits twice (one predicted 1): 2/3; F1 = 2 * 0.5 * (2/3) / (0.5 + 2/3) = 4/7
    score = processbench([2, -1, 1, None, -1, 1, -1], [2, 0, 1, 3, -1, -1, -1])
    assert score.error_accuracy == 0.5
    assert score.correct_accuracy == pytest.approx(2 / 3)
    assert score.f1 == pytest.approx(4 / 7)
    assert (score.n_erroneous, score.n_correct, score.failed) == (4, 3, 1)
    assert processbench([-1], [-1]).f1 is None  # no erroneous solutions: no F1
    with pytest.raises(ValueError):
        processbench([1], [1, 2])


# -- the commands (invoked directly: the lead registers them in `jurist`) -------------------------------------------


def test_equivalence_command_with_the_normaliser_only(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from jurist.cli.equivalence import equivalence as command

    result = CliRunner().invoke(
        command, [str(example_path("equivalence")), "--no-judge", "--out", str(tmp_path / "eq")]
    )
    assert result.exit_code == 0, result.output
    assert "8 answers: different 2, equal 4, undecided 2" in result.output
    assert "accuracy 1.000 on 6 labelled" in result.output


def test_equivalence_command_refuses_items_without_a_response(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from jurist.cli.equivalence import equivalence as command

    data = tmp_path / "bad.jsonl"
    data.write_text(json.dumps({"id": "a", "prompt": "2+2?", "reference": "4"}) + "\n")
    result = CliRunner().invoke(command, [str(data), "--no-judge", "--out", str(tmp_path / "eq")])
    assert result.exit_code == 2
    assert "response" in result.output and "Traceback" not in result.output


def test_verify_steps_command_scores_processbench(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from jurist.cli.verify_steps import verify_steps as command

    rows = [
        {"id": "ok", "prompt": "2+3?", "response": "1. 2 + 3 = 5\n2. So 5.", "label": -1},
        {"id": "bad", "prompt": "2+3?", "response": "1. 2 + 3 = 6\n2. So 6.", "label": 0},
    ]
    data = tmp_path / "s.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in rows))
    # a recorded verifier: each step under review, found by its text, gets its label
    records = [
        ("1. 2 + 3 = 5", "CORRECT"),
        ("2. So 5.", "CORRECT"),
        ("1. 2 + 3 = 6", "INCORRECT"),
        ("2. So 6.", "NEUTRAL"),
    ]
    replay = tmp_path / "replay.jsonl"
    replay.write_text(
        "".join(
            json.dumps({"texts": [f")\n{text}\n\nAnswer"], "completion": f"[[{label}]]"}) + "\n"
            for text, label in records
        )
    )
    result = CliRunner().invoke(command, [str(data), "--model", f"replay:{replay}", "--out", str(tmp_path / "run")])
    assert result.exit_code == 0, result.output
    assert "2 solutions: 0 failed, 1 with an error found" in result.output
    assert "error accuracy 1.000 (n=1), correct accuracy 1.000 (n=1), F1 1.000 (0 failed" in result.output
    assert "4 model calls" in result.output


@pytest.mark.parametrize(
    ("row", "field"),
    [
        ({"id": "a", "prompt": "p", "response": "4"}, "reference"),
        ({"id": "a", "prompt": "p", "response": "4", "reference": "4", "label": 2}, "label"),
    ],
)
def test_equivalence_refuses_bad_items_naming_the_line(tmp_path: Path, row: dict[str, object], field: str) -> None:
    data = tmp_path / "bad.jsonl"
    data.write_text(json.dumps({"id": "ok", "prompt": "p", "response": "1", "reference": "1"}) + "\n" + json.dumps(row))
    with pytest.raises(InputError) as caught:
        equivalent(data, out=tmp_path / "eq")
    assert (caught.value.line, caught.value.field) == (2, field)


def test_step_labels_must_be_first_error_indices(tmp_path: Path) -> None:
    rows = [{"id": "a", "prompt": "p", "response": "1. x\n2. y", "label": 1.5}]
    with pytest.raises(InputError, match="first wrong step"):
        verify_steps(rows, out=tmp_path / "s", model=FakeBackend("[[CORRECT]]"), options=NO_CACHE)


def test_a_backend_failure_on_one_step_fails_that_solution_only(tmp_path: Path) -> None:
    def flaky(request: GenerateRequest) -> str:
        if "2 + 3 = 6" in request.messages[-1].content.split("# Step under review")[1]:
            raise BackendError("server error", retryable=False)
        return "[[CORRECT]]"

    rows = [
        {"id": "ok", "prompt": "p", "response": "1. 2 + 3 = 5\n2. done", "label": -1},
        {"id": "bad", "prompt": "p", "response": "1. 2 + 3 = 6\n2. done", "label": 0},
    ]
    report = verify_steps(rows, out=tmp_path / "s", model=FakeBackend(flaky), options=JobOptions(cache=False))
    assert report.failed == 1 and report.metrics is not None
    assert (report.metrics.error_accuracy, report.metrics.correct_accuracy, report.metrics.failed) == (0.0, 1.0, 1)
