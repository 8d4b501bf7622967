"""The cost of pooled relevance judging (`jurist qrels`) on the bundled retrieval example, and its runs' metrics
under the human qrels. No model is called: the cost is counted from the prompts the relevance judge would send.

    .venv/bin/python bench/retrieval_pool_cost.py

For each pool depth: the (query, passage) pairs judged, i.e. calls (one per pair), per query, and the characters
of the prompts (system + user messages) per query, for the zero-shot and the few-shot relevance templates.
"""

from __future__ import annotations

from jurist import FakeBackend, make_judge
from jurist.retrieval import (
    evaluate_run,
    example_path,
    pool,
    read_passages,
    read_qrels,
    read_queries,
    read_run,
    relevance_config,
    relevance_items,
)

RUNS = ("dense", "bm25", "random")


def main() -> None:
    queries, passages = read_queries(example_path("queries.tsv")), read_passages(example_path("passages.jsonl"))
    human = read_qrels(example_path("human.qrels"))
    runs = {name: read_run(example_path(f"{name}.run"), queries) for name in RUNS}
    print(f"{len(queries)} queries, {len(passages)} passages, {len(human)} human qrels, runs: {', '.join(RUNS)}\n")
    print("| depth | pairs | calls/query | prompt chars/query, zero-shot | prompt chars/query, few-shot |")
    print("|---:|---:|---:|---:|---:|")
    for depth in (1, 2, 3):
        pairs = pool(runs.values(), depth)
        items = relevance_items(queries, passages, pairs)
        chars = []
        for few_shot in (False, True):
            judge = make_judge(FakeBackend("{}"), relevance_config(few_shot=few_shot, rationale="none"))
            total = sum(len(m.content) for item in items for r in judge.requests(item) for m in r.messages)
            chars.append(total / len(queries))
        per_query = len(pairs) / len(queries)
        print(f"| {depth} | {len(pairs)} | {per_query:.2f} | {chars[0]:.0f} | {chars[1]:.0f} |")
    print("\n| run | nDCG@10 | MAP | MRR | R@3 |\n|---|---:|---:|---:|---:|")
    for name, entries in runs.items():
        s = evaluate_run(entries, human, recall_k=3)
        print(f"| {name} | {s.ndcg_10:.4f} | {s.map:.4f} | {s.mrr:.4f} | {s.recall:.4f} |")


if __name__ == "__main__":
    main()
