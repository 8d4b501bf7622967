"""`jurist tune eval`: the untuned judge and each tuned judge on held-out human-labelled pairs, before/after.

Every judge is jurist's pairwise judge with its built-in template, both orders (swap), and the `rationale` setting
its training data used; the untuned one runs on the base model (`local`: the embedded model), a tuned one on the same
model with its LoRA adapter. Each (judge, set) is an ordinary run directory judged through the engine, so a second
`--out` run judges nothing twice, and `jurist meta-eval RUN` gives the full meta-evaluation of any of them.

The figures are the meta-evaluation's (`jurist.meta`): accuracy = the judge's decision equals the human label, a
failed or incomplete verdict counted as wrong (meta-eval's "accuracy, failures counted as wrong"); position
consistency = the pairwise judge's own `consistent` (the same winner in both orders), over the items judged in both
orders. Here they are kept per item, so that the difference tuned - untuned gets a paired bootstrap interval
(the same items, resampled together); the overall row resamples within each set (stratified).

The held-out guard: a tuned judge's training data (jurist-tune.json `data_dir` -> data_card.json) names the test
sets whose prompts it excluded; evaluating on a set with a prompt that was not excluded is refused unless
`allow_overlap`.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import re
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from ..api import sync_twin
from ..backends import Backend, BackendOptions
from ..backends.embedded import SHA256 as EMBEDDED_SHA256
from ..data.load import LoadedData
from ..errors import ConfigError, InputError
from ..files import write_atomic
from ..judges import JudgeConfig, make_judge
from ..judges.base import Judge
from ..outcomes import Preference
from ..run.engine import Backends, JobOptions, run
from ..run.log import read_run, read_sessions
from ..stats import Estimate, bootstrap_ci
from ..types import Item, Verdict
from .data import CARD_JSON, LLMBAR_TEST, Rationale, _held_out, _load_spec, prompt_key
from .export import ADAPTER_GGUF
from .reward_judge import RewardModelJudge
from .train import RECORD, TrainRecord, read_card, read_record

# LLMBar's 419 (Natural and the four adversarial sets), PandaLM's human labels, LLMBar's Processed MT-Bench (expert
# human votes, ties removed) and EvalBiasBench: the held-out human-labelled sets of issue 17
DEFAULT_SETS = ("llmbar", "pandalm", "llmbar:MT-Bench", "evalbiasbench")
OVERALL = "overall"
TABLE_MD = "tune-eval.md"
TABLE_JSON = "tune-eval.json"
UNTUNED = "untuned"


class TuneEvalOptions(BaseModel):
    """What `jurist tune eval` measures and how."""

    model_config = ConfigDict(extra="forbid")

    sets: list[str] = Field(default_factory=lambda: list(DEFAULT_SETS), description="benchmark specs or data files")
    limit: int | None = Field(None, ge=1, description="a seeded sample of this many items of each set")
    seed: int = Field(0, description="the sample's and the bootstrap's seed")
    allow_overlap: bool = Field(False, description="evaluate on sets whose prompts the training data did not exclude")
    model: str | None = Field(
        None,
        description="the base model's spec (the untuned judge, and the tuned ones' base); default: the training "
        "record's base (`local` for the embedded model, else gguf:FILE)",
    )
    n_resamples: int = Field(1000, ge=1)
    data_dir: Path | None = Field(None, description="the benchmarks' folders (as $JURIST_DATA_DIR)")


class JudgeInfo(BaseModel):
    """One judge of the table: the untuned one (no model_dir) or a tuned one."""

    name: str
    model: str
    rationale: Rationale
    model_dir: str | None = None
    method: str | None = None
    adapter: str | None = Field(None, description="the model dir whose adapter.gguf the base model loads")
    baseline: str | None = Field(None, description="the untuned judge it is compared with")


class SetInfo(BaseModel):
    name: str
    items: int = Field(description="labelled pairs in the set")
    n: int = Field(description="pairs evaluated (all, or the seeded sample of --limit)")
    unlabelled: int = Field(0, description="pairs without a label (A, B or tie), left out")
    sample: list[str] | None = Field(None, description="the ids of the sampled pairs, with --limit")


class Cell(BaseModel):
    """One judge on one set (or overall)."""

    n: int
    failed: int = Field(description="pairs without a complete verdict (failed, or one order failed): counted wrong")
    accuracy: Estimate
    consistency: Estimate | None = Field(
        None, description="same winner in both orders, over the pairs judged both ways"
    )
    judgments_per_min: float | None = Field(None, description="pairs per minute of the sessions' wall time")
    run: str | None = None


class Difference(BaseModel):
    """A tuned judge minus its untuned baseline on the same pairs (paired bootstrap)."""

    accuracy: Estimate
    consistency: Estimate | None = None


class TuneEvalReport(BaseModel):
    options: TuneEvalOptions
    judges: list[JudgeInfo]
    sets: list[SetInfo]
    cells: dict[str, dict[str, Cell]] = Field(description="judge -> set (and 'overall') -> its figures")
    differences: dict[str, dict[str, Difference]] = Field(description="tuned judge -> set -> tuned - untuned")
    overlap: dict[str, list[str]] = Field(
        default_factory=dict, description="with allow_overlap: model dir -> the sets its training data did not exclude"
    )
    out: str | None = None


BackendMaker = Callable[[JudgeInfo], "str | Backend"]
"""The backend of a judge: a model spec (built by the engine, with the judge's adapter) or a ready backend."""


# -- the judges --------------------------------------------------------------------------------------------------


def _unique(name: str, taken: set[str]) -> str:
    name = re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-.") or "judge"
    candidate, k = name, 2
    while candidate in taken:
        candidate, k = f"{name}-{k}", k + 1
    taken.add(candidate)
    return candidate


def plan_judges(
    model_dirs: Sequence[str | Path], model: str | None = None
) -> tuple[list[JudgeInfo], dict[str, TrainRecord]]:
    """The untuned judge (one per base model and rationale setting of the tuned ones) and each tuned judge. `model`
    overrides the base models the records name."""
    records = {str(d): read_record(d) for d in model_dirs}
    for where, record in records.items():
        if record.method != "reward" and not (Path(where) / ADAPTER_GGUF).is_file():
            # checked now, not when its turn comes after the untuned judge's runs
            raise ConfigError(
                f"{where} has no {ADAPTER_GGUF} for llama.cpp: export it first with `jurist tune export {where}`"
            )
        if record.rationale not in ("none", "after"):
            raise InputError(
                f"rationale {record.rationale!r}: tune eval knows none and after",
                file=str(Path(where) / RECORD),
                field="rationale",
            )
    keys = {
        where: (model or _base_spec(where, record), cast(Rationale, record.rationale))
        for where, record in records.items()
    }
    models = {spec for spec, _ in keys.values()}
    settings = {rationale for _, rationale in keys.values()}
    taken: set[str] = set()
    baselines: dict[tuple[str, Rationale], JudgeInfo] = {}
    for spec, rationale in sorted(set(keys.values())):
        name = UNTUNED
        if len(models) > 1:  # several bases: each untuned judge is named after its model
            name += "-" + (Path(spec.partition(":")[2]).stem or spec)
        if len(settings) > 1:
            name += f"-rationale-{rationale}"
        baselines[spec, rationale] = JudgeInfo(name=_unique(name, taken), model=spec, rationale=rationale)
    judges = list(baselines.values())
    for where, record in records.items():
        spec, rationale = keys[where]
        judges.append(
            JudgeInfo(
                name=_unique(Path(where).resolve().name, taken),
                model=spec,
                rationale=rationale,
                model_dir=where,
                method=record.method,
                adapter=None if record.method == "reward" else where,
                baseline=baselines[spec, rationale].name,
            )
        )
    return judges, records


def _base_spec(where: str, record: TrainRecord) -> str:
    """The model spec of a record's base: `local` for the embedded model's file, else `gguf:PATH`; llama.cpp loads the
    adapter, so a Hugging Face base is refused."""
    base = record.base
    if base.kind != "gguf":
        raise ConfigError(
            f"{where} was trained from a Hugging Face model ({base.path}): tune eval judges through llama.cpp, which "
            "needs the base as a GGUF file; convert it and give --model gguf:FILE"
        )
    return "local" if base.sha256 == EMBEDDED_SHA256 else f"gguf:{base.path}"


def _job(judge: JudgeInfo) -> JobOptions:
    """The engine's options for a judge: a tuned one's model gets its adapter (`--adapter MODEL_DIR`: the backend
    loads MODEL_DIR/adapter.gguf)."""
    if judge.adapter is None:
        return JobOptions()
    return JobOptions(backend=BackendOptions(adapter=Path(judge.adapter)))


# -- the sets ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class EvalSet:
    info: SetInfo
    data: LoadedData
    dir_name: str


def _load_set(spec: str, data_dir: Path | None) -> LoadedData:
    """A set: `llmbar` alone is LLMBar's 419 (LLMBAR_TEST), anything else a benchmark spec or a data file."""
    if spec.strip().lower() == "llmbar" and not Path(spec).exists():
        parts = [_load_spec(f"llmbar:{name}", data_dir) for name in LLMBAR_TEST]
        return LoadedData(path="llmbar", items=[item for part in parts for item in part.items])
    return _load_spec(spec, data_dir)


def load_sets(options: TuneEvalOptions) -> list[EvalSet]:
    """Every set, its labelled pairs, sampled (seeded) to `limit`; a set without pairwise labels is refused."""
    if not options.sets:
        raise ConfigError("no sets to evaluate on: give --sets")
    sets: list[EvalSet] = []
    taken: set[str] = set()
    for spec in options.sets:
        loaded = _load_set(spec, options.data_dir)
        not_pairs = [item for item in loaded.items if item.response_a is None or item.response_b is None]
        if not_pairs or not loaded.items:
            raise InputError(
                f"set {spec!r} is not pairwise: item {not_pairs[0].id!r} has no two responses"
                if not_pairs
                else f"set {spec!r} has no items",
                file=loaded.path,
                line=loaded.lines.get(not_pairs[0].id) if not_pairs else None,
                hint="tune eval measures pairwise judges: give sets of pairs with labels A, B or tie",
            )
        labelled = [item for item in loaded.items if item.label in ("A", "B", "tie")]
        if not labelled:
            raise InputError(
                f"set {spec!r} has no pairwise labels (A, B or tie): there is nothing to compare the judges with",
                file=loaded.path,
                field="label",
                hint="give a labelled set (llmbar, pandalm, evalbiasbench, a file with a label column)",
            )
        sample = None
        chosen = labelled
        if options.limit is not None and options.limit < len(labelled):
            rng = random.Random(f"{options.seed}:{spec}")
            picked = sorted(rng.sample(range(len(labelled)), options.limit))
            chosen = [labelled[i] for i in picked]
            sample = [item.id for item in chosen]
        info = SetInfo(
            name=spec,
            items=len(labelled),
            n=len(chosen),
            unlabelled=len(loaded.items) - len(labelled),
            sample=sample,
        )
        data = LoadedData(path=loaded.path, items=chosen, lines=loaded.lines, label_decoding=loaded.label_decoding)
        # a file's run directory is named after the file, a benchmark's after its spec
        dir_name = _unique(Path(spec).name if Path(spec).exists() else spec, taken)
        sets.append(EvalSet(info=info, data=data, dir_name=dir_name))
    return sets


def check_held_out(
    records: dict[str, TrainRecord], sets: list[EvalSet], options: TuneEvalOptions
) -> dict[str, list[str]]:
    """Refuse a set with a prompt that a tuned judge's training data did not exclude (unless `allow_overlap`).
    Returns, per model dir, the sets that overlap (empty unless allowed)."""
    overlaps: dict[str, list[str]] = {}
    for where, record in records.items():
        card_path = str(Path(record.data_dir) / CARD_JSON)
        if not Path(card_path).is_file():
            if options.allow_overlap:
                overlaps[where] = [f"{one.info.name} (not checked: no training data)" for one in sets]
                continue
            raise InputError(
                f"the training data {record.data_dir} is not there: the held-out guard reads its {CARD_JSON}",
                file=str(Path(where) / RECORD),
                field="data_dir",
                hint="put the training data back, or --allow-overlap to evaluate without the check",
            )
        card, sha = read_card(Path(record.data_dir))
        if sha != record.data_card_sha256:
            raise InputError(
                "the training data's card changed since this model was trained: its held-out sets are unknown",
                file=card_path,
                hint=f"evaluate with the data {where} was trained on, or train again",
            )
        held = _held_out(card.options.exclude, options.data_dir)
        for one in sets:
            seen = sum(prompt_key(item.prompt) not in held for item in one.data.items)
            if not seen:
                continue
            if not options.allow_overlap:
                excluded = ", ".join(card.options.exclude) or "none"
                raise InputError(
                    f"set {one.info.name!r} was not held out of {where}'s training data: {seen} of its "
                    f"{one.info.n} prompts were not excluded (excluded: {excluded})",
                    file=card_path,
                    field="exclude",
                    hint=f"rebuild the data with `jurist tune data ... --exclude {one.info.name}` and train again, or "
                    "--allow-overlap (the figures may then be inflated)",
                )
            overlaps.setdefault(where, []).append(one.info.name)
    return overlaps


# -- judging -----------------------------------------------------------------------------------------------------


class _Outcomes(BaseModel):
    """Per item of one (judge, set): right (failures wrong), failed, and consistent (None: not judged both ways)."""

    ids: list[str]
    correct: list[float]
    failed: list[bool]
    consistent: list[bool | None]
    wall_s: float = 0.0
    judged: int = 0


def _outcomes(run_dir: Path, items: list[Item]) -> _Outcomes:
    """The run's verdicts on `items` (a run directory may hold more, from an earlier, larger --limit)."""
    verdicts: dict[str, Verdict] = {v.id: v for v in read_run(run_dir).verdicts}
    out = _Outcomes(ids=[], correct=[], failed=[], consistent=[])
    for item in items:
        v = verdicts.get(item.id)
        ok = v is not None and v.error is None and v.incomplete is None
        out.ids.append(item.id)
        out.failed.append(not ok)
        out.correct.append(float(ok and v is not None and v.decision() == item.label))
        out.consistent.append(v.outcome_as(Preference).consistent if ok and v is not None else None)
    sessions = read_sessions(run_dir)
    out.wall_s = sum(s.wall_s for s in sessions)
    out.judged = sum(s.judged for s in sessions)
    return out


def _mean(values: np.ndarray) -> float:
    return float(values.mean())


def _difference(a: np.ndarray, b: np.ndarray) -> float:
    return float(a.mean() - b.mean())


def _cell(parts: list[_Outcomes], options: TuneEvalOptions, run: str | None) -> Cell:
    correct = [c for p in parts for c in p.correct]
    strata = [k for k, p in enumerate(parts) for _ in p.correct] if len(parts) > 1 else None
    both = [(float(c), k) for k, p in enumerate(parts) for c in p.consistent if c is not None]
    consistency = None
    if both:
        consistency = bootstrap_ci(
            _mean,
            [c for c, _ in both],
            n_resamples=options.n_resamples,
            seed=options.seed,
            strata=[k for _, k in both] if len(parts) > 1 else None,
        )
    wall = sum(p.wall_s for p in parts)
    return Cell(
        n=len(correct),
        failed=sum(f for p in parts for f in p.failed),
        accuracy=bootstrap_ci(_mean, correct, n_resamples=options.n_resamples, seed=options.seed, strata=strata),
        consistency=consistency,
        judgments_per_min=60 * sum(p.judged for p in parts) / wall if wall > 0 else None,
        run=run,
    )


def _paired(tuned: list[_Outcomes], base: list[_Outcomes], options: TuneEvalOptions) -> Difference:
    """tuned - untuned on the same pairs, resampled together (within each set when there are several)."""
    stratified = len(tuned) > 1
    t_acc, b_acc, acc_strata = [], [], []
    t_con, b_con, con_strata = [], [], []
    for k, (t, b) in enumerate(zip(tuned, base, strict=True)):
        assert t.ids == b.ids  # the same sampled pairs, in the same order
        t_acc += t.correct
        b_acc += b.correct
        acc_strata += [k] * len(t.correct)
        for tc, bc in zip(t.consistent, b.consistent, strict=True):
            if tc is not None and bc is not None:
                t_con.append(float(tc))
                b_con.append(float(bc))
                con_strata.append(k)
    kw: dict[str, Any] = {"n_resamples": options.n_resamples, "seed": options.seed}
    accuracy = bootstrap_ci(_difference, t_acc, b_acc, strata=acc_strata if stratified else None, **kw)
    consistency = None
    if t_con:
        consistency = bootstrap_ci(_difference, t_con, b_con, strata=con_strata if stratified else None, **kw)
    return Difference(accuracy=accuracy, consistency=consistency)


async def aevaluate_tuned(
    model_dirs: Sequence[str | Path],
    options: TuneEvalOptions | None = None,
    *,
    out: str | Path | None = None,
    backend: BackendMaker | None = None,
    on_run: Callable[[str, str, int], None] | None = None,
    on_start: Callable[[int, int], None] | None = None,
    on_verdict: Callable[[Verdict], None] | None = None,
) -> TuneEvalReport:
    """Evaluate the untuned judge and the tuned judge of each MODEL_DIR on held-out human-labelled pairs.

    `out` keeps each judge's run directory (OUT/runs/JUDGE/SET: re-running judges nothing twice) and gets the table
    (tune-eval.md, tune-eval.json); without it the runs live in a temporary folder. `backend` builds a judge's
    backend (tests: a scripted one); by default the engine builds the base model (`options.model`, else the
    training record's base), a tuned judge's with its adapter.
    `on_run(judge, set, pairs)` is called before each run; `on_start(total, already_judged)` and
    `on_verdict(verdict)` are each run's engine callbacks (progress)."""
    options = options or TuneEvalOptions()
    judges, records = plan_judges(model_dirs, options.model)
    sets = load_sets(options)
    overlap = check_held_out(records, sets, options)
    if out is not None and (Path(out).exists() and not Path(out).is_dir()):
        raise ConfigError(f"--out {out} is a file: give a folder")
    results: dict[str, list[_Outcomes]] = {}
    with contextlib.ExitStack() as stack:
        root = Path(out) if out is not None else Path(stack.enter_context(tempfile.TemporaryDirectory()))
        for judge in judges:
            callbacks = _Callbacks(on_run, on_start, on_verdict)
            record = records.get(judge.model_dir) if judge.model_dir is not None else None
            results[judge.name] = await _judge_sets(judge, sets, root / "runs" / judge.name, backend, callbacks, record)
        kept = out is not None
        cells = {
            judge.name: {
                **{
                    one.info.name: _cell(
                        [part], options, str(root / "runs" / judge.name / one.dir_name) if kept else None
                    )
                    for one, part in zip(sets, results[judge.name], strict=True)
                },
                OVERALL: _cell(results[judge.name], options, None),
            }
            for judge in judges
        }
    differences: dict[str, dict[str, Difference]] = {}
    for judge in judges:
        if judge.baseline is None:
            continue
        tuned, base = results[judge.name], results[judge.baseline]
        differences[judge.name] = {
            **{one.info.name: _paired([t], [b], options) for one, t, b in zip(sets, tuned, base, strict=True)},
            OVERALL: _paired(tuned, base, options),
        }
    report = TuneEvalReport(
        options=options,
        judges=judges,
        sets=[one.info for one in sets],
        cells=cells,
        differences=differences,
        overlap=overlap,
        out=str(out) if out is not None else None,
    )
    if out is not None:
        write_atomic(Path(out) / TABLE_JSON, report.model_dump_json(indent=2) + "\n")
        write_atomic(Path(out) / TABLE_MD, render_tune_eval(report))
    return report


@dataclass(frozen=True)
class _Callbacks:
    on_run: Callable[[str, str, int], None] | None
    on_start: Callable[[int, int], None] | None
    on_verdict: Callable[[Verdict], None] | None


async def _judge_sets(
    judge: JudgeInfo,
    sets: list[EvalSet],
    root: Path,
    backend: BackendMaker | None,
    callbacks: _Callbacks,
    record: TrainRecord | None,
) -> list[_Outcomes]:
    """One judge over every set, one run directory each, its model loaded once."""
    job = _job(judge) if backend is None else JobOptions()
    config = JudgeConfig(mode="pairwise", swap=True, rationale=judge.rationale)
    model = backend(judge) if backend is not None and judge.method != "reward" else judge.model

    def factory(backends: Backends) -> Judge:
        return reward if reward is not None else make_judge(backends.get(model), config)

    reward = None
    if judge.method == "reward":
        assert judge.model_dir is not None and record is not None
        reward = RewardModelJudge(judge.model_dir, record)
    parts = []
    async with Backends(job) as backends:
        # the model is loaded before the first run, so that no run's wall time (judgments/min) holds the loading
        if reward is None:
            backends.get(model)
        else:
            await asyncio.to_thread(reward.load)
        for one in sets:
            run_dir = root / one.dir_name
            if callbacks.on_run is not None:
                callbacks.on_run(judge.name, one.info.name, one.info.n)
            await run(
                factory,
                one.data,
                run_dir,
                job,
                backends=backends,
                on_start=callbacks.on_start,
                on_verdict=callbacks.on_verdict,
            )
            parts.append(_outcomes(run_dir, one.data.items))
    return parts


evaluate_tuned = sync_twin(aevaluate_tuned)


# -- the table ---------------------------------------------------------------------------------------------------


def _md(text: str) -> str:
    """A name as a Markdown table cell: one line, pipes and markup characters escaped."""
    return re.sub(r"([\\|*_`<>\[\]])", r"\\\1", " ".join(text.split()))


def _pct(estimate: Estimate | None, signed: bool = False) -> str:
    if estimate is None or np.isnan(estimate.value):
        return "-"
    sign = "+" if signed else ""
    text = f"{100 * estimate.value:{sign}.1f}"
    if not (np.isnan(estimate.low) or np.isnan(estimate.high)):
        text += f" [{100 * estimate.low:{sign}.1f}, {100 * estimate.high:{sign}.1f}]"
    return text


def render_tune_eval(report: TuneEvalReport) -> str:
    """The before/after table as Markdown: one row per set and judge, the overall rows last."""
    lines = [
        "| set | judge | n | failed | accuracy % | position consistency % | judgments/min | Δ accuracy (pts) | "
        "Δ consistency (pts) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name in [s.name for s in report.sets] + [OVERALL]:
        for judge in report.judges:
            cell = report.cells[judge.name][name]
            diff = report.differences.get(judge.name, {}).get(name)
            speed = f"{cell.judgments_per_min:.1f}" if cell.judgments_per_min is not None else "-"
            lines.append(
                f"| {_md(name)} | {_md(judge.name)} | {cell.n} | {cell.failed} | {_pct(cell.accuracy)} | "
                f"{_pct(cell.consistency)} | {speed} | {_pct(diff.accuracy if diff else None, True)} | "
                f"{_pct(diff.consistency if diff else None, True)} |"
            )
    options = report.options
    sample = f"a seeded sample (seed {options.seed}) of {options.limit} pairs per set" if options.limit else "all pairs"
    lines += [
        "",
        "Judges: jurist's pairwise judge (built-in template, both orders, the training data's rationale setting): "
        + "; ".join(
            f"{_md(j.name)} = {_md(j.model)}"
            + (f" + the adapter of {_md(j.model_dir)} ({j.method})" if j.model_dir else "")
            + f", rationale {j.rationale}"
            for j in report.judges
        )
        + ".",
        f"Sets: {sample}. Accuracy counts a failed or incomplete verdict as wrong (`failed` says how many); position "
        "consistency is over the pairs judged in both orders. Intervals: 95% bootstrap "
        f"({options.n_resamples} resamples); Δ = tuned - untuned on the same pairs (paired bootstrap; overall: "
        "within each set). judgments/min: pairs (both orders) per minute of the runs' wall time, cached answers "
        "included.",
        "",
    ]
    return "\n".join(lines)


__all__ = [
    "DEFAULT_SETS",
    "JudgeInfo",
    "TuneEvalOptions",
    "TuneEvalReport",
    "aevaluate_tuned",
    "evaluate_tuned",
    "render_tune_eval",
]
