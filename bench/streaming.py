"""Streaming runs: peak memory of a whole `jurist judge` process as the number of items grows.

For each size N and each input format (JSONL, Parquet), N pointwise items are written to a temp dir and judged by
`jurist judge DATA --mode pointwise --model openai:fake-model --base-url URL --concurrency C --out RUN` as a child
process, against jurist.testing's fake OpenAI-compatible server at 0 ms latency (it judges nothing). Printed per
run: wall time, judgments/s, and the child's peak RSS (ru_maxrss of that one child, from os.wait4: the kernel's
high-water mark of its resident memory, which includes the interpreter and every imported library), with the
ratio to the smallest size's RSS in the same format. Acceptance (issue 18): the largest size's RSS within 1.5x
of the smallest's. Every run is checked: as many verdict lines as items, none failed (the count is printed).

Run: .venv/bin/python bench/streaming.py --sizes 10000 100000 1000000

With --summary, the run's summary alone: `jurist show RUN` as a child process on run directories of each size, made
by judging SUMMARY_BASE items once and repeating their verdict records under new ids (the summary reads only the
records), so that its memory is measured without the half hour that judging a million items takes.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ACCEPTED_GROWTH = 1.5
JURIST_ARGS = "judge {data} --mode pointwise --model openai:fake-model --base-url {url} --concurrency {c} --out {out}"


def items(n: int) -> Iterator[dict[str, Any]]:
    for i in range(n):
        yield {
            "id": f"q{i:07d}",
            "prompt": f"Question {i}: explain in two sentences why the sky looks blue at noon and red at dusk.",
            "response": f"Answer {i}: sunlight scatters off air molecules; blue light scatters most. " * 3,
            "label": i % 5 + 1,
        }


def write_jsonl(path: Path, n: int) -> None:
    with path.open("w", encoding="utf-8") as fh:
        for item in items(n):
            fh.write(json.dumps(item) + "\n")


def write_parquet(path: Path, n: int, group_rows: int = 10_000) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = pa.schema([("id", pa.string()), ("prompt", pa.string()), ("response", pa.string()), ("label", pa.int64())])
    with pq.ParquetWriter(path, schema) as writer:
        batch: list[dict[str, Any]] = []
        for item in items(n):
            batch.append(item)
            if len(batch) == group_rows:  # one row group each
                writer.write_table(pa.Table.from_pylist(batch, schema=schema))
                batch = []
        if batch:
            writer.write_table(pa.Table.from_pylist(batch, schema=schema))


class FakeServer:
    def __init__(self) -> None:
        cmd = [sys.executable, "-m", "jurist.testing.fake_openai_server", "--port", "0", "--latency-ms", "0"]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
        assert self.proc.stdout is not None
        self.url = self.proc.stdout.readline().strip()
        if not self.url.startswith("http"):
            raise RuntimeError("the fake server did not start")

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(10)


def judge(data: Path, url: str, concurrency: int, workdir: Path) -> tuple[float, int, list[str]]:
    """Wall seconds and peak RSS (KiB) of one `jurist judge` child process."""
    out = Path(tempfile.mkdtemp(dir=workdir, prefix="run-"))
    args = JURIST_ARGS.format(data=data, url=url, c=concurrency, out=out).split()
    env = {**os.environ, "JURIST_CACHE_DIR": str(out / "cache")}  # a fresh, empty response cache
    start = time.perf_counter()
    child = subprocess.Popen(
        [sys.executable, "-m", "jurist.cli", *args], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    _, status, usage = os.wait4(child.pid, 0)  # this child's own resource usage
    wall = time.perf_counter() - start
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode != 0:
        assert child.stderr is not None
        raise RuntimeError(f"jurist failed ({child.returncode}): {child.stderr.read().decode()[-2000:]}")
    return wall, usage.ru_maxrss, ["jurist", *args]


SUMMARY_BASE = 2000


def summary_runs(url: str, sizes: list[int], workdir: Path) -> list[tuple[int, float, int]]:
    """(size, wall s, peak RSS KiB) of `jurist show` on a run directory of each size."""
    data = workdir / "base.jsonl"
    write_jsonl(data, SUMMARY_BASE)
    judge(data, url, 64, workdir)
    base = max(workdir.glob("run-*"), key=lambda p: p.stat().st_mtime)
    records = (base / "verdicts.jsonl").read_bytes().splitlines()
    results = []
    for n in sorted(sizes):
        run = workdir / f"summary-{n}"
        run.mkdir()
        for name in ("config.json", "sessions.jsonl"):
            (run / name).write_bytes((base / name).read_bytes())
        with (run / "verdicts.jsonl").open("wb") as fh:
            for copy in range(-(-n // SUMMARY_BASE)):
                left = n - copy * SUMMARY_BASE
                for line in records[: min(left, SUMMARY_BASE)]:  # ids "q..." become "c<copy>q..."
                    fh.write(line.replace(b'"id":"q', b'"id":"c%06dq' % copy, 1) + b"\n")
        start = time.perf_counter()
        child = subprocess.Popen([sys.executable, "-m", "jurist.cli", "show", str(run)], stdout=subprocess.DEVNULL)
        _, status, usage = os.wait4(child.pid, 0)
        if os.waitstatus_to_exitcode(status) != 0:
            raise RuntimeError(f"jurist show {run} failed")
        results.append((n, time.perf_counter() - start, usage.ru_maxrss))
        print(f"summary {n}: peak RSS {usage.ru_maxrss / 1024:.1f} MiB", file=sys.stderr, flush=True)
        (run / "verdicts.jsonl").unlink()
    return results


def print_summary_runs(results: list[tuple[int, float, int]]) -> None:
    print(f"command: jurist show RUN, on verdict logs of {SUMMARY_BASE} judged items repeated under new ids")
    print()
    print("| verdicts | wall (s) | peak RSS (MiB) | RSS / smallest |")
    print("|---:|---:|---:|---:|")
    for n, wall, rss in results:
        print(f"| {n} | {wall:.1f} | {rss / 1024:.0f} | {rss / results[0][2]:.2f}x |")


def check(out_root: Path, n: int) -> tuple[int, int]:
    """(verdict lines, failed) of the newest run directory, read line by line."""
    run = max(out_root.glob("run-*"), key=lambda p: p.stat().st_mtime)
    lines = failed = 0
    with (run / "verdicts.jsonl").open(encoding="utf-8") as fh:
        for line in fh:
            lines += 1
            failed += json.loads(line).get("error") is not None
    if lines != n:
        raise RuntimeError(f"{run}: {lines} verdicts for {n} items")
    return lines, failed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--formats", nargs="+", choices=["jsonl", "parquet"], default=["jsonl", "parquet"])
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument(
        "--row-group-rows",
        type=int,
        default=10_000,
        help="rows per Parquet row group (pyarrow decodes one group at a time: compare sizes with equal groups)",
    )
    parser.add_argument("--summary", action="store_true", help="measure the run's summary alone (see above)")
    args = parser.parse_args()
    if args.summary:
        with tempfile.TemporaryDirectory(prefix="jurist-summary-") as tmp:
            server = FakeServer()
            try:
                results = summary_runs(server.url, args.sizes, Path(tmp))
            finally:
                server.stop()
        print_summary_runs(results)
        return

    rows = []
    command: list[str] = []
    with tempfile.TemporaryDirectory(prefix="jurist-stream-") as tmp:
        workdir = Path(tmp)
        server = FakeServer()
        try:
            for fmt in args.formats:
                for n in sorted(args.sizes):
                    data = workdir / f"items-{n}.{fmt}"
                    if fmt == "jsonl":
                        write_jsonl(data, n)
                    else:
                        write_parquet(data, n, args.row_group_rows)
                    wall, rss_kib, command = judge(data, server.url, args.concurrency, workdir)
                    verdicts, failed = check(workdir, n)
                    rows.append((fmt, n, wall, rss_kib, verdicts, failed))
                    # A line per run as it ends: the 1M-item runs take most of an hour.
                    done = f"{fmt} {n}: {wall:.1f} s, peak RSS {rss_kib / 1024:.1f} MiB"
                    print(f"{done}, {verdicts} verdicts ({failed} failed)", file=sys.stderr, flush=True)
                    data.unlink()
        finally:
            server.stop()

    shown = shlex.join(command).replace(workdir.as_posix(), "$TMP")
    print(f"command: {shown}")
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPU cores, fake server at 0 ms latency")
    print(f"peak RSS: ru_maxrss of the jurist child alone (os.wait4); Parquet row groups of {args.row_group_rows} rows")
    print()
    print("| input | items | wall (s) | judgments/s | peak RSS (MiB) | RSS / smallest | verdicts (failed) |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    verdict = []
    for fmt in args.formats:
        mine = [r for r in rows if r[0] == fmt]
        base = mine[0][3]
        for _, n, wall, rss, verdicts, failed in mine:
            print(
                f"| {fmt} | {n} | {wall:.1f} | {n / wall:.0f} | {rss / 1024:.0f} | {rss / base:.2f}x "
                f"| {verdicts} ({failed}) |"
            )
        growth = mine[-1][3] / base
        verdict.append(
            f"{fmt}: {'PASS' if growth <= ACCEPTED_GROWTH else 'FAIL'} ({growth:.2f}x <= {ACCEPTED_GROWTH}x)"
        )
    print()
    print("RSS at the largest size within 1.5x of the smallest: " + "; ".join(verdict))


if __name__ == "__main__":
    main()
