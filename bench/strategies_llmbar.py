"""Judging strategies with the embedded model (SmolLM2-135M-Instruct) on LLMBar: accuracy, position consistency,
calls and tokens per item, for the plain judge and each strategy that applies.

    .venv/bin/python bench/strategies_llmbar.py --set Natural --limit 50

Accuracy counts a tie or a flagged pair as wrong (LLMBar has no ties). "plain" is one order, no swap; every
other row swaps (both orders, reconciled by averaged probabilities) unless it says otherwise. The few-shot pool is
the same LLMBar set, the item itself excluded. This machine has no model stronger than the embedded one, so the
cascade row escalates from the cheapest judge (one order) to the most expensive strategy on the same model
(self-reference, both orders) when the cheap verdict's probability is below 0.6: it measures the mechanics (share
escalated, calls saved), not the gain a stronger model would bring.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

# The LLMBar paths and column mapping are the embedded benchmark's (same folder).
from embedded import FIELDS, dataset_path
from jurist import JobOptions, JudgeConfig, Preference, Usage, ajudge, load_items, make_backend, make_judge
from jurist.backends import Backend
from jurist.demos import DemoConfig
from jurist.judges.base import Judge
from jurist.strategies import Cascade, GeneratedMetrics, Jury, SelfConsistency, SelfReference
from jurist.strategies.cascade import cascade_report


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
        "cascade (one order -> self-reference if P < 0.6)": lambda b: Cascade(
            make_judge(b, JudgeConfig(**{**base, "swap": False})),  # type: ignore[arg-type]
            SelfReference(make_judge(b, JudgeConfig(**base)), max_tokens=128),  # type: ignore[arg-type]
            escalate_when=["error", "low_confidence"],
            threshold=0.6,
        ),
    }


# Our rows and the LLMBar paper's strategy names (its Acc averages both orders; Agr is position agreement).
PAPER_STRATEGIES = {
    "plain / swap": "Vanilla_NoRules",
    "rules": "Vanilla",
    "few-shot (2)": "Vanilla_2shot",
    "CoT": "CoT",
    "self-reference": "Reference",
    "metrics": "Metrics",
    "metrics + reference": "Metrics_Reference",
    "swap": "Swap",
}
PAPER_MODELS = ("GPT-4", "ChatGPT", "LLaMA2", "Falcon")


def paper_table(subset: str) -> None:
    """The paper's own figures for the same set, from ../shared/data/llmbar/statistics_summary.csv."""
    rows: dict[tuple[str, str], tuple[float, float]] = {}
    with open(Path(dataset_path("Natural")).parents[2] / "statistics_summary.csv") as f:
        for row in csv.DictReader(f):
            if row["subset"] == f"LLMBar/{subset}":
                rows[row["base_llm"], row["strategy"]] = float(row["acc_avg"]), float(row["agreement"])
    print(f"\nLLMBar paper, {subset}: Acc / Agr (%)\n")
    print("| strategy (paper's name) | " + " | ".join(PAPER_MODELS) + " |")
    print("|---|" + "---:|" * len(PAPER_MODELS))
    for ours, theirs in PAPER_STRATEGIES.items():
        cells = [
            f"{rows[m, theirs][0]:.1f} / {rows[m, theirs][1]:.0f}" if (m, theirs) in rows else "-" for m in PAPER_MODELS
        ]
        print(f"| {ours} ({theirs}) | " + " | ".join(cells) + " |")


async def run(args: argparse.Namespace) -> None:
    if args.paper:
        paper_table(args.set if args.set == "Natural" else f"Adversarial/{args.set}")
        return
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
            correct = sum(v.decision() == v.label for v in verdicts)
            swapped = [c for v in verdicts if (c := v.outcome_as(Preference).consistent) is not None]
            consistency = f"{sum(swapped) / len(swapped):.1%}" if swapped else "-"
            spent = Usage.total(v.usage for v in verdicts)
            prompt, computed = spent.prompt_tokens / n, (spent.prompt_tokens - spent.cached_tokens) / n
            print(
                f"| {name} | {correct / n:.1%} | {consistency} | {spent.calls / n:.1f} | "
                f"{prompt:.0f} ({computed:.0f}) | {spent.completion_tokens / n:.0f} | "
                f"{n / wall * 60:.1f} |",
                flush=True,
            )
            if name.startswith("cascade"):
                report = cascade_report(verdicts)
                print(f"<!-- cascade: {report} -->", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--set", default="Natural")
    parser.add_argument("--limit", type=int, default=50)
    parser.add_argument("--only", help="run only strategies whose name contains this text")
    parser.add_argument("--paper", action="store_true", help="print the paper's figures for the set and stop")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
