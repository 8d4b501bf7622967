"""What the `jurist` commands share: failing with one line, judging under a progress bar, the option checks, and the
option groups (decorators) with the one function per group that builds its typed piece of the configuration."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
import sys
from collections.abc import Callable, Coroutine, Iterator, Mapping
from dataclasses import dataclass
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
    TaskID,
    TaskProgressColumn,
    TextColumn,
    TimeRemainingColumn,
)

from ..api import JobOptions, Limits
from ..backends import BackendOptions
from ..backends.registry import ADAPTABLE
from ..data.benchmarks import BENCHMARKS, load_benchmark
from ..data.load import (
    STREAMED_SUFFIXES,
    ItemStream,
    LoadedData,
    describe_labels,
    load_items,
    parse_field_map,
    parse_label_map,
    remap,
    stream_items,
)
from ..errors import BackendError, ConfigError, InputError, JuristError, NoVerdictError
from ..gate import Metric, Threshold, check_gate, parse_threshold
from ..judges import JudgeConfig
from ..rubrics import builtin_rubrics
from ..run.batch import BatchOptions
from ..run.runner import RunOptions
from ..secrets import scrub
from ..strategies.build import WRITE_FIRST, StrategySpec
from ..strategies.cascade import Cascade
from ..strategies.jury import Jury
from ..strategies.ranking import PairwiseRanking
from ..strategies.self_consistency import MIN_SAMPLES, SelfConsistency
from ..strategies.tree import StrategyTree, load_strategy
from ..summary import Summary, render_summary, summarize
from ..types import Verdict

err = Console(stderr=True)
T = TypeVar("T")
F = TypeVar("F", bound=Callable[..., Any])
EXIT_BAD_INPUT = 2
EXIT_NO_VERDICT = 3  # the run holds no verdict at all: every item failed, in every session
EXIT_GATE = 4  # --fail-under: a gated figure is below its threshold (CI)


def fail(message: str, code: int = EXIT_BAD_INPUT) -> NoReturn:
    # The message holds file names and data values: escape them, or rich reads "[x]" as markup. A backend's
    # message is scrubbed already; scrubbing here too keeps a secret out of any other error.
    err.print(f"[bold red]error:[/] {escape(scrub(message))}", highlight=False, markup=True, soft_wrap=True)
    sys.exit(code)


def say(message: str) -> None:
    """A line on stderr, printed as it is (no markup, no highlighting, no line break inside a path)."""
    err.print(escape(message), highlight=False, soft_wrap=True)


def warn(message: str) -> None:
    """A one-line warning on stderr."""
    err.print(f"[yellow]warning:[/] {escape(message)}", highlight=False, soft_wrap=True)


@contextlib.contextmanager
def one_line_errors() -> Iterator[None]:
    """Around what a command checks, reads and builds before it judges: a configuration or input error, or an
    option value that pydantic refuses, stops the command with one line (exit 2)."""
    try:
        yield
    except JuristError as exc:
        fail(str(exc))
    except ValueError as exc:  # pydantic validation of option values
        fail(f"bad option: {exc}")


# -- judging under a progress bar ------------------------------------------------------------------------------------


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


def progress_bar() -> Progress:
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


class JudgingProgress:
    """The progress bar of a command that judges and the engine's callbacks that move it. `done` says what a resumed
    run had made already ("items already judged")."""

    def __init__(self, out: Path, done: str) -> None:
        self.bar = progress_bar()
        self.out, self.done = out, done
        self.task: TaskID | None = None
        self.failed = 0

    def on_start(self, total: int, skipped: int) -> None:
        """The first call starts the bar; a later one (the arena's next round) moves its total, the earlier rounds
        counted as judged."""
        if self.task is None:
            if skipped:
                err.print(f"resuming {escape(str(self.out))}: {skipped} of {total} {self.done}")
            self.task = self.bar.add_task("judging", total=total, completed=skipped, failed=0)
            self.bar.start()
        else:
            self.bar.update(self.task, total=total, completed=skipped)

    def on_verdict(self, verdict: Verdict) -> None:
        self.failed += verdict.error is not None
        if self.task is not None:
            self.bar.update(self.task, advance=1, failed=self.failed)


def run_judging(work: Coroutine[Any, Any, T], progress: Progress, out: Path) -> T:
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
        fail(str(exc), code=EXIT_NO_VERDICT)
    except (InputError, ConfigError) as exc:
        progress.stop()
        fail(str(exc))
    except BackendError as exc:
        progress.stop()
        fail(
            f"the run stopped: {exc}\nVerdicts so far are saved in {out}; fix the cause and run the same "
            "command again to resume.",
            code=1,
        )
    finally:
        progress.stop()


def summary_or_exit(out: Path) -> Summary:
    """Print the run's summary and return it; exit 3 when the run (every session of it) holds no verdict at all."""
    try:
        summary = summarize(out)
    except JuristError as exc:
        fail(str(exc))
    click.echo(render_summary(summary))
    if summary.judged == summary.failed:
        fail(
            f"no item got a verdict: all {summary.failed} failed (reasons above). Fix the cause, then run the same "
            "command again to retry the items that failed for a transient reason, or start over with --overwrite.",
            code=EXIT_NO_VERDICT,
        )
    return summary


# -- option checks of the judging commands, made before anything is read or called ---------------------------------

# An option that acts only together with another is refused when given without it: ignored silently, it would leave
# the user believing the run was made as asked. Each command's table maps an option's parameter to conditions of
# which one must hold: (a parameter, the values it must take, or None for "given at all").
Needs = dict[str, list[tuple[str, tuple[str, ...] | None]]]
PAIRWISE: tuple[str, tuple[str, ...] | None] = ("mode", ("pairwise",))
POINTWISE: tuple[str, tuple[str, ...] | None] = ("mode", ("pointwise",))


def _holds(value: Any, values: tuple[str, ...] | None) -> bool:
    """Whether an option's value meets a condition. A repeated option meets it when one of its values does, and each
    part of an `a+b` value counts (audit's combined mitigations)."""
    given = [v for v in (value if isinstance(value, tuple) else (value,)) if v is not None and v is not False]
    if values is None:
        return bool(given)
    return any(part in values for v in given for part in str(v).split("+"))


def check_needs(needs: Needs) -> None:
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


def check_server_options(models: dict[str, str | None] | None, base_url: str | None, api_key_env: str | None) -> None:
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
        warn(f"--api-key-env names {api_key_env}, which is not set: requests go without an API key")


# -- option groups ---------------------------------------------------------------------------------------------------
# Each group adds its options to a command and hands the callback, instead of their values one by one, one typed
# object (under the group's name) that builds the group's piece of the configuration: the commands that share a
# group build that piece through the same code.


def _group(name: str, build: Callable[..., Any], options: list[Callable[[Any], Any]]) -> Callable[[F], F]:
    """A decorator adding `options` (in this order in --help) whose values, taken out of the callback's keyword
    arguments, are passed to `build`; the callback gets the result as `name`."""
    # each option's parameter name, read off the Option that its decorator attaches to a throwaway function
    params = [decorator(lambda: None).__click_params__[0].name for decorator in options]

    def decorate(f: F) -> F:
        @functools.wraps(f)
        def callback(*args: Any, **kwargs: Any) -> Any:
            kwargs[name] = build(**{param: kwargs.pop(param) for param in params})
            return f(*args, **kwargs)

        for option in reversed(options):
            callback = option(callback)
        return callback  # type: ignore[return-value]

    return decorate


rubric_option = click.option("--rubric", help=f"built-in ({', '.join(builtin_rubrics())}) or a .toml/.json file")
scale_option = click.option("--scale", help="pointwise scale: 1-5, 1-10, binary, categories:a,b,c")
no_cache_option = click.option("--no-cache", is_flag=True, help="do not read or write the response cache")
overwrite_option = click.option(
    "--overwrite", is_flag=True, help="discard an existing run in --out made with other settings"
)
# the human labels a command compares the judge with: the items' own (the data's label column), or the people's of
# `jurist review` (RUN_DIR/review.sqlite, read by jurist.review.review_labels)
labels_option = click.option(
    "--labels",
    "labels_from",
    type=click.Choice(["data", "review"]),
    default="data",
    show_default=True,
    help="the human labels: the items' own (data) or the reviewers' of `jurist review` (review)",
)


def min_relevant_option(counted_by: str) -> Callable[[F], F]:
    """`--min-relevant`: the lowest TREC grade (0-3) that `counted_by` counts as relevant (qrels, rerank, rag)."""
    from ..retrieval.metrics import MIN_RELEVANT

    return click.option(
        "--min-relevant",
        type=click.IntRange(0, 3),
        default=MIN_RELEVANT,
        show_default=True,
        help=f"the lowest grade counted as relevant by {counted_by}",
    )


few_shot_option = click.option(
    "--few-shot", is_flag=True, help="the relevance template with four worked examples (one per grade)"
)


wait_option = click.option(
    "--wait", is_flag=True, help="if another jurist process is judging into --out, wait for it (default: exit 2)"
)
no_swap_option = click.option(
    "--no-swap", is_flag=True, help="pairwise: judge one order only (no position-bias control)"
)


def mode_option(about: str) -> Callable[[F], F]:
    """--mode pairwise|pointwise (default pairwise), for the commands that take no listwise items."""
    return click.option(
        "--mode", type=click.Choice(["pairwise", "pointwise"]), default="pairwise", show_default=True, help=about
    )


# One default for every bootstrap interval (meta-eval, audit, arena): a percentile 95% interval rests on the
# resamples beyond each of its ends, 25 of 1000 (200 leave 5, and the ends move from one seed to the next).
BOOTSTRAP_RESAMPLES = 1000


def bootstrap_option(*, zero: str | None = None) -> Callable[[F], F]:
    """--bootstrap N as `n_resamples`; `zero` says what 0 means where a command takes it (else N >= 1)."""
    return click.option(
        "--bootstrap",
        "n_resamples",
        type=click.IntRange(min=0 if zero else 1),
        default=BOOTSTRAP_RESAMPLES,
        show_default=True,
        help="bootstrap resamples of every interval" + (f" (0: {zero})" if zero else ""),
    )


# -- the CI gate: --fail-under METRIC=VALUE (judge, meta-eval) -------------------------------------------------------


class FailUnder(click.ParamType):
    """METRIC=VALUE, METRIC one of a command's metrics (jurist.gate); an unknown one is a usage error (exit 2)."""

    name = "METRIC=VALUE"

    def __init__(self, known: Mapping[str, Metric[Any]]) -> None:
        self.known = known

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Threshold:
        if isinstance(value, Threshold):
            return value
        try:
            return parse_threshold(str(value), self.known)
        except ConfigError as exc:
            self.fail(str(exc), param, ctx)


def fail_under_option(known: Mapping[str, Metric[Any]], *, what: str) -> Callable[[F], F]:
    """--fail-under METRIC=VALUE (repeatable) as `fail_under`: one meaning in every command, the metrics its own."""
    return click.option(
        "--fail-under",
        "fail_under",
        type=FailUnder(known),
        multiple=True,
        help=f"CI gate: exit {EXIT_GATE} when {what} METRIC is below VALUE (repeatable); an unknown metric, or one "
        f"this run cannot give, exits 2. Metrics: {', '.join(known)}",
    )


def gate_or_exit(report: T, thresholds: tuple[Threshold, ...], known: Mapping[str, Metric[T]], failures: str) -> None:
    """Check the thresholds: each line on stderr; exit EXIT_GATE when one fails, 2 when a metric is undefined."""
    if not thresholds:
        return
    try:
        result = check_gate(report, list(thresholds), known, failures)
    except ConfigError as exc:
        fail(str(exc))
    for line in result.passed:
        say(f"gate passed: {line}")
    if not result.ok:
        fail("gate failed: " + "; ".join(result.failed), code=EXIT_GATE)


# -- renamed options -------------------------------------------------------------------------------------------------
# An option renamed so that one name means one thing in every command keeps its old spelling, hidden from --help:
# given, it warns on stderr and hands its value to the new one.


class RenamedOption(click.Option):
    """The old spelling of the option `new`, hidden (see `renamed_option`)."""

    def __init__(self, param_decls: list[str], *, new: str, **attrs: Any) -> None:
        super().__init__(param_decls, hidden=True, **attrs)
        self.new = new


def renamed_option(*param_decls: str, was: str, **attrs: Any) -> Callable[[F], F]:
    """`click.option(*param_decls, **attrs)` (a value option, not a flag), whose earlier spelling `was` still
    works."""
    new = click.Option(list(param_decls), **attrs)
    name, spelling = new.name or "", new.opts[0]
    alias = "renamed_" + was.lstrip("-").replace("-", "_")

    def decorate(f: F) -> F:
        @functools.wraps(f)
        def callback(*args: Any, **kwargs: Any) -> Any:
            value = kwargs.pop(alias)
            if value is not None and value != ():
                given = click.get_current_context().get_parameter_source(name)
                if given in (ParameterSource.COMMANDLINE, ParameterSource.ENVIRONMENT):
                    raise click.BadOptionUsage(was, f"{was} is the old spelling of {spelling}: give {spelling} alone")
                warn(f"{was} is deprecated: use {spelling}, which means the same")
                kwargs[name] = value
            return f(*args, **kwargs)

        old = click.option(
            was, alias, cls=RenamedOption, new=spelling, type=new.type, multiple=new.multiple, metavar=new.metavar
        )
        return click.option(*param_decls, **attrs)(old(callback))  # type: ignore[return-value]

    return decorate


@dataclass(frozen=True)
class Server:
    """The judge's model, where it is served and how it is called (--model ... --max-retries)."""

    model: str
    base_url: str | None
    api_key_env: str | None
    concurrency: int | None
    timeout: float
    max_retries: int
    context_length: int | None = None
    rpm: float | None = None
    tpm: float | None = None
    batch: bool = False
    batch_poll: float = 30.0
    adapter: Path | None = None

    def job(self, *, cache: bool, **run: Any) -> JobOptions:
        """The job's options: these, the cache, and `run`'s RunOptions fields but the concurrency."""
        return JobOptions(
            backend=BackendOptions(
                base_url=self.base_url,
                api_key_env=self.api_key_env,
                timeout=self.timeout,
                context_length=self.context_length,
                adapter=self._adapter(),
            ),
            limits=Limits(max_retries=self.max_retries, rpm=self.rpm, tpm=self.tpm),
            run=RunOptions(concurrency=self.concurrency, **run),
            cache=cache,
            batch=BatchOptions(poll_s=self.batch_poll) if self.batch else None,
        )

    def _adapter(self) -> Path | None:
        """--adapter's GGUF file; a `jurist tune train` folder is exported first where it has none yet."""
        if self.adapter is None:
            return None
        if self.model.partition(":")[0] not in ADAPTABLE:
            raise ConfigError(f"--adapter applies to llama.cpp models (local, gguf:PATH), not {self.model}")
        from ..tune.export import resolve_adapter  # torch and the converter only when a folder must be exported

        return resolve_adapter(self.adapter)


def server_options() -> Callable[[F], F]:
    """--model, --base-url, --api-key-env, --context-length, --concurrency, --rpm, --tpm, --timeout, --max-retries,
    --batch, --batch-poll, as `server`: the same in every command that judges."""
    return _group(
        "server",
        Server,
        [
            click.option(
                "--model",
                default="local",
                show_default=True,
                help="local | gguf:PATH | openai:MODEL | anthropic:MODEL | replay:PATH | vllm:MODEL",
            ),
            click.option(
                "--base-url", help="server URL for openai:/anthropic: (default OPENAI_BASE_URL or the vendor's)"
            ),
            click.option(
                "--api-key-env",
                help="environment variable holding the API key (default OPENAI_API_KEY / ANTHROPIC_API_KEY)",
            ),
            click.option(
                "--context-length", type=int, help="the model's context window in tokens, if jurist cannot tell"
            ),
            click.option(
                "--adapter",
                type=click.Path(path_type=Path),
                help="a GGUF LoRA adapter for local or gguf:PATH, or a `jurist tune train` folder (exported first)",
            ),
            click.option(
                "--concurrency", type=click.IntRange(min=1), help="requests in flight (default: 1 local, 64 HTTP)"
            ),
            click.option("--rpm", type=float, help="at most this many requests per minute"),
            click.option("--tpm", type=float, help="at most this many tokens per minute (estimated)"),
            click.option("--timeout", type=float, default=60.0, show_default=True, help="seconds per request"),
            click.option(
                "--max-retries",
                type=click.IntRange(min=0),
                default=5,
                show_default=True,
                help="retries on 429, 5xx, timeouts and dropped connections",
            ),
            click.option(
                "--batch",
                is_flag=True,
                help="send the requests through the provider's batch API (openai:, anthropic:): half the price, "
                "answers within 24 hours; a crash or Ctrl-C resumes without sending a batch again",
            ),
            click.option(
                "--batch-poll",
                type=click.FloatRange(min=0),
                default=30.0,
                show_default=True,
                help="seconds before a batch's first status check (then doubling, up to 10 minutes)",
            ),
        ],
    )


@dataclass(frozen=True)
class Judging:
    """How the judge is asked and answers (--rubric ... --no-structured): JudgeConfig's fields but the mode, the
    seed and a command's own."""

    rubric: str | None
    scale: str | None
    template: str | None
    no_tie: bool
    on_inconsistent: str
    rationale: str
    max_tokens: int | None
    temperature: float
    rules: str | None
    no_structured: bool

    def config(self, mode: str, seed: int, **extra: Any) -> JudgeConfig:
        """The JudgeConfig, with `extra` for fields only one command sets (judge's swap, turn scope, demos)."""
        return JudgeConfig(
            mode=mode,
            template=self.template,
            rubric=self.rubric,
            scale=self.scale,
            allow_tie=not self.no_tie,
            on_inconsistent=self.on_inconsistent,
            rationale=self.rationale,
            max_tokens=self.max_tokens,
            temperature=self.temperature,
            seed=seed,
            structured=not self.no_structured,
            rules=self.rules,
            **extra,
        )


def judge_config_options(*, on_inconsistent_help: str, rationale_default: str, rationale_help: str) -> Callable[[F], F]:
    """--rubric, --scale, --template, --no-tie, --on-inconsistent, --rationale, --max-tokens, --temperature, --rules,
    --no-structured, as `judging`. The help (and the rationale's default) say what they do in each command."""
    return _group(
        "judging",
        Judging,
        [
            rubric_option,
            scale_option,
            click.option(
                "--template",
                help="template FILE (.toml, or MT-Bench-style .jsonl), FILE#NAME, or a built-in template by name "
                "(relevance, relevance_fewshot, pointwise_delimited, ...)",
            ),
            click.option("--no-tie", is_flag=True, help="pairwise: the judge must pick A or B"),
            click.option(
                "--on-inconsistent",
                type=click.Choice(["probs", "tie", "flag"]),
                default="probs",
                show_default=True,
                help=on_inconsistent_help,
            ),
            click.option(
                "--rationale",
                type=click.Choice(["before", "after", "none"]),
                default=rationale_default,
                show_default=True,
                help=rationale_help,
            ),
            click.option(
                "--max-tokens",
                type=click.IntRange(min=1),
                help="the judge's answer length (default: the backend's, 64 for the embedded model, 1024 otherwise)",
            ),
            click.option(
                "--temperature",
                type=float,
                default=0.0,
                show_default=True,
                help="the judge's sampling temperature (0: its most likely answer)",
            ),
            click.option("--rules", help="principles put before each item: instruction_first, safety_first, or a file"),
            click.option("--no-structured", is_flag=True, help="do not ask for JSON-schema output or a grammar"),
        ],
    )


# -- strategies: the flags (a stack of the common ones) or a strategy file -------------------------------------------

STRATEGY_NEEDS: Needs = {
    "vote": [("jury_rubrics", None)],
    "aggregate": [("samples", None)],
    "escalate_when": [("cascade_to", None)],
    "escalate_below": [("cascade_to", None)],
    "rank_budget": [("rank_by", ("adaptive",))],
}


@dataclass(frozen=True)
class Stacking:
    """How the judge is wrapped in strategies: --write-first ... --escalate-below (and, listwise, --rank-by and
    --rank-budget), or one --strategy FILE describing any stack."""

    write_first: str | None
    samples: int | None
    aggregate: str
    jury_rubrics: tuple[str, ...]
    vote: str
    cascade_to: str | None
    escalate_when: str
    escalate_below: float
    strategy_file: Path | None
    rank_by: str | None = None
    rank_budget: int | None = None

    def models(self, model: str) -> dict[str, str | None] | None:
        """The models these options name, for check_server_options (None: a strategy file names its own)."""
        return None if self.strategy_file is not None else {"--model": model, "--cascade-to": self.cascade_to}

    def strategy(self) -> StrategySpec | StrategyTree:
        spec = StrategySpec(
            write_first=self.write_first,
            samples=self.samples,
            aggregate=self.aggregate,
            jury_rubrics=list(self.jury_rubrics),
            vote=self.vote,
            cascade_to=self.cascade_to,
            escalate_when=[c.strip() for c in self.escalate_when.split(",") if c.strip()],
            threshold=self.escalate_below,
            rank_by=self.rank_by,
            rank_budget=self.rank_budget,
        )
        if self.strategy_file is None:
            return spec
        if not spec.empty:
            raise ConfigError(
                "--strategy FILE describes the whole stack: leave out --write-first, --samples, --jury-rubric, "
                "--cascade-to and --rank-by (put them in the file)"
            )
        return load_strategy(self.strategy_file)


def strategy_options(*, ranking: bool) -> Callable[[F], F]:
    """The strategy flags and --strategy FILE, as `stacking`; with `ranking`, listwise --rank-by and --rank-budget.
    Their choices and defaults, and their help where a description fits the flag, are the strategies' Params."""
    samples, jury, cascade, ranks_by = SelfConsistency.Params, Jury.Params, Cascade.Params, PairwiseRanking.Params
    ranks = [
        click.option(
            "--rank-by",
            type=click.Choice(ranks_by.choices("method")),
            help="listwise: rank the responses by pairwise comparisons instead of one listwise prompt; "
            + ranks_by.about("method"),
        ),
        click.option("--rank-budget", type=click.IntRange(min=1), help="--rank-by " + ranks_by.about("budget")),
    ]
    return _group(
        "stacking",
        Stacking,
        [
            click.option(
                "--write-first",
                type=click.Choice(list(WRITE_FIRST)),
                help="the judge writes first: its own answer as reference, a revision of the response as reference "
                "(pointwise), or questions to judge by",
            ),
            click.option(
                "--samples",
                type=click.IntRange(min=MIN_SAMPLES),
                help="self-consistency: K " + samples.about("k"),
            ),
            click.option(
                "--aggregate",
                type=click.Choice(samples.choices("aggregate")),
                default=samples.default("aggregate"),
                show_default=True,
                help="self-consistency: " + samples.about("aggregate"),
            ),
            click.option(
                "--jury-rubric",
                "jury_rubrics",
                multiple=True,
                metavar="RUBRIC",
                help="a jury of prompts: one juror per rubric (repeatable)",
            ),
            click.option(
                "--vote",
                # no --weights flag: a weighted vote is for strategy files
                type=click.Choice([v for v in jury.choices("vote") if v != "weighted"]),
                default=jury.default("vote"),
                show_default=True,
                help="how the jury decides (mean/median: pointwise)",
            ),
            click.option(
                "--cascade-to",
                metavar="SPEC",
                help="escalate unsure verdicts to this stronger model, or `human` to flag them",
            ),
            click.option(
                "--escalate-when",
                default=",".join(cascade.default("escalate_when")),
                show_default=True,
                help="cascade, comma-separated: " + cascade.about("escalate_when"),
            ),
            click.option(
                "--escalate-below",
                type=float,
                default=cascade.default("threshold"),
                show_default=True,
                help="cascade: " + cascade.about("threshold"),
            ),
            *(ranks if ranking else []),
            click.option(
                "--strategy",
                "strategy_file",
                type=click.Path(path_type=Path),
                help="a strategy file (YAML/TOML/JSON) describing any stack: jury, debate, discussion, interview, "
                "cascade...",
            ),
        ],
    )


def load_data(
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


@dataclass(frozen=True)
class Reading:
    """How DATA is read: --field, --label-map, --records."""

    fields: tuple[str, ...]
    label_map: str | None
    records: str | None

    def load(self, data: Path, mode: str) -> LoadedData:
        label_map = parse_label_map(self.label_map) if self.label_map else None
        return load_data(data, mode, parse_field_map(self.fields), label_map, self.records)

    def open(self, data: Path, mode: str) -> LoadedData | ItemStream:
        """`load`, streamed (read as it is judged) when DATA is a JSONL or Parquet file."""
        if not data.is_file() or data.suffix.lower() not in STREAMED_SUFFIXES or self.records is not None:
            return self.load(data, mode)
        label_map = parse_label_map(self.label_map) if self.label_map else None
        return stream_items(data, mode, parse_field_map(self.fields), label_map=label_map)  # type: ignore[arg-type]


def data_options(*, field_help: str, label_map_help: str, records_help: str) -> Callable[[F], F]:
    """--field, --label-map, --records, as `reading`."""
    return _group(
        "reading",
        Reading,
        [
            click.option("--field", "fields", multiple=True, metavar="KEY=COLUMN", help=field_help),
            click.option("--label-map", metavar="RAW=LABEL,...", help=label_map_help),
            click.option("--records", metavar="KEY", help=records_help),
        ],
    )


def say_labels(loaded: LoadedData, total: int | None = None, how: str = "") -> None:
    """Before judging, on stderr: which items are judged when not all, what labels they carry and how those were
    read, and any doubt about that reading (integer labels read with no --label-map)."""
    if total is not None and len(loaded.items) < total:
        err.print(f"judging {how} {len(loaded.items)} of {total} items", highlight=False, soft_wrap=True)
    err.print(escape(describe_labels(loaded)), highlight=False, soft_wrap=True)
    for warning in loaded.warnings:
        warn(warning)
