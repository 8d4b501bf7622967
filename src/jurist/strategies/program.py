"""Program-based judging ("Time To Impeach LLM-as-a-Judge"): the judge's model writes a scoring program once, from
the rubric and a few labelled examples; the program then judges every item, run in the sandbox (jurist.sandbox).

The program is written on the first item judged (one call, with the judge's backend and decoding settings, so the
engine's response cache keeps it: a resumed run asks for no new one), validated on those examples (its accuracy
recorded), and recorded in every verdict's `strategy`: its text, hash, validation and what writing it cost.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
from typing import Any

from pydantic import BaseModel, Field

from ..backends.base import GenerateRequest, Message
from ..errors import BackendError, ConfigError
from ..formats import Scale
from ..judges.base import LLMJudge
from ..outcomes import Preference, Score
from ..prompts import prompt_set
from ..sandbox import Limits, run_batch
from ..types import ErrorInfo, Item, Usage, Verdict
from .base import Strategy
from .params import Slot, StrategyParams, positive

# What the program sees of an item: its texts, never its label.
KEYS = ("prompt", "response", "response_a", "response_b", "reference", "contexts")
FUNCTIONS = {"pointwise": "score", "pairwise": "prefer"}
WINNERS = ("A", "B", "tie")


class Program(BaseModel):
    """The program a model wrote, how it did on the labelled examples and what writing it cost."""

    code: str
    hash: str
    examples: int  # labelled examples it was validated on
    correct: int
    failed: int  # examples on which it raised, or broke a limit, or returned no answer
    usage: Usage = Field(default_factory=Usage)

    @property
    def accuracy(self) -> float:
        return self.correct / self.examples if self.examples else 0.0

    def record(self) -> dict[str, Any]:
        return {
            "hash": self.hash,
            "code": self.code,
            "validation": {
                "accuracy": self.accuracy,
                "correct": self.correct,
                "examples": self.examples,
                "failed": self.failed,
            },
            "cost": self.usage.model_dump(),
        }


def extract_code(text: str) -> str:
    """The program in a reply: its first fenced block (```python or bare), else the whole reply."""
    found = re.search(r"```[ \t]*(?:python|py)?[ \t]*\n(.*?)```", text, re.DOTALL)
    return (found.group(1) if found else text).strip() + "\n"


def program_input(item: Item) -> dict[str, Any]:
    """The item as the program gets it (JSON): its texts, no label."""
    return {key: value for key in KEYS if (value := getattr(item, key)) is not None}


class ProgramJudge(Strategy):
    """The judge's model writes a program (`score(item)` pointwise, `prefer(item)` pairwise) from its rubric and
    the first `examples` items of its `demos` pool; the program judges every item in the sandbox. An item on which
    the program raises, breaks a limit or answers off the scale is that item's recorded failure."""

    name = "program"
    slots = (
        Slot(
            "judge",
            "writes the program: its model, rubric or scale, and its `demos` pool (the labelled examples)",
            leaves=True,
        ),
    )
    text_only = True  # the program reads the item's texts only

    class Params(StrategyParams):
        examples: int = positive(8, "labelled examples (the first of the judge's demos pool) shown and validated on")
        max_tokens: int = positive(1024, "the longest program written")
        cpu_s: int = positive(5, "CPU seconds the program may use on one item (and on the validation)")
        memory_mb: int = positive(512, "memory (address space, MB) of the program's process")

    params: Params

    def __init__(
        self, judge: LLMJudge, examples: int = 8, max_tokens: int = 1024, cpu_s: int = 5, memory_mb: int = 512
    ) -> None:
        if not isinstance(judge, LLMJudge):
            raise ConfigError("ProgramJudge has a model write the program: give it a model judge (an LLMJudge)")
        self.params = self.Params.check(examples=examples, max_tokens=max_tokens, cpu_s=cpu_s, memory_mb=memory_mb)
        super().__init__([judge])
        if self.mode not in FUNCTIONS:
            raise ConfigError(f"ProgramJudge judges pointwise or pairwise, not {self.mode}")
        if judge.demo_pool is None:
            raise ConfigError(
                "ProgramJudge needs labelled examples: give its judge a demos pool (a labelled file), "
                "e.g. `demos: {pool: labelled.jsonl}`"
            )
        self.inner = judge
        self.examples = judge.demo_pool.items[: self.params.examples]
        self.scale: Scale | None = getattr(judge, "scale", None) if self.mode == "pointwise" else None
        self._program: Program | None = None
        self._unbilled = False  # the writing call is counted in the usage of the verdict that asked for it
        self._lock = asyncio.Lock()

    def settings(self) -> dict[str, Any]:
        return {**self.params.model_dump(), "prompt": prompt_set("program").text(self.mode)}

    def limits(self, items: int) -> Limits:
        """The sandbox's limits for a batch of `items`: `cpu_s` per item (the child's timer), and the process's hard
        CPU and wall-clock limits a little above, so that the item's own timeout is what a slow item meets first."""
        cpu = self.params.cpu_s
        return Limits(cpu_s=cpu * items + 1, wall_s=2.0 * cpu * items + 5, item_s=cpu, memory_mb=self.params.memory_mb)

    # -- writing the program once ------------------------------------------------------------------------
    def _prompt(self) -> str:
        rubric = self.inner.rubric
        criteria = rubric.criteria if rubric is not None else "the overall quality of the response"
        examples = "\n".join(
            json.dumps({**program_input(e), "label": e.label}, ensure_ascii=False) for e in self.examples
        )
        values: dict[str, Any] = {
            "criteria": criteria,
            "keys": ", ".join(f'"{k}"' for k in KEYS),
            "examples": examples,
        }
        if self.scale is not None:
            values["scale"] = _scale_words(self.scale)
        return prompt_set("program").render(self.mode, **values)

    async def program(self) -> Program:
        """The program, written and validated on first use; later calls reuse it."""
        async with self._lock:
            if self._program is None:
                config = self.inner.config
                request = GenerateRequest(
                    messages=(Message(role="user", content=self._prompt()),),
                    max_tokens=self.params.max_tokens,
                    temperature=config.temperature,
                    seed=config.seed,
                )
                written = await self.inner.backend.generate(request)
                code = extract_code(written.text)
                self._program = await asyncio.to_thread(self._validate, code, written.usage)
                self._unbilled = True
            return self._program

    def _validate(self, code: str, usage: Usage) -> Program:
        result = run_batch(
            code, FUNCTIONS[self.mode], [program_input(e) for e in self.examples], self.limits(len(self.examples))
        )
        correct = failed = 0
        for example, outcome in zip(self.examples, result.outcomes, strict=True):
            answer = None if outcome.error is not None else self._read(outcome.value)
            if isinstance(answer, str) and answer.startswith("error:"):
                answer = None
            failed += answer is None
            correct += answer is not None and _same(answer, example.label)
        return Program(
            code=code,
            hash=hashlib.sha256(code.encode()).hexdigest()[:16],
            examples=len(self.examples),
            correct=correct,
            failed=failed,
            usage=usage,
        )

    def _read(self, value: Any) -> float | str:
        """The program's answer as a decision: a score on the scale, or a winner; "error: ..." when it is neither."""
        if self.mode == "pairwise":
            return value if value in WINNERS else f"error: prefer() returned {str(value)[:60]!r}, not A, B or tie"
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return f"error: score() returned {str(value)[:60]!r}, not a number"
        if self.scale is not None:
            values = [o.value for o in self.scale.options]
            if not min(values) <= value <= max(values):
                return f"error: score() returned {value}, off the scale {min(values):g}-{max(values):g}"
        return float(value)

    # -- judging -------------------------------------------------------------------------------------------
    async def _judge(self, item: Item) -> Verdict:
        try:
            program = await self.program()
        except BackendError as exc:
            if exc.fatal:
                raise
            error = ErrorInfo(reason=exc.reason, message=f"program: {exc}", retryable=exc.retryable)
            return Verdict(id=item.id, mode=self.mode, error=error)
        verdict = await self._run(item, program)
        if self._unbilled:
            self._unbilled = False
            verdict.usage = verdict.usage + program.usage
        return verdict

    async def _run(self, item: Item, program: Program) -> Verdict:
        result = await asyncio.to_thread(
            run_batch, program.code, FUNCTIONS[self.mode], [program_input(item)], self.limits(1)
        )
        outcome = result.outcomes[0]
        record = {"name": self.name, "program": program.record(), "network": result.network}
        answer = f"error: {outcome.error}" if outcome.error is not None else self._read(outcome.value)
        if isinstance(answer, str) and answer.startswith("error: "):
            error = ErrorInfo(reason="program_failed", message=answer.removeprefix("error: "), retryable=False)
            return Verdict(id=item.id, mode=self.mode, error=error, strategy=record)
        verdict = Verdict(id=item.id, mode=self.mode, outcome=self._outcome(answer), strategy=record)
        verdict.raw = [json.dumps(outcome.value)]
        return verdict

    def _outcome(self, answer: float | str) -> Score | Preference:
        if isinstance(answer, str):
            return Preference(winner=answer)  # one of WINNERS, checked in _read
        choice = None
        if self.scale is not None:
            choice = next((o.label for o in self.scale.options if o.value == answer), None)
        return Score(score=answer, choice=choice)


def _scale_words(scale: Scale) -> str:
    if scale.kind == "likert":
        return f"a number from {scale.options[0].value:g} to {scale.options[-1].value:g}"
    return "one of these numbers: " + ", ".join(f"{o.value:g} ({o.label})" for o in scale.options)


def _same(answer: float | str, label: Any) -> bool:
    if isinstance(answer, str) or isinstance(label, str):
        return answer == label
    return isinstance(label, (int, float)) and round(answer) == round(label)
