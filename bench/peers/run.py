"""Side by side: the same pointwise workload judged by a bare aiohttp loop, by jurist, and by peer libraries.

Each tool runs as its own process, start-up included, against the fake OpenAI-compatible server (jurist.testing,
its own process too) answering at each --latency-ms; every tool gets the same items and the same --concurrency.
Per tool: whole-process wall time, judgments/s, client CPU ms/judgment (user + sys of the tool's process, from
RUSAGE_CHILDREN before and after it: robust to other load on the machine, unlike wall time) and how many items failed.

The peers live in their own virtualenvs outside the repo (bash bench/peers/setup.sh makes them, pinned); a peer
whose virtualenv is missing is reported as such and skipped.

Run: .venv/bin/python bench/peers/run.py --items 1000 5000 --latency-ms 0 100 [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # bench/ is not a package
from jurist.run.log import VERDICTS_FILE, read_verdicts  # noqa: E402
from throughput import Server, make_items  # noqa: E402  (bench/ is not a package)

# peer name -> its client script here (run with the peer's own interpreter)
PEERS = {"prometheus-eval": "prometheus_eval_client.py", "openevals": "openevals_client.py"}
TOOLS = ["bare", "jurist", *PEERS]


@dataclass
class Result:
    tool: str
    wall: float | None = None
    cpu: float | None = None
    judged: int = 0
    failed: int = 0
    note: str = ""


def run_tool(tool: str, data: Path, n: int, url: str, concurrency: int, workdir: Path, peers: Path) -> Result:
    out = Path(tempfile.mkdtemp(dir=workdir, prefix=f"{tool}-"))
    env = dict(os.environ)
    if tool == "bare":
        cmd = [sys.executable, str(HERE / "bare.py"), str(data), url, str(concurrency), str(out / "scores.jsonl")]
    elif tool == "jurist":
        cmd = [sys.executable, "-m", "jurist.cli", "judge", str(data), "--mode", "pointwise"]
        cmd += ["--model", "openai:fake-model", "--base-url", url, "--concurrency", str(concurrency), "--out", str(out)]
        env["JURIST_CACHE_DIR"] = str(out / "cache")  # a fresh, empty response cache
    else:
        python = peers / tool / "bin" / "python"
        if not python.exists():
            return Result(tool, note=f"not installed: bash bench/peers/setup.sh {peers}")
        cmd = [str(python), str(HERE / PEERS[tool]), str(data), url, str(concurrency), str(out / "scores.jsonl")]
        env.pop("PYTHONPATH", None)
        env["OPENAI_API_KEY"] = "fake-key"  # the peers' OpenAI clients refuse to start without one
        env["LITELLM_LOCAL_MODEL_COST_MAP"] = "True"  # else LiteLLM fetches its price list from the internet
        env["LANGSMITH_TRACING"] = "false"
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    stdout, stderr = proc.communicate()
    wall = time.perf_counter() - start
    result = Result(tool, wall=wall)
    if proc.returncode != 0:
        result.note = f"exit {proc.returncode}: {(stderr or stdout).strip().splitlines()[-1:]}"
        return result
    if tool == "jurist":
        verdicts = read_verdicts(out / VERDICTS_FILE)
        result.judged, result.failed = len(verdicts), sum(v.error is not None for v in verdicts)
    else:
        counts = json.loads(stdout.strip().splitlines()[-1])
        result.judged, result.failed = counts["judged"], counts["failed"]
    if result.judged != n:
        result.note = f"judged {result.judged} of {n}"
    shutil.rmtree(out, ignore_errors=True)
    return result


def timed(tool: str, *args: object) -> Result:
    import resource

    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    result = run_tool(tool, *args)  # type: ignore[arg-type]
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    result.cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--items", type=int, nargs="+", default=[1000, 5000])
    parser.add_argument("--latency-ms", type=float, nargs="+", default=[0.0, 100.0])
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--tools", nargs="+", default=TOOLS, choices=TOOLS)
    parser.add_argument("--peers", type=Path, default=Path("/work/peers"), help="where setup.sh made the venvs")
    parser.add_argument(
        "--rounds", type=int, default=1, help="run every tool this many times, taking turns; then the medians"
    )
    args = parser.parse_args()

    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPU cores, concurrency {args.concurrency}")
    print()
    print("| latency | items | round | tool | wall (s) | judgments/s | client CPU ms/judgment | failed | note |")
    print("|---:|---:|---:|---|---:|---:|---:|---:|---|")
    runs: dict[tuple[float, int], list[dict[str, Result]]] = {}
    with tempfile.TemporaryDirectory(prefix="jurist-peers-") as tmp:
        workdir = Path(tmp)
        for latency in args.latency_ms:
            server = Server(latency)
            try:
                for n in args.items:
                    data = workdir / f"items-{n}.jsonl"
                    data.write_text("".join(json.dumps(it) + "\n" for it in make_items(n)))
                    for round_ in range(1, args.rounds + 1):
                        results = runs.setdefault((latency, n), [])
                        results.append({})
                        for tool in args.tools:
                            r = timed(tool, data, n, server.url, args.concurrency, workdir, args.peers)
                            where = f"| {latency:g} ms | {n} | {round_} | {tool} |"
                            if r.wall is None or r.note.startswith("exit"):
                                print(f"{where} | | | | {r.note} |", flush=True)
                                continue
                            results[-1][tool] = r
                            cpu = 1000 * (r.cpu or 0.0) / max(r.judged, 1)
                            rate = r.judged / r.wall
                            print(
                                f"{where} {r.wall:.2f} | {rate:.0f} | {cpu:.2f} | {r.failed} | {r.note} |", flush=True
                            )
            finally:
                server.stop()
    if args.rounds > 1:
        print_medians(runs)


def per_second(r: Result) -> float:
    return r.judged / r.wall if r.wall else 0.0


def print_medians(runs: dict[tuple[float, int], list[dict[str, Result]]]) -> None:
    """Per workload, each tool's median over the rounds, and jurist against the bare loop and the best peer,
    round by round (each round's tools ran back to back, so their ratio is the least disturbed by other load)."""
    print()
    print("| latency | items | tool | median wall (s) | median judgments/s | median client CPU ms/judgment |")
    print("|---:|---:|---|---:|---:|---:|")
    ratios = []
    for (latency, n), rounds in runs.items():
        for tool in TOOLS:
            done = [r[tool] for r in rounds if tool in r and r[tool].wall]
            if done:
                wall = statistics.median(r.wall or 0.0 for r in done)
                rate = statistics.median(per_second(r) for r in done)
                cpu = statistics.median(1000 * (r.cpu or 0.0) / max(r.judged, 1) for r in done)
                print(f"| {latency:g} ms | {n} | {tool} | {wall:.2f} | {rate:.0f} | {cpu:.2f} |")
        to_bare = [(r["jurist"].wall or 0.0) / (r["bare"].wall or 1.0) for r in rounds if "jurist" in r and "bare" in r]
        to_peer = [
            per_second(r["jurist"]) / max(per_second(p) for tool, p in r.items() if tool in PEERS)
            for r in rounds
            if "jurist" in r and any(tool in PEERS for tool in r)
        ]
        ratios.append((latency, n, to_bare, to_peer))
    print()
    print(
        "| latency | items | jurist wall / bare wall, each round | median "
        "| jurist / best peer judgments/s, each round | median |"
    )
    print("|---:|---:|---|---:|---|---:|")
    for latency, n, to_bare, to_peer in ratios:
        each_bare = ", ".join(f"{x:.2f}" for x in to_bare)
        each_peer = ", ".join(f"{x:.2f}" for x in to_peer)
        med_bare = f"{statistics.median(to_bare):.2f}x" if to_bare else ""
        med_peer = f"{statistics.median(to_peer):.2f}x" if to_peer else ""
        print(f"| {latency:g} ms | {n} | {each_bare} | {med_bare} | {each_peer} | {med_peer} |")


if __name__ == "__main__":
    main()
