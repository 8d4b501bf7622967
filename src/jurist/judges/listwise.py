"""Listwise judging: k responses -> a full ranking (1-based positions, best first) and the best one."""

from __future__ import annotations

import json

from ..backends.base import GenerateRequest
from ..errors import InputError, ParseError
from ..parse import extract_ranking, label_probabilities
from ..types import Item, Verdict
from .base import LLMJudge


class ListwiseJudge(LLMJudge):
    mode = "listwise"

    def _demo_answer(self, demo: Item) -> str | None:
        full = isinstance(demo.label, list) and len(demo.label) == len(demo.responses or []) > 1
        return json.dumps({"ranking": demo.label}) if full else None

    def requests(self, item: Item) -> list[GenerateRequest]:
        responses = item.responses or []
        if len(responses) < 2:
            raise InputError("listwise judging needs at least two responses", field="responses")
        k = len(responses)
        example = ", ".join(str(i) for i in range(1, k + 1))
        variables = {
            **self._variables(item),
            "responses": responses,
            "output_format": self._output_format({"ranking": f"[{example}] reordered, best first"}),
        }
        schema = self._schema(
            {
                "ranking": {
                    "type": "array",
                    "items": {"type": "integer", "minimum": 1, "maximum": k},
                    "minItems": k,
                    "maxItems": k,
                }
            }
        )
        return [self._request(self.template.render(variables), schema, item_id=item.id)]

    async def _judge(self, item: Item) -> Verdict:
        k = len(item.responses or [])
        response = await self._generate(self.requests(item)[0])
        try:
            ranking, offset, rationale = extract_ranking(response.text, k)
        except ParseError as exc:
            return self._unparsed(item, exc, response)
        labels = [str(i) for i in range(1, k + 1)]
        probs = label_probabilities(response, offset, labels) if k <= 9 else None
        return Verdict(
            id=item.id,
            mode="listwise",
            ranking=ranking,
            best=ranking[0],
            probs=probs,
            rationale=rationale,
            raw=[response.text],
            usage=response.usage,
        )
