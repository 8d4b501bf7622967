"""Published judge tables reproduced through the `jurist` command alone, from the judges' recorded outputs.

Every judge table whose judge's recorded outputs are in ../shared/data is reproduced with two commands per judge:

    jurist import DATA --format FORMAT --decisions FILE --out RUN
    jurist meta-eval RUN --convention NAME --out REPORT

and the convention's figures, read from REPORT, are set next to the published ones:

- LLMBar (Zeng et al., 2024): GPT-4's verdicts in both orders on the five LLMBar sets and Processed MT-Bench, with
  and without rules (11 runs). Published: each run's statistics.json.
- PandaLM (Wang et al., 2024): the released predictions of GPT-3.5 and PandaLM-7B on the 999-pair test set.
  Published: the authors' figures for these files (WeOpenML/PandaLM data/compute_metrics.py), and the paper's
  Table 2 row for GPT-3.5, which these files do not reproduce.
- AlpacaEval 2.0 (Dubois et al., 2024): GPT-4-turbo's annotations of 8 models against gpt4_1106_preview.
  Published: the leaderboard CSV.

The script runs commands and reads published figures; every figure of ours comes from `jurist meta-eval --out`.
Run: .venv/bin/python bench/reproduce_cli.py      (about two minutes; tests/integration/test_reproduce_published.py
checks the same figures, running the same commands in-process)
"""

from __future__ import annotations

import csv
import json
import os
import re
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from pydantic import BaseModel

PROJECT = Path(__file__).resolve().parents[1]
DATA = PROJECT.parent / "shared" / "data"
JURIST = Path(sys.executable).parent / "jurist"
BOOTSTRAP = "200"  # resamples for the intervals meta-eval prints; the figures compared do not depend on it

# `jurist ARGS`, with $JURIST_DATA_DIR set to DATA: a subprocess here, the CLI in-process in the tests
Runner = Callable[[list[str]], None]

LLMBAR_SETS = {
    "Natural": "llmbar/LLMBar/Natural",
    "Neighbor": "llmbar/LLMBar/Adversarial/Neighbor",
    "GPTInst": "llmbar/LLMBar/Adversarial/GPTInst",
    "GPTOut": "llmbar/LLMBar/Adversarial/GPTOut",
    "Manual": "llmbar/LLMBar/Adversarial/Manual",
    "MT-Bench": "llmbar/Processed/MT-Bench",
}
LLMBAR_STRATEGIES = ("Vanilla_NoRules", "Vanilla")
# the convention's figure -> the key of LLMBar's statistics.json
LLMBAR_FIGURES = {
    "Acc": "correct_average",
    "Agr": "equal",
    "Acc, first order": "correct_False",
    "Acc, swapped order": "correct_True",
    "both orders right": "correct_both",
}

# Copied from the comments of data/compute_metrics.py in WeOpenML/PandaLM: the authors' own figures for the
# prediction files they released (which are not the run behind the paper's table).
PANDALM_REPO = {
    "gpt-3.5-turbo": {"accuracy": 0.7107, "precision": 0.5879, "recall": 0.5736, "f1": 0.5755},
    "pandalm-7b": {"accuracy": 0.6677, "precision": 0.5738, "recall": 0.5750, "f1": 0.5743},
}
# Copied from the PandaLM paper (Wang et al., 2023, arXiv:2306.05087), Table 2, row gpt-3.5-turbo.
PANDALM_PAPER_GPT35 = {"accuracy": 0.6296, "precision": 0.6195, "recall": 0.6359, "f1": 0.5820}
PANDALM_FILES = {"gpt-3.5-turbo": "gpt-3.5-turbo-testset-v1.json", "pandalm-7b": "pandalm-7b-testset-v1.json"}

ALPACA_LEADERBOARD = "alpaca_eval/leaderboards/AE2_weighted_alpaca_eval_gpt4_turbo_leaderboard.csv"
# the convention's figure -> the leaderboard's column
ALPACA_FIGURES = {
    "win rate": "win_rate",
    "standard error": "standard_error",
    "discrete win rate": "discrete_win_rate",
}


class Reproduction(BaseModel):
    """One judge's recorded outputs, imported onto its data and counted by the benchmark's convention."""

    name: str  # the run's folder name
    data: str  # DATA of `jurist import`: a benchmark spec
    format: str
    decisions: Path
    convention: str

    def commands(self, runs: Path) -> list[list[str]]:
        run, report = runs / self.name, runs / f"{self.name}.meta.json"
        return [
            ["import", self.data, "--format", self.format, "--decisions", str(self.decisions), "--out", str(run)],
            ["meta-eval", str(run), "--convention", self.convention, "--bootstrap", BOOTSTRAP, "--out", str(report)],
        ]


