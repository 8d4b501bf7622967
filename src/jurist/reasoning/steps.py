"""Step verification: a solution (an item's `response`, the problem its `prompt`) is split into steps and a model
judges each in the context of the earlier ones: correct, incorrect or neutral. The verdict is a Score whose
`score` is the index of the first incorrect step (0-based) or -1 when there is none, as ProcessBench labels them;
`Verdict.strategy` holds the steps' labels (`labels`) and `first_error`. An item's `label`, where given, is the
gold first-error index, and `averify_steps` reports ProcessBench's metrics against it."""

from __future__ import annotations

import functools
import hashlib
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal, cast

from pydantic import BaseModel

from .. import files
from ..api import ajudge, sync_twin
from ..backends.base import Backend
from ..data.load import DataSource, load_data
from ..errors import BackendError, ConfigError, InputError
from ..judges.base import JudgeSpec
from ..judges.labels import ask_label, reads_probabilities
from ..outcomes import Score
from ..prompts import prompt_set
from ..run.engine import JobOptions
from ..run.log import read_run
from ..types import ErrorInfo, Item, Usage, Verdict
from .metrics import ProcessBenchScore, processbench

StepLabel = Literal["correct", "incorrect", "neutral"]
STEP_LABELS: tuple[StepLabel, ...] = ("correct", "incorrect", "neutral")
REPORT_FILE = "steps.json"
STRATEGY = "step-verification"

_NUMBERED = re.compile(r"^\s*(?:step\s*)?\d+\s*[.):]\s*", re.I | re.M)


def split_steps(solution: str, separator: str | None = None) -> list[str]:
    """The steps of `solution`: split at `separator` where given; else at numbered lines ("1.", "Step 2:") where
    there are two or more; else at blank lines where there are two or more paragraphs; else one step a line."""
    if separator:
        parts = solution.split(separator)
    else:
        starts = [m.start() for m in _NUMBERED.finditer(solution)]
        if len(starts) >= 2:
            # text before the first number is a step of its own (an introduction)
            bounds = [0, *starts] if solution[: starts[0]].strip() else starts
            parts = [solution[a:b] for a, b in zip(bounds, [*bounds[1:], len(solution)], strict=True)]
        else:
            parts = [part for part in re.split(r"\n\s*\n", solution) if part.strip()]
            if len(parts) < 2:
                parts = solution.splitlines()
    return [part.strip() for part in parts if part.strip()]


class StepJudge:
    """Judges each step of an item's solution in context, one call per step, in order; with `stop_at_first_error`
    it stops at the first incorrect step (the later ones are left unlabelled, None)."""

    def __init__(
        self,
        backend: Backend,
        *,
        separator: str | None = None,
        stop_at_first_error: bool = False,
        max_tokens: int = 256,
    ) -> None:
        self.backend = backend
        self.separator = separator
        self.stop_at_first_error = stop_at_first_error
        self.max_tokens = max_tokens
        self.prompts = prompt_set("reasoning")

    @functools.cached_property
    def spec(self) -> JudgeSpec:
        prompt = self.prompts.text("step")
        return JudgeSpec(
            mode="pointwise",
            identity={
                "judge": STRATEGY,
                "backend": self.backend.name,
                "prompt": hashlib.sha256(prompt.encode()).hexdigest()[:16],
                "separator": self.separator,
                "stop_at_first_error": self.stop_at_first_error,
                "max_tokens": self.max_tokens,
                "labels_from": "token probabilities" if reads_probabilities(self.backend) else "text",
            },
        )

    async def __call__(self, item: Item) -> Verdict:
        steps = split_steps(item.response or "", self.separator)
        if not steps:
            error = ErrorInfo(reason="parse_failure", message="the solution has no steps")
            return Verdict(id=item.id, mode="pointwise", error=error)
        labels: list[StepLabel | None] = [None] * len(steps)
        probabilities: list[dict[str, float] | None] = [None] * len(steps)
        raw: list[str] = []
        usage = Usage()
        for index, step in enumerate(steps):
            earlier = "\n".join(f"Step {i + 1}: {s}" for i, s in enumerate(steps[:index])) or "(none)"
            text = self.prompts.render("step", problem=item.prompt, earlier=earlier, number=index + 1, step=step)
            try:
                answer = await ask_label(self.backend, text, STEP_LABELS, max_tokens=self.max_tokens)
            except BackendError as exc:
                if exc.fatal:
                    raise
                error = ErrorInfo(reason=exc.reason, message=f"step {index}: {exc}", retryable=exc.retryable)
                return Verdict(id=item.id, mode="pointwise", error=error, raw=raw, usage=usage)
            raw.append(answer.reply.text)
            usage = usage + answer.reply.usage
            if answer.label is None:
                error = ErrorInfo(reason="parse_failure", message=f"step {index}: no [[CORRECT/INCORRECT/NEUTRAL]]")
                return Verdict(id=item.id, mode="pointwise", error=error, raw=raw, usage=usage)
            labels[index] = cast(StepLabel, answer.label)
            probabilities[index] = answer.probabilities
            if labels[index] == "incorrect" and self.stop_at_first_error:
                break
        first = next((i for i, label in enumerate(labels) if label == "incorrect"), -1)
        record: dict[str, Any] = {
            "name": STRATEGY,
            "steps": steps,
            "labels": labels,
            # P(correct/incorrect/neutral) of each step, where read from token probabilities
            "probabilities": probabilities,
            "first_error": None if first < 0 else first,
        }
        outcome = Score(score=float(first), choice="error" if first >= 0 else "no_error")
        return Verdict(id=item.id, mode="pointwise", outcome=outcome, raw=raw, usage=usage, strategy=record)


