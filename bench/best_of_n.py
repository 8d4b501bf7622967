"""Best-of-N selection on AlpacaEval 2.0's real outputs, and the reward's preference accuracy on human-labelled pairs.

1. Best of N. For each instruction the candidates are the outputs of N systems (`--systems`, any annotated in
   ../shared/data/alpaca_eval); a selector picks one, and its quality is the mean GPT-4-turbo win (against the
   same baseline, gpt4_1106_preview) of the outputs it picks, from the recorded annotations (preference - 1, a draw
   1/2). Reference points on every instruction and on the judged subset: a random pick (its expected value), the
   oracle, the longest output. jurist with the embedded judge on a seeded subset of instructions (`--instructions`),
   each instruction's candidates shuffled (seeded) so that neither a tie-break by index nor the knockout bracket
   favours a system: reward mode score (each candidate scored pointwise, expected score from logprobs) and
   tournament (knockout, one order per comparison: close matches are asked again in the other order). Bootstrap
   95% intervals over instructions (1000 resamples), calls per instruction, failures counted.
2. Preference accuracy of the reward on human-labelled pairs: a seeded sample of LLMBar Natural and of PandaLM's
   pairs with a majority that is not a tie (`--pairs` each). The reward (score mode) prefers the response with the
   higher reward; next to it, jurist's pairwise judge (both orders) on the same pairs. A tie or a failure counts as
   half right (a coin flip), and is counted.

Run (in the background, the embedded model is slow; about 20 minutes with the defaults):
    .venv/bin/python bench/best_of_n.py --out /tmp/best_of_n > /tmp/best_of_n.log 2>&1 &
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

import jurist
from jurist import BackendOptions, JobOptions, JudgeConfig, RunOptions
from jurist.alignment.selection import longest_picks, oracle_quality, pick_quality, random_pick_quality
from jurist.data.benchmarks import load_alpaca_eval_candidates, load_llmbar, load_pandalm
from jurist.stats.bootstrap import bootstrap_ci
from jurist.types import Item

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
DEFAULT_SYSTEMS = "alpaca-7b,gpt-3.5-turbo-1106_concise,gpt-3.5-turbo-1106,claude-2.1"


def ci(values: list[float]) -> str:
    estimate = bootstrap_ci(lambda x: float(np.mean(x)), values, n_resamples=1000, seed=0)
    return f"{estimate.value:.3f} [{estimate.low:.3f}, {estimate.high:.3f}]"


def shuffled(items: list[Item], seed: int) -> list[Item]:
    """Each item's candidates (and their recorded wins and systems) in a seeded random order."""
    rng = random.Random(seed)
    out = []
    for item in items:
        order = list(range(len(item.responses or [])))
        rng.shuffle(order)
        meta = dict(item.metadata)
        meta["wins"] = [item.metadata["wins"][k] for k in order]
        meta["systems"] = [item.metadata["systems"][k] for k in order]
        out.append(item.model_copy(update={"responses": [(item.responses or [])[k] for k in order], "metadata": meta}))
    return out


