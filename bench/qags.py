"""RAG groundedness against human factual-consistency scores: QAGS-CNNDM and QAGS-XSum (UniEval's copies).

    flock /tmp/embedded.lock .venv/bin/python bench/qags.py --n 25      # the first 25 summaries of each set

Each summary is an answer and its source document the one retrieved passage. Two judges on the embedded model
(or --model SPEC):
(a) groundedness (jurist.rag: the summary split into sentences, each judged supported / contradicted / not found
against the document; score = supported fraction, or the mean P(supported) from token probabilities) and (b) the
plain pointwise judge with the factual_consistency rubric (1-5; the document as the request), read as its label and
as its probability-weighted score. Correlations
with the human consistency score (Pearson, Spearman, Kendall; bootstrap 95% intervals, 1000 resamples) come from
jurist.stats.correlation_report, what `jurist meta-eval` uses for pointwise runs. QAGS has one summary per document,
so the summary-level correlation is the correlation over the summaries. Items with no score (failed) are counted
and left out. Runs go to bench/results/qags/<set>-<judge>/ (re-running resumes).
"""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path

from jurist import JobOptions, JudgeConfig, ajudge, make_backend
from jurist.data.benchmarks import load_unieval
from jurist.data.load import LoadedData
from jurist.outcomes import Score
from jurist.rag import GroundednessJudge
from jurist.run.log import read_run
from jurist.stats import correlation_report
from jurist.types import Verdict

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "results" / "qags"
DATA = ROOT.parent / "shared" / "data" / "unieval_meta"  # the shared copy (no download)
SETS = {"qags_cnndm": ("QAGS-CNNDM", 0.662), "qags_xsum": ("QAGS-XSum", 0.488)}  # UniEval's published Spearman
QUESTION = "Summarise the document."


def subsets(name: str, n: int) -> tuple[LoadedData, LoadedData]:
    """The first n items of a set, as RAG items (the document as the context) and as UniEval gives them."""
    data = load_unieval(name, root=DATA)
    # the human score stays in metadata["scores"]: a pointwise judge refuses a gold label off its 1-5 scale
    data.items = [it.model_copy(update={"label": None}) for it in data.items[:n]]
    rag = LoadedData(
        path=data.path,
        items=[it.model_copy(update={"prompt": QUESTION, "contexts": [it.prompt]}) for it in data.items],
        lines=data.lines,
        unit=data.unit,
    )
    return rag, data


def scored(verdicts: list[Verdict], expected: bool = False) -> tuple[list[float], list[float], int]:
    """Human and judge scores of the verdicts with a score, and how many had none."""
    human, judge = [], []
    for v in verdicts:
        outcome = v.outcome if isinstance(v.outcome, Score) and v.error is None else None
        value = None if outcome is None else (outcome.expected if expected else outcome.score)
        if value is not None:
            human.append(float((v.metadata or {})["scores"]["consistency"]))
            judge.append(float(value))
    return human, judge, len(verdicts) - len(human)


def row(label: str, name: str, verdicts: list[Verdict], published: float, expected: bool = False) -> str:
    human, judge, failed = scored(verdicts, expected)
    calls = sum(v.usage.calls for v in verdicts)
    if len(human) < 3:
        return f"| {label} | {name} | {len(verdicts)} | {failed} | - | - | - | {published:.3f} | {calls} |"
    report = correlation_report(human, judge, n_resamples=1000, seed=0)
    cells = [report.by_method[m].item.format(3) for m in ("pearson", "spearman", "kendall")]
    return f"| {label} | {name} | {len(verdicts)} | {failed} | {' | '.join(cells)} | {published:.3f} | {calls} |"


async def main(n: int, spec: str) -> None:
    options = JobOptions(cache=False)
    columns = ["set", "judge", "summaries", "failed", "Pearson [95% CI]", "Spearman [95% CI]", "Kendall [95% CI]"]
    print("| " + " | ".join([*columns, "UniEval Spearman", "calls"]) + " |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|")
    for name, (label, published) in SETS.items():
        rag, plain = subsets(name, n)
        tag = "" if spec == "local" else "-" + "".join(c if c.isalnum() else "_" for c in spec)
        grounded = OUT / f"{name}-{n}{tag}-groundedness"
        model = make_backend(spec)
        await ajudge(rag, out=grounded, judge=lambda b: GroundednessJudge(b), model=model, options=options)
        verdicts = read_run(grounded).verdicts
        print(row(label, "groundedness, supported fraction", verdicts, published), flush=True)
        print(row(label, "groundedness, mean P(supported)", verdicts, published, expected=True), flush=True)
        claims = [c for v in verdicts for c in (v.strategy or {}).get("claims", [])]
        failed_claims = sum(c["label"] is None for c in claims)
        found = sum(bool(c["evidence_found"]) for c in claims)
        quoted = sum(bool(c["evidence"]) for c in claims)
        print(f"<!-- {label}: {len(claims)} claims, {failed_claims} failed, evidence found {found} of {quoted} -->")
        pointwise = OUT / f"{name}-{n}{tag}-pointwise"
        config = JudgeConfig(mode="pointwise", rubric="factual_consistency", rationale="none")
        await ajudge(plain, out=pointwise, config=config, model=make_backend(spec), options=options)
        verdicts = read_run(pointwise).verdicts
        print(row(label, "pointwise 1-5, label", verdicts, published), flush=True)
        print(row(label, "pointwise 1-5, expected", verdicts, published, expected=True), flush=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=25, help="the first N summaries of each set")
    parser.add_argument("--model", default="local", help="the judge's model spec (default: the embedded model)")
    args = parser.parse_args()
    asyncio.run(main(args.n, args.model))
