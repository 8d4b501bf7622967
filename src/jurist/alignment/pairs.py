"""Preference pairs from judged data (`jurist pairs`), in TRL's formats, with filters that count what they drop.

Sources, read only through `jurist.run.log.read_run` and the verdicts' outcomes:
- a pairwise run: each verdict with a winner is a pair, the winner chosen;
- a pointwise run: verdicts grouped by prompt (the item's prompt and earlier turns, or a metadata field,
  `group_by`), each group's best and worst response by score (or every pair of them, `pairing="all"`);
- a listwise run: each ranking's first and last response (or every pair);
- a reward directory (`jurist reward --out`): each item's candidates by reward.

Every unit the filters see (a pairwise verdict, a candidate pair, or a group that gives none) is kept or dropped
for exactly one reason, the first that applies (`REASONS`, in that order), and the counts are reported.

Formats (TRL's dataset formats): `standard` {"prompt", "chosen", "rejected"} texts; `conversational` the same keys
as lists of messages ({"role", "content"}), the prompt holding the earlier turns; `kto` unpaired {"prompt",
"completion", "label"} rows, two per pair (chosen True, rejected False), each row once, and a response that is
chosen in one pair and rejected in another for the same prompt left out (its label would contradict itself).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, Literal, NamedTuple

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ..errors import ConfigError, InputError
from ..export import write_rows
from ..extras import require
from ..files import read_jsonl, write_atomic
from ..outcomes import Preference, Ranking, Score
from ..run.log import CONFIG_FILE, RUN_FILES, read_run
from ..types import ItemTexts, Turn, Verdict
from .reward import TABLE, RewardRow

PairFormat = Literal["standard", "conversational", "kto"]
FORMATS: tuple[PairFormat, ...] = ("standard", "conversational", "kto")
Pairing = Literal["best-worst", "all"]
PAIRINGS: tuple[Pairing, ...] = ("best-worst", "all")
SourceKind = Literal["pairwise", "pointwise", "listwise", "reward"]


# Why a unit gives no pair, in the order the checks are made: the first that applies is the one counted.
REASONS: dict[str, str] = {
    "failed": "the verdict failed: no decision to learn from",
    "inconsistent": "the two presentation orders named different winners",
    "one_order_failed": "one of the two orders failed, so the swap check could not be made",
    "undecided": "the judge named no winner",
    "flagged": "the verdict was flagged for a person (a split vote, an escalation)",
    "too_few_candidates": "fewer than two responses with a score or a rank",
    "tie": "a tie, or equal scores: no preference",
    "no_margin": "--min-margin asks for the judge's probabilities, and this verdict has none",
    "low_margin": "P(chosen wins) - P(rejected wins) is below --min-margin",
    "small_gap": "the score (reward, rank) gap is below --min-gap",
    "length_imbalance": "chosen is longer than --max-length-ratio times rejected (against verbosity bias)",
    "identical": "chosen and rejected are the same text",
    "duplicate": "the same prompt, chosen and rejected as a pair kept before",
}


class PairFilters(BaseModel):
    """Which pairs are kept. `consistency`: drop pairwise verdicts whose two presentation orders disagreed or whose
    swap check could not be made (one order failed), and flagged ones; a run judged in one order only has nothing
    to check, and its pairs are kept and counted as unchecked. `min_margin`: pairwise, P(chosen wins) - P(rejected
    wins) from the judge's probabilities (ties counted half, `outcomes.p_first`), in [0, 1]. `min_gap`: scored
    sources, the chosen response's score (pointwise: the probability-weighted score where there is one), reward,
    or rank places above the rejected one's. `max_length_ratio`: drop a pair whose chosen response has more than
    this many times the rejected one's characters (only longer chosen responses: against the judges' preference
    for verbosity). `dedupe`: keep one of pairs with the same prompt, chosen and rejected texts."""

    model_config = ConfigDict(extra="forbid")

    consistency: bool = True
    min_margin: float | None = Field(None, ge=0.0, le=1.0)
    min_gap: float | None = Field(None, ge=0.0)
    max_length_ratio: float | None = Field(None, ge=1.0)
    dedupe: bool = True


class PreferencePair(BaseModel):
    """One preference pair and where it came from."""

    id: str  # the item (pairwise, listwise, reward) or the group of items (pointwise) it came from
    prompt: str
    turns: list[Turn] | None = None  # the conversation before the prompt
    chosen: str
    rejected: str
    # the responses' places among the item's (group's) candidates, 0-based; pairwise: 0 is response_a
    chosen_index: int
    rejected_index: int
    margin: float | None = None  # P(chosen wins) - P(rejected wins), where the judge gave probabilities
    gap: float | None = None  # chosen's score (reward, rank places) above rejected's

    def rows(self, fmt: PairFormat) -> list[dict[str, Any]]:
        """The pair in a TRL format: one row, or two for KTO."""
        if fmt == "conversational":
            prompt = [{"role": t.role, "content": t.content} for t in self.turns or []]
            prompt.append({"role": "user", "content": self.prompt})
            return [
                {
                    "prompt": prompt,
                    "chosen": [{"role": "assistant", "content": self.chosen}],
                    "rejected": [{"role": "assistant", "content": self.rejected}],
                }
            ]
        if fmt == "kto":
            return [
                {"prompt": self.prompt, "completion": self.chosen, "label": True},
                {"prompt": self.prompt, "completion": self.rejected, "label": False},
            ]
        return [{"prompt": self.prompt, "chosen": self.chosen, "rejected": self.rejected}]


class PairReport(BaseModel):
    """What `build_pairs` read, kept and dropped; written as JSON beside the pairs."""

    source: str
    kind: SourceKind
    format: PairFormat
    pairing: Pairing
    group_by: str | None = None
    filters: PairFilters
    verdicts: int  # verdicts (a reward table: rows) read
    failed_verdicts: int  # of these, failed ones (pointwise, reward: a candidate with no score)
    considered: int  # units the filters saw: kept + dropped
    kept: int
    dropped: dict[str, int]  # reason -> count (REASONS)
    unchecked_order: int = 0  # kept pairwise pairs from one-order verdicts: no swap check was possible
    rows: int = 0  # lines written
    kto_conflicts: int = 0  # KTO: responses left out, labelled both ways for one prompt
    output: str | None = None


class PairSet(NamedTuple):
    pairs: list[PreferencePair]
    report: PairReport
    rows: list[dict[str, Any]]


class _Unit(NamedTuple):
    """A pair offered to the filters, or the reason a unit gives none."""

    pair: PreferencePair | None
    reason: str | None = None
    unchecked: bool = False  # a one-order pairwise verdict


class _Candidate(NamedTuple):
    at: int  # its place among the item's (group's) responses
    text: str
    value: float


# -- reading the source ----------------------------------------------------------------------------------------------


def read_reward_table(source: Path) -> list[RewardRow]:
    """The rows of a reward directory's table (`rewards.jsonl`, or `.parquet`): the one place that reads it. A row
    that is not one names its line."""
    path = source / f"{TABLE}.jsonl"
    if not path.exists():
        parquet = source / f"{TABLE}.parquet"
        pd = require("pandas", "reading a Parquet reward table")
        require("pyarrow", "reading a Parquet reward table")
        records = list(enumerate(pd.read_parquet(parquet).to_dict(orient="records"), start=1))
        path = parquet
    else:
        records = list(read_jsonl(path, hint="each line must be a reward row, as `jurist reward` writes them"))
    rows = []
    for line, record in records:
        try:
            rows.append(RewardRow.model_validate(record))
        except ValidationError as exc:
            error = exc.errors()[0]
            where = ".".join(str(p) for p in error["loc"])
            raise InputError(f"not a reward row: {error['msg']}", file=str(path), line=line, field=where) from None
    return rows


def _is_reward_dir(source: Path) -> bool:
    return any((source / f"{TABLE}.{suffix}").exists() for suffix in ("jsonl", "parquet"))


def source_kind(source: Path) -> SourceKind:
    """What `source` is: a reward directory, or a run directory of one mode; anything else is a clear error."""
    if not source.exists():
        raise ConfigError(f"{source} does not exist: give a run directory (jurist judge --out) or a reward directory")
    if not source.is_dir():
        raise ConfigError(
            f"{source} is a file, not a run directory (jurist judge --out) or a reward directory (jurist reward "
            "--out): pairs are built from judged items"
        )
    if _is_reward_dir(source):
        return "reward"
    if not (source / CONFIG_FILE).exists():
        raise ConfigError(
            f"{source} is neither a run directory (no {CONFIG_FILE}) nor a reward directory (no {TABLE}.jsonl): "
            "give what `jurist judge --out` or `jurist reward --out` made"
        )
    modes = {v.mode for v in read_run(source).verdicts}
    if not modes:
        raise ConfigError(f"{source} holds no verdicts yet: judge it first")
    if len(modes) > 1:
        raise ConfigError(f"{source} mixes verdicts of several modes ({', '.join(sorted(modes))})")
    return modes.pop()


def _texts(v: Verdict, source: Path, needs: str) -> ItemTexts:
    texts = v.item
    if texts is None or getattr(texts, needs) is None:
        raise ConfigError(
            f"{source}: verdict {v.id!r} carries no {needs} text (a run made before verdicts kept their items' "
            "texts, or items of another kind): judge the data again with this version"
        )
    return texts


# -- units per source ------------------------------------------------------------------------------------------------


def _pairwise_units(verdicts: list[Verdict], source: Path, filters: PairFilters) -> Iterator[_Unit]:
    for v in verdicts:
        preference = v.outcome_as(Preference)
        if v.error is not None or v.outcome is None:
            yield _Unit(None, "failed")
            continue
        if filters.consistency and preference.consistent is False:
            yield _Unit(None, "inconsistent")
            continue
        if filters.consistency and v.incomplete is not None:
            yield _Unit(None, "one_order_failed")
            continue
        if preference.winner is None:
            yield _Unit(None, "undecided")
            continue
        if filters.consistency and v.flagged:
            yield _Unit(None, "flagged")
            continue
        if preference.winner == "tie":
            yield _Unit(None, "tie")
            continue
        texts = _texts(v, source, "response_a")
        a, b = texts.response_a or "", texts.response_b or ""
        first_won = preference.winner == "A"
        p = preference.p_first("half", discrete=False)  # P(A wins), from probabilities only
        margin = None if p is None else (2 * p - 1 if first_won else 1 - 2 * p)
        pair = PreferencePair(
            id=v.id,
            prompt=texts.prompt,
            turns=texts.turns,
            chosen=a if first_won else b,
            rejected=b if first_won else a,
            chosen_index=0 if first_won else 1,
            rejected_index=1 if first_won else 0,
            margin=margin,
        )
        yield _Unit(pair, unchecked=preference.consistent is None)


def _ranked_units(
    group: str, texts: ItemTexts, ranked: list[_Candidate], pairing: Pairing, unit_reason: str | None = None
) -> Iterator[_Unit]:
    """Pairs of one item's (group's) candidates, sorted best first."""
    if unit_reason is not None:
        yield _Unit(None, unit_reason)
        return
    if len(ranked) < 2:
        yield _Unit(None, "too_few_candidates")
        return
    matches = [(ranked[0], ranked[-1])] if pairing == "best-worst" else _all_pairs(ranked)
    for better, worse in matches:
        if better.value == worse.value:
            yield _Unit(None, "tie")
            continue
        pair = PreferencePair(
            id=group,
            prompt=texts.prompt,
            turns=texts.turns,
            chosen=better.text,
            rejected=worse.text,
            chosen_index=better.at,
            rejected_index=worse.at,
            gap=better.value - worse.value,
        )
        yield _Unit(pair)


def _all_pairs(ranked: list[_Candidate]) -> list[tuple[_Candidate, _Candidate]]:
    return [(ranked[i], ranked[j]) for i in range(len(ranked)) for j in range(i + 1, len(ranked))]


def _best_first(candidates: Iterable[_Candidate]) -> list[_Candidate]:
    return sorted(candidates, key=lambda c: -c.value)  # stable: equal scores keep their order


def _score_value(v: Verdict) -> float | None:
    """A pointwise verdict's score: the probability-weighted one where the judge gave probabilities (finer, so
    fewer ties), else its label's."""
    if v.error is not None:
        return None
    return v.outcome_as(Score).value()


