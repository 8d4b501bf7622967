"""Pointwise judging: one response -> a label on a scale, its value, and (with logprobs) the expected value."""

from __future__ import annotations

import json

from ..backends.base import Backend, GenerateRequest
from ..errors import ConfigError, ParseError
from ..parse import extract, label_probabilities
from ..scales import Scale
from ..types import Item, Verdict
from .base import JudgeConfig, LLMJudge

_PATTERNS = [
    r"\[\[\s*([A-Za-z]+|\d+)\s*\]\]",
    r"(?:score|rating|grade|verdict)\W{0,6}([A-Za-z]+|\d+)\b",
    r"^\s*([A-Za-z]+|\d+)\s*(?:/\s*\d+)?\s*$",
]


class PointwiseJudge(LLMJudge):
    mode = "pointwise"

    def __init__(self, backend: Backend, config: JudgeConfig) -> None:
        super().__init__(backend, config)
        if config.scale:
            self.scale = Scale.parse(config.scale)
        elif self.rubric is not None:
            self.scale = self.rubric.get_scale()
        elif self.template.engine == "format":
            self.scale = Scale.likert(1, 10)  # MT-Bench single-answer grading
        else:
            self.scale = Scale.likert(1, 5)
        if self.rubric is not None and config.scale and self.rubric.scale != config.scale:
            raise ConfigError(f"rubric {self.rubric.name} is written for scale {self.rubric.scale}, not {config.scale}")

    def _demo_answer(self, demo: Item) -> str | None:
        if not isinstance(demo.label, int | float):
            return None
        label = next((o.label for o in self.scale.options if o.value == demo.label), None)
        if label is None:
            return None
        return json.dumps({"score": label}) if self.template.output == "json" else f"Rating: [[{label}]]"

    def requests(self, item: Item) -> list[GenerateRequest]:
        labels = self.scale.labels
        variables = {
            **self._variables(item),
            "response": item.response,
            "scale": self.scale,
            "output_format": self._output_format({"score": " | ".join(_quote(lab) for lab in labels)}),
        }
        schema = self._schema({"score": {"type": "string", "enum": labels}})
        return [self._request(self.template.render(variables), schema)]

    async def _judge(self, item: Item) -> Verdict:
        response = await self._generate(self.requests(item)[0])
        try:
            found = extract(response.text, "score", self.scale.labels, _PATTERNS)
        except ParseError as exc:
            return self._unparsed(item, exc, response)
        verdict = Verdict(
            id=item.id,
            mode="pointwise",
            choice=found.value,
            score=self.scale.value(found.value),
            rationale=found.rationale,
            raw=[response.text],
            usage=response.usage,
        )
        if self.scale.probabilities_are_reliable():
            probs = label_probabilities(response, found.offset, self.scale.labels)
            if probs is not None:
                verdict.score_probs = probs
                verdict.score_expected = sum(p * self.scale.value(lab) for lab, p in probs.items())
        return verdict


def _quote(label: str) -> str:
    return f'"{label}"'
