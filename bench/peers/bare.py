"""The floor: a bare aiohttp loop that judges each item with one chat completion and writes the scores.

No retries, no cache, no resume: the least a client can do for the same workload (read the items, send one
request each, read the score, write one line each). Usage: python bare.py DATA URL CONCURRENCY OUT
"""

from __future__ import annotations

import asyncio
import json
import sys

import aiohttp

SCHEMA = {
    "type": "object",
    "properties": {"score": {"type": "string", "enum": ["1", "2", "3", "4", "5"]}},
    "required": ["score"],
}


def body(item: dict) -> bytes:
    prompt = f"Rate the response from 1 to 5.\n\nPrompt: {item['prompt']}\n\nResponse: {item['response']}"
    return json.dumps(
        {
            "model": "fake-model",
            "messages": [{"role": "user", "content": prompt}],
            "max_tokens": 64,
            "temperature": 0,
            "response_format": {"type": "json_schema", "json_schema": {"name": "verdict", "schema": SCHEMA}},
        }
    ).encode()


async def main(data: str, url: str, concurrency: int, out: str) -> None:
    with open(data) as f:
        items = [json.loads(line) for line in f if line.strip()]
    scores: dict[str, str | None] = {}
    pending = iter(items)
    async with aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=0), headers={"Content-Type": "application/json"}
    ) as session:

        async def worker() -> None:
            for item in pending:
                try:
                    async with session.post(f"{url}/chat/completions", data=body(item)) as resp:
                        reply = json.loads(await resp.read())
                    scores[item["id"]] = json.loads(reply["choices"][0]["message"]["content"])["score"]
                except (aiohttp.ClientError, ValueError, KeyError):
                    scores[item["id"]] = None

        await asyncio.gather(*(worker() for _ in range(concurrency)))
    with open(out, "w") as f:
        for item_id, score in scores.items():
            f.write(json.dumps({"id": item_id, "score": score}) + "\n")
    failed = sum(s is None for s in scores.values())
    print(json.dumps({"judged": len(scores), "failed": failed}))


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]))
