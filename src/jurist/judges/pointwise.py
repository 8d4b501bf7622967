"""Pointwise judging: one response -> a label on a scale, its value, and (with logprobs) the expected value."""

from __future__ import annotations

import asyncio
from typing import Any

from ..backends.base import Backend, GenerateRequest, GenerateResponse
from ..data.load import LoadedData, check_scale_labels
from ..errors import ConfigError, ParseError
from ..formats import Scale
from ..outcomes import Score
from ..parse import Extracted, find_json_object, label_probabilities, match_label
from ..types import Item, Usage, Verdict
from .base import JudgeConfig, LLMJudge, image_parts


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

    def check_data(self, data: LoadedData) -> None:
        """Also fail before any call if a label is off the judge's scale (see `check_scale_labels`)."""
        super().check_data(data)
        check_scale_labels(self.scale, data)

    def _demo_answer(self, demo: Item) -> str | None:
        if isinstance(demo.label, str):  # a category name (Yes/No, safe/unsafe), in any case
            label = match_label(demo.label, self.scale.labels)
        elif isinstance(demo.label, int | float):
            label = next((o.label for o in self.scale.options if o.value == demo.label), None)
        else:
            return None
        if label is None:
            return None
        return self.scale.answer(label, self.template.output)

    def turn_views(self, item: Item) -> list[Item]:
        """The items judged: the item itself, or with turn_scope "each" one per assistant turn, each with the
        turns before it as its conversation (the last view is the item)."""
        if self.config.turn_scope == "final" or not item.turns:
            return [item]
        turns = item.turns
        views = [
            item.model_copy(
                # the images belong to the final request and answer, not to earlier turns
                update={
                    "prompt": turns[k].content,
                    "response": turns[k + 1].content,
                    "turns": turns[:k] or None,
                    "images": None,
                    "response_images": None,
                }
            )
            for k in range(0, len(turns) - 1, 2)
        ]
        return [*views, item]

    def request_for(self, item: Item, *, grade_conversation: bool = False) -> GenerateRequest:
        """The request judging the item's response (its final turn); `grade_conversation` asks templates that
        support it to rate the assistant over the whole conversation instead (interviews)."""
        rationale, criteria = self.config.rationale, list(self.checklist)
        schema = self.scale.output_schema(rationale, criteria)
        variables = {
            **self._variables(item),
            "grade_conversation": grade_conversation,
            "response": item.response,
            "scale": self.scale,
            "output_format": self.scale.instruction(rationale, criteria),
        }
        images = image_parts(("the prompt", item.images), ("the response", item.response_images))
        return self._request(self.template.render(variables), schema, item_id=item.id, images=images)

    @property
    def checklist(self) -> dict[str, str]:
        return self.rubric.checklist if self.rubric is not None else {}

    def requests(self, item: Item) -> list[GenerateRequest]:
        return [self.request_for(view) for view in self.turn_views(item)]

    async def _judge(self, item: Item) -> Verdict:
        if self.config.turn_scope == "final":
            return await self.judge_request(item, self.request_for(item))
        views = self.turn_views(item)
        calls = [self.judge_request(view, self.request_for(view)) for view in views]
        if self.backend.capabilities.max_concurrency > 1:
            verdicts = list(await asyncio.gather(*calls))
        else:
            verdicts = [await c for c in calls]
        return _each(item, verdicts)

    async def judge_request(self, item: Item, request: GenerateRequest) -> Verdict:
        """Send one request and read its score into a verdict about `item`."""
        response = await self._generate(request)
        if self.checklist:
            return self._read_checklist(item, response)
        try:
            found = self.scale.read(response.text)
        except ParseError as exc:
            return self._unparsed(item, exc, response)
        return Verdict(
            id=item.id,
            mode="pointwise",
            outcome=self.score_of(found, response),
            rationale=found.rationale,
            raw=[response.text],
            usage=response.usage,
        )

    def score_of(self, found: Extracted, response: GenerateResponse) -> Score:
        """The score of the label read from `response`, with the label probabilities and their expected value
        where the backend gave logprobs and the scale's are reliable."""
        score = Score(choice=found.value, score=self.scale.value(found.value))
        if self.scale.probabilities_are_reliable():
            probs = label_probabilities(response, found.offset, self.scale.labels)
            if probs is not None:
                score.probs = probs
                score.expected = sum(p * self.scale.value(lab) for lab, p in probs.items())
        return score

    def _read_checklist(self, item: Item, response: GenerateResponse) -> Verdict:
        """One score per criterion from {"scores": {...}}; the verdict's score is their mean. A missing or
        off-scale criterion is a parse failure: no criterion is ever filled in."""
        found = find_json_object(response.text)
        scores = found[0].get("scores") if found is not None else None
        values: dict[str, float] = {}
        labels: dict[str, str] = {}
        for name in self.checklist:
            raw = scores.get(name) if isinstance(scores, dict) else None
            label = match_label(str(raw), self.scale.labels) if isinstance(raw, str | int | float) else None
            if label is None:
                error = ParseError(f"no score among {self.scale.labels} for criterion '{name}'", raw=response.text)
                return self._unparsed(item, error, response)
            labels[name], values[name] = label, self.scale.value(label)
        rationale = found[0].get("rationale") if found is not None else None
        distinct = set(labels.values())
        return Verdict(
            id=item.id,
            mode="pointwise",
            outcome=Score(
                score=sum(values.values()) / len(values),
                choice=distinct.pop() if len(distinct) == 1 else None,
                criteria=values,
            ),
            rationale=str(rationale) if rationale is not None else None,
            raw=[response.text],
            usage=response.usage,
        )


def _each(item: Item, verdicts: list[Verdict]) -> Verdict:
    """One verdict from per-turn verdicts: the mean score, each turn's record under `per_turn`. A turn that
    failed fails the item (its error), keeping every raw text and the tokens spent."""
    per_turn: list[dict[str, Any]] = []
    turns = [v.outcome_as(Score) for v in verdicts]
    for number, (v, turn) in enumerate(zip(verdicts, turns, strict=True), start=1):
        record: dict[str, Any] = {"turn": number, "score": turn.score, "choice": turn.choice, "rationale": v.rationale}
        if turn.expected is not None:
            record["score_expected"] = turn.expected
        if v.error is not None:
            record["error"] = v.error.reason
        per_turn.append(record)
    outcome = Score(per_turn=per_turn)
    verdict = Verdict(
        id=item.id,
        mode="pointwise",
        outcome=outcome,
        raw=[text for v in verdicts for text in v.raw],
        usage=Usage.total(v.usage for v in verdicts),
    )
    failed = next((v for v in verdicts if v.error is not None), None)
    if failed is not None:
        verdict.error = failed.error
        return verdict
    scores = [t.score for t in turns if t.score is not None]
    outcome.score = sum(scores) / len(scores)
    # the label is kept where every turn got the same one; a mean between labels has none
    choices = {t.choice for t in turns}
    outcome.choice = choices.pop() if len(choices) == 1 else None
    verdict.rationale = verdicts[-1].rationale
    return verdict
