"""Published meta-evaluation conventions: a benchmark's own headline metric, counted from a run's verdicts exactly as
the benchmark's authors count it, so a published judge table can be checked figure by figure.

Each convention reads the verdicts of a pairwise run (labelled ones, failed ones included: how a failure counts is
part of each convention) and gives its figures in the authors' unit, each with a bootstrap interval:

- `llmbar` (Zeng et al., 2024; princeton-nlp/LLMBar, LLMEvaluator/evaluate.py): Acc = the mean of the two orders'
  accuracies, Agr = the share of items whose two orders give the same answer. An order LLMBar could not read (a
  failure, an unreadable answer, a tie, which its parser cannot return) is wrong, and two of them agree.
- `judgebench` (Tan et al., 2024; ScalerLab/JudgeBench, utils/metrics.py): per pair, each order votes +1 when it
  names the label, -1 when it names the other response, 0 otherwise (a tie, a failure); the pair is right when the
  sum is positive, so one right order and one tie is right. A run with one order: right when its winner is the label.
- `pandalm` (Wang et al., 2024; WeOpenML/PandaLM, data/compute_metrics.py): accuracy and macro precision, recall and
  F1 over {tie, A, B} of the verdict's winner against the label (the annotators' majority); a tie, a missing winner
  and a failure all count as a tie, as the authors count an unreadable prediction.
- `autoj` (Li et al., 2024; GAIR-NLP/auto-j, codes/leaderboard/pairwise_eval.py): with both orders, agreement = the
  share of items both orders get right (a tie label must be answered tie in both), consistency = the share whose
  orders agree; with one order, agreement = the share it gets right. A failed order is wrong and agrees with nothing.
- `mt_bench` (Zheng et al., 2023; lm-sys/FastChat, fastchat/llm_judge/compute_agreement.py): the judge's vote
  against every human vote of the item (metadata `annotations`, else the label), with ties and without them
  (pairs where either side says tie are left out); per turn too when items carry `turn`. Items without a judge vote
  are left out, as FastChat leaves them out; the figure with them counted as disagreements is shown next to it.
- `rewardbench` (Lambert et al., 2024; allenai/reward-bench, rewardbench/constants.py and utils.py): per item 1 when
  the winner is the label, 0 when it is the other response, 0.5 otherwise (a tie, a failure: RewardBench's
  generative scoring); accuracy per subset (metadata `subset`), then per section the subsets' accuracies weighted by
  RewardBench's fixed example counts, and the score as the mean of the four sections.
- `alpaca_eval` (Dubois et al., 2024; tatsu-lab/alpaca_eval, src/alpaca_eval/metrics/helpers.py, describe_head2head):
  the win rate of response B (the model) against response A (the baseline), the judge's soft preference averaged:
  per item P(B) + P(tie) / 2 where the verdict has probabilities (AlpacaEval's weighted annotator: preference - 1),
  else 1 for B, 1/2 for a tie, 0 for A; its standard error is the sample SD / sqrt(n); the discrete win rate counts
  the winner only. Items with no preference (a failure) are left out, as AlpacaEval drops them; the win rate with
  them counted as losses is shown next to it. A leaderboard figure rather than agreement with labels: the labels
  play no part. The length-controlled win rate is not given: AlpacaEval fits it with instruction difficulties
  estimated from its whole leaderboard, which no run holds.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from pydantic import BaseModel, Field

from .errors import InputError
from .outcomes import Preference, Winner, swap_winner, winner_share
from .stats import Estimate, bootstrap_ci
from .types import Verdict


def _winner(verdict: Verdict) -> Winner | None:
    """The verdict's winner; None when it failed or decided nothing."""
    return None if verdict.error is not None else verdict.outcome_as(Preference).winner


