"""`jurist arena`: judge several systems' answers to the same prompts and rank the systems.

The input is one answer per (system, prompt). A schedule says which pairs of answers to compare (every system
against a baseline, all pairs, or adaptively where the ranking is still unsure); each comparison becomes a
pairwise item judged into a normal, resumable run directory (OUT/battles-run), and the verdicts become battles
from which the leaderboard is computed: Bradley-Terry scores with bootstrap intervals, raw and style-controlled,
the win rate against the baseline, and (order-dependent) Elo. Pointwise mode instead grades each answer alone
(OUT/scores-run) and ranks the systems by mean score, as MT-Bench's single-answer grading does.

Gaming checks add systems the judge should not reward: a null model that answers every prompt with the same
refusal, and verbose copies of a system whose answers are padded with words that add nothing.
"""

from __future__ import annotations

import functools
import hashlib
import math
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from jurist.api import renamed, split_options, sync_twin
from jurist.audit.probes import NULL_REFUSAL, pad_verbosely
from jurist.backends import Backend
from jurist.data.load import LoadedData, read_given_rows
from jurist.errors import ConfigError, InputError, NoVerdictError
from jurist.files import write_csv
from jurist.judges import JudgeConfig
from jurist.judges.base import Judge
from jurist.leaderboard.battles import STYLE_FEATURES, Battle, style_features
from jurist.leaderboard.length_control import length_controlled_win_rate
from jurist.leaderboard.ratings import (
    BradleyTerry,
    WinRate,
    bradley_terry,
    elo_ratings,
    mean_scores,
    win_rate_vs_baseline,
    win_shares,
)
from jurist.leaderboard.schedule import Match, all_pairs_schedule, baseline_schedule, next_battles, settled
from jurist.outcomes import Preference, Score
from jurist.run.engine import Backends, JobOptions, run
from jurist.run.log import read_run
from jurist.strategies.build import StrategySpec, judge_for
from jurist.strategies.tree import StrategyTree, load_strategy
from jurist.types import Item, Verdict

ArenaMode = Literal["pairwise", "pointwise"]
Schedule = Literal["baseline", "all-pairs", "adaptive"]
SCHEDULES: tuple[Schedule, ...] = ("baseline", "all-pairs", "adaptive")

NULL_MODEL = "null-model"  # answers NULL_REFUSAL to every prompt (audit/probes.py holds the gaming texts)
VERBOSE_SUFFIX = "-verbose"

BATTLES_RUN = "battles-run"
SCORES_RUN = "scores-run"
ELO_NOTE = "Elo is computed online in schedule order and changes if the same battles come in another order"

_PROMPT_ID_FIELDS = ("prompt_id", "id")
_PROMPT_FIELDS = ("prompt", "instruction")
_OUTPUT_FIELDS = ("output", "response")
_SYSTEM_FIELDS = ("system", "model", "generator")


# -- the data: prompts, and each system's answers -----------------------------------------------------------------


class ArenaData(BaseModel):
    """The prompts (id -> text, in input order) and each system's answers (system -> prompt id -> answer).

    `sources` says where each system's answers came from (a file, or what jurist made them from).
    """

    prompts: dict[str, str]
    outputs: dict[str, dict[str, str]]
    sources: dict[str, str]

    @property
    def systems(self) -> list[str]:
        return list(self.outputs)

    def missing(self) -> dict[str, list[str]]:
        """Per system, the ids of the prompts it has no answer for (only systems with some missing)."""
        gaps = {name: [p for p in self.prompts if p not in answers] for name, answers in self.outputs.items()}
        return {name: ids for name, ids in gaps.items() if ids}


def _first(row: dict[str, Any], names: Sequence[str]) -> tuple[Any, str]:
    for name in names:
        value = row.get(name)
        if value is not None and not (isinstance(value, float) and math.isnan(value)):
            return value, name
    return None, names[0]


def _text(value: Any, column: str, file: str, line: int) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise InputError(
            f"must be text, got {type(value).__name__}", file=file, line=line, field=column, hint="write it as a string"
        )
    return str(value)


