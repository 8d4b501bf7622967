"""`jurist align` with the embedded judge (SmolLM2-135M-Instruct, pairwise, verdicts from token probabilities):
does searching the prompt space on a few labelled items raise agreement on held-out items?

    flock /tmp/embedded.lock .venv/bin/python bench/align.py --part llmbar     # 160 calls + 80 for the run
    flock /tmp/embedded.lock .venv/bin/python bench/align.py --part pandalm    # the same; each about 8 minutes

(8 minutes each with other work on the machine's two cores: about 20 model calls a minute.)

llmbar: the first --per-set pairs of LLMBar Natural and of Neighbor, pooled; pandalm: the first --limit items of
the PandaLM test set (label = the three annotators' majority). Each part judges its items into
bench/results/align/<part>/run (the run's own judge: the template's instruction, no rubric, no rules, no demos; both
orders, rationale none), then aligns on that run with `--splits` (stratified by label; the test split is never seen
by the search), one pass over the components (--rounds 1) and a budget of model calls. It prints the align table.
Re-running is free: every answer is in the response cache.
"""

from __future__ import annotations

import argparse
import asyncio
import os
from pathlib import Path

from jurist import JobOptions, JudgeConfig, ajudge
from jurist.align import AlignOptions, aalign
from jurist.data.benchmarks import load_llmbar, load_pandalm
from jurist.data.load import LoadedData

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "results" / "align"


def data(part: str, per_set: int, limit: int) -> tuple[LoadedData, JudgeConfig]:
    if part == "llmbar":
        sets = [load_llmbar(name) for name in ("Natural", "Neighbor")]
        items = [it for one in sets for it in one.items[:per_set]]
        return LoadedData(path="LLMBar Natural + Neighbor", items=items), JudgeConfig(
            mode="pairwise", rationale="none", allow_tie=False
        )
    pandalm = load_pandalm()
    pandalm.items = pandalm.items[:limit]
    return pandalm, JudgeConfig(mode="pairwise", rationale="none")


async def run(args: argparse.Namespace) -> None:
    loaded, config = data(args.part, args.per_set, args.limit)
    out = args.out or OUT / args.part
    # the run's own judge: its verdicts are cached, so the search's first evaluations cost nothing
    await ajudge(loaded, out=out / "run", config=config, model="local")
    options = AlignOptions(
        seed=args.seed, budget=args.budget, splits=tuple(map(float, args.splits.split(","))), rounds=args.rounds
    )
    report = await aalign(out / "run", out / "aligned", model="local", options=options, job=JobOptions(), on_step=print)
    print()
    print(report.render())


def main() -> None:
    os.environ.setdefault("JURIST_DATA_DIR", str(ROOT.parent / "shared" / "data"))
    parser = argparse.ArgumentParser()
    parser.add_argument("--part", choices=["llmbar", "pandalm"], required=True)
    parser.add_argument("--per-set", type=int, default=20, help="llmbar: pairs from each of Natural and Neighbor")
    parser.add_argument("--limit", type=int, default=40, help="pandalm: items")
    parser.add_argument("--splits", default="0.25,0.25,0.5", help="train,dev,test fractions")
    parser.add_argument("--budget", type=int, default=160, help="model calls at most (search and test)")
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--out", type=Path, help="folder of the run and the aligned judge (default bench/results/align/PART)"
    )
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
