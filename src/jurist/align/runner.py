"""`jurist align`: read a run and its labels, split, search on train/dev, measure on test, write ALIGNED/."""

from __future__ import annotations

import importlib
import json
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field, ValidationError

from ..api import sync_twin
from ..backends import Backend
from ..data.load import LoadedData
from ..errors import ConfigError, InputError
from ..files import write_atomic
from ..judges import JudgeConfig, make_judge
from ..run.engine import Backends, JobOptions
from ..run.engine import run as run_engine
from ..run.log import CONFIG_FILE, VERDICTS_FILE, read_run
from ..types import Item, Verdict
from .report import AlignReport, split_row
from .search import Evaluation, Split, greedy_search
from .space import OWN, Candidate, Space
from .splits import parse_fractions, split_items

STRATEGY_FILE = "strategy.toml"
REPORT_FILE = "align_report.json"
TEMPLATE_FILE = "template.toml"
POOL_FILE = "demos.jsonl"


class AlignOptions(BaseModel):
    labels: Literal["data", "review"] = "data"
    reviewer: str | None = Field(None, description="--labels review: only this reviewer's labels")
    seed: int = 0
    budget: int | None = Field(None, ge=1, description="model calls at most, search and test together")
    splits: tuple[float, float, float] = (0.5, 0.25, 0.25)
    rounds: int = Field(2, ge=1, description="passes over the components at most")
    n_resamples: int = Field(1000, ge=1)


def read_labels(run_dir: Path, verdicts: list[Verdict], options: AlignOptions) -> dict[str, Any]:
    """Item id -> label: the items' own (`data`), or the reviewers' (`review`, from `jurist review`)."""
    if options.labels == "data":
        return {v.id: v.label for v in verdicts if v.label is not None}
    try:
        review = importlib.import_module("jurist.review")
    except ImportError:
        raise ConfigError("--labels review needs `jurist review`, which this version of jurist does not have") from None
    labels: dict[str, Any] = review.review_labels(run_dir, reviewer=options.reviewer)
    return labels


def labelled_items(run_dir: Path, verdicts: list[Verdict], labels: dict[str, Any]) -> list[Item]:
    items = []
    for verdict in verdicts:
        if verdict.id not in labels:
            continue
        if verdict.item is None:
            raise InputError(
                f"verdict {verdict.id} carries no item texts (the run was made by an older jurist)",
                file=str(run_dir / VERDICTS_FILE),
                hint="judge the data again with this version, then align that run",
            )
        texts = {k: v for k, v in verdict.item.model_dump().items() if v is not None and k in Item.model_fields}
        items.append(Item(id=verdict.id, label=labels[verdict.id], metadata=verdict.metadata or {}, **texts))
    return items


def base_config(run_dir: Path, header_judge: dict[str, Any], mode: str, notes: list[str]) -> JudgeConfig:
    """The run's own judge settings: the starting point of the search (and the `before` of the report)."""
    recorded = header_judge.get("config")
    if not isinstance(recorded, dict):
        notes.append("the run was judged by a strategy: alignment starts from a plain judge of its mode")
        return JudgeConfig(mode=mode)
    try:
        return JudgeConfig.model_validate(recorded)
    except ValidationError as exc:
        raise InputError(f"the judge's settings cannot be read: {exc}", file=str(run_dir / CONFIG_FILE)) from None


def calls_per_item(config: JudgeConfig) -> int:
    """Model calls one item takes at most (the search varies no setting that changes this)."""
    return 2 if config.mode == "pairwise" and config.swap else 1


def agrees(decision: Any, label: Any) -> bool:
    """A verdict's decision equals a label: numbers by value (4 == 4.0), names by text."""
    if decision is None or label is None:
        return False
    if isinstance(label, int | float) and not isinstance(label, bool):
        try:
            return float(decision) == float(label)
        except (TypeError, ValueError):
            return False
    return str(decision) == str(label)