class _Collector:
    """Builds ArenaData row by row, checking that a prompt id always names the same prompt text."""

    def __init__(self) -> None:
        self.prompts: dict[str, str] = {}
        self.first_seen: dict[str, str] = {}
        self.outputs: dict[str, dict[str, str]] = {}
        self.lines: dict[tuple[str, str], int] = {}

    def add(self, system: str, row: dict[str, Any], file: str, line: int) -> None:
        prompt_value, prompt_column = _first(row, _PROMPT_FIELDS)
        if prompt_value is None:
            raise InputError(
                "no prompt (the request the systems answered)",
                file=file,
                line=line,
                field=prompt_column,
                hint=f"give it in a column named {' or '.join(_PROMPT_FIELDS)}",
            )
        prompt = _text(prompt_value, prompt_column, file, line)
        if not prompt.strip():
            raise InputError("is empty", file=file, line=line, field=prompt_column, hint="every row needs its prompt")
        raw_id, id_column = _first(row, _PROMPT_ID_FIELDS)
        if isinstance(raw_id, float) and raw_id.is_integer():
            raw_id = int(raw_id)
        # Without ids, answers are matched by their prompt text (as AlpacaEval's output files are).
        prompt_id = (
            _text(raw_id, id_column, file, line)
            if raw_id is not None
            else "p-" + hashlib.sha256(prompt.strip().encode()).hexdigest()[:10]
        )
        output_value, output_column = _first(row, _OUTPUT_FIELDS)
        if output_value is None:
            raise InputError(
                f"no answer for prompt '{prompt_id}'",
                file=file,
                line=line,
                field=output_column,
                hint=f"give it in a column named {' or '.join(_OUTPUT_FIELDS)}; drop the row if the system has no "
                "answer to this prompt (the arena then reports it as missing)",
            )
        output = _text(output_value, output_column, file, line)
        known = self.prompts.get(prompt_id)
        if known is None:
            self.prompts[prompt_id] = prompt
            self.first_seen[prompt_id] = f"{file}:{line}"
        elif known.strip() != prompt.strip():
            raise InputError(
                f"prompt '{prompt_id}' has a different text here than at {self.first_seen[prompt_id]}",
                file=file,
                line=line,
                field=prompt_column,
                hint="answers are compared only on the same request: fix the id or the text",
            )
        answers = self.outputs.setdefault(system, {})
        if prompt_id in answers:
            raise InputError(
                f"system '{system}' answers prompt '{prompt_id}' twice (first on line {self.lines[system, prompt_id]})",
                file=file,
                line=line,
                field=id_column,
                hint="keep one answer per system and prompt",
            )
        answers[prompt_id] = output
        self.lines[system, prompt_id] = line


def parse_system_spec(spec: str) -> tuple[str, Path]:
    """`NAME=PATH` (the --system option) as (name, path)."""
    name, sep, path = spec.partition("=")
    if not sep or not name.strip() or not path.strip():
        raise ConfigError(f"--system '{spec}' is not NAME=PATH; e.g. --system gpt4=outputs/gpt4.jsonl")
    return name.strip(), Path(path.strip())


def load_systems(systems: Sequence[tuple[str, str | Path]]) -> ArenaData:
    """One file per system (JSONL, JSON, CSV or Parquet): rows of `id` (or `prompt_id`), `prompt` (or
    `instruction`) and `output` (or `response`). Rows without an id are matched across files by prompt text."""
    collector = _Collector()
    sources: dict[str, str] = {}
    for name, path in systems:
        if name in sources:
            raise ConfigError(
                f"system '{name}' is given twice ({sources[name]} and {path}); give each system a name of its own"
            )
        path = Path(path)
        rows, _unit = read_given_rows(path, f"check the path given for system '{name}'", f"answers for system '{name}'")
        sources[name] = str(path)
        for line, row in rows:
            if not isinstance(row, dict):
                raise InputError(f"expected an object with fields, got {type(row).__name__}", file=str(path), line=line)
            collector.add(name, row, str(path), line)
    return ArenaData(prompts=collector.prompts, outputs=collector.outputs, sources=sources)


def load_table(path: str | Path) -> ArenaData:
    """One long table: a row per (system, prompt) with `prompt_id` (or `id`), `prompt`, `system` and `output`."""
    path = Path(path)
    rows, _unit = read_given_rows(path, "check the --table path")
    collector = _Collector()
    for line, row in rows:
        if not isinstance(row, dict):
            raise InputError(f"expected an object with fields, got {type(row).__name__}", file=str(path), line=line)
        system_value, system_column = _first(row, _SYSTEM_FIELDS)
        if system_value is None or not str(system_value).strip():
            raise InputError(
                "no system name",
                file=str(path),
                line=line,
                field=system_column,
                hint=f"a long table names the system of each row in a column named {' or '.join(_SYSTEM_FIELDS)}",
            )
        collector.add(_text(system_value, system_column, str(path), line).strip(), row, str(path), line)
    return ArenaData(
        prompts=collector.prompts,
        outputs=collector.outputs,
        sources={name: str(path) for name in collector.outputs},
    )


def _new_name(data: ArenaData, name: str, what: str) -> None:
    if name in data.outputs:
        raise ConfigError(f"a system is already named '{name}'; rename it to add the {what}")


