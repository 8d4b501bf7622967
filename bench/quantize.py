"""Quantizations of the embedded judge (SmolLM2-135M-Instruct): prompt speed and verdict agreement with the source.

    .venv/bin/python bench/quantize.py                                   # 8 pairs of examples/pairs.jsonl
    .venv/bin/python bench/quantize.py --data llmbar:Natural --limit 100 --reps 5
    .venv/bin/python bench/quantize.py --from shipped --types q8_0,q4_k_m --limit 2 --prompt-tokens 64 --reps 1
    .venv/bin/python bench/quantize.py --adapter tuned-sft --no-timing          # the tuned judge on every format

The source is the highest precision available: the shipped Q4_1 file dequantized by transformers (once, cached by
`jurist tune train`'s hf_folder) and written as an f32 GGUF by llama.cpp's convert_hf_to_gguf.py (the converter that
`jurist tune export` fetches). The original bf16 weights are not on this machine, so "unquantized" means the shipped
file's own values; the shipped Q4_1 is one row of the table. `--from shipped` requantizes the shipped file instead
(llama.cpp's allow_requantize: quicker, no torch, but each format then carries Q4_1's rounding too).

Every format is written by `jurist.backends.quantize.quantize_gguf` (llama.cpp's quantizer). Note that SmolLM2-135M's
rows are 576 wide, not a multiple of 256: llama.cpp writes most tensors of the K-quants (q4_k_m, q5_k_m, q6_k...) as
q5_0/q8_0 instead, and says so; the file sizes show it.

Per format: the file size; prompt processing in tokens/s, with one thread and with two (the best of --reps evals of
the same --prompt-tokens prompt, a fresh KV cache each time; timing is for an idle machine); and the verdicts of
jurist's pairwise judge (built-in template, rationale none, both orders, verdicts read from token probabilities):
per order, whether the winner equals the source's, the count of orders where either failed, and the mean
|P(A) - P_source(A)| over the orders both answered.
"""

from __future__ import annotations

import argparse
import asyncio
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from jurist.backends import BackendOptions, make_backend
from jurist.backends.embedded import shipped_model_path
from jurist.backends.quantize import quantize_gguf
from jurist.data.benchmarks import load_benchmark
from jurist.data.load import load_items
from jurist.judges import JudgeConfig, make_judge
from jurist.outcomes import Preference
from jurist.tune.export import converter_dir, resolve_adapter
from jurist.tune.train import hf_folder, resolve_base
from jurist.types import Item

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_TYPES = "shipped,f16,q8_0,q6_k,q5_k_m,q5_0,q4_k_m,q4_1,q4_0"


def source_gguf(origin: str, work: Path) -> tuple[Path, bool]:
    """The source GGUF, and whether the formats must requantize it."""
    if origin == "shipped":
        return Path(shipped_model_path()), True
    target = work / "source-f32.gguf"
    if not target.is_file():
        folder = hf_folder(resolve_base(None), say=lambda line: print(line, file=sys.stderr))
        script = converter_dir() / "convert_hf_to_gguf.py"
        command = [sys.executable, str(script), str(folder), "--outfile", str(target), "--outtype", "f32"]
        subprocess.run(command, check=True, capture_output=True)
    return target, False


def formats(source: Path, requantize: bool, kinds: list[str], work: Path) -> dict[str, Path]:
    out = {}
    for kind in kinds:
        if kind == "shipped":
            out["shipped q4_1"] = Path(shipped_model_path())
            continue
        path = work / f"{'shipped-' if requantize else ''}{kind}.gguf"
        if not path.is_file():
            quantize_gguf(source, path, kind, allow_requantize=requantize)
        out[kind] = path
    return out


def prompt_speed(path: Path, threads: int, tokens: list[int], reps: int) -> float:
    from llama_cpp import Llama

    llm = Llama(model_path=str(path), n_ctx=len(tokens) + 16, n_threads=threads, n_threads_batch=threads, verbose=False)
    llm.eval(tokens[:8])  # warm-up
    best = float("inf")
    for _ in range(reps):
        llm.reset()  # the next eval computes every token again
        start = time.perf_counter()
        llm.eval(tokens)
        best = min(best, time.perf_counter() - start)
    llm.close()
    return len(tokens) / best


