"""Before and after on jurist's hot path: the same `jurist judge` workload run with each source tree in turn.

Per tree (put first on PYTHONPATH, with any folders given after it with colons, e.g. one holding a
sitecustomize.py; `src` is this checkout's): the CPU (user + sys) of `jurist --help` and of whole `jurist judge`
processes over the pointwise items of bench/throughput.py at two sizes, against the fake OpenAI-compatible server at
0 ms (its own process, not counted), concurrency 64, a fresh response cache each. From the two sizes: the marginal
cost of one judgment and the fixed cost of a run (start-up, summary). The trees take turns, --rounds times, so that
other load on the machine falls on all of them alike; each figure is the median of the rounds, with their range.

With --valgrind each process is run a second time to count the instructions it executes (valgrind's cachegrind,
--cache-sim=no, PYTHONHASHSEED=0): within about 0.3% from one run to the next, up to 3% under changing load (some
work goes by the clock: the progress bar, the cache's commits), where CPU time here spreads by half; about 30 s
per process for 200 items.

Each tree is byte-compiled first (python -m compileall), so that no tree pays for compiling its modules in every
process when PYTHONDONTWRITEBYTECODE is set.

Run: .venv/bin/python bench/peers/hot_path.py --src /tmp/before/src src [--items 200 600] [--rounds 3] [--valgrind]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # bench/ is not a package
from jurist.run.log import VERDICTS_FILE, read_verdicts  # noqa: E402
from throughput import Server, make_items  # noqa: E402

VALGRIND = ["valgrind", "--tool=cachegrind", "--cache-sim=no", "--cachegrind-out-file=/dev/null"]


def measure(cmd: list[str], src: str, env: dict[str, str], valgrind: bool) -> tuple[float, int | None]:
    """CPU seconds of the process (user + sys), and its instructions with `valgrind`; a failure is an error."""
    env = {**env, "PYTHONPATH": src, "PYTHONHASHSEED": "0"}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    proc = subprocess.run([*VALGRIND, *cmd] if valgrind else cmd, env=env, capture_output=True, text=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed (PYTHONPATH={src}):\n{proc.stderr[-2000:]}")
    found = re.search(r"I\s+refs:\s+([\d,]+)", proc.stderr)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return cpu, int(found.group(1).replace(",", "")) if found else None


def judge(src: str, data: Path, url: str, workdir: Path, valgrind: bool) -> tuple[float, int | None]:
    """CPU seconds of one `jurist judge` process over `data`, and with `valgrind` the instructions of another."""
    cpu, instructions = 0.0, None
    for counting in (False, True) if valgrind else (False,):
        out = Path(tempfile.mkdtemp(dir=workdir))
        cmd = [sys.executable, "-m", "jurist.cli", "judge", str(data), "--mode", "pointwise"]
        cmd += ["--model", "openai:fake-model", "--base-url", url, "--concurrency", "64", "--out", str(out / "run")]
        seconds, count = measure(cmd, src, {**os.environ, "JURIST_CACHE_DIR": str(out / "cache")}, counting)
        cpu, instructions = (cpu, count) if counting else (seconds, instructions)
        failed = sum(v.error is not None for v in read_verdicts(out / "run" / VERDICTS_FILE))
        shutil.rmtree(out, ignore_errors=True)
        if failed:
            raise SystemExit(f"{failed} items failed with PYTHONPATH={src}")
    return cpu, instructions


def spread(values: list[float], scale: float, unit: str, fmt: str = ".3g") -> str:
    """The median of the rounds, and their range."""
    shown = sorted(v * scale for v in values)
    return f"{statistics.median(shown):{fmt}} {unit} ({shown[0]:{fmt}} to {shown[-1]:{fmt}})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--src", nargs="+", required=True, help="source trees (folders holding `jurist`), each TREE or TREE:EXTRA:..."
    )
    parser.add_argument("--items", type=int, nargs=2, default=[200, 600], metavar=("SMALL", "LARGE"))
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--valgrind", action="store_true", help="also count instructions (slow: ~30x)")
    args = parser.parse_args()
    for given in args.src:
        tree = Path(given.split(os.pathsep)[0])
        if not (tree / "jurist" / "__init__.py").exists():
            raise SystemExit(f"{tree} holds no jurist package")
        subprocess.run(
            [sys.executable, "-m", "compileall", "-q", str(tree / "jurist")], check=True, capture_output=True
        )
    small, large = args.items
    # per tree given (the same one twice is measured twice: an A/A check of the spread): measure -> rounds' values
    seen: list[tuple[str, dict[str, list[float]]]] = [(given, {}) for given in args.src]
    server = Server(0.0)
    try:
        with tempfile.TemporaryDirectory(prefix="jurist-hot-") as tmp:
            workdir = Path(tmp)
            data = {}
            for n in (small, large):
                data[n] = workdir / f"items-{n}.jsonl"
                data[n].write_text("".join(json.dumps(it) + "\n" for it in make_items(n)))
            for _ in range(args.rounds):
                for src, runs in seen:  # the trees take turns
                    help_cmd = [sys.executable, "-m", "jurist.cli", "--help"]
                    cpu, _ = measure(help_cmd, src, dict(os.environ), False)
                    runs.setdefault("help_cpu", []).append(cpu)
                    for n in (small, large):
                        cpu, instructions = judge(src, data[n], server.url, workdir, args.valgrind)
                        runs.setdefault(f"cpu_{n}", []).append(cpu)
                        if instructions is not None:
                            runs.setdefault(f"ins_{n}", []).append(instructions)
    finally:
        server.stop()
    print(
        f"python {sys.version.split()[0]}, {os.cpu_count()} CPU cores, {args.rounds} rounds, {small} and {large} items"
    )
    print()
    header = "| tree | `jurist --help` CPU | judge CPU per judgment (marginal) | judge CPU fixed per run |"
    header += " instructions per judgment | instructions fixed per run |" if args.valgrind else ""
    print(header)
    print("|" + "---|" * header.count(" |"))
    for src, runs in seen:
        marginal = [(b - a) / (large - small) for a, b in zip(runs[f"cpu_{small}"], runs[f"cpu_{large}"], strict=True)]
        fixed = [a - m * small for a, m in zip(runs[f"cpu_{small}"], marginal, strict=True)]
        row = f"| {src} | {spread(runs['help_cpu'], 1000, 'ms')} | {spread(marginal, 1000, 'ms')} "
        row += f"| {spread(fixed, 1, 's')} |"
        if args.valgrind:
            ins_m = [(b - a) / (large - small) for a, b in zip(runs[f"ins_{small}"], runs[f"ins_{large}"], strict=True)]
            ins_f = [a - m * small for a, m in zip(runs[f"ins_{small}"], ins_m, strict=True)]
            row += f" {spread(ins_m, 1e-6, 'M', '.3f')} | {spread(ins_f, 1e-6, 'M', ',.0f')} |"
        print(row, flush=True)


if __name__ == "__main__":
    main()
