"""The typed records that flow through jurist: items to judge, and the verdicts about them."""

from __future__ import annotations

import hashlib
import json
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Mode = Literal["pointwise", "pairwise", "listwise"]
MODES: tuple[Mode, ...] = ("pointwise", "pairwise", "listwise")
Winner = Literal["A", "B", "tie"]
# how strongly a pairwise judge prefers its winner, where its format says (Arena-Hard: [[A>>B]] strong, [[A>B]] weak)
Strength = Literal["strong", "weak"]
Role = Literal["user", "assistant"]
TurnScope = Literal["final", "each"]


class Turn(BaseModel):
    """One message of a conversation: what the user said, or what the assistant answered."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    role: Role
    content: str


class Usage(BaseModel):
    """Tokens spent. `cached_tokens` are prompt tokens a backend did not recompute (prefix cache)."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached_tokens: int = 0
    calls: int = 0

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            prompt_tokens=self.prompt_tokens + other.prompt_tokens,
            completion_tokens=self.completion_tokens + other.completion_tokens,
            cached_tokens=self.cached_tokens + other.cached_tokens,
            calls=self.calls + other.calls,
        )

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


class Item(BaseModel):
    """One thing to judge. Which response fields are set depends on the mode.

    Labels are normalised on load: pairwise "A" | "B" | "tie"; pointwise a number;
    listwise a ranking of 1-based positions, best first (a single int means only the best is known).

    Multi-turn items: `turns` holds the earlier conversation (user first, alternating, ending with an assistant
    turn); `prompt` is the user's final request and `response` (`response_a`/`response_b`, `responses`) the
    answer(s) to it that are judged. The loader accepts other shapes of a conversation and brings them to this one.
    """

    model_config = ConfigDict(extra="forbid")

    id: str
    prompt: str
    response: str | None = None
    response_a: str | None = None
    response_b: str | None = None
    responses: list[str] | None = None
    reference: str | None = None
    label: str | float | list[int] | None = None
    turns: list[Turn] | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)

    def content_hash(self) -> str:
        """Hash of everything the judge sees, so an edited item is never matched to a stale verdict."""
        payload: list[Any] = [
            self.prompt,
            self.response,
            self.response_a,
            self.response_b,
            self.responses,
            self.reference,
        ]
        if self.turns:  # only then, so a single-turn item keeps the hash it always had
            payload.append([[t.role, t.content] for t in self.turns])
        return hashlib.sha256(json.dumps(payload).encode()).hexdigest()[:16]


class ItemTexts(BaseModel):
    """What the judge was shown of an item, copied onto its verdict so that a run directory is self-contained."""

    model_config = ConfigDict(extra="forbid")

    prompt: str
    response: str | None = None
    response_a: str | None = None
    response_b: str | None = None
    responses: list[str] | None = None
    reference: str | None = None
    turns: list[Turn] | None = None

    @classmethod
    def of(cls, item: Item) -> ItemTexts:
        return cls.model_validate(item.model_dump(include=set(cls.model_fields)))


class ErrorInfo(BaseModel):
    """Why an item has no verdict. `reason` is a short code used to group failures in the summary."""

    reason: str
    message: str
    retryable: bool = False


class OrderResult(BaseModel):
    """One presentation order of a pairwise judgment, with the winner mapped back to the original labels."""

    order: Literal["AB", "BA"]
    winner: Winner | None = None
    strength: Strength | None = None
    probs: dict[str, float] | None = None
    error: str | None = None


class Verdict(BaseModel):
    """A judge's decision about one item, with everything needed to audit it."""

    id: str
    mode: Mode
    # pointwise
    score: float | None = None
    choice: str | None = None
    score_expected: float | None = None
    score_probs: dict[str, float] | None = None
    criteria_scores: dict[str, float] | None = None  # checklist rubrics: one score per criterion
    # turn_scope "each": one record per assistant turn ({"turn", "score", "choice", "rationale"}); `score` is
    # their mean
    per_turn: list[dict[str, Any]] | None = None
    # pairwise
    winner: Winner | None = None
    probs: dict[str, float] | None = None
    consistent: bool | None = None
    # the orders' strength when every order read names the winner; None for a tie or where the format has none
    strength: Strength | None = None
    flagged: bool = False
    orders: list[OrderResult] | None = None
    # listwise
    ranking: list[int] | None = None
    best: int | None = None
    # common
    demos: list[str] | None = None  # ids of the few-shot examples shown
    rationale: str | None = None
    raw: list[str] = Field(default_factory=list)
    usage: Usage = Field(default_factory=Usage)
    latency_s: float = 0.0
    error: ErrorInfo | None = None
    # a verdict kept although part of its judging failed (pairwise: one of the two orders): why, and whether a
    # later session judges the item again (when the failure was transient); None for a complete verdict
    incomplete: ErrorInfo | None = None
    label: str | float | list[int] | None = None
    # the item's metadata (its columns other than the judged fields: group, system, annotators' labels...),
    # copied by the runner so that meta-evaluation and exports can slice by them
    metadata: dict[str, Any] | None = None
    # the item's texts (prompt, responses, reference, turns), copied by the runner; None in runs made before
    item: ItemTexts | None = None
    item_hash: str = ""
    judge_fingerprint: str = ""
    # set by a judging strategy (jurist.strategies): its name and how it decided (votes, agreement, per-judge
    # verdicts, whether it escalated and why); None for a plain judge
    strategy: dict[str, Any] | None = None

    @property
    def ok(self) -> bool:
        return self.error is None

    def confidence(self) -> float | None:
        """How sure the verdict is: the highest probability of its decision where the model gave logprobs, else
        the agreement a strategy measured (vote share), else unknown."""
        probs = self.score_probs if self.mode == "pointwise" else self.probs
        if probs:
            return max(probs.values())
        if self.strategy is not None and isinstance(self.strategy.get("agreement"), int | float):
            return float(self.strategy["agreement"])
        return None
