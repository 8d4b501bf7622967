"""What every judging strategy shares: a judge made of judges, with a combined identity and backend view."""

from __future__ import annotations

import asyncio
import functools
import hashlib
import json
import time
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Sequence
from typing import Any, TypeVar

from .._version import __version__
from ..backends.base import Capabilities, GenerateRequest
from ..errors import ConfigError
from ..judges.base import Judge, LLMJudge
from ..types import Item, Mode, Usage, Verdict

T = TypeVar("T")


class CombinedBackend:
    """The backend a strategy shows the runner: the names of its judges' models, and capabilities that suit all of
    them (the smallest context, and a concurrency divided by how many inner judges run at once per item)."""

    def __init__(self, judges: Sequence[Judge], fan_out: int) -> None:
        names = list(dict.fromkeys(j.backend.name for j in judges))
        self.name = "+".join(names)
        caps = [j.backend.capabilities for j in judges]
        contexts = [c.context_length for c in caps if c.context_length]
        concurrency = min(c.max_concurrency for c in caps)
        self.capabilities = Capabilities(
            context_length=min(contexts) if contexts else None,
            max_concurrency=max(1, concurrency // max(1, fan_out)),
            default_max_tokens=max(c.default_max_tokens for c in caps),
        )

    @property
    def serial(self) -> bool:
        """True when a model works one request at a time (in-process): inner judges then run one after another."""
        return self.capabilities.max_concurrency <= 1


class Strategy(ABC):
    """A judge that wraps judges. Subclasses set `name`, give their settings and combine the inner verdicts.

    The fingerprint hashes the strategy's name and settings with the inner judges' fingerprints, so changing any
    part (a setting, an inner model, template, seed...) never reuses a verdict made with the old one.
    """

    name: str
    mode: Mode
    judges: tuple[Judge, ...]
    _fan_out: int = 1  # inner judges run at once for one item

    def __init__(self, judges: Sequence[Judge]) -> None:
        if not judges:
            raise ConfigError(f"{type(self).__name__} needs at least one judge")
        for j in judges:
            if not isinstance(j, Judge):
                raise ConfigError(f"{type(self).__name__}: {j!r} is not a judge")
        modes = {j.mode for j in judges}
        if len(modes) > 1:
            raise ConfigError(f"{type(self).__name__}: all judges must judge the same mode, got {sorted(modes)}")
        self.judges = tuple(judges)
        self.mode = judges[0].mode
        self.backend = CombinedBackend(self.judges, self._fan_out)

    @abstractmethod
    def settings(self) -> dict[str, Any]:
        """The strategy's own configuration (JSON-able): it goes into describe() and the fingerprint."""

    @abstractmethod
    async def _judge(self, item: Item) -> Verdict: ...

    # -- identity ---------------------------------------------------------------------------------------
    @property
    def max_tokens(self) -> int:
        return max(j.max_tokens for j in self.judges)

    def describe(self) -> dict[str, Any]:
        return {
            "jurist_version": __version__,
            "strategy": self.name,
            "settings": self.settings(),
            "backend": self.backend.name,
            "config": {"mode": self.mode},
            "judges": [_without_version(j.describe()) for j in self.judges],
        }

    @functools.cached_property
    def fingerprint(self) -> str:
        identity = {
            "strategy": self.name,
            "mode": self.mode,
            "settings": self.settings(),
            "judges": [j.fingerprint for j in self.judges],
        }
        return hashlib.sha256(json.dumps(identity, sort_keys=True, default=str).encode()).hexdigest()[:16]

    # -- requests ----------------------------------------------------------------------------------------
    def requests(self, item: Item) -> list[GenerateRequest]:
        return [r for j in self.judges for r in j.requests(item)]

    def prompt_tokens(self, item: Item) -> int | None:
        known = [n for j in self.judges if (n := j.prompt_tokens(item)) is not None]
        return max(known) if known else None

    # -- judging -----------------------------------------------------------------------------------------
    async def __call__(self, item: Item) -> Verdict:
        start = time.perf_counter()
        verdict = await self._judge(item)
        verdict.latency_s = time.perf_counter() - start
        verdict.label = item.label
        verdict.item_hash = item.content_hash()
        verdict.judge_fingerprint = self.fingerprint
        return verdict

    async def _all(self, calls: Sequence[Awaitable[T]]) -> list[T]:
        """Await the inner judges' calls: concurrently, or one by one where a model takes one request at a time."""
        if self.backend.serial:
            return [await c for c in calls]
        return list(await asyncio.gather(*calls))


def _without_version(described: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in described.items() if k != "jurist_version"}


def allows_tie(judge: Judge) -> bool:
    """Whether a judge may answer a tie (pairwise): its config says so, or all its inner judges do."""
    if isinstance(judge, LLMJudge):
        return judge.config.allow_tie
    inner = getattr(judge, "judges", None)
    return all(allows_tie(j) for j in inner) if inner else True


def combined_usage(verdicts: Sequence[Verdict]) -> Usage:
    total = Usage()
    for v in verdicts:
        total = total + v.usage
    return total


def combined_raw(verdicts: Sequence[Verdict]) -> list[str]:
    return [text for v in verdicts for text in v.raw]


def decision(verdict: Verdict) -> str | float | int | None:
    """What a verdict decided, for votes and reports: the winner, the best position, or the pointwise label."""
    if verdict.error is not None:
        return None
    if verdict.mode == "pairwise":
        return verdict.winner
    if verdict.mode == "listwise":
        return verdict.best
    return verdict.choice if verdict.choice is not None else verdict.score


def brief(verdict: Verdict) -> dict[str, Any]:
    """A compact record of an inner verdict, kept in the outer verdict's `strategy`."""
    record: dict[str, Any] = {"fingerprint": verdict.judge_fingerprint}
    if verdict.error is not None:
        record["error"] = verdict.error.reason
        return record
    if verdict.mode == "pairwise":
        record.update(winner=verdict.winner, consistent=verdict.consistent, probs=verdict.probs)
    elif verdict.mode == "listwise":
        record.update(best=verdict.best, ranking=verdict.ranking)
    else:
        record.update(score=verdict.score, choice=verdict.choice, score_expected=verdict.score_expected)
    if verdict.flagged:
        record["flagged"] = True
    if verdict.strategy is not None:
        record["strategy"] = verdict.strategy
    return record
