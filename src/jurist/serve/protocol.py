"""What the judge server reads and answers: the native request and response (`POST /v1/judge`), OpenRLHF's remote
reward model protocol (`POST /get_reward`), how a query text is split into prompt and response, and the reward a
verdict gives.

OpenRLHF (openrlhf/cli/serve_rm.py, and the client in openrlhf/utils/agent.py) posts
`{"query": [TEXT...], "prompts": [TEXT...], "labels": [ANY...]}`, where each query is the prompt and the policy's
response concatenated (decoded with the chat template's special tokens kept), each prompt is the prefix it was
generated from, and each label the data set's label (a reference answer, or None). Its own server answers
`{"rewards": [...], "scores": [...], "extra_logs": {...}}` (scores: the same values, which OpenRLHF's dynamic filtering
reads); the client reads `rewards`, then `scores` and `extra_logs` where present.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ..outcomes import Preference, Ranking, Score
from ..types import ErrorInfo, Mode, Verdict


class JudgeRequest(BaseModel):
    """`POST /v1/judge`: items in the shapes jurist's loaders read (`prompt` and `response`, `response_a` and
    `response_b`, or `responses`; optional `id`, `reference`, `turns`, `label`; other keys become metadata)."""

    model_config = ConfigDict(extra="forbid")

    items: list[dict[str, Any]] = Field(min_length=1)
    mode: Mode | None = Field(None, description="if given, it must be the server's mode")


class ItemResult(BaseModel):
    """One item's answer: its reward and verdict, or why it has none."""

    id: str
    ok: bool
    # pointwise: the score (the probability-weighted one where the judge gave logprobs); pairwise: P(response_a
    # wins), ties half; listwise: one reward per response, 1 for the best down to 0 for the worst
    reward: float | list[float] | None = None
    verdict: dict[str, Any] | None = None  # the Verdict as JSON, without the item's texts (the client has them)
    error: ErrorInfo | None = None


class JudgeResponse(BaseModel):
    request_id: str
    mode: Mode
    judged: int
    failed: int  # items with no reward: their `error` says why
    results: list[ItemResult]


class RewardRequest(BaseModel):
    """`POST /get_reward`, OpenRLHF's remote reward model request. Other keys that some OpenRLHF versions send
    (`metas`, `datasources`...) are accepted and not used."""

    model_config = ConfigDict(extra="allow")

    query: list[str] = Field(min_length=1)
    prompts: list[str] | None = None
    labels: list[Any] | None = None


class Failure(BaseModel):
    """A query that got no reward, by its position in the request."""

    index: int
    reason: str
    message: str


def validation_message(exc: ValidationError) -> str:
    """A pydantic error as one line a client can act on: where, and what is wrong."""
    first = exc.errors()[0]
    where = ".".join(str(part) for part in first["loc"]) or "the body"
    more = f" (and {exc.error_count() - 1} more problems)" if exc.error_count() > 1 else ""
    return f"{where}: {first['msg']}{more}"


def reward_of(verdict: Verdict) -> float | list[float] | None:
    """The reward a verdict gives (see ItemResult.reward); None for a failure or a verdict that decided nothing."""
    outcome = verdict.outcome
    if verdict.error is not None or outcome is None:
        return None
    if isinstance(outcome, Score):
        return outcome.value()
    if isinstance(outcome, Preference):
        return outcome.p_first(ties="half")
    if isinstance(outcome, Ranking) and outcome.ranking:
        k = len(outcome.ranking)
        rewards = [0.0] * k
        for place, position in enumerate(outcome.ranking):
            rewards[position - 1] = 1.0 - place / (k - 1) if k > 1 else 1.0
        return rewards
    return None


def no_reward(verdict: Verdict) -> ErrorInfo:
    """Why a verdict gives no reward: its error, or that it decided nothing (e.g. the two orders disagreed)."""
    if verdict.error is not None:
        return verdict.error
    return ErrorInfo(reason="no_decision", message="the judge's verdict decided nothing (flagged: it needs a look)")


def split_query(query: str, prompt: str | None, marker: str | None) -> tuple[str, str]:
    """An OpenRLHF query (the prompt and the response concatenated) as (prompt, response).

    The prompt OpenRLHF sends with it is the prefix: the response is what follows it. Where it is not an exact
    prefix (a tokenizer's decode may add a BOS text in front), the response is what follows its first occurrence.
    Without a prompt, or when the prompt is not in the query, `marker` (the chat template's opening of the
    assistant turn, e.g. "<|im_start|>assistant\\n") splits the query at its last occurrence. Otherwise a
    ValueError says why: a guessed split would judge the wrong text."""
    if prompt is not None and prompt.strip():
        at = 0 if query.startswith(prompt) else query.find(prompt)
        if at >= 0:
            return prompt, query[at + len(prompt) :]
    if marker:
        at = query.rfind(marker)
        if at >= 0:
            return query[:at], query[at + len(marker) :]
    if prompt is None or not prompt.strip():
        why = "no prompt was sent with this query"
    else:
        why = "the query does not contain its prompt"
    hint = "" if marker else "; start the server with --response-marker (the chat template's assistant opening)"
    raise ValueError(f"{why}, so it cannot be split into prompt and response{hint}")


def label_text(label: Any) -> str | None:
    """An OpenRLHF label as the item's reference answer: a text as it is, another value as JSON, None or "" as
    none."""
    if label is None or (isinstance(label, str) and not label.strip()):
        return None
    return label if isinstance(label, str) else json.dumps(label, ensure_ascii=False)
