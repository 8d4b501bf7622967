"""Throughput of `jurist judge --engine ray` per worker, against jurist.testing's fake OpenAI-compatible server
(which judges nothing; it answers after --latency-ms, like a model server under no load).

For each worker count W, N pointwise items (one request each) are judged by
`jurist judge DATA --mode pointwise --model openai:fake-model --base-url URL --engine ray --num-workers W
--concurrency C --no-cache --out RUN` as a child process, on a local Ray started for the run. Printed per run:
the command's wall time (Python, Ray's start, the actors' start, judging); Ray's judging rate, counted from the
first shard written to the last (the shards' modification times: Ray's start-up excluded), in all and per worker;
and the items judged and failed, from the run directory (every item must have a verdict; failures are counted).

Run (about a minute per worker count at the defaults, on an idle machine):
  .venv/bin/python bench/ray_throughput.py --items 4000 --workers 1 2 4 --concurrency 16 --latency-ms 100
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from jurist.run.log import read_run
from jurist.run.shards import shard_paths


def write_items(path: Path, n: int) -> None:
    with path.open("w", encoding="utf-8") as fh:
        for i in range(n):
            item = {
                "id": f"q{i:06d}",
                "prompt": f"Question {i}: explain in two sentences why the sky looks blue at noon and red at dusk.",
                "response": f"Answer {i}: sunlight scatters off air molecules; blue light scatters most. " * 3,
            }
            fh.write(json.dumps(item) + "\n")


def start_server(latency_ms: int) -> tuple[subprocess.Popen[str], str]:
    args = [sys.executable, "-m", "jurist.testing.fake_openai_server", "--port", "0", "--latency-ms", str(latency_ms)]
    server = subprocess.Popen(args, stdout=subprocess.PIPE, text=True)
    assert server.stdout is not None
    return server, server.stdout.readline().strip()


def one_run(data: Path, out: Path, url: str, workers: int, concurrency: int) -> dict[str, float]:
    args = [sys.executable, "-m", "jurist.cli", "judge", str(data), "--mode", "pointwise"]
    args += ["--model", "openai:fake-model", "--base-url", url, "--engine", "ray", "--num-workers", str(workers)]
    args += ["--concurrency", str(concurrency), "--no-cache", "--out", str(out)]
    env = {**os.environ, "OPENAI_API_KEY": "unused"}
    started = time.perf_counter()
    done = subprocess.run(args, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"the run failed (exit {done.returncode}):\n{done.stderr[-3000:]}")
    verdicts = read_run(out).verdicts
    shards = shard_paths(out)
    times = sorted(p.stat().st_mtime for p in shards)
    first_rows = len(read_shard_ids(shards[0])) if shards else 0
    span = times[-1] - times[0] if len(times) > 1 else float("nan")
    rate = (len(verdicts) - first_rows) / span if span and span > 0 else float("nan")
    return {
        "wall_s": wall,
        "rate": rate,
        "judged": len(verdicts),
        "failed": sum(v.error is not None for v in verdicts),
        "shards": len(shards),
    }


def read_shard_ids(path: Path) -> list[str]:
    import pyarrow.parquet as pq

    return [str(i) for i in pq.read_table(path, columns=["id"]).column("id").to_pylist()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--items", type=int, default=4000)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--concurrency", type=int, default=16, help="items in flight per worker")
    parser.add_argument("--latency-ms", type=int, default=100)
    args = parser.parse_args()
    server, url = start_server(args.latency_ms)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            data = Path(tmp) / "items.jsonl"
            write_items(data, args.items)
            print(
                f"{args.items} pointwise items, fake server at {args.latency_ms} ms, --concurrency {args.concurrency}"
            )
            print(
                "| workers | wall s (Ray's start too) | judgments/s (first to last shard) "
                "| per worker | judged | failed |"
            )
            print("|---|---|---|---|---|---|")
            for workers in args.workers:
                result = one_run(data, Path(tmp) / f"run-{workers}", url, workers, args.concurrency)
                print(
                    f"| {workers} | {result['wall_s']:.1f} | {result['rate']:.0f} | {result['rate'] / workers:.0f} "
                    f"| {result['judged']:.0f}/{args.items} | {result['failed']:.0f} |"
                )
                if result["judged"] != args.items:
                    raise SystemExit(f"{args.items - result['judged']:.0f} items have no verdict")
    finally:
        server.terminate()
        server.wait()


if __name__ == "__main__":
    main()
