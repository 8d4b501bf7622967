"""Strategies that make the judge write something first, then judge with it.

- SelfReference (arena-hard): the judge's own model answers the request; that answer is the reference.
- Revision (RevisEval): the judge's model revises the response being graded; the revision is the reference.
- GeneratedMetrics (LLMBar "Metrics"): the judge's model writes a few questions a good response must answer
  for this request; they are put before the item like rules.

Each extra call goes to the inner judge's own backend with its decoding settings, is counted in the verdict's
usage, and what was written is kept in `verdict.strategy`.
"""

from __future__ import annotations

import copy
import re
from typing import Any, ClassVar

from ..backends.base import GenerateRequest, GenerateResponse, Message
from ..errors import BackendError, ConfigError
from ..judges.base import LLMJudge
from ..prompts import prompt_set
from ..rubrics import RuleSet
from ..types import ErrorInfo, Item, Verdict
from .base import Strategy
from .params import Slot, StrategyParams, positive


class _WriteFirst(Strategy):
    """A strategy around one model judge that first makes one extra call and then judges a changed item. The
    call's prompt is `prompt` in templates/augment.toml, filled with `_values(item)`."""

    prompt: ClassVar[str]
    slots = (Slot("judge", "writes first, then judges", leaves=True, optional=True),)
    text_only = True  # the text it writes first is written without the item's images

    class Params(StrategyParams):
        max_tokens: int = positive(512, "the longest text written first")

    params: Params

    def __init__(self, judge: LLMJudge, max_tokens: int = 512) -> None:
        self._wrap(judge, max_tokens=max_tokens)

    def _wrap(self, judge: LLMJudge, **params: Any) -> None:
        if not isinstance(judge, LLMJudge):
            raise ConfigError(f"{type(self).__name__} wraps a model judge (an LLMJudge, e.g. from make_judge)")
        self.params = self.Params.check(**params)
        super().__init__([judge])
        self.inner = judge
        self.write_tokens = self.params.max_tokens

    def settings(self) -> dict[str, Any]:
        return {**self.params.model_dump(), "prompt": prompt_set("augment").text(self.prompt)}

    async def _write(self, text: str) -> GenerateResponse:
        config = self.inner.config
        request = GenerateRequest(
            messages=(Message(role="user", content=text),),
            max_tokens=self.write_tokens,
            temperature=config.temperature,
            seed=config.seed,
        )
        return await self.inner.backend.generate(request)

    async def _judge(self, item: Item) -> Verdict:
        try:
            written = await self._write(prompt_set("augment").render(self.prompt, **self._values(item)))
        except BackendError as exc:
            if exc.fatal:
                raise
            error = ErrorInfo(reason=exc.reason, message=f"{self.name}: {exc}", retryable=exc.retryable)
            return Verdict(id=item.id, mode=self.mode, error=error)
        verdict = await self._judge_with(item, written.text.strip())
        verdict.usage = verdict.usage + written.usage
        verdict.raw = [written.text, *verdict.raw]
        verdict.strategy = {"name": self.name, "written": written.text.strip(), **(verdict.strategy or {})}
        return verdict

    def _values(self, item: Item) -> dict[str, Any]:
        raise NotImplementedError

    async def _judge_with(self, item: Item, text: str) -> Verdict:
        raise NotImplementedError


class SelfReference(_WriteFirst):
    """The judge answers the request itself and judges against its own answer (items that bring a reference
    keep theirs, and no extra call is made)."""

    name = "self_reference"
    prompt = "answer"

    class Params(_WriteFirst.Params):
        """The write-first settings, under this strategy's name."""

    def _values(self, item: Item) -> dict[str, Any]:
        return {"prompt": item.prompt}

    async def _judge(self, item: Item) -> Verdict:
        if item.reference:
            verdict = await self.inner(item)
            verdict.strategy = {"name": self.name, "written": None, "reference": "given"}
            return verdict
        return await super()._judge(item)

    async def _judge_with(self, item: Item, text: str) -> Verdict:
        return await self.inner(item.model_copy(update={"reference": text}))


class Revision(_WriteFirst):
    """RevisEval: the response is revised by the judge's model and the revision serves as the reference.
    Pointwise only: in a pair, revising one side would favour it."""

    name = "revision"
    prompt = "revise"

    class Params(_WriteFirst.Params):
        """The write-first settings, under this strategy's name."""

    def __init__(self, judge: LLMJudge, max_tokens: int = 512) -> None:
        super().__init__(judge, max_tokens)
        if self.mode != "pointwise":
            raise ConfigError(f"Revision grades one response against its revision: pointwise only, not {self.mode}")

    def _values(self, item: Item) -> dict[str, Any]:
        return {"prompt": item.prompt, "response": item.response}

    async def _judge_with(self, item: Item, text: str) -> Verdict:
        return await self.inner(item.model_copy(update={"reference": text}))


class GeneratedMetrics(_WriteFirst):
    """LLMBar's "Metrics": the judge first writes `n` questions for this request, then judges with them
    shown before the item (the template needs a `rules` block, as the built-in ones have)."""

    name = "generated_metrics"
    prompt = "metrics"

    class Params(_WriteFirst.Params):
        n: int = positive(3, "how many questions")
        max_tokens: int = positive(256, "the longest text written first")

    params: Params

    def __init__(self, judge: LLMJudge, n: int = 3, max_tokens: int = 256) -> None:
        self._wrap(judge, n=n, max_tokens=max_tokens)
        template = judge.template
        if "rules" not in template.system + template.user:
            raise ConfigError(f"GeneratedMetrics: template {template.source} has no `rules` block to show them in")
        self.n = self.params.n

    def _values(self, item: Item) -> dict[str, Any]:
        return {"n": self.n, "prompt": item.prompt}

    async def _judge_with(self, item: Item, text: str) -> Verdict:
        questions = [q for line in text.splitlines() if (q := re.sub(r"^\s*(?:[-*]|\d+[.)])\s*", "", line).strip())]
        judge = copy.copy(self.inner)  # the same judge, showing this item's questions with its own rules
        own = self.inner.rule_set.rules if self.inner.rule_set is not None else []
        judge.rule_set = RuleSet(name="generated", rules=[*own, *questions[: self.n]])
        verdict = await judge(item)
        verdict.strategy = {"metrics": questions[: self.n]}
        return verdict
