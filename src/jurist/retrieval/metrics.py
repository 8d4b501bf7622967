"""How good runs are under a set of qrels (nDCG@10, MAP, MRR, Recall@k, through ir-measures), how far LLM qrels
agree with human ones, and whether they order the systems the same way (Kendall's tau, tau-AP).

ir-measures is used for the IR metrics: it is maintained, computes them with trec_eval's own code (pytrec_eval), so
figures match those papers report, and is small (~1.8 MB with pytrec_eval). Conventions, as in TREC DL/RAG:
- nDCG uses the graded qrels (linear gains); MAP, MRR and Recall count a grade >= `min_relevant` (default 2,
  "highly relevant") as relevant.
- A run's documents are taken in its rank order (ties in rank by score), not re-sorted by score.
- Each mean is over the queries of the qrels; a query the run did not answer scores 0 (trec_eval -c) and is counted.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from pydantic import BaseModel

from ..errors import InputError
from ..extras import require
from ..stats import cohen_kappa, correlate, krippendorff_alpha
from .trec import Qrel, RunEntry, qrels_table, run_table

MIN_RELEVANT = 2


class RunScores(BaseModel):
    """A run's mean metrics over the qrels' queries."""

    ndcg_10: float
    map: float
    mrr: float
    recall: float
    recall_k: int
    queries: int  # the qrels' queries, what each mean is over
    missing_queries: int  # of those, how many the run has no line for (each scored 0)


class QrelsAgreement(BaseModel):
    """Agreement of LLM grades with human grades on the (query, doc) pairs both judged."""

    pairs: int
    only_human: int  # judged by humans, with no LLM grade (not pooled, or the judgment failed)
    only_llm: int
    kappa: float  # Cohen's kappa on the 4 grades
    kappa_binary: float  # Cohen's kappa on relevant (grade >= min_relevant) vs not
    alpha: float  # Krippendorff's alpha, ordinal
    min_relevant: int


class SystemOrdering(BaseModel):
    """How alike two orderings of the same systems are: by their scores under human and under LLM qrels."""

    systems: int
    kendall_tau: float
    tau_ap: float


def evaluate_run(
    run: Iterable[RunEntry], qrels: Iterable[Qrel], *, recall_k: int = 100, min_relevant: int = MIN_RELEVANT
) -> RunScores:
    """nDCG@10, MAP, MRR and Recall@`recall_k` of one run against `qrels`."""
    ir = require("ir_measures", "IR metrics of runs")
    table = qrels_table(qrels)
    if not table:
        raise InputError("the qrels are empty: there is nothing to evaluate the run against", field="qrels")
    # scores from the rank order, so that ir-measures (which sorts by score) keeps the run's order
    ranked = {q: {doc: float(len(docs) - i) for i, doc in enumerate(docs)} for q, docs in run_table(run).items()}
    ranked = {q: docs for q, docs in ranked.items() if q in table}
    names = {
        "ndcg_10": ir.nDCG @ 10,
        "map": ir.AP(rel=min_relevant),
        "mrr": ir.RR(rel=min_relevant),
        "recall": ir.R(rel=min_relevant) @ recall_k,
    }
    sums = dict.fromkeys(names, 0.0)
    by_measure = {str(m): name for name, m in names.items()}
    for metric in ir.iter_calc(list(names.values()), table, ranked):
        sums[by_measure[str(metric.measure)]] += float(metric.value)
    n = len(table)
    return RunScores(
        **{name: total / n for name, total in sums.items()},
        recall_k=recall_k,
        queries=n,
        missing_queries=sum(1 for q in table if q not in ranked),
    )


def qrels_agreement(human: Iterable[Qrel], llm: Iterable[Qrel], *, min_relevant: int = MIN_RELEVANT) -> QrelsAgreement:
    """Cohen's kappa (4 grades, and binarised at `min_relevant`) and Krippendorff's alpha of LLM vs human grades."""
    truth = {(q.query_id, q.doc_id): q.grade for q in human}
    judged = {(q.query_id, q.doc_id): q.grade for q in llm}
    common = [key for key in truth if key in judged]
    if not common:
        raise InputError("the human and the LLM qrels share no (query, doc) pair", field="qrels")
    h, g = [truth[k] for k in common], [judged[k] for k in common]
    return QrelsAgreement(
        pairs=len(common),
        only_human=len(truth.keys() - judged.keys()),
        only_llm=len(judged.keys() - truth.keys()),
        kappa=cohen_kappa(h, g, labels=[0, 1, 2, 3]),
        kappa_binary=cohen_kappa([x >= min_relevant for x in h], [x >= min_relevant for x in g], labels=[False, True]),
        alpha=krippendorff_alpha([[a, b] for a, b in zip(h, g, strict=True)], level="ordinal"),
        min_relevant=min_relevant,
    )


def tau_ap(truth: Mapping[str, float], estimate: Mapping[str, float]) -> float:
    """Yilmaz, Aslam & Robertson's (2008) AP rank correlation of the `estimate` ordering against the `truth` one
    (higher score = better system). Unlike Kendall's tau it weighs swaps near the top more:

        tau_AP = 2 / (N - 1) * sum_{i=2..N} C(i) / (i - 1)  -  1

    over the systems in the estimate's order, where C(i) counts the systems above position i that truth also puts
    above that system. A tie in truth counts half; ties in the estimate are broken by name."""
    if set(truth) != set(estimate):
        raise InputError("tau-AP needs the same systems on both sides", field="systems")
    order = sorted(estimate, key=lambda s: (-estimate[s], s))
    n = len(order)
    if n < 2:
        return float("nan")
    total = 0.0
    for i in range(1, n):
        current = truth[order[i]]
        correct = sum(1.0 if truth[s] > current else 0.5 if truth[s] == current else 0.0 for s in order[:i])
        total += correct / i
    return 2.0 / (n - 1) * total - 1.0


def system_ordering(human: Mapping[str, float], llm: Mapping[str, float]) -> SystemOrdering:
    """Kendall's tau (tau-b) and tau-AP between the systems' scores under human qrels and under LLM qrels."""
    systems: Sequence[str] = sorted(human)
    if set(systems) != set(llm):
        raise InputError("the two sets of system scores name different systems", field="systems")
    x, y = [human[s] for s in systems], [llm[s] for s in systems]
    return SystemOrdering(systems=len(systems), kendall_tau=correlate(x, y, "kendall"), tau_ap=tau_ap(human, llm))