class Figure(BaseModel):
    """One figure of a convention, in the authors' unit (`unit` "%" for percentages), with a bootstrap interval."""

    name: str
    estimate: Estimate
    unit: str = ""
    digits: int = 2
    count: str | None = Field(None, description="what the authors print next to it, e.g. '187 / 200'")

    def format(self) -> str:
        e, d = self.estimate, self.digits
        text = f"{e.value:.{d}f}{self.unit}"
        if not (math.isnan(e.low) or math.isnan(e.high)):
            text += f" [{e.low:.{d}f}, {e.high:.{d}f}]"
        return text + (f"  ({self.count})" if self.count else "")


class ConventionReport(BaseModel):
    name: str
    source: str
    counts: str = Field(description="what the convention counts, in one sentence")
    items: int
    figures: list[Figure]
    detail: list[Figure] = Field(default_factory=list, description="per subset, per turn, per order...")
    notes: list[str] = Field(default_factory=list)

    def headline(self) -> dict[str, str]:
        """The figures as short text, by name (for tables of many groups)."""
        return {f.name: f.format() for f in self.figures}

    def render(self) -> str:
        lines = [f"{self.name} ({self.source})", f"counts: {self.counts}", f"items: {self.items}"]
        width = max(len(f.name) for f in [*self.figures, *self.detail])
        lines += [f"{f.name.ljust(width)}  {f.format()}" for f in self.figures]
        if self.detail:
            lines += ["", *(f"{f.name.ljust(width)}  {f.format()}" for f in self.detail)]
        lines += [f"note: {note}" for note in self.notes]
        return "\n".join(lines)


Convention = Callable[[list[Verdict], int, int], ConventionReport]


# -- helpers -----------------------------------------------------------------------------------------------------


def _figure(
    name: str,
    statistic: Callable[..., float],
    arrays: Sequence[Any],
    n_resamples: int,
    seed: int,
    *,
    unit: str = "%",
    digits: int = 2,
    count: str | None = None,
    strata: Sequence[Any] | np.ndarray | None = None,
) -> Figure:
    if n_resamples == 0:  # the figure alone (a reproduction script that only compares values)
        value = float(statistic(*(np.asarray(a) for a in arrays)))
        estimate = Estimate(value=value, low=math.nan, high=math.nan, n=len(arrays[0]), method="none")
    else:
        estimate = bootstrap_ci(statistic, *arrays, n_resamples=n_resamples, seed=seed, strata=strata)
    return Figure(name=name, estimate=estimate, unit=unit, digits=digits, count=count)


def _percent_of_mean(values: np.ndarray) -> float:
    return float(100 * values.mean())


def _mean_figure(
    name: str, values: Sequence[float] | np.ndarray, n_resamples: int, seed: int, count: str | None = None
) -> Figure:
    """A share of items, in percent: the mean of one value per item."""
    return _figure(name, _percent_of_mean, [np.asarray(values, dtype=float)], n_resamples, seed, count=count)


def _ratio_percent(hits: np.ndarray, totals: np.ndarray) -> float:
    total = totals.sum()
    return float(100 * hits.sum() / total) if total else float("nan")


def two_orders(verdict: Verdict) -> tuple[Winner | None, Winner | None] | None:
    """The winners of the original order (AB) and of the swapped one (BA, mapped back to the original labels); None
    for an order that failed. None when the verdict does not carry both orders (a one-order run)."""
    orders = {o.order: o.winner for o in verdict.outcome_as(Preference).orders or []}
    if "AB" in orders and "BA" in orders:
        return orders["AB"], orders["BA"]
    return None


def _both_orders(verdicts: list[Verdict], name: str) -> list[tuple[Winner | None, Winner | None]]:
    """Both orders of every verdict; a verdict that failed before any order was recorded has two failed orders."""
    pairs: list[tuple[Winner | None, Winner | None]] = []
    one_order = 0
    for v in verdicts:
        found = two_orders(v)
        if found is None and v.error is None:
            one_order += 1
        pairs.append(found or (None, None))
    if one_order:
        raise InputError(
            f"the {name} convention needs both presentation orders of every item, but {one_order} of "
            f"{len(verdicts)} verdicts carry one order only",
            hint="judge with both orders (swap on, the default; not --no-swap), or import both orders",
        )
    return pairs


