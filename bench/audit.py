"""Bias and robustness audit of a judge (by default the embedded SmolLM2-135M-Instruct) on LLMBar Natural or
EvalBiasBench: every probe, before and after the mitigations asked for, with bootstrap intervals.

    .venv/bin/python bench/audit.py --data llmbar:Natural --limit 50 --mitigation swap --mitigation delimit+detector
    .venv/bin/python bench/audit.py --data evalbiasbench --probe position
    .venv/bin/python bench/audit.py --data llmbar:Natural --limit 20 --probe verbosity --rewrite-model local

The audit directory (default bench/results/audit/<data>) is resumable: run the same command again after a stop.
It holds the report (audit.json, audit.txt) and bench.txt: the table with the model and the wall time. The judge
sees one order, no ties, no rationale (the cot probe adds one: give --max-tokens enough room for it, e.g. 160 with
the embedded model, whose default answer length is 64 tokens). Data come from $JURIST_DATA_DIR, else ../shared/data
next to the project.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import time
from pathlib import Path

from jurist import BackendOptions, JobOptions, JudgeConfig
from jurist.audit import AuditOptions, aaudit, render_report
from jurist.data.benchmarks import DATA_DIR_ENV, load_benchmark

ROOT = Path(__file__).resolve().parents[1]


async def main(args: argparse.Namespace) -> None:
    data_dir = os.environ.get(DATA_DIR_ENV) or str(ROOT.parent / "shared" / "data")
    data = load_benchmark(args.data, data_dir)
    slug = re.sub(r"[^A-Za-z0-9]+", "_", args.data).strip("_")
    out = Path(args.out) if args.out else ROOT / "bench" / "results" / "audit" / slug
    config = JudgeConfig(mode="pairwise", allow_tie=False, rationale="none", max_tokens=args.max_tokens)
    settings = AuditOptions(
        probes=args.probe or None,
        mitigations=args.mitigation,
        limit=args.limit,
        n_resamples=args.bootstrap,
        answer_tokens=args.answer_tokens,
        rewrite_model=args.rewrite_model,
        rewrite_tokens=args.rewrite_tokens,
    )
    options = JobOptions(backend=BackendOptions(base_url=args.base_url), cache=not args.no_cache)
    started = time.perf_counter()
    report = await aaudit(
        data, out=out, config=config, model=args.model, audit=settings, options=options, on_progress=print
    )
    wall = time.perf_counter() - started
    table = render_report(report) + f"\n\nwall time {wall:.1f} s ({args.model})\n"
    print(table)
    (out / "bench.txt").write_text(table, encoding="utf-8")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", default="llmbar:Natural", help="a benchmark spec, e.g. llmbar:Natural, evalbiasbench")
    parser.add_argument("--model", default="local", help="the judge: local, gguf:PATH, openai:MODEL, ...")
    parser.add_argument("--base-url", help="server URL for openai:MODEL")
    parser.add_argument("--limit", type=int, default=50, help="audit the first N items")
    parser.add_argument("--probe", action="append", default=[], help="a probe (repeatable; default all but self_pref.)")
    parser.add_argument("--mitigation", action="append", default=[], help="a mitigation, or several joined by +")
    parser.add_argument("--max-tokens", type=int, help="the judge's answer length (default: the backend's)")
    parser.add_argument("--answer-tokens", type=int, default=128, help="length of the model's own answers")
    parser.add_argument("--rewrite-model", help="a model that writes the rewritable probes' perturbations")
    parser.add_argument("--rewrite-tokens", type=int, default=768, help="length of the rewrites")
    parser.add_argument("--bootstrap", type=int, default=1000, help="bootstrap resamples")
    parser.add_argument("--out", help="audit directory (default bench/results/audit/<data>)")
    parser.add_argument("--no-cache", action="store_true", help="do not use the response cache")
    asyncio.run(main(parser.parse_args()))
