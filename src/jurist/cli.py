"""The `jurist` command: a thin layer over the Python API."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Coroutine
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import click
from click.core import ParameterSource
from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskProgressColumn,
    TextColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from ._version import __version__
from .api import JobOptions, Limits, ajudge
from .backends import BackendOptions
from .conventions import CONVENTIONS
from .data.benchmarks import BENCHMARKS, DATA_DIR_ENV, cache_dir, load_benchmark
from .data.load import (
    LoadedData,
    describe_labels,
    load_items,
    parse_field_map,
    parse_label_map,
    remap,
    select_items,
)
from .demos import DemoConfig
from .errors import BackendError, ConfigError, InputError, JuristError, NoVerdictError
from .export import export_run
from .imports import FORMATS as IMPORT_FORMATS
from .judges import JudgeConfig
from .rubrics import builtin_rubrics
from .run.runner import RunOptions
from .secrets import scrub
from .strategies.build import StrategySpec
from .strategies.tree import StrategyTree, load_strategy
from .summary import render_summary, summarize
from .types import MODES, Verdict

err = Console(stderr=True)
T = TypeVar("T")
EXIT_BAD_INPUT = 2
EXIT_NO_VERDICT = 3  # the run holds no verdict at all: every item failed, in every session


class _Failures(TextColumn):
    def __init__(self) -> None:
        super().__init__("")

    def render(self, task: Any) -> Any:
        failed = task.fields.get("failed", 0)
        return f"[red]{failed} failed" if failed else f"{failed} failed"


class _Rate(TextColumn):
    """Judgments per second, worked out when the bar is drawn (4 times a second) rather than for every verdict."""

    def __init__(self) -> None:
        super().__init__("")

    def render(self, task: Any) -> Any:
        speed = task.speed
        return f"{speed:.1f}/s" if speed else ""


def _progress() -> Progress:
    """The progress bar of a judging command: done/total, rate, time left and failures so far."""
    return Progress(
        TextColumn("judging"),
        BarColumn(),
        MofNCompleteColumn(),
        TaskProgressColumn(),
        _Rate(),
        TimeRemainingColumn(),
        _Failures(),
        console=err,
        refresh_per_second=4,
    )


def _run_judging(work: Coroutine[Any, Any, T], progress: Progress, out: Path) -> T:
    """Run a judging command's work under its progress bar. Ctrl-C, bad input and a failed backend end every
    judging command the same way, saying that what was judged is kept and the same command resumes."""
    try:
        return asyncio.run(work)
    except KeyboardInterrupt:
        progress.stop()
        # soft_wrap: no line break inside the path, which the user may copy.
        err.print(
            f"\n[yellow]stopped.[/] Verdicts so far are saved in {escape(str(out))}. "
            "Run the same command again to resume.",
            soft_wrap=True,
        )
        sys.exit(130)
    except NoVerdictError as exc:
        progress.stop()
        _fail(str(exc), code=EXIT_NO_VERDICT)
    except (InputError, ConfigError) as exc:
        progress.stop()
        _fail(str(exc))
    except BackendError as exc:
        progress.stop()
        _fail(
            f"the run stopped: {exc}\nVerdicts so far are saved in {out}; fix the cause and run the same "
            "command again to resume.",
            code=1,
        )
    finally:
        progress.stop()


def _fail(message: str, code: int = EXIT_BAD_INPUT) -> NoReturn:
    # The message holds file names and data values: escape them, or rich reads "[x]" as markup. A backend's
    # message is scrubbed already; scrubbing here too keeps a secret out of any other error.
    err.print(f"[bold red]error:[/] {escape(scrub(message))}", highlight=False, markup=True, soft_wrap=True)
    sys.exit(code)


# Options that mean the same in every judging command (judge, arena, audit).
model_option = click.option(
    "--model",
    default="local",
    show_default=True,
    help="local | gguf:PATH | openai:MODEL | anthropic:MODEL | replay:PATH",
)
base_url_option = click.option(
    "--base-url", help="server URL for openai:/anthropic: (default OPENAI_BASE_URL or the vendor's)"
)
api_key_env_option = click.option(
    "--api-key-env", help="environment variable holding the API key (default OPENAI_API_KEY / ANTHROPIC_API_KEY)"
)
concurrency_option = click.option(
    "--concurrency", type=click.IntRange(min=1), help="requests in flight (default: 1 local, 64 HTTP)"
)
timeout_option = click.option("--timeout", type=float, default=60.0, show_default=True, help="seconds per request")
rubric_option = click.option("--rubric", help=f"built-in ({', '.join(builtin_rubrics())}) or a .toml/.json file")
scale_option = click.option("--scale", help="pointwise scale: 1-5, 1-10, binary, categories:a,b,c")
template_option = click.option("--template", help="template FILE (.toml, or MT-Bench-style .jsonl), or FILE#NAME")
no_tie_option = click.option("--no-tie", is_flag=True, help="pairwise: the judge must pick A or B")
no_cache_option = click.option("--no-cache", is_flag=True, help="do not read or write the response cache")


# -- option checks of the judging commands (judge, audit, arena), made before anything is read or called ----------

# An option that acts only together with another is refused when given without it: ignored silently, it would leave
# the user believing the run was made as asked. Each command's table maps an option's parameter to conditions of
# which one must hold: (a parameter, the values it must take, or None for "given at all").
Needs = dict[str, list[tuple[str, tuple[str, ...] | None]]]
_PAIRWISE: tuple[str, tuple[str, ...] | None] = ("mode", ("pairwise",))
_POINTWISE: tuple[str, tuple[str, ...] | None] = ("mode", ("pointwise",))

JUDGE_NEEDS: Needs = {
    "vote": [("jury_rubrics", None)],
    "aggregate": [("samples", None)],
    "escalate_when": [("cascade_to", None)],
    "escalate_below": [("cascade_to", None)],
    "demos_k": [("demos_pool", None)],
    "demos_select": [("demos_pool", None)],
    "demos_embed_model": [("demos_select", ("embedding",))],
    "rank_budget": [("rank_by", ("adaptive",))],
    # pairwise settings also act on the pairs a --rank-by ranking compares
    "no_swap": [_PAIRWISE, ("rank_by", None)],
    "on_inconsistent": [_PAIRWISE, ("rank_by", None)],
    "no_tie": [_PAIRWISE, ("rank_by", None)],
    "scale": [_POINTWISE],
}
AUDIT_NEEDS: Needs = {
    "no_tie": [_PAIRWISE],
    "scale": [_POINTWISE],
    "on_inconsistent": [("mitigations", ("swap",))],  # the audited judge sees one order; swap judges both
    "rewrite_tokens": [("rewrite_model", None)],
    "answer_tokens": [("probe_names", ("self_preference",))],  # the judge's own answers, for that probe only
}
ARENA_NEEDS: Needs = {
    "schedule": [_PAIRWISE],
    "budget": [("schedule", ("adaptive",))],
    "round_size": [("schedule", ("adaptive",))],
    "no_swap": [_PAIRWISE],
    "scale": [_POINTWISE],
}


def _holds(value: Any, values: tuple[str, ...] | None) -> bool:
    """Whether an option's value meets a condition. A repeated option meets it when one of its values does, and each
    part of an `a+b` value counts (audit's combined mitigations)."""
    given = [v for v in (value if isinstance(value, tuple) else (value,)) if v is not None and v is not False]
    if values is None:
        return bool(given)
    return any(part in values for v in given for part in str(v).split("+"))


def _check_needs(needs: Needs) -> None:
    """Refuse an option the user gave that none of its conditions lets act. "Gave" is the parameter's source (the
    command line or the environment), not its value: these options have defaults, and one given at its default
    value is given all the same."""
    ctx = click.get_current_context()
    flags = {p.name: p.opts[0] for p in ctx.command.params}
    for name, conditions in needs.items():
        if ctx.get_parameter_source(name) not in (ParameterSource.COMMANDLINE, ParameterSource.ENVIRONMENT):
            continue
        if any(_holds(ctx.params[param], values) for param, values in conditions):
            continue
        wanted = " or ".join(flags[param] + (f" {'|'.join(values)}" if values else "") for param, values in conditions)
        raise ConfigError(f"{flags[name]} is ignored without {wanted}; leave it out, or add what it needs")


# Where a provider's backend finds its server when --base-url is not given (else the vendor's, which needs a key).
_BASE_URL_ENV = {"openai": "OPENAI_BASE_URL", "anthropic": "ANTHROPIC_BASE_URL"}


def _check_server_options(models: dict[str, str | None] | None, base_url: str | None, api_key_env: str | None) -> None:
    """--base-url and --api-key-env serve the models that call a server (openai:, anthropic:) among `models` (option
    -> spec; None where a strategy file names them). Refuse them when no model calls a server. Warn when the key
    variable named is not set but requests still go, to the user's own server (at the vendor's URL the backend
    refuses to start without a key). Only the variable's name is printed, never a value."""
    specs = [spec for spec in (models or {}).values() if spec]
    kinds = {spec.partition(":")[0] for spec in specs} & set(_BASE_URL_ENV)
    if models is not None and not kinds:
        given = [flag for flag, value in (("--base-url", base_url), ("--api-key-env", api_key_env)) if value]
        if given:
            used = ", ".join(f"{flag} {spec}" for flag, spec in models.items() if spec)
            raise ConfigError(
                f"{' and '.join(given)} apply to openai: and anthropic: models, which call a server; this run's "
                f"models call none ({used}): leave {' and '.join(given)} out"
            )
        return
    keyless = api_key_env is not None and not os.environ.get(api_key_env)
    if keyless and (base_url or any(os.environ.get(_BASE_URL_ENV[kind]) for kind in kinds)):
        err.print(
            f"[yellow]warning:[/] --api-key-env names {escape(str(api_key_env))}, which is not set: requests go "
            "without an API key",
            highlight=False,
            soft_wrap=True,
        )


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="jurist")
def main() -> None:
    """jurist: judge LLM outputs with an LLM, and judge the judges."""


