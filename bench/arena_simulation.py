"""Arena simulation: does jurist.leaderboard's Bradley-Terry recover known strengths, are its intervals honest, and
does adaptive scheduling reach the all-pairs ranking with fewer battles?

The simulated arena. 8 systems with known Elo scores and uneven gaps (CLOSE and WIDE below). A battle between A and
B ends by the Davidson model with tie parameter nu = 0.4: P(A) ∝ exp((beta_A - beta_B) / 2),
P(B) ∝ exp((beta_B - beta_A) / 2), P(tie) ∝ nu, with beta = Elo / (400 / ln 10), drawn independently per battle
(no position bias); about 16% of battles between close systems are ties. Every run has a fixed seed.

(a) Order recovery (CLOSE): all-pairs battles on 30 prompts (840 battles); Kendall tau of the fitted ranking against
    the true order, and the share of runs with the order exactly right, for each tie model.
(b) Interval coverage (CLOSE): over repeated runs, the share of systems whose true score (mean-anchored at 1000)
    lies inside its 95% bootstrap interval (Davidson fit, the model the data come from).
(c) Scheduling (CLOSE and WIDE): the all-pairs schedule on 100 prompts (2800 battles, prompt by prompt) against
    the adaptive one (`next_battles` in batches of 112, prompts from a pool of 500), both up to 2800 battles. Reported:
    the battles after which `settled` first holds (checked after every batch); the battles from which the ranking
    equals the final all-pairs ranking at every later batch; Kendall tau against the true order at equal budgets.

Run: .venv/bin/python bench/arena_simulation.py            (about 80 s on two busy cores)
     .venv/bin/python bench/arena_simulation.py --quick    (fewer runs, for a smoke test)
"""

from __future__ import annotations

import argparse
import math
import statistics
import time

import numpy as np
from scipy.stats import kendalltau

from jurist.leaderboard import Battle, all_pairs_schedule, bradley_terry, next_battles, settled
from jurist.leaderboard.ratings import ELO_CENTRE, ELO_PER_LOGIT, TIE_MODELS

SYSTEMS = [f"sys{i}" for i in range(8)]
# True Elo scores, sys0 the best, with uneven gaps as on real leaderboards: CLOSE (gaps 60, 90, 50, 120, 70, 100,
# 110) and WIDE (gaps 100, 150, 80, 200, 120, 160, 180), where `settled` (disjoint 95% intervals for every pair of
# neighbours) is reachable within a few thousand battles.
CLOSE_ELO = [1250.0, 1190.0, 1100.0, 1050.0, 930.0, 860.0, 760.0, 650.0]
WIDE_ELO = [1400.0, 1300.0, 1150.0, 1070.0, 870.0, 750.0, 590.0, 410.0]
Strength = dict[str, float]


def strengths(elos: list[float]) -> Strength:
    return {s: elo / ELO_PER_LOGIT for s, elo in zip(SYSTEMS, elos, strict=True)}


TIE_NU = 0.4
TRUE_ORDER = SYSTEMS


def true_scores(strength: Strength) -> dict[str, float]:
    mean = statistics.fmean(strength.values())
    return {s: ELO_PER_LOGIT * (b - mean) + ELO_CENTRE for s, b in strength.items()}


def play(matches: list[tuple[str, str, str]], rng: np.random.Generator, strength: Strength) -> list[Battle]:
    battles = []
    for prompt, a, b in matches:
        half_gap = (strength[a] - strength[b]) / 2
        weights = np.array([math.exp(half_gap), math.exp(-half_gap), TIE_NU])
        winner = ("A", "B", "tie")[rng.choice(3, p=weights / weights.sum())]
        battles.append(Battle(prompt_id=prompt, model_a=a, model_b=b, winner=winner))
    return battles


def tau(ranking: list[str]) -> float:
    return float(kendalltau([TRUE_ORDER.index(s) for s in ranking], range(len(ranking))).statistic)


def prompts(n: int) -> list[str]:
    return [f"p{i:03d}" for i in range(n)]


def order_recovery(runs: int) -> None:
    print(f"(a) order recovery: all pairs x 30 prompts = 840 battles, {runs} runs")
    schedule = all_pairs_schedule(SYSTEMS, prompts(30))
    for tie_model in TIE_MODELS:
        taus, exact = [], 0
        for run in range(runs):
            battles = play(schedule, np.random.default_rng(run), strengths(CLOSE_ELO))
            bt = bradley_terry(battles, tie_model=tie_model, n_bootstrap=0)
            taus.append(tau(bt.ranking))
            exact += bt.ranking == TRUE_ORDER
        print(
            f"    {tie_model:<10} Kendall tau mean {statistics.fmean(taus):.3f} (min {min(taus):.3f}); "
            f"exact order in {exact}/{runs} runs"
        )


