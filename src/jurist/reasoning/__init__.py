"""Judging reasoning: whether a final answer matches a reference (`answers`), whether each step of a solution is
right (`steps`), and ProcessBench's metrics (`metrics`)."""

from importlib import resources
from pathlib import Path

from .answers import (
    AnswerMatch,
    EquivalenceJudge,
    EquivalenceReport,
    aequivalent,
    compare_answers,
    equivalent,
)
from .metrics import ProcessBenchScore, processbench
from .steps import StepJudge, StepReport, averify_steps, split_steps, verify_steps


def example_path(name: str) -> Path:
    """A bundled example set, written by us: "steps" (solutions with their gold first-error step, -1 for none) or
    "equivalence" (answers, references and a gold 1 equal / 0 different)."""
    return Path(str(resources.files("jurist") / "reasoning" / "examples" / f"{name}.jsonl"))


__all__ = [
    "AnswerMatch",
    "EquivalenceJudge",
    "EquivalenceReport",
    "ProcessBenchScore",
    "StepJudge",
    "StepReport",
    "aequivalent",
    "averify_steps",
    "compare_answers",
    "equivalent",
    "example_path",
    "processbench",
    "split_steps",
    "verify_steps",
]
