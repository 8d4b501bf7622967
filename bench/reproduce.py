"""Published judge figures, recomputed by jurist from the judgments the authors recorded.

    .venv/bin/python bench/reproduce.py

No model is called. Prints one markdown table per source, ours next to the published figure:

- LLMBar: GPT-4's recorded verdicts (evaluators/GPT-4/<strategy>/result.json) are replayed through jurist's own
  pairwise judge (built-in template, both orders, ties allowed) with the replay backend, end to end through
  `jurist.ajudge`; Acc (accuracy averaged over the two orders) and Agr (share of items whose two orders agree)
  come from the verdicts' per-order winners and are compared with the set's statistics.json.
- PandaLM: the three annotators' pairwise Cohen's kappa, and GPT-3.5's (and PandaLM-7B's) accuracy and macro
  precision / recall / F1 against the majority human label, from the released predictions.
- AlpacaEval 2.0: raw win rate against the baseline and its standard error from the GPT-4-turbo annotations,
  against the published leaderboard.

Data come from ../shared/data (see its README.md).
"""

from __future__ import annotations

import asyncio
import csv
import json
import re
import tempfile
from collections import Counter
from pathlib import Path

from pydantic import BaseModel

from jurist import JobOptions, JudgeConfig, Verdict, ajudge, conventions, load_items
from jurist.backends.replay import ReplayBackend, llmbar_records

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"

LLMBAR_SETS = {
    "Natural": "llmbar/LLMBar/Natural",
    "Neighbor": "llmbar/LLMBar/Adversarial/Neighbor",
    "GPTInst": "llmbar/LLMBar/Adversarial/GPTInst",
    "GPTOut": "llmbar/LLMBar/Adversarial/GPTOut",
    "Manual": "llmbar/LLMBar/Adversarial/Manual",
    "MT-Bench": "llmbar/Processed/MT-Bench",
}
LLMBAR_STRATEGIES = ("Vanilla_NoRules", "Vanilla")
LLMBAR_FIELDS = {"prompt": "input", "response_a": "output_1", "response_b": "output_2", "label": "label"}

# Copied from the PandaLM paper (Wang et al., 2023, arXiv:2306.05087), Table 2, row gpt-3.5-turbo.
PANDALM_PAPER_GPT35 = {"accuracy": 0.6296, "precision": 0.6195, "recall": 0.6359, "f1": 0.5820}
# Copied from the comments of data/compute_metrics.py in WeOpenML/PandaLM: the authors' own figures for the
# prediction files they released (which are not the run behind the paper's table).
PANDALM_REPO = {
    "gpt-3.5-turbo": {"accuracy": 0.7107, "precision": 0.5879, "recall": 0.5736, "f1": 0.5755},
    "pandalm-7b": {"accuracy": 0.6677, "precision": 0.5738, "recall": 0.5750, "f1": 0.5743},
}
PANDALM_PREDICTIONS = {
    "gpt-3.5-turbo": ("gpt-3.5-turbo-testset-v1.json", "gpt_result"),
    "pandalm-7b": ("pandalm-7b-testset-v1.json", "pandalm_result"),
}


# -- LLMBar ------------------------------------------------------------------------------------------------------


class PairwiseFigures(BaseModel):
    """LLMBar's metrics, in percent: accuracy in each order, their mean (Acc) and the orders' agreement (Agr)."""

    acc_first: float  # the original order (LLMBar's "swap = False")
    acc_second: float  # output_2 shown first ("swap = True")
    acc: float
    agr: float


def llmbar_runs() -> list[tuple[str, str]]:
    """(set, strategy) pairs whose GPT-4 verdicts were released (Processed MT-Bench has no `Vanilla` run)."""
    return [
        (name, strategy)
        for name, folder in LLMBAR_SETS.items()
        for strategy in LLMBAR_STRATEGIES
        if (DATA / folder / "evaluators" / "GPT-4" / strategy / "result.json").exists()
    ]


