"""CPU per request of jurist's HTTP client (HttpClient.fetch) against a bare aiohttp `session.post`, in one process.

The same chat-completions bodies (jurist's pointwise requests for bench/throughput.py's items) are sent to the fake
OpenAI-compatible server at 0 ms, 64 in flight, by each variant in turn, --rounds times: a bare session with a
bytes body and with a text body (the floor), and HttpClient.fetch with a text body (what jurist sends) and a bytes
body. The measure is process CPU time over each round; taking turns within one process puts other load on all the
variants alike. Printed: the median and the least of the rounds.

Run: .venv/bin/python bench/peers/http_client.py [--requests 1000] [--rounds 6]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # bench/ is not a package
from jurist import JudgeConfig, make_judge
from jurist.backends.openai_compat import OpenAIBackend
from jurist.types import Item
from throughput import Server, make_items


async def compare(url: str, n: int, rounds: int) -> dict[str, list[float]]:
    backend = OpenAIBackend("fake-model", base_url=url)
    judge = make_judge(backend, JudgeConfig(mode="pointwise"))
    bodies = [json.dumps(backend.body(judge.request_for(Item(**it)))) for it in make_items(n)]  # type: ignore[attr-defined]
    session = aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=0), headers={"Content-Type": "application/json"}
    )
    target = f"{url}/chat/completions"

    async def bare(body: str) -> None:
        async with session.post(target, data=body.encode()) as resp:
            await resp.read()

    async def bare_text(body: str) -> None:
        async with session.post(target, data=body) as resp:
            await resp.read()

    async def fetch(body: str) -> None:
        await backend.http.fetch("POST", "/chat/completions", body)

    async def fetch_bytes(body: str) -> None:
        await backend.http.fetch("POST", "/chat/completions", body.encode())

    variants: dict[str, Callable[[str], Awaitable[None]]] = {
        "bare session.post, bytes body": bare,
        "bare session.post, text body": bare_text,
        "HttpClient.fetch, text body (jurist's)": fetch,
        "HttpClient.fetch, bytes body": fetch_bytes,
    }

    async def one_round(send: Callable[[str], Awaitable[None]]) -> float:
        pending = iter(bodies)

        async def worker() -> None:
            for body in pending:  # a shared iterator: each body goes to one worker
                await send(body)

        start = time.process_time()
        await asyncio.gather(*(worker() for _ in range(64)))
        return time.process_time() - start

    try:
        for send in variants.values():  # warm-up: connections opened, code paths run once
            await one_round(send)
        seen: dict[str, list[float]] = {name: [] for name in variants}
        for _ in range(rounds):
            for name, send in variants.items():
                seen[name].append(await one_round(send))
        return seen
    finally:
        await session.close()
        await backend.aclose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=6)
    args = parser.parse_args()
    server = Server(0.0)
    try:
        seen = asyncio.run(compare(server.url, args.requests, args.rounds))
    finally:
        server.stop()
    print(f"| variant | CPU us per request, median of {args.rounds} rounds | least |")
    print("|---|---:|---:|")
    for name, times in seen.items():
        per = [1e6 * t / args.requests for t in times]
        print(f"| {name} | {statistics.median(per):.0f} | {min(per):.0f} |")


if __name__ == "__main__":
    main()