def with_null_model(data: ArenaData, name: str = NULL_MODEL, text: str = NULL_REFUSAL) -> ArenaData:
    """A copy of `data` with a system that gives the same answer (by default a refusal) to every prompt."""
    _new_name(data, name, "null model")
    return ArenaData(
        prompts=data.prompts,
        outputs={**data.outputs, name: dict.fromkeys(data.prompts, text)},
        sources={**data.sources, name: f"null model: {text!r} on every prompt"},
    )


def with_verbose_variant(data: ArenaData, system: str) -> ArenaData:
    """A copy of `data` with `SYSTEM-verbose`: the system's answers, each padded by `pad_verbosely`."""
    if system not in data.outputs:
        raise ConfigError(
            f"--verbose-variant '{system}' is not one of the systems: {', '.join(data.outputs)}",
        )
    name = system + VERBOSE_SUFFIX
    _new_name(data, name, "verbose variant")
    return ArenaData(
        prompts=data.prompts,
        outputs={**data.outputs, name: {p: pad_verbosely(t) for p, t in data.outputs[system].items()}},
        sources={**data.sources, name: f"verbose copy of {system} (padded, no added content)"},
    )


# -- options and checks -------------------------------------------------------------------------------------------


class ArenaOptions(BaseModel):
    """What to compare and how to rank (how each comparison is judged is the JudgeConfig's business)."""

    model_config = ConfigDict(extra="forbid")

    mode: ArenaMode = "pairwise"
    schedule: Schedule = "all-pairs"
    baseline: str | None = Field(None, description="the system others are measured against (anchor at 1000)")
    budget: int | None = Field(None, ge=1, description="adaptive: at most this many battles in all")
    round_size: int | None = Field(None, ge=1, description="adaptive: battles per round (default 2 per system)")
    n_bootstrap: int = Field(1000, ge=0, description="bootstrap resamples for the intervals")
    seed: int = 0


def check_arena(data: ArenaData, options: ArenaOptions) -> list[str]:
    """Refuse settings that cannot work; return warnings about data that can (missing answers)."""
    systems = data.systems
    if len(systems) < 2:
        raise ConfigError(
            f"an arena needs at least 2 systems, got {len(systems)} ({', '.join(systems) or 'none'}); "
            "give more with --system NAME=PATH, or more systems in --table"
        )
    if options.baseline is not None and options.baseline not in systems:
        raise ConfigError(f"baseline '{options.baseline}' is not one of the systems: {', '.join(systems)}")
    if options.mode == "pairwise":
        if options.schedule == "baseline" and options.baseline is None:
            raise ConfigError(
                "--schedule baseline needs --baseline NAME (the system every other one is judged against)"
            )
        if options.schedule == "adaptive" and options.budget is None:
            raise ConfigError("--schedule adaptive needs --budget N (the most battles to judge)")
        if options.schedule != "adaptive" and (options.budget is not None or options.round_size is not None):
            raise ConfigError("--budget and round size apply only to --schedule adaptive")
    warnings = []
    for system, ids in data.missing().items():
        shown = ", ".join(ids[:5]) + (", ..." if len(ids) > 5 else "")
        warnings.append(
            f"system '{system}' has no answer for {len(ids)} of {len(data.prompts)} prompts ({shown}); "
            "those prompts are left out of its battles"
        )
    if options.mode == "pairwise" and options.schedule == "adaptive":
        complete = _complete_prompts(data)
        if len(complete) < len(data.prompts):
            warnings.append(
                f"the adaptive schedule uses only the {len(complete)} prompts every system answered "
                f"({len(data.prompts) - len(complete)} left out)"
            )
        if not complete:
            raise ConfigError("no prompt has an answer from every system, which the adaptive schedule needs")
    return warnings


def _complete_prompts(data: ArenaData) -> list[str]:
    return [p for p in data.prompts if all(p in answers for answers in data.outputs.values())]


# -- the report ---------------------------------------------------------------------------------------------------


class ArenaRow(BaseModel):
    """One system on the leaderboard. Pairwise rows fill the Bradley-Terry, win-rate and Elo fields; pointwise
    rows fill `mean_score` and its interval. Scores are on the Elo scale (anchor, or the mean, at 1000)."""

    system: str
    rank: int
    bt_score: float | None = None
    bt_low: float | None = None
    bt_high: float | None = None
    style_score: float | None = None
    style_low: float | None = None
    style_high: float | None = None
    style_rank: int | None = None
    win_rate: float | None = None  # percent, against the baseline
    win_rate_se: float | None = None
    lc_win_rate: float | None = None  # percent: AlpacaEval's length-controlled win rate against the baseline
    elo: float | None = None
    battles: int = 0  # battles with a verdict that this system took part in
    mean_score: float | None = None
    mean_low: float | None = None
    mean_high: float | None = None
    scored: int = 0  # pointwise: answers with a score
    missing_prompts: int = 0
    source: str = ""


