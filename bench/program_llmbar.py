"""The program judge on LLMBar: agreement with the gold labels and cost (calls, tokens, wall time).

    .venv/bin/python bench/program_llmbar.py --set Natural --limit 50                 # the scripted program
    .venv/bin/python bench/program_llmbar.py --set Natural --limit 50 --model openai:gpt-4o-mini

The judged pairs are the set's first `--limit`; the labelled examples the model sees (and the program is validated
on) are the `--examples` pairs after them, so no judged pair is an example. Without `--model` the "model" is the
fake backend answering with SCRIPTED below, a program written by us: that row checks the pipeline and measures the
sandbox's cost and a fixed heuristic's agreement, not what a model would write. Accuracy counts a failed item (the
program raised, broke a limit or answered off the labels) as wrong, and the failures are counted.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
from pathlib import Path

import numpy as np

# The LLMBar paths and column mapping are the embedded benchmark's (same folder).
from embedded import FIELDS, dataset_path
from jurist import FakeBackend, JobOptions, JudgeConfig, Usage, ajudge, load_items, make_backend, make_judge
from jurist.backends import Backend
from jurist.demos import DemoConfig
from jurist.stats.bootstrap import bootstrap_ci
from jurist.strategies import ProgramJudge

# prefer the response that shares more words with the instruction, then the longer one
SCRIPTED = """```python
import re

def words(text):
    return set(re.findall(r"[a-z0-9]+", (text or "").lower()))

def prefer(item):
    asked = words(item.get("prompt"))
    a, b = item.get("response_a", ""), item.get("response_b", "")
    overlap_a, overlap_b = len(asked & words(a)), len(asked & words(b))
    if overlap_a != overlap_b:
        return "A" if overlap_a > overlap_b else "B"
    return "A" if len(a) >= len(b) else "B"
```"""


async def run(args: argparse.Namespace) -> None:
    data = load_items(dataset_path(args.set), "pairwise", FIELDS)
    judged, pool = data.items[: args.limit], data.items[args.limit : args.limit + args.examples]
    backend: Backend = FakeBackend(SCRIPTED) if args.model is None else make_backend(args.model)
    with tempfile.TemporaryDirectory() as tmp:
        pool_path = Path(tmp) / "examples.jsonl"
        pool_path.write_text("".join(json.dumps(item.model_dump(exclude_none=True)) + "\n" for item in pool))
        config = JudgeConfig(mode="pairwise", allow_tie=False, demos=DemoConfig(pool=str(pool_path), k=1))
        data.items = judged
        start = time.perf_counter()
        result = await ajudge(
            data,
            out=Path(tmp) / "run",
            model=backend,
            judge=lambda b: ProgramJudge(make_judge(b, config), examples=args.examples),
            options=JobOptions(cache=False),
        )
        wall = time.perf_counter() - start
        verdicts = result.verdicts()
    correct = np.array([v.decision() == v.label for v in verdicts], dtype=float)
    failed = sum(v.error is not None for v in verdicts)
    estimate = bootstrap_ci(lambda c: float(np.mean(c)), correct)
    spent = Usage.total(v.usage for v in verdicts)
    program = next(v.strategy["program"] for v in verdicts if v.strategy)
    check = program["validation"]
    who = "scripted program (fake backend)" if args.model is None else f"program by {args.model}"
    print(
        f"| {who} | {len(verdicts)} | {estimate.format(3)} | {failed} | {check['correct']}/{check['examples']} "
        f"({check['failed']} failed) | {spent.calls} | {spent.prompt_tokens} / {spent.completion_tokens} | "
        f"{wall:.1f} s |"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--set", default="Natural", help="Natural, Neighbor, GPTInst, GPTOut or Manual")
    parser.add_argument("--limit", type=int, default=50)
    parser.add_argument("--examples", type=int, default=8)
    parser.add_argument("--model", default=None, help="a model spec; default: the scripted program")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
