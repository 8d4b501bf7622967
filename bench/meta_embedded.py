"""Meta-evaluation of the embedded judge (SmolLM2-135M-Instruct) against humans: LLMBar, SummEval, PandaLM.

    .venv/bin/python bench/meta_embedded.py --part llmbar                       # 419 pairs, about 20 minutes
    .venv/bin/python bench/meta_embedded.py --part pandalm --limit 100          # about 4 minutes
    .venv/bin/python bench/meta_embedded.py --part summeval --articles 20       # 320 summaries

Each part judges with jurist into bench/results/meta/<part>/ (a normal run directory: re-running resumes) and
prints markdown from `jurist.meta.meta_evaluate`, the same report `jurist meta-eval` prints. Run one at a time and
with nothing else on the CPU: two llama.cpp processes on two cores slow each other several-fold.
"""

from __future__ import annotations

import argparse
import asyncio
import os
from pathlib import Path

from jurist import JobOptions, JudgeConfig, ajudge, make_backend
from jurist.data.benchmarks import load_llmbar, load_pandalm, load_summeval
from jurist.data.load import LoadedData
from jurist.meta import MetaOptions, MetaReport, meta_evaluate
from jurist.run.log import read_run
from jurist.stats import selective_curve

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "results" / "meta"
LLMBAR_SETS = ("Natural", "Neighbor", "GPTInst", "GPTOut", "Manual")
OPTIONS = MetaOptions(n_resamples=1000, alphas=[0.1, 0.2, 0.3, 0.4, 0.45])


async def judge(data: LoadedData, out: Path, config: JudgeConfig) -> None:
    backend = make_backend("local")
    await ajudge(data, out=out, config=config, model=backend, options=JobOptions(cache=False))


def row(name: str, report: MetaReport) -> str:
    a, pc, cal = report.agreement, report.position_consistency, report.calibration
    assert a is not None
    return (
        f"| {name} | {report.labelled} | {a.accuracy.format(3)} | {a.cohen_kappa.format(3)} | "
        f"{pc.format(3) if pc else '-'} | {f'{cal.ece:.3f}' if cal else '-'} | {f'{cal.brier:.3f}' if cal else '-'} |"
    )


async def llmbar() -> None:
    config = JudgeConfig(mode="pairwise", rationale="none", allow_tie=False)
    print("| LLMBar set | pairs | accuracy [95% CI] | Cohen's kappa | position consistency | ECE | Brier |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    confidences, correct = [], []
    for name in LLMBAR_SETS:
        out = OUT / f"llmbar-{name}"
        await judge(load_llmbar(name), out, config)
        report = meta_evaluate(out, OPTIONS)
        print(row(name, report), flush=True)
        for v in read_run(out).verdicts:
            if v.error is None and (c := v.confidence()) is not None:
                confidences.append(c)
                correct.append(v.decision() == v.label)
    print(f"\nSelective evaluation on all {len(correct)} pairs (delta 0.1)\n")
    print("| guaranteed agreement (1 - alpha) | threshold | coverage | agreement on trusted items |")
    print("|---:|---:|---:|---:|")
    for s in selective_curve(confidences, correct, delta=0.1, alphas=[0.1, 0.2, 0.3, 0.4, 0.45, 0.5]):
        agreement = "-" if s.empirical_agreement is None else f"{s.empirical_agreement:.1%}"
        threshold = "none certified" if s.threshold is None else f"{s.threshold:.3f}"
        print(f"| {s.guaranteed_agreement:.0%} | {threshold} | {s.coverage:.1%} | {agreement} |")


async def summeval(articles: int) -> None:
    data = load_summeval("coherence")
    groups = sorted({it.metadata["group"] for it in data.items})[:articles]
    data.items = [it for it in data.items if it.metadata["group"] in set(groups)]
    out = OUT / f"summeval-coherence-{articles}"
    await judge(data, out, JudgeConfig(mode="pointwise", rubric="coherence", scale="1-5", rationale="none"))
    print(f"SummEval coherence, {len(data.items)} summaries of {len(groups)} articles\n")
    print("| score | level | Spearman [95% CI] | Kendall [95% CI] |")
    print("|---|---|---:|---:|")
    for score in ("score", "expected"):
        report = meta_evaluate(out, OPTIONS.model_copy(update={"score": score}))
        assert report.correlation is not None
        by = report.correlation.by_method
        for level in ("item", "group", "system"):
            s, k = getattr(by["spearman"], level), getattr(by["kendall"], level)
            if s is not None:
                print(f"| {score} | {level} | {s.format(3)} | {k.format(3)} |")


async def pandalm(limit: int) -> None:
    data = load_pandalm()
    data.items = data.items[:limit]
    out = OUT / f"pandalm-{limit}"
    await judge(data, out, JudgeConfig(mode="pairwise", rationale="none"))
    report = meta_evaluate(out, OPTIONS)
    print(f"PandaLM test set, first {limit} items (3 annotators; label = their majority)\n")
    print("| set | items | accuracy [95% CI] | Cohen's kappa | position consistency | ECE | Brier |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    print(row("PandaLM", report))
    if report.annotators is not None:
        a = report.annotators
        print(f"\nannotators: Fleiss' kappa {a.fleiss_kappa:.3f}, Krippendorff's alpha {a.krippendorff_alpha:.3f}")
    if report.alt_test is not None:
        t = report.alt_test
        print(
            f"Alternative Annotator Test (epsilon {t.epsilon}): winning rate {t.winning_rate:.2f}, advantage "
            f"probability {t.advantage_probability:.3f}, passed: {t.passed}"
        )
    if report.agreement is not None:
        print("\n```\n" + report.agreement.confusion.render() + "\n```")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--part", choices=["llmbar", "summeval", "pandalm"], required=True)
    parser.add_argument("--articles", type=int, default=40)
    parser.add_argument("--limit", type=int, default=200)
    args = parser.parse_args()
    os.environ.setdefault("JURIST_DATA_DIR", str(ROOT.parent / "shared" / "data"))
    if args.part == "llmbar":
        asyncio.run(llmbar())
    elif args.part == "summeval":
        asyncio.run(summeval(args.articles))
    else:
        asyncio.run(pandalm(args.limit))


if __name__ == "__main__":
    main()
