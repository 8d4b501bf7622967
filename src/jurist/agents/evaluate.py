"""`jurist trajectory`: judge agent trajectories into a run directory and write trajectory.json, the requirements'
results counted and, where items carry gold labels (`gold`: one label a requirement), the agreement with them."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from pydantic import BaseModel

from .. import files
from ..api import ajudge, sync_twin
from ..backends.base import Backend
from ..data.load import DataSource, load_data
from ..errors import ConfigError, InputError
from ..outcomes import Score
from ..rubrics import Rubric, load_rubric
from ..run.engine import JobOptions
from ..run.log import read_run
from ..types import Verdict
from .judge import LABELS, TrajectoryJudge, check_rubric, requirements_for

REPORT_FILE = "trajectory.json"


class TrajectoryReport(BaseModel):
    """What `ajudge_trajectories` found. `gold_agreement` is the share of requirements (of items that carry
    `gold` labels) whose label matched; a failed item's requirements count as wrong (`gold_failed` of them)."""

    out: Path
    total: int
    failed: int
    requirements: dict[str, int]  # label -> how many requirements got it
    mean_score: float | None
    gold_requirements: int
    gold_failed: int
    gold_agreement: float | None
    calls: int


async def ajudge_trajectories(
    data: DataSource,
    *,
    out: str | Path,
    model: str | Backend,
    criteria: str = "",
    rubric: str | Rubric | None = None,
    window_chars: int | None = None,
    options: JobOptions | None = None,
    max_tokens: int = 256,
    on_start: Callable[[int, int], None] | None = None,
    on_verdict: Callable[[Verdict], None] | None = None,
) -> TrajectoryReport:
    """Judge each item's `trajectory` against its `requirements` and as a whole into the run directory `out`
    (resumable), and write `out/trajectory.json`."""
    if window_chars is not None and window_chars < 1:
        raise ConfigError(f"the window is {window_chars} characters; give a positive number")
    if isinstance(rubric, str):
        rubric = load_rubric(rubric)
    check_rubric(rubric)
    loaded = load_data(data, "pointwise")
    for item in loaded.items:
        line = loaded.lines.get(item.id)
        if not item.trajectory:
            raise InputError(
                f"item '{item.id}' has no trajectory",
                file=loaded.path,
                line=line,
                field="trajectory",
                hint="give the agent's messages (OpenAI or Anthropic format) as a list in `trajectory`",
            )
        gold = item.metadata.get("gold")
        if gold is not None and (
            not isinstance(gold, list)
            or len(gold) != len(requirements_for(item, rubric))
            or any(label not in LABELS for label in gold)
        ):
            raise InputError(
                f"item '{item.id}': `gold` must give one of {', '.join(LABELS)} for each requirement",
                file=loaded.path,
                line=line,
                field="gold",
            )
    await ajudge(
        loaded,
        out=out,
        judge=lambda backend: TrajectoryJudge(
            backend, criteria=criteria, rubric=rubric, window_chars=window_chars, max_tokens=max_tokens
        ),
        model=model,
        options=options,
        on_start=on_start,
        on_verdict=on_verdict,
    )
    verdicts = read_run(out).verdicts
    counts = dict.fromkeys(LABELS, 0)
    scores: list[float] = []
    gold_total = gold_failed = gold_right = 0
    for verdict in verdicts:
        found = (verdict.strategy or {}).get("requirements") or []
        for result in found:
            counts[result["label"]] += 1
        if verdict.error is None and isinstance(verdict.outcome, Score) and verdict.outcome.score is not None:
            scores.append(verdict.outcome.score)
        gold = (verdict.metadata or {}).get("gold")
        if isinstance(gold, list):
            gold_total += len(gold)
            if verdict.error is not None:
                gold_failed += len(gold)
            else:
                gold_right += sum(g == r["label"] for g, r in zip(gold, found, strict=True))
    report = TrajectoryReport(
        out=Path(out),
        total=len(verdicts),
        failed=sum(v.error is not None for v in verdicts),
        requirements=counts,
        mean_score=sum(scores) / len(scores) if scores else None,
        gold_requirements=gold_total,
        gold_failed=gold_failed,
        gold_agreement=gold_right / gold_total if gold_total else None,
        calls=sum(v.usage.calls for v in verdicts),
    )
    files.write_atomic(Path(out) / REPORT_FILE, report.model_dump_json(indent=2))
    return report


judge_trajectories = sync_twin(ajudge_trajectories)