def coverage(runs: int, n_bootstrap: int) -> None:
    print(f"(b) 95% interval coverage (Davidson, 840 battles, {n_bootstrap} bootstrap resamples, {runs} runs)")
    schedule = all_pairs_schedule(SYSTEMS, prompts(30))
    strength = strengths(CLOSE_ELO)
    truth = true_scores(strength)
    hits = dict.fromkeys(SYSTEMS, 0)
    widths = []
    for run in range(runs):
        battles = play(schedule, np.random.default_rng(1000 + run), strength)
        bt = bradley_terry(battles, n_bootstrap=n_bootstrap, seed=run)
        for s in SYSTEMS:
            low, high = bt.intervals[s]
            hits[s] += low <= truth[s] <= high
            widths.append(high - low)
    shares = [hits[s] / runs for s in SYSTEMS]
    print(
        f"    coverage {statistics.fmean(shares):.3f} over all systems "
        f"(per system {min(shares):.2f}-{max(shares):.2f}); nominal 0.95; "
        f"mean interval width {statistics.fmean(widths):.0f} Elo"
    )


def locked_at(rankings: list[tuple[int, list[str]]], final: list[str]) -> float:
    """The number of battles from which on every ranking equals `final` (inf if the last one differs)."""
    since = math.inf
    for battles, ranking in rankings:
        if ranking != final:
            since = math.inf
        elif since == math.inf:
            since = battles
    return since


def first_settled(battles: list[Battle], step: int, n_bootstrap: int, seed: int) -> float:
    """The first multiple of `step` battles at which `settled` holds (inf if never)."""
    for n in range(step, len(battles) + 1, step):
        if settled(bradley_terry(battles[:n], n_bootstrap=n_bootstrap, seed=seed)):
            return n
    return math.inf


def adaptive(
    name: str, elos: list[float], runs: int, batch: int, cap_prompts: int, pool: int, n_bootstrap: int
) -> None:
    everything = all_pairs_schedule(SYSTEMS, prompts(cap_prompts))
    cap = len(everything)
    strength = strengths(elos)
    print(
        f"(c) {name}: adaptive (prompts from a pool of {pool}) vs all pairs (prompt by prompt), up to {cap} battles "
        f"(all pairs x {cap_prompts} prompts), batches of {batch}, settled checked with {n_bootstrap} resamples, "
        f"{runs} runs"
    )
    checkpoints = [batch * k for k in (3, 6, 12)]
    settle_all_pairs, settle_adaptive, hold_adaptive, hold_all_pairs, final_is_true = [], [], [], [], 0
    tau_adaptive: dict[int, list[float]] = {c: [] for c in checkpoints}
    tau_all_pairs: dict[int, list[float]] = {c: [] for c in checkpoints}
    for run in range(runs):
        rng = np.random.default_rng(2000 + run)
        full = play(everything, rng, strength)
        prefix_rankings = [(n, bradley_terry(full[:n], n_bootstrap=0).ranking) for n in range(batch, cap + 1, batch)]
        final = prefix_rankings[-1][1]
        final_is_true += final == TRUE_ORDER
        hold_all_pairs.append(locked_at(prefix_rankings, final))
        settle_all_pairs.append(first_settled(full, batch, n_bootstrap, run))

        battles: list[Battle] = []
        rankings: list[tuple[int, list[str]]] = []
        while len(battles) < cap:
            battles += play(next_battles(battles, SYSTEMS, prompts(pool), batch, seed=run), rng, strength)
            rankings.append((len(battles), bradley_terry(battles, n_bootstrap=0).ranking))
        hold_adaptive.append(locked_at(rankings, final))
        settle_adaptive.append(first_settled(battles, batch, n_bootstrap, run))
        for c in checkpoints:
            tau_adaptive[c].append(tau(dict(rankings)[c]))
            tau_all_pairs[c].append(tau(dict(prefix_rankings)[c]))
        print(
            f"    run {run}: settled at {settle_all_pairs[-1]} battles (all pairs) vs {settle_adaptive[-1]} "
            "(adaptive); "
            f"the final all-pairs ranking ({'true order' if final == TRUE_ORDER else 'not the true order'}) "
            f"held from {hold_all_pairs[-1]} (all pairs) vs {hold_adaptive[-1]} (adaptive)"
        )
    median = statistics.median
    print(
        f"    median battles until settled: all pairs {median(settle_all_pairs):.0f}, adaptive "
        f"{median(settle_adaptive):.0f} (inf: not within {cap}); until the final all-pairs ranking is held for good: "
        f"all pairs {median(hold_all_pairs):.0f}, adaptive {median(hold_adaptive):.0f}; the final all-pairs "
        f"ranking is the true order in {final_is_true}/{runs} runs"
    )
    for c in checkpoints:
        print(
            f"    at {c} battles: Kendall tau vs truth, adaptive {statistics.fmean(tau_adaptive[c]):.3f}, "
            f"all pairs {statistics.fmean(tau_all_pairs[c]):.3f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer runs, for a smoke test")
    args = parser.parse_args()
    start = time.perf_counter()
    order_recovery(runs=5 if args.quick else 30)
    coverage(runs=10 if args.quick else 40, n_bootstrap=50 if args.quick else 100)
    for name, elos in (("CLOSE", CLOSE_ELO), ("WIDE", WIDE_ELO)):
        adaptive(name, elos, runs=2 if args.quick else 6, batch=112, cap_prompts=100, pool=500, n_bootstrap=50)
    print(f"total {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
