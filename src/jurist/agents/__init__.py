"""Judging agent trajectories (`jurist trajectory`): requirements with evidence pointers and a whole-trajectory
score, over windows of a long trajectory (`judge`), and the command's report (`evaluate`). The trajectory's typed
form is jurist.trajectory."""

from importlib import resources
from pathlib import Path

from .evaluate import TrajectoryReport, ajudge_trajectories, judge_trajectories
from .judge import RequirementResult, TrajectoryJudge, digest, windows


def example_path() -> Path:
    """The bundled example set, written by us: small trajectories in OpenAI's and Anthropic's formats with their
    requirements and gold labels (`gold`)."""
    return Path(str(resources.files("jurist") / "agents" / "examples" / "trajectories.jsonl"))


__all__ = [
    "RequirementResult",
    "TrajectoryJudge",
    "TrajectoryReport",
    "ajudge_trajectories",
    "digest",
    "example_path",
    "judge_trajectories",
    "windows",
]
