"""The Judge protocol (a spec and an async call), the one stamping of verdicts (`judge_item`), and what every LLM
judge shares: configuration, prompt rendering, the model call, and turning failures into records."""

from __future__ import annotations

import functools
import hashlib
import json
import time
from abc import ABC, abstractmethod
from typing import Any, Literal, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field

from ..backends.base import Backend, GenerateRequest, GenerateResponse, ImagePart, Message
from ..data.load import LoadedData
from ..demos import DemoConfig, DemoPool
from ..errors import BackendError, ConfigError, InputError, ParseError
from ..formats import Rationale
from ..prompts import Template, builtin_template, load_template
from ..rubrics import Rubric, RuleSet, load_rubric, load_rules
from ..types import ErrorInfo, Item, ItemTexts, Mode, TurnScope, Verdict


class JudgeConfig(BaseModel):
    """How to judge. Everything here goes into the run's fingerprint: change it and no old verdict is reused."""

    model_config = ConfigDict(extra="forbid")

    mode: Mode
    template: str | None = Field(None, description="template FILE or FILE#NAME; None = the built-in one")
    rubric: str | None = Field(None, description="built-in rubric name or a .toml/.json file")
    scale: str | None = Field(None, description="pointwise scale: 1-5, 1-10, binary, categories:a,b,c")
    allow_tie: bool = True
    swap: bool = Field(True, description="pairwise: judge both orders and reconcile")
    on_inconsistent: Literal["probs", "tie", "flag"] = Field(
        "probs",
        description="pairwise, when the two orders disagree: the averaged probabilities decide (a tie where the "
        "backend gives none), or always a tie, or flag the item with no winner",
    )
    rationale: Rationale = Field(
        "after", description="ask for a rationale before the verdict (reasoning first), after it, or not at all"
    )
    max_tokens: int | None = Field(None, ge=1, description="answer length; None = the backend's default")
    temperature: float = Field(0.0, ge=0.0)
    seed: int | None = 0
    top_logprobs: int = Field(10, ge=0, le=20)
    structured: bool = Field(True, description="use JSON-schema output / a grammar where the backend has one")
    demos: DemoConfig | None = Field(None, description="few-shot examples from a labelled pool")
    rules: str | None = Field(None, description="principles put before the item: a built-in rule set or a file")
    turn_scope: TurnScope = Field(
        "final",
        description="conversations (items with turns): judge the final assistant turn, or each assistant turn in "
        "its context with the mean as the score (pointwise)",
    )


class JudgeSpec(BaseModel):
    """What decides a judge's verdicts: its mode, its `identity` (what it is made of: backend, template, config; for
    a strategy its name, settings and its judges' identities), recorded in the run header, and the `fingerprint`,
    the hash that marks every verdict it makes. The fingerprint is worked out here and nowhere else: a hash of
    `hashed` where given (a strategy hashes its own settings with its judges' fingerprints), else of `identity`.
    Never the jurist version, so that a new version resumes old runs."""

    model_config = ConfigDict(frozen=True)

    mode: Mode
    identity: dict[str, Any]
    hashed: dict[str, Any] | None = None

    @functools.cached_property
    def fingerprint(self) -> str:
        key = self.identity if self.hashed is None else self.hashed
        return hashlib.sha256(json.dumps(key, sort_keys=True, default=str).encode()).hexdigest()[:16]

    @property
    def backend(self) -> str:
        """The judge's model(s), by name ("a+b" for a strategy over two)."""
        return str(self.identity.get("backend", "unknown"))


@runtime_checkable
class Judge(Protocol):
    """Anything the engine can judge with: an `LLMJudge`, a strategy wrapping judges (`jurist.strategies`), or your
    own object with a `spec` and an async call. A judge turns one item into a verdict; the engine (or a strategy,
    for its inner judges) stamps it through `judge_item`, and owns concurrency and backends."""

    @property
    def spec(self) -> JudgeSpec: ...

    async def __call__(self, item: Item) -> Verdict: ...


