"""Prediction-powered inference on real judgments: PandaLM's test set, human labels vs GPT-3.5's released verdicts.

    .venv/bin/python bench/ppi_example.py

The quantity: the win rate of response 2 over response 1 (ties as half) by the majority of the three annotators.
In each of many random splits, n items keep their human label (the "labelled" set) and the rest only have the
judge's verdict. We compare the human-only 95% interval (n labels) with the PPI++ interval (n labels plus the
judge on everything), report their mean widths, and how often each covers the win rate of all human labels.
A judge that disagrees often with the humans (GPT-3.5 agrees with the majority on 71% here) still narrows the
interval only as far as its errors allow; PPI stays unbiased either way.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import numpy as np

from jurist.data.benchmarks import load_pandalm, load_pandalm_predictions
from jurist.stats import ppi_mean

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
OUTCOME = {"A": 0.0, "tie": 0.5, "B": 1.0}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--labelled", type=int, nargs="+", default=[50, 100, 200])
    parser.add_argument("--splits", type=int, default=500)
    args = parser.parse_args()
    os.environ.setdefault("JURIST_DATA_DIR", str(DATA))
    items = load_pandalm().items
    judge = load_pandalm_predictions("gpt-3.5-turbo")
    kept = [it for it in items if it.id in judge]  # GPT-3.5 gave no usable answer on 25 items
    human = np.array([OUTCOME[str(it.label)] for it in kept])
    predicted = np.array([OUTCOME[judge[it.id]] for it in kept])
    truth = float(human.mean())
    print(
        f"PandaLM test set: {len(kept)} items with a GPT-3.5 verdict; win rate of response 2 by the humans "
        f"{truth:.4f}, by GPT-3.5 {predicted.mean():.4f}; agreement {np.mean(human == predicted):.1%}\n"
    )
    print(
        "| human labels | human-only width | PPI++ width | width ratio | human-only coverage | PPI++ coverage "
        "| mean lambda |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|")
    rng = np.random.default_rng(0)
    for n in args.labelled:
        widths, ppi_widths, covered, ppi_covered, lams = [], [], 0, 0, []
        for _ in range(args.splits):
            order = rng.permutation(len(kept))
            lab, unl = order[:n], order[n:]
            est = ppi_mean(human[lab], predicted[lab], predicted[unl])
            widths.append(est.classical_high - est.classical_low)
            ppi_widths.append(est.high - est.low)
            covered += est.classical_low <= truth <= est.classical_high
            ppi_covered += est.low <= truth <= est.high
            lams.append(est.lam)
        print(
            f"| {n} | {np.mean(widths):.4f} | {np.mean(ppi_widths):.4f} | {np.mean(ppi_widths) / np.mean(widths):.2f} "
            f"| {covered / args.splits:.1%} | {ppi_covered / args.splits:.1%} | {np.mean(lams):.2f} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
