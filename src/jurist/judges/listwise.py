"""Listwise judging: k responses -> a full ranking (1-based positions, best first), its first being the best."""

from __future__ import annotations

from ..backends.base import GenerateRequest
from ..errors import InputError, ParseError
from ..formats import ListwiseFormat
from ..outcomes import Ranking
from ..parse import label_probabilities
from ..types import Item, Verdict
from .base import LLMJudge, image_parts


class ListwiseJudge(LLMJudge):
    mode = "listwise"

    def _demo_answer(self, demo: Item) -> str | None:
        if not (isinstance(demo.label, list) and len(demo.label) == len(demo.responses or []) > 1):
            return None
        return ListwiseFormat(len(demo.label)).answer(demo.label)

    def requests(self, item: Item) -> list[GenerateRequest]:
        responses = item.responses or []
        if len(responses) < 2:
            raise InputError("listwise judging needs at least two responses", field="responses")
        answer_format = ListwiseFormat(len(responses))
        variables = {
            **self._variables(item),
            "responses": responses,
            "output_format": answer_format.instruction(self.config.rationale),
        }
        schema = answer_format.output_schema(self.config.rationale)
        images = image_parts(("the prompt", item.images))  # listwise items carry images of the prompt only
        return [self._request(self.template.render(variables), schema, item_id=item.id, images=images)]

    async def _judge(self, item: Item) -> Verdict:
        answer_format = ListwiseFormat(len(item.responses or []))
        response = await self._generate(self.requests(item)[0])
        try:
            ranking, offset, rationale = answer_format.read(response.text)
        except ParseError as exc:
            return self._unparsed(item, exc, response)
        tokens = answer_format.logprob_tokens
        probs = label_probabilities(response, offset, tokens) if tokens else None
        return Verdict(
            id=item.id,
            mode="listwise",
            outcome=Ranking(ranking=ranking, probs=probs),
            rationale=rationale,
            raw=[response.text],
            usage=response.usage,
        )