@runtime_checkable
class Preflight(Protocol):
    """Optional for a judge: what the engine asks before a run. A judge without it is run unchecked, at the
    concurrency of the engine's backends. `LLMJudge` and every strategy have it.

    `check_data` fails (InputError, naming the file and line) before any model call when an item does not suit the
    judge: too long for its model's context, a label off its scale. `concurrency` is how many items are worth
    judging at once: what its models take, shared among the calls one item makes at once (a jury of 3 sends 3);
    only the judge knows that share, so it says it rather than the engine guessing from the backends."""

    def check_data(self, data: LoadedData) -> None: ...

    def concurrency(self) -> int: ...


async def judge_item(judge: Judge, item: Item) -> Verdict:
    """`judge`'s verdict on `item`, stamped with what ties it to both: how long it took, the item's gold label,
    content hash, metadata and texts, and the judge's fingerprint. The one place verdicts are stamped (judges do
    not stamp their own): the engine judges every item through it, and a strategy each of its inner judges, whose
    fingerprints its record keeps (`strategies.base.brief`)."""
    start = time.perf_counter()
    verdict = await judge(item)
    verdict.latency_s = time.perf_counter() - start
    verdict.label = item.label
    verdict.item_hash = item.content_hash()
    verdict.judge_fingerprint = judge.spec.fingerprint
    # the item's texts and other columns (group, system, annotators...) travel with the verdict, so that the run
    # directory alone serves analysis and exports
    verdict.metadata = item.metadata or None
    verdict.item = ItemTexts.of(item)
    return verdict