def _load_data(
    data: Path,
    mode: str,
    field_map: dict[str, str],
    label_map: dict[str, str] | None = None,
    records: str | None = None,
) -> LoadedData:
    """DATA is a file or folder, or, when no such path exists, a benchmark spec such as `llmbar:Natural`. --field
    and --label-map act on a benchmark's items too: they are read again with them (see `remap`)."""
    spec = str(data)
    if not data.exists() and spec.partition(":")[0].lower() in BENCHMARKS:
        if records is not None:
            raise ConfigError(f"--records applies to a .json DATA file, not to the benchmark {spec}")
        loaded = load_benchmark(spec)
        first = loaded.items[0] if loaded.items else None
        has = (
            "listwise"
            if first is not None and first.responses
            else "pairwise"
            if first is not None and first.response_a is not None
            else "pointwise"
            if first is not None and first.response is not None
            else None
        )
        if has is None:
            raise ConfigError(f"benchmark {spec} holds prompts with no responses to judge: answer them first")
        if has != mode:
            raise ConfigError(f"benchmark {spec} holds {has} items: use --mode {has}")
        if field_map or label_map:
            loaded = remap(loaded, mode, field_map, label_map)  # type: ignore[arg-type]
        return loaded
    return load_items(data, mode, field_map, label_map=label_map, records=records)  # type: ignore[arg-type]


def _say_labels(loaded: LoadedData, total: int | None = None, how: str = "") -> None:
    """Before judging, on stderr: which items are judged when not all, what labels they carry and how those were
    read, and any doubt about that reading (integer labels read with no --label-map)."""
    if total is not None and len(loaded.items) < total:
        err.print(f"judging {how} {len(loaded.items)} of {total} items", highlight=False, soft_wrap=True)
    err.print(escape(describe_labels(loaded)), highlight=False, soft_wrap=True)
    for warning in loaded.warnings:
        err.print(f"[yellow]warning:[/] {escape(warning)}", highlight=False, soft_wrap=True)


