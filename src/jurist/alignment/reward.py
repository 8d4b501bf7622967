"""Rewards for N candidate responses to a prompt (`areward`, `jurist reward`), for best-of-N selection and as
reward signals.

An item is a prompt with N >= 2 candidate `responses` (a listwise-shaped item). Three ways to a reward, each a run
of the engine (so a reward run resumes like every run):
- "score": each candidate judged pointwise on its own; the reward is the probability-weighted expected score where
  the backend gives logprobs (`Score.expected`), else the score read. The engine judges one item per candidate,
  `{id}#{k}`.
- "baseline": each candidate against the item's baseline response (its `reference` field), pairwise, both orders
  unless the judge config says otherwise; the reward is P(candidate wins) (`Preference.p_first`, a tie half).
  Items `{id}#{k}` again.
- "tournament": the candidates ranked by pairwise comparisons (jurist.ranking: knockout by default, N-1 matches
  and at most N-1 re-asks of close ones, far fewer than the N^2 ordered pairs); the reward is the place in the
  ranking, (N - rank) / (N - 1): 1 for the best, 0 for the worst. One engine item per item.

Then, per prompt, optionally: a length penalty (`length_penalty` times the candidate's length in standard
deviations from the prompt's mean length, subtracted from the judge's reward, in the reward's units), and a
normalisation ("zscore": minus the prompt's mean, over its standard deviation; "rank": the place among the
prompt's candidates mapped to [0, 1], ties sharing their mean place). docs/guide.md ("Alignment") says what each
does to the reward's bias. A candidate the judge failed on has no reward (None, with the error): it is left out of
its prompt's normalisation and ranking, never counted as 0.

The table (`rewards.jsonl`, or `.parquet`, in the run directory) has one row per candidate: RewardRow.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from ..api import ajudge, sync_twin
from ..backends import Backend
from ..data.load import LoadedData, load_data
from ..errors import ConfigError, InputError
from ..export import write_rows
from ..judges import JudgeConfig
from ..judges.base import Judge
from ..outcomes import Preference, Ranking, Score
from ..ranking import METHODS, Method
from ..run.engine import JobOptions
from ..run.log import read_run
from ..run.runner import RunOutcome
from ..strategies.build import StrategySpec
from ..strategies.ranking import PairwiseRanking
from ..strategies.tree import StrategyTree, load_strategy
from ..types import Item, Mode, Verdict

RewardMode = Literal["score", "baseline", "tournament"]
REWARD_MODES: tuple[RewardMode, ...] = ("score", "baseline", "tournament")
Normalise = Literal["zscore", "rank"]
NORMALISATIONS: tuple[Normalise, ...] = ("zscore", "rank")
TableFormat = Literal["jsonl", "parquet"]
TABLE = "rewards"  # the table's file name in the run directory, before its format's suffix

# how the engine judges for each reward mode (tournament: listwise, ranked by pairwise comparisons)
JUDGED_AS: dict[RewardMode, Mode] = {"score": "pointwise", "baseline": "pairwise", "tournament": "listwise"}


class RewardSettings(BaseModel):
    """How rewards are made from the verdicts; recorded in the run's config.json under `reward`."""

    model_config = ConfigDict(extra="forbid")

    mode: RewardMode = "score"
    normalise: Normalise | None = None
    length_penalty: float = Field(0.0, ge=0.0, description="per standard deviation of length, in reward units")
    rank_by: Method | None = None  # tournament: the ranking method (knockout when not given)
    rank_budget: int | None = None  # tournament with rank_by adaptive: at most this many comparisons per item


class RewardRow(BaseModel):
    """One candidate's reward. `raw` is the judge's reward (expected score, P(win against the baseline), or the
    place in the tournament), `reward` the same after the length penalty and normalisation; both None when the judge
    failed (`error` says why). `rank` is 1 for the best reward of the prompt (equal rewards share a rank), `best`
    marks the one candidate a best-of-N selection picks (the lowest index among equal best rewards). `note` tells of
    partial failures that did not stop the reward (tournament comparisons that failed and counted as ties)."""

    id: str
    candidate: int  # the index in the item's `responses`, from 0
    reward: float | None
    raw: float | None
    rank: int | None
    best: bool
    length: int  # characters
    error: str | None = None
    note: str | None = None
    prompt: str
    response: str


class RewardResult(BaseModel):
    """A reward run: the run directory, the table written into it, its rows, and what it cost."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    out: Path
    table: Path
    rows: list[RewardRow]
    settings: RewardSettings
    items: int
    failed: int  # candidates without a reward
    calls: int  # model calls behind the table's verdicts (every session's)
    run: RunOutcome | None = None

    def best(self) -> dict[str, int]:
        """Each item's picked candidate (items whose every candidate failed have none)."""
        return {row.id: row.candidate for row in self.rows if row.best}

    @property
    def calls_per_item(self) -> float:
        return self.calls / self.items if self.items else 0.0


