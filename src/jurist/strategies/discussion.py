"""A peer discussion (after PRD, Li et al. 2023): two judges give their verdicts, and when they disagree they read
each other's reasons and may revise, for a few rounds, until they agree or the rounds run out."""

from __future__ import annotations

from typing import Any

from ..backends.base import GenerateRequest
from ..errors import BackendError, ParseError
from ..judges.base import Judge, LLMJudge
from ..outcomes import Preference
from ..prompts import prompt_set
from ..types import Item, Verdict
from ._dialogue import ask, base_request, extended, label_of, model_judges, prompt_hash, read, reasoning
from .base import Strategy, brief
from .params import Slot, StrategyParams, count
from .vote import aggregate


class PeerDiscussion(Strategy):
    """Two model judges judge each item; if they disagree, they discuss it for up to `max_rounds` rounds.

    Both first judge the item as they normally would (pairwise with their own swap control). If their decisions
    differ, in each round each judge sees its own last verdict and reasons and the other's, and answers again in
    its normal format (pairwise: responses in the given order), possibly revising; the discussion stops as soon as
    they agree. The verdict is the agreed one; if they never agree it is a tie for pairwise judges that allow one
    (else flagged with no winner), and for pointwise the mean of the two scores, flagged. A turn that fails leaves
    that judge's previous verdict standing; if one judge's first verdict fails, the other's is kept and no
    discussion is held (`strategy["failed"]`); if both fail, the verdict is a failure.

    `strategy` holds `rounds` (discussion rounds used, 0 when they agreed at once), `agreed`, both first verdicts
    under `initial`, the `exchange` (round, judge, text, verdict) and the final verdicts under `judges`. Usage and
    raw texts are summed over every call. Listwise is not supported.
    """

    name = "peer_discussion"
    text_only = True  # its own prompts carry no images
    slots = (Slot("judges", "the two judges who discuss", count=2, leaves=True),)

    class Params(StrategyParams):
        max_rounds: int = count(3, "discussion rounds at most, while the two disagree (at least 1)")

    params: Params

    def __init__(self, first: Judge, second: Judge, max_rounds: int = 3) -> None:
        pair = model_judges("PeerDiscussion", [first, second])
        params = self.Params.check(max_rounds=max_rounds)
        self._fan_out = 2
        super().__init__(pair)
        self.params = params
        self.pair: tuple[LLMJudge, LLMJudge] = (pair[0], pair[1])
        self.max_rounds = params.max_rounds
        self.allow_tie = all(j.config.allow_tie for j in self.pair)

    def settings(self) -> dict[str, Any]:
        return {**self.params.model_dump(), "prompt": prompt_hash(prompt_set("discussion").text("discuss"))}

    def _turn(self, item: Item, side: int, current: list[Verdict], round_: int) -> GenerateRequest:
        judge = self.pair[side]
        note = prompt_set("discussion").render(  # templates/discussion.toml
            "discuss",
            mine_label=label_of(judge, current[side]) or "none",
            mine=reasoning(current[side]),
            theirs_label=label_of(judge, current[1 - side]) or "none",
            theirs=reasoning(current[1 - side]),
            round=round_,
            rounds=self.max_rounds,
        )
        return extended(base_request(judge, item), note, free_text=False)

    async def _judge(self, item: Item) -> Verdict:
        initial = await self._ask(self.pair, item)
        current = list(initial)
        usage = [v.usage for v in initial]
        raw = [list(v.raw) for v in initial]
        exchange: list[dict[str, Any]] = []
        discussed = all(v.error is None for v in initial)
        agreed = discussed and _agree(current)
        rounds = 0
        while discussed and not agreed and rounds < self.max_rounds:
            rounds += 1
            requests = [self._turn(item, side, current, rounds) for side in (0, 1)]
            replies = await self._all([ask(j, r) for j, r in zip(self.pair, requests, strict=True)])
            revised = list(current)
            for side, reply in enumerate(replies):
                turn: dict[str, Any] = {"round": rounds, "judge": side}
                if isinstance(reply, BackendError):
                    exchange.append({**turn, "error": f"{reply.reason}: {reply}"})
                    continue
                usage[side] = usage[side] + reply.usage
                raw[side].append(reply.text)
                turn["text"] = reply.text
                try:
                    verdict = read(self.pair[side], item, reply)
                except ParseError as exc:
                    exchange.append({**turn, "verdict": None, "error": f"parse_failure: {exc}"})
                    continue
                verdict.judge_fingerprint = self.pair[side].fingerprint
                revised[side] = verdict
                exchange.append({**turn, "verdict": verdict.decision()})
            current = revised
            agreed = _agree(current)

        finals = []
        for side, verdict in enumerate(current):
            final = verdict.model_copy()
            final.usage, final.raw = usage[side], raw[side]
            finals.append(final)
        rule = "mean" if discussed and not agreed and self.mode == "pointwise" else "majority"
        result = aggregate(
            item, self.mode, finals, rule=rule, weights=[1.0, 1.0], allow_tie=self.allow_tie, members="judges"
        )
        if discussed and not agreed:
            if isinstance(result.outcome, Preference):
                result.outcome.winner = "tie" if self.allow_tie else None
                result.flagged = not self.allow_tie
            else:
                result.flagged = True  # the mean of two scores nobody agreed on
        result.strategy = {
            "name": self.name,
            "max_rounds": self.max_rounds,
            "rounds": rounds,
            "agreed": agreed,
            "initial": [brief(v) for v in initial],
            "exchange": exchange,
            **(result.strategy or {}),
        }
        return result


def _agree(verdicts: list[Verdict]) -> bool:
    decisions = [v.decision() for v in verdicts]
    return decisions[0] is not None and decisions[0] == decisions[1]