class ArenaReport(BaseModel):
    """Everything `jurist arena` found, machine-readable (written as OUT/arena.json)."""

    mode: ArenaMode
    schedule: Schedule | None
    baseline: str | None
    judge: str
    run_dir: str
    prompts: int
    systems: list[str]
    rows: list[ArenaRow]
    scheduled: int  # battles (or answers, pointwise) sent to the judge
    decided: int  # of those, with a usable verdict
    failed: dict[str, int] = Field(default_factory=dict)  # verdicts with an error, by reason (never made ties)
    undecided: int = 0  # pairwise verdicts with no winner (flagged when the two orders disagreed)
    left_out: dict[str, int] = Field(default_factory=dict)  # per system: battles or answers dropped for no answer
    warnings: list[str] = Field(default_factory=list)
    rounds: int = 1
    settled: bool | None = None  # adaptive: whether the ranking settled before the budget was spent
    bradley_terry: BradleyTerry | None = None
    style_controlled: BradleyTerry | None = None
    win_rates: list[WinRate] = Field(default_factory=list)
    elo_note: str | None = None
    null_output: str | None = None


# -- judging ------------------------------------------------------------------------------------------------------


def battle_items(data: ArenaData, matches: Sequence[Match]) -> tuple[list[Item], Counter[str]]:
    """Pairwise items for the matches both of whose systems answered the prompt, and per system the battles
    left out because it (or its opponent) had no answer."""
    items: list[Item] = []
    left_out: Counter[str] = Counter()
    for prompt_id, model_a, model_b in matches:
        answer_a, answer_b = data.outputs[model_a].get(prompt_id), data.outputs[model_b].get(prompt_id)
        if answer_a is None or answer_b is None:
            left_out[model_a] += 1
            left_out[model_b] += 1
            continue
        items.append(
            Item(
                id=f"{prompt_id}:{model_a}:{model_b}",
                prompt=data.prompts[prompt_id],
                response_a=answer_a,
                response_b=answer_b,
                metadata={"prompt_id": prompt_id, "model_a": model_a, "model_b": model_b},
            )
        )
    return items, left_out


def answer_items(data: ArenaData) -> tuple[list[Item], Counter[str]]:
    """Pointwise items, one per answer, and per system the prompts it has no answer for."""
    items: list[Item] = []
    left_out: Counter[str] = Counter()
    for system, answers in data.outputs.items():
        for prompt_id, prompt in data.prompts.items():
            if prompt_id not in answers:
                left_out[system] += 1
                continue
            items.append(
                Item(
                    id=f"{prompt_id}:{system}",
                    prompt=prompt,
                    response=answers[prompt_id],
                    metadata={"prompt_id": prompt_id, "system": system},
                )
            )
    return items, left_out


def to_battle(item: Item, verdict: Verdict) -> Battle | None:
    """The battle a successful verdict decided; None for a failed or undecided one (never a tie). Its
    `preference`, P(B wins), comes from the verdict's label probabilities, a tie counting half (AlpacaEval's
    convention); None without them."""
    preference = verdict.outcome_as(Preference)
    if verdict.error is not None or preference.winner is None:
        return None
    p_a = preference.p_first(ties="half", discrete=False)
    return Battle(
        prompt_id=item.metadata["prompt_id"],
        model_a=item.metadata["model_a"],
        model_b=item.metadata["model_b"],
        winner=preference.winner,
        preference=None if p_a is None else 1.0 - p_a,
        features_a=style_features(item.response_a or ""),
        features_b=style_features(item.response_b or ""),
    )


class _Judging:
    """Judges batches of items into one run directory and keeps every item's current verdict."""

    def __init__(
        self,
        run_dir: Path,
        make: Callable[[], Judge],
        options: JobOptions,
        backends: Backends,
        on_start: Callable[[int, int], None] | None,
        on_verdict: Callable[[Verdict], None] | None,
        on_wait: Callable[[str], None] | None,
    ) -> None:
        self.run_dir, self.make, self.options, self.backends = run_dir, make, options, backends
        # built once here: a strategy file of another mode fails before any call
        self.name = make().spec.backend  # the judge's model(s), for the report
        self.on_start, self.on_verdict, self.on_wait = on_start, on_verdict, on_wait
        self.items: dict[str, Item] = {}
        self.verdicts: dict[str, Verdict] = {}

    async def judge(self, new_items: Sequence[Item]) -> None:
        """Judge `new_items`, with every earlier item again (already-judged ones are skipped by the runner), so
        the run's config lists the whole arena so far."""
        for item in new_items:
            self.items[item.id] = item
        data = LoadedData(path=f"jurist arena ({self.run_dir.parent})", items=list(self.items.values()))
        await run(
            self.make(),
            data,
            self.run_dir,
            self.options,
            backends=self.backends,
            on_start=self.on_start,
            on_verdict=self.on_verdict,
            on_wait=self.on_wait,
        )
        # --overwrite discards an old run once; a later round must keep the rounds before it.
        if self.options.run.overwrite:
            kept = self.options.run.model_copy(update={"overwrite": False})
            self.options = self.options.model_copy(update={"run": kept})
        latest = {v.id: v for v in read_run(self.run_dir).verdicts}
        # A verdict counts only for the very item it was made for (not for an earlier arena's edited answer).
        self.verdicts = {
            key: latest[key]
            for key, item in self.items.items()
            if key in latest and latest[key].item_hash == item.content_hash()
        }

    def failures(self) -> dict[str, int]:
        return dict(Counter(v.error.reason for v in self.verdicts.values() if v.error is not None))


