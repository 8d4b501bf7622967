"""Comparison acceleration: how well each jurist.ranking method ranks N candidates, and at what share of the
all-pairs judge calls, against a simulated noisy judge with a known true order.

The simulated judge. Candidate of true rank r (0 = best) has strength s = -gap * r, assigned to a random index
per trial (so the index order says nothing). A call compare(i, j) returns

    P(i beats j) = logistic(s_i - s_j + bias + eps),   eps ~ Normal(0, sigma) drawn afresh for every call,

a soft probability like a judge's logprobs: `bias` is a position bias towards the response shown first, and
`sigma` makes the judge inconsistent (it can contradict itself across calls and orders, and be intransitive).
With --hard the judge returns only the winner (1 or 0). Every trial has a fixed seed.

Reported per method: mean calls and their share of the all-pairs calls (N(N-1)/2), mean Kendall tau against the
true order and against the all-pairs ranking of the same trial, and the share of trials whose top pick is the
true best (the knockout target). Targets: sort / adaptive tau >= 0.9 with at most 40% of the all-pairs calls;
knockout picks the true best in >= 90% of trials with at most 2N calls.

Run: .venv/bin/python bench/ranking_acceleration.py            (about a minute on two cores; --hard: winners only)
"""

from __future__ import annotations

import argparse
import asyncio
import math
import random
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from scipy.stats import kendalltau

from jurist.ranking import (
    Compare,
    RankResult,
    adaptive_rank,
    all_pairs_rank,
    knockout_best,
    sort_rank,
)


@dataclass(frozen=True)
class Noise:
    name: str
    sigma: float
    bias: float


def simulated_judge(strengths: list[float], noise: Noise, rng: random.Random, hard: bool) -> Compare:
    async def compare(i: int, j: int) -> float:
        logit = strengths[i] - strengths[j] + noise.bias + rng.gauss(0.0, noise.sigma)
        p = 1.0 / (1.0 + math.exp(-logit))
        return (1.0 if p > 0.5 else 0.0) if hard else p

    return compare


def tau(ranking: list[int], reference: list[int]) -> float:
    """Kendall tau between two rankings (lists of indices, best first)."""
    position = {k: r for r, k in enumerate(reference)}
    return float(kendalltau(list(range(len(ranking))), [position[k] for k in ranking]).statistic)


def run_level(n: int, trials: int, gap: float, noise: Noise, hard: bool, budget: int) -> list[str]:
    methods: dict[str, Callable[[Compare], Awaitable[RankResult]]] = {
        "all_pairs (reference)": lambda c: all_pairs_rank(n, c),
        "sort (merge sort)": lambda c: sort_rank(n, c),
        f"adaptive (budget {budget})": lambda c: adaptive_rank(n, c, budget=budget),
        "adaptive (no budget)": lambda c: adaptive_rank(n, c),
        "knockout (best of N)": lambda c: knockout_best(n, c),
    }
    stats: dict[str, dict[str, list[float]]] = {m: {"calls": [], "tau": [], "tau_ref": [], "top": []} for m in methods}
    stops: dict[str, int] = {}
    for trial in range(trials):
        layout = random.Random(1000 + trial)
        truth = list(range(n))
        layout.shuffle(truth)  # truth[r] = the index of the candidate of true rank r
        strengths = [0.0] * n
        for r, k in enumerate(truth):
            strengths[k] = -gap * r
        reference: list[int] = []
        for m_number, (name, method) in enumerate(methods.items()):
            rng = random.Random(trial * 100 + m_number)
            result = asyncio.run(method(simulated_judge(strengths, noise, rng, hard)))
            assert sorted(result.ranking) == list(range(n))
            if not reference:
                reference = result.ranking
            s = stats[name]
            s["calls"].append(result.calls)
            s["top"].append(float(result.best == truth[0]))
            if name.startswith("knockout"):
                s["tau_ref"].append(float(result.best == reference[0]))
            else:
                s["tau"].append(tau(result.ranking, truth))
                s["tau_ref"].append(tau(result.ranking, reference))
            if name == "adaptive (no budget)" and result.stop_reason:
                stops[result.stop_reason] = stops.get(result.stop_reason, 0) + 1
    all_pairs_calls = n * (n - 1) // 2
    lines = [
        f"### noise {noise.name}: sigma = {noise.sigma}, position bias = {noise.bias} (logit), gap = {gap}, "
        f"{'hard winners' if hard else 'soft probabilities'}, N = {n}, {trials} trials",
        "",
        "| method | mean calls | share of all-pairs calls | max calls | Kendall tau vs truth | "
        "agreement with all-pairs | true best picked |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name, s in stats.items():
        calls = statistics.mean(s["calls"])
        tau_truth = f"{statistics.mean(s['tau']):.3f}" if s["tau"] else "-"
        agreement = statistics.mean(s["tau_ref"])
        agree_text = f"same best {agreement:.0%}" if name.startswith("knockout") else f"tau {agreement:.3f}"
        lines.append(
            f"| {name} | {calls:.1f} | {calls / all_pairs_calls:.0%} | {max(s['calls']):.0f} | {tau_truth} | "
            f"{agree_text} | {statistics.mean(s['top']):.0%} |"
        )
    lines.append("")
    lines.append(
        "adaptive (no budget) stopped: " + ", ".join(f"{k} {v}" for k, v in sorted(stops.items())) + " (trials)"
    )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=16)
    parser.add_argument("--trials", type=int, default=200)
    parser.add_argument("--gap", type=float, default=0.5, help="true strength gap between neighbours (logit)")
    parser.add_argument("--hard", action="store_true", help="the judge returns only the winner, no probabilities")
    args = parser.parse_args()
    levels = [
        Noise("low", sigma=0.5, bias=0.1),
        Noise("moderate", sigma=1.0, bias=0.2),
        Noise("high", sigma=2.0, bias=0.5),
    ]
    budget = int(0.4 * args.n * (args.n - 1) / 2)
    start = time.perf_counter()
    print(f"command: {' '.join([sys.executable.split('/')[-1], *sys.argv])}")
    print()
    for noise in levels:
        for line in run_level(args.n, args.trials, args.gap, noise, args.hard, budget):
            print(line)
        print()
    print(f"({time.perf_counter() - start:.0f} s)")


if __name__ == "__main__":
    main()
