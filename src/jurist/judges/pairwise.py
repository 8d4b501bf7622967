"""Pairwise judging: two responses -> A, B or tie, with position-bias control by judging both orders."""

from __future__ import annotations

import asyncio
import json
import math
from typing import Literal, cast

from ..backends.base import GenerateRequest, GenerateResponse
from ..errors import BackendError, ParseError
from ..parse import extract, label_probabilities
from ..types import ErrorInfo, Item, OrderResult, Verdict, Winner
from .base import LLMJudge, sum_usage

TEXT_PATTERNS = [
    r"\[\[\s*([A-Za-z]+)\s*\]\]",
    r"(?:winner|verdict|better response|better output|better answer)\W{0,6}(?:is\s+)?"
    r"(?:response|output|assistant)?\s*\(?([A-Za-z]+)\b",
    r"(?:response|output|assistant)\s*\(?([AB])\)?\s+is\s+(?:better|the better)",
    r"^\s*\(?([AB])\)?\s*$",
    # An answer that is nothing but a named choice ("Output (a)", LLMBar's format; "Response B"). The whole text
    # only: a line like that inside a longer answer is more often a heading than a verdict.
    r"\A\s*(?:response|output|assistant)\s*\(?([AB])\)?\s*\Z",
]
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
        return self._request(self.template.render(variables), schema)

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
            found = extract(response.text, "winner", self.labels, TEXT_PATTERNS)
        except ParseError as exc:
            return OrderResult(order=order, error=f"parse_failure: {exc}"), response, None, None
        winner = self.to_winner(found.value)
        probs = label_probabilities(response, found.offset, self.labels)
        named = None if probs is None else {self.to_winner(k): v for k, v in probs.items()}
        if order == "BA":
            winner = _SWAP[winner]
            named = None if named is None else {_SWAP[k]: v for k, v in named.items()}
        return OrderResult(order=order, winner=winner, probs=named), response, found.rationale, None

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
