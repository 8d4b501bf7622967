"""openevals (LangChain's evaluators) judging the items pointwise (a score from 1-5) through an OpenAI-compatible
server, with its async LLM-as-judge over the OpenAI client, `concurrency` calls in flight. Runs in openevals' own
virtualenv (bench/peers/setup.sh). Usage: python THIS DATA URL CONCURRENCY OUT
"""

from __future__ import annotations

import asyncio
import json
import os
import sys

from openai import AsyncOpenAI
from openevals.llm import create_async_llm_as_judge

PROMPT = "Rate the response from 1 to 5.\n\nPrompt: {inputs}\n\nResponse: {outputs}"


async def main(data: str, url: str, concurrency: int, out: str) -> None:
    with open(data) as f:
        items = [json.loads(line) for line in f if line.strip()]
    client = AsyncOpenAI(base_url=url, api_key=os.environ.get("OPENAI_API_KEY", "fake-key"), max_retries=2)
    evaluator = create_async_llm_as_judge(
        prompt=PROMPT, judge=client, model="openai:fake-model", choices=[1, 2, 3, 4, 5], use_reasoning=False
    )
    gate = asyncio.Semaphore(concurrency)
    scores: dict[str, object] = {}

    async def one(item: dict) -> None:
        async with gate:
            try:
                result = await evaluator(inputs=item["prompt"], outputs=item["response"])
                scores[item["id"]] = result["score"]
            except Exception:  # a failed item is counted, not fatal: the others go on
                scores[item["id"]] = None

    await asyncio.gather(*(one(it) for it in items))
    with open(out, "w") as f:
        for item_id, score in scores.items():
            f.write(json.dumps({"id": item_id, "score": score}) + "\n")
    print(json.dumps({"judged": len(scores), "failed": sum(s is None for s in scores.values())}))


if __name__ == "__main__":
    os.environ.setdefault("LANGSMITH_TRACING", "false")
    asyncio.run(main(sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]))
