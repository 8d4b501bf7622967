"""Load test of `jurist serve` against the fake OpenAI-compatible server (which judges nothing) at 100 ms latency.

Both servers run as subprocesses; the load comes from closed-loop aiohttp clients in this process, each sending its
next request when the last is answered (and sleeping Retry-After after a 429, as a client should).

  1. Sustained load, for batch sizes 1, 16 and 64: ceil(max_queue / batch) clients, so that the items in flight
     fill the queue: requests/s and judgments/s answered 200, p50/p99 latency of the 200s.
  2. 2x overload: twice as many clients: the share of requests answered 429 (and the goodput beside it).
  3. A soak at the sustained load (batch 16) for --soak-seconds: the server's RSS sampled every 10 s.
Every phase counts the requests that got no answer (a connection error or a client timeout): the target is zero.

Run:  .venv/bin/python bench/serve_load.py                       (3 x 20 s + 20 s + a 600 s soak)
      .venv/bin/python bench/serve_load.py --soak-seconds 0      (no soak)
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import math
import os
import re
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

PROMPTS = 1000  # a pool of distinct items, cycled (the cache is off, so a repeat is judged again)


@dataclass
class Tally:
    latencies: list[float] = field(default_factory=list)  # of the 200s
    statuses: dict[int, int] = field(default_factory=dict)
    judged: int = 0
    unanswered: int = 0  # connection errors and client timeouts
    sent: int = 0

    def add(self, status: int) -> None:
        self.statuses[status] = self.statuses.get(status, 0) + 1


def percentile(values: list[float], q: float) -> float:
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))]


def start(args: list[str], pattern: str) -> tuple[subprocess.Popen[str], str]:
    """A server subprocess, and the URL it prints (on stdout or stderr) once it listens."""
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    stream = proc.stdout if "fake_openai_server" in " ".join(args) else proc.stderr
    assert stream is not None
    line = stream.readline()
    found = re.search(pattern, line)
    if not found:
        proc.kill()
        raise SystemExit(f"server did not start: {line!r} {proc.communicate()[1][-2000:]}")
    return proc, found.group(1)


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return math.nan


async def load(url: str, batch: int, clients: int, seconds: float, on_tick: Any = None) -> tuple[Tally, float]:
    tally = Tally()
    deadline = time.monotonic() + seconds
    connector = aiohttp.TCPConnector(limit=0)
    timeout = aiohttp.ClientTimeout(total=120)
    async with aiohttp.ClientSession(url, connector=connector, timeout=timeout) as session:

        async def client(c: int) -> None:
            n = 0
            while time.monotonic() < deadline:
                items = [
                    {
                        "prompt": f"Question {(c * 7919 + n * batch + i) % PROMPTS}: why is the sky blue at noon?",
                        "response": "Sunlight scatters off air molecules, and blue light scatters most.",
                    }
                    for i in range(batch)
                ]
                n += 1
                tally.sent += 1
                sent = time.perf_counter()
                try:
                    async with session.post("/v1/judge", json={"items": items}) as r:
                        await r.read()
                        tally.add(r.status)
                        if r.status == 200:
                            tally.latencies.append(time.perf_counter() - sent)
                            tally.judged += batch
                        elif r.status == 429:
                            await asyncio.sleep(float(r.headers.get("Retry-After", "1")))
                except (aiohttp.ClientError, TimeoutError):
                    tally.unanswered += 1

        async def ticker() -> None:
            while on_tick is not None and time.monotonic() < deadline:
                on_tick()
                await asyncio.sleep(10)

        began = time.perf_counter()
        await asyncio.gather(ticker(), *(client(c) for c in range(clients)))
        return tally, time.perf_counter() - began


def row(name: str, batch: int, clients: int, tally: Tally, wall: float) -> str:
    ok = tally.statuses.get(200, 0)
    refused = tally.statuses.get(429, 0)
    answered = sum(tally.statuses.values())
    other = answered - ok - refused
    return (
        f"| {name} | {batch} | {clients} | {ok / wall:.1f} | {tally.judged / wall:.0f} | "
        f"{percentile(tally.latencies, 0.5) * 1000:.0f} | {percentile(tally.latencies, 0.99) * 1000:.0f} | "
        f"{refused / max(answered, 1):.1%} | {other} | {tally.unanswered} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--latency-ms", type=float, default=100.0)
    parser.add_argument("--concurrency", type=int, default=64, help="jurist serve --concurrency")
    parser.add_argument("--max-queue", type=int, default=256, help="jurist serve --max-queue")
    parser.add_argument("--seconds", type=float, default=20.0, help="each load phase")
    parser.add_argument("--batches", default="1,16,64")
    parser.add_argument("--soak-seconds", type=float, default=600.0)
    args = parser.parse_args()

    python = sys.executable
    fake, fake_url = start(
        [python, "-m", "jurist.testing.fake_openai_server", "--port", "0", "--latency-ms", str(args.latency_ms)],
        r"(http://\S+)",
    )
    serve_args = [python, "-m", "jurist.cli", "serve", "--model", "openai:fake-model", "--base-url", fake_url]
    serve_args += ["--port", "0", "--no-auth", "--quiet", "--no-cache", "--concurrency", str(args.concurrency)]
    serve_args += ["--max-queue", str(args.max_queue), "--max-batch", str(max(args.max_queue, 64))]
    judge, url = start(serve_args, r"at (http://\S+)")
    print(
        f"fake server {args.latency_ms:g} ms at {fake_url}; jurist serve at {url}, concurrency "
        f"{args.concurrency}, max queue {args.max_queue}; cpus: {os.cpu_count()}",
        flush=True,
    )
    lines = [
        "| phase | batch | clients | requests/s (200) | judgments/s | p50 ms | p99 ms | 429 share | other status "
        "| unanswered |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    try:
        asyncio.run(load(url, 1, 8, 3.0))  # warm up: connections, imports
        for batch in (int(b) for b in args.batches.split(",")):
            clients = math.ceil(args.max_queue / batch)
            tally, wall = asyncio.run(load(url, batch, clients, args.seconds))
            lines.append(row("sustained", batch, clients, tally, wall))
            print(lines[-1], flush=True)
        batch = 16
        clients = 2 * math.ceil(args.max_queue / batch)
        tally, wall = asyncio.run(load(url, batch, clients, args.seconds))
        lines.append(row("2x overload", batch, clients, tally, wall))
        print(lines[-1], flush=True)
        if args.soak_seconds > 0:
            samples: list[tuple[float, float]] = []
            began = time.monotonic()

            def sample() -> None:
                samples.append((time.monotonic() - began, rss_mb(judge.pid)))

            clients = math.ceil(args.max_queue / batch)
            tally, wall = asyncio.run(load(url, batch, clients, args.soak_seconds, on_tick=sample))
            sample()
            lines.append(row(f"soak {args.soak_seconds:g} s", batch, clients, tally, wall))
            print(lines[-1], flush=True)
            rss = [mb for _, mb in samples]
            print(
                f"soak RSS of jurist serve (MB): start {rss[0]:.1f}, end {rss[-1]:.1f}, max {max(rss):.1f}; "
                f"samples every 10 s: {', '.join(f'{mb:.1f}' for mb in rss)}",
                flush=True,
            )
    finally:
        judge.send_signal(signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            _, err = judge.communicate(timeout=90)
            print("jurist serve:", err.strip().splitlines()[-1] if err.strip() else "(nothing)", flush=True)
        fake.send_signal(signal.SIGTERM)
        fake.communicate(timeout=30)
    print("\n".join(lines))


if __name__ == "__main__":
    main()
