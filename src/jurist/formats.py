"""Answer formats: what a judge is asked to answer, and how its answer is read.

One object per kind of answer, after verdict's `Scale`: a pointwise `Scale` (Likert, binary, categories), the
pairwise `PairwiseFormat` (A, B and the template's tie label, with Arena-Hard's strength marks) and the listwise
`ListwiseFormat` (a ranking of k responses). Each gives the same five things (`AnswerFormat`): the instruction text
that asks for the answer, the JSON schema of that answer (structured output, grammars), the labels, the tolerant text
patterns that find a verdict in free text, and the tokens whose logprobs give the labels' probabilities. Judges and
the strategies that read their judges' answers use these, never constants of their own.
"""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Literal, Protocol

from pydantic import BaseModel

from .errors import ConfigError, ParseError
from .outcomes import Strength, Winner
from .parse import Extracted, extract, find_json_object, match_label, rationale_from_json

Rationale = Literal["before", "after", "none"]  # where the answer puts its rationale, if anywhere
Output = Literal["json", "text"]  # a template's answer: jurist's JSON, or the template's own text format


class AnswerFormat(Protocol):
    """What every answer format gives."""

    @property
    def labels(self) -> list[str]: ...

    @property
    def patterns(self) -> Sequence[str]: ...

    @property
    def logprob_tokens(self) -> list[str]: ...

    def instruction(self, rationale: Rationale) -> str: ...

    def output_schema(self, rationale: Rationale) -> dict[str, Any]: ...


def json_instruction(fields: dict[str, str], rationale: Rationale) -> str:
    """The answer-format sentence of a JSON answer: the verdict's fields and the rationale in the configured order."""
    parts = dict(fields)
    if rationale != "none":
        hint = {"rationale": '"<one or two sentences on why>"'}
        parts = {**hint, **parts} if rationale == "before" else {**parts, **hint}
    shape = ", ".join(f'"{k}": {v}' for k, v in parts.items())
    return f"Answer with only a JSON object: {{{shape}}}"


def json_schema(properties: dict[str, Any], rationale: Rationale) -> dict[str, Any]:
    """The JSON schema of an answer with these verdict fields, the rationale where the instruction puts it."""
    props = dict(properties)
    if rationale != "none":
        hint = {"rationale": {"type": "string"}}
        props = {**hint, **props} if rationale == "before" else {**props, **hint}
    return {"type": "object", "properties": props, "required": list(props), "additionalProperties": False}


def _choices(labels: list[str]) -> str:
    return " | ".join(f'"{label}"' for label in labels)


# -- pointwise -------------------------------------------------------------------------------------------------

# Tried in order; within one pattern the last score stated wins.
POINTWISE_PATTERNS = (
    # MT-Bench's and Auto-J's "Rating: [[5]]"
    r"\[\[\s*([A-Za-z]+|\d+)\s*\]\]",
    # Prometheus: "Feedback: ... [RESULT] 4", before the looser "score ..." (its feedback often names other scores)
    r"\[RESULT\]\W{0,3}([A-Za-z]+|\d+)\b",
    r"(?:score|rating|grade|verdict)\W{0,6}([A-Za-z]+|\d+)\b",
    r"^\s*([A-Za-z]+|\d+)\s*(?:/\s*\d+)?\s*$",
)


class ScaleOption(BaseModel):
    label: str
    value: float
    description: str | None = None