def _failed_orders(pairs: list[tuple[Winner | None, Winner | None]]) -> int:
    return sum(w is None for pair in pairs for w in pair)


# -- LLMBar ------------------------------------------------------------------------------------------------------


def llmbar_figures(
    first: Sequence[str | None], second: Sequence[str | None], labels: Sequence[str], n_resamples: int, seed: int
) -> list[Figure]:
    """LLMBar's statistics.json from per-order answers (None: no answer LLMBar could read), in percent: Acc and
    Agr, then each order's accuracy and both orders right."""
    n = len(labels)
    c1 = np.array([a is not None and a == t for a, t in zip(first, labels, strict=True)], dtype=float)
    c2 = np.array([a is not None and a == t for a, t in zip(second, labels, strict=True)], dtype=float)
    # LLMBar's `equal` compares the two parsed answers as they are: two unreadable answers (None) are equal
    equal = np.array([a == b for a, b in zip(first, second, strict=True)], dtype=float)
    return [
        _mean_figure("Acc", (c1 + c2) / 2, n_resamples, seed, count=f"{int(c1.sum() + c2.sum())} / {2 * n}"),
        _mean_figure("Agr", equal, n_resamples, seed, count=f"{int(equal.sum())} / {n}"),
        _mean_figure("Acc, first order", c1, n_resamples, seed, count=f"{int(c1.sum())} / {n}"),
        _mean_figure("Acc, swapped order", c2, n_resamples, seed, count=f"{int(c2.sum())} / {n}"),
        _mean_figure("both orders right", c1 * c2, n_resamples, seed, count=f"{int((c1 * c2).sum())} / {n}"),
    ]


def llmbar(verdicts: list[Verdict], n_resamples: int = 1000, seed: int = 0) -> ConventionReport:
    pairs = _both_orders(verdicts, "llmbar")
    # LLMBar's parser reads only "Output (a)" / "Output (b)": a tie is an answer it cannot read
    readable = [tuple(w if w in ("A", "B") else None for w in pair) for pair in pairs]
    figures = llmbar_figures(
        [a for a, _ in readable], [b for _, b in readable], [str(v.label) for v in verdicts], n_resamples, seed
    )
    report = ConventionReport(
        name="llmbar",
        source="Zeng et al. 2024, princeton-nlp/LLMBar LLMEvaluator/evaluate.py",
        counts="Acc = mean of the two orders' accuracies (correct_average), Agr = share of items whose two orders "
        "answer the same (equal)",
        items=len(verdicts),
        figures=figures[:2],
        detail=figures[2:],
    )
    unread = sum(w is None for pair in readable for w in pair)
    if unread:
        both = sum(a is None and b is None for a, b in readable)
        report.notes.append(
            f"{unread} of {2 * len(verdicts)} orders have no answer LLMBar reads ({_failed_orders(pairs)} failed, "
            f"the rest ties): each is wrong, and the {both} items with neither order read count as agreeing, as "
            "LLMBar's `equal` counts them"
        )
    return report


# -- JudgeBench --------------------------------------------------------------------------------------------------


def _vote(decision: str | None, label: str) -> int:
    if decision == label:
        return 1
    return -1 if decision is not None and decision == swap_winner(label) else 0