async def areward(
    data: str | Path | LoadedData | Sequence[Item | dict[str, Any]],
    *,
    out: str | Path,
    mode: RewardMode = "score",
    config: JudgeConfig | None = None,
    model: str | Backend | None = None,
    judge: Judge | Callable[[Backend], Judge] | None = None,
    strategy: StrategySpec | StrategyTree | str | Path | None = None,
    normalise: Normalise | None = None,
    length_penalty: float = 0.0,
    rank_by: Method | None = None,
    rank_budget: int | None = None,
    table: TableFormat = "jsonl",
    options: JobOptions | None = None,
    field_map: dict[str, str] | None = None,
    label_map: dict[str, str] | None = None,
    on_start: Callable[[int, int], None] | None = None,
    on_verdict: Callable[[Verdict], None] | None = None,
    on_wait: Callable[[str], None] | None = None,
) -> RewardResult:
    """A reward for every candidate response of every item of `data`, judged into the run directory `out`
    (resumed if it exists), with the table written to `out/rewards.jsonl` (or `.parquet`).

    `data` holds items with a `prompt` and N >= 2 candidate `responses` (and, for mode "baseline", the baseline
    response as `reference`; map another column with `field_map={"reference": "COLUMN"}`). `mode` is "score",
    "baseline" or "tournament" (see the module). The judge is `config` on `model` (default "local"), or `judge` (a
    judge or a factory of one from the backend), optionally wrapped by `strategy`, as in `ajudge`; `config`'s mode
    must be the one the reward mode judges with (pointwise for score, pairwise for baseline, pairwise or listwise
    for tournament: its comparisons are pairwise). Without either, the default config of that mode.
    `rank_by` ("knockout" by default, or "adaptive", "sort", "all_pairs") and `rank_budget` apply to tournament.
    `normalise` ("zscore" | "rank") and `length_penalty` (>= 0) shape the reward per prompt.
    """
    settings = RewardSettings(
        mode=mode, normalise=normalise, length_penalty=length_penalty, rank_by=rank_by, rank_budget=rank_budget
    )
    if mode not in REWARD_MODES:
        raise ConfigError(f"unknown reward mode {mode!r}; choose one of {', '.join(REWARD_MODES)}")
    if mode != "tournament" and (rank_by is not None or rank_budget is not None):
        raise ConfigError("rank_by and rank_budget rank a tournament: give them with mode='tournament'")
    if rank_by is not None and rank_by not in METHODS:
        raise ConfigError(f"unknown ranking method {rank_by!r}; choose one of {', '.join(METHODS)}")
    if table not in ("jsonl", "parquet"):
        raise ConfigError(f"unknown table format {table!r}; use jsonl or parquet")
    loaded = load_data(data, "listwise", field_map, label_map)
    _check_candidates(loaded)
    engine_data, candidates = _engine_items(loaded, mode)
    config, judge, strategy = _judging(mode, config, judge, strategy, settings)
    result = await ajudge(
        engine_data,
        out=out,
        config=config,
        model=model,
        judge=judge,
        strategy=strategy,
        options=options,
        on_start=on_start,
        on_verdict=on_verdict,
        on_wait=on_wait,
        header={"reward": settings.model_dump(mode="json")},
    )
    verdicts = {v.id: v for v in read_run(out).verdicts}
    rows = reward_rows(loaded.items, verdicts, settings, candidates)
    target = write_rows([row.model_dump(mode="json") for row in rows], Path(out) / f"{TABLE}.{table}", table)
    judged = {v.id for v in verdicts.values()} & {eid for ids in candidates.values() for eid in ids}
    return RewardResult(
        out=Path(out),
        table=target,
        rows=rows,
        settings=settings,
        items=len(loaded.items),
        failed=sum(row.reward is None for row in rows),
        calls=sum(verdicts[eid].usage.calls for eid in judged),
        run=result.outcome,
    )


reward = sync_twin(areward)


# -- the engine's items and judge ------------------------------------------------------------------------------------


def _bad_item(loaded: LoadedData, item_id: str, message: str, field: str, hint: str) -> InputError:
    """An error about one item of `loaded`, with its file and line."""
    return InputError(message, file=loaded.path, line=loaded.lines.get(item_id), field=field, hint=hint)


def _check_candidates(loaded: LoadedData) -> None:
    """Every item has two or more candidates (data already loaded elsewhere skipped the loader's check)."""
    for item in loaded.items:
        count = len(item.responses or [])
        if count < 2:
            raise _bad_item(
                loaded,
                item.id,
                f"item '{item.id}' has {count} candidate response(s); a reward compares two or more",
                "responses",
                "give each item a list of two or more responses, or drop this item",
            )