def _fit_or_explain(fit: Callable[[], BradleyTerry], judging: _Judging, what: str) -> BradleyTerry:
    try:
        return fit()
    except ConfigError as exc:
        failed = sum(judging.failures().values())
        error = NoVerdictError if failed == len(judging.items) else ConfigError  # every battle failed: exit 3
        raise error(
            f"no {what} could be fitted: {exc} ({failed} of {len(judging.items)} battles failed; see {judging.run_dir})"
        ) from None


def _rank(order: Sequence[str]) -> dict[str, int]:
    return {name: position for position, name in enumerate(order, start=1)}


async def arun_arena(
    data: ArenaData,
    *,
    out: str | Path,
    arena: ArenaOptions | None = None,
    config: JudgeConfig | None = None,
    model: str | Backend | None = None,
    strategy: StrategySpec | StrategyTree | str | Path | None = None,
    options: JobOptions | None = None,
    job: JobOptions | None = None,
    on_start: Callable[[int, int], None] | None = None,
    on_verdict: Callable[[Verdict], None] | None = None,
    on_wait: Callable[[str], None] | None = None,
) -> ArenaReport:
    """Judge the arena into `out` (resuming what is already there), write its outputs and return the report.

    `arena` says what to compare and how to rank; `config` how each comparison is judged (default: the pairwise
    or pointwise defaults for `arena.mode`); `model` is a model spec or a backend (default "local"); `strategy`
    wraps that judge as `ajudge`'s does (a StrategySpec, or a strategy file); `options` are the job's (backend,
    retries, rate limits, concurrency, cache), as in `ajudge`. `on_start(total, already_judged)` is called at the
    start of every round. The old spellings `options=ArenaOptions(...)` and `job=` still work with a
    DeprecationWarning.
    """
    arena, options = _arena_and_job(arena, options, job)
    config = config or JudgeConfig(mode=arena.mode)
    if config.mode != arena.mode:
        raise ConfigError(f"the judge config is {config.mode} but the arena's mode is {arena.mode}")
    if isinstance(strategy, str | Path):
        strategy = load_strategy(strategy)
    warnings = check_arena(data, arena)
    out = Path(out)
    # One backend for every round: an embedded model is loaded once, not once a round.
    async with Backends(options) as backends:
        make = functools.partial(judge_for, config, strategy, model or "local", backends.get)  # one judge a round
        run_dir = out / (BATTLES_RUN if arena.mode == "pairwise" else SCORES_RUN)
        judging = _Judging(run_dir, make, options, backends, on_start, on_verdict, on_wait)
        if arena.mode == "pointwise":
            report = await _pointwise(data, arena, judging, warnings)
        else:
            report, battles = await _pairwise(data, arena, judging, warnings)
            write_battles(out, battles)
    write_report(out, report)
    return report


run_arena = sync_twin(arun_arena)


def _arena_and_job(
    arena: ArenaOptions | None, options: JobOptions | None, job: JobOptions | None
) -> tuple[ArenaOptions, JobOptions]:
    """The arena's and the job's options, from the old spellings too (`options=ArenaOptions(...)`, `job=`), each
    with a DeprecationWarning."""
    arena, options = split_options("arun_arena", "arena", arena, options, ArenaOptions)
    return arena or ArenaOptions(), renamed("arun_arena(job=...)", "options=", job, options) or JobOptions()