class Scale(BaseModel):
    """The answers a pointwise judge may give, and the number each stands for (so probabilities over labels give
    an expected score). With `criteria` (a rubric's checklist), one label per criterion."""

    kind: Literal["likert", "binary", "categories"]
    options: list[ScaleOption]

    patterns: ClassVar[tuple[str, ...]] = POINTWISE_PATTERNS

    @classmethod
    def likert(cls, low: int = 1, high: int = 5) -> Scale:
        if high <= low:
            raise ConfigError(f"a Likert scale needs low < high, got {low}-{high}")
        return cls(kind="likert", options=[ScaleOption(label=str(v), value=v) for v in range(low, high + 1)])

    @classmethod
    def binary(cls) -> Scale:
        return cls(kind="binary", options=[ScaleOption(label="fail", value=0), ScaleOption(label="pass", value=1)])

    @classmethod
    def categories(cls, labels: list[str]) -> Scale:
        labels = [label.strip() for label in labels if label.strip()]
        if len(labels) < 2 or len(set(labels)) != len(labels):
            raise ConfigError(f"categories need at least two distinct names, got {labels}")
        return cls(kind="categories", options=[ScaleOption(label=lab, value=i) for i, lab in enumerate(labels)])

    @classmethod
    def parse(cls, spec: str) -> Scale:
        """`1-5`, `0-10`, `binary` (pass/fail) or `categories:bad,ok,good` (valued 0, 1, 2 in that order)."""
        spec = spec.strip()
        if m := re.fullmatch(r"(\d+)\s*-\s*(\d+)", spec):
            return cls.likert(int(m.group(1)), int(m.group(2)))
        if spec in ("binary", "pass/fail", "pass-fail"):
            return cls.binary()
        if spec.startswith("categories:"):
            return cls.categories(spec.split(":", 1)[1].split(","))
        raise ConfigError(f"unknown scale '{spec}'; use e.g. 1-5, 1-10, binary, or categories:bad,ok,good")

    @property
    def labels(self) -> list[str]:
        return [o.label for o in self.options]

    def value(self, label: str) -> float:
        for o in self.options:
            if o.label.lower() == label.lower():
                return o.value
        raise KeyError(label)

    def describe(self) -> str:
        """The scale in the prompt's own words ("Rate the response with {{ scale.describe() }}")."""
        if self.kind == "likert":
            return f"an integer from {self.options[0].label} to {self.options[-1].label}"
        return "one of: " + ", ".join(f'"{o.label}"' for o in self.options)

    def probabilities_are_reliable(self) -> bool:
        """Token probabilities only identify a label when no label is a prefix of another (1 vs 10)."""
        # Sorted, a label that starts another comes right before one that starts with it: adjacent pairs suffice.
        labels = sorted(o.label.lower() for o in self.options)
        return not any(a != b and b.startswith(a) for a, b in itertools.pairwise(labels))

    @property
    def logprob_tokens(self) -> list[str]:
        """The labels whose token probabilities give the score's distribution; none where a label's first token
        would not tell it from another."""
        return self.labels if self.probabilities_are_reliable() else []

    def instruction(self, rationale: Rationale, criteria: Sequence[str] = ()) -> str:
        one = _choices(self.labels)
        if criteria:
            return json_instruction(
                {"scores": "{" + ", ".join(f'"{name}": {one}' for name in criteria) + "}"}, rationale
            )
        return json_instruction({"score": one}, rationale)

    def output_schema(self, rationale: Rationale, criteria: Sequence[str] = ()) -> dict[str, Any]:
        label = {"type": "string", "enum": self.labels}
        if not criteria:
            return json_schema({"score": label}, rationale)
        scores = {
            "type": "object",
            "properties": {name: label for name in criteria},
            "required": list(criteria),
            "additionalProperties": False,
        }
        return json_schema({"scores": scores}, rationale)

    def read(self, text: str) -> Extracted:
        """The score label in a judge's text (JSON, then the tolerant patterns); a ParseError when it states none."""
        return extract(text, "score", self.labels, self.patterns)

    def answer(self, label: str, output: Output) -> str:
        """How a few-shot example shows the answer `label`."""
        return json.dumps({"score": label}) if output == "json" else f"Rating: [[{label}]]"


# -- pairwise --------------------------------------------------------------------------------------------------

