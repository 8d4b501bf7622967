"""What a report shows, read from each directory into a typed view: a run (its summary, one record per verdict for
the table and the item view, its meta-evaluation where it has labels), an audit (audit.json) or an arena
(arena.json and battles.jsonl). Reading goes through the owners' readers (`jurist.run.log`, `summarize`,
`meta_evaluate`, `AuditReport.read`, `win_shares`); nothing here re-derives their figures."""

from __future__ import annotations

import json
import math
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ValidationError

from ..audit.report import AuditReport
from ..errors import ConfigError, InputError, JuristError
from ..files import read_log
from ..leaderboard.arena import ArenaReport
from ..leaderboard.battles import Battle
from ..leaderboard.ratings import win_shares
from ..meta import MetaOptions, MetaReport, meta_evaluate, render_meta
from ..outcomes import Preference, Ranking, Score
from ..review.labels import PairAgreement, judge_label, review_agreement, review_labels
from ..review.store import STORE_FILE
from ..run.log import read_run
from ..summary import Summary, summarize
from ..types import Verdict

Kind = Literal["run", "audit", "arena"]
# Each text of the item view is cut here by default (the rest is in the run directory): long texts stay small.
ITEM_TEXT_LIMIT = 20_000
STATUSES = ("failed", "flagged", "inconsistent", "incomplete", "disagrees", "disagrees_review")


def detect_kind(path: Path) -> Kind:
    """Which kind of jurist directory `path` is, by the file that only that kind writes; a ConfigError otherwise."""
    not_one = f"{path} is not a jurist run, audit or arena directory"
    if not path.exists():
        raise ConfigError(f"{not_one}: it does not exist")
    if not path.is_dir():
        raise ConfigError(f"{not_one}: it is a file; give the folder that jurist judge, audit or arena wrote (--out)")
    if (path / "arena.json").is_file():
        return "arena"
    if (path / "audit.json").is_file():
        return "audit"
    if (path / "config.json").is_file():
        return "run"
    unfinished = ""
    if (path / "manifest.json").is_file():
        unfinished = " (an audit that has not finished: run the same jurist audit command again to write it)"
    elif (path / "battles-run").is_dir():
        unfinished = " (an arena that has not finished: run the same jurist arena command again to write it)"
    raise ConfigError(
        f"{not_one}: it holds no config.json (a run), audit.json (an audit) or arena.json (an arena){unfinished}; "
        "give the folder that jurist judge, audit or arena wrote (--out)"
    )


class ItemRecord(BaseModel):
    """One verdict as the report's table and item view show it (embedded as JSON, built into the page by text)."""

    id: str
    decision: str | None = None
    label: str | None = None
    review: str | None = None  # the reviewers' combined label (jurist review), where the run has one
    confidence: float | None = None
    status: list[str] = []
    error: str | None = None
    prompt: str = ""
    turns: list[list[str]] | None = None  # [role, text]
    responses: list[list[str]] = []  # [name, text]
    reference: str | None = None
    rationale: str | None = None
    probs: dict[str, float] | None = None
    orders: list[dict[str, Any]] | None = None  # pairwise, both orders: order, winner, probs, error
    raw: list[str] = []
    metadata: str | None = None  # as JSON text
    cut: bool = False  # a text was cut to the limit


@dataclass
class MetaView:
    report: MetaReport
    text: str  # render_meta's text, shown whole
    # the judge's score (pointwise) or P(A wins) (pairwise, with probabilities) per human label, for histograms
    scores_by_label: dict[str, list[float]] = field(default_factory=dict)
    score_name: str = ""
    edges: list[float] = field(default_factory=list)


@dataclass
class RunView:
    path: str
    summary: Summary
    items: list[ItemRecord]
    counts: dict[str, int]  # items per status
    meta: MetaView | None = None
    meta_note: str | None = None  # why there is no meta-evaluation
    # jurist review's agreement table (judge vs reviewers, reviewers vs each other); None: the run has no review
    review: list[PairAgreement] | None = None
    reviewed: int = 0  # items with a reviewers' label


@dataclass
class AuditView:
    path: str
    report: AuditReport


@dataclass
class ArenaView:
    path: str
    report: ArenaReport
    systems: list[str] = field(default_factory=list)  # the win matrix's rows and columns
    win_matrix: list[list[float]] = field(default_factory=list)  # row's share of wins against column; NaN: never met


View = RunView | AuditView | ArenaView


def collect(path: Path, *, n_resamples: int = 1000, text_limit: int = ITEM_TEXT_LIMIT) -> View:
    kind = detect_kind(path)
    if kind == "run":
        return collect_run(path, n_resamples=n_resamples, text_limit=text_limit)
    if kind == "audit":
        return AuditView(str(path), _read_model(path / "audit.json", AuditReport.read))
    return collect_arena(path)


def _read_model(path: Path, read: Any) -> Any:
    try:
        return read(path)
    except (OSError, ValueError, ValidationError) as exc:
        problem = str(exc).splitlines()[0]
        raise InputError(
            f"cannot be read ({problem})", file=str(path), hint="run the command that wrote it again"
        ) from None


def collect_arena(path: Path) -> ArenaView:
    report = _read_model(path / "arena.json", lambda p: ArenaReport.model_validate_json(p.read_text("utf-8")))
    view = ArenaView(str(path), report)
    battles_file = path / "battles.jsonl"
    if report.mode == "pairwise" and battles_file.is_file():
        log = read_log(battles_file, Battle.model_validate_json)
        if log.damaged:
            line, problem = log.damaged[0]
            raise InputError(f"not a battle ({problem})", file=str(battles_file), line=line)
        view.systems, view.win_matrix = win_shares(log.records)
    return view


