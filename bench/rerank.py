"""Reranking the bundled rerank example (`jurist rerank`): 6 queries, a first-stage run of depth 8 in a deliberately
imperfect order, human qrels for every passage. One row per method: calls and tokens per query, nDCG@10 and MAP
before -> after, and the failures (counted, with their reasons in each run's rerank_report.json).

    flock /tmp/embedded.lock .venv/bin/python bench/rerank.py                       # the embedded model, ~15 min
    .venv/bin/python bench/rerank.py --oracle                                       # no model: the ceiling rows only
    flock /tmp/embedded.lock .venv/bin/python bench/rerank.py --rows pairwise,listwise_shuffled  # the other rows

The judge's answers are short (no rationale), as `jurist rerank` asks by default. The oracle rows answer from the
human grades through a scripted backend: they show what each method does with a perfect judge (listwise in one pass
of windows is not a full sort). Runs go to --out (default /tmp/jurist_bench_rerank), so an interrupted bench resumes.
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from jurist import FakeBackend, GenerateRequest, JobOptions, JudgeConfig
from jurist.backends import Backend
from jurist.retrieval import (
    Passage,
    Qrel,
    Query,
    RunEntry,
    example_path,
    read_passages,
    read_qrels,
    read_queries,
    read_run,
    relevance_config,
)
from jurist.retrieval.rerank import PAIRWISE_TEMPLATE, RerankReport, rerank

DEPTH, WINDOW, STEP = 8, 4, 2
ROWS: dict[str, dict[str, Any]] = {
    "pointwise": {"method": "pointwise"},
    "listwise": {"method": "listwise"},
    "listwise_both_orders": {"method": "listwise", "both_orders": True},
    "pairwise_one_order": {"method": "pairwise", "swap": False},
    # not run by default (each takes long on the embedded model): ask with --rows
    "pairwise": {"method": "pairwise"},
    "listwise_shuffled": {"method": "listwise", "shuffle_window": True},
}
DEFAULT_ROWS = "pointwise,listwise,listwise_both_orders,pairwise_one_order"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", default=DEFAULT_ROWS, help="comma-separated rows: " + ", ".join(ROWS))
    parser.add_argument("--model", default="local", help="the judge (default: the embedded SmolLM2-135M)")
    parser.add_argument("--oracle", action="store_true", help="only the oracle rows (no model)")
    parser.add_argument("--out", type=Path, default=Path("/tmp/jurist_bench_rerank"))
    args = parser.parse_args()
    queries = read_queries(example_path("rerank_queries.tsv"))
    passages = read_passages(example_path("rerank_passages.jsonl"))
    run = read_run(example_path("rerank_first_stage.run"), queries)
    human = read_qrels(example_path("rerank_human.qrels"))
    grade_of_text = {passages[q.doc_id].text: q.grade for q in human}
    print(f"{len(queries)} queries, depth {DEPTH}, listwise window {WINDOW} step {STEP}; model {args.model}\n")
    print("| judge | method | calls/query | tokens/query | nDCG@10 before -> after | MAP before -> after | failures |")
    print("|---|---|---:|---:|---|---|---|")
    for name in ("pointwise", "pairwise", "listwise", "listwise_both_orders"):
        report = _rerank(run, queries, passages, human, args.out / f"oracle_{name}", name, _oracle(grade_of_text))
        _row("oracle (scripted)", name, report)
    if args.oracle:
        return
    for name in args.rows.split(","):
        report = _rerank(run, queries, passages, human, args.out / name, name, args.model)
        _row(args.model, name, report)


def _rerank(
    run: Sequence[RunEntry],
    queries: dict[str, Query],
    passages: dict[str, Passage],
    human: Sequence[Qrel],
    out: Path,
    name: str,
    model: str | Backend,
) -> RerankReport:
    settings = dict(ROWS[name])
    method, swap = settings.pop("method"), settings.pop("swap", True)
    config = None
    if method == "pointwise":
        config = relevance_config(rationale="none")
    elif method == "pairwise":
        config = JudgeConfig(mode="pairwise", template=PAIRWISE_TEMPLATE, rationale="none", swap=swap)
    result = rerank(
        run, queries, passages, out=out, method=method, depth=DEPTH, window=WINDOW, step=STEP, human=human,
        config=config, model=model, options=JobOptions(cache=False), **settings,
    )  # fmt: skip
    return result.report


def _row(judge: str, name: str, r: RerankReport) -> None:
    b, a = r.before, r.after
    assert b is not None and a is not None
    reasons = sorted({re.sub(r"^\S+: (window \S+: |\S+: )?", "", x)[:60] for x in r.failure_reasons})
    failures = f"{r.failures}" + (f" ({'; '.join(reasons[:2])})" if reasons else "")
    print(
        f"| {judge} | {name} | {r.calls_per_query:.1f} | {r.tokens_per_query:.0f} | {b.ndcg_10:.4f} -> {a.ndcg_10:.4f} "
        f"| {b.map:.4f} -> {a.map:.4f} | {failures} |",
        flush=True,
    )


def _oracle(grade_of_text: dict[str, int]) -> FakeBackend:
    """Answers every method from the human grades of the passages its prompt shows."""

    def grades(request: GenerateRequest) -> list[int]:
        text = "\n".join(m.content for m in request.messages)
        return [g for t, g in grade_of_text.items() if t in text]

    def reply(request: GenerateRequest) -> str:
        text = "\n".join(m.content for m in request.messages)
        if "# Passage A" in text:
            a = next(g for t, g in grade_of_text.items() if f"# Passage A\n{t}" in text)
            b = next(g for t, g in grade_of_text.items() if f"# Passage B\n{t}" in text)
            return f'{{"winner": "{"A" if a > b else "B" if b > a else "tie"}"}}'
        if "Rank all" in text:
            shown = [(text.index(t), g) for t, g in grade_of_text.items() if t in text]
            by_position = [g for _, g in sorted(shown)]
            best = sorted(range(len(by_position)), key=lambda k: -by_position[k])
            return " > ".join(f"[{k + 1}]" for k in best)
        return f'{{"score": "{grades(request)[0]}"}}'

    return FakeBackend(reply)


if __name__ == "__main__":
    main()