def run_jurist(args: list[str]) -> None:
    """`jurist ARGS` in a subprocess; its output is shown only when it fails."""
    done = subprocess.run(
        [str(JURIST), *args], env={**os.environ, "JURIST_DATA_DIR": str(DATA)}, capture_output=True, text=True
    )
    if done.returncode != 0:
        raise SystemExit(f"`jurist {' '.join(args)}` failed ({done.returncode}):\n{done.stdout}{done.stderr}")


def reproduce(reproduction: Reproduction, run: Runner, runs: Path) -> dict[str, float]:
    """Run the two commands; the convention's figures (headline and detail) by name, from meta-eval's JSON, and
    `items`, how many items it counted."""
    for args in reproduction.commands(runs):
        run(args)
    report = json.loads((runs / f"{reproduction.name}.meta.json").read_text(encoding="utf-8"))["convention"]
    figures = {f["name"]: f["estimate"]["value"] for f in [*report["figures"], *report["detail"]]}
    return figures | {"items": report["items"]}


def shown(args: list[str], runs: Path) -> str:
    """A command as a reader would type it from the project's root."""
    text = " ".join(["jurist", *args]).replace(str(runs), "runs").replace(str(DATA), "../shared/data")
    return f"JURIST_DATA_DIR=../shared/data {text}" if args[0] == "import" else text


# -- LLMBar ------------------------------------------------------------------------------------------------------


def llmbar_runs() -> list[tuple[str, str]]:
    """(set, strategy) pairs whose GPT-4 verdicts were released (Processed MT-Bench has no `Vanilla` run)."""
    return [
        (name, strategy)
        for name, folder in LLMBAR_SETS.items()
        for strategy in LLMBAR_STRATEGIES
        if (DATA / folder / "evaluators" / "GPT-4" / strategy / "result.json").exists()
    ]


def llmbar(name: str, strategy: str) -> Reproduction:
    return Reproduction(
        name=f"llmbar-{name}-{strategy}",
        data=f"llmbar:{name}",
        format="llmbar",
        decisions=DATA / LLMBAR_SETS[name] / "evaluators" / "GPT-4" / strategy / "result.json",
        convention="llmbar",
    )


def published_llmbar(name: str, strategy: str) -> dict[str, float]:
    """The run's statistics.json, by the convention's figure names (percentages, from strings such as
    "87 / 92 = 94.56521739130434%")."""
    path = DATA / LLMBAR_SETS[name] / "evaluators" / "GPT-4" / strategy / "statistics.json"
    stats = json.loads(path.read_text(encoding="utf-8"))
    figures = {}
    for figure, key in LLMBAR_FIGURES.items():
        match = re.search(r"([\d.]+)%\s*$", stats[key])
        if match is None:
            raise ValueError(f"{path}: {key} = {stats[key]!r} is not a percentage")
        figures[figure] = float(match.group(1))
    return figures


# -- PandaLM -----------------------------------------------------------------------------------------------------


def pandalm(judge: str) -> Reproduction:
    return Reproduction(
        name=f"pandalm-{judge}",
        data="pandalm",
        format="pandalm",
        decisions=DATA / "pandalm_testset" / PANDALM_FILES[judge],
        convention="pandalm",
    )


# -- AlpacaEval --------------------------------------------------------------------------------------------------


def alpaca_models() -> list[str]:
    return sorted(p.stem for p in (DATA / "alpaca_eval" / "annotations").glob("*.json"))


def alpaca(model: str) -> Reproduction:
    return Reproduction(
        name=f"alpaca_eval-{model}",
        data=f"alpaca_eval:{model}",
        format="alpaca_eval",
        decisions=DATA / "alpaca_eval" / "annotations" / f"{model}.json",
        convention="alpaca_eval",
    )


def published_alpaca(model: str) -> dict[str, float]:
    """The model's row of the leaderboard, by the convention's figure names, with `n` (n_total) and the
    length-controlled win rate (`LC`), which the convention does not compute."""
    with (DATA / ALPACA_LEADERBOARD).open(encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f):
            if row[""] == model:
                figures = {figure: float(row[column]) for figure, column in ALPACA_FIGURES.items()}
                return figures | {"n": float(row["n_total"]), "LC": float(row["length_controlled_winrate"])}
    raise ValueError(f"{model} is not on {ALPACA_LEADERBOARD}")


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


