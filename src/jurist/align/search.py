"""Greedy coordinate ascent over the prompt space: simple enough to explain in one paragraph.

Start from the run's own judge. For each component in turn (instruction, rubric, rules, demos), score every other
value of that component, the rest held fixed, by its agreement with the labels on the TRAIN split; take the best
one if it beats the current judge on train, and keep it only if it does not lose agreement on the DEV split (a
guard against fitting train alone). Repeat the pass while something changed (at most `rounds` passes). The search
is handed the train and dev splits only: it cannot see the test split.

Every evaluation goes through `evaluate`, which may refuse one (return None) when the call budget would be
exceeded; the search then stops with what it has, and says so.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Literal

from pydantic import BaseModel

from .space import COORDINATES, Candidate, Coordinate, Space

Split = Literal["train", "dev"]


class Evaluation(BaseModel):
    """A candidate's agreement on one split: which items it got right (a failure counts as wrong)."""

    split: str
    correct: dict[str, bool]
    failed: int = 0

    @property
    def n(self) -> int:
        return len(self.correct)

    @property
    def agreement(self) -> float:
        return sum(self.correct.values()) / self.n if self.n else 0.0

    def wrong(self) -> set[str]:
        return {i for i, ok in self.correct.items() if not ok}


Evaluate = Callable[[Candidate, Split], Awaitable[Evaluation | None]]


class Step(BaseModel):
    """One line of the trace: a candidate scored on train, or a decision on dev."""

    round: int
    component: str
    candidate: str
    train: float | None = None
    dev: float | None = None
    decision: Literal["tried", "accepted", "rejected on dev"] = "tried"


class SearchResult(BaseModel):
    best: Candidate
    train: Evaluation | None
    dev: Evaluation | None
    trace: list[Step]
    stopped: str  # "converged", "rounds" or "budget"
    evaluated: int  # distinct (candidate, split) evaluations asked for


async def greedy_search(space: Space, evaluate: Evaluate, rounds: int = 2) -> SearchResult:
    trace: list[Step] = []
    asked = 0

    async def scored(candidate: Candidate, split: Split) -> Evaluation | None:
        nonlocal asked
        asked += 1
        return await evaluate(candidate, split)

    current = space.baseline()
    train = await scored(current, "train")
    dev = await scored(current, "dev") if train is not None else None
    if train is None or dev is None:
        return SearchResult(best=current, train=train, dev=dev, trace=trace, stopped="budget", evaluated=asked)
    trace.append(Step(round=0, component="start", candidate=current.describe(), train=train.agreement))
    trace[-1].dev, trace[-1].decision = dev.agreement, "accepted"
    for number in range(1, rounds + 1):
        changed = False
        for coordinate in COORDINATES:
            found = await _best_on_train(space, coordinate, current, train, number, scored, trace)
            if found is None:
                return SearchResult(best=current, train=train, dev=dev, trace=trace, stopped="budget", evaluated=asked)
            best, best_train = found
            if best is current:
                continue
            best_dev = await scored(best, "dev")
            if best_dev is None:
                return SearchResult(best=current, train=train, dev=dev, trace=trace, stopped="budget", evaluated=asked)
            keep = best_dev.agreement >= dev.agreement
            trace.append(
                Step(
                    round=number,
                    component=coordinate,
                    candidate=best.describe(),
                    train=best_train.agreement,
                    dev=best_dev.agreement,
                    decision="accepted" if keep else "rejected on dev",
                )
            )
            if keep:
                current, train, dev, changed = best, best_train, best_dev, True
        if not changed:
            return SearchResult(best=current, train=train, dev=dev, trace=trace, stopped="converged", evaluated=asked)
    return SearchResult(best=current, train=train, dev=dev, trace=trace, stopped="rounds", evaluated=asked)


async def _best_on_train(
    space: Space,
    coordinate: Coordinate,
    current: Candidate,
    train: Evaluation,
    number: int,
    scored: Callable[[Candidate, Split], Awaitable[Evaluation | None]],
    trace: list[Step],
) -> tuple[Candidate, Evaluation] | None:
    """The value of `coordinate` that agrees best on train (ties keep the earlier one, the current first); None
    when the budget ran out."""
    best, best_train = current, train
    for candidate in space.options(coordinate, current, train.wrong()):
        result = await scored(candidate, "train")
        if result is None:
            return None
        trace.append(Step(round=number, component=coordinate, candidate=candidate.describe(), train=result.agreement))
        if result.agreement > best_train.agreement:
            best, best_train = candidate, result
    return best, best_train
