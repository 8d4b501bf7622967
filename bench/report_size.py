"""How big `jurist report` makes a run's report, and how long it takes, on real texts: runs built with
`jurist import` from published judges' recorded decisions (no model is called).

    .venv/bin/python bench/report_size.py      # about a minute

1. PandaLM's test set, 999 pairs with PandaLM-7B's recorded predictions (short instructions and answers).
2. AlpacaEval 2.0, 805 instructions, GPT-4-turbo's annotations of claude-2.1 against the baseline (long answers:
   2,049 characters (the baseline's) and 1,097 (claude-2.1's) on average).
Every `jurist` command is run as a process and printed above its figures; the report is written in this process
(the same call that `jurist report` makes), so that its time is the report's alone.
"""

from __future__ import annotations

import gzip
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from jurist.report import ITEM_TEXT_LIMIT, write_report

PROJECT = Path(__file__).resolve().parents[1]
DATA = PROJECT.parent / "shared" / "data"
JURIST = str(Path(sys.executable).with_name("jurist"))

RUNS = {
    "pandalm": [
        "import", "pandalm", "--format", "pandalm",
        "--decisions", str(DATA / "pandalm_testset" / "pandalm-7b-testset-v1.json"),
    ],
    "alpaca": [
        "import", "alpaca_eval:claude-2.1", "--format", "alpaca_eval",
        "--decisions", str(DATA / "alpaca_eval" / "annotations" / "claude-2.1.json"),
    ],
}  # fmt: skip


def jurist(*args: str | Path) -> None:
    print("    jurist " + " ".join(str(a) for a in args))
    done = subprocess.run(
        [JURIST, *map(str, args)], capture_output=True, text=True, env={**os.environ, "JURIST_DATA_DIR": str(DATA)}
    )
    if done.returncode != 0:
        sys.exit(f"failed ({done.returncode}): {done.stderr.strip()}")


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        for name, command in RUNS.items():
            run, html = Path(tmp) / name, Path(tmp) / f"{name}.html"
            jurist(*command, "--out", run)
            for limit in (ITEM_TEXT_LIMIT, 1000):
                option = "" if limit == ITEM_TEXT_LIMIT else f" --max-text-chars {limit}"
                print(f"    write_report([RUN], FILE, text_limit={limit})  (= jurist report RUN --out FILE{option})")
                started = time.perf_counter()
                write_report([run], html, text_limit=limit, force=True)
                seconds = time.perf_counter() - started
                data = html.read_bytes()
                items = data.count(b'{"id":')
                verdicts = (run / "verdicts.jsonl").stat().st_size
                print(
                    f"{name}: {items} items, report {len(data) / 1e6:.2f} MB "
                    f"({len(gzip.compress(data)) / 1e6:.2f} MB gzipped), verdicts.jsonl {verdicts / 1e6:.2f} MB, "
                    f"{seconds:.1f} s"
                )


if __name__ == "__main__":
    main()