@main.command()
@click.argument("data", type=click.Path(path_type=Path))
@click.option("--mode", type=click.Choice(MODES), required=True, help="pointwise, pairwise or listwise")
@click.option("--out", type=click.Path(path_type=Path), required=True, help="run directory (created, or resumed)")
@model_option
@base_url_option
@api_key_env_option
@click.option("--context-length", type=int, help="the model's context window in tokens, if jurist cannot tell")
@concurrency_option
@click.option("--rpm", type=float, help="at most this many requests per minute")
@click.option("--tpm", type=float, help="at most this many tokens per minute (estimated)")
@timeout_option
@click.option(
    "--max-retries",
    type=click.IntRange(min=0),
    default=5,
    show_default=True,
    help="retries on 429, 5xx, timeouts and dropped connections",
)
@rubric_option
@scale_option
@template_option
@click.option(
    "--field",
    "fields",
    multiple=True,
    metavar="KEY=COLUMN",
    help="map a column to a field, e.g. --field prompt=input (repeatable; COLUMN may be a,b to join, or a dotted "
    "path into nested records: label=annotations.informativeness.mean_human, scores.0)",
)
# -- reading labels, nested files and a subset of the items (issue 12)
@click.option(
    "--label-map",
    metavar="RAW=LABEL,...",
    help="how raw labels are read: pairwise to A/B/tie (e.g. 0=A,1=B,2=tie), pointwise to scale points or category "
    "names (e.g. No=0,Yes=1)",
)
@click.option("--records", metavar="KEY", help="a .json file whose items sit under this key (or dotted path)")
@click.option("--limit", type=click.IntRange(min=1), help="judge only the first N items")
@click.option(
    "--sample",
    type=click.IntRange(min=1),
    help="judge N items drawn at random with --seed, each label keeping its share (stratified)",
)
@click.option(
    "--turn-scope",
    type=click.Choice(["final", "each"]),
    default="final",
    show_default=True,
    help="conversations (items with turns): judge the last assistant turn, or each one (pointwise; score = mean)",
)
@click.option("--no-swap", is_flag=True, help="pairwise: judge one order only (no position-bias control)")
@click.option(
    "--on-inconsistent",
    type=click.Choice(["probs", "tie", "flag"]),
    default="probs",
    show_default=True,
    help="pairwise, when the two orders disagree: averaged probabilities decide (tie if none), tie, or flag",
)
@no_tie_option
@click.option(
    "--rationale",
    type=click.Choice(["before", "after", "none"]),
    default="after",
    show_default=True,
    help="ask for the rationale before the verdict, after it, or not at all",
)
@click.option(
    "--max-tokens", type=click.IntRange(min=1), help="answer length (default 64 for the embedded model, 1024 otherwise)"
)
@click.option("--temperature", type=float, default=0.0, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True, help="the judge's seed, and --sample's draw")
@click.option("--rules", help="principles put before each item: instruction_first, safety_first, or a file")
@click.option("--demos", "demos_pool", type=click.Path(path_type=Path), help="few-shot examples: a labelled data file")
@click.option("--demos-k", type=click.IntRange(1, 32), default=2, show_default=True, help="examples per item")
@click.option(
    "--demos-select",
    type=click.Choice(["fixed", "random", "bm25", "embedding"]),
    default="fixed",
    show_default=True,
    help="the first k, k at random (seeded), or the k most similar requests (BM25 over words, or embeddings)",
)
@click.option(
    "--demos-embed-model",
    default="local",
    show_default=True,
    help="--demos-select embedding: `local` (the embedded model, mean-pooled) or gguf:PATH of an embedding model",
)
@click.option(
    "--write-first",
    type=click.Choice(["self_reference", "revision", "generated_metrics"]),
    help="the judge writes first: its own answer as reference, a revision of the response as reference "
    "(pointwise), or questions to judge by",
)
@click.option(
    "--samples", type=click.IntRange(min=2), help="self-consistency: K samples per judgment (needs --temperature > 0)"
)
@click.option(
    "--aggregate",
    type=click.Choice(["majority", "mean"]),
    default="majority",
    show_default=True,
    help="self-consistency: how samples combine (mean: pointwise scores)",
)
@click.option(
    "--jury-rubric",
    "jury_rubrics",
    multiple=True,
    metavar="RUBRIC",
    help="a jury of prompts: one juror per rubric (repeatable)",
)
@click.option(
    "--vote",
    type=click.Choice(["majority", "mean", "median"]),
    default="majority",
    show_default=True,
    help="how the jury decides (mean/median: pointwise)",
)
@click.option(
    "--cascade-to", metavar="SPEC", help="escalate unsure verdicts to this stronger model, or `human` to flag them"
)
@click.option(
    "--escalate-when",
    default="error,flagged,inconsistent,low_confidence",
    show_default=True,
    help="cascade: comma-separated conditions",
)
@click.option(
    "--escalate-below",
    type=float,
    default=0.75,
    show_default=True,
    help="cascade: low confidence means a top probability below this",
)
@click.option(
    "--rank-by",
    type=click.Choice(["sort", "knockout", "adaptive", "all_pairs"]),
    help="listwise: rank the responses by pairwise comparisons instead of one listwise prompt",
)
@click.option("--rank-budget", type=click.IntRange(min=1), help="--rank-by adaptive: at most this many comparisons")
@click.option(
    "--strategy",
    "strategy_file",
    type=click.Path(path_type=Path),
    help="a strategy file (YAML/TOML/JSON) describing any stack: jury, debate, discussion, interview, cascade...",
)
@click.option("--no-structured", is_flag=True, help="do not ask for JSON-schema output or a grammar")
@no_cache_option
@click.option(
    "--fsync",
    type=click.Choice(["always", "batch", "never"]),
    default="batch",
    show_default=True,
    help="how often verdicts are forced to disk (each is flushed to the OS at once regardless)",
)
@click.option("--overwrite", is_flag=True, help="discard an existing run in --out made with other settings")
@click.option(
    "--wait", is_flag=True, help="if another jurist process is judging into --out, wait for it (default: exit 2)"
)
def judge(
    data: Path,
    mode: str,
    out: Path,
    model: str,
    base_url: str | None,
    api_key_env: str | None,
    context_length: int | None,
    concurrency: int | None,
    rpm: float | None,
    tpm: float | None,
    timeout: float,
    max_retries: int,
    rubric: str | None,
    scale: str | None,
    template: str | None,
    fields: tuple[str, ...],
    label_map: str | None,
    records: str | None,
    limit: int | None,
    sample: int | None,
    turn_scope: str,
    no_swap: bool,
    on_inconsistent: str,
    no_tie: bool,
    rationale: str,
    max_tokens: int | None,
    temperature: float,
    seed: int,
    rules: str | None,
    write_first: str | None,
    samples: int | None,
    aggregate: str,
    jury_rubrics: tuple[str, ...],
    vote: str,
    cascade_to: str | None,
    escalate_when: str,
    escalate_below: float,
    demos_pool: Path | None,
    demos_k: int,
    demos_select: str,
    demos_embed_model: str,
    rank_by: str | None,
    rank_budget: int | None,
    strategy_file: Path | None,
    no_structured: bool,
    no_cache: bool,
    fsync: str,
    overwrite: bool,
    wait: bool,
) -> None:
    """Judge every item in DATA (JSONL, JSON, CSV, Parquet or a saved HF dataset, or a benchmark such as
    llmbar:Natural; see `jurist benchmarks`) and print a summary.

    Exit codes: 0 done; 1 the run stopped on a configuration error at the server (bad key, unknown model); 2 bad
    input or options, or a run directory that cannot be used; 3 no item got a verdict (every one failed, in
    every session); 130 interrupted (run the same command again to resume)."""
    try:
        _check_needs(JUDGE_NEEDS)
        _check_server_options(
            None if strategy_file is not None else {"--model": model, "--cascade-to": cascade_to}, base_url, api_key_env
        )
        field_map = parse_field_map(fields)
        loaded = _load_data(data, mode, field_map, parse_label_map(label_map) if label_map else None, records)
        available = len(loaded.items)
        loaded = select_items(loaded, limit=limit, sample=sample, seed=seed)
        config = JudgeConfig(
            mode=mode,
            template=template,
            rubric=rubric,
            scale=scale,
            allow_tie=not no_tie,
            swap=not no_swap,
            on_inconsistent=on_inconsistent,
            rationale=rationale,
            max_tokens=max_tokens,
            temperature=temperature,
            seed=seed,
            structured=not no_structured,
            rules=rules,
            turn_scope=turn_scope,
            demos=None
            if demos_pool is None
            else DemoConfig(pool=str(demos_pool), k=demos_k, select=demos_select, embed_model=demos_embed_model),
        )
        strategy = StrategySpec(
            write_first=write_first,
            samples=samples,
            aggregate=aggregate,
            jury_rubrics=list(jury_rubrics),
            vote=vote,
            cascade_to=cascade_to,
            escalate_when=[c.strip() for c in escalate_when.split(",") if c.strip()],
            threshold=escalate_below,
            rank_by=rank_by,
            rank_budget=rank_budget,
        )
        chosen: StrategySpec | StrategyTree = strategy
        if strategy_file is not None:
            if not strategy.empty:
                raise ConfigError(
                    "--strategy FILE describes the whole stack: leave out --write-first, --samples, --jury-rubric, "
                    "--cascade-to and --rank-by (put them in the file)"
                )
            chosen = load_strategy(strategy_file)
        options = JobOptions(
            backend=BackendOptions(
                base_url=base_url, api_key_env=api_key_env, timeout=timeout, context_length=context_length
            ),
            limits=Limits(max_retries=max_retries, rpm=rpm, tpm=tpm),
            run=RunOptions(concurrency=concurrency, fsync=fsync, overwrite=overwrite, wait=wait),
            cache=not no_cache,
        )
    except JuristError as exc:
        _fail(str(exc))
        return
    except ValueError as exc:  # pydantic validation of option values
        _fail(f"bad option: {exc}")
        return

    progress = _progress()
    state: dict[str, Any] = {}

    def on_wait(message: str) -> None:
        err.print(escape(message), highlight=False, soft_wrap=True)

    def on_start(total: int, skipped: int) -> None:
        # here, once the labels are checked against the judge's scale: a bad one is an error, printed alone
        _say_labels(loaded, available, "the first" if limit else f"a sample (seed {seed}) of")
        if skipped:
            err.print(f"resuming {escape(str(out))}: {skipped} of {total} items already judged")
        state["task"] = progress.add_task("judge", total=total, completed=skipped, failed=0)
        state["failed"] = 0
        progress.start()

    def on_verdict(verdict: Verdict) -> None:
        state["failed"] += verdict.error is not None
        progress.update(state["task"], advance=1, failed=state["failed"])

    _run_judging(
        ajudge(
            loaded,
            out=out,
            config=config,
            model=model,
            strategy=chosen,
            options=options,
            on_start=on_start,
            on_verdict=on_verdict,
            on_wait=on_wait,
        ),
        progress,
        out,
    )
    _summary_or_exit(out)


