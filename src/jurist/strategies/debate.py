"""A debate (after ChatEval, Chan et al. 2023): judges with different roles argue over an item for a few rounds,
each seeing what the others said, then each gives a final verdict and a vote decides."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import Field, field_validator

from ..backends.base import GenerateRequest, GenerateResponse
from ..errors import BackendError, ConfigError, ParseError
from ..judges.base import Judge, LLMJudge
from ..prompts import PromptSet, prompt_set
from ..types import Item, Usage, Verdict
from ._dialogue import ask, base_request, extended, failure, labels, model_judges, prompt_hash, read, stance
from .base import Strategy
from .params import Slot, StrategyParams, choice, count
from .vote import aggregate

DEFAULT_ROLES: tuple[str, ...] = (
    "critic: look for errors, omissions and weak reasoning in the responses",
    "advocate of the user's needs: ask which response actually helps the person who asked",
    "fact checker: check every factual claim and calculation in the responses",
)
DEBATE_VOTES: tuple[str, ...] = ("majority", "mean", "median")


def _prompts() -> PromptSet:
    """The debaters' prompts: templates/debate.toml (read once, when first needed)."""
    return prompt_set("debate")


class Debate(Strategy):
    """A panel of model judges debates each item for `rounds` rounds, then votes.

    Each debater (an `LLMJudge`; debaters may use different models) has a role: `roles`, one per judge, or the
    defaults (critic, advocate of the user's needs, fact checker, repeated for larger panels). Each debater sees its
    own judge's prompt for the item (pairwise: responses in the given order, A then B) and every argument made in
    the earlier rounds; within a round the debaters speak at once. After the last round each gives a final verdict
    in its judge's normal answer format, read with the judge's own parsing, and `vote` (majority; pointwise also
    mean or median) combines them as a jury does. Calls use each judge's decoding settings; the argument turns are
    free text (no JSON schema).

    A debater whose call fails (or whose final answer cannot be read) is left out from then on and listed in
    `strategy["failed"]`; if all fail, the verdict is a failure. `strategy` holds `transcript` (round, debater,
    role, text and the verdict the argument ended with), each debater's final verdict under `debaters`, `votes`,
    `agreement` and `disagreement`. Usage and raw texts are summed over every call. Listwise is not supported.
    """

    name = "debate"
    text_only = True  # its own prompts carry no images
    slots = (Slot("judges", "the debaters, on one model or several", many=True, leaves=True),)

    class Params(StrategyParams):
        rounds: int = count(2, "rounds of argument before the final verdicts (at least 1)")
        roles: list[str] | None = Field(
            None,
            description="one role per debater (default: critic, advocate of the user's needs, fact checker, repeated)",
        )
        vote: str = choice(
            "majority",
            DEBATE_VOTES,
            "how the final verdicts combine: the majority; the mean or median score (pointwise)",
            unknown="unknown or unsupported vote rule",
        )

        @field_validator("roles")
        @classmethod
        def _roles(cls, roles: list[str] | None) -> list[str] | None:
            if roles is not None and any(not r.strip() for r in roles):
                raise ValueError("Debate: every role must be a non-empty string")
            return None if roles is None else [r.strip() for r in roles]

    params: Params

    def __init__(
        self,
        judges: Sequence[Judge],
        rounds: int = 2,
        roles: Sequence[str] | None = None,
        vote: str = "majority",
    ) -> None:
        if len(judges) < 2:
            raise ConfigError(f"Debate needs at least 2 debaters, got {len(judges)}")
        debaters = model_judges("Debate", judges)
        if roles is not None and (isinstance(roles, str) or len(roles) != len(debaters)):
            count = "one string" if isinstance(roles, str) else f"{len(roles)} roles"
            raise ConfigError(f"Debate: {count} for {len(debaters)} judges; give a list with one role per judge")
        params = self.Params.check(rounds=rounds, roles=None if roles is None else list(roles), vote=vote)
        if params.vote != "majority" and debaters[0].mode != "pointwise":
            raise ConfigError(f"Debate: vote {vote!r} needs scores, which only pointwise judges give; use majority")
        self._fan_out = len(debaters)
        super().__init__(debaters)
        self.params = params
        self.debaters: tuple[LLMJudge, ...] = tuple(debaters)
        self.rounds = params.rounds
        self.roles = params.roles or [DEFAULT_ROLES[i % len(DEFAULT_ROLES)] for i in range(len(debaters))]
        self.vote = params.vote
        self.allow_tie = all(j.config.allow_tie for j in self.debaters)

    def settings(self) -> dict[str, Any]:
        return {
            **self.params.model_dump(),
            "roles": self.roles,  # the defaults, where none were given
            "prompt": prompt_hash(_prompts().text("argue"), _prompts().text("final")),
        }

    # -- prompts -----------------------------------------------------------------------------------------
    def _transcript(self, me: int, transcript: list[dict[str, Any]]) -> str:
        prompts = _prompts()
        if not transcript:
            return prompts.render("opening")
        lines = [prompts.render("history")]
        for turn in transcript:
            mine = turn["debater"] == me
            who = prompts.render("you") if mine else prompts.render("other", number=turn["debater"] + 1)
            lines.append(
                prompts.render("turn", round=turn["round"], who=who, role=turn["role"], text=turn["text"].strip())
            )
        return "\n\n".join(lines)

    def _argue(self, base: GenerateRequest, me: int, round_: int, transcript: list[dict[str, Any]]) -> GenerateRequest:
        note = _prompts().render(
            "argue",
            me=me + 1,
            n=len(self.debaters),
            role=self.roles[me],
            transcript=self._transcript(me, transcript),
            round=round_,
            rounds=self.rounds,
            labels=", ".join(labels(self.debaters[me])),
        )
        return extended(base, note, free_text=True)

    def _final(self, base: GenerateRequest, me: int, transcript: list[dict[str, Any]]) -> GenerateRequest:
        note = _prompts().render(
            "final", me=me + 1, n=len(self.debaters), role=self.roles[me], transcript=self._transcript(me, transcript)
        )
        return extended(base, note, free_text=False)

    # -- judging -----------------------------------------------------------------------------------------
    async def _judge(self, item: Item) -> Verdict:
        n = len(self.debaters)
        bases = [base_request(j, item) for j in self.debaters]
        usage = [Usage() for _ in range(n)]
        raw: list[list[str]] = [[] for _ in range(n)]
        errors: dict[int, BackendError | ParseError] = {}
        transcript: list[dict[str, Any]] = []

        async def speak(requests: dict[int, GenerateRequest]) -> dict[int, GenerateResponse]:
            """Each debater's reply to its request, counted in its usage and texts; a failed call puts it out."""
            replies = await self._all([ask(self.debaters[i], request) for i, request in requests.items()])
            answered: dict[int, GenerateResponse] = {}
            for i, reply in zip(requests, replies, strict=True):
                if isinstance(reply, BackendError):
                    errors[i] = reply
                    continue
                usage[i] = usage[i] + reply.usage
                raw[i].append(reply.text)
                answered[i] = reply
            return answered

        for round_ in range(1, self.rounds + 1):
            said = list(transcript)  # everyone in this round sees the same earlier rounds
            argued = await speak({i: self._argue(bases[i], i, round_, said) for i in range(n) if i not in errors})
            for i, reply in argued.items():
                transcript.append(
                    {
                        "round": round_,
                        "debater": i,
                        "role": self.roles[i],
                        "text": reply.text,
                        "verdict": stance(self.debaters[i], reply.text),
                    }
                )

        finals = await speak({i: self._final(bases[i], i, transcript) for i in range(n) if i not in errors})
        verdicts: dict[int, Verdict] = {}
        for i, reply in finals.items():
            try:
                verdicts[i] = read(self.debaters[i], item, reply)
            except ParseError as exc:
                errors[i] = exc
        ordered: list[Verdict] = []
        for i, judge in enumerate(self.debaters):
            verdict = verdicts[i] if i in verdicts else failure(item, judge, errors[i], usage[i], raw[i])
            verdict.usage = usage[i]
            verdict.raw = raw[i]
            verdict.judge_fingerprint = judge.fingerprint
            ordered.append(verdict)

        result = aggregate(
            item,
            self.mode,
            ordered,
            rule=self.vote,
            weights=[1.0] * n,
            allow_tie=self.allow_tie,
            members="debaters",
        )
        details = result.strategy or {}
        for record, role in zip(details.get("debaters", []), self.roles, strict=True):
            record["role"] = role
        result.strategy = {
            "name": self.name,
            "rounds": self.rounds,
            "vote": self.vote,
            "roles": self.roles,
            "transcript": transcript,
            **details,
        }
        return result
