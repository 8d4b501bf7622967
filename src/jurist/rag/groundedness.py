"""Groundedness (faithfulness) of an answer to its retrieved context, claim by claim.

The answer (an item's `response`; the question is its `prompt`, the passages its `contexts`) is split into claims
(by sentence, or by a model with `decompose="model"`), and a model judges each claim against the context:
supported, contradicted or not found, quoting the sentence of the context that decides it. The verdict is a Score
whose `score` is the supported fraction of the claims judged (and `expected` the mean P(supported), where the labels
were read from token probabilities); `Verdict.strategy` holds every claim's judgment. A claim
whose judgment fails is recorded as failed (label None, with the error), counted apart, and left out of the
fraction; the verdict is then flagged and kept `incomplete` (judged again by a later session when the failure was
transient). When no claim could be judged the verdict is a failure."""

from __future__ import annotations

import functools
import hashlib
from typing import Any, Literal

from ..backends.base import Backend, GenerateRequest, Message
from ..data.load import LoadedData
from ..errors import BackendError, InputError
from ..judges.base import JudgeSpec
from ..judges.labels import ask_label, reads_probabilities
from ..outcomes import Score
from ..prompts import prompt_set
from ..types import ErrorInfo, Item, Usage, Verdict
from .claims import LABELS, ClaimJudgment, parse_claim_judgment, parse_claim_list, split_claims

STRATEGY = "groundedness"
Decompose = Literal["sentences", "model"]


def context_text(contexts: list[str]) -> str:
    """The passages as the judge sees them: numbered, in retrieval order, blank lines between."""
    return "\n\n".join(f"[{i + 1}] {passage.strip()}" for i, passage in enumerate(contexts))


def require_contexts(data: LoadedData) -> None:
    """Fail before any call on an item with no retrieved passages (what groundedness and context relevance judge
    against), naming its file and line."""
    for item in data.items:
        if not item.contexts:
            raise InputError(
                f"item '{item.id}' has no contexts",
                file=data.path,
                line=data.lines.get(item.id),
                field="contexts",
                hint='give the retrieved passages as a list in `contexts` (["...", "..."]) or one text in `context`',
            )


