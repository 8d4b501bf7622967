"""The typed records that flow through jurist: items to judge, and the verdicts about them (their outcomes are in
jurist.outcomes)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from typing import Any, Literal, TypeVar

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    field_validator,
    model_serializer,
    model_validator,
)

from . import images as _images
from . import trajectory as _trajectory
from .outcomes import Outcome, Preference, Ranking, Score

Mode = Literal["pointwise", "pairwise", "listwise"]
MODES: tuple[Mode, ...] = ("pointwise", "pairwise", "listwise")
Role = Literal["user", "assistant"]
TurnScope = Literal["final", "each"]
# the image fields of an item, each beside the text it belongs to (the prompt's, the response's, A's and B's)
IMAGE_FIELDS = ("images", "response_images", "response_a_images", "response_b_images")


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

    @classmethod
    def total(cls, usages: Iterable[Usage]) -> Usage:
        """What `usages` spent together (nothing for none): the one way usage is summed."""
        return sum(usages, cls())

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
    # the retrieved passages an answer rests on (RAG: groundedness, context relevance), in retrieval order
    contexts: list[str] | None = None
    # images (local paths, http(s) URLs, base64 data URLs) shown with the prompt, the pointwise response, and the
    # pairwise responses A and B; only to a backend with vision
    images: list[str] | None = None
    response_images: list[str] | None = None
    response_a_images: list[str] | None = None
    response_b_images: list[str] | None = None
    # an agent's trajectory (OpenAI or Anthropic messages, normalised to steps) and the checks it is graded on
    trajectory: list[_trajectory.Step] | None = None
    requirements: list[str] | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)

    @field_validator("trajectory", mode="before")
    @classmethod
    def _steps(cls, value: Any) -> Any:
        return value if value is None or _trajectory.is_normalised(value) else _trajectory.normalise(value)

    @field_validator("requirements", mode="before")
    @classmethod
    def _requirements(cls, value: Any) -> Any:
        return None if value is None else _trajectory.requirements_of(value)

    def image_refs(self) -> dict[str, list[str]]:
        """The item's images by field, only the fields that have some."""
        return {name: refs for name in IMAGE_FIELDS if (refs := getattr(self, name))}

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
        if self.contexts is not None:  # likewise: an item without contexts keeps its hash
            payload.append({"contexts": self.contexts})
        if found := self.image_refs():  # likewise; the bytes by their sha256 (a URL by its text: never fetched)
            payload.append({"images": {name: [_images.digest(r) for r in refs] for name, refs in found.items()}})
        if self.trajectory is not None:  # likewise
            payload.append({"trajectory": [step.model_dump(mode="json") for step in self.trajectory]})
        if self.requirements is not None:
            payload.append({"requirements": self.requirements})
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
    contexts: list[str] | None = None
    # the images by field: their paths or URLs (a data URL as its type and hash: never a copy of the bytes) and,
    # in `image_sha256`, the hashes the item hash was made of
    images: list[str] | None = None
    response_images: list[str] | None = None
    response_a_images: list[str] | None = None
    response_b_images: list[str] | None = None
    image_sha256: dict[str, list[str]] | None = None
    # an agent's trajectory and its requirements, only where the item had them
    trajectory: list[_trajectory.Step] | None = None
    requirements: list[str] | None = None

    @classmethod
    def of(cls, item: Item) -> ItemTexts:
        found = item.image_refs()
        return cls.model_validate(
            {
                **item.model_dump(include=_TEXT_FIELDS),
                **{name: [_images.recorded(r) for r in refs] for name, refs in found.items()},
                "image_sha256": {name: [_images.digest(r) for r in refs] for name, refs in found.items()} or None,
            }
        )

    @model_serializer(mode="wrap")
    def _without_absent_images(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        """Image (and trajectory) fields only where the item had them: other verdicts are written as before."""
        data: dict[str, Any] = handler(self)
        for name in (*IMAGE_FIELDS, "image_sha256", "trajectory", "requirements"):
            if data.get(name, True) is None:
                del data[name]
        return data


# the fields ItemTexts copies from an item as they are (images are recorded by reference and hash instead)
_TEXT_FIELDS = set(ItemTexts.model_fields) - {*IMAGE_FIELDS, "image_sha256"}


class ErrorInfo(BaseModel):
    """Why an item has no verdict. `reason` is a short code used to group failures in the summary."""

    reason: str
    message: str
    retryable: bool = False


# the kind of outcome each mode's judges give
OUTCOME_KINDS: dict[Mode, type[Score] | type[Preference] | type[Ranking]] = {
    "pointwise": Score,
    "pairwise": Preference,
    "listwise": Ranking,
}
# every outcome field's name in a flat record (run directories written before outcomes, exports)
_FLAT_KEYS = frozenset(name for kind in OUTCOME_KINDS.values() for name in kind.FLAT)
OutcomeT = TypeVar("OutcomeT", Score, Preference, Ranking)


class Verdict(BaseModel):
    """A judge's decision about one item, with everything needed to audit it: what it decided (`outcome`, by
    kind: a Score, a Preference or a Ranking; None where nothing was read) in an envelope of what every verdict
    has."""

    id: str
    mode: Mode
    outcome: Outcome | None = None
    # the decision needs a human look: the orders disagreed, a vote split, one order of two failed, no voter decided
    flagged: bool = False
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

    @model_validator(mode="before")
    @classmethod
    def _lift_flat_outcome(cls, data: Any) -> Any:
        """A flat record (verdicts.jsonl before outcomes, a JSONL export) gets its outcome fields lifted into
        `outcome`; a set test first, since every verdict made or read passes here."""
        if isinstance(data, dict) and "outcome" not in data and not _FLAT_KEYS.isdisjoint(data):
            data = dict(data)
            kind = OUTCOME_KINDS.get(data.get("mode", ""))
            values = {name: data.pop(name) for name in _FLAT_KEYS & data.keys()}
            if kind is not None:
                # a derived name (a ranking's `best`) is no field: it is left out
                fields = {
                    f: values[n] for n, f in kind.FLAT.items() if f in kind.model_fields and values.get(n) is not None
                }
                data["outcome"] = {"kind": kind.model_fields["kind"].default, **fields} if fields else None
        return data

    @property
    def ok(self) -> bool:
        return self.error is None

    def decision(self) -> str | float | int | None:
        """What the verdict decided, for votes and reports: the winner, the best position, or the pointwise label
        (its score where it has none); None for a failed verdict or one that decided nothing."""
        if self.error is not None or self.outcome is None:
            return None
        return self.outcome.decision()

    def confidence(self) -> float | None:
        """How sure the verdict is: the highest probability of its decision where the model gave logprobs, else
        the agreement a strategy measured (vote share), else unknown."""
        known = self.outcome.confidence() if self.outcome is not None else None
        if known is not None:
            return known
        if self.strategy is not None and isinstance(self.strategy.get("agreement"), int | float):
            return float(self.strategy["agreement"])
        return None

    def outcome_as(self, kind: type[OutcomeT]) -> OutcomeT:
        """The outcome read as a `kind` (Score, Preference, Ranking) by a reader of one mode: the verdict's own when
        it is one, else an empty one (it decided nothing of that kind). For reading; set `outcome` to change it."""
        return self.outcome if isinstance(self.outcome, kind) else kind()