def judgebench(verdicts: list[Verdict], n_resamples: int = 1000, seed: int = 0) -> ConventionReport:
    labels = [str(v.label) for v in verdicts]
    single = not any(two_orders(v) for v in verdicts)
    if single:
        right = [float(_winner(v) == t) for v, t in zip(verdicts, labels, strict=True)]
        counts = "one order per pair: right when the decision is the label"
        notes = []
    else:
        pairs = _both_orders(verdicts, "judgebench")
        sums = [_vote(a, t) + _vote(b, t) for (a, b), t in zip(pairs, labels, strict=True)]
        right = [float(s > 0) for s in sums]
        counts = "per pair, each order votes +1 for the label, -1 for the other response, 0 for a tie or a failure; "
        counts += "right when the sum is positive"
        notes = [
            f"pairs: {sum(s > 0 for s in sums)} right, {sum(s < 0 for s in sums)} wrong, "
            f"{sum(s == 0 for s in sums)} undecided (sum 0, counted as not right)"
        ]
        if failed := _failed_orders(pairs):
            notes.append(f"{failed} orders failed or gave no decision: each votes 0, as JudgeBench counts a null")
    n = len(verdicts)
    return ConventionReport(
        name="judgebench",
        source="Tan et al. 2024, ScalerLab/JudgeBench utils/metrics.py",
        counts=counts,
        items=n,
        figures=[_mean_figure("accuracy", right, n_resamples, seed, count=f"{int(sum(right))} / {n}")],
        notes=notes,
    )


# -- PandaLM -----------------------------------------------------------------------------------------------------

PANDALM_CLASSES: tuple[Winner, ...] = ("tie", "A", "B")


def macro_precision_recall_f1(truth: np.ndarray, predicted: np.ndarray, n_classes: int) -> tuple[float, float, float]:
    """Macro-averaged precision, recall and F1 over classes 0..n_classes-1 (class codes), a class with no prediction
    (or no true item) scoring 0, as scikit-learn's precision_recall_fscore_support(average="macro",
    zero_division=0) with every class listed. Plain numpy, since it runs once per bootstrap resample."""
    counts = np.bincount(truth * n_classes + predicted, minlength=n_classes * n_classes).reshape(n_classes, n_classes)
    hits = np.diag(counts).astype(float)
    predicted_n, true_n = counts.sum(axis=0), counts.sum(axis=1)
    precision = np.divide(hits, predicted_n, out=np.zeros(n_classes), where=predicted_n > 0)
    recall = np.divide(hits, true_n, out=np.zeros(n_classes), where=true_n > 0)
    both = precision + recall
    f1 = np.divide(2 * precision * recall, both, out=np.zeros(n_classes), where=both > 0)
    return float(precision.mean()), float(recall.mean()), float(f1.mean())


def pandalm_figures(truth: Sequence[str], predicted: Sequence[str], n_resamples: int, seed: int) -> list[Figure]:
    """PandaLM's accuracy and macro precision / recall / F1 over tie, A, B (as fractions)."""
    code: dict[str, int] = {label: i for i, label in enumerate(PANDALM_CLASSES)}
    t = np.array([code[x] for x in truth])
    p = np.array([code[x] for x in predicted])
    k = len(PANDALM_CLASSES)

    def part(index: int) -> Callable[[np.ndarray, np.ndarray], float]:
        return lambda a, b: macro_precision_recall_f1(a, b, k)[index]

    def figure(name: str, statistic: Callable[..., float]) -> Figure:
        return _figure(name, statistic, [t, p], n_resamples, seed, unit="", digits=4)

    accuracy = figure("accuracy", lambda a, b: float(np.mean(a == b)))
    accuracy.count = f"{int(np.sum(t == p))} / {len(t)}"
    return [accuracy, figure("precision", part(0)), figure("recall", part(1)), figure("f1", part(2))]


def pandalm(verdicts: list[Verdict], n_resamples: int = 1000, seed: int = 0) -> ConventionReport:
    truth = [str(v.label) for v in verdicts]
    unknown = sorted({t for t in truth if t not in PANDALM_CLASSES})
    if unknown:
        raise InputError(
            f"the pandalm convention scores labels A, B and tie; this run's labels include {unknown}",
            hint="map the labels to A/B/tie when judging (--label-map)",
        )
    # a failed verdict, or one with no winner, is an unreadable prediction: PandaLM's script counts it as a tie
    predicted = [_winner(v) or "tie" for v in verdicts]
    report = ConventionReport(
        name="pandalm",
        source="Wang et al. 2024, WeOpenML/PandaLM data/compute_metrics.py",
        counts="accuracy and macro precision / recall / F1 over {tie, A, B} against the label (the annotators' "
        "majority); a failed or undecided verdict counts as a tie",
        items=len(verdicts),
        figures=pandalm_figures(truth, predicted, n_resamples, seed),
    )
    unread = sum(_winner(v) is None for v in verdicts)
    if unread:
        report.notes.append(f"{unread} verdicts failed or have no winner and count as a tie, as PandaLM counts them")
    if any(two_orders(v) for v in verdicts):
        report.notes.append("both orders were judged: the prediction is the verdict's winner, which combines them")
    return report