def _pointwise_units(
    verdicts: list[Verdict], source: Path, pairing: Pairing, group_by: str | None
) -> tuple[Iterator[_Unit], int]:
    groups: dict[str, list[Verdict]] = {}
    for v in verdicts:
        texts = _texts(v, source, "response")
        if group_by is None:
            key = json.dumps([texts.prompt, [t.model_dump() for t in texts.turns or []]])
        elif v.metadata is None or group_by not in v.metadata:
            raise ConfigError(f"{source}: verdict {v.id!r} has no metadata field {group_by!r} to group by")
        else:
            key = str(v.metadata[group_by])
        groups.setdefault(key, []).append(v)
    failed = sum(_score_value(v) is None for v in verdicts)

    def units() -> Iterator[_Unit]:
        for key, members in groups.items():
            scored = [(i, v, _score_value(v)) for i, v in enumerate(members)]
            candidates = [
                _Candidate(i, _texts(v, source, "response").response or "", s) for i, v, s in scored if s is not None
            ]
            name = key if group_by is not None else members[0].id
            yield from _ranked_units(name, _texts(members[0], source, "response"), _best_first(candidates), pairing)

    return units(), failed


def _listwise_units(verdicts: list[Verdict], source: Path, pairing: Pairing, filters: PairFilters) -> Iterator[_Unit]:
    for v in verdicts:
        texts = _texts(v, source, "responses")
        responses = texts.responses or []
        ranking = v.outcome_as(Ranking).ranking
        reason = None
        if v.error is not None or v.outcome is None or not ranking:
            reason = "failed"
        elif filters.consistency and v.flagged:
            reason = "flagged"
        if any(not 1 <= p <= len(responses) for p in ranking or []):
            raise ConfigError(f"{source}: verdict {v.id!r} ranks positions {ranking} of {len(responses)} responses")
        # a candidate's value is minus its place: the gap between two is how many places apart they are
        ranked = [_Candidate(p - 1, responses[p - 1], -float(place)) for place, p in enumerate(ranking or [])]
        yield from _ranked_units(v.id, texts, ranked, pairing, reason)


