"""The embedded judge (SmolLM2-135M-Instruct via llama.cpp) on LLMBar: speed, accuracy, position consistency.

    .venv/bin/python bench/embedded.py --set Natural --limit 100 --rationale none

Runs jurist's own pairwise judge (swap on) on the LLMBar set from ../shared/data/llmbar and prints one
markdown table row. Accuracy is shown three ways: LLMBar's Acc (correctness averaged over the two orders),
the reconciled verdict with inconsistent pairs as ties (jurist's default), and with inconsistent pairs
decided by the averaged probabilities (--on-inconsistent probs).
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path

from jurist import JobOptions, JudgeConfig, Preference, Usage, ajudge, load_items, make_backend

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "llmbar" / "LLMBar"
FIELDS = {"prompt": "input", "response_a": "output_1", "response_b": "output_2"}


def dataset_path(name: str) -> Path:
    for candidate in (DATA / name, DATA / "Adversarial" / name):
        if (candidate / "dataset.json").exists():
            return candidate / "dataset.json"
    raise SystemExit(f"no LLMBar set {name} under {DATA}")


async def run(args: argparse.Namespace) -> None:
    data = load_items(dataset_path(args.set), "pairwise", FIELDS)
    data.items = data.items[: args.limit]
    backend = make_backend("local")
    config = JudgeConfig(mode="pairwise", rationale=args.rationale, allow_tie=False, on_inconsistent="tie")
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        result = await ajudge(data, out=tmp, config=config, model=backend, options=JobOptions(cache=False))
        wall = time.perf_counter() - start
        verdicts = result.verdicts()
    n = len(verdicts)
    per_order = [0, 0]
    consistent = tie_acc = prob_acc = 0
    spent = Usage.total(v.usage for v in verdicts)
    prompt_tokens, completion = spent.prompt_tokens, spent.completion_tokens
    for v in verdicts:
        preference = v.outcome_as(Preference)
        for i, o in enumerate(preference.orders or []):
            per_order[i] += o.winner == v.label
        consistent += bool(preference.consistent)
        tie_acc += v.decision() == v.label
        if probs := preference.probs:
            prob_acc += max(probs, key=lambda k: probs[k]) == v.label
    computed = prompt_tokens - spent.cached_tokens
    print(
        f"| jurist, rationale={args.rationale} | {n} | {n / wall * 60:.1f} | {computed / n:.0f} of "
        f"{prompt_tokens / n:.0f} | {completion / n:.0f} | {(per_order[0] + per_order[1]) / (2 * n):.1%} | "
        f"{per_order[0] / n:.1%} / {per_order[1] / n:.1%} | {consistent / n:.1%} | {tie_acc / n:.1%} | "
        f"{prob_acc / n:.1%} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--set", default="Natural", help="Natural, Neighbor, GPTInst, GPTOut or Manual")
    parser.add_argument("--limit", type=int, default=100)
    parser.add_argument("--rationale", choices=["none", "after", "before"], default="none")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
