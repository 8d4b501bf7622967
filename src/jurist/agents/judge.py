"""Judging agent trajectories: each requirement of an item (`Item.requirements`) as satisfied, violated or not
enough evidence, with the step indices the judgment rests on, and the trajectory as a whole on a 1-5 scale.

Long trajectories are cut into windows of whole steps that fit `window_chars`. Each window is shown in full after a
deterministic digest of every earlier step (one line a step: its index, role, and the start of its text, calls and
result). A digest, not a model's summary: it costs no call, is the same on every run, cannot invent an event the
agent did not do, and keeps every step's index, so evidence pointers stay checkable; each step is still read in full
in its own window. Every step is shown in full in exactly one window; a step that cannot fit with the digest
before it is a recorded error of the item (`context_overflow`), never cut.

A requirement is asked once per window: violated where any window shows a violation, else satisfied where any
shows it met, else not enough evidence; its evidence is the steps cited by the windows that gave that answer.
Cited steps that do not exist, or that the judge was not shown, are dropped and kept apart (`invalid_evidence`).
The overall score is asked on the last window (the digest carries the rest), against `criteria` and a rubric's
criteria and descriptors; a checklist rubric's items are the requirements of items that give none. The verdict is
a Score (the overall 1-5); `Verdict.strategy` holds the requirements' results and the windows."""

from __future__ import annotations

import functools
import hashlib
import re
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel

from ..backends.base import Backend, GenerateRequest, GenerateResponse, Message
from ..errors import BackendError, ConfigError
from ..judges.base import JudgeSpec
from ..outcomes import Score
from ..prompts import prompt_set
from ..rubrics import Rubric
from ..trajectory import Step
from ..types import ErrorInfo, Item, Usage, Verdict

STRATEGY = "trajectory"
RequirementLabel = Literal["satisfied", "violated", "not_enough_evidence"]
LABELS: tuple[RequirementLabel, ...] = ("satisfied", "violated", "not_enough_evidence")
SCORES = ("1", "2", "3", "4", "5")
# each part of a digest line (text, call arguments, result) is cut to the first of these that leaves room
DIGEST_CHARS = (100, 40, 12)
DEFAULT_WINDOW_CHARS = 12_000
_EVIDENCE = re.compile(r"evidence\s*:\s*([^\n]*)", re.I)


class ContextOverflow(Exception):
    """A step that does not fit in a window with the digest before it."""


class RequirementResult(BaseModel):
    requirement: str
    label: RequirementLabel
    evidence: list[int]  # the steps the judgment rests on (checked: they exist and were shown)
    invalid_evidence: list[int] = []  # steps the judge cited that do not exist or it was not shown
    by_window: list[RequirementLabel]  # the answer of each window, in order


def digest(steps: list[Step], limit: int = DIGEST_CHARS[0]) -> str:
    """The earlier steps in one line each (every step named by its index, each part cut to `limit`), or "(none)"."""
    return "\n".join(step.render(limit) for step in steps) or "(none)"


@dataclass(frozen=True)
class Window:
    """Steps shown in full, after the digest of every earlier step, its parts cut to `digest_chars`."""

    steps: list[Step]
    digest_chars: int


def windows(steps: list[Step], window_chars: int) -> list[Window]:
    """The steps cut into windows of whole steps, in order: a window's steps in full plus the digest of all steps
    before it fit in `window_chars` (the digest's lines are cut shorter, down to DIGEST_CHARS[-1], where a longer
    digest would leave no room). Every step is in exactly one window. Raises ContextOverflow for a step that does not
    fit with the shortest digest before it."""
    found: list[Window] = []
    current: list[Step] = []
    limit = DIGEST_CHARS[0]
    used = len(digest([]))
    for step in steps:
        size = len(step.render()) + 1
        if current and used + size > window_chars:
            found.append(Window(current, limit))
            current = []
            earlier = steps[: step.index]
            limit = next((n for n in DIGEST_CHARS if len(digest(earlier, n)) + size <= window_chars), DIGEST_CHARS[-1])
            used = len(digest(earlier, limit))
        if used + size > window_chars:
            raise ContextOverflow(
                f"step {step.index} ({size} characters) does not fit in a window of {window_chars} characters "
                f"after the digest of the {step.index} steps before it ({used} characters)"
            )
        current.append(step)
        used += size
    if current:
        found.append(Window(current, limit))
    return found


def parse_evidence(text: str) -> list[int]:
    """The step numbers on the answer's last "Evidence:" line (none where there is none)."""
    lines = _EVIDENCE.findall(text)
    return sorted({int(n) for n in re.findall(r"\d+", lines[-1])}) if lines else []


def _label(text: str, labels: tuple[str, ...]) -> str | None:
    pattern = re.compile(r"\[\[\s*(" + "|".join(re.escape(label) for label in labels) + r")\s*\]\]", re.I)
    found = pattern.findall(text)
    return found[-1].lower() if found else None


def combine(answers: list[RequirementLabel]) -> RequirementLabel:
    """Violated where any window shows a violation, else satisfied where any shows it met."""
    for label in ("violated", "satisfied"):
        if label in answers:
            return label
    return "not_enough_evidence"


def check_rubric(rubric: Rubric | None) -> None:
    if rubric is not None and rubric.scale != "1-5":
        raise ConfigError(f"rubric '{rubric.name}' has scale {rubric.scale}; a trajectory is scored 1-5")


def requirements_for(item: Item, rubric: Rubric | None) -> list[str]:
    """The item's requirements, else the rubric's checklist (a checklist rubric names the checks for every item)."""
    if item.requirements:
        return item.requirements
    checklist = rubric.checklist if rubric is not None else {}
    return [f"{name}: {text}" for name, text in checklist.items()]


