"""Pairwise judging: two responses -> A, B or tie, with position-bias control by judging both orders."""

from __future__ import annotations

import asyncio
import json
import math
import re
from typing import Literal, cast

from ..backends.base import GenerateRequest, GenerateResponse
from ..errors import BackendError, ParseError
from ..parse import Extracted, extract, label_probabilities, match_label
from ..types import ErrorInfo, Item, OrderResult, Strength, Verdict, Winner
from .base import LLMJudge, sum_usage

# Tried in order; within one pattern the last verdict stated wins. Published judges' explicit conventions come
# first (brackets, "[RESULT]", "final decision", a first line that is only the verdict), then looser phrases. PandaLM's
# and JudgeLM's conventions read the first line only, so a rationale that mentions "Response 1" in passing is never
# taken for a verdict.
TEXT_PATTERNS = [
    # MT-Bench's [[A]] / [[B]] / [[C]] (C is a tie) and Arena-Hard's [[A>>B]] [[A>B]] [[A=B]] [[B>A]] [[B>>A]], in
    # one pattern so that the last bracketed verdict wins whichever form it takes
    r"\[\[\s*([AB]\s*(?:>>|>|=)\s*[AB]|[A-Za-z]+)\s*\]\]",
    # Prometheus: "Feedback: ... [RESULT] B"
    r"\[RESULT\]\W{0,3}([A-Za-z]+)\b",
    # Auto-J: "So, the final decision is Response 2" / "... is Tie"
    r"final decision is\W{0,3}(response\s*[12]|tie)\b",
    # PandaLM: the first line is "1", "2" or "Tie" (1 = the response shown first); tried before the phrases below,
    # which PandaLM's reason and reference text may hold
    r"\A\s*(1|2|tie)[ \t]*$",
    # JudgeLM: the first line is the two responses' scores, "8 6"; the higher wins, equal scores are a tie
    r"\A\s*(\d+(?:\.\d+)?[ \t]+\d+(?:\.\d+)?)[ \t]*$",
    r"(?:winner|verdict|better response|better output|better answer)\W{0,6}(?:is\s+)?"
    r"(?:response|output|assistant)?\s*\(?([A-Za-z]+)\b",
    r"(?:response|output|assistant)\s*\(?([AB])\)?\s+is\s+(?:better|the better)",
    r"^\s*\(?([AB])\)?\s*$",
    # An answer that is nothing but a named choice ("Output (a)", LLMBar's format; "Response B"). The whole text
    # only: a line like that inside a longer answer is more often a heading than a verdict.
    r"\A\s*(?:response|output|assistant)\s*\(?([AB])\)?\s*\Z",
]
_ARENA = re.compile(r"([ab])\s*(>>|>|=)\s*([ab])")
_SCORE_PAIR = re.compile(r"(\d+(?:\.\d+)?)\s+(\d+(?:\.\d+)?)")
_NAMED: dict[str, Winner] = {"a": "A", "b": "B", "1": "A", "2": "B", "tie": "tie", "c": "tie"}
_SWAP: dict[str, Winner] = {"A": "B", "B": "A", "tie": "tie"}
Order = Literal["AB", "BA"]


