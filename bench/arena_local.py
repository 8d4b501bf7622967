"""A small real arena on this machine: the embedded model (SmolLM2-135M-Instruct) answers the bundled example's
eight prompts in three ways (three "systems"), then judges every pair of answers itself.

    .venv/bin/python bench/arena_local.py --out runs/arena-local

The systems: `plain` (a neutral system prompt, greedy), `brief` (asked for one short sentence, greedy) and `warm`
(asked for a friendly, detailed answer, sampled at temperature 0.9). The gaming checks add `null-model` (one
refusal for every prompt) and `brief-verbose` (brief's answers padded with sentences that say nothing). Answers
are written to OUT/answers/NAME.jsonl and reused when the script runs again; the judging resumes from
OUT/battles-run. The same arena from the command line, once the answers exist:

    jurist arena --system plain=OUT/answers/plain.jsonl --system brief=OUT/answers/brief.jsonl \\
        --system warm=OUT/answers/warm.jsonl --null-model --verbose-variant brief --out OUT

About 24 generations and 2 x 80 judge calls (5 systems, all pairs, 8 prompts, both orders). A 135M-parameter
judge is a weak one: read the numbers as a check of the machinery, not of the systems.
"""

from __future__ import annotations

import argparse
import asyncio
import json
from pathlib import Path

from rich.console import Console

from jurist import GenerateRequest, JobOptions, JudgeConfig, make_backend
from jurist.backends import Backend
from jurist.backends.base import Message
from jurist.leaderboard.arena import (
    ArenaOptions,
    arun_arena,
    load_systems,
    render_arena,
    with_null_model,
    with_verbose_variant,
)

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "arena" / "careful.jsonl"
# name -> (system prompt, temperature)
STYLES: dict[str, tuple[str, float]] = {
    "plain": ("You are a helpful assistant.", 0.0),
    "brief": ("You are a helpful assistant. Answer in one short sentence.", 0.0),
    "warm": ("You are a friendly assistant. Give a warm, detailed answer.", 0.9),
}


async def answer_all(backend: Backend, prompts: dict[str, str], folder: Path, max_tokens: int) -> list[Path]:
    """One answer file per style; a file that already exists is kept (so a second run costs no generation)."""
    folder.mkdir(parents=True, exist_ok=True)
    files = []
    for name, (system, temperature) in STYLES.items():
        path = folder / f"{name}.jsonl"
        files.append(path)
        if path.exists():
            continue
        rows = []
        for prompt_id, prompt in prompts.items():
            request = GenerateRequest(
                messages=(Message(role="system", content=system), Message(role="user", content=prompt)),
                max_tokens=max_tokens,
                temperature=temperature,
                seed=0,
            )
            response = await backend.generate(request)
            rows.append({"id": prompt_id, "prompt": prompt, "output": response.text.strip()})
        path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return files


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path("runs/arena-local"))
    parser.add_argument("--answer-tokens", type=int, default=96, help="longest answer a system may write")
    parser.add_argument("--bootstrap", type=int, default=200)
    args = parser.parse_args()

    prompts = {row["id"]: row["prompt"] for row in map(json.loads, EXAMPLE.read_text().splitlines())}
    backend = make_backend("local")  # loaded once: it answers, then judges
    files = await answer_all(backend, prompts, args.out / "answers", args.answer_tokens)
    data = load_systems([(path.stem, path) for path in files])
    data = with_null_model(with_verbose_variant(data, "brief"))
    report = await arun_arena(
        data,
        out=args.out,
        arena=ArenaOptions(schedule="all-pairs", n_bootstrap=args.bootstrap),
        config=JudgeConfig(mode="pairwise", rationale="none"),
        model=backend,
        options=JobOptions(cache=False),
        on_start=lambda total, done: print(f"judging {total} battles ({done} already judged)", flush=True),
    )
    console = Console(width=150)
    for warning in report.warnings:
        console.print(f"warning: {warning}")
    console.print(render_arena(report))
    written = "answers/, battles-run/, leaderboard.csv, battles.jsonl, win_matrix.csv, arena.json"
    print(f"\nwritten to {args.out}: {written}")


if __name__ == "__main__":
    asyncio.run(main())