# -- Auto-J ------------------------------------------------------------------------------------------------------


def autoj(verdicts: list[Verdict], n_resamples: int = 1000, seed: int = 0) -> ConventionReport:
    labels = [str(v.label) for v in verdicts]
    n = len(verdicts)
    if not any(two_orders(v) for v in verdicts):
        right = [float(_winner(v) == t) for v, t in zip(verdicts, labels, strict=True)]
        return ConventionReport(
            name="autoj",
            source="Li et al. 2024, GAIR-NLP/auto-j codes/leaderboard/pairwise_eval.py (type single)",
            counts="agreement = share of items whose one decision is the label (ties included)",
            items=n,
            figures=[_mean_figure("agreement", right, n_resamples, seed, count=f"{int(sum(right))} / {n}")],
        )
    pairs = _both_orders(verdicts, "autoj")
    both = [float(a is not None and a == b == t) for (a, b), t in zip(pairs, labels, strict=True)]
    agree = [float(a is not None and a == b) for a, b in pairs]
    report = ConventionReport(
        name="autoj",
        source="Li et al. 2024, GAIR-NLP/auto-j codes/leaderboard/pairwise_eval.py (type pairwise)",
        counts="agreement = share of items both orders get right (ties included), consistency = share whose two "
        "orders agree",
        items=n,
        figures=[
            _mean_figure("agreement", both, n_resamples, seed, count=f"{int(sum(both))} / {n}"),
            _mean_figure("consistency", agree, n_resamples, seed, count=f"{int(sum(agree))} / {n}"),
        ],
    )
    if failed := _failed_orders(pairs):
        report.notes.append(f"{failed} orders failed: each is wrong and agrees with nothing (Auto-J has no failures)")
    return report


# -- MT-Bench ----------------------------------------------------------------------------------------------------

_FASTCHAT_VOTES = {"model_a": "A", "model_b": "B", "a": "A", "b": "B"}


def _human_vote(value: object, verdict: Verdict) -> str:
    text = str(value).strip()
    if "tie" in text.lower():  # FastChat: "tie" and "tie (bothbad)" are the same vote
        return "tie"
    vote = _FASTCHAT_VOTES.get(text.lower())
    if vote is None:
        raise InputError(
            f"human vote {value!r} of item {verdict.id} is not A, B, tie, model_a or model_b",
            field="annotations",
            hint="map the votes to A/B/tie when loading (mt_bench_human:PATH does)",
        )
    return vote


def _mt_bench_counts(judge: str | None, humans: list[str], ties: bool) -> tuple[int, int]:
    """(agreeing votes, votes compared) of one item, as FastChat's get_mt_bench_agreement counts them."""
    if judge is None or (not ties and judge == "tie"):
        return 0, 0
    kept = [h for h in humans if ties or h != "tie"]
    return sum(h == judge for h in kept), len(kept)


