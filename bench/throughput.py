"""Throughput of jurist's HTTP path against the fake OpenAI-compatible server (which judges nothing).

For each size (pointwise items, one request each), at --concurrency requests in flight:
  (a) a bare aiohttp loop that sends the very requests jurist would send (the baseline),
  (b) jurist's whole process, `jurist judge DATA --mode pointwise --model openai:fake-model --base-url URL
      --concurrency C --out TMP`, as a subprocess: wall time and judgments/s,
  (c) the client CPU time per judgment of that same command (user + sys of the jurist child, from
      getrusage(RUSAGE_CHILDREN) deltas) with the server answering at 0 ms latency.
Targets: at least 500 judgments/s at 100 ms latency, jurist's wall time within 1.3x the bare loop's on 5000
items, and at most 1.5 ms of client CPU per judgment.

Run: .venv/bin/python bench/throughput.py            (about two minutes on two cores)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp

from jurist import JudgeConfig, make_judge
from jurist.backends.openai_compat import OpenAIBackend
from jurist.run.log import VERDICTS_FILE, read_verdicts
from jurist.types import Item

JURIST_ARGS = "judge {data} --mode pointwise --model openai:fake-model --base-url {url} --concurrency {c} --out {out}"


def make_items(n: int) -> list[dict[str, Any]]:
    return [
        {
            "id": f"q{i:05d}",
            "prompt": f"Question {i}: explain in two sentences why the sky looks blue at noon and red at dusk.",
            "response": f"Answer {i}: sunlight scatters off air molecules; blue light scatters most. " * 3,
            "label": i % 5 + 1,
        }
        for i in range(n)
    ]


def request_bodies(items: list[dict[str, Any]]) -> list[bytes]:
    """The JSON bodies jurist sends for these items (rendered by jurist itself, outside any timing)."""
    backend = OpenAIBackend("fake-model", base_url="http://127.0.0.1:1/v1")
    judge = make_judge(backend, JudgeConfig(mode="pointwise"))
    return [json.dumps(backend._body(judge.requests(Item(**it))[0])).encode() for it in items]


class Server:
    def __init__(self, latency_ms: float) -> None:
        cmd = [
            sys.executable,
            "-m",
            "jurist.testing.fake_openai_server",
            "--port",
            "0",
            "--latency-ms",
            str(latency_ms),
        ]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
        assert self.proc.stdout is not None
        self.url = self.proc.stdout.readline().strip()
        if not self.url.startswith("http"):
            raise RuntimeError("the fake server did not start")

    def stats(self) -> dict[str, Any]:
        from jurist.testing import fetch_stats

        return fetch_stats(self.url)

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(10)


async def bare_loop(url: str, bodies: list[bytes], concurrency: int) -> float:
    """Wall seconds for a plain aiohttp client to send every body, `concurrency` at a time, and read each answer."""
    connector = aiohttp.TCPConnector(limit=0)
    headers = {"Content-Type": "application/json"}
    async with aiohttp.ClientSession(connector=connector, headers=headers) as session:
        queue = iter(bodies)

        async def worker() -> None:
            for body in queue:
                async with session.post(f"{url}/chat/completions", data=body) as resp:
                    data = json.loads(await resp.read())
                    assert resp.status == 200 and data["choices"][0]["message"]["content"]

        start = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return time.perf_counter() - start


def run_jurist(data: Path, url: str, concurrency: int, workdir: Path) -> tuple[float, float, list[str]]:
    """Wall seconds and client CPU seconds (user + sys) of one `jurist judge` process."""
    out = Path(tempfile.mkdtemp(dir=workdir, prefix="run-"))
    args = JURIST_ARGS.format(data=data, url=url, c=concurrency, out=out).split()
    cmd = [sys.executable, "-m", "jurist.cli", *args]
    env = {**os.environ, "JURIST_CACHE_DIR": str(out / "cache")}  # a fresh, empty response cache
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise RuntimeError(f"jurist failed ({proc.returncode}): {proc.stdout}")
    records = read_verdicts(out / VERDICTS_FILE)
    failed = sum(v.error is not None for v in records)
    n = len(data.read_text().splitlines())
    if len(records) != n or failed:
        raise RuntimeError(f"jurist recorded {len(records)} verdicts for {n} items, {failed} failed")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, ["jurist", *args]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 5000])
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--latency-ms", type=float, default=100.0)
    args = parser.parse_args()

    rows = []
    with tempfile.TemporaryDirectory(prefix="jurist-bench-") as tmp:
        workdir = Path(tmp)
        slow, fast = Server(args.latency_ms), Server(0.0)
        try:
            for n in args.sizes:
                items = make_items(n)
                data = workdir / f"items-{n}.jsonl"
                data.write_text("".join(json.dumps(it) + "\n" for it in items))
                bodies = request_bodies(items)
                base_cpu = time.process_time()
                bare = asyncio.run(bare_loop(slow.url, bodies, args.concurrency))
                bare_cpu = time.process_time() - base_cpu
                wall, _, command = run_jurist(data, slow.url, args.concurrency, workdir)
                _, cpu, _ = run_jurist(data, fast.url, args.concurrency, workdir)
                rows.append((n, bare, bare_cpu, wall, cpu))
        finally:
            slow.stop()
            fast.stop()

    shown = shlex.join(command).replace(workdir.as_posix(), "$TMP")
    print(f"command: {shown}")
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPU cores, server --latency-ms {args.latency_ms:g}")
    print()
    print(
        f"| items | bare aiohttp wall (s) | bare req/s | jurist wall (s) | jurist judgments/s | jurist / bare "
        f"| client CPU ms/judgment at 0 ms (bare loop at {args.latency_ms:g} ms) |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|")
    for n, bare, bare_cpu, wall, cpu in rows:
        print(
            f"| {n} | {bare:.2f} | {n / bare:.0f} | {wall:.2f} | {n / wall:.0f} | {wall / bare:.2f}x "
            f"| {1000 * cpu / n:.2f} ({1000 * bare_cpu / n:.2f}) |"
        )


if __name__ == "__main__":
    main()
