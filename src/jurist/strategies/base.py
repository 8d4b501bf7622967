"""What every judging strategy shares: a judge made of judges, with a combined identity, and what the engine asks
of it before a run (the checks and concurrency of its judges)."""

from __future__ import annotations

import asyncio
import functools
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Sequence
from typing import Any, ClassVar, TypeVar

from ..data.load import LoadedData
from ..errors import ConfigError, InputError
from ..judges.base import Judge, JudgeSpec, LLMJudge, Preflight, judge_item
from ..types import Item, Mode, Verdict
from .params import Slot, StrategyParams

T = TypeVar("T")


class Strategy(ABC):
    """A judge that wraps judges. Subclasses set `name`, give their settings and combine the inner verdicts, asking
    each inner judge through `judge_item` (so that its verdict carries its fingerprint).

    The fingerprint hashes the strategy's name and settings with the inner judges' fingerprints, so changing any
    part (a setting, an inner model, template, seed...) never reuses a verdict made with the old one.
    """

    name: str
    Params: ClassVar[type[StrategyParams]]  # its settings, one pydantic model (strategies/params.py)
    params: StrategyParams  # this strategy's settings, as checked by Params.check
    slots: ClassVar[tuple[Slot, ...]]  # where its judges go: the constructor's first arguments, a file's fields
    mode: Mode
    judges: tuple[Judge, ...]
    _fan_out: int = 1  # inner judges run at once for one item
    # it writes prompts of its own (debate notes, interview questions), which carry text only: items with images are
    # refused before any call rather than judged without them
    text_only: ClassVar[bool] = False

    def __init__(self, judges: Sequence[Judge]) -> None:
        if not judges:
            raise ConfigError(f"{type(self).__name__} needs at least one judge")
        for j in judges:
            if not isinstance(j, Judge):
                raise ConfigError(f"{type(self).__name__}: {j!r} is not a judge")
        modes = {j.spec.mode for j in judges}
        if len(modes) > 1:
            raise ConfigError(f"{type(self).__name__}: all judges must judge the same mode, got {sorted(modes)}")
        self.judges = tuple(judges)
        self.mode = judges[0].spec.mode

    def settings(self) -> dict[str, Any]:
        """The strategy's own configuration (JSON-able): it goes into the spec and the fingerprint. Its params, unless
        a strategy adds what they leave implicit (a default resolved, a prompt's wording)."""
        return self.params.model_dump()

    @abstractmethod
    async def _judge(self, item: Item) -> Verdict: ...

    # -- identity ---------------------------------------------------------------------------------------
    @functools.cached_property
    def spec(self) -> JudgeSpec:
        settings = self.settings()
        models = dict.fromkeys(j.spec.backend for j in self.judges)
        return JudgeSpec(
            mode=self.mode,
            identity={
                "strategy": self.name,
                "settings": settings,
                "backend": "+".join(models),
                "config": {"mode": self.mode},
                "judges": [j.spec.identity for j in self.judges],
            },
            hashed={
                "strategy": self.name,
                "mode": self.mode,
                "settings": settings,
                "judges": [j.spec.fingerprint for j in self.judges],
            },
        )

    @property
    def fingerprint(self) -> str:
        """`spec.fingerprint`, for short."""
        return self.spec.fingerprint

    # -- before a run (Preflight) ------------------------------------------------------------------------
    def check_data(self, data: LoadedData) -> None:
        """Every inner judge checks the items against its own model's context and its own scale."""
        if self.text_only:
            pictured = next((item for item in data.items if item.image_refs()), None)
            if pictured is not None:
                raise InputError(
                    f"item '{pictured.id}' has images, but strategy {self.name} writes prompts of its own, which "
                    "carry text only",
                    file=data.path,
                    line=data.lines.get(pictured.id),
                    hint="judge items with images with a plain judge, a jury, self-consistency or a cascade",
                )
        for j in self.judges:
            if isinstance(j, Preflight):
                j.check_data(data)

    def concurrency(self) -> int:
        """Items worth judging at once: the least its judges' models take, divided among the inner judges that
        one item runs at once."""
        known = [j.concurrency() for j in self.judges if isinstance(j, Preflight)]
        return max(1, min(known) // max(1, self._fan_out)) if known else 1

    @functools.cached_property
    def serial(self) -> bool:
        """True when a model works one request at a time (in-process): inner judges then run one after another."""
        return self.concurrency() <= 1

    # -- judging -----------------------------------------------------------------------------------------
    async def __call__(self, item: Item) -> Verdict:
        """The combined verdict on `item`, unstamped: the engine stamps it (`judge_item`)."""
        return await self._judge(item)

    async def _ask(self, judges: Sequence[Judge], item: Item) -> list[Verdict]:
        """Each of `judges`' verdict on `item`, stamped (`judge_item`): concurrently, or one by one where a model
        takes one request at a time."""
        return await self._all([judge_item(j, item) for j in judges])

    async def _all(self, calls: Sequence[Awaitable[T]]) -> list[T]:
        """Await the inner judges' calls: concurrently, or one by one where a model takes one request at a time."""
        if self.serial:
            return [await c for c in calls]
        return list(await asyncio.gather(*calls))


def allows_tie(judge: Judge) -> bool:
    """Whether a judge may answer a tie (pairwise): its config says so, or all its inner judges do."""
    if isinstance(judge, LLMJudge):
        return judge.config.allow_tie
    inner = getattr(judge, "judges", None)
    return all(allows_tie(j) for j in inner) if inner else True


def combined_raw(verdicts: Sequence[Verdict]) -> list[str]:
    return [text for v in verdicts for text in v.raw]


def brief(verdict: Verdict) -> dict[str, Any]:
    """A compact record of an inner verdict, kept in the outer verdict's `strategy`."""
    record: dict[str, Any] = {"fingerprint": verdict.judge_fingerprint}
    if verdict.error is not None:
        record["error"] = verdict.error.reason
        return record
    if verdict.outcome is not None:
        record.update(verdict.outcome.brief())
    if verdict.flagged:
        record["flagged"] = True
    if verdict.strategy is not None:
        record["strategy"] = verdict.strategy
    return record