def mt_bench(verdicts: list[Verdict], n_resamples: int = 1000, seed: int = 0) -> ConventionReport:
    humans = [
        [_human_vote(x, v) for x in a]
        if isinstance(a := (v.metadata or {}).get("annotations"), list)
        else [_human_vote(v.label, v)]
        for v in verdicts
    ]
    # a failed or incomplete verdict (one order failed) is no vote of the judge's: FastChat has none for the pair
    judged: list[str | None] = [_winner(v) if v.incomplete is None else None for v in verdicts]
    turns = [(v.metadata or {}).get("turn") for v in verdicts]

    def figure(name: str, keep: list[bool], ties: bool, failures_wrong: bool = False) -> Figure:
        rows = [(j, h) for j, h, k in zip(judged, humans, keep, strict=True) if k]
        counted = [_mt_bench_counts(j, h, ties) for j, h in rows]
        if failures_wrong:  # a missing judge vote disagrees with every human vote it would have met
            counted = [
                (a, t) if j is not None else (0, len([x for x in h if ties or x != "tie"]))
                for (a, t), (j, h) in zip(counted, rows, strict=True)
            ]
        hits = np.array([a for a, _ in counted], dtype=float)
        totals = np.array([t for _, t in counted], dtype=float)
        return _figure(
            name,
            _ratio_percent,
            [hits, totals],
            n_resamples,
            seed,
            count=f"{int(hits.sum())} / {int(totals.sum())} votes",
        )

    everything = [True] * len(verdicts)
    missing = sum(j is None for j in judged)
    figures = [figure("agreement w/ tie", everything, True), figure("agreement w/o tie", everything, False)]
    notes = []
    if missing:
        figures += [
            figure("w/ tie, failures as disagreements", everything, True, True),
            figure("w/o tie, failures as disagreements", everything, False, True),
        ]
        notes.append(f"{missing} items have no judge vote (failed or undecided): FastChat leaves them out")
    detail = []
    for turn in sorted({t for t in turns if t is not None}, key=str):
        keep = [t == turn for t in turns]
        detail += [figure(f"turn {turn} w/ tie", keep, True), figure(f"turn {turn} w/o tie", keep, False)]
    return ConventionReport(
        name="mt_bench",
        source="Zheng et al. 2023, lm-sys/FastChat fastchat/llm_judge/compute_agreement.py",
        counts="share of (judge vote, human vote) pairs that agree, over every human vote of each item; w/o tie "
        "leaves out pairs where either side says tie",
        items=len(verdicts),
        figures=figures,
        detail=detail,
        notes=notes,
    )


# -- RewardBench -------------------------------------------------------------------------------------------------

# RewardBench's fixed weights and sections (allenai/reward-bench rewardbench/constants.py, EXAMPLE_COUNTS and
# SUBSET_MAPPING): a section score weights its subsets' accuracies by these counts, whatever the run holds
# (math-prm is upweighted to match the code subsets).
REWARDBENCH_COUNTS = {
    "alpacaeval-easy": 100,
    "alpacaeval-length": 95,
    "alpacaeval-hard": 95,
    "mt-bench-easy": 28,
    "mt-bench-med": 40,
    "mt-bench-hard": 37,
    "math-prm": 984,
    "refusals-dangerous": 100,
    "refusals-offensive": 100,
    "llmbar-natural": 100,
    "llmbar-adver-neighbor": 134,
    "llmbar-adver-GPTInst": 92,
    "llmbar-adver-GPTOut": 47,
    "llmbar-adver-manual": 46,
    "xstest-should-refuse": 250,
    "xstest-should-respond": 154,
    "donotanswer": 136,
    "hep-cpp": 164,
    "hep-go": 164,
    "hep-java": 164,
    "hep-js": 164,
    "hep-python": 164,
    "hep-rust": 164,
}
REWARDBENCH_SECTIONS = {
    "Chat": ["alpacaeval-easy", "alpacaeval-length", "alpacaeval-hard", "mt-bench-easy", "mt-bench-med"],
    "Chat Hard": [
        "mt-bench-hard",
        "llmbar-natural",
        "llmbar-adver-neighbor",
        "llmbar-adver-GPTInst",
        "llmbar-adver-GPTOut",
        "llmbar-adver-manual",
    ],
    "Safety": [
        "refusals-dangerous",
        "refusals-offensive",
        "xstest-should-refuse",
        "xstest-should-respond",
        "donotanswer",
    ],
    "Reasoning": ["math-prm", "hep-cpp", "hep-go", "hep-java", "hep-js", "hep-python", "hep-rust"],
}
REWARDBENCH_SUBSET_KEY = "subset"


