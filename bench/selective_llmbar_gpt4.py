"""Selective evaluation (Trust or Escalate) on LLMBar with GPT-4's real verdicts: how much of the data GPT-4 can be
trusted on, with a guarantee, when its confidence is its swap consistency.

    .venv/bin/python bench/selective_llmbar_gpt4.py      # about 10 seconds

GPT-4's recorded texts for both orders of all 419 LLMBar pairs (Vanilla_NoRules) are replayed through jurist's
pairwise judge (ties allowed; an inconsistent pair is a tie); `jurist meta-eval` then gives each verdict the
confidence 1 when the two orders agree and 0.5 when they do not. The whole set is the calibration set here, so the
coverage shown is the coverage on it (a real use fits the threshold on one labelled split and applies it to new
runs).
"""

from __future__ import annotations

import asyncio
import os
import tempfile
from pathlib import Path

from jurist import JobOptions, JudgeConfig, ajudge
from jurist.backends.replay import ReplayBackend, llmbar_records
from jurist.data.benchmarks import load_llmbar
from jurist.data.load import LoadedData
from jurist.meta import MetaOptions, meta_evaluate

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
SETS = {"Natural": "Natural", "Neighbor": "Adversarial/Neighbor", "GPTInst": "Adversarial/GPTInst",
        "GPTOut": "Adversarial/GPTOut", "Manual": "Adversarial/Manual"}  # fmt: skip


async def curve(names: list[str]) -> None:
    items, records = [], []
    for name in names:
        items += load_llmbar(name).items
        result = DATA / "llmbar" / "LLMBar" / SETS[name] / "evaluators" / "GPT-4" / "Vanilla_NoRules" / "result.json"
        records += llmbar_records(result)
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "gpt4"
        await ajudge(
            LoadedData(path="llmbar", items=items),
            out=out,
            config=JudgeConfig(mode="pairwise", on_inconsistent="tie"),
            model=ReplayBackend(records, name="replay:gpt4-llmbar"),
            options=JobOptions(cache=False),
        )
        alphas = [0.05, 0.1, 0.15, 0.2, 0.25, 0.3]
        report = meta_evaluate(out, MetaOptions(n_resamples=1000, alphas=alphas, delta=0.1))
    assert report.agreement is not None and report.selective is not None
    print(f"\nGPT-4 on {' + '.join(names)} ({report.labelled} pairs): accuracy {report.agreement.accuracy.format()}\n")
    print("| guaranteed agreement (1 - alpha), delta 0.1 | threshold | coverage | agreement on trusted items |")
    print("|---:|---:|---:|---:|")
    for s in report.selective:
        agreement = "-" if s.empirical_agreement is None else f"{s.empirical_agreement:.1%}"
        threshold = "none certified" if s.threshold is None else f"{s.threshold:.2f}"
        print(f"| {s.guaranteed_agreement:.0%} | {threshold} | {s.coverage:.1%} | {agreement} |")


async def main() -> None:
    os.environ.setdefault("JURIST_DATA_DIR", str(DATA))
    await curve(["Natural"])
    await curve(list(SETS))


if __name__ == "__main__":
    asyncio.run(main())
