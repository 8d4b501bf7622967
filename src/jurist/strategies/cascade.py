"""A cascade: a cheap judge first, and a strong one only for the items the cheap one is unsure about."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from pydantic import Field, field_validator

from ..errors import ConfigError
from ..judges.base import Judge, judge_item
from ..outcomes import Preference
from ..types import Item, Verdict
from .base import Strategy, brief
from .params import Slot, StrategyParams, choice

# When the cheap verdict is not trusted:
#   error           it failed (parse failure, backend error)
#   flagged         it is flagged (pairwise: the orders disagreed with on_inconsistent="flag", or one order failed)
#   inconsistent    pairwise: the two presentation orders disagreed
#   low_confidence  its highest probability (or, for a strategy, its vote share) is below `threshold`
CONDITIONS: tuple[str, ...] = ("error", "flagged", "inconsistent", "low_confidence")


HUMAN = "human"  # cascade_to "human": escalated items wait for people instead of a stronger model


class Cascade(Strategy):
    """Judges every item with `cheap`; escalates to `strong` when the cheap verdict meets any of `escalate_when`.

    `strong=None` escalates to people: an escalated item is flagged, keeps no decision (winner, score, ranking are
    left empty, the cheap answer is kept under `strategy.cheap`) and `strategy.escalated_to` is "human", so the
    flagged verdicts of a run are the queue for human review (e.g. `jurist export RUN --format csv` and filter on
    `flagged`). Pair it with a threshold certified by selective evaluation (`jurist meta-eval --alpha`).

    An escalated item gets the strong judge's verdict, with the usage and raw texts of both. `strategy` records
    `escalated` (True/False), `reasons`, the cheap verdict's `confidence` and the cheap verdict itself under
    `cheap`. A verdict whose confidence is unknown (no logprobs) is not escalated for low confidence.
    `cascade_report(verdicts)` gives the share escalated and the strong calls saved over a run.
    """

    name = "cascade"
    slots = (
        Slot("cheap", "judges every item first"),
        Slot("strong", "judges the escalated items; `human`: flags them for people", human=True),
    )

    class Params(StrategyParams):
        escalate_when: list[str] = choice(
            list(CONDITIONS),
            CONDITIONS,
            "when the cheap verdict goes to the strong judge: error (it failed), flagged, inconsistent (its two "
            "pairwise orders disagreed), low_confidence (its confidence is below the threshold)",
            unknown="unknown escalation condition(s)",
        )
        threshold: float = Field(
            0.75,
            description="low_confidence means a top probability (a strategy's: its vote share) below this, in (0, 1]",
        )

        @field_validator("escalate_when")
        @classmethod
        def _some(cls, escalate_when: list[str]) -> list[str]:
            conditions = sorted(set(escalate_when))
            if not conditions:
                raise ValueError("Cascade: escalate_when is empty, so the strong judge would never be asked")
            return conditions

        @field_validator("threshold")
        @classmethod
        def _probability(cls, threshold: float) -> float:
            if not 0.0 < threshold <= 1.0:
                raise ValueError(f"Cascade: threshold is a probability in (0, 1], got {threshold}")
            return threshold

    params: Params

    def __init__(
        self,
        cheap: Judge,
        strong: Judge | None,
        escalate_when: Iterable[str] = CONDITIONS,
        threshold: float = 0.75,
    ) -> None:
        if strong is not None and cheap.spec.mode != strong.spec.mode:
            raise ConfigError(f"Cascade: the cheap judge judges {cheap.spec.mode}, the strong one {strong.spec.mode}")
        super().__init__([cheap] if strong is None else [cheap, strong])
        self.to_humans = strong is None
        self.params = self.Params.check(escalate_when=list(escalate_when), threshold=threshold)
        self.escalate_when = self.params.escalate_when
        self.threshold = self.params.threshold

    @property
    def cheap(self) -> Judge:
        return self.judges[0]

    @property
    def strong(self) -> Judge | None:
        return None if self.to_humans else self.judges[1]

    def settings(self) -> dict[str, Any]:
        return {
            **({"escalate_to": HUMAN} if self.to_humans else {}),
            "escalate_when": self.params.escalate_when,
            "threshold": self.params.threshold if "low_confidence" in self.params.escalate_when else None,
        }

    def reasons(self, verdict: Verdict) -> list[str]:
        """Why `verdict` (the cheap judge's) should be escalated; empty when it is trusted."""
        sure = verdict.confidence()
        found = {
            "error": verdict.error is not None,
            "flagged": verdict.flagged,
            "inconsistent": verdict.outcome_as(Preference).consistent is False,
            "low_confidence": verdict.error is None and sure is not None and sure < self.threshold,
        }
        return [c for c in self.escalate_when if found[c]]

    async def _judge(self, item: Item) -> Verdict:
        first = await judge_item(self.cheap, item)
        why = self.reasons(first)
        details: dict[str, Any] = {
            "name": self.name,
            "escalated": bool(why),
            "reasons": why,
            "confidence": first.confidence(),
        }
        if not why:
            result = first.model_copy()
            details["inner"] = first.strategy
        elif self.strong is None:
            outcome = first.outcome.without_decision() if first.outcome is not None else None
            result = first.model_copy(update={"outcome": outcome, "flagged": True})
            details.update(cheap=brief(first), escalated_to=HUMAN, inner=first.strategy)
        else:
            second = await judge_item(self.strong, item)
            details["cheap"] = brief(first)
            chosen = second
            if second.error is not None and first.error is None:
                # the strong judge failed where the cheap one had an answer: keep that answer, and say so
                details["strong_error"] = second.error.reason
                chosen = first
            result = chosen.model_copy()
            result.usage = first.usage + second.usage
            result.raw = [*first.raw, *second.raw]
            details["inner"] = chosen.strategy
        result.strategy = details
        return result


def cascade_report(verdicts: Sequence[Verdict]) -> dict[str, Any]:
    """Over a run's verdicts from a Cascade: how many were escalated (and why), and how many strong-judge runs
    the cascade saved compared with judging every item with the strong judge."""
    records = [v.strategy for v in verdicts if v.strategy is not None and v.strategy.get("name") == "cascade"]
    escalated = [r for r in records if r.get("escalated")]
    reasons: dict[str, int] = {}
    for r in escalated:
        for reason in r.get("reasons", []):
            reasons[reason] = reasons.get(reason, 0) + 1
    total = len(records)
    return {
        "items": total,
        "escalated": len(escalated),
        "share_escalated": len(escalated) / total if total else 0.0,
        "strong_runs_saved": total - len(escalated),
        "share_saved": (total - len(escalated)) / total if total else 0.0,
        "reasons": reasons,
    }