def _reward_units(source: Path, pairing: Pairing) -> tuple[Iterator[_Unit], int, int]:
    rows = read_reward_table(source)
    by_id: dict[str, list[RewardRow]] = {}
    for row in rows:
        by_id.setdefault(row.id, []).append(row)
    turns = _reward_turns(source, set(by_id))
    failed = sum(row.reward is None for row in rows)

    def units() -> Iterator[_Unit]:
        for item_id, members in by_id.items():
            texts = ItemTexts(prompt=members[0].prompt, turns=turns.get(item_id))
            scored = [_Candidate(row.candidate, row.response, row.reward) for row in members if row.reward is not None]
            yield from _ranked_units(item_id, texts, _best_first(scored), pairing)

    return units(), len(rows), failed


def _reward_turns(source: Path, ids: set[str]) -> dict[str, list[Turn]]:
    """The earlier turns of the reward run's conversations, by item id (the table holds the prompt and the
    responses, not the turns): from the run's item texts, whose ids are the item's or `{id}#{k}` per candidate."""
    turns: dict[str, list[Turn]] = {}
    if (source / CONFIG_FILE).exists():
        for v in read_run(source).verdicts:
            item_id = v.id if v.id in ids else v.id.rpartition("#")[0]
            if v.item is not None and v.item.turns and item_id in ids:
                turns.setdefault(item_id, v.item.turns)
    return turns