async def replay_llmbar(name: str, strategy: str, out: Path) -> list[Verdict]:
    """GPT-4's recorded verdicts on one LLMBar set, read by jurist's pairwise judge (both orders, ties allowed)."""
    folder = DATA / LLMBAR_SETS[name]
    data = load_items(folder / "dataset.json", "pairwise", LLMBAR_FIELDS)
    backend = ReplayBackend(llmbar_records(folder / "evaluators" / "GPT-4" / strategy / "result.json"))
    config = JudgeConfig(mode="pairwise", swap=True, allow_tie=True)
    # No response cache: replayed answers are already on disk, and a cache keyed by the backend's name could
    # hand one recording's answers to another.
    result = await ajudge(data, out=out, config=config, model=backend, options=JobOptions(cache=False))
    return result.verdicts()


def llmbar_figures(verdicts: list[Verdict]) -> PairwiseFigures:
    """Acc and Agr as LLMBar counts them (jurist's `llmbar` convention, as `jurist meta-eval --convention llmbar`
    gives them from the run directory)."""
    report = conventions.llmbar(verdicts, n_resamples=0)
    figures = {f.name: f.estimate.value for f in [*report.figures, *report.detail]}
    return PairwiseFigures(
        acc_first=figures["Acc, first order"],
        acc_second=figures["Acc, swapped order"],
        acc=figures["Acc"],
        agr=figures["Agr"],
    )


def published_llmbar(name: str, strategy: str) -> PairwiseFigures:
    """The figures of the set's statistics.json (strings such as "87 / 92 = 94.56521739130434%")."""
    path = DATA / LLMBAR_SETS[name] / "evaluators" / "GPT-4" / strategy / "statistics.json"
    stats = json.loads(path.read_text(encoding="utf-8"))

    def percent(key: str) -> float:
        match = re.search(r"([\d.]+)%\s*$", stats[key])
        if match is None:
            raise ValueError(f"{path}: {key} = {stats[key]!r} is not a percentage")
        return float(match.group(1))

    return PairwiseFigures(
        acc_first=percent("correct_False"),
        acc_second=percent("correct_True"),
        acc=percent("correct_average"),
        agr=percent("equal"),
    )


def recorded_winners_read_back(name: str, strategy: str, verdicts: list[Verdict]) -> tuple[int, int]:
    """How many per-order winners jurist read equal LLMBar's own `winner` field, out of how many."""
    rows = json.loads(
        (DATA / LLMBAR_SETS[name] / "evaluators" / "GPT-4" / strategy / "result.json").read_text(encoding="utf-8")
    )
    by_id = {v.id: v for v in verdicts}
    to_label = {"1": "A", "2": "B"}
    same = total = 0
    for index, row in enumerate(rows):
        orders = by_id[str(index)].orders or []
        for order, key in zip(orders, ("swap = False", "swap = True"), strict=True):
            total += 1
            same += order.winner == to_label.get(str(row["results"][0][key]["winner"]), "tie")
    return same, total


# -- PandaLM -----------------------------------------------------------------------------------------------------


def pandalm_annotations() -> list[list[int]]:
    rows = json.loads((DATA / "pandalm_testset" / "testset-v1.json").read_text(encoding="utf-8"))
    return [[int(row[f"annotator{i}"]) for i in (1, 2, 3)] for row in rows]


def pandalm_kappas() -> dict[tuple[int, int], float]:
    """Cohen's kappa of each pair of annotators (1-based numbers), the README's inter-annotator agreement."""
    from sklearn.metrics import cohen_kappa_score

    ratings = pandalm_annotations()
    return {
        (a + 1, b + 1): float(cohen_kappa_score([r[a] for r in ratings], [r[b] for r in ratings]))
        for a, b in ((0, 1), (0, 2), (1, 2))
    }


def majority_labels() -> list[int]:
    """The label most annotators gave (0 tie, 1, 2); every item of the set has a majority."""
    return [Counter(r).most_common(1)[0][0] for r in pandalm_annotations()]