class PairwiseJudge(LLMJudge):
    mode = "pairwise"

    @property
    def labels(self) -> list[str]:
        """Labels as the template spells them (MT-Bench says C for a tie)."""
        return ["A", "B", self.template.tie_label] if self.config.allow_tie else ["A", "B"]

    def to_winner(self, label: str) -> Winner:
        return "tie" if label == self.template.tie_label else label  # type: ignore[return-value]

    def _demo_answer(self, demo: Item) -> str | None:
        if demo.label not in self.labels and not (demo.label == "tie" and self.config.allow_tie):
            return None
        label = self.template.tie_label if demo.label == "tie" else str(demo.label)
        return json.dumps({"winner": label}) if self.template.output == "json" else f"[[{label}]]"

    def _request_for(self, item: Item, order: Order) -> GenerateRequest:
        first, second = (item.response_a, item.response_b) if order == "AB" else (item.response_b, item.response_a)
        choices = " | ".join(f'"{lab}"' for lab in self.labels)
        variables = {
            **self._variables(item),
            "response_a": first,
            "response_b": second,
            "output_format": self._output_format({"winner": choices}),
        }
        schema = self._schema({"winner": {"type": "string", "enum": self.labels}})
        return self._request(self.template.render(variables), schema, item_id=item.id, order=order)

    def requests(self, item: Item) -> list[GenerateRequest]:
        return [self._request_for(item, order) for order in self._orders()]

    def _orders(self) -> list[Order]:
        return ["AB", "BA"] if self.config.swap else ["AB"]

    async def _one_order(
        self, item: Item, order: Order
    ) -> tuple[OrderResult, GenerateResponse | None, str | None, BackendError | None]:
        try:
            response = await self._generate(self._request_for(item, order))
        except BackendError as exc:
            if exc.fatal:
                raise
            return OrderResult(order=order, error=f"{exc.reason}: {exc}"), None, None, exc
        try:
            found = read_winner(response.text, self.labels)
        except ParseError as exc:
            return OrderResult(order=order, error=f"parse_failure: {exc}"), response, None, None
        winner = self.to_winner(found.value)
        strength = strength_of(found.token) if winner != "tie" else None
        probs = label_probabilities(response, found.offset, self.labels)
        named = None if probs is None else {self.to_winner(k): v for k, v in probs.items()}
        if order == "BA":
            winner = _SWAP[winner]
            named = None if named is None else {_SWAP[k]: v for k, v in named.items()}
        return OrderResult(order=order, winner=winner, strength=strength, probs=named), response, found.rationale, None

    async def _judge(self, item: Item) -> Verdict:
        orders = self._orders()
        if self.backend.capabilities.max_concurrency > 1:
            results = await asyncio.gather(*(self._one_order(item, o) for o in orders))
        else:
            # One at a time, back to back: an in-process model then reuses the cached shared prefix.
            results = [await self._one_order(item, o) for o in orders]
        outcomes = [r[0] for r in results]
        responses = [r[1] for r in results if r[1] is not None]
        rationale = next((r[2] for r in results if r[2]), None)
        verdict = Verdict(
            id=item.id,
            mode="pairwise",
            rationale=rationale,
            raw=[r.text for r in responses],
            usage=sum_usage(responses),
            orders=outcomes if len(orders) > 1 else None,
        )
        good = [o for o in outcomes if o.winner is not None]
        if not good:
            # A failed record that still keeps every raw text and the tokens spent, and whether a later
            # session may retry it (the item is judged again on resume when it can).
            first_error = outcomes[0].error or "unknown"
            retryable = any(r[3] is not None and r[3].retryable for r in results)
            verdict.error = ErrorInfo(reason=first_error.split(":", 1)[0], message=first_error, retryable=retryable)
            return verdict
        verdict.probs = _average([o.probs for o in good])
        verdict.strength = _strength(good)
        if len(good) == 1:
            verdict.winner = good[0].winner
            if len(orders) > 1:
                # One order failed, so the swap check could not be made: the one-order winner stays visible,
                # flagged, and the item is judged again on resume when the failure was transient.
                verdict.flagged = True
                failed = next(r for r in results if r[0].winner is None)
                error = failed[0].error or "unknown"
                verdict.incomplete = ErrorInfo(
                    reason=error.split(":", 1)[0],
                    message=f"order {failed[0].order} failed: {error}",
                    retryable=failed[3] is not None and failed[3].retryable,
                )
            return verdict
        verdict.consistent = good[0].winner == good[1].winner
        if verdict.consistent:
            verdict.winner = good[0].winner
        elif self.config.on_inconsistent == "probs" and verdict.probs is not None:
            verdict.winner = most_likely(verdict.probs, allow_tie=self.config.allow_tie)
            verdict.flagged = verdict.winner is None  # A and B exactly as likely, and ties are off
        elif self.config.on_inconsistent == "flag":
            verdict.flagged = True
        else:
            verdict.winner = "tie"
        return verdict


def read_winner(text: str, labels: list[str]) -> Extracted:
    """The verdict in a pairwise judge's text as one of `labels` (A, B, then the template's tie label when ties are
    allowed), in any convention of TEXT_PATTERNS; a ParseError when it states none."""
    return extract(text, "winner", labels, TEXT_PATTERNS, read=lambda token: _label_of(token, labels))


def _label_of(token: str, labels: list[str]) -> str | None:
    """The label a verdict token stands for: the label itself, or a published judge's way of naming it."""
    label = match_label(token, labels)
    if label is not None:
        return label
    winner = _winner_of(" ".join(token.lower().split()))
    if winner == "tie":
        return labels[2] if len(labels) > 2 else None
    return winner


def _winner_of(token: str) -> Winner | None:
    if m := _ARENA.fullmatch(token):
        first, relation, second = m.groups()
        if first == second:  # "A>A" names no winner
            return None
        return "tie" if relation == "=" else _NAMED[first]
    if m := _SCORE_PAIR.fullmatch(token):
        a, b = float(m.group(1)), float(m.group(2))
        return "A" if a > b else "B" if b > a else "tie"
    for name in ("response", "output", "assistant"):
        token = token.removeprefix(name).strip()
    return _NAMED.get(token)


def strength_of(token: str) -> Strength | None:
    """Arena-Hard's strength of preference: ">>" is strong, ">" weak; None where the token says nothing of it."""
    if not _ARENA.fullmatch(" ".join(token.lower().split())):
        return None
    return "strong" if ">>" in token else "weak" if ">" in token else None


def _strength(good: list[OrderResult]) -> Strength | None:
    """Strong when every order read names the same winner strongly, weak when they name it and one says so weakly;
    None when they disagree, for a tie, and where the judge's format has no strength."""
    if len({o.winner for o in good}) != 1 or any(o.strength is None for o in good):
        return None
    return "strong" if all(o.strength == "strong" for o in good) else "weak"


def most_likely(probs: dict[str, float], *, allow_tie: bool) -> Winner | None:
    """The winner with the highest probability. Labels that share the highest are a tie, never decided by their
    order in the table: "tie" when ties are allowed, else None (no winner)."""
    top = max(probs.values())
    leaders = [k for k, p in probs.items() if math.isclose(p, top, rel_tol=0.0, abs_tol=1e-9)]
    if len(leaders) == 1:
        return cast(Winner, leaders[0])
    return "tie" if allow_tie else None


def _average(probs: list[dict[str, float] | None]) -> dict[str, float] | None:
    known = [p for p in probs if p is not None]
    if not known or len(known) != len(probs):
        return None
    return {k: sum(p[k] for p in known) / len(known) for k in known[0]}