class GroundednessJudge:
    """Judges each claim of an item's answer against its contexts, one call per claim (plus one to split the
    answer with `decompose="model"`)."""

    def __init__(self, backend: Backend, *, decompose: Decompose = "sentences", max_tokens: int = 128) -> None:
        self.backend = backend
        self.decompose = decompose
        self.max_tokens = max_tokens
        self.prompts = prompt_set("rag")

    @functools.cached_property
    def spec(self) -> JudgeSpec:
        prompts = self.prompts.text("claim") + (self.prompts.text("decompose") if self.decompose == "model" else "")
        return JudgeSpec(
            mode="pointwise",
            identity={
                "judge": STRATEGY,
                "backend": self.backend.name,
                "prompt": hashlib.sha256(prompts.encode()).hexdigest()[:16],
                "decompose": self.decompose,
                "max_tokens": self.max_tokens,
                "labels_from": "token probabilities" if reads_probabilities(self.backend) else "text",
            },
        )

    def concurrency(self) -> int:
        return self.backend.capabilities.max_concurrency

    def check_data(self, data: LoadedData) -> None:
        require_contexts(data)

    async def _ask(self, text: str) -> tuple[str, Usage]:
        request = GenerateRequest(
            messages=(Message(role="user", content=text),), max_tokens=self.max_tokens, temperature=0.0, seed=0
        )
        reply = await self.backend.generate(request)
        return reply.text, reply.usage

    async def _claims(self, item: Item, raw: list[str]) -> tuple[list[str], str, Usage]:
        """The claims, how they were found, and what finding them cost. A model decomposition that fails or
        lists nothing falls back to sentences (and says so); a fatal backend error is raised."""
        answer = item.response or ""
        if self.decompose == "model" and answer.strip():
            try:
                text, usage = await self._ask(self.prompts.render("decompose", question=item.prompt, answer=answer))
            except BackendError as exc:
                if exc.fatal:
                    raise
                return split_claims(answer), f"sentences (the decomposition failed: {exc.reason})", Usage()
            raw.append(text)
            listed = parse_claim_list(text)
            if listed:
                return listed, "model", usage
            return split_claims(answer), "sentences (the decomposition listed no claims)", usage
        return split_claims(answer), "sentences", Usage()

    async def __call__(self, item: Item) -> Verdict:
        if not item.contexts:
            error = ErrorInfo(reason="no_context", message="the item has no contexts to check the answer against")
            return Verdict(id=item.id, mode="pointwise", error=error)
        raw: list[str] = []
        claims, found_by, usage = await self._claims(item, raw)
        if not claims:
            error = ErrorInfo(reason="parse_failure", message="the answer has no claims (it is empty)")
            return Verdict(id=item.id, mode="pointwise", error=error, raw=raw, usage=usage)
        context = context_text(item.contexts)
        judgments: list[ClaimJudgment] = []
        retryable = False
        for claim in claims:
            text = self.prompts.render("claim", context=context, question=item.prompt, claim=claim)
            try:
                answer = await ask_label(
                    self.backend, text, LABELS, max_tokens=self.max_tokens, whole_answer=True, min_prefix=1
                )
            except BackendError as exc:
                if exc.fatal:
                    raise
                retryable = retryable or exc.retryable
                judgments.append(ClaimJudgment(claim=claim, error=f"{exc.reason}: {exc}"))
                continue
            reply = answer.reply
            raw.append(reply.text)
            usage = usage + reply.usage
            judgment = parse_claim_judgment(claim, reply.text, context)
            # where the answer was started with "[[", the label is the likeliest next token (a small model that
            # ignores the format still gives one); the evidence is read from the text either way
            # (the three labels differ in their first letter, which SmolLM2's tokenizer splits off: "S", "UPPORTED")
            if answer.probabilities:
                update = {"label": answer.label, "probabilities": answer.probabilities, "error": None}
                judgment = judgment.model_copy(update=update)
            judgments.append(judgment)
        return groundedness_verdict(item.id, judgments, found_by, raw=raw, usage=usage, retryable=retryable)


def groundedness_verdict(
    item_id: str,
    judgments: list[ClaimJudgment],
    found_by: str,
    *,
    raw: list[str] | None = None,
    usage: Usage | None = None,
    retryable: bool = False,
) -> Verdict:
    """The verdict on an answer from its claims' judgments: score = supported / judged claims."""
    judged = [j for j in judgments if j.label is not None]
    failed = len(judgments) - len(judged)
    counts = {label: sum(j.label == label for j in judged) for label in ("supported", "contradicted", "not_found")}
    record: dict[str, Any] = {
        "name": STRATEGY,
        "claims_from": found_by,
        "claims": [j.model_dump() for j in judgments],
        **counts,
        "failed_claims": failed,
    }
    common: dict[str, Any] = {"id": item_id, "mode": "pointwise", "raw": raw or [], "usage": usage or Usage()}
    if not judged:
        message = f"none of the {len(judgments)} claims could be judged: {judgments[0].error}"
        error = ErrorInfo(reason="claims_failed", message=message, retryable=retryable)
        return Verdict(**common, error=error, strategy=record)
    # with the labels' probabilities, the expected supported fraction: finer than the count, as G-Eval's score is
    chances = [j.probabilities["supported"] for j in judged if j.probabilities is not None]
    expected = sum(chances) / len(chances) if len(chances) == len(judged) else None
    outcome = Score(score=counts["supported"] / len(judged), expected=expected)
    verdict = Verdict(**common, outcome=outcome, strategy=record)
    if failed:
        verdict.flagged = True
        verdict.incomplete = ErrorInfo(
            reason="claims_failed",
            message=f"{failed} of {len(judgments)} claims could not be judged (left out of the score)",
            retryable=retryable,
        )
    return verdict
