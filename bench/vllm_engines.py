"""Local engines compared on the same model (SmolLM2-135M-Instruct) and the same LLMBar Natural pairs, both orders,
verdict only (rationale none, JSON schema, greedy): (a) llama.cpp, the embedded path; (b) vLLM in process
(`vllm:DIR`); (c) vLLM's OpenAI server through `openai:`. Judgments a minute (one judgment = one order of a pair,
one model call), prompt tokens a second, and how often the engines' verdicts agree.

Each engine runs in the environment that has it, and writes bench/results/vllm_engines/ENGINE.json; --table reads
them all and prints the table. On an idle machine (the numbers are timings):

    .venv/bin/python bench/vllm_engines.py --engine embedded --pairs 50
    VLLM_CPU_KVCACHE_SPACE=2 /work/vllm-venv/bin/python bench/vllm_engines.py --engine vllm --pairs 50
    VLLM_CPU_KVCACHE_SPACE=2 /work/vllm-venv/bin/python bench/vllm_engines.py --engine server --pairs 50
    .venv/bin/python bench/vllm_engines.py --table

--model-dir is the Hugging Face folder of the model for vLLM (made from the embedded GGUF file: the guide's "Local
models"). The response cache is off, so every judgment is computed; the model is loaded (and the server started)
before the clock starts. The server engine starts `python -m vllm.entrypoints.openai.api_server` on a free local
port and stops it at the end (or give --server-url of one already running).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

from jurist import JobOptions, JudgeConfig, ajudge
from jurist.backends.base import Backend
from jurist.backends.registry import BackendOptions, make_backend
from jurist.data.benchmarks import load_llmbar

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "results" / "vllm_engines"
ENGINES = ("embedded", "vllm", "server")
LABELS = {"embedded": "(a) llama.cpp, embedded", "vllm": "(b) vllm: in process", "server": "(c) vLLM server, openai:"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(model_dir: str) -> tuple[subprocess.Popen[bytes], str]:
    """vLLM's OpenAI server on a free port, with the in-process backend's settings (prefix caching; on the CPU build
    eager mode, float32, cache blocks of 32 tokens, and no core kept back for the scheduler)."""
    from jurist.backends.vllm import cpu_defaults

    port = _free_port()
    command = [sys.executable, "-m", "vllm.entrypoints.openai.api_server", "--model", model_dir, "--port", str(port)]
    command += ["--host", "127.0.0.1", "--max-model-len", "8192", "--enable-prefix-caching", "--max-logprobs", "20"]
    command += ["--enable-prompt-tokens-details"]  # the reply says how many prompt tokens came from the cache
    env = dict(os.environ)
    if cpu := cpu_defaults():
        command += ["--enforce-eager", "--dtype", cpu["dtype"], "--block-size", str(cpu["block_size"])]
        # the CPU build keeps a core for its scheduler: the model then ran on 1 of this machine's 2
        env.setdefault("VLLM_CPU_NUM_OF_RESERVED_CPU", "0")
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 900
    while True:
        if process.poll() is not None:
            raise SystemExit(f"the vLLM server exited with {process.returncode}: {' '.join(command)}")
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=2):
                return process, f"{url}/v1"
        except OSError:
            if time.monotonic() > deadline:
                process.kill()
                raise SystemExit("the vLLM server did not start in 15 minutes") from None
            time.sleep(2)


def build(engine: str, model_dir: str, server_url: str | None, block_size: int | None = None) -> Backend:
    if engine == "embedded":
        return make_backend("local")
    if engine == "vllm":
        if block_size is not None:  # the comparison with the CPU build's own default (128)
            from jurist.backends.vllm import VLLMBackend

            return VLLMBackend(model_dir, engine_args={"block_size": block_size})
        return make_backend(f"vllm:{model_dir}")
    os.environ.setdefault("OPENAI_API_KEY", "unused")
    return make_backend(f"openai:{model_dir}", BackendOptions(base_url=server_url, timeout=600))


async def measure(
    engine: str, pairs: int, model_dir: str, server_url: str | None, block_size: int | None = None
) -> dict[str, Any]:
    items = load_llmbar("Natural").items[:pairs]
    backend = build(engine, model_dir, server_url, block_size)  # the model is loaded here, before the clock starts
    config = JudgeConfig(mode="pairwise", rationale="none")
    out = OUT / f"{engine}-run"
    if out.exists():
        for f in sorted(out.rglob("*"), reverse=True):
            f.unlink() if f.is_file() else f.rmdir()
    start = time.perf_counter()
    result = await ajudge(items, out=out, config=config, model=backend, options=JobOptions(cache=False))
    seconds = time.perf_counter() - start
    verdicts = result.verdicts()
    winners: dict[str, str | None] = {}
    p_a: dict[str, float] = {}  # P(response A wins) per judgment, from the verdict token's logprobs
    for v in verdicts:
        for order in (v.outcome.orders or []) if v.outcome is not None else []:
            key = f"{v.id}/{order.order}"
            winners[key] = getattr(order, "winner", None)
            if order.probs:
                p_a[key] = order.probs.get("A", 0.0)
    judgments = sum(1 for w in winners.values() if w is not None)
    failed = 2 * len(items) - judgments
    prompt_tokens = sum(v.usage.prompt_tokens for v in verdicts if v.usage)
    cached_tokens = sum(v.usage.cached_tokens for v in verdicts if v.usage)
    return {
        "engine": engine,
        "pairs": len(items),
        "judgments": judgments,
        "failed": failed,
        "seconds": seconds,
        "judgments_per_min": judgments / seconds * 60,
        "prompt_tokens": prompt_tokens,
        "cached_tokens": cached_tokens,
        "prompt_tokens_per_s": prompt_tokens / seconds,
        "winners": winners,
        "p_a": p_a,
        "python": sys.executable,
    }


def table() -> None:
    found = {e: json.loads((OUT / f"{e}.json").read_text()) for e in ENGINES if (OUT / f"{e}.json").is_file()}
    if not found:
        raise SystemExit(f"no results in {OUT}: run the engines first")
    print("| engine | pairs | judgments (failed) | judgments/min | prompt tokens/s | reused from the cache | vs (a) |")
    print("|---|---|---|---|---|---|---|")
    base = found.get("embedded")
    for engine, r in found.items():
        ratio = f"{r['judgments_per_min'] / base['judgments_per_min']:.1f}x" if base else "-"
        print(
            f"| {LABELS[engine]} | {r['pairs']} | {r['judgments']} ({r['failed']}) | {r['judgments_per_min']:.1f} "
            f"| {r['prompt_tokens_per_s']:.0f} | {_reused(r)} | {ratio} |"
        )
    print()
    names = list(found)
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            wa, wb = found[a]["winners"], found[b]["winners"]
            both = [k for k in wa if wa[k] is not None and wb.get(k) is not None]
            same = sum(wa[k] == wb[k] for k in both)
            left_out = len(set(wa) | set(wb)) - len(both)
            share = f"{same / len(both):.1%}" if both else "n/a"
            print(f"verdict agreement {a} vs {b}: {same}/{len(both)} = {share} ({left_out} judgments failed in either)")
            pa, pb = found[a].get("p_a", {}), found[b].get("p_a", {})
            common = [k for k in pa if k in pb]
            if common:
                gap = sum(abs(pa[k] - pb[k]) for k in common) / len(common)
                missing = len(set(pa) | set(pb) | set(wa)) - len(common)
                print(f"  mean |P(A) difference| over {len(common)} judgments: {gap:.3f} ({missing} without P)")


def _reused(result: dict[str, Any]) -> str:
    if "cached_tokens" not in result:  # written before the column
        return "-"
    return f"{result['cached_tokens'] / result['prompt_tokens']:.0%}"


def raw_prefill(model_dir: str, prompts: int = 64, words: int = 300) -> None:
    """vLLM's prompt processing alone, nothing reused: `prompts` prompts of `words` random letters in one
    `generate` call, one token each, prefix caching off; with the backend's engine settings (cpu_defaults)."""
    import random
    import string

    os.environ.setdefault("VLLM_ENABLE_V1_MULTIPROCESSING", "0")
    from vllm import LLM, SamplingParams

    from jurist.backends.vllm import cpu_defaults

    llm = LLM(model=model_dir, max_model_len=2048, enable_prefix_caching=False, seed=0, **cpu_defaults())
    rng = random.Random(1)
    texts = [" ".join(rng.choice(string.ascii_lowercase) for _ in range(words)) for _ in range(prompts)]
    one_token = SamplingParams(max_tokens=1, temperature=0)
    llm.generate(texts[:2], one_token, use_tqdm=False)  # warm-up
    start = time.perf_counter()
    outputs = llm.generate(texts, one_token, use_tqdm=False)
    seconds = time.perf_counter() - start
    tokens = sum(len(o.prompt_token_ids) for o in outputs)
    print(
        f"raw prefill: {tokens} prompt tokens in {seconds:.1f} s = {tokens / seconds:.0f} tokens/s ({prompts} prompts)"
    )