def pandalm_judge_scores(judge: str) -> dict[str, float]:
    """Accuracy and macro precision / recall / F1 over {tie, 1, 2} of a judge's released predictions against the
    majority label, by jurist's `pandalm` convention. "Tie" and unreadable answers ("garbage") count as a tie, as
    in the authors' script."""
    file, field = PANDALM_PREDICTIONS[judge]
    rows = json.loads((DATA / "pandalm_testset" / file).read_text(encoding="utf-8"))
    names = {"1": "A", "2": "B"}
    predicted = [names.get(str(row[field]), "tie") for row in rows]
    truth = [{0: "tie", 1: "A", 2: "B"}[label] for label in majority_labels()]
    return {f.name: f.estimate.value for f in conventions.pandalm_figures(truth, predicted, n_resamples=0, seed=0)}


def pandalm_readme_kappas() -> list[float]:
    """The inter-annotator agreement quoted by ../shared/data/README.md ("... agreement 0.85/0.88/0.86")."""
    text = (DATA / "README.md").read_text(encoding="utf-8")
    match = re.search(r"inter-annotator agreement (\d\.\d+)/(\d\.\d+)/(\d\.\d+)", text)
    if match is None:
        raise ValueError("the shared data README no longer quotes PandaLM's inter-annotator agreement")
    return [float(x) for x in match.groups()]


# -- AlpacaEval --------------------------------------------------------------------------------------------------


class WinRate(BaseModel):
    win_rate: float  # percent
    standard_error: float  # percent
    n: int


def alpaca_win_rate(preferences: list[float]) -> WinRate:
    """Raw win rate against the baseline: mean(preference - 1) x 100, a draw (preference 0) counting 0.5; the
    standard error is that of the mean (sample standard deviation / sqrt(n))."""
    from scipy.stats import sem

    wins = [0.5 if p == 0 else p - 1 for p in preferences]
    return WinRate(win_rate=100 * sum(wins) / len(wins), standard_error=100 * float(sem(wins)), n=len(wins))


def alpaca_models() -> list[str]:
    return sorted(p.stem for p in (DATA / "alpaca_eval" / "annotations").glob("*.json"))


def alpaca_ours(model: str) -> tuple[WinRate, str]:
    """A model's win rate from its annotations, and the annotator that made them."""
    rows = json.loads((DATA / "alpaca_eval" / "annotations" / f"{model}.json").read_text(encoding="utf-8"))
    annotators = {row["annotator"] for row in rows}
    if len(annotators) != 1:
        raise ValueError(f"{model}: annotations by several annotators {sorted(annotators)}")
    preferences = [float(row["preference"]) for row in rows if row["preference"] is not None]
    return alpaca_win_rate(preferences), annotators.pop()


def alpaca_published(model: str, annotator: str) -> WinRate:
    """The model's row of the leaderboard of that annotator (leaderboards/*_<annotator>_leaderboard.csv)."""
    (path,) = (DATA / "alpaca_eval" / "leaderboards").glob(f"*_{annotator}_leaderboard.csv")
    with path.open(encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f):
            if row[""] == model:
                return WinRate(
                    win_rate=float(row["win_rate"]),
                    standard_error=float(row["standard_error"]),
                    n=int(row["n_total"]),
                )
    raise ValueError(f"{model} is not on {path.name}")


# -- report ------------------------------------------------------------------------------------------------------


def table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def diff(ours: float, published: float, decimals: int) -> str:
    # Adding 0.0 turns the -0.0 of a rounding-level difference into 0.0, so it prints as +0.00.
    return f"{round(ours - published, decimals) + 0.0:+.{decimals}f}"


def same_to(decimals: int, *pairs: tuple[float, float]) -> str:
    """ "yes" when every (ours, published) pair agrees once rounded to `decimals`."""
    return "yes" if all(round(a, decimals) == round(b, decimals) for a, b in pairs) else "**no**"


