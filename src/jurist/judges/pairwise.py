"""Pairwise judging: two responses -> A, B or tie, with position-bias control by judging both orders."""

from __future__ import annotations

import asyncio
import functools
import math
from typing import Literal, cast

from ..backends.base import GenerateRequest, GenerateResponse
from ..errors import BackendError, ParseError
from ..formats import PairwiseFormat, strength_of
from ..outcomes import OrderResult, Preference, Strength, Winner, swap_probs, swap_winner
from ..parse import label_probabilities
from ..types import ErrorInfo, Item, Usage, Verdict
from .base import LLMJudge, image_parts

Order = Literal["AB", "BA"]


class PairwiseJudge(LLMJudge):
    mode = "pairwise"

    @functools.cached_property
    def answer_format(self) -> PairwiseFormat:
        """A, B and the tie label as the template spells it (MT-Bench says C for a tie)."""
        return PairwiseFormat(tie_label=self.template.tie_label, allow_tie=self.config.allow_tie)

    @property
    def labels(self) -> list[str]:
        return self.answer_format.labels

    def to_winner(self, label: str) -> Winner:
        return self.answer_format.winner(label)

    def _demo_answer(self, demo: Item) -> str | None:
        if demo.label not in self.labels and not (demo.label == "tie" and self.config.allow_tie):
            return None
        label = self.template.tie_label if demo.label == "tie" else str(demo.label)
        return self.answer_format.answer(label, self.template.output)

    def _request_for(self, item: Item, order: Order) -> GenerateRequest:
        first, second = (item.response_a, item.response_b) if order == "AB" else (item.response_b, item.response_a)
        rationale = self.config.rationale
        variables = {
            **self._variables(item),
            "response_a": first,
            "response_b": second,
            "output_format": self.answer_format.instruction(rationale),
        }
        schema = self.answer_format.output_schema(rationale)
        # each response's images follow it to the place it is shown in, captioned with the name it is shown under
        shown = (item.response_a_images, item.response_b_images)
        first_images, second_images = shown if order == "AB" else shown[::-1]
        images = image_parts(("the prompt", item.images), ("Response A", first_images), ("Response B", second_images))
        return self._request(self.template.render(variables), schema, item_id=item.id, order=order, images=images)

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
            found = self.answer_format.read(response.text)
        except ParseError as exc:
            return OrderResult(order=order, error=f"parse_failure: {exc}"), response, None, None
        winner = self.to_winner(found.value)
        strength = strength_of(found.token) if winner != "tie" else None
        probs = label_probabilities(response, found.offset, self.answer_format.logprob_tokens)
        named = None if probs is None else {self.to_winner(k): v for k, v in probs.items()}
        if order == "BA":
            winner, named = swap_winner(winner), swap_probs(named)
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
        preference = Preference(orders=outcomes if len(orders) > 1 else None)
        verdict = Verdict(
            id=item.id,
            mode="pairwise",
            rationale=rationale,
            raw=[r.text for r in responses],
            usage=Usage.total(r.usage for r in responses),
            outcome=preference if preference.orders is not None else None,
        )
        good = [o for o in outcomes if o.winner is not None]
        if not good:
            # A failed record that still keeps every raw text, the orders tried and the tokens spent, and whether
            # a later session may retry it (the item is judged again on resume when it can).
            first_error = outcomes[0].error or "unknown"
            retryable = any(r[3] is not None and r[3].retryable for r in results)
            verdict.error = ErrorInfo(reason=first_error.split(":", 1)[0], message=first_error, retryable=retryable)
            return verdict
        verdict.outcome = preference
        preference.probs = _average([o.probs for o in good])
        preference.strength = _strength(good)
        if len(good) == 1:
            preference.winner = good[0].winner
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
        preference.consistent = good[0].winner == good[1].winner
        if preference.consistent:
            preference.winner = good[0].winner
        elif self.config.on_inconsistent == "probs" and preference.probs is not None:
            preference.winner = most_likely(preference.probs, allow_tie=self.config.allow_tie)
            verdict.flagged = preference.winner is None  # A and B exactly as likely, and ties are off
        elif self.config.on_inconsistent == "flag":
            verdict.flagged = True
        else:
            preference.winner = "tie"
        return verdict


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