def _engine_items(loaded: LoadedData, mode: RewardMode) -> tuple[LoadedData, dict[str, list[str]]]:
    """The items the engine judges, and each item's engine ids in candidate order: one item per candidate,
    `{id}#{k}` (score, baseline), or the item itself (tournament)."""
    if mode == "tournament":
        return loaded, {item.id: [item.id] * len(item.responses or []) for item in loaded.items}
    items: list[Item] = []
    lines: dict[str, int] = {}
    ids: dict[str, list[str]] = {}
    for item in loaded.items:
        if mode == "baseline" and item.reference is None:
            raise _bad_item(
                loaded,
                item.id,
                f"item '{item.id}' has no baseline response: mode baseline compares each candidate with the item's "
                "`reference`",
                loaded.field_map.get("reference", "reference"),
                "give each item a reference, or map the baseline's column with --field reference=COLUMN",
            )
        ids[item.id] = []
        for k, text in enumerate(item.responses or []):
            eid = f"{item.id}#{k}"
            if eid in lines or eid in loaded.lines:
                raise _bad_item(
                    loaded,
                    item.id,
                    f"candidate id '{eid}' is also an item's id",
                    "id",
                    "rename the items so that no id is another's with #N added",
                )
            base = Item(id=eid, prompt=item.prompt, turns=item.turns, metadata=item.metadata)
            if mode == "score":
                items.append(base.model_copy(update={"response": text, "reference": item.reference}))
            else:  # the baseline is the opponent, not a reference answer to grade by
                items.append(base.model_copy(update={"response_a": text, "response_b": item.reference}))
            if item.id in loaded.lines:
                lines[eid] = loaded.lines[item.id]
            ids[item.id].append(eid)
    expanded = dataclasses.replace(loaded, items=items, lines=lines, label_decoding={}, warnings=[])
    return expanded, ids


def _judging(
    mode: RewardMode,
    config: JudgeConfig | None,
    judge: Judge | Callable[[Backend], Judge] | None,
    strategy: StrategySpec | StrategyTree | str | Path | None,
    settings: RewardSettings,
) -> tuple[JudgeConfig | None, Judge | Callable[[Backend], Judge] | None, StrategySpec | StrategyTree | None]:
    """The config, judge and strategy `ajudge` gets for `mode`: the tournament's ranking put on top."""
    if isinstance(strategy, str | Path):
        strategy = load_strategy(strategy)
    wanted = JUDGED_AS[mode]
    if config is None and judge is None:
        config = JudgeConfig(mode="pairwise" if mode == "tournament" else wanted)
    if config is not None:
        accepted = ("pairwise", "listwise") if mode == "tournament" else (wanted,)
        if config.mode not in accepted:
            raise ConfigError(
                f"reward mode {mode} judges {' or '.join(accepted)}: give a config of that mode, not {config.mode}"
            )
    if mode != "tournament":
        return config, judge, strategy
    method = settings.rank_by or "knockout"
    if judge is not None:
        if strategy is not None:
            raise ConfigError("strategy= wraps the judge made from config=; give a config")
        if isinstance(judge, Judge):
            return None, PairwiseRanking(judge, method, budget=settings.rank_budget), None
        factory = judge
        return None, lambda backend: PairwiseRanking(factory(backend), method, budget=settings.rank_budget), None
    if isinstance(strategy, StrategyTree):
        raise ConfigError(
            "a tournament ranks with rank_by over flat strategy settings; a strategy file goes with mode score or "
            "baseline (or describe the ranking in it and judge listwise with `jurist judge`)"
        )
    spec = strategy or StrategySpec()
    if spec.rank_by is not None:
        raise ConfigError("give the tournament's ranking method as rank_by=, not in the strategy")
    ranked = spec.model_copy(update={"rank_by": method, "rank_budget": settings.rank_budget})
    assert config is not None
    return config.model_copy(update={"mode": "listwise"}), None, ranked


# -- from verdicts to rewards ----------------------------------------------------------------------------------------


@dataclasses.dataclass
class _Judged:
    raw: float | None
    error: str | None = None
    note: str | None = None


def _failure(verdict: Verdict | None) -> str | None:
    if verdict is None:
        return "not judged"
    if verdict.error is not None:
        return f"{verdict.error.reason}: {verdict.error.message}"
    return None


def _score(verdict: Verdict | None) -> _Judged:
    failure = _failure(verdict)
    if failure is not None or verdict is None:
        return _Judged(None, failure)
    value = verdict.outcome_as(Score).value()
    return _Judged(value, None if value is not None else "no score read")