# Tried in order; within one pattern the last verdict stated wins. Published judges' explicit conventions come
# first (brackets, "[RESULT]", "final decision", a first line that is only the verdict), then looser phrases. PandaLM's
# and JudgeLM's conventions read the first line only, so a rationale that mentions "Response 1" in passing is never
# taken for a verdict.
PAIRWISE_PATTERNS = (
    # MT-Bench's [[A]] / [[B]] / [[C]] (C is a tie) and Arena-Hard's [[A>>B]] [[A>B]] [[A=B]] [[B>A]] [[B>>A]], in
    # one pattern so that the last bracketed verdict wins whichever form it takes
    r"\[\[\s*([AB]\s*(?:>>|>|=)\s*[AB]|[A-Za-z]+)\s*\]\]",
    # Prometheus: "Feedback: ... [RESULT] B"
    r"\[RESULT\]\W{0,3}([A-Za-z]+)\b",
    # Auto-J: "So, the final decision is Response 2" / "... is Tie"
    r"final decision is\W{0,3}(response\s*[12]|tie)\b",
    # PandaLM: the first line is "1", "2" or "Tie" (1 = the response shown first); tried before the phrases below,
    # which PandaLM's reason and reference text may hold
    r"\A\s*(1|2|tie)[ \t]*$",
    # JudgeLM: the first line is the two responses' scores, "8 6"; the higher wins, equal scores are a tie
    r"\A\s*(\d+(?:\.\d+)?[ \t]+\d+(?:\.\d+)?)[ \t]*$",
    r"(?:winner|verdict|better response|better output|better answer)\W{0,6}(?:is\s+)?"
    r"(?:response|output|assistant)?\s*\(?([A-Za-z]+)\b",
    r"(?:response|output|assistant)\s*\(?([AB])\)?\s+is\s+(?:better|the better)",
    r"^\s*\(?([AB])\)?\s*$",
    # An answer that is nothing but a named choice ("Output (a)", LLMBar's format; "Response B"). The whole text
    # only: a line like that inside a longer answer is more often a heading than a verdict.
    r"\A\s*(?:response|output|assistant)\s*\(?([AB])\)?\s*\Z",
)
_ARENA = re.compile(r"([ab])\s*(>>|>|=)\s*([ab])")
_SCORE_PAIR = re.compile(r"(\d+(?:\.\d+)?)\s+(\d+(?:\.\d+)?)")
_NAMED: dict[str, Winner] = {"a": "A", "b": "B", "1": "A", "2": "B", "tie": "tie", "c": "tie"}


@dataclass(frozen=True)
class PairwiseFormat:
    """A, B and the tie label as the template spells it (MT-Bench says C), the tie only where ties are allowed."""

    tie_label: str = "tie"
    allow_tie: bool = True

    patterns: ClassVar[tuple[str, ...]] = PAIRWISE_PATTERNS

    @property
    def labels(self) -> list[str]:
        return ["A", "B", self.tie_label] if self.allow_tie else ["A", "B"]

    @property
    def logprob_tokens(self) -> list[str]:
        return self.labels

    def instruction(self, rationale: Rationale) -> str:
        return json_instruction({"winner": _choices(self.labels)}, rationale)

    def output_schema(self, rationale: Rationale) -> dict[str, Any]:
        return json_schema({"winner": {"type": "string", "enum": self.labels}}, rationale)

    def read(self, text: str) -> Extracted:
        return read_winner(text, self.labels)

    def winner(self, label: str) -> Winner:
        """The winner a label names."""
        return "tie" if label == self.tie_label else label  # type: ignore[return-value]

    def label(self, winner: Winner) -> str:
        """The label that names a winner."""
        return self.tie_label if winner == "tie" else winner

    def answer(self, label: str, output: Output) -> str:
        """How a few-shot example shows the answer `label`."""
        return json.dumps({"winner": label}) if output == "json" else f"[[{label}]]"


def read_winner(text: str, labels: list[str]) -> Extracted:
    """The verdict in a pairwise judge's text as one of `labels` (A, B, then the template's tie label when ties are
    allowed), in any convention of PAIRWISE_PATTERNS; a ParseError when it states none."""
    return extract(text, "winner", labels, PAIRWISE_PATTERNS, read=lambda token: _label_of(token, labels))