class StepReport(BaseModel):
    """What `averify_steps` found: how many solutions it judged, failed on, and found an error in; ProcessBench's
    metrics where items carry a gold first-error index (`label`, -1 for a correct solution)."""

    out: Path
    total: int
    failed: int
    with_error: int
    calls: int
    metrics: ProcessBenchScore | None = None


async def averify_steps(
    data: DataSource,
    *,
    out: str | Path,
    model: str | Backend,
    separator: str | None = None,
    stop_at_first_error: bool = False,
    options: JobOptions | None = None,
    max_tokens: int = 256,
    on_start: Callable[[int, int], None] | None = None,
    on_verdict: Callable[[Verdict], None] | None = None,
) -> StepReport:
    """Verify the steps of each item's solution (`prompt` the problem, `response` the solution) into the run
    directory `out` (resumable) and write `out/steps.json`."""
    if separator == "":
        raise ConfigError("the step separator is empty; give a string such as '\\n\\n' or leave it out")
    loaded = load_data(data, "pointwise")
    for item in loaded.items:
        label = item.label
        if label is not None and not (isinstance(label, int | float) and float(label).is_integer() and label >= -1):
            raise InputError(
                f"item '{item.id}' has label {label!r}; a step label is the 0-based index of the first wrong step, "
                "or -1 for a correct solution",
                file=loaded.path,
                line=loaded.lines.get(item.id),
                field="label",
            )
    await ajudge(
        loaded,
        out=out,
        judge=lambda backend: StepJudge(
            backend, separator=separator, stop_at_first_error=stop_at_first_error, max_tokens=max_tokens
        ),
        model=model,
        options=options,
        on_start=on_start,
        on_verdict=on_verdict,
    )
    verdicts = read_run(out).verdicts
    predicted: list[int | None] = []
    gold: list[int] = []
    for verdict in verdicts:
        if isinstance(verdict.label, int | float):
            score = verdict.outcome.score if isinstance(verdict.outcome, Score) else None
            predicted.append(None if verdict.error is not None or score is None else int(score))
            gold.append(int(verdict.label))
    report = StepReport(
        out=Path(out),
        total=len(verdicts),
        failed=sum(v.error is not None for v in verdicts),
        with_error=sum(
            isinstance(v.outcome, Score) and v.outcome.score is not None and v.outcome.score >= 0 for v in verdicts
        ),
        calls=sum(v.usage.calls for v in verdicts),
        metrics=processbench(predicted, gold) if gold else None,
    )
    files.write_atomic(Path(out) / REPORT_FILE, report.model_dump_json(indent=2))
    return report


verify_steps = sync_twin(averify_steps)