async def _pairwise(
    data: ArenaData, options: ArenaOptions, judging: _Judging, warnings: list[str]
) -> tuple[ArenaReport, list[Battle]]:
    systems, prompts = data.systems, list(data.prompts)
    left_out: Counter[str] = Counter()
    rounds, is_settled = 1, None
    if options.schedule == "adaptive":
        rounds, is_settled = await _adaptive(data, options, judging)
    else:
        matches = (
            baseline_schedule(systems, prompts, options.baseline or "")
            if options.schedule == "baseline"
            else all_pairs_schedule(systems, prompts)
        )
        items, left_out = battle_items(data, matches)
        await judging.judge(items)
    battles = _battles(judging)
    undecided = sum(1 for v in judging.verdicts.values() if v.error is None and v.decision() is None)
    raw = _fit_or_explain(
        lambda: bradley_terry(battles, n_bootstrap=options.n_bootstrap, seed=options.seed, anchor=options.baseline),
        judging,
        "Bradley-Terry leaderboard",
    )
    styled = _fit_or_explain(
        lambda: bradley_terry(
            battles,
            n_bootstrap=options.n_bootstrap,
            seed=options.seed,
            anchor=options.baseline,
            features=list(STYLE_FEATURES),
        ),
        judging,
        "style-controlled leaderboard",
    )
    rates = win_rate_vs_baseline(battles, options.baseline) if options.baseline is not None else []
    by_rate = {r.model: r for r in rates}
    lc = _length_controlled(data, battles, options.baseline, warnings) if options.baseline is not None else {}
    elo = elo_ratings(battles)
    fought = Counter(name for b in battles for name in (b.model_a, b.model_b))
    missing = data.missing()
    style_rank = _rank(styled.ranking)
    rows = []
    for rank, system in enumerate(raw.ranking, start=1):
        rate = by_rate.get(system)
        rows.append(
            ArenaRow(
                system=system,
                rank=rank,
                bt_score=raw.scores[system],
                bt_low=raw.intervals[system][0],
                bt_high=raw.intervals[system][1],
                style_score=styled.scores[system],
                style_low=styled.intervals[system][0],
                style_high=styled.intervals[system][1],
                style_rank=style_rank[system],
                win_rate=None if rate is None else rate.win_rate,
                win_rate_se=None if rate is None else rate.standard_error,
                lc_win_rate=lc.get(system),
                elo=elo.get(system),
                battles=fought[system],
                missing_prompts=len(missing.get(system, [])),
                source=data.sources.get(system, ""),
            )
        )
    # Systems with no decided battle at all cannot be placed; they are listed last, unranked, and reported.
    for system in systems:
        if system not in raw.scores:
            warnings.append(f"system '{system}' has no decided battle and is not on the leaderboard")
    report = ArenaReport(
        mode="pairwise",
        schedule=options.schedule,
        baseline=options.baseline,
        judge=judging.name,
        run_dir=str(judging.run_dir),
        prompts=len(data.prompts),
        systems=systems,
        rows=rows,
        scheduled=len(judging.items),
        decided=len(battles),
        failed=judging.failures(),
        undecided=undecided,
        left_out=dict(left_out),
        warnings=warnings,
        rounds=rounds,
        settled=is_settled,
        bradley_terry=raw,
        style_controlled=styled,
        win_rates=rates,
        elo_note=ELO_NOTE,
        null_output=NULL_REFUSAL if NULL_MODEL in data.outputs else None,
    )
    return report, battles


def _length_controlled(data: ArenaData, battles: list[Battle], baseline: str, warnings: list[str]) -> dict[str, float]:
    """AlpacaEval's length-controlled win rate of each system against the baseline (see length_control.py), from
    the baseline battles: the soft outcome is P(system wins) (the verdict's probabilities, else 1 / 0.5 / 0), and
    lengths are the answers' characters. The instruction difficulty is cross-fitted from the other systems when
    there are at least three, else left out (said in a warning)."""
    rows: dict[str, list[dict[str, Any]]] = {}
    for b in battles:
        if baseline not in (b.model_a, b.model_b) or b.model_a == b.model_b:
            continue
        system = b.model_b if b.model_a == baseline else b.model_a
        p_system = b.p_second() if b.model_b == system else 1.0 - b.p_second()
        rows.setdefault(system, []).append(
            {
                "preference": 1.0 + p_system,
                "len_output_1": len(data.outputs[baseline].get(b.prompt_id, "")),
                "len_output_2": len(data.outputs[system].get(b.prompt_id, "")),
                "instruction": data.prompts.get(b.prompt_id, b.prompt_id),
            }
        )
    if not rows:
        return {}
    difficulty: Literal["cross_fit", "none"] = "cross_fit" if len(rows) >= 3 else "none"
    if difficulty == "none":
        warnings.append("length-controlled win rate: fewer than 3 systems, so no instruction-difficulty term")
    try:
        fitted = length_controlled_win_rate(rows, difficulty=difficulty)
    except (ConfigError, InputError, ValueError) as exc:
        warnings.append(f"length-controlled win rate not computed: {exc}")
        return {}
    return {r.model: r.lc_win_rate for r in fitted}