class _Evaluator:
    """Judges a candidate over a split through the engine, once per (candidate, split), counting the model calls
    it makes (response-cache hits are free) and refusing an evaluation that could overrun the budget."""

    def __init__(
        self,
        space: Space,
        model: str | Backend,
        backends: Backends,
        job: JobOptions,
        work: Path,
        budget: int | None,
        on_step: Callable[[str], None] | None,
    ) -> None:
        self.space, self.model, self.backends, self.job, self.work = space, model, backends, job, work
        self.budget, self.on_step = budget, on_step
        self.reserved = 0  # calls kept back for measuring the test split at the end
        self.spent = 0
        self.memo: dict[tuple[str, str], Evaluation] = {}
        self.per_item = calls_per_item(space.base)

    def bound(self, n: int) -> int:
        return n * self.per_item

    async def __call__(self, candidate: Candidate, split: str, items: list[Item]) -> Evaluation | None:
        key = (candidate.key(), split)
        if key in self.memo:
            return self.memo[key]
        if self.budget is not None and self.spent + self.bound(len(items)) > self.budget - self.reserved:
            return None
        config = self.space.config(candidate, self.work)
        folder = self.work / f"run_{len(self.memo)}"
        hits = self.backends.counts()["cache_hits"]
        model = self.model
        try:
            await run_engine(
                lambda b: make_judge(b.get(model), config),
                LoadedData(path=f"{split} split", items=items),
                folder,
                self.job,
                backends=self.backends,
            )
        except (ConfigError, InputError) as exc:
            if candidate == self.space.baseline():
                raise
            # refused before any call (say, few-shot examples that make a prompt too long for the model): a
            # candidate that cannot judge agrees with nobody
            result = Evaluation(split=split, correct={it.id: False for it in items}, failed=len(items))
            self.memo[key] = result
            if self.on_step is not None:
                self.on_step(f"{split:<5} refused  {candidate.describe()}: {str(exc).splitlines()[0]}")
            return result
        verdicts = read_run(folder).verdicts
        calls = sum(v.usage.calls for v in verdicts) - (self.backends.counts()["cache_hits"] - hits)
        self.spent += max(calls, 0)
        labels = {it.id: it.label for it in items}
        result = Evaluation(
            split=split,
            correct={v.id: agrees(v.decision(), labels[v.id]) for v in verdicts},
            failed=sum(not v.ok for v in verdicts),
        )
        self.memo[key] = result
        if self.on_step is not None:
            self.on_step(f"{split:<5} {result.agreement:.3f}  {candidate.describe()}  ({self.spent} calls)")
        return result


async def aalign(
    run_dir: str | Path,
    out: str | Path,
    *,
    model: str | Backend = "local",
    options: AlignOptions | None = None,
    job: JobOptions | None = None,
    on_step: Callable[[str], None] | None = None,
) -> AlignReport:
    """Search the judge's prompt space for the configuration that agrees best with the labels of `run_dir`'s items
    (train split, selected on dev), measure the run's own judge and the chosen one on the held-out test split, and
    write `out`/strategy.toml (for `jurist judge --strategy`), its template and demo pool, and align_report.json."""
    options = options or AlignOptions()
    job = job or JobOptions()
    run_dir, out = Path(run_dir), Path(out)
    fractions = parse_fractions(",".join(map(str, options.splits)))
    if out.resolve() == run_dir.resolve():
        raise ConfigError(f"--out {out} is the run directory: give the aligned judge a folder of its own")
    log = read_run(run_dir)
    if not log.verdicts:
        raise InputError("the run holds no verdicts", file=str(run_dir / VERDICTS_FILE), hint="judge some items first")
    labels = read_labels(run_dir, log.verdicts, options)
    items = labelled_items(run_dir, log.verdicts, labels)
    if not items:
        hint = (
            "judge data with a `label` field (or --field label=COLUMN), or review the run with `jurist review` "
            "and use --labels review"
            if options.labels == "data"
            else "review some items with `jurist review` first, or use --labels data"
        )
        raise InputError(f"none of the run's items has a label ({options.labels})", file=str(run_dir), hint=hint)
    notes: list[str] = []
    base = base_config(run_dir, log.header.judge, log.verdicts[0].mode, notes)
    splits = split_items(items, fractions, options.seed, str(run_dir))
    space = Space(base, splits.train, options.seed)
    per_item = calls_per_item(base)
    # the test split's two measurements are kept back from the start, so that the search cannot spend them
    reserved = 2 * per_item * len(splits.test)
    needed = per_item * (len(splits.train) + len(splits.dev)) + reserved
    if options.budget is not None and options.budget < needed:
        raise ConfigError(
            f"--budget {options.budget} is too small: measuring the run's own judge on train and dev and two "
            f"judges on test can take {needed} calls; give at least that"
        )
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="align_") as tmp:
        async with Backends(job) as backends:
            evaluator = _Evaluator(space, model, backends, job, Path(tmp), options.budget, on_step)
            evaluator.reserved = reserved

            async def search_evaluate(candidate: Candidate, split: Split) -> Evaluation | None:
                # the search is given the train and dev splits only: the test split is out of its reach
                return await evaluator(candidate, split, splits.train if split == "train" else splits.dev)

            result = await greedy_search(space, search_evaluate, rounds=options.rounds)
            calls_search = evaluator.spent
            evaluator.reserved = 0
            baseline = space.baseline()
            measured: dict[str, tuple[Evaluation, Evaluation]] = {}
            for name, part in splits.parts().items():
                before = await evaluator(baseline, name, part)
                after = await evaluator(result.best, name, part)
                assert before is not None and after is not None  # within the budget: kept back for them
                measured[name] = (before, after)
            calls_test = evaluator.spent - calls_search
    strategy = write_aligned(space, result.best, out)
    report = AlignReport(
        run_dir=str(run_dir),
        labels=options.labels,
        mode=base.mode,
        model=model if isinstance(model, str) else model.name,
        seed=options.seed,
        fractions=fractions,
        sizes=splits.sizes(),
        split_ids={name: [it.id for it in part] for name, part in splits.parts().items()},
        unlabelled=len(log.verdicts) - len(items),
        budget=options.budget,
        calls_search=calls_search,
        calls_test=calls_test,
        stopped=result.stopped,
        before=baseline,
        after=result.best,
        rows=[split_row(name, b, a, options.n_resamples, options.seed) for name, (b, a) in measured.items()],
        trace=result.trace,
        strategy=str(strategy),
        notes=notes,
    )
    write_atomic(out / REPORT_FILE, report.model_dump_json(indent=2))
    return report