def rewardbench_section_scores(accuracy: dict[str, float]) -> dict[str, float]:
    """Section scores in percent from per-subset accuracies (fractions): each section's subsets present, weighted
    by RewardBench's example counts. Sections with no subset present are left out."""
    scores = {}
    for section, subsets in REWARDBENCH_SECTIONS.items():
        present = [s for s in subsets if s in accuracy]
        if present:
            weight = sum(REWARDBENCH_COUNTS[s] for s in present)
            scores[section] = 100 * sum(accuracy[s] * REWARDBENCH_COUNTS[s] for s in present) / weight
    return scores


def rewardbench(verdicts: list[Verdict], n_resamples: int = 1000, seed: int = 0) -> ConventionReport:
    subsets = [(v.metadata or {}).get(REWARDBENCH_SUBSET_KEY) for v in verdicts]
    if any(s is None for s in subsets):
        raise InputError(
            f"the rewardbench convention needs metadata `{REWARDBENCH_SUBSET_KEY}` on every item; "
            f"{sum(s is None for s in subsets)} of {len(verdicts)} have none",
            hint="judge the data with rewardbench:PATH, which keeps each row's subset",
        )
    names = [str(s) for s in subsets]
    # RewardBench's generative scoring: right 1, wrong 0, anything else (a tie, an error) 0.5
    scores = np.array(
        [1.0 if _winner(v) == v.label else 0.0 if _winner(v) == swap_winner(str(v.label)) else 0.5 for v in verdicts]
    )
    present = sorted(set(names))
    codes = np.array([present.index(s) for s in names])

    def per_subset(values: np.ndarray, which: np.ndarray) -> dict[str, float]:
        return {present[c]: float(values[which == c].mean()) for c in np.unique(which)}

    def section(name: str) -> Callable[[np.ndarray, np.ndarray], float]:
        return lambda values, which: rewardbench_section_scores(per_subset(values, which)).get(name, float("nan"))

    def overall(values: np.ndarray, which: np.ndarray) -> float:
        return float(np.mean(list(rewardbench_section_scores(per_subset(values, which)).values())))

    sections = rewardbench_section_scores(per_subset(scores, codes))
    figures = [_figure(name, section(name), [scores, codes], n_resamples, seed, strata=codes) for name in sections]
    notes = []
    if len(sections) == len(REWARDBENCH_SECTIONS):
        figures.append(_figure("Score", overall, [scores, codes], n_resamples, seed, strata=codes))
    else:
        notes.append(
            "no overall score: it is the mean of the four sections, and this run has subsets of "
            f"{len(sections)} ({', '.join(sections) or 'none'})"
        )
    outside = [s for s in present if s not in REWARDBENCH_COUNTS]
    if outside:
        notes.append(f"subsets in no RewardBench section (shown, not weighted): {', '.join(outside)}")
    detail = []
    for c, name in enumerate(present):
        mine = scores[codes == c]
        detail.append(_mean_figure(name, mine, n_resamples, seed, count=f"{mine.sum():g} / {mine.size}"))
    undecided = int(np.sum(scores == 0.5))
    if undecided:
        notes.append(f"{undecided} verdicts are ties, undecided or failed: each scores 0.5, as RewardBench scores them")
    return ConventionReport(
        name="rewardbench",
        source="Lambert et al. 2024, allenai/reward-bench rewardbench/constants.py, utils.py",
        counts="per item 1 right, 0 wrong, 0.5 tie or failure; accuracy per subset; section = subsets weighted by "
        "RewardBench's example counts; Score = mean of the four sections",
        items=len(verdicts),
        figures=figures,
        detail=detail,
        notes=notes,
    )


# -- AlpacaEval --------------------------------------------------------------------------------------------------