def prompt_tokens(path: Path, items: list[Item], count: int) -> list[int]:
    """`count` tokens of real judge prompts (the items' texts repeated as needed)."""
    from llama_cpp import Llama

    llm = Llama(model_path=str(path), vocab_only=True, verbose=False)
    text = "\n".join(f"{it.prompt}\n{it.response_a}\n{it.response_b}" for it in items)
    tokens: list[int] = []
    while len(tokens) < count:
        tokens += llm.tokenize(text.encode(), add_bos=False)
    return tokens[:count]


async def verdicts(path: Path, items: list[Item], adapter: Path | None) -> list[tuple[str | None, float | None]]:
    """(winner, P(A)) per item and order (AB then BA), in the item's terms."""
    backend = make_backend(f"gguf:{path}", BackendOptions(adapter=adapter))
    judge = make_judge(backend, JudgeConfig(mode="pairwise", rationale="none", swap=True))
    out: list[tuple[str | None, float | None]] = []
    for item in items:
        verdict = await judge(item)
        orders = verdict.outcome_as(Preference).orders or []
        for order in ("AB", "BA"):
            found = next((o for o in orders if o.order == order and o.winner is not None), None)
            out.append((found.winner, (found.probs or {}).get("A")) if found else (None, None))
    await backend.aclose()
    return out


def load(spec: str, limit: int) -> list[Item]:
    path = Path(spec)
    data = load_items(path, "pairwise") if path.exists() else load_benchmark(spec)
    return data.items[:limit]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default=str(ROOT / "examples" / "pairs.jsonl"), help="a pairs file or benchmark spec")
    parser.add_argument("--limit", type=int, default=8, help="the first N pairs (each judged in both orders)")
    parser.add_argument("--types", default=DEFAULT_TYPES, help="comma-separated; `shipped` is the shipped file")
    parser.add_argument("--from", dest="origin", choices=["dequantized", "shipped"], default="dequantized")
    parser.add_argument("--work", type=Path, default=Path.home() / ".cache" / "jurist" / "quantize")
    parser.add_argument("--prompt-tokens", type=int, default=512)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--no-timing", action="store_true", help="verdict agreement only (a busy machine)")
    parser.add_argument("--adapter", type=Path, help="judge with this LoRA adapter (a tune export) on every format")
    args = parser.parse_args()

    args.work.mkdir(parents=True, exist_ok=True)
    items = load(args.data, args.limit)
    source, requantize = source_gguf(args.origin, args.work)
    files = formats(source, requantize, args.types.split(","), args.work)
    tokens = prompt_tokens(source, items, args.prompt_tokens)
    adapter = resolve_adapter(args.adapter) if args.adapter else None
    reference = asyncio.run(verdicts(source, items, adapter))
    what = "the shipped Q4_1 (requantized)" if requantize else "f32 (the shipped Q4_1 dequantized)"
    print(f"source: {what}; {len(items)} pairs of {args.data}, both orders ({len(reference)} verdicts)")
    print(f"judge: the pairwise judge{f' with the adapter {adapter}' if adapter else ''}")
    print(f"prompt: {len(tokens)} tokens, best of {args.reps}\n")
    print("| format | MiB | prompt tok/s, 1 thread | 2 threads | same winner as the source | failed | mean abs dP(A) |")
    print("|---|---|---|---|---|---|---|")
    for name, path in files.items():
        timed = ["-", "-"] if args.no_timing else [f"{prompt_speed(path, t, tokens, args.reps):.0f}" for t in (1, 2)]
        seen = asyncio.run(verdicts(path, items, adapter))
        both = [(s, r) for s, r in zip(seen, reference, strict=True) if s[0] is not None and r[0] is not None]
        same = sum(s[0] == r[0] for s, r in both)
        deltas: list[Any] = [abs(s[1] - r[1]) for s, r in both if s[1] is not None and r[1] is not None]
        delta = f"{sum(deltas) / len(deltas):.3f}" if deltas else "-"
        print(
            f"| {name} | {path.stat().st_size / 2**20:.1f} | {timed[0]} | {timed[1]} "
            f"| {same}/{len(both)} | {len(seen) - len(both)} | {delta} |"
        )


if __name__ == "__main__":
    main()