align = sync_twin(aalign)


def write_aligned(space: Space, chosen: Candidate, out: Path) -> Path:
    """ALIGNED/strategy.toml: one judge leaf with the chosen template, rubric, rules and demos, and the run's own
    settings that differ from the defaults, so that `jurist judge --strategy` judges as the search measured.
    Paths are absolute, so the file works from any directory (move the folder, and run align again)."""
    # the settings but the files (written below under fixed names): no template variant, no pool of its own
    config = space.config(chosen.model_copy(update={"instruction": OWN, "demos": chosen.demos and ()}), out)
    fields: dict[str, Any] = {}
    defaults = JudgeConfig(mode=config.mode)
    for name in JudgeConfig.model_fields:
        value = getattr(config, name)
        if name in ("mode", "demos", "template") or value is None or value == getattr(defaults, name):
            continue  # None: the default (TOML has no null)
        fields[name] = value
    if chosen.instruction != OWN:
        fields["template"] = str(space.write_template(chosen.instruction, out, TEMPLATE_FILE).resolve())
    elif config.template:
        fields["template"] = str(Path(config.template).resolve())
    lines = [
        "# written by `jurist align`: the judge whose agreement with the labels is in align_report.json",
        f"# use it: jurist judge DATA --mode {config.mode} --strategy {out / STRATEGY_FILE} --out RUN_DIR",
        'kind = "judge"',
    ]
    lines += [f"{key} = {json.dumps(value)}" for key, value in fields.items()]
    if chosen.demos:
        pool = space.write_pool(chosen.demos, out, POOL_FILE).resolve()
        lines += ["", "[demos]", f"pool = {json.dumps(str(pool))}", f"k = {len(chosen.demos) - 1}", 'select = "fixed"']
    elif chosen.demos is None and config.demos is not None:
        lines += ["", "[demos]", *(f"{k} = {json.dumps(v)}" for k, v in config.demos.model_dump().items())]
    for name, used in ((TEMPLATE_FILE, chosen.instruction != OWN), (POOL_FILE, bool(chosen.demos))):
        if not used:
            (out / name).unlink(missing_ok=True)  # an earlier alignment's, which this strategy does not use
    path = out / STRATEGY_FILE
    write_atomic(path, "\n".join(lines) + "\n")
    return path