class LLMJudge(ABC):
    """A judge that asks a language model. Subclasses build the prompt variables and read the verdict."""

    mode: Mode

    def __init__(self, backend: Backend, config: JudgeConfig) -> None:
        if config.mode != self.mode:
            raise ConfigError(f"{type(self).__name__} judges {self.mode}, config says {config.mode}")
        if config.turn_scope == "each" and self.mode != "pointwise":
            raise ConfigError(
                f"turn_scope 'each' scores every assistant turn, which only pointwise judging does; {self.mode} "
                "candidates share the earlier turns and differ only in the final one (use turn_scope 'final')"
            )
        self.backend = backend
        self.config = config
        self.rubric: Rubric | None = load_rubric(config.rubric) if config.rubric else None
        self.template: Template = (
            load_template(config.template, self.mode) if config.template else builtin_template(self.mode)
        )
        self.demo_pool = DemoPool(config.demos, self.mode, seed=config.seed) if config.demos else None
        self.rule_set: RuleSet | None = load_rules(config.rules) if config.rules else None
        for wanted, variable in ((self.demo_pool, "demos"), (self.rule_set, "rules")):
            if wanted is not None and variable not in self.template.system + self.template.user:
                raise ConfigError(
                    f"template {self.template.source} has no place for {variable} (it never uses `{variable}`); "
                    f"use a built-in template or add a `{{% for x in {variable} %}}` block"
                )

    @property
    def max_tokens(self) -> int:
        return self.config.max_tokens or self.backend.capabilities.default_max_tokens

    # -- identity ---------------------------------------------------------------------------------------
    @functools.cached_property
    def spec(self) -> JudgeSpec:
        """What decides this judge's verdicts. A judge is not changed after construction, so it is worked out once."""
        identity = {
            "backend": self.backend.name,
            "base_url": getattr(self.backend, "base_url", None),
            "template": {
                "name": self.template.name,
                "version": self.template.version,
                "source": self.template.source,
                "hash": self.template.content_hash(),
            },
            "rubric": None
            if self.rubric is None
            else {"name": self.rubric.name, "version": self.rubric.version, "hash": self.rubric.content_hash()},
            "config": self._config_identity(),
            "max_tokens": self.max_tokens,
            "demos": None if self.demo_pool is None else self.demo_pool.describe(),
            "rules": None
            if self.rule_set is None
            else {"name": self.rule_set.name, "hash": self.rule_set.content_hash()},
        }
        return JudgeSpec(mode=self.mode, identity=identity)

    @property
    def fingerprint(self) -> str:
        """`spec.fingerprint`, for short."""
        return self.spec.fingerprint

    def _config_identity(self) -> dict[str, Any]:
        """The config as it enters the fingerprint. Settings added later are left out at their defaults, so runs
        made before they existed keep their fingerprints: turn_scope "final", and demos' embed_model unless
        the examples are chosen by embedding."""
        exclude: dict[str, Any] = {}
        if self.config.turn_scope == "final":
            exclude["turn_scope"] = True
        if self.config.demos is not None and self.config.demos.select != "embedding":
            exclude["demos"] = {"embed_model"}
        return self.config.model_dump(exclude=exclude or None)

    # -- before a run (Preflight) ------------------------------------------------------------------------
    def concurrency(self) -> int:
        return self.backend.capabilities.max_concurrency

    def check_data(self, data: LoadedData) -> None:
        """Fail before any call if an item has images and the model takes none, or cannot fit the model's context
        window with the judge prompt.

        Local models count tokens exactly; for remote ones (when a context length is known) the count is
        estimated at 4 characters a token, which flags only texts that are clearly too long."""
        self.check_vision(data)
        limit = self.backend.capabilities.context_length
        if not limit:
            return
        budget = limit - self.max_tokens
        for item in data.items:
            tokens = self.prompt_tokens(item)
            how = ""
            if tokens is None:
                tokens = max(r.prompt_chars() for r in self.requests(item)) // 4
                how = "about "
            if tokens > budget:
                raise InputError(
                    f"item '{item.id}' needs {how}{tokens} prompt tokens with the judge's template, but the model's "
                    f"context of {limit} leaves {budget} after reserving {self.max_tokens} for the answer",
                    file=data.path,
                    line=data.lines.get(item.id),
                    hint="drop or split this item, lower --max-tokens, or use a model with a longer context",
                )

    def check_vision(self, data: LoadedData) -> None:
        """Refuse the first item with images when the judge's model declares no vision: judged on its text alone,
        its verdict would look sound and be about something else. Recorded answers (replay, import) pass: the
        model that wrote them saw the images."""
        if self.backend.capabilities.vision or self.backend.capabilities.recorded:
            return
        for item in data.items:
            found = item.image_refs()
            if found:
                name = next(iter(found))
                raise InputError(
                    f"item '{item.id}' has images, but the judge's model {self.backend.name} takes no images "
                    "(its backend declares no vision)",
                    file=data.path,
                    line=data.lines.get(item.id),
                    field=data.field_map.get(name, name),
                    hint="judge with a vision model (openai:MODEL, anthropic:MODEL), or drop the items' images",
                )

    # -- prompts -----------------------------------------------------------------------------------------
    def _variables(self, item: Item) -> dict[str, Any]:
        demos = [{**d.model_dump(), "answer": self._demo_answer(d)} for d in self.demos_for(item)]
        rules = self.rule_set.rules if self.rule_set is not None else []
        return {
            "id": item.id,
            "prompt": item.prompt,
            # the earlier conversation, rendered by templates with a `{% if turns %}` block
            "turns": [t.model_dump() for t in item.turns] if item.turns else [],
            # the retrieved passages (RAG items), for templates with a `{% for c in contexts %}` block
            "contexts": item.contexts or [],
            "grade_conversation": False,
            "metadata": item.metadata,
            "reference": item.reference,
            "rubric": self.rubric,
            "demos": demos,
            "rules": rules,
        }

    def demos_for(self, item: Item) -> list[Item]:
        if self.demo_pool is None:
            return []
        return self.demo_pool.select(item, usable=lambda d: self._demo_answer(d) is not None)

    def _demo_answer(self, demo: Item) -> str | None:
        """The answer an example shows, in the judge's answer format; None if the judge cannot show it."""
        return None

    def _request(
        self,
        messages: tuple[Message, ...],
        schema: dict[str, Any] | None,
        *,
        item_id: str | None = None,
        order: Literal["AB", "BA"] | None = None,
        images: tuple[ImagePart, ...] = (),
    ) -> GenerateRequest:
        if images:  # after the rendered text of the user's message (the last one), each with its caption
            messages = (*messages[:-1], messages[-1].model_copy(update={"images": images}))
        use_schema = self.template.output == "json" and self.config.structured
        max_tokens = self.max_tokens
        if self.config.rationale == "none" and self.template.output == "json":
            max_tokens = min(max_tokens, 32)
        return GenerateRequest(
            messages=messages,
            max_tokens=max_tokens,
            temperature=self.config.temperature,
            seed=self.config.seed,
            json_schema=schema if use_schema else None,
            top_logprobs=self.config.top_logprobs if self.backend.capabilities.logprobs else 0,
            prefill=_json_prefill(schema) if use_schema and schema and self.backend.capabilities.prefill else "",
            item_id=item_id,
            order=order,
        )

    @abstractmethod
    def requests(self, item: Item) -> list[GenerateRequest]:
        """Every request this judge would send for the item (`check_data` measures them against the context)."""

    def prompt_tokens(self, item: Item) -> int | None:
        counts = [self.backend.count_tokens(r.messages) for r in self.requests(item)]
        known = [c for c in counts if c is not None]
        return max(known) if known else None

    # -- judging -----------------------------------------------------------------------------------------
    async def __call__(self, item: Item) -> Verdict:
        """The verdict on `item`, a failure turned into a record (a fatal backend error is raised). Unstamped: the
        engine stamps it (`judge_item`)."""
        try:
            verdict = await self._judge(item)
        except ParseError as exc:
            verdict = self._failed(item, ErrorInfo(reason="parse_failure", message=str(exc)), raw=[exc.raw])
        except BackendError as exc:
            if exc.fatal:
                raise
            verdict = self._failed(item, ErrorInfo(reason=exc.reason, message=str(exc), retryable=exc.retryable))
        if self.demo_pool is not None:
            verdict.demos = [d.id for d in self.demos_for(item)]
        return verdict

    def _failed(self, item: Item, error: ErrorInfo, raw: list[str] | None = None) -> Verdict:
        return Verdict(id=item.id, mode=self.mode, error=error, raw=raw or [])

    def _unparsed(self, item: Item, exc: ParseError, response: GenerateResponse) -> Verdict:
        """A parse failure after a call: the raw text is kept, and so are the tokens it cost."""
        verdict = self._failed(item, ErrorInfo(reason="parse_failure", message=str(exc)), raw=[exc.raw])
        verdict.usage = response.usage
        return verdict

    @abstractmethod
    async def _judge(self, item: Item) -> Verdict: ...

    async def _generate(self, request: GenerateRequest) -> GenerateResponse:
        return await self.backend.generate(request)


def image_parts(*groups: tuple[str, list[str] | None]) -> tuple[ImagePart, ...]:
    """The images of `groups` ((what they belong to, their references), in the order shown), each captioned with
    what it belongs to, as the template names it: "[Image 1 of Response A]"."""
    return tuple(
        ImagePart.of(ref, caption=f"[Image {n} of {owner}]")
        for owner, refs in groups
        for n, ref in enumerate(refs or [], 1)
    )


def _json_prefill(schema: dict[str, Any]) -> str:
    """The fixed opening of the JSON answer up to the first value, e.g. `{"winner": "`: the grammar would force
    these tokens anyway, and they cost a forward pass each when generated instead of read with the prompt."""
    key, spec = next(iter(schema["properties"].items()))
    opener = {"string": '"', "array": "["}.get(spec.get("type"), "")
    return f'{{"{key}": {opener}'
