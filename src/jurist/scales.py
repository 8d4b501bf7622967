"""Scales: the set of answers a pointwise judge may give, and how each maps to a number.

One object writes the instruction the judge reads, lists the labels the parser and the
grammar accept, and maps the chosen label to a value (so probabilities over labels give an expected score).
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel

from .errors import ConfigError


class ScaleOption(BaseModel):
    label: str
    value: float
    description: str | None = None


class Scale(BaseModel):
    kind: Literal["likert", "binary", "categories"]
    options: list[ScaleOption]

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
        if self.kind == "likert":
            return f"an integer from {self.options[0].label} to {self.options[-1].label}"
        return "one of: " + ", ".join(f'"{o.label}"' for o in self.options)

    def probabilities_are_reliable(self) -> bool:
        """Token probabilities only identify a label when no label is a prefix of another (1 vs 10)."""
        labels = [lab.lower() for lab in self.labels]
        return not any(a != b and b.startswith(a) for a in labels for b in labels)