def best_of_n(args: argparse.Namespace, options: JobOptions, config: dict[str, Any]) -> None:
    systems = args.systems.split(",")
    loaded = load_alpaca_eval_candidates(systems, root=DATA / "alpaca_eval")
    every = loaded.items
    print(f"## Best of {len(systems)} on AlpacaEval 2.0: {', '.join(systems)}")
    for warning in loaded.warnings:
        print(f"note: {warning}")
    subset = shuffled(random.Random(args.seed).sample(every, args.instructions), args.seed)
    print(f"{len(every)} instructions; jurist on a seeded subset of {len(subset)} (seed {args.seed})\n")
    print("| selector | instructions | mean GPT-4-turbo win of the picks [95% CI] | calls per instruction | failed |")
    print("|---|---:|---:|---:|---:|")
    for name, items in (("all", every), ("subset", subset)):
        wins = [it.metadata["wins"] for it in items]
        per_random = [sum(w) / len(w) for w in wins]
        per_oracle = [max(w) for w in wins]
        longest = longest_picks([it.responses or [] for it in items])
        per_longest = [w[k] for w, k in zip(wins, longest, strict=True)]
        assert abs(statistics.mean(per_random) - random_pick_quality(wins)) < 1e-12
        assert abs(statistics.mean(per_oracle) - oracle_quality(wins)) < 1e-12
        assert abs(statistics.mean(per_longest) - pick_quality(wins, longest)) < 1e-12
        n = len(items)
        print(f"| random pick (expected), {name} | {n} | {ci(per_random)} | 0 | 0 |")
        print(f"| oracle, {name} | {n} | {ci(per_oracle)} | 0 | 0 |")
        print(f"| longest output, {name} | {n} | {ci(per_longest)} | 0 | 0 |")
        for system in systems:
            per_system = [it.metadata["wins"][it.metadata["systems"].index(system)] for it in items]
            print(f"| always {system}, {name} | {n} | {ci(per_system)} | 0 | 0 |")
    score_picks = jurist_picks(args, subset, "score", options, config)
    few = subset[: args.tournament_instructions or len(subset)]
    if len(few) < len(subset):
        print(f"\nThe tournament on the first {len(few)} instructions of the subset, with the others on the same:\n")
        print(
            "| selector | instructions | mean GPT-4-turbo win of the picks [95% CI] | calls per instruction | failed |"
        )
        print("|---|---:|---:|---:|---:|")
        wins = [it.metadata["wins"] for it in few]
        longest = longest_picks([it.responses or [] for it in few])
        print(f"| random pick (expected) | {len(few)} | {ci([sum(w) / len(w) for w in wins])} | 0 | 0 |")
        print(f"| oracle | {len(few)} | {ci([max(w) for w in wins])} | 0 | 0 |")
        print(f"| longest output | {len(few)} | {ci([w[k] for w, k in zip(wins, longest, strict=True)])} | 0 | 0 |")
        print(f"| jurist score | {len(few)} | {ci(score_picks[: len(few)])} | (above) | (above) |")
    jurist_picks(args, few, "tournament", options, config)


def jurist_picks(
    args: argparse.Namespace, items: list[Item], mode: str, options: JobOptions, config: dict[str, Any]
) -> list[float]:
    """Run jurist's reward in `mode` on `items`, print its row, and return the recorded win of each pick."""
    started = time.perf_counter()
    judge_mode = "pointwise" if mode == "score" else "pairwise"
    # the tournament asks one order per comparison: knockout asks a close match again in the other order
    extra: dict[str, Any] = {} if mode == "score" else {"rank_by": "knockout"}
    swap = {} if mode == "score" else {"swap": False}
    result = jurist.reward(
        items,
        out=Path(args.out) / f"bon_{mode}",
        mode=mode,  # type: ignore[arg-type]
        config=JudgeConfig(mode=judge_mode, **config, **swap),
        model=args.model,
        options=options,
        **extra,
    )
    picks = result.best()
    per_pick = []
    unpicked = 0
    for item in items:
        if item.id in picks:
            per_pick.append(item.metadata["wins"][picks[item.id]])
        else:  # every candidate failed: a random pick's expected value, counted
            unpicked += 1
            per_pick.append(sum(item.metadata["wins"]) / len(item.metadata["wins"]))
    wall = time.perf_counter() - started
    print(
        f"| jurist {mode}{' (knockout, one order)' if mode == 'tournament' else ''} | {len(items)} | "
        f"{ci(per_pick)} | {result.calls_per_item:.2f} | {result.failed} candidates, {unpicked} instructions |"
    )
    chosen = [it.metadata["systems"][picks[it.id]] for it in items if it.id in picks]
    systems = items[0].metadata["systems"] if items else []
    share = ", ".join(f"{s} {chosen.count(s)}" for s in sorted(set(systems)))
    print(f"<!-- {mode}: {wall / 60:.1f} min; picks by system: {share} -->", flush=True)
    return per_pick