def _battles(judging: _Judging) -> list[Battle]:
    """The decided battles, in the order the items were scheduled."""
    battles = []
    for key, item in judging.items.items():
        verdict = judging.verdicts.get(key)
        battle = None if verdict is None else to_battle(item, verdict)
        if battle is not None:
            battles.append(battle)
    return battles


async def _adaptive(data: ArenaData, options: ArenaOptions, judging: _Judging) -> tuple[int, bool]:
    """Rounds of `next_battles` until the ranking is settled, the budget is spent, or nothing new is left."""
    systems, prompts = data.systems, _complete_prompts(data)
    budget = options.budget or 0
    round_size = options.round_size or 2 * len(systems)
    asked: set[tuple[str, frozenset[str]]] = set()
    rounds = 0
    while len(asked) < budget:
        battles = _battles(judging)
        proposed = next_battles(
            battles, systems, prompts, min(round_size, budget - len(asked)), seed=options.seed + rounds
        )
        # A match whose verdict failed is not a battle, so it may be proposed again: never ask it twice.
        fresh = [m for m in proposed if (m[0], frozenset(m[1:])) not in asked]
        if not fresh:
            break
        asked.update((m[0], frozenset(m[1:])) for m in fresh)
        items, _ = battle_items(data, fresh)
        rounds += 1
        await judging.judge(items)
        if _is_settled(_battles(judging), options):
            return rounds, True
    return rounds, False


def _is_settled(battles: Sequence[Battle], options: ArenaOptions) -> bool:
    try:
        return settled(bradley_terry(battles, n_bootstrap=options.n_bootstrap, seed=options.seed))
    except ConfigError:  # not every system is linked by a battle yet
        return False


async def _pointwise(data: ArenaData, options: ArenaOptions, judging: _Judging, warnings: list[str]) -> ArenaReport:
    items, left_out = answer_items(data)
    await judging.judge(items)
    rows_in = []
    for key, item in judging.items.items():
        verdict = judging.verdicts.get(key)
        score = None if verdict is None or verdict.error is not None else verdict.outcome_as(Score).score
        if score is not None:
            rows_in.append((item.metadata["system"], item.metadata["prompt_id"], score))
    if not rows_in:
        failed = sum(judging.failures().values())
        error = NoVerdictError if failed == len(items) else ConfigError  # every answer failed: exit 3
        raise error(f"no answer got a score ({failed} of {len(items)} failed; see {judging.run_dir})")
    means = mean_scores(rows_in, n_bootstrap=max(options.n_bootstrap, 1), seed=options.seed)
    missing = data.missing()
    rows = [
        ArenaRow(
            system=m.system,
            rank=rank,
            mean_score=m.mean,
            mean_low=m.low,
            mean_high=m.high,
            scored=m.n,
            missing_prompts=len(missing.get(m.system, [])),
            source=data.sources.get(m.system, ""),
        )
        for rank, m in enumerate(means, start=1)
    ]
    scored = {m.system for m in means}
    warnings.extend(
        f"system '{s}' has no scored answer and is not on the leaderboard" for s in data.systems if s not in scored
    )
    return ArenaReport(
        mode="pointwise",
        schedule=None,
        baseline=options.baseline,
        judge=judging.name,
        run_dir=str(judging.run_dir),
        prompts=len(data.prompts),
        systems=data.systems,
        rows=rows,
        scheduled=len(items),
        decided=len(rows_in),
        failed=judging.failures(),
        left_out=dict(left_out),
        warnings=warnings,
        null_output=NULL_REFUSAL if NULL_MODEL in data.outputs else None,
    )


# -- outputs ------------------------------------------------------------------------------------------------------


def write_battles(out: Path, battles: Sequence[Battle]) -> None:
    """OUT/battles.jsonl (one decided battle a line) and OUT/win_matrix.csv (row system's share against column)."""
    out.mkdir(parents=True, exist_ok=True)
    with (out / "battles.jsonl").open("w", encoding="utf-8") as fh:
        for battle in battles:
            fh.write(battle.model_dump_json() + "\n")
    systems, shares = win_shares(battles)
    with (out / "win_matrix.csv").open("w", encoding="utf-8", newline="") as fh:
        rows = ([system, *row] for system, row in zip(systems, shares, strict=True))
        write_csv(fh, ["model", *systems], rows, float_format="%.4f")


