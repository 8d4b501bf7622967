"""Asking a model for one bracketed label ([[CORRECT]], [[DIFFERENT]], [[SUPPORTED]], ...), as step verification,
answer equivalence and RAG groundedness do. Where the backend can start the answer and give token probabilities (the
embedded model, llama.cpp), the answer is started with "[[" and the label read from the probabilities of the next
token: small models that ignore the format still give a label, with its probability. Elsewhere the label is read
from the answer's text."""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..backends.base import Backend, GenerateRequest, GenerateResponse, Message
from ..parse import label_probabilities

OPEN = "[["
# where the label is read from the next token: the answer needs only the label's first tokens
PROBABILITY_MAX_TOKENS = 8


@dataclass(frozen=True)
class LabelAnswer:
    label: str | None  # one of the labels, lowercased; None when the answer gives none
    probabilities: dict[str, float] | None  # P(label) renormalised over the labels, where read from tokens
    reply: GenerateResponse


def reads_probabilities(backend: Backend) -> bool:
    caps = backend.capabilities
    return caps.prefill and caps.logprobs


async def ask_label(
    backend: Backend,
    prompt: str,
    labels: tuple[str, ...],
    *,
    max_tokens: int,
    whole_answer: bool = False,
    min_prefix: int = 2,
) -> LabelAnswer:
    """Ask `prompt` (which asks for exactly one of `labels` in double brackets) and read the label. With
    `whole_answer` the model writes on after the label (what follows it is wanted too, e.g. an evidence quote);
    `min_prefix` is `label_probabilities`' (1 where the labels differ in their first letter)."""
    wanted = [label.lower() for label in labels]
    by_tokens = reads_probabilities(backend)
    request = GenerateRequest(
        messages=(Message(role="user", content=prompt),),
        max_tokens=PROBABILITY_MAX_TOKENS if by_tokens and not whole_answer else max_tokens,
        temperature=0.0,
        seed=0,
        prefill=OPEN if by_tokens else "",
        top_logprobs=10 if by_tokens else 0,
    )
    reply = await backend.generate(request)
    probabilities = label_probabilities(reply, len(OPEN), wanted, min_prefix=min_prefix) if by_tokens else None
    if probabilities:
        return LabelAnswer(max(wanted, key=lambda label: probabilities[label]), probabilities, reply)
    pattern = re.compile(r"\[\[\s*(" + "|".join(re.escape(label) for label in wanted) + r")\s*\]\]", re.I)
    found = pattern.findall(reply.text)
    return LabelAnswer(found[-1].lower() if found else None, None, reply)