class TrajectoryJudge:
    """Judges an item's trajectory: one call per requirement and window, and one for the whole."""

    def __init__(
        self,
        backend: Backend,
        *,
        criteria: str = "",
        rubric: Rubric | None = None,
        window_chars: int | None = None,
        max_tokens: int = 256,
    ) -> None:
        check_rubric(rubric)
        self.backend = backend
        self.rubric = rubric
        if rubric is not None:  # its criteria and what each score means, for the overall score
            described = [f"{label}: {text}" for label, text in sorted(rubric.descriptors.items())]
            criteria = "\n".join(part for part in (criteria, rubric.criteria, *described) if part)
        self.criteria = criteria
        self.max_tokens = max_tokens
        if window_chars is None:
            # ~3 characters a token, leaving the prompt's own text and the answer their room
            length = backend.capabilities.context_length
            window_chars = DEFAULT_WINDOW_CHARS if length is None else max(1000, (length - max_tokens) * 3 - 2500)
        self.window_chars = window_chars
        self.prompts = prompt_set("trajectory")

    @functools.cached_property
    def spec(self) -> JudgeSpec:
        prompts = self.prompts.text("requirement") + self.prompts.text("overall")
        return JudgeSpec(
            mode="pointwise",
            identity={
                "judge": STRATEGY,
                "backend": self.backend.name,
                "prompt": hashlib.sha256(prompts.encode()).hexdigest()[:16],
                "criteria": self.criteria,
                "rubric": None if self.rubric is None else self.rubric.content_hash(),
                "window_chars": self.window_chars,
                "max_tokens": self.max_tokens,
            },
        )

    def concurrency(self) -> int:
        return self.backend.capabilities.max_concurrency

    async def _ask(self, text: str) -> GenerateResponse:
        request = GenerateRequest(
            messages=(Message(role="user", content=text),), max_tokens=self.max_tokens, temperature=0.0, seed=0
        )
        return await self.backend.generate(request)

    async def __call__(self, item: Item) -> Verdict:
        steps = item.trajectory or []
        if not steps:
            error = ErrorInfo(reason="invalid_input", message="the item has no trajectory")
            return Verdict(id=item.id, mode="pointwise", error=error)
        try:
            parts = windows(steps, self.window_chars)
        except ContextOverflow as exc:
            return Verdict(id=item.id, mode="pointwise", error=ErrorInfo(reason="context_overflow", message=str(exc)))
        shown = [
            {
                "task": item.prompt,
                "digest": digest(steps[: part.steps[0].index], part.digest_chars),
                "first": part.steps[0].index,
                "last": part.steps[-1].index,
                "window": "\n".join(step.render() for step in part.steps),
            }
            for part in parts
        ]
        raw: list[str] = []
        usage = Usage()
        results: list[RequirementResult] = []
        current = ""
        try:
            for requirement in requirements_for(item, self.rubric):
                current = f"requirement '{requirement[:60]}'"
                answers: list[RequirementLabel] = []
                cited: list[list[int]] = []
                for n, values in enumerate(shown):
                    reply = await self._ask(self.prompts.render("requirement", requirement=requirement, **values))
                    raw.append(reply.text)
                    usage = usage + reply.usage
                    label = _label(reply.text, tuple(label.upper() for label in LABELS))
                    if label is None:
                        message = f"{current}, window {n}: no [[SATISFIED/VIOLATED/NOT_ENOUGH_EVIDENCE]]"
                        error = ErrorInfo(reason="parse_failure", message=message)
                        return Verdict(id=item.id, mode="pointwise", error=error, raw=raw, usage=usage)
                    answers.append(label)  # type: ignore[arg-type]
                    cited.append(parse_evidence(reply.text))
                final = combine(answers)
                # a window may cite its own steps and the digest's (it was shown both), nothing after it
                pointers = {i for n, c in enumerate(cited) if answers[n] == final for i in c}
                valid = {
                    i for n, c in enumerate(cited) if answers[n] == final for i in c if i <= parts[n].steps[-1].index
                }
                results.append(
                    RequirementResult(
                        requirement=requirement,
                        label=final,
                        evidence=sorted(valid),
                        invalid_evidence=sorted(pointers - valid),
                        by_window=answers,
                    )
                )
            current = "the overall score"
            reply = await self._ask(self.prompts.render("overall", criteria=self.criteria, **shown[-1]))
        except BackendError as exc:
            if exc.fatal:
                raise
            error = ErrorInfo(reason=exc.reason, message=f"{current}: {exc}", retryable=exc.retryable)
            return Verdict(id=item.id, mode="pointwise", error=error, raw=raw, usage=usage)
        raw.append(reply.text)
        usage = usage + reply.usage
        score = _label(reply.text, SCORES)
        if score is None:
            error = ErrorInfo(reason="parse_failure", message="the overall score: no [[1]]..[[5]]")
            return Verdict(id=item.id, mode="pointwise", error=error, raw=raw, usage=usage)
        record: dict[str, Any] = {
            "name": STRATEGY,
            "steps": len(steps),
            "windows": [[part.steps[0].index, part.steps[-1].index] for part in parts],
            "requirements": [result.model_dump() for result in results],
            "satisfied": sum(result.label == "satisfied" for result in results),
            "violated": sum(result.label == "violated" for result in results),
        }
        outcome = Score(score=float(score), choice=score)
        return Verdict(id=item.id, mode="pointwise", outcome=outcome, raw=raw, usage=usage, strategy=record)