def _summary_or_exit(out: Path) -> None:
    """Print the run's summary; exit 3 when the run (every session of it) holds no verdict at all."""
    try:
        summary = summarize(out)
    except JuristError as exc:
        _fail(str(exc))
    click.echo(render_summary(summary))
    if summary.judged == summary.failed:
        _fail(
            f"no item got a verdict: all {summary.failed} failed (reasons above). Fix the cause, then run the same "
            "command again to retry the items that failed for a transient reason, or start over with --overwrite.",
            code=EXIT_NO_VERDICT,
        )


@main.command("meta-eval")
@click.argument("run_dir", type=click.Path(path_type=Path))
@click.option(
    "--group",
    "group_key",
    default="group",
    show_default=True,
    help="metadata key of the source document or prompt: its items are resampled together in every interval",
)
@click.option("--system", "system_key", default="system", show_default=True, help="metadata key of the system")
@click.option(
    "--annotations", "annotations_key", default="annotations", show_default=True, help="metadata key of annotators"
)
@click.option(
    "--score",
    type=click.Choice(["score", "expected"]),
    default="score",
    show_default=True,
    help="pointwise: the argmax score or the probability-weighted one",
)
@click.option("--bootstrap", "n_resamples", type=click.IntRange(min=1), default=1000, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option(
    "--alpha", "alphas", type=float, multiple=True, help="selective evaluation: target disagreement rate (repeatable)"
)
@click.option("--delta", type=float, default=0.1, show_default=True, help="selective evaluation: failure probability")
@click.option("--epsilon", type=float, default=0.2, show_default=True, help="Alternative Annotator Test's epsilon")
@click.option(
    "--fit-calibrator",
    type=click.Path(path_type=Path),
    help="fit a recalibration of the probabilities on this run and save it to this file",
)
@click.option("--method", type=click.Choice(["temperature", "isotonic"]), default="temperature", show_default=True)
@click.option("--calibrator", type=click.Path(path_type=Path), help="apply a saved calibrator before measuring")
@click.option("--json", "json_out", type=click.Path(path_type=Path), help="also write the report as JSON here")
# -- published conventions and breakdowns (issue 12)
@click.option(
    "--convention",
    type=click.Choice(list(CONVENTIONS)),
    help="also compute this benchmark's own headline metric, exactly as its authors count it",
)
@click.option("--by", metavar="FIELD", help="break every figure down by this metadata field (subset, category...)")
@click.pass_context
def meta_eval(
    ctx: click.Context,
    run_dir: Path,
    group_key: str,
    system_key: str,
    annotations_key: str,
    score: str,
    n_resamples: int,
    seed: int,
    alphas: tuple[float, ...],
    delta: float,
    epsilon: float,
    fit_calibrator: Path | None,
    method: str,
    calibrator: Path | None,
    json_out: Path | None,
    convention: str | None,
    by: str | None,
) -> None:
    """How well RUN_DIR's verdicts agree with its items' human labels: agreement or correlations with bootstrap
    intervals, calibration, selective evaluation with a guarantee, and multi-annotator tests; `--convention` adds a
    benchmark's own headline metric and `--by` breaks everything down by a metadata field."""
    from .meta import MetaOptions, load_calibrator, meta_evaluate, render_meta
    from .meta import fit_calibrator as fit

    try:
        options = MetaOptions(
            group_key=group_key,
            system_key=system_key,
            annotations_key=annotations_key,
            score=score,
            n_resamples=n_resamples,
            seed=seed,
            delta=delta,
            epsilon=epsilon,
            **({"alphas": list(alphas)} if alphas else {}),
            # a key the user named must exist: a misspelt --group would otherwise change nothing, silently
            group_required=ctx.get_parameter_source("group_key") == ParameterSource.COMMANDLINE,
            by=by,
            convention=convention,
        )
        applied = load_calibrator(calibrator) if calibrator is not None else None
        report = meta_evaluate(run_dir, options, calibrator=applied)
        click.echo(render_meta(report))
        if json_out is not None:
            json_out.write_text(report.model_dump_json(indent=2))
        if fit_calibrator is not None:
            fitted = fit(run_dir, method)  # type: ignore[arg-type]
            fitted.save(fit_calibrator)
            click.echo(f"\ncalibrator ({method}) fitted on {report.labelled} labelled verdicts: {fit_calibrator}")
    except JuristError as exc:
        _fail(str(exc))
    except ValueError as exc:  # pydantic validation of option values
        _fail(f"bad option: {exc}")


@main.command()
@click.option(
    "--system",
    "system_specs",
    multiple=True,
    metavar="NAME=PATH",
    help="one system's answers: rows of id, prompt, output (repeatable; JSONL, JSON, CSV or Parquet)",
)
@click.option(
    "--table",
    type=click.Path(path_type=Path),
    help="all systems' answers in one table: prompt_id, prompt, system, output",
)
@click.option("--out", type=click.Path(path_type=Path), required=True, help="arena directory (created, or resumed)")
@click.option(
    "--mode",
    type=click.Choice(["pairwise", "pointwise"]),
    default="pairwise",
    show_default=True,
    help="compare answers in battles, or grade each answer alone (mean scores)",
)
@click.option(
    "--schedule",
    type=click.Choice(["baseline", "all-pairs", "adaptive"]),
    help="which battles: every system against --baseline, all pairs, or adaptively where the ranking is unsure "
    "(default: baseline when --baseline is given, else all-pairs)",
)
@click.option("--baseline", help="the system others are measured against (win rates; its score is fixed at 1000)")
@click.option("--budget", type=click.IntRange(min=1), help="--schedule adaptive: at most this many battles")
@click.option("--round-size", type=click.IntRange(min=1), help="--schedule adaptive: battles per round")
@click.option("--null-model", is_flag=True, help="add a system that answers every prompt with the same refusal")
@click.option(
    "--verbose-variant",
    "verbose_variants",
    multiple=True,
    metavar="NAME",
    help="add NAME-verbose: NAME's answers padded with sentences that add nothing (repeatable)",
)
@model_option
@base_url_option
@api_key_env_option
@rubric_option
@scale_option
@click.option("--no-swap", is_flag=True, help="judge each battle in one order only (no position-bias control)")
@click.option("--max-tokens", type=click.IntRange(min=1), help="the judge's answer length")
@concurrency_option
@timeout_option
@click.option("--max-retries", type=click.IntRange(min=0), default=5, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True, help="judge seed, adaptive schedule and bootstrap")
@click.option("--bootstrap", "n_bootstrap", type=click.IntRange(min=0), default=200, show_default=True)
@no_cache_option
@click.option("--overwrite", is_flag=True, help="discard an existing arena run in --out made with other settings")
def arena(
    system_specs: tuple[str, ...],
    table: Path | None,
    out: Path,
    mode: str,
    schedule: str | None,
    baseline: str | None,
    budget: int | None,
    round_size: int | None,
    null_model: bool,
    verbose_variants: tuple[str, ...],
    model: str,
    base_url: str | None,
    api_key_env: str | None,
    rubric: str | None,
    scale: str | None,
    no_swap: bool,
    max_tokens: int | None,
    concurrency: int | None,
    timeout: float,
    max_retries: int,
    seed: int,
    n_bootstrap: int,
    no_cache: bool,
    overwrite: bool,
) -> None:
    """Rank systems by their answers to the same prompts: battles judged pairwise (Bradley-Terry with intervals,
    raw and style-controlled, win rate against a baseline, Elo) or answers graded alone (mean scores). Writes
    leaderboard.csv, battles.jsonl, win_matrix.csv and arena.json into OUT; the verdicts are a resumable run.

    Exit codes as for `jurist judge`: 3 when no battle (or answer) got a verdict, in every session."""
    from .leaderboard.arena import (
        ArenaOptions,
        arun_arena,
        load_systems,
        load_table,
        parse_system_spec,
        render_arena,
        with_null_model,
        with_verbose_variant,
    )

    try:
        _check_needs(ARENA_NEEDS)
        _check_server_options({"--model": model}, base_url, api_key_env)
        if bool(system_specs) == (table is not None):
            raise ConfigError("give the answers either as --system NAME=PATH (one per system) or as one --table")
        data = load_table(table) if table is not None else load_systems([parse_system_spec(s) for s in system_specs])
        for name in verbose_variants:
            data = with_verbose_variant(data, name)
        if null_model:
            data = with_null_model(data)
        options = ArenaOptions(
            mode=mode,
            schedule=schedule or ("baseline" if baseline else "all-pairs"),
            baseline=baseline,
            budget=budget,
            round_size=round_size,
            n_bootstrap=n_bootstrap,
            seed=seed,
        )
        config = JudgeConfig(mode=mode, rubric=rubric, scale=scale, swap=not no_swap, max_tokens=max_tokens, seed=seed)
        job = JobOptions(
            backend=BackendOptions(base_url=base_url, api_key_env=api_key_env, timeout=timeout),
            limits=Limits(max_retries=max_retries),
            run=RunOptions(concurrency=concurrency, overwrite=overwrite),
            cache=not no_cache,
        )
    except JuristError as exc:
        _fail(str(exc))
        return
    except ValueError as exc:  # pydantic validation of option values
        _fail(f"bad option: {exc}")
        return

    progress = _progress()
    state: dict[str, Any] = {"failed": 0}

    def on_start(total: int, skipped: int) -> None:
        # Called once per round (adaptive) with the arena so far; earlier rounds count as already judged.
        if "task" not in state:
            if skipped:
                err.print(f"resuming {escape(str(out))}: {skipped} of {total} judgments already made")
            state["task"] = progress.add_task("arena", total=total, completed=skipped, failed=0)
            progress.start()
        else:
            progress.update(state["task"], total=total, completed=skipped)

    def on_verdict(verdict: Verdict) -> None:
        state["failed"] += verdict.error is not None
        progress.update(state["task"], advance=1, failed=state["failed"])

    report = _run_judging(
        arun_arena(
            data,
            out=out,
            options=options,
            config=config,
            model=model,
            job=job,
            on_start=on_start,
            on_verdict=on_verdict,
        ),
        progress,
        out,
    )
    for warning in report.warnings:
        err.print(f"[yellow]warning:[/] {escape(warning)}", soft_wrap=True)
    Console().print(render_arena(report))
    click.echo(
        f"\nwritten to {out}: leaderboard.csv, arena.json"
        + (", battles.jsonl, win_matrix.csv" if mode == "pairwise" else "")
    )


@main.command()
@click.argument("data", type=click.Path(path_type=Path))
@click.option("--out", type=click.Path(path_type=Path), required=True, help="audit directory (created, or resumed)")
@click.option(
    "--mode",
    type=click.Choice(["pairwise", "pointwise"]),
    default="pairwise",
    show_default=True,
    help="the judge's mode (the probes perturb pairs or single responses: there is no listwise audit)",
)
@model_option
@base_url_option
@api_key_env_option
@click.option("--context-length", type=int, help="the model's context window in tokens, if jurist cannot tell")
@concurrency_option
@click.option("--rpm", type=float, help="at most this many requests per minute")
@click.option("--tpm", type=float, help="at most this many tokens per minute (estimated)")
@timeout_option
@click.option("--max-retries", type=click.IntRange(min=0), default=5, show_default=True)
@click.option(
    "--probe",
    "probe_names",
    multiple=True,
    metavar="NAME",
    help="a probe to run (repeatable; default: every probe for the mode except self_preference)",
)
@click.option(
    "--mitigation",
    "mitigations",
    multiple=True,
    metavar="NAME[+NAME]",
    help="measure the probes again with a mitigation: swap, delimit, detector, reference, jury, length, "
    "length_score; "
    "join with + to combine (repeatable)",
)
@click.option("--limit", type=click.IntRange(min=1), help="audit only the first N items")
@click.option("--bootstrap", "n_resamples", type=click.IntRange(min=1), default=1000, show_default=True)
@click.option("--examples", type=click.IntRange(min=0), default=5, show_default=True, help="flips kept per probe")
@click.option("--answer-tokens", type=click.IntRange(min=1), default=256, show_default=True, help="own answers' length")
@click.option(
    "--rewrite-model",
    metavar="SPEC",
    help="a model that writes the verbosity, authority, sentiment and distraction perturbations (CALM's method) "
    "instead of the fixed wordings; its outputs are kept in OUT/rewrites.jsonl",
)
@click.option(
    "--rewrite-tokens", type=click.IntRange(min=1), default=512, show_default=True, help="the rewrites' length"
)
@rubric_option
@scale_option
@template_option
@click.option("--field", "fields", multiple=True, metavar="KEY=COLUMN", help="map a column to a field (repeatable)")
# -- reading labels and nested files, as judge does (issue 12)
@click.option("--label-map", metavar="RAW=LABEL,...", help="how raw labels are read (see jurist judge --help)")
@click.option("--records", metavar="KEY", help="a .json file whose items sit under this key (or dotted path)")
@no_tie_option
@click.option(
    "--on-inconsistent",
    type=click.Choice(["probs", "tie", "flag"]),
    default="probs",
    show_default=True,
    help="with the swap mitigation, when the two orders disagree: averaged probabilities, tie, or flag",
)
@click.option(
    "--rationale",
    type=click.Choice(["before", "after", "none"]),
    default="none",
    show_default=True,
    help="the audited judge's rationale (the cot probe compares before with none)",
)
@click.option("--max-tokens", type=click.IntRange(min=1), help="answer length (default: the backend's)")
@click.option("--temperature", type=float, default=0.0, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True, help="judge seed, wording variants and bootstrap")
@click.option("--rules", help="principles put before each item: instruction_first, safety_first, or a file")
@click.option("--no-structured", is_flag=True, help="do not ask for JSON-schema output or a grammar")
@no_cache_option
@click.option("--overwrite", is_flag=True, help="discard sub-runs in --out made with other settings")
def audit(
    data: Path,
    out: Path,
    mode: str,
    model: str,
    base_url: str | None,
    api_key_env: str | None,
    context_length: int | None,
    concurrency: int | None,
    rpm: float | None,
    tpm: float | None,
    timeout: float,
    max_retries: int,
    probe_names: tuple[str, ...],
    mitigations: tuple[str, ...],
    limit: int | None,
    n_resamples: int,
    examples: int,
    answer_tokens: int,
    rewrite_model: str | None,
    rewrite_tokens: int,
    rubric: str | None,
    scale: str | None,
    template: str | None,
    fields: tuple[str, ...],
    label_map: str | None,
    records: str | None,
    no_tie: bool,
    on_inconsistent: str,
    rationale: str,
    max_tokens: int | None,
    temperature: float,
    seed: int,
    rules: str | None,
    no_structured: bool,
    no_cache: bool,
    overwrite: bool,
) -> None:
    """Audit a judge for biases and attacks on DATA (a data file or a benchmark such as llmbar:Natural or
    evalbiasbench): per probe, the robustness rate or the attack success rate with a bootstrap interval, before
    and after each --mitigation. Writes OUT/audit.json and OUT/audit.txt; run it again to resume."""
    from .audit import AuditOptions, aaudit, render_report

    try:
        _check_needs(AUDIT_NEEDS)
        _check_server_options({"--model": model, "--rewrite-model": rewrite_model}, base_url, api_key_env)
        loaded = _load_data(
            data, mode, parse_field_map(fields), parse_label_map(label_map) if label_map else None, records
        )
        _say_labels(select_items(loaded, limit=limit), len(loaded.items), "the first")
        config = JudgeConfig(
            mode=mode,
            template=template,
            rubric=rubric,
            scale=scale,
            allow_tie=not no_tie,
            on_inconsistent=on_inconsistent,
            rationale=rationale,
            max_tokens=max_tokens,
            temperature=temperature,
            seed=seed,
            structured=not no_structured,
            rules=rules,
        )
        options = AuditOptions(
            probes=list(probe_names) or None,
            mitigations=list(mitigations),
            seed=seed,
            n_resamples=n_resamples,
            examples=examples,
            limit=limit,
            answer_tokens=answer_tokens,
            rewrite_model=rewrite_model,
            rewrite_tokens=rewrite_tokens,
            job=JobOptions(
                backend=BackendOptions(
                    base_url=base_url, api_key_env=api_key_env, timeout=timeout, context_length=context_length
                ),
                limits=Limits(max_retries=max_retries, rpm=rpm, tpm=tpm),
                run=RunOptions(concurrency=concurrency, overwrite=overwrite),
                cache=not no_cache,
            ),
        )
        report = asyncio.run(
            aaudit(
                loaded,
                out=out,
                config=config,
                model=model,
                options=options,
                on_progress=lambda message: err.print(escape(message), highlight=False, soft_wrap=True),
            )
        )
    except KeyboardInterrupt:
        err.print(f"\n[yellow]stopped.[/] Run the same command again to resume the audit in {escape(str(out))}.")
        sys.exit(130)
    except BackendError as exc:
        _fail(f"the audit stopped: {exc}\nVerdicts so far are saved in {out}; run the same command to resume.", code=1)
        return
    except JuristError as exc:
        _fail(str(exc))
        return
    except ValueError as exc:  # pydantic validation of option values
        _fail(f"bad option: {exc}")
        return
    click.echo(render_report(report))
    click.echo(f"\nwritten to {out}: audit.json, audit.txt")


# -- jurist import: recorded judgments in (issue 12) --------------------------------------------------------------

IMPORT_NEEDS: Needs = {
    "decision_order": [("order_field", None)],
    "scale": [_POINTWISE],
}


@main.command("import")
@click.argument("data", type=click.Path(path_type=Path))
@click.option(
    "--decisions",
    type=click.Path(path_type=Path),
    required=True,
    help="the file of recorded judgments (JSONL, JSON, CSV, Parquet; or see --format)",
)
@click.option("--out", type=click.Path(path_type=Path), required=True, help="run directory (created, or resumed)")
@click.option(
    "--mode", type=click.Choice(["pairwise", "pointwise"]), default="pairwise", show_default=True, help="as DATA's"
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(list(IMPORT_FORMATS)),
    default="records",
    show_default=True,
    help="records: any file with the fields below; llmbar: an LLMBar evaluators/<judge>/<strategy>/result.json; "
    "pandalm: a PandaLM prediction file (DATA = pandalm); alpaca_eval: AlpacaEval's annotations/MODEL.json "
    "(DATA = alpaca_eval:MODEL), the preference kept as the verdicts' probabilities",
)
@click.option("--by", "by", default="id", show_default=True, metavar="FIELD", help="the records' item-id field")
@click.option(
    "--order-field", metavar="FIELD", help="pairwise, two orders: the field naming the order (AB/BA or a swap flag)"
)
@click.option("--completion-field", metavar="FIELD", help="the judge's raw text, read by jurist's parser")
@click.option("--decision-field", metavar="FIELD", help="the judge's decision, a label already (see --decision-map)")
@click.option("--decision-map", metavar="RAW=LABEL,...", help="how decisions are read, e.g. 1=A,2=B,0=tie")
@click.option(
    "--decision-order",
    type=click.Choice(["original", "shown"]),
    default="original",
    show_default=True,
    help="whose A and B a BA-order decision names: the items' own, or the positions shown",
)
@click.option("--rationale-field", metavar="FIELD", help="decisions: the judge's stated reason")
@scale_option
@click.option("--field", "fields", multiple=True, metavar="KEY=COLUMN", help="map a column of DATA to a field")
@click.option("--label-map", metavar="RAW=LABEL,...", help="how DATA's raw labels are read, as in `jurist judge`")
@click.option("--records", metavar="KEY", help="a .json DATA file whose items sit under this key")
@click.option("--overwrite", is_flag=True, help="discard an existing run in --out made from other records")
def import_judgments(
    data: Path,
    decisions: Path,
    out: Path,
    mode: str,
    fmt: str,
    by: str,
    order_field: str | None,
    completion_field: str | None,
    decision_field: str | None,
    decision_map: str | None,
    decision_order: str,
    rationale_field: str | None,
    scale: str | None,
    fields: tuple[str, ...],
    label_map: str | None,
    records: str | None,
    overwrite: bool,
) -> None:
    """Build a run directory from a judge's recorded judgments (decisions or completions, keyed by item id and,
    pairwise, by order) on the items of DATA, so that `show`, `export` and `meta-eval` read a published judge like
    a live one. No model is called. Items with no record are recorded as failures (no_record).

    Exit codes as `jurist judge`: 2 bad input or options; 3 no item got a verdict."""
    from .data.load import parse_label_map
    from .imports import ImportOptions, prepare_import, render_import

    try:
        _check_needs(IMPORT_NEEDS)
        options = ImportOptions(
            format=fmt,
            by=by,
            order_field=order_field,
            completion_field=completion_field,
            decision_field=decision_field,
            decision_map=parse_label_map(decision_map) if decision_map else None,
            decision_order=decision_order,
            rationale_field=rationale_field,
            scale=scale,
        )
        options.check(mode)
        loaded = _load_data(
            data, mode, parse_field_map(fields), parse_label_map(label_map) if label_map else None, records
        )
        prepared = prepare_import(loaded, decisions, mode, options)  # type: ignore[arg-type]
    except JuristError as exc:
        _fail(str(exc))
    except ValueError as exc:  # pydantic validation of option values
        _fail(f"bad option: {exc}")
    _say_labels(loaded)
    err.print(escape(render_import(prepared.report)), highlight=False, soft_wrap=True)
    _run_judging(prepared.run(out, RunOptions(overwrite=overwrite)), _progress(), out)
    _summary_or_exit(out)


@main.command()
def benchmarks() -> None:
    """List the meta-evaluation benchmarks DATA can name (e.g. `jurist judge llmbar:Neighbor ...`)."""
    table = Table(box=None, show_header=True, header_style="bold")
    table.add_column("spec")
    table.add_column("what it is")
    table.add_column("option after ':'")
    for name, benchmark in BENCHMARKS.items():
        table.add_row(name, benchmark.description, benchmark.option or "-")
    console = Console()
    console.print(table)
    where = os.environ.get(DATA_DIR_ENV)
    console.print(
        f"\nData is read from ${DATA_DIR_ENV} ({where})"
        if where
        else f"\nData is read from ${DATA_DIR_ENV} when set, else downloaded once into {cache_dir()}",
        soft_wrap=True,
    )


@main.command()
@click.argument("run_dir", type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="print the summary as JSON")
def show(run_dir: Path, as_json: bool) -> None:
    """Print the summary of a run again."""
    try:
        summary = summarize(run_dir)
    except JuristError as exc:
        _fail(str(exc))
        return
    click.echo(summary.model_dump_json(indent=2) if as_json else render_summary(summary))


@main.command()
@click.argument("run_dir", type=click.Path(path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["csv", "parquet", "jsonl"]), default="csv", show_default=True)
@click.option(
    "--to",
    "dest",
    type=click.Path(path_type=Path),
    help="output file (default RUN_DIR/verdicts.export.FMT, rewritten by each export); missing folders are created",
)
@click.option("--force", is_flag=True, help="replace an existing --to file (a run's own files never are)")
@click.option("--no-texts", is_flag=True, help="leave out the items' texts (prompt, responses, reference, turns)")
@click.option(
    "--raw-cells",
    is_flag=True,
    help="CSV: keep cells starting with = + - @ tab or CR as they are (default: prefixed with ' so that "
    "spreadsheets do not run them as formulas)",
)
def export(run_dir: Path, fmt: str, dest: Path | None, force: bool, no_texts: bool, raw_cells: bool) -> None:
    """Write a run's verdicts as CSV, Parquet or JSONL: one row per item with the verdict, the item's texts and
    one meta.KEY column per metadata key."""
    missing = dest is not None and not dest.parent.exists()
    try:
        target = export_run(
            run_dir,
            fmt,  # type: ignore[arg-type]
            dest,
            texts=not no_texts,
            force=force,
            raw_cells=raw_cells,
        )
    except JuristError as exc:
        _fail(str(exc))
        return
    if missing:
        err.print(f"created {escape(str(target.parent))}", highlight=False, soft_wrap=True)
    click.echo(str(target))


if __name__ == "__main__":
    main()