def write_report(out: Path, report: ArenaReport) -> None:
    """OUT/leaderboard.csv (one row per system, only the columns the mode fills) and OUT/arena.json (all of it)."""
    out.mkdir(parents=True, exist_ok=True)
    rows = [row.model_dump() for row in report.rows]
    only_other_mode = ["mean_score", "mean_low", "mean_high", "scored"] if report.mode == "pairwise" else ["battles"]
    columns = [
        name
        for name in ArenaRow.model_fields
        if name not in only_other_mode and any(not _empty(row[name]) for row in rows)
    ]
    with (out / "leaderboard.csv").open("w", encoding="utf-8", newline="") as fh:
        write_csv(fh, columns, ([row[c] for c in columns] for row in rows), float_format="%.4f")
    # Strict JSON: a number that is not there (an interval without a bootstrap) is written as null, not NaN.
    (out / "arena.json").write_text(report.model_dump_json(indent=2) + "\n")


def _empty(value: object) -> bool:
    """None, or a number that is not there (NaN): an empty cell."""
    return value is None or (isinstance(value, float) and math.isnan(value))


# -- the terminal table -------------------------------------------------------------------------------------------


def _versus(system: str, baseline: str, rate: float | None, error: float | None = None) -> str:
    """A win rate against the baseline (± its standard error), "baseline" in the baseline's own row."""
    if system == baseline:
        return "baseline"
    if rate is None:
        return "-"
    return f"{rate:.1f}" + ("" if error is None else f" ± {error:.1f}")


def _interval(value: float | None, low: float | None, high: float | None, digits: int = 0) -> str:
    if value is None:
        return "-"
    text = f"{value:.{digits}f}"
    if low is None or high is None or math.isnan(low) or math.isnan(high):
        return text
    return f"{text} ({low:.{digits}f}, {high:.{digits}f})"


def render_arena(report: ArenaReport) -> Any:
    """The leaderboard as a rich Table, with the notes a reader needs under it."""
    from rich.table import Table

    notes = []
    if report.mode == "pairwise":
        title = f"Arena: {report.decided} battles decided of {report.scheduled}, {report.prompts} prompts"
        if report.schedule:
            title += f", schedule {report.schedule}"
        if report.rounds > 1 or report.schedule == "adaptive":
            title += f" ({report.rounds} rounds, {'settled' if report.settled else 'not settled'})"
    else:
        title = f"Arena (pointwise): {report.decided} answers scored of {report.scheduled}, {report.prompts} prompts"
    table = Table(title=title, box=None, header_style="bold", title_justify="left")
    table.add_column("rank", justify="right")
    table.add_column("system", no_wrap=True)
    if report.mode == "pairwise":
        table.add_column("BT score", justify="right")
        table.add_column("style-controlled", justify="right")
        table.add_column("style rank", justify="right")
        if report.baseline is not None:
            table.add_column(f"win % vs {report.baseline}", justify="right")
            table.add_column("length-controlled", justify="right")
        table.add_column("Elo*", justify="right")
        table.add_column("battles", justify="right")
        for row in report.rows:
            cells = [
                str(row.rank),
                row.system,
                _interval(row.bt_score, row.bt_low, row.bt_high),
                _interval(row.style_score, row.style_low, row.style_high),
                str(row.style_rank),
            ]
            if report.baseline is not None:
                cells.append(_versus(row.system, report.baseline, row.win_rate, row.win_rate_se))
                cells.append(_versus(row.system, report.baseline, row.lc_win_rate))
            cells += ["-" if row.elo is None else f"{row.elo:.0f}", str(row.battles)]
            table.add_row(*cells)
        anchor = f"'{report.baseline}' at 1000" if report.baseline else "the mean system at 1000"
        notes.append(f"BT: Bradley-Terry (Davidson ties), Elo scale with {anchor}; 95% bootstrap intervals.")
        if report.style_controlled is not None and report.style_controlled.feature_coefs:
            coefs = ", ".join(f"{k} {v:+.2f}" for k, v in report.style_controlled.feature_coefs.items())
            notes.append(f"Style-controlled: answers' style held equal; judge's style coefficients: {coefs}.")
        if report.baseline is not None:
            notes.append("Win %: against the baseline, a tie (or the judge's probability) counted as a share; ± SE.")
        notes.append(f"*{ELO_NOTE}.")
        if report.undecided:
            notes.append(f"{report.undecided} battles had no winner (the two orders disagreed) and are left out.")
    else:
        table.add_column("mean score (95% CI)", justify="right")
        table.add_column("scored", justify="right")
        for row in report.rows:
            table.add_row(
                str(row.rank), row.system, _interval(row.mean_score, row.mean_low, row.mean_high, 2), str(row.scored)
            )
    if report.failed:
        reasons = ", ".join(f"{k}: {n}" for k, n in sorted(report.failed.items()))
        notes.append(
            f"{sum(report.failed.values())} judgments failed ({reasons}) and are left out, not counted as ties."
        )
    if report.null_output is not None:
        notes.append(f"{NULL_MODEL} answers every prompt with {report.null_output!r}.")
    table.caption = "\n".join(notes)
    table.caption_justify = "left"
    return table
