"""The naive baseline the embedded path is measured against (not jurist's code path).

A plain llama-cpp-python loop as a newcomer would write it: logits_all=True, library-default threads,
no prefix reuse across calls, the whole prompt recomputed for each order, asking for one letter.

    .venv/bin/python bench/embedded_naive.py --limit 100

Prints: | naive loop | pairs | pairwise judgments/min | prompt tokens per pair | prompt tokens/s | Acc | Acc per order |
"""

from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path

from llama_cpp import Llama

from jurist.backends.llama_cpp import embedded_model_path

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "llmbar" / "LLMBar"

PROMPT = (
    "Which output better follows the instruction? Answer with one letter, A or B.\n\n"
    "# Instruction\n{instruction}\n\n# Output A\n{a}\n\n# Output B\n{b}\n\nBetter output (A or B):"
)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--set", default="Natural")
    parser.add_argument("--limit", type=int, default=20)
    args = parser.parse_args()
    rows = json.loads((DATA / args.set / "dataset.json").read_text())[: args.limit]
    llm = Llama(model_path=embedded_model_path(), n_ctx=8192, logits_all=True, verbose=False)
    correct = [0, 0]
    prompt_tokens = 0
    start = time.perf_counter()
    for row in rows:
        for order in (0, 1):
            a, b = (row["output_1"], row["output_2"]) if order == 0 else (row["output_2"], row["output_1"])
            messages = [{"role": "user", "content": PROMPT.format(instruction=row["input"], a=a, b=b)}]
            llm.reset()  # no reuse of the previous prompt's cache
            out = llm.create_chat_completion(
                messages=messages, max_tokens=1, temperature=0.0, logprobs=True, top_logprobs=10
            )
            prompt_tokens += out["usage"]["prompt_tokens"]
            top = out["choices"][0]["logprobs"]["content"][0]["top_logprobs"]
            p = {"A": 0.0, "B": 0.0}
            for alt in top:
                key = alt["token"].strip().upper()
                if key in p:
                    p[key] += math.exp(alt["logprob"])
            picked = "A" if p["A"] >= p["B"] else "B"
            first_is_better = row["label"] == 1
            truth = ("A" if first_is_better else "B") if order == 0 else ("B" if first_is_better else "A")
            correct[order] += picked == truth
    wall = time.perf_counter() - start
    n = len(rows)
    print(
        f"| naive loop | {n} | {n / wall * 60:.1f} | {prompt_tokens / n:.0f} | {prompt_tokens / wall:.0f} | "
        f"{(correct[0] + correct[1]) / (2 * n):.1%} | {correct[0] / n:.1%} / {correct[1] / n:.1%} |"
    )


if __name__ == "__main__":
    main()
