"""The judge server over real HTTP on loopback: a real aiohttp client hammering it past its queue for a few seconds,
and `jurist serve` stopped by SIGTERM while a request is in flight."""

from __future__ import annotations

import asyncio
import os
import random
import re
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import aiohttp
from pydantic import SecretStr

from jurist import BackendOptions, JobOptions
from jurist.run.runner import RunOptions
from jurist.serve import JudgeServer, ServeOptions
from jurist.testing import FakeOpenAIServer

from .support import cli_env

TOKEN = "integration-token-0123456789"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
HAMMER_S = 3.0


def metric(text: str, name: str) -> float:
    m = re.search(rf"^{re.escape(name)} (\S+)$", text, re.M)
    return float(m.group(1)) if m else 0.0


def test_hammering_past_the_queue_gets_every_request_a_200_or_a_429(server: FakeOpenAIServer) -> None:
    async def hammer() -> tuple[Counter[int], int, int, list[str | None], str]:
        options = JobOptions(
            backend=BackendOptions(base_url=server.url, timeout=10),
            run=RunOptions(concurrency=8),
            cache=False,
        )
        serving = ServeOptions(port=0, token=SecretStr(TOKEN), max_queue=24, max_batch=8, access_log=False)
        statuses: Counter[int] = Counter()
        sent = judged = 0
        retry_after: list[str | None] = []
        judge = JudgeServer("pointwise", model="openai:fake-model", options=options, serve=serving)
        async with judge, aiohttp.ClientSession(judge.url) as client:
            deadline = time.monotonic() + HAMMER_S

            async def worker(w: int) -> None:
                nonlocal sent, judged
                rng = random.Random(w)
                n = 0
                while time.monotonic() < deadline:
                    size = rng.choice([1, 4, 8])
                    items = [{"prompt": f"w{w} r{n} i{i}: 2+2?", "response": "4"} for i in range(size)]
                    n += 1
                    sent += 1
                    async with client.post("/v1/judge", json={"items": items}, headers=AUTH) as r:
                        statuses[r.status] += 1
                        if r.status == 200:
                            body = await r.json()
                            assert body["judged"] == size and body["failed"] == 0
                            judged += size
                        elif r.status == 429:
                            retry_after.append(r.headers.get("Retry-After"))
                            await asyncio.sleep(0.02)  # a client that backs off a little, not by Retry-After

            await asyncio.gather(*(worker(w) for w in range(16)))
            async with client.get("/metrics", headers=AUTH) as r:
                metrics = await r.text()
        return statuses, sent, judged, retry_after, metrics

    statuses, sent, judged, retry_after, metrics = asyncio.run(hammer())
    assert set(statuses) <= {200, 429}, statuses
    assert statuses[200] > 0 and statuses[429] > 0, statuses  # 16 clients x up to 8 items overload a queue of 24
    assert sum(statuses.values()) == sent  # every request got an answer
    assert all(value is not None and int(value) >= 1 for value in retry_after)
    assert metric(metrics, 'jurist_serve_requests_total{endpoint="/v1/judge",status="200"}') == statuses[200]
    assert metric(metrics, 'jurist_serve_requests_total{endpoint="/v1/judge",status="429"}') == statuses[429]
    assert metric(metrics, 'jurist_serve_items_total{outcome="ok"}') == judged
    assert metric(metrics, "jurist_serve_items_in_flight") == 0
    assert server.stats()["total"] == judged  # one model call per judged item, none for a refused one


def test_sigterm_lets_the_request_in_flight_finish_and_the_token_stays_out_of_the_output(
    server: FakeOpenAIServer, cache_dir: Path
) -> None:
    env = cli_env(cache_dir, JURIST_SERVE_TOKEN=TOKEN)
    args = [sys.executable, "-m", "jurist.cli", "serve", "--model", "openai:fake-model", "--base-url", server.url]
    proc = subprocess.Popen([*args, "--port", "0"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stderr is not None
        first = proc.stderr.readline()
        found = re.search(r"at (http://\S+)", first)
        assert found, first
        url = found.group(1)

        async def call() -> tuple[int, dict[str, Any]]:
            item = {"prompt": "slow one #fault:slow@1.5", "response": "r"}
            async with aiohttp.ClientSession(url) as client:
                pending = asyncio.ensure_future(client.post("/v1/judge", json={"items": [item]}, headers=AUTH))
                while server.count("slow one") == 0:  # the judge's call has reached the model
                    await asyncio.sleep(0.02)
                os.kill(proc.pid, signal.SIGTERM)
                async with await pending as r:
                    return r.status, await r.json()

        status, body = asyncio.run(call())
        assert status == 200 and body["judged"] == 1 and body["failed"] == 0
        _, rest = proc.communicate(timeout=30)
        assert proc.returncode == 0, rest
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    output = first + rest
    assert "stopped: 1 items judged, 0 without a reward" in output
    assert TOKEN not in output