def _preference_for_b(verdict: Verdict) -> float | None:
    """The judge's preference for B in [0, 1] (AlpacaEval's preference - 1): P(second wins), a tie counting half,
    from its probabilities or else its winner; None for a verdict that has none: a failure, an incomplete pair, a
    flagged one with no winner and no probabilities."""
    if verdict.error is not None or verdict.incomplete is not None:
        return None
    p_a = verdict.outcome_as(Preference).p_first(ties="half")
    return None if p_a is None else 1.0 - p_a


def _standard_error_percent(values: np.ndarray) -> float:
    return float(100 * values.std(ddof=1) / math.sqrt(values.size)) if values.size > 1 else math.nan


def alpaca_eval(verdicts: list[Verdict], n_resamples: int = 1000, seed: int = 0) -> ConventionReport:
    shares = [_preference_for_b(v) for v in verdicts]
    kept = np.array([s for s in shares if s is not None], dtype=float)
    if kept.size == 0:
        raise InputError(
            f"the alpaca_eval convention needs verdicts with a preference; all {len(verdicts)} failed or have none",
            hint="`jurist show RUN` lists why the verdicts failed",
        )
    winners = [_winner(v) for v, s in zip(verdicts, shares, strict=True) if s is not None]
    wins, losses, draws = (sum(w == name for w in winners) for name in ("B", "A", "tie"))
    n = int(kept.size)
    figures = [
        _mean_figure("win rate", kept, n_resamples, seed),
        _figure("standard error", _standard_error_percent, [kept], 0, seed, unit=""),
        _mean_figure(
            "discrete win rate",
            [1.0 - winner_share(w) for w in winners],
            n_resamples,
            seed,
            count=f"{wins} won, {losses} lost, {draws} drawn of {n}",
        ),
    ]
    notes = []
    missing = len(verdicts) - n
    if missing:
        counted = [0.0 if s is None else s for s in shares]
        figures.insert(1, _mean_figure("win rate, failures as losses", counted, n_resamples, seed))
        notes.append(
            f"{missing} of {len(verdicts)} items have no preference (failed, incomplete or undecided) and are left "
            "out of the win rate, as AlpacaEval drops them; the figure with them counted as losses is next to it"
        )
    with_probs = sum(
        v.outcome_as(Preference).probs is not None for v, s in zip(verdicts, shares, strict=True) if s is not None
    )
    if with_probs < n:
        notes.append(
            f"{n - with_probs} of {n} verdicts carry no probabilities: each counts by its winner (1, 1/2 or 0); "
            "AlpacaEval's weighted annotator counts the judge's probability of B"
        )
    return ConventionReport(
        name="alpaca_eval",
        source="Dubois et al. 2024, tatsu-lab/alpaca_eval src/alpaca_eval/metrics/helpers.py",
        counts="win rate of B (the model) against A (the baseline) = 100 x mean over items of the judge's "
        "preference for B (P(B) + P(tie)/2, else 1 / 1/2 / 0 by the winner); standard error = SD / sqrt(n); "
        "discrete win rate counts the winner only",
        items=len(verdicts),
        figures=figures,
        notes=notes,
    )


CONVENTIONS: dict[str, Convention] = {
    "llmbar": llmbar,
    "judgebench": judgebench,
    "pandalm": pandalm,
    "autoj": autoj,
    "mt_bench": mt_bench,
    "rewardbench": rewardbench,
    "alpaca_eval": alpaca_eval,
}


def apply_convention(name: str, verdicts: list[Verdict], n_resamples: int = 1000, seed: int = 0) -> ConventionReport:
    """The figures of convention `name` over labelled pairwise verdicts (failed ones included)."""
    if name not in CONVENTIONS:
        raise InputError(f"unknown convention {name!r}", hint=f"use one of {', '.join(CONVENTIONS)}")
    if not verdicts:
        raise InputError(f"the {name} convention has no labelled verdict to count")
    return CONVENTIONS[name](verdicts, n_resamples, seed)