def main() -> None:
    os.environ.setdefault("JURIST_DATA_DIR", str(ROOT.parent / "shared" / "data"))
    parser = argparse.ArgumentParser()
    parser.add_argument("--engine", choices=ENGINES)
    parser.add_argument("--table", action="store_true", help="print the table of the results written so far")
    parser.add_argument("--pairs", type=int, default=50)
    parser.add_argument("--model-dir", default="/work/models/smollm2-135m-hf")
    parser.add_argument("--server-url", help="a running vLLM server's /v1 URL (else one is started)")
    parser.add_argument("--block-size", type=int, help="vllm engine: cache blocks of this many tokens (default 32)")
    parser.add_argument("--raw-prefill", action="store_true", help="vLLM's prompt tokens/s with nothing reused")
    args = parser.parse_args()
    if args.raw_prefill:
        raw_prefill(args.model_dir)
        return
    if args.table or not args.engine:
        table()
        return
    OUT.mkdir(parents=True, exist_ok=True)
    process = None
    server_url = args.server_url
    if args.engine == "server" and not server_url:
        process, server_url = start_server(args.model_dir)
    try:
        result = asyncio.run(measure(args.engine, args.pairs, args.model_dir, server_url, args.block_size))
    finally:
        if process is not None:
            process.terminate()
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
    (OUT / f"{args.engine}.json").write_text(json.dumps(result, indent=1) + "\n")
    print(
        f"{args.engine}: {result['judgments']} judgments ({result['failed']} failed) in {result['seconds']:.1f} s, "
        f"{result['judgments_per_min']:.1f}/min, {result['prompt_tokens_per_s']:.0f} prompt tokens/s"
    )


if __name__ == "__main__":
    main()
