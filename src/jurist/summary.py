"""The summary printed after a run and by `jurist show`: counts, failures, consistency, agreement, cost, speed."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from pydantic import BaseModel

from .outcomes import Preference, Ranking, Score
from .run.batch import BatchInfo, batches
from .run.log import read_run, read_sessions
from .stats.correlation import correlate
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
    header, verdicts = read_run(out)
    mode = header.mode or (verdicts[0].mode if verdicts else "unknown")
    ok = [v for v in verdicts if v.error is None and v.incomplete is None]
    failures = Counter(v.error.reason for v in verdicts if v.error is not None)
    summary = Summary(
        out=str(out),
        mode=mode,
        backend=header.backend,
        items=header.items if header.items is not None else len(verdicts),
        judged=len(verdicts),
        failed=sum(failures.values()),
        failures=dict(failures),
        flagged=sum(v.flagged for v in verdicts),
        incomplete=sum(v.incomplete is not None for v in verdicts if v.error is None),
        usage=Usage.total(v.usage for v in verdicts),
        fallbacks=header.fallbacks,
        batches=batches(out),
    )
    records = read_sessions(out)
    if records:
        summary.wall_s = sum(r.wall_s for r in records)
        calls = sum(r.judged for r in records)
        summary.judgments_per_s = calls / summary.wall_s if summary.wall_s > 0 else None
    if mode == "pairwise":
        _pairwise(summary, ok)
    elif mode == "pointwise":
        _pointwise(summary, ok)
    else:
        _listwise(summary, ok)
    _failures_counted(summary, verdicts)
    return summary


def _failures_counted(summary: Summary, verdicts: list[Verdict]) -> None:
    """The share of items without a complete verdict, and accuracy with the labelled ones among them counted as
    wrong: a judge whose verdicts failed on most items must not look accurate on the few that parsed."""
    summary.failed_share = (summary.failed + summary.incomplete) / summary.judged if summary.judged else 0.0
    missing = sum(v.label is not None and (v.error is not None or v.incomplete is not None) for v in verdicts)
    summary.labelled_records = summary.labelled + missing
    if summary.labelled_records and (summary.accuracy is not None or summary.labelled == 0):
        correct = (summary.accuracy or 0.0) * summary.labelled
        summary.accuracy_failures_wrong = correct / summary.labelled_records


def _pairwise(summary: Summary, ok: list[Verdict]) -> None:
    both = [p.consistent for v in ok if (p := v.outcome_as(Preference)).consistent is not None]
    summary.consistency_n = len(both)
    if both:
        summary.position_consistency = sum(both) / len(both)
    counts = Counter(v.decision() or "flagged" for v in ok)
    summary.outcome = {str(k): counts[k] / len(ok) for k in sorted(counts)} if ok else {}
    labelled = [v for v in ok if v.label is not None]
    summary.labelled = len(labelled)
    if labelled:
        summary.accuracy = sum(v.decision() == v.label for v in labelled) / len(labelled)


def _pointwise(summary: Summary, ok: list[Verdict]) -> None:
    scored = [(v, score) for v in ok if (score := v.outcome_as(Score).score) is not None]
    scores = [score for _, score in scored]
    if scores:
        summary.outcome = {"mean_score": sum(scores) / len(scores)}
    labelled = [(v, score) for v, score in scored if v.label is not None]
    summary.labelled = len(labelled)
    if not labelled:
        return
    judge = [float(score) for _, score in labelled]
    human = [float(v.label) for v, _ in labelled]  # type: ignore[arg-type]
    summary.accuracy = sum(a == b for a, b in zip(judge, human, strict=True)) / len(labelled)
    if len(labelled) >= 3 and len(set(judge)) > 1 and len(set(human)) > 1:
        summary.spearman = correlate(judge, human, "spearman")
        summary.pearson = correlate(judge, human, "pearson")
    expected = [(v, x) for v, _ in labelled if (x := v.outcome_as(Score).expected) is not None]
    if len(expected) >= 3:
        e = [float(x) for _, x in expected]
        h = [float(v.label) for v, _ in expected]  # type: ignore[arg-type]
        if len(set(e)) > 1 and len(set(h)) > 1:
            summary.spearman_expected = correlate(e, h, "spearman")


def _listwise(summary: Summary, ok: list[Verdict]) -> None:
    labelled = [(v.label, r) for v in ok if isinstance(v.label, list) and (r := v.outcome_as(Ranking).ranking)]
    summary.labelled = len(labelled)
    if not labelled:
        return
    summary.accuracy = sum(ranking[0] == label[0] for label, ranking in labelled) / len(labelled)
    taus = []
    for label, ranking in labelled:
        if len(label) == len(ranking) > 1:
            # Compare the rank each position got.
            predicted = [ranking.index(p) for p in sorted(label)]
            truth = [label.index(p) for p in sorted(label)]
            taus.append(correlate(predicted, truth, "kendall"))
    if taus:
        summary.kendall = sum(taus) / len(taus)


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