# -- filtering and writing -------------------------------------------------------------------------------------------


def _filter(units: Iterable[_Unit], filters: PairFilters) -> tuple[list[PreferencePair], dict[str, int], int, int]:
    kept: list[PreferencePair] = []
    dropped: dict[str, int] = {}
    seen: set[str] = set()
    considered = unchecked = 0
    for unit in units:
        considered += 1
        reason = unit.reason or _reason(unit.pair, filters, seen)  # type: ignore[arg-type]
        if reason is not None:
            dropped[reason] = dropped.get(reason, 0) + 1
            continue
        assert unit.pair is not None
        kept.append(unit.pair)
        unchecked += unit.unchecked
    order = list(REASONS)
    return kept, dict(sorted(dropped.items(), key=lambda kv: order.index(kv[0]))), considered, unchecked


def _reason(pair: PreferencePair, filters: PairFilters, seen: set[str]) -> str | None:
    if filters.min_margin is not None:
        if pair.margin is None:
            return "no_margin"
        if pair.margin < filters.min_margin:
            return "low_margin"
    if filters.min_gap is not None and pair.gap is not None and pair.gap < filters.min_gap:
        return "small_gap"
    if filters.max_length_ratio is not None and len(pair.chosen) > filters.max_length_ratio * len(pair.rejected):
        return "length_imbalance"
    if pair.chosen == pair.rejected:
        return "identical"
    if filters.dedupe:
        key = json.dumps([pair.prompt, [t.model_dump() for t in pair.turns or []], pair.chosen, pair.rejected])
        if key in seen:
            return "duplicate"
        seen.add(key)
    return None