def commands_block(reproduction: Reproduction, runs: Path) -> str:
    return "```\n" + "\n".join(shown(args, runs) for args in reproduction.commands(runs)) + "\n```"


def llmbar_table(run: Runner, runs: Path) -> str:
    rows = []
    for name, strategy in llmbar_runs():
        ours, published = reproduce(llmbar(name, strategy), run, runs), published_llmbar(name, strategy)
        orders = ["Acc, first order", "Acc, swapped order", "both orders right"]
        rows.append(
            [
                name,
                strategy,
                *(f"{x:.2f}" for x in (ours["Acc"], published["Acc"])),
                diff(ours["Acc"], published["Acc"], 2),
                *(f"{x:.2f}" for x in (ours["Agr"], published["Agr"])),
                diff(ours["Agr"], published["Agr"], 2),
                " / ".join(f"{ours[k]:.2f}" for k in orders),
                same_to(2, *((ours[k], published[k]) for k in LLMBAR_FIGURES)),
            ]
        )
    header = ["set", "strategy", "Acc ours", "Acc pub.", "diff", "Agr ours", "Agr pub.", "diff"]
    header += ["first / swapped / both right (ours)", "all 5 match (2 dp)"]
    example = commands_block(llmbar(*llmbar_runs()[0]), runs)
    return f"### LLMBar, GPT-4\n\n{example}\n\n{table(header, rows)}"


def pandalm_table(run: Runner, runs: Path) -> str:
    rows = []
    ours_by_judge = {judge: reproduce(pandalm(judge), run, runs) for judge in PANDALM_FILES}
    sources = [(judge, figures, "repo") for judge, figures in PANDALM_REPO.items()]
    for judge, published, source in [*sources, ("gpt-3.5-turbo", PANDALM_PAPER_GPT35, "paper")]:
        ours = ours_by_judge[judge]
        for metric, value in published.items():
            rows.append(
                [
                    f"{judge} {metric}",
                    f"{ours[metric]:.4f}",
                    f"{value:.4f}",
                    diff(ours[metric], value, 4),
                    source,
                    same_to(4, (ours[metric], value)),
                ]
            )
    notes = (
        "Gold label: the majority of the 3 annotators; 'Tie' and unreadable ('garbage') predictions count as a tie, "
        "as the authors' script counts them. Sources: repo = the figures in WeOpenML/PandaLM data/compute_metrics.py "
        "for the released prediction files; paper = copied from the PandaLM paper, Table 2 (gpt-3.5-turbo row), "
        "which the released predictions do not reproduce."
    )
    example = commands_block(pandalm("pandalm-7b"), runs)
    header = ["figure", "ours", "published", "diff", "source", "match"]
    return f"### PandaLM test set (999 items)\n\n{example}\n\n{table(header, rows)}\n\n{notes}"


def alpaca_table(run: Runner, runs: Path) -> str:
    rows = []
    for model in alpaca_models():
        ours, published = reproduce(alpaca(model), run, runs), published_alpaca(model)
        rows.append(
            [
                model,
                f"{ours['items']:.0f}",
                f"{published['n']:.0f}",
                *(f"{x:.2f}" for x in (ours["win rate"], published["win rate"])),
                diff(ours["win rate"], published["win rate"], 2),
                *(f"{x:.2f}" for x in (ours["standard error"], published["standard error"])),
                diff(ours["standard error"], published["standard error"], 2),
                *(f"{x:.2f}" for x in (ours["discrete win rate"], published["discrete win rate"])),
                same_to(2, (ours["items"], published["n"]), *((ours[k], published[k]) for k in ALPACA_FIGURES)),
            ]
        )
    header = ["model", "n ours", "pub.", "win rate ours", "pub.", "diff", "SE ours", "pub.", "diff", "discrete ours"]
    header += ["pub."]
    example = commands_block(alpaca("claude-2.1"), runs)
    title = "### AlpacaEval 2.0, weighted GPT-4-turbo annotator, baseline gpt4_1106_preview"
    return f"{title}\n\n{example}\n\n{table([*header, 'match (2 dp)'], rows)}"


def main() -> None:
    if not DATA.is_dir():
        raise SystemExit(f"no shared data at {DATA}")
    with tempfile.TemporaryDirectory() as tmp:
        runs = Path(tmp)
        print(llmbar_table(run_jurist, runs), end="\n\n")
        print(pandalm_table(run_jurist, runs), end="\n\n")
        print(alpaca_table(run_jurist, runs))


if __name__ == "__main__":
    main()
