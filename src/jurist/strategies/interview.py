"""Interviewer mode: the judge's model questions the evaluated model over several turns, then grades the exchange.

The interview opens with the item: its earlier `turns` (if any), its `prompt`, and the evaluated model's answer
(the item's `response` when it has text, else the evaluated model is asked). The interviewer then writes a
follow-up question (a request to clarify, justify, correct or go further), the evaluated model answers, and so
on for `turns` rounds. Finally the judge grades the assistant over the whole transcript on its scale/rubric.
"""

from __future__ import annotations

from typing import Any

from ..backends.base import Backend, GenerateRequest, GenerateResponse, Message
from ..errors import BackendError, ConfigError
from ..judges.base import LLMJudge
from ..judges.pointwise import PointwiseJudge
from ..prompts import prompt_set
from ..types import ErrorInfo, Item, Turn, Usage, Verdict
from .base import Strategy
from .params import Slot, StrategyParams, count, model_spec, positive


class Interview(Strategy):
    """Interviews `candidate` (the evaluated model) with `judge`'s model, then grades the whole exchange.

    `judge` is a pointwise model judge (`make_judge(interviewer_backend, JudgeConfig(mode="pointwise", ...))`):
    its backend asks the questions and its scale, rubric, rules and template grade the transcript. Its template
    must render the conversation (a `{% if turns %}` block; the built-in one does, and also rates the assistant
    over the whole conversation). `turns` is the number of follow-up questions (at least 1). `max_tokens` bounds
    each question and each answer (default: the judge's answer length).

    The verdict is the judge's (score, choice, rationale...), with `usage` and `raw` covering the interviewer's
    and the grader's calls; `strategy` holds the `transcript` (a list of {"role", "content"}, the opening
    included), `first_answer` ("item" or "candidate"), the models' names and the evaluated model's usage under
    `candidate_usage`. A failed call of either model fails the item with that error.
    """

    name = "interview"
    text_only = True  # its own prompts carry no images
    slots = (Slot("judge", "asks the questions, then grades the exchange (pointwise)", leaves=True, optional=True),)

    class Params(StrategyParams):
        turns: int = count(2, "follow-up questions (at least 1)")
        candidate: str = model_spec("model spec of the evaluated model, which answers the follow-up questions")
        max_tokens: int | None = positive(None, "the longest question and answer (default: the judge's answer length)")

    params: Params

    def __init__(self, judge: LLMJudge, candidate: Backend, turns: int = 2, *, max_tokens: int | None = None) -> None:
        if not isinstance(judge, PointwiseJudge):
            raise ConfigError(
                "Interview grades the exchange on a scale: give a pointwise model judge "
                f"(make_judge(backend, JudgeConfig(mode='pointwise', ...))), not {type(judge).__name__}"
            )
        if not isinstance(candidate, Backend):
            raise ConfigError(f"Interview: the evaluated model must be a Backend, got {type(candidate).__name__}")
        params = self.Params.check(candidate=candidate.name, turns=turns, max_tokens=max_tokens)
        if judge.config.turn_scope != "final":
            raise ConfigError("Interview grades the whole exchange once: its judge needs turn_scope 'final'")
        template = judge.template
        if template.engine != "jinja" or "turns" not in template.system + template.user:
            raise ConfigError(
                f"Interview: template {template.source} does not render the conversation, so the transcript would "
                "not reach the grader; use the built-in template or a jinja template with a {% if turns %} block"
            )
        super().__init__([judge])
        self.params = params
        self.grader = judge
        self.candidate = candidate
        self.turns = params.turns
        self.turn_tokens = params.max_tokens or judge.max_tokens

    def settings(self) -> dict[str, Any]:
        return {
            **self.params.model_dump(),
            "max_tokens": self.turn_tokens,  # the judge's answer length, where none was given
            "interviewer_prompt": prompt_set("interview").text("system"),
        }

    async def _judge(self, item: Item) -> Verdict:
        transcript: list[Turn] = [*(item.turns or []), Turn(role="user", content=item.prompt)]
        spent = Usage()  # interviewer and grader
        candidate_spent = Usage()
        raw: list[str] = []
        first_answer = "item" if item.response and item.response.strip() else "candidate"
        try:
            if first_answer == "item":
                transcript.append(Turn(role="assistant", content=item.response or ""))
            else:
                reply = await self._answer(transcript)
                candidate_spent += reply.usage
                transcript.append(Turn(role="assistant", content=reply.text))
            for number in range(1, self.turns + 1):
                asked = await self.grader.backend.generate(self._question_request(transcript, number))
                spent += asked.usage
                raw.append(asked.text)
                question = asked.text.strip()
                if not question:
                    return self._failed(
                        item,
                        transcript,
                        raw,
                        spent,
                        candidate_spent,
                        "parse_failure",
                        "the interviewer wrote no question",
                    )
                transcript.append(Turn(role="user", content=question))
                reply = await self._answer(transcript)
                candidate_spent += reply.usage
                transcript.append(Turn(role="assistant", content=reply.text))
        except BackendError as exc:
            if exc.fatal:
                raise
            return self._failed(item, transcript, raw, spent, candidate_spent, exc.reason, str(exc), exc.retryable)
        view = Item(
            id=item.id,
            prompt=transcript[-2].content,
            response=transcript[-1].content,
            turns=transcript[:-2],
            reference=item.reference,
            metadata=item.metadata,
        )
        try:
            verdict = await self.grader.judge_request(view, self.grader.request_for(view, grade_conversation=True))
        except BackendError as exc:
            if exc.fatal:
                raise
            return self._failed(item, transcript, raw, spent, candidate_spent, exc.reason, str(exc), exc.retryable)
        verdict.usage = spent + verdict.usage
        verdict.raw = raw + verdict.raw
        verdict.strategy = self._record(transcript, first_answer, candidate_spent)
        return verdict

    def _question_request(self, transcript: list[Turn], number: int) -> GenerateRequest:
        prompts = prompt_set("interview")  # templates/interview.toml
        user = prompts.render(
            "question",
            transcript=[t.model_dump() for t in transcript],
            criteria=self.grader.rubric.criteria if self.grader.rubric is not None else None,
            number=number,
            turns=self.turns,
        )
        config = self.grader.config
        return GenerateRequest(
            messages=(Message(role="system", content=prompts.render("system")), Message(role="user", content=user)),
            max_tokens=self.turn_tokens,
            temperature=config.temperature,
            seed=config.seed,
        )

    async def _answer(self, transcript: list[Turn]) -> GenerateResponse:
        config = self.grader.config
        request = GenerateRequest(
            messages=tuple(Message(role=t.role, content=t.content) for t in transcript),
            max_tokens=self.turn_tokens,
            temperature=config.temperature,
            seed=config.seed,
        )
        return await self.candidate.generate(request)

    def _record(self, transcript: list[Turn], first_answer: str, candidate_spent: Usage) -> dict[str, Any]:
        return {
            "name": self.name,
            "turns": self.turns,
            "interviewer": self.grader.backend.name,
            "candidate": self.candidate.name,
            "first_answer": first_answer,
            "transcript": [t.model_dump() for t in transcript],
            "candidate_usage": candidate_spent.model_dump(),
        }

    def _failed(
        self,
        item: Item,
        transcript: list[Turn],
        raw: list[str],
        spent: Usage,
        candidate_spent: Usage,
        reason: str,
        message: str,
        retryable: bool = False,
    ) -> Verdict:
        first_answer = "item" if item.response and item.response.strip() else "candidate"
        return Verdict(
            id=item.id,
            mode="pointwise",
            error=ErrorInfo(reason=reason, message=message, retryable=retryable),
            raw=raw,
            usage=spent,
            strategy=self._record(transcript, first_answer, candidate_spent),
        )