def preference_accuracy(args: argparse.Namespace, options: JobOptions, config: dict[str, Any]) -> None:
    print("\n## Preference accuracy on human-labelled pairs (seed", args.seed, ")\n")
    print(
        "| set | pairs | reward (score mode) accuracy [95% CI] | reward ties / failed | pairwise judge accuracy "
        "[95% CI] | judge ties / failed | calls per pair: reward, judge |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|")
    sets = {
        "LLMBar Natural": load_llmbar("Natural", root=DATA / "llmbar").items,
        "PandaLM (majority not a tie)": [
            it for it in load_pandalm(root=DATA / "pandalm_testset").items if it.label in ("A", "B")
        ],
    }
    for name, items in sets.items():
        sample = random.Random(args.seed).sample(items, args.pairs)
        tag = name.split()[0].lower()
        started = time.perf_counter()
        as_candidates = [
            {"id": it.id, "prompt": it.prompt, "responses": [it.response_a, it.response_b]} for it in sample
        ]
        rewarded = jurist.reward(
            as_candidates,
            out=Path(args.out) / f"pairs_reward_{tag}",
            config=JudgeConfig(mode="pointwise", **config),
            model=args.model,
            options=options,
        )
        by_id: dict[str, list[float | None]] = {}
        for row in rewarded.rows:
            by_id.setdefault(row.id, [None, None])[row.candidate] = row.reward
        reward_right, reward_odd = [], 0
        for it in sample:
            a, b = by_id[it.id]
            if a is None or b is None or a == b:
                reward_odd += 1
                reward_right.append(0.5)
            else:
                reward_right.append(float(("A" if a > b else "B") == it.label))
        judged = jurist.judge(
            sample,
            out=Path(args.out) / f"pairs_judge_{tag}",
            config=JudgeConfig(mode="pairwise", **config),
            model=args.model,
            options=options,
        )
        verdicts = {v.id: v for v in judged.verdicts()}
        judge_right, judge_odd, judge_calls = [], 0, 0
        for it in sample:
            v = verdicts.get(it.id)
            decision = v.decision() if v is not None else None
            judge_calls += v.usage.calls if v is not None else 0
            if decision not in ("A", "B"):
                judge_odd += 1
                judge_right.append(0.5)
            else:
                judge_right.append(float(decision == it.label))
        wall = time.perf_counter() - started
        print(
            f"| {name} | {len(sample)} | {ci(reward_right)} | {reward_odd} | {ci(judge_right)} | {judge_odd} | "
            f"{rewarded.calls / len(sample):.1f}, {judge_calls / len(sample):.1f} |"
        )
        print(f"<!-- {name}: {wall / 60:.1f} min; reward failed candidates {rewarded.failed} -->", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--systems", default=DEFAULT_SYSTEMS, help="comma-separated AlpacaEval systems")
    parser.add_argument("--instructions", type=int, default=30, help="instructions judged by jurist")
    parser.add_argument(
        "--tournament-instructions", type=int, default=None, help="the tournament on the first N of the subset"
    )
    parser.add_argument("--pairs", type=int, default=40, help="pairs of LLMBar Natural and of PandaLM, each")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--model", default="local")
    parser.add_argument("--out", default="/tmp/best_of_n", help="where the run directories go (resumable)")
    parser.add_argument("--part", choices=["all", "best_of_n", "pairs"], default="all")
    parser.add_argument(
        "--fake", action="store_true", help="a dry run against jurist's fake OpenAI server (checks the script only)"
    )
    args = parser.parse_args()
    if not (DATA / "alpaca_eval").exists():
        sys.exit(f"no AlpacaEval data at {DATA / 'alpaca_eval'}")
    options = JobOptions(run=RunOptions(concurrency=1 if args.model == "local" else None))
    if args.fake:
        from jurist.testing import FakeOpenAIServer

        server = FakeOpenAIServer()
        server.start()
        args.model = "openai:fake"
        options = JobOptions(backend=BackendOptions(base_url=server.url), cache=False)
    config: dict[str, Any] = {"rationale": "none"}
    started = time.perf_counter()
    if args.part in ("all", "best_of_n"):
        best_of_n(args, options, config)
    if args.part in ("all", "pairs"):
        preference_accuracy(args, options, config)
    print(f"\n<!-- total {(time.perf_counter() - started) / 60:.1f} min with model {args.model} -->")


if __name__ == "__main__":
    main()
