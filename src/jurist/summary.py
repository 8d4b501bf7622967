"""The summary printed after a run and by `jurist show`: counts, failures, consistency, agreement, cost, speed."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from .outcomes import Preference, Ranking, Score
from .run.batch import BatchInfo, batches
from .run.log import iter_run, read_sessions
from .stats.correlation import JointCounts, correlate
from .types import Usage, Verdict

# Above this share of items without a verdict, the summary opens with a warning: the figures leave those items out.
FAILURE_WARNING_SHARE = 0.02


class Summary(BaseModel):
    out: str
    mode: str
    backend: str
    items: int
    judged: int
    failed: int
    failures: dict[str, int]
    flagged: int = 0
    # kept with part of the judging failed (pairwise: one order); counted in `flagged` too, left out of the
    # outcome, consistency and agreement until a resumed run completes them
    incomplete: int = 0
    position_consistency: float | None = None
    consistency_n: int = 0
    outcome: dict[str, float] = {}
    labelled: int = 0
    accuracy: float | None = None
    spearman: float | None = None
    spearman_expected: float | None = None
    pearson: float | None = None
    kendall: float | None = None
    # the correlations' scores and labels were binned at this many decimals (floor(v * 10^d)): a run with more
    # distinct (score, label) pairs than the summary keeps (stats.correlation.JointCounts); None: exact
    correlation_decimals: int | None = None
    # items without a complete verdict (failed, or incomplete) as a share of the records; `accuracy` leaves them
    # out, `accuracy_failures_wrong` counts each labelled one as wrong, over `labelled_records` labelled records
    failed_share: float = 0.0
    labelled_records: int = 0
    accuracy_failures_wrong: float | None = None
    usage: Usage = Usage()
    wall_s: float = 0.0
    judgments_per_s: float | None = None
    fallbacks: list[str] = []  # features a server rejected, so that the backend did without (every session's)
    batches: list[BatchInfo] = []  # the provider batches of a --batch run (its journal, RUN/batches.jsonl)


def summarize(out: Path) -> Summary:
    """The run's summary, in one pass over its verdicts (`iter_run`): counts and sums, and for the correlations of
    a pointwise run two floats per labelled item (four with expected scores), never the verdicts themselves."""
    header, verdicts = iter_run(out)
    tally = _Tally(header.mode)
    for verdict in verdicts:
        tally.add(verdict)
    mode = tally.mode or "unknown"
    summary = Summary(
        out=str(out),
        mode=mode,
        backend=header.backend,
        items=header.items if header.items is not None else tally.judged,
        judged=tally.judged,
        failed=sum(tally.failures.values()),
        failures=dict(tally.failures),
        flagged=tally.flagged,
        incomplete=tally.incomplete,
        usage=tally.usage,
        fallbacks=header.fallbacks,
        batches=batches(out),
    )
    records = read_sessions(out)
    if records:
        summary.wall_s = sum(r.wall_s for r in records)
        calls = sum(r.judged for r in records)
        summary.judgments_per_s = calls / summary.wall_s if summary.wall_s > 0 else None
    if mode == "pairwise":
        _pairwise(summary, tally)
    elif mode == "pointwise":
        _pointwise(summary, tally)
    else:
        _listwise(summary, tally)
    _failures_counted(summary, tally.missing)
    return summary


class _Tally:
    """What the summary needs of a run's verdicts, added one verdict at a time. `ok` counts the verdicts that are
    complete (no error, not incomplete); the figures of each mode are over those."""

    def __init__(self, mode: str | None) -> None:
        self.mode = mode  # the header's, else the first verdict's
        self.judged = self.flagged = self.incomplete = self.missing = self.ok = 0
        self.failures: Counter[str] = Counter()
        self.usage = Usage()
        self.outcomes: Counter[Any] = Counter()  # pairwise decisions
        self.consistent = self.swapped = 0  # pairwise, both orders judged
        self.labelled = self.correct = 0
        self.score_sum: float = 0
        self.scored = 0
        # pointwise (judge, human) and (expected, human) pairs, for the correlations: counts of the distinct pairs
        self.scores, self.expected = JointCounts(), JointCounts()
        self.tau_sum, self.taus = 0.0, 0  # listwise

    def add(self, v: Verdict) -> None:
        self.mode = self.mode or v.mode
        self.judged += 1
        if v.error is not None:
            self.failures[v.error.reason] += 1
        self.flagged += v.flagged
        self.incomplete += v.incomplete is not None and v.error is None
        self.usage = self.usage + v.usage
        if v.error is not None or v.incomplete is not None:
            self.missing += v.label is not None  # a labelled item without a complete verdict
            return
        self.ok += 1
        if self.mode == "pairwise":
            self._pairwise(v)
        elif self.mode == "pointwise":
            self._pointwise(v)
        else:
            self._listwise(v)

    def _pairwise(self, v: Verdict) -> None:
        consistent = v.outcome_as(Preference).consistent
        if consistent is not None:
            self.swapped += 1
            self.consistent += consistent
        self.outcomes[v.decision() or "flagged"] += 1
        if v.label is not None:
            self.labelled += 1
            self.correct += v.decision() == v.label

    def _pointwise(self, v: Verdict) -> None:
        score = v.outcome_as(Score).score
        if score is None:
            return
        self.score_sum += score
        self.scored += 1
        if v.label is None:
            return
        self.labelled += 1
        judge, human = float(score), float(v.label)  # type: ignore[arg-type]
        self.correct += judge == human
        self.scores.add(judge, human)
        expected = v.outcome_as(Score).expected
        if expected is not None:
            self.expected.add(float(expected), human)

    def _listwise(self, v: Verdict) -> None:
        label, ranking = v.label, v.outcome_as(Ranking).ranking
        if not isinstance(label, list) or not ranking:
            return
        self.labelled += 1
        self.correct += ranking[0] == label[0]
        if len(label) == len(ranking) > 1:
            # Compare the rank each position got.
            predicted = [ranking.index(p) for p in sorted(label)]
            truth = [label.index(p) for p in sorted(label)]
            self.tau_sum += correlate(predicted, truth, "kendall")
            self.taus += 1


def _failures_counted(summary: Summary, missing: int) -> None:
    """The share of items without a complete verdict, and accuracy with the labelled ones among them (`missing`)
    counted as wrong: a judge whose verdicts failed on most items must not look accurate on the few that parsed."""
    summary.failed_share = (summary.failed + summary.incomplete) / summary.judged if summary.judged else 0.0
    summary.labelled_records = summary.labelled + missing
    if summary.labelled_records and (summary.accuracy is not None or summary.labelled == 0):
        correct = (summary.accuracy or 0.0) * summary.labelled
        summary.accuracy_failures_wrong = correct / summary.labelled_records


def _pairwise(summary: Summary, tally: _Tally) -> None:
    summary.consistency_n = tally.swapped
    if tally.swapped:
        summary.position_consistency = tally.consistent / tally.swapped
    counts = tally.outcomes
    summary.outcome = {str(k): counts[k] / tally.ok for k in sorted(counts)} if tally.ok else {}
    summary.labelled = tally.labelled
    if tally.labelled:
        summary.accuracy = tally.correct / tally.labelled


def _pointwise(summary: Summary, tally: _Tally) -> None:
    if tally.scored:
        summary.outcome = {"mean_score": tally.score_sum / tally.scored}
    summary.labelled = tally.labelled
    if not tally.labelled:
        return
    summary.accuracy = tally.correct / tally.labelled
    scores, expected = tally.scores, tally.expected
    if scores.n >= 3 and scores.varies():
        summary.spearman = scores.correlate("spearman")
        summary.pearson = scores.correlate("pearson")
    if expected.n >= 3 and expected.varies():
        summary.spearman_expected = expected.correlate("spearman")
    summary.correlation_decimals = min((j.decimals for j in (scores, expected) if j.decimals is not None), default=None)


def _listwise(summary: Summary, tally: _Tally) -> None:
    summary.labelled = tally.labelled
    if not tally.labelled:
        return
    summary.accuracy = tally.correct / tally.labelled
    if tally.taus:
        summary.kendall = tally.tau_sum / tally.taus


def _failure_warning(summary: Summary) -> list[str]:
    """The opening line when more than FAILURE_WARNING_SHARE of the items have no complete verdict."""
    if summary.failed_share <= FAILURE_WARNING_SHARE:
        return []
    missing = summary.failed + summary.incomplete
    reasons = dict(sorted(summary.failures.items()))
    if summary.incomplete:
        reasons["one order failed"] = summary.incomplete
    what = "no complete verdict" if summary.incomplete else "no verdict"
    line = (
        f"warning    {missing} of {summary.judged} items ({summary.failed_share:.1%}) have {what} "
        f"({', '.join(f'{k}: {n}' for k, n in reasons.items())}); the figures below leave them out"
    )
    if summary.accuracy_failures_wrong is not None:
        line += f"; accuracy with them counted as wrong: {summary.accuracy_failures_wrong:.1%}"
    return [line]


def _accuracy_text(summary: Summary) -> str:
    """Accuracy both ways when labelled items failed: with the failures left out, and counted as wrong."""
    name = "accuracy" if summary.mode != "listwise" else "best-pick accuracy"
    text = f"{name} {summary.accuracy:.1%}"
    if summary.accuracy_failures_wrong is not None and summary.labelled_records > summary.labelled:
        text += (
            f" (failures left out), {summary.accuracy_failures_wrong:.1%} of {summary.labelled_records} "
            "with failures counted as wrong"
        )
    return text


def render_summary(summary: Summary) -> str:
    """Plain text, readable in a terminal and in a log file."""
    lines = [
        *_failure_warning(summary),
        f"run        {summary.out}",
        f"judge      {summary.backend}, {summary.mode}",
        f"items      {summary.items} in data, {summary.judged} with a record, {summary.failed} failed"
        + (f", {summary.flagged} flagged" if summary.flagged else "")
        + (f", {summary.incomplete} incomplete (one order failed)" if summary.incomplete else ""),
    ]
    if summary.failures:
        lines.append("failures   " + ", ".join(f"{k}: {n}" for k, n in sorted(summary.failures.items())))
    if summary.outcome:
        lines.append(
            "outcome    "
            + ", ".join(f"{k} {v:.3g}" if k == "mean_score" else f"{k} {v:.1%}" for k, v in summary.outcome.items())
        )
    if summary.position_consistency is not None:
        lines.append(
            f"position consistency  {summary.position_consistency:.1%} of {summary.consistency_n} swapped pairs"
        )
    if summary.labelled:
        parts = [f"{summary.labelled} labelled"]
        if summary.accuracy is not None:
            parts.append(_accuracy_text(summary))
        for name in ("spearman", "spearman_expected", "pearson", "kendall"):
            value = getattr(summary, name)
            if value is not None:
                parts.append(f"{name.replace('_', ' ')} {value:.3f}")
        if summary.correlation_decimals is not None:
            parts.append(f"(correlations over values binned at {summary.correlation_decimals} decimals)")
        lines.append("agreement  " + ", ".join(parts))
    u = summary.usage
    lines.append(
        f"tokens     {u.prompt_tokens} prompt ({u.cached_tokens} from cache), {u.completion_tokens} completion, "
        f"{u.calls} calls"
    )
    speed = f", {summary.judgments_per_s:.2f} judgments/s" if summary.judgments_per_s else ""
    lines.append(f"time       {summary.wall_s:.1f} s wall{speed}")
    lines.extend(f"fallback   {f}" for f in summary.fallbacks)
    lines.extend(_batch_line(b) for b in summary.batches)
    return "\n".join(lines)


def _batch_line(info: BatchInfo) -> str:
    text = f"batch      {info.batch_id} {info.state}, {info.requests} requests"
    if not info.downloaded:
        return text + " (results not downloaded yet: the same command resumes it)"
    return (
        f"{text}: {info.succeeded} answered, {info.failed} failed, {info.prompt_tokens} prompt + "
        f"{info.completion_tokens} completion tokens"
    )
