"""Checklist rubrics: several criteria judged in one call, one score each and their mean."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from jurist import FakeBackend, JudgeConfig, make_judge
from jurist.rubrics import load_rubric
from jurist.types import Item

ITEM = Item(id="1", prompt="List two prime numbers.", response="2 and 9")
CRITERIA = ["correctness", "completeness", "instruction_following", "clarity"]


def test_one_call_scores_every_criterion() -> None:
    answer = {"scores": {"correctness": "2", "completeness": "5", "instruction_following": "5", "clarity": "4"}}
    backend = FakeBackend([json.dumps({**answer, "rationale": "9 is not prime"})])
    judge = make_judge(backend, JudgeConfig(mode="pointwise", rubric="checklist_quality"))
    verdict = asyncio.run(judge(ITEM))
    assert verdict.error is None and len(backend.requests) == 1
    assert verdict.outcome.criteria == {"correctness": 2, "completeness": 5, "instruction_following": 5, "clarity": 4}
    assert verdict.outcome.score == 4.0 and verdict.outcome.choice is None and verdict.rationale == "9 is not prime"
    request = backend.requests[0]
    prompt = request.messages[-1].content
    assert all(f"- {name}: " in prompt for name in CRITERIA) and "on each criterion" in prompt
    assert request.json_schema is not None
    assert request.json_schema["properties"]["scores"]["required"] == CRITERIA


def test_a_missing_criterion_is_a_parse_failure_not_a_guess() -> None:
    backend = FakeBackend([json.dumps({"scores": {"correctness": "2", "completeness": "5", "clarity": "9"}})])
    verdict = asyncio.run(make_judge(backend, JudgeConfig(mode="pointwise", rubric="checklist_quality"))(ITEM))
    assert verdict.error is not None and verdict.error.reason == "parse_failure"
    assert verdict.outcome is None and verdict.raw


def test_user_checklist_in_yaml(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(
        "name: c\nscale: binary\ncriteria: Check each.\nchecklist:\n  cites: Does it cite a source?\n"
        "  polite: Is it polite?\n"
    )
    assert load_rubric(str(path)).checklist == {"cites": "Does it cite a source?", "polite": "Is it polite?"}
    backend = FakeBackend(['{"scores": {"cites": "fail", "polite": "pass"}, "rationale": "r"}'])
    verdict = asyncio.run(make_judge(backend, JudgeConfig(mode="pointwise", rubric=str(path)))(ITEM))
    assert verdict.outcome.criteria == {"cites": 0, "polite": 1} and verdict.outcome.score == 0.5
