"""Judging strategies with the embedded model (SmolLM2-135M-Instruct) on LLMBar: accuracy, position consistency,
calls and tokens per item, for the plain judge and each strategy that applies.

    .venv/bin/python bench/strategies_llmbar.py --set Natural --limit 50

Accuracy counts a tie or a flagged pair as wrong (LLMBar has no ties). "plain" is one order, no swap; every
other row swaps (both orders, reconciled by averaged probabilities) unless it says otherwise. The few-shot pool is
the same LLMBar set, the item itself excluded. A cascade needs a stronger model than the embedded one, which this
machine does not have, so it is not in the table.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

# The LLMBar paths and column mapping are the embedded benchmark's (same folder).
from embedded import FIELDS, dataset_path
from jurist import JobOptions, JudgeConfig, ajudge, load_items, make_backend, make_judge
from jurist.backends import Backend
from jurist.demos import DemoConfig
from jurist.judges.base import Judge
from jurist.strategies import GeneratedMetrics, Jury, SelfConsistency, SelfReference


def strategies(pool: str) -> dict[str, Callable[[Backend], Judge]]:
    base = {"mode": "pairwise", "rationale": "none", "allow_tie": False}

    def plain(**extra: object) -> Callable[[Backend], Judge]:
        return lambda b: make_judge(b, JudgeConfig(**{**base, **extra}))  # type: ignore[arg-type]

    return {
        "plain (one order)": plain(swap=False),
        "swap": plain(),
        "rules (instruction_first)": plain(rules="instruction_first"),
        "few-shot (2, BM25)": plain(demos=DemoConfig(pool=pool, k=2, select="bm25")),
        "CoT (rationale before, 64 tokens)": plain(rationale="before", max_tokens=64),
        "self-reference": lambda b: SelfReference(make_judge(b, JudgeConfig(**base)), max_tokens=128),  # type: ignore[arg-type]
        "metrics (3 generated questions)": lambda b: GeneratedMetrics(
            make_judge(b, JudgeConfig(**base)),
            n=3,
            max_tokens=96,  # type: ignore[arg-type]
        ),
        "self-consistency (k=3, T=0.7)": lambda b: SelfConsistency(
            make_judge(b, JudgeConfig(**{**base, "temperature": 0.7})),
            k=3,  # type: ignore[arg-type]
        ),
        "jury of prompts (3 rubrics)": lambda b: Jury(
            [
                make_judge(b, JudgeConfig(**{**base, "rubric": r}))  # type: ignore[arg-type]
                for r in ("helpfulness", "instruction_following", "honesty")
            ]
        ),
    }


async def run(args: argparse.Namespace) -> None:
    path = dataset_path(args.set)
    data = load_items(path, "pairwise", FIELDS)
    data.items = data.items[: args.limit]
    backend = make_backend("local")
    print(f"LLMBar {args.set}, first {len(data.items)} pairs, embedded model\n")
    print(
        "| strategy | accuracy | position consistency | calls / item | prompt tokens / item (computed) | "
        "completion tokens / item | pairs / min |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|")
    # The pool is written to disk with canonical field names, since DemoConfig reads canonical fields.
    with tempfile.TemporaryDirectory() as tmp:
        pool = Path(tmp) / "pool.jsonl"
        pool.write_text(
            "".join(
                it.model_dump_json(exclude={"metadata"}) + "\n"
                for it in load_items(path, "pairwise", {**FIELDS, "label": "label"}).items
            )
        )
        for name, factory in strategies(str(pool)).items():
            if args.only and args.only not in name:
                continue
            start = time.perf_counter()
            result = await ajudge(
                data, out=Path(tmp) / name.split()[0], judge=factory(backend), options=JobOptions(cache=False)
            )
            wall = time.perf_counter() - start
            verdicts = result.verdicts()
            n = len(verdicts)
            correct = sum(v.winner == v.label for v in verdicts)
            swapped = [v for v in verdicts if v.consistent is not None]
            consistency = f"{sum(bool(v.consistent) for v in swapped) / len(swapped):.1%}" if swapped else "-"
            prompt = sum(v.usage.prompt_tokens for v in verdicts) / n
            computed = sum(v.usage.prompt_tokens - v.usage.cached_tokens for v in verdicts) / n
            print(
                f"| {name} | {correct / n:.1%} | {consistency} | {sum(v.usage.calls for v in verdicts) / n:.1f} | "
                f"{prompt:.0f} ({computed:.0f}) | {sum(v.usage.completion_tokens for v in verdicts) / n:.0f} | "
                f"{n / wall * 60:.1f} |",
                flush=True,
            )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--set", default="Natural")
    parser.add_argument("--limit", type=int, default=50)
    parser.add_argument("--only", help="run only strategies whose name contains this text")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
