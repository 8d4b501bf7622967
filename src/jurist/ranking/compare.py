"""Comparators: an async `compare(i, j) -> P(i beats j)` over candidates 0..n-1, and the one that asks a jurist
pairwise judge (response i shown as A, response j as B)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

from ..errors import ConfigError
from ..outcomes import Preference
from ..types import Item, Verdict

Compare = Callable[[int, int], Awaitable[float]]
PairJudge = Callable[[Item], Awaitable[Verdict]]


def verdict_probability(verdict: Verdict) -> float:
    """P(response A beats response B) from a pairwise verdict: its probabilities (a tie counting half), else 1, 0
    or 0.5 from the winner (0.5 without one)."""
    p = verdict.outcome_as(Preference).p_first(ties="half")
    return 0.5 if p is None else p


class JudgeComparator:
    """A `Compare` over a jurist pairwise judge: compare(i, j) judges responses[i] as A against responses[j] as B.

    P(A wins) is `verdict_probability`. A failed verdict (or one with no winner, such as a flagged inconsistency)
    counts as 0.5; a failure is recorded in `errors`. Every verdict is kept in `verdicts`, keyed by (i, j).
    """

    def __init__(self, judge: PairJudge, prompt: str, responses: Sequence[str]) -> None:
        self.judge = judge
        self.prompt = prompt
        self.responses = list(responses)
        self.verdicts: dict[tuple[int, int], list[Verdict]] = {}
        self.errors: list[str] = []

    async def __call__(self, i: int, j: int) -> float:
        item = Item(
            id=f"rank-{i}-vs-{j}", prompt=self.prompt, response_a=self.responses[i], response_b=self.responses[j]
        )
        verdict = await self.judge(item)
        self.verdicts.setdefault((i, j), []).append(verdict)
        if verdict.error is not None:
            self.errors.append(f"{i} vs {j}: {verdict.error.reason}: {verdict.error.message}")
            return 0.5
        return verdict_probability(verdict)


def pairwise_comparator(judge: PairJudge, item_prompt: str, responses: Sequence[str]) -> JudgeComparator:
    """Turn a jurist pairwise judge (an async Item -> Verdict) into a comparator over `responses`."""
    if len(responses) < 2:
        raise ConfigError(f"ranking needs at least 2 responses, got {len(responses)}")
    return JudgeComparator(judge, item_prompt, responses)
