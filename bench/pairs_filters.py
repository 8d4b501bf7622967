"""Preference-pair filters on real judged runs: how many pairs `jurist pairs` keeps under each filter, why it drops the
rest, and (LLMBar, which has gold labels) how often a kept pair's chosen response is the better one.

    .venv/bin/python bench/pairs_filters.py      # about 45 seconds

1. LLMBar, all five sets (419 pairs): GPT-4's recorded verdict texts for both orders (Vanilla_NoRules) replayed
   through jurist's pairwise judge (the `replay:` backend: a records file written here with
   `jurist.backends.replay.llmbar_records`, then `jurist judge ... --model replay:FILE`), then `jurist pairs`.
   GPT-4's replayed texts carry no probabilities, so the margin filter does not apply here.
2. AlpacaEval 2.0: GPT-4-turbo's recorded preferences of one system against the baseline (one order, the soft
   preference kept as the verdicts' probabilities: `jurist import --format alpaca_eval`), then `jurist pairs` with
   margins.
Every `jurist` command is run as a process, as a user would run it, and printed above its table.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from jurist.backends.replay import llmbar_records
from jurist.run.log import read_run

PROJECT = Path(__file__).resolve().parents[1]
DATA = PROJECT.parent / "shared" / "data"
JURIST = str(Path(sys.executable).with_name("jurist"))
SETS = {"Natural": "Natural", "Neighbor": "Adversarial/Neighbor", "GPTInst": "Adversarial/GPTInst",
        "GPTOut": "Adversarial/GPTOut", "Manual": "Adversarial/Manual"}  # fmt: skip


def jurist(*args: str | Path, show: bool = True) -> None:
    command = [JURIST, *map(str, args)]
    if show:
        print("    jurist " + " ".join(str(a) for a in args))
    done = subprocess.run(command, capture_output=True, text=True, env={**os.environ, "JURIST_DATA_DIR": str(DATA)})
    if done.returncode != 0:
        raise SystemExit(f"failed ({done.returncode}): {' '.join(command)}\n{done.stderr}")


def gold_of(run: Path) -> dict[tuple[str, str, str], bool]:
    """(prompt, chosen, rejected) -> whether chosen is the labelled better response, for both choices of each item."""
    gold = {}
    for v in read_run(run).verdicts:
        if v.item is not None and v.label in ("A", "B"):
            a, b = v.item.response_a or "", v.item.response_b or ""
            gold[(v.item.prompt, a, b)] = v.label == "A"
            gold[(v.item.prompt, b, a)] = v.label == "B"
    return gold


def table(runs: dict[str, Path], settings: list[tuple[str, list[str]]], out: Path, *, labelled: bool) -> None:
    reasons: list[str] = []
    rows = []
    for name, run in runs.items():
        gold = gold_of(run) if labelled else {}
        for label, flags in settings:
            target = out / f"{name}-{len(rows)}.jsonl"
            print(f"    jurist pairs {run.name} --out pairs.jsonl {' '.join(flags)}".rstrip())
            jurist("pairs", run, "--out", target, *flags, show=False)
            report = json.loads(target.with_name(f"{target.stem}.report.json").read_text())
            pairs = [json.loads(line) for line in target.read_text().splitlines()]
            right = [gold[(p["prompt"], p["chosen"], p["rejected"])] for p in pairs if (p["prompt"], p["chosen"],
                     p["rejected"]) in gold]  # fmt: skip
            reasons += [r for r in report["dropped"] if r not in reasons]
            rows.append((name, label, report, right))
    print()
    head = ["run", "filters", "verdicts", "failed", *[f"dropped: {r}" for r in reasons], "kept", "of which one-order"]
    head += ["chosen = gold"] if labelled else []
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * 2 + "---:|" * (len(head) - 2))
    for name, label, report, right in rows:
        agree = f"{sum(right) / len(right):.1%} ({sum(right)}/{len(right)})" if right else "-"
        counts = [str(report["dropped"].get(r, 0)) for r in reasons]
        cells = [name, label, str(report["verdicts"]), str(report["failed_verdicts"]), *counts, str(report["kept"])]
        cells += [str(report["unchecked_order"])] + ([agree] if labelled else [])
        print("| " + " | ".join(cells) + " |")
    print()


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        records = tmp_path / "gpt4-llmbar.jsonl"
        with records.open("w", encoding="utf-8") as fh:
            for folder in SETS.values():
                evaluators = DATA / "llmbar" / "LLMBar" / folder / "evaluators"
                for record in llmbar_records(evaluators / "GPT-4" / "Vanilla_NoRules" / "result.json"):
                    fh.write(record.model_dump_json() + "\n")
        runs = {}
        print("LLMBar (gold labels), GPT-4 replayed, both orders:\n")
        for name in SETS:
            runs[name] = tmp_path / f"llmbar-{name}"
            jurist("judge", f"llmbar:{name}", "--mode", "pairwise", "--model", f"replay:{records}", "--no-cache",
                   "--out", runs[name])  # fmt: skip
        settings = [
            ("no filter", ["--no-consistency", "--keep-duplicates"]),
            ("consistency (default)", []),
            ("consistency, length ratio <= 2", ["--max-length-ratio", "2"]),
            ("consistency, length ratio <= 1.5", ["--max-length-ratio", "1.5"]),
        ]
        table(runs, settings, tmp_path, labelled=True)

        print("AlpacaEval 2.0, GPT-4-turbo's preferences against the baseline (one order, with probabilities):\n")
        alpaca = {}
        for system in ("claude-2.1", "gpt-3.5-turbo-1106_verbose"):
            alpaca[system] = tmp_path / f"alpaca-{system}"
            decisions = DATA / "alpaca_eval" / "annotations" / f"{system}.json"
            jurist("import", f"alpaca_eval:{system}", "--format", "alpaca_eval", "--decisions", decisions, "--out",
                   alpaca[system])  # fmt: skip
        settings = [
            ("none", []),
            ("margin >= 0.5", ["--min-margin", "0.5"]),
            ("margin >= 0.9", ["--min-margin", "0.9"]),
            ("margin >= 0.5, length ratio <= 2", ["--min-margin", "0.5", "--max-length-ratio", "2"]),
        ]
        table(alpaca, settings, tmp_path, labelled=False)  # its labels are the same annotator's preferences


if __name__ == "__main__":
    main()