def format_rows(pairs: list[PreferencePair], fmt: PairFormat) -> tuple[list[dict[str, Any]], int]:
    """The pairs as rows of the format, and (KTO) how many responses were left out for contradicting labels."""
    if fmt not in FORMATS:
        raise ConfigError(f"unknown pair format {fmt!r}; choose one of {', '.join(FORMATS)}")
    if fmt != "conversational" and any(p.turns for p in pairs):
        raise ConfigError(
            f"the items are conversations (earlier turns), which the {fmt} format's one prompt text cannot hold: "
            "use --format conversational"
        )
    rows = [row for pair in pairs for row in pair.rows(fmt)]
    if fmt != "kto":
        return rows, 0
    labels: dict[tuple[str, str], set[bool]] = {}
    for row in rows:
        labels.setdefault((row["prompt"], row["completion"]), set()).add(row["label"])
    once: dict[tuple[str, str, bool], dict[str, Any]] = {}
    for row in rows:
        if len(labels[(row["prompt"], row["completion"])]) == 1:
            once.setdefault((row["prompt"], row["completion"], row["label"]), row)
    conflicts = sum(len(seen) > 1 for seen in labels.values())
    return list(once.values()), conflicts


def report_path(out: Path) -> Path:
    """Where the report of the pairs written to `out` goes: beside it, `NAME.report.json`."""
    return out.with_name(f"{out.stem}.report.json")