def _label_of(token: str, labels: list[str]) -> str | None:
    """The label a verdict token stands for: the label itself, or a published judge's way of naming it."""
    label = match_label(token, labels)
    if label is not None:
        return label
    winner = _winner_of(" ".join(token.lower().split()))
    if winner == "tie":
        return labels[2] if len(labels) > 2 else None
    return winner


def _winner_of(token: str) -> Winner | None:
    if m := _ARENA.fullmatch(token):
        first, relation, second = m.groups()
        if first == second:  # "A>A" names no winner
            return None
        return "tie" if relation == "=" else _NAMED[first]
    if m := _SCORE_PAIR.fullmatch(token):
        a, b = float(m.group(1)), float(m.group(2))
        return "A" if a > b else "B" if b > a else "tie"
    for name in ("response", "output", "assistant"):
        token = token.removeprefix(name).strip()
    return _NAMED.get(token)


def strength_of(token: str) -> Strength | None:
    """Arena-Hard's strength of preference: ">>" is strong, ">" weak; None where the token says nothing of it."""
    if not _ARENA.fullmatch(" ".join(token.lower().split())):
        return None
    return "strong" if ">>" in token else "weak" if ">" in token else None


# -- listwise --------------------------------------------------------------------------------------------------

# After the JSON answer, tried in order, the last match first: "[[2, 1, 3]]" or "[2, 1, 3]", then "2 > 1 > 3".
LISTWISE_PATTERNS = (
    r"\[\[?\s*(\d+(?:\s*,\s*\d+)+)\s*\]?\]",
    r"(\d+(?:\s*>\s*\d+)+)",
)


@dataclass(frozen=True)
class ListwiseFormat:
    """A ranking of `k` responses by their numbers (1-based, as shown), best first."""

    k: int

    patterns: ClassVar[tuple[str, ...]] = LISTWISE_PATTERNS

    @property
    def labels(self) -> list[str]:
        return [str(i) for i in range(1, self.k + 1)]

    @property
    def logprob_tokens(self) -> list[str]:
        """The numbers, whose probabilities at the first place say which response is best; none from 10 responses
        on, where "1" would also be the start of "10"."""
        return self.labels if self.k <= 9 else []

    def instruction(self, rationale: Rationale) -> str:
        return json_instruction({"ranking": f"[{', '.join(self.labels)}] reordered, best first"}, rationale)

    def output_schema(self, rationale: Rationale) -> dict[str, Any]:
        ranking = {
            "type": "array",
            "items": {"type": "integer", "minimum": 1, "maximum": self.k},
            "minItems": self.k,
            "maxItems": self.k,
        }
        return json_schema({"ranking": ranking}, rationale)

    def read(self, text: str) -> tuple[list[int], int | None, str | None]:
        """The ranking (each of 1..k once, best first), the offset of its first number in the text, and the
        rationale, from JSON {"ranking": [...]} or the patterns; a ParseError when the text holds none."""
        candidates: list[tuple[list[Any], int | None, str | None]] = []
        found = find_json_object(text)
        if found is not None:
            obj, start = found
            if isinstance(obj.get("ranking"), list):
                key_at = text.find('"ranking"', start)
                bracket = text.find("[", key_at) if key_at != -1 else -1
                rationale = obj.get("rationale")
                candidates.append((obj["ranking"], bracket + 1 if bracket != -1 else None, rationale))
        for pattern in self.patterns:
            for m in reversed(list(re.finditer(pattern, text))):
                candidates.append(([int(x) for x in re.findall(r"\d+", m.group(1))], m.start(1), None))
        for values, offset, rationale in candidates:
            try:
                ranking = [int(v) for v in values]
            except (TypeError, ValueError):
                continue
            if sorted(ranking) == list(range(1, self.k + 1)):
                return ranking, offset, str(rationale) if rationale is not None else rationale_from_json(text)
        raise ParseError(
            f"no ranking of all {self.k} responses (each number 1..{self.k} once) found in the judge's text", raw=text
        )

    def answer(self, ranking: list[int]) -> str:
        """How a few-shot example shows the ranking."""
        return json.dumps({"ranking": ranking})