def _baseline(verdict: Verdict | None) -> _Judged:
    failure = _failure(verdict)
    if failure is not None or verdict is None:
        return _Judged(None, failure)
    p = verdict.outcome_as(Preference).p_first(ties="half")
    return _Judged(p, None if p is not None else "undecided (the two orders disagreed and the verdict is flagged)")


def knockout_groups(n: int) -> list[int]:
    """The sizes of the tied groups of a knockout ranking of n, best first: the winner, the final's loser, then
    the losers of each earlier round (jurist.ranking.knockout_best orders those only by the round they lost in).
    Each round of `alive` candidates eliminates alive // 2 of them (an odd one out gets a bye)."""
    eliminated = []
    alive = n
    while alive > 1:
        eliminated.append(alive // 2)
        alive -= alive // 2
    return [1, *reversed(eliminated)]


def _tournament(verdict: Verdict | None, n: int) -> list[_Judged]:
    failure = _failure(verdict)
    ranking = verdict.outcome_as(Ranking).ranking if verdict is not None else None
    if failure is not None or verdict is None or not ranking or sorted(ranking) != list(range(1, n + 1)):
        return [_Judged(None, failure or "no ranking read")] * n
    details = verdict.strategy or {}
    groups = knockout_groups(n) if details.get("method") == "knockout" else [1] * n
    errors = details.get("errors") or []
    note = f"{len(errors)} of {details.get('calls')} comparisons failed (counted as ties)" if errors else None
    raw: list[float | None] = [None] * n
    place = 0
    for size in groups:
        for position in ranking[place : place + size]:
            raw[position - 1] = (n - 1 - place) / (n - 1)  # a tied group takes its best place
        place += size
    return [_Judged(r, None, note) for r in raw]


def _standardised(values: Sequence[float]) -> list[float]:
    """Each value in standard deviations from the mean (population sd); all 0 when they are equal."""
    mean = sum(values) / len(values)
    sd = math.sqrt(sum((v - mean) ** 2 for v in values) / len(values))
    return [(v - mean) / sd if sd > 0 else 0.0 for v in values]


def _ranks(values: Sequence[float]) -> list[int]:
    """Competition ranks, 1 for the highest; equal values share the best of their ranks."""
    return [1 + sum(other > v for other in values) for v in values]


def _rank_scaled(values: Sequence[float]) -> list[float]:
    """Each value's place mapped to [0, 1] (1 the best), ties sharing their mean place; 0.5 for a single value."""
    n = len(values)
    if n == 1:
        return [0.5]
    mean_rank = [1 + sum(o > v for o in values) + (sum(o == v for o in values) - 1) / 2 for v in values]
    return [(n - r) / (n - 1) for r in mean_rank]


def shape(raw: Sequence[float], lengths: Sequence[int], settings: RewardSettings) -> list[float]:
    """One prompt's rewards: the judge's `raw` rewards of its judged candidates, penalised for length and
    normalised as `settings` say. `lengths` are the same candidates' lengths (characters)."""
    values = list(raw)
    if settings.length_penalty and values:
        values = [v - settings.length_penalty * z for v, z in zip(values, _standardised(lengths), strict=True)]
    if settings.normalise == "zscore" and values:
        values = _standardised(values)
    elif settings.normalise == "rank" and values:
        values = _rank_scaled(values)
    return values


def reward_rows(
    items: Sequence[Item], verdicts: dict[str, Verdict], settings: RewardSettings, ids: dict[str, list[str]]
) -> list[RewardRow]:
    """The reward table of `items` from the run's `verdicts` (by engine id; `ids` gives each item's, per
    candidate)."""
    rows: list[RewardRow] = []
    for item in items:
        responses = item.responses or []
        if settings.mode == "tournament":
            judged = _tournament(verdicts.get(item.id), len(responses))
        else:
            read = _score if settings.mode == "score" else _baseline
            judged = [read(verdicts.get(eid)) for eid in ids[item.id]]
        ok = [k for k, j in enumerate(judged) if j.raw is not None]
        shaped = shape([judged[k].raw for k in ok], [len(responses[k]) for k in ok], settings)  # type: ignore[misc]
        reward = dict(zip(ok, shaped, strict=True))
        ranks = dict(zip(ok, _ranks(shaped), strict=True))
        best = min(ok, key=lambda k: (-reward[k], k)) if ok else None
        rows.extend(
            RewardRow(
                id=item.id,
                candidate=k,
                reward=reward.get(k),
                raw=judged[k].raw,
                rank=ranks.get(k),
                best=k == best,
                length=len(text),
                error=judged[k].error,
                note=judged[k].note,
                prompt=item.prompt,
                response=text,
            )
            for k, text in enumerate(responses)
        )
    return rows