def build_pairs(
    source: str | Path,
    out: str | Path | None = None,
    *,
    format: PairFormat = "standard",
    filters: PairFilters | None = None,
    pairing: Pairing = "best-worst",
    group_by: str | None = None,
    force: bool = False,
) -> PairSet:
    """Preference pairs from a judged run directory or a reward directory (see the module's notes), filtered, in a
    TRL `format`; written to `out` (JSONL, whole or not at all) with the report beside it (`report_path`), when
    given. An existing `out` is replaced only with `force`; a run's own files never are. Filters that cannot act on
    the source (a margin without a pairwise judge, a gap on pairwise verdicts) are refused."""
    source = Path(source)
    filters = filters or PairFilters()
    if pairing not in PAIRINGS:
        raise ConfigError(f"unknown pairing {pairing!r}; choose one of {', '.join(PAIRINGS)}")
    kind = source_kind(source)
    _check_filters(kind, filters, group_by)
    target = Path(out) if out is not None else None
    if target is not None:
        _check_target(source, target, force)
    failed = 0
    if kind == "reward":
        units, read, failed = _reward_units(source, pairing)
    else:
        verdicts = read_run(source).verdicts
        read = len(verdicts)
        if kind == "pairwise":
            units = _pairwise_units(verdicts, source, filters)
            failed = sum(v.error is not None or v.outcome is None for v in verdicts)
        elif kind == "pointwise":
            units, failed = _pointwise_units(verdicts, source, pairing, group_by)
        else:
            units = _listwise_units(verdicts, source, pairing, filters)
            failed = sum(v.error is not None or v.outcome is None for v in verdicts)
    pairs, dropped, considered, unchecked = _filter(units, filters)
    rows, conflicts = format_rows(pairs, format)
    report = PairReport(
        source=str(source),
        kind=kind,
        format=format,
        pairing=pairing,
        group_by=group_by,
        filters=filters,
        verdicts=read,
        failed_verdicts=failed,
        considered=considered,
        kept=len(pairs),
        dropped=dropped,
        unchecked_order=unchecked,
        rows=len(rows),
        kto_conflicts=conflicts,
        output=str(target) if target is not None else None,
    )
    if target is not None:
        write_rows(rows, target)
        try:
            write_atomic(report_path(target), report.model_dump_json(indent=2) + "\n")
        except OSError as exc:
            raise ConfigError(f"cannot write {report_path(target)}: {exc.strerror or exc}") from exc
    return PairSet(pairs, report, rows)


def _check_filters(kind: SourceKind, filters: PairFilters, group_by: str | None) -> None:
    if filters.min_margin is not None and kind != "pairwise":
        raise ConfigError(
            f"--min-margin reads a pairwise judge's probabilities; this source is {kind}: use --min-gap for its scores"
        )
    if filters.min_gap is not None and kind == "pairwise":
        raise ConfigError("--min-gap compares scores; a pairwise run has none: use --min-margin")
    if group_by is not None and kind != "pointwise":
        raise ConfigError(f"--group-by groups a pointwise run's items by prompt; this source is {kind}")


def _check_target(source: Path, target: Path, force: bool) -> None:
    if target.is_dir():
        raise ConfigError(f"{target} is a folder: give --out a file name, such as {target / 'pairs.jsonl'}")
    owned = [source / name for name in (*RUN_FILES, f"{TABLE}.jsonl", f"{TABLE}.parquet")]
    for path in (target, report_path(target)):
        if any(path.resolve() == own.resolve() for own in owned):
            raise ConfigError(f"{path} is one of {source}'s own files: choose another --out")
        if path.exists() and not force:
            raise ConfigError(f"{path} already exists: pass --force to replace it, or choose another --out")


def render_report(report: PairReport) -> str:
    """The report as lines for the terminal: what was read, each reason's count, what was kept and written."""
    lines = [
        f"pairs from {report.source} ({report.kind}"
        + (f", {report.pairing}" if report.kind != "pairwise" else "")
        + (f", grouped by {report.group_by}" if report.group_by else "")
        + f"): {report.verdicts} {'rows' if report.kind == 'reward' else 'verdicts'} read, "
        f"{report.failed_verdicts} failed",
        f"  considered {report.considered:>7}",
    ]
    for reason, count in report.dropped.items():
        lines.append(f"  dropped    {count:>7}  {reason}: {REASONS[reason]}")
    lines.append(f"  kept       {report.kept:>7}")
    if report.unchecked_order:
        lines.append(
            f"  note: {report.unchecked_order} kept pairs come from one-order verdicts (no swap check was possible)"
        )
    if report.kto_conflicts:
        lines.append(f"  kto: {report.kto_conflicts} responses left out, chosen and rejected for the same prompt")
    if report.output is not None:
        lines.append(
            f"wrote {report.rows} rows ({report.format}) to {report.output}; report: {report_path(Path(report.output))}"
        )
    return "\n".join(lines)