def collect_run(path: Path, *, n_resamples: int = 1000, text_limit: int = ITEM_TEXT_LIMIT) -> RunView:
    summary = summarize(path)
    _, verdicts = read_run(path)
    reviewed = review_labels(path) if (path / STORE_FILE).is_file() else {}
    items = [item_record(v, text_limit, reviewed.get(v.id)) for v in verdicts]
    counts = Counter(s for record in items for s in record.status)
    view = RunView(str(path), summary, items, {s: counts[s] for s in STATUSES})
    view.review, view.reviewed = review_agreement(path, verdicts), sum(r.review is not None for r in items)
    if not any(v.label is not None for v in verdicts):
        view.meta_note = "no verdict has a human label: no meta-evaluation"
        return view
    try:
        report = meta_evaluate(path, MetaOptions(n_resamples=n_resamples))
    except JuristError as exc:  # too few labelled items, labels off the scale...: said, not fatal to the report
        view.meta_note = f"no meta-evaluation: {exc}"
        return view
    view.meta = MetaView(report, render_meta(report))
    _scores_by_label(view.meta, verdicts)
    return view


def _scores_by_label(meta: MetaView, verdicts: list[Verdict]) -> None:
    """The values a histogram by human label shows, over the verdicts meta-evaluation uses."""
    usable = [v for v in verdicts if v.label is not None and v.error is None and v.incomplete is None]
    groups: dict[str, list[float]] = {}
    if meta.report.mode == "pairwise":
        for v in usable:
            p = v.outcome_as(Preference).p_first(discrete=False)
            if p is not None:
                groups.setdefault(str(v.label), []).append(p)
        meta.score_name, meta.edges = "P(A wins), from the judge's probabilities", [i / 10 for i in range(11)]
    elif meta.report.mode == "pointwise":
        for v in usable:
            score = v.outcome_as(Score).score
            if score is not None and isinstance(v.label, int | float):
                groups.setdefault(_label_text(v.label), []).append(score)
        if groups:
            values = [x for line in groups.values() for x in line]
            low, high = math.floor(min(values)), math.ceil(max(values))
            meta.score_name = "the judge's score"
            meta.edges = [x - 0.5 for x in range(low, high + 2)]
    meta.scores_by_label = dict(sorted(groups.items()))


def _label_text(label: Any) -> str:
    if isinstance(label, float) and label.is_integer():
        return str(int(label))
    if isinstance(label, list):
        return " > ".join(str(x) for x in label)
    return str(label)


def _cut(text: str | None, limit: int) -> tuple[str | None, bool]:
    if text is None or len(text) <= limit:
        return text, False
    return text[:limit] + f"\n[… cut: {len(text) - limit} more characters]", True


def agrees(verdict: Verdict) -> bool | None:
    """Whether the verdict's decision is the item's label (None: no label, or no decision)."""
    label, outcome = verdict.label, verdict.outcome
    if label is None or verdict.decision() is None:
        return None
    if isinstance(outcome, Score) and isinstance(label, int | float):
        return outcome.score is not None and float(outcome.score) == float(label)
    if isinstance(outcome, Ranking):
        return outcome.best == (label[0] if isinstance(label, list) else label)
    return str(verdict.decision()) == str(label)


def item_record(verdict: Verdict, text_limit: int = ITEM_TEXT_LIMIT, review: str | float | None = None) -> ItemRecord:
    status = []
    if verdict.error is not None:
        status.append("failed")
    if verdict.flagged:
        status.append("flagged")
    if verdict.outcome_as(Preference).consistent is False:
        status.append("inconsistent")
    if verdict.incomplete is not None:
        status.append("incomplete")
    if agrees(verdict) is False:
        status.append("disagrees")
    judged = judge_label(verdict)
    if review is not None and judged is not None and _label_text(judged) != _label_text(review):
        status.append("disagrees_review")
    decision = verdict.decision()
    record = ItemRecord(
        id=verdict.id,
        decision=None if decision is None else _label_text(decision),
        label=None if verdict.label is None else _label_text(verdict.label),
        review=None if review is None else _label_text(review),
        confidence=verdict.confidence(),
        status=status,
        error=None if verdict.error is None else f"{verdict.error.reason}: {verdict.error.message}",
        probs=verdict.outcome.probs if verdict.outcome is not None else None,
    )
    if verdict.incomplete is not None and record.error is None:
        record.error = f"incomplete, {verdict.incomplete.reason}: {verdict.incomplete.message}"
    cut = False

    def keep(text: str | None) -> str | None:
        nonlocal cut
        kept, was_cut = _cut(text, text_limit)
        cut = cut or was_cut
        return kept

    texts = verdict.item
    if texts is not None:
        record.prompt = keep(texts.prompt) or ""
        record.turns = [[t.role, keep(t.content) or ""] for t in texts.turns] if texts.turns else None
        if texts.response is not None:
            record.responses.append(["response", keep(texts.response) or ""])
        for name, text in (("A", texts.response_a), ("B", texts.response_b)):
            if text is not None:
                record.responses.append([name, keep(text) or ""])
        for i, text in enumerate(texts.responses or [], start=1):
            record.responses.append([str(i), keep(text) or ""])
        record.reference = keep(texts.reference)
    record.rationale = keep(verdict.rationale)
    record.raw = [keep(r) or "" for r in verdict.raw]
    orders = verdict.outcome_as(Preference).orders
    if orders:
        record.orders = [o.model_dump(exclude_none=True) for o in orders]
    if verdict.metadata:
        record.metadata = keep(json.dumps(verdict.metadata, ensure_ascii=False, indent=1, default=str))
    record.cut = cut
    return record
