"""AlpacaEval 2.0 raw and length-controlled win rates from the published GPT-4-turbo annotations, against the
published leaderboard.

Data: ../shared/data/alpaca_eval (annotations/<model>.json: 8 systems against gpt4_1106_preview; leaderboards/
AE2_weighted_alpaca_eval_gpt4_turbo_leaderboard.csv: the published win_rate, standard_error and
length_controlled_winrate; glm_weights_...csv: the published per-model GLM coefficients).

1. Raw win rates through `win_rate_vs_baseline` (each annotation becomes a Battle with preference = p - 1) must
   equal the published win_rate and standard_error.
2. LC win rates from `length_controlled_win_rate` with each estimate of the instruction difficulty (cross-fitted,
   the default; cross-fitted leaving out a model's prompt variants together; joint, in-sample; none) and without
   the ridge on the length slope, against the published length_controlled_winrate.
3. Gameability: how much the concise / standard / verbose prompt variants of one system move the metric, as the
   paper measures it (normalised SD = SD / mean of the three), and as the spread of their log-odds.

Run: .venv/bin/python bench/leaderboard_alpaca_eval.py     (a few seconds)
"""

from __future__ import annotations

import json
import math
import statistics
import sys
from pathlib import Path

import pandas as pd

from jurist.leaderboard import Battle, LCWinRate, length_controlled_win_rate, win_rate_vs_baseline

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "alpaca_eval"
BASELINE = "gpt4_1106_preview"
FAMILIES = ("gpt-3.5-turbo-1106", "alpaca-7b")


Published = dict[str, dict[str, float]]  # model -> column -> value


def load() -> tuple[dict[str, list[dict]], Published]:
    if not DATA.exists():
        sys.exit(f"no AlpacaEval data at {DATA}; this benchmark needs ../shared/data/alpaca_eval")
    annotations = {path.stem: json.loads(path.read_text()) for path in sorted((DATA / "annotations").glob("*.json"))}
    board = pd.read_csv(DATA / "leaderboards" / "AE2_weighted_alpaca_eval_gpt4_turbo_leaderboard.csv", index_col=0)
    glm_file = "glm_weights_length_controlled_v1_baseline_gpt4_1106_preview.csv"
    glm = pd.read_csv(DATA / "leaderboards" / glm_file, index_col=0)
    columns = ("win_rate", "standard_error", "length_controlled_winrate")
    published = {str(m): {c: float(row[c]) for c in columns} for m, row in board.iterrows()}
    for model, slope in glm["np.tanh(std_delta_len)"].items():
        if str(model) in published:
            # The published GLM measures the length difference the other way round (baseline minus model).
            published[str(model)]["length_slope"] = -float(slope)
    return annotations, published


def as_battles(model: str, rows: list[dict]) -> list[Battle]:
    battles = []
    for row in rows:
        preference = 1.5 if row["preference"] in (0, None) else float(row["preference"])
        winner = "B" if preference > 1.5 else "A" if preference < 1.5 else "tie"
        battles.append(
            Battle(
                prompt_id=str(row["index"]),
                model_a=BASELINE,
                model_b=model,
                winner=winner,
                preference=preference - 1.0,
            )
        )
    return battles


def raw_check(annotations: dict[str, list[dict]], board: Published) -> None:
    print("1. raw win rate (win_rate_vs_baseline) vs published")
    battles = [b for model, rows in annotations.items() for b in as_battles(model, rows)]
    worst = 0.0
    for rate in win_rate_vs_baseline(battles, BASELINE):
        published = board[rate.model]
        diff = max(abs(rate.win_rate - published["win_rate"]), abs(rate.standard_error - published["standard_error"]))
        worst = max(worst, diff)
        print(
            f"   {rate.model:<28} {rate.win_rate:7.3f} (published {published['win_rate']:7.3f})  "
            f"SE {rate.standard_error:.3f} ({published['standard_error']:.3f})  n {rate.n}"
        )
    print(f"   largest difference from the published win_rate / standard_error: {worst:.2e}")


def family_of(model: str) -> str:
    """Prompt variants share a family: gpt-3.5-turbo-1106_concise -> gpt-3.5-turbo-1106."""
    return model.removesuffix("_concise").removesuffix("_verbose")


def lc_variants(annotations: dict[str, list[dict]]) -> dict[str, dict[str, LCWinRate]]:
    families = {model: family_of(model) for model in annotations}
    settings: dict[str, dict] = {
        "cross_fit (default)": {},
        "cross_fit, families": {"families": families},
        "joint": {"difficulty": "joint"},
        "none": {"difficulty": "none"},
        "cross_fit, no ridge": {"length_penalty": 0.0},
    }
    return {
        name: {r.model: r for r in length_controlled_win_rate(annotations, **options)}
        for name, options in settings.items()
    }


def lc_table(variants: dict[str, dict[str, LCWinRate]], board: Published) -> None:
    print("2. length-controlled win rate vs published, by difficulty estimate (length slope: ours / published)")
    names = list(variants)
    print(f"   {'model':<28} {'raw':>6} {'published':>9} " + " ".join(f"{n:>20}" for n in names) + "  slope")
    default = variants[names[0]]
    for model in sorted(default, key=lambda m: -board[m]["length_controlled_winrate"]):
        cells = " ".join(f"{variants[n][model].lc_win_rate:20.2f}" for n in names)
        print(
            f"   {model:<28} {default[model].win_rate:6.2f} {board[model]['length_controlled_winrate']:9.2f} "
            f"{cells}  {default[model].length_coef:.2f} / {board[model]['length_slope']:.2f}"
        )
    for name in names:
        diffs = [abs(r.lc_win_rate - board[m]["length_controlled_winrate"]) for m, r in variants[name].items()]
        print(f"   {name:<20} mean |LC - published| {statistics.fmean(diffs):.2f} points, largest {max(diffs):.2f}")


def gameability(
    annotations: dict[str, list[dict]], board: Published, variants: dict[str, dict[str, LCWinRate]]
) -> None:
    print("3. concise / standard / verbose variants: normalised SD (SD / mean) and log-odds spread (max - min)")

    def logit(percent: float) -> float:
        return math.log(percent / (100 - percent))

    for family in FAMILIES:
        members = [f"{family}_concise", family, f"{family}_verbose"]
        columns: dict[str, list[float]] = {
            "raw": [variants["none"][m].win_rate for m in members],
            "LC published": [board[m]["length_controlled_winrate"] for m in members],
        } | {f"LC {name}": [variants[name][m].lc_win_rate for m in members] for name in variants}
        for name, values in columns.items():
            spread = max(map(logit, values)) - min(map(logit, values))
            nsd = statistics.stdev(values) / statistics.fmean(values)
            shown = " / ".join(f"{v:.2f}" for v in values)
            print(f"   {family:<20} {name:<24} {shown:<22} normalised SD {nsd:6.1%}  log-odds spread {spread:.2f}")


def main() -> None:
    annotations, board = load()
    raw_check(annotations, board)
    variants = lc_variants(annotations)
    lc_table(variants, board)
    gameability(annotations, board, variants)


if __name__ == "__main__":
    main()