async def llmbar_table() -> str:
    rows = []
    for name, strategy in llmbar_runs():
        with tempfile.TemporaryDirectory() as tmp:
            verdicts = await replay_llmbar(name, strategy, Path(tmp))
        ours, published = llmbar_figures(verdicts), published_llmbar(name, strategy)
        same, total = recorded_winners_read_back(name, strategy, verdicts)
        rows.append(
            [
                name,
                strategy,
                f"{ours.acc:.2f}",
                f"{published.acc:.2f}",
                diff(ours.acc, published.acc, 2),
                f"{ours.agr:.2f}",
                f"{published.agr:.2f}",
                diff(ours.agr, published.agr, 2),
                f"{same}/{total}",
                same_to(2, (ours.acc, published.acc), (ours.agr, published.agr)),
            ]
        )
    header = ["set", "strategy", "Acc ours", "Acc pub.", "diff", "Agr ours", "Agr pub.", "diff"]
    return "### LLMBar, GPT-4 (replayed through jurist's pairwise judge)\n\n" + table(
        [*header, "orders read = LLMBar's winner", "match (2 dp)"], rows
    )


def pandalm_table() -> str:
    kappas, quoted = pandalm_kappas(), pandalm_readme_kappas()
    rows = [
        [f"Cohen's kappa, annotators {a} & {b}", f"{k:.4f}", f"{q:.2f}", diff(k, q, 4), "README", same_to(2, (k, q))]
        for ((a, b), k), q in zip(kappas.items(), quoted, strict=True)
    ]
    for judge, published in PANDALM_REPO.items():
        ours = pandalm_judge_scores(judge)
        for metric, value in published.items():
            rows.append(
                [
                    f"{judge} {metric}",
                    f"{ours[metric]:.4f}",
                    f"{value:.4f}",
                    diff(ours[metric], value, 4),
                    "repo",
                    same_to(4, (ours[metric], value)),
                ]
            )
    ours = pandalm_judge_scores("gpt-3.5-turbo")
    for metric, value in PANDALM_PAPER_GPT35.items():
        rows.append(
            [
                f"gpt-3.5-turbo {metric}",
                f"{ours[metric]:.4f}",
                f"{value:.4f}",
                diff(ours[metric], value, 4),
                "paper",
                same_to(4, (ours[metric], value)),
            ]
        )
    notes = (
        "Majority of the 3 annotators as the gold label; 'Tie' and unreadable ('garbage') predictions count as a "
        "tie. Sources: README = ../shared/data/README.md (PandaLM's README, pairwise Cohen's kappa); repo = the "
        "figures in WeOpenML/PandaLM data/compute_metrics.py for the released prediction files; paper = copied "
        "from the PandaLM paper, Table 2 (gpt-3.5-turbo row), which the released predictions do not reproduce."
    )
    return (
        "### PandaLM test set (999 items)\n\n"
        + table(["figure", "ours", "published", "diff", "source", "match"], rows)
        + "\n\n"
        + notes
    )


def alpaca_table() -> str:
    rows = []
    for model in alpaca_models():
        ours, annotator = alpaca_ours(model)
        published = alpaca_published(model, annotator)
        rows.append(
            [
                model,
                str(ours.n),
                f"{ours.win_rate:.2f}",
                f"{published.win_rate:.2f}",
                diff(ours.win_rate, published.win_rate, 2),
                f"{ours.standard_error:.2f}",
                f"{published.standard_error:.2f}",
                diff(ours.standard_error, published.standard_error, 2),
                same_to(2, (ours.win_rate, published.win_rate), (ours.standard_error, published.standard_error)),
            ]
        )
    header = ["model", "n", "win rate ours", "pub.", "diff", "SE ours", "pub.", "diff", "match (2 dp)"]
    return "### AlpacaEval 2.0, weighted GPT-4-turbo annotator, baseline gpt4_1106_preview\n\n" + table(header, rows)


async def main() -> None:
    if not DATA.is_dir():
        raise SystemExit(f"no shared data at {DATA}")
    print(await llmbar_table(), end="\n\n")
    print(pandalm_table(), end="\n\n")
    print(alpaca_table())


if __name__ == "__main__":
    asyncio.run(main())
