"""`jurist self-reward`: a policy samples K answers per prompt, a judge scores them, the best and worst become a
DPO pair."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import click
from click.core import ParameterSource
from rich.markup import escape

from ..alignment.pairs import render_report
from ..alignment.self_reward import PAIRS_FILE, Generation, Sampling, aself_reward
from ..data.load import parse_field_map
from ..errors import BackendError, ConfigError, JuristError
from ..types import Verdict
from .common import (
    Judging,
    Server,
    check_server_options,
    err,
    fail,
    judge_config_options,
    no_cache_option,
    progress_bar,
    run_judging,
    say,
    server_options,
)
from .pairs import Filtering, format_option, pair_options


@click.command("self-reward")
@click.argument("data", type=click.Path(path_type=Path))
@click.option("--out", type=click.Path(path_type=Path), required=True, help="the step's folder (created, or resumed)")
@click.option("--policy", metavar="SPEC", required=True, help="the model that answers (a model spec, as --model)")
@click.option("--judge", "judge_spec", metavar="SPEC", help="the judge's model: the same as --model")
@click.option("--samples", type=click.IntRange(min=2), required=True, help="K answers per prompt")
@click.option(
    "--policy-temperature",
    type=click.FloatRange(min=0, min_open=True),
    default=0.8,
    show_default=True,
    help="the policy's sampling temperature (above 0: the K answers must differ)",
)
@click.option(
    "--policy-max-tokens", type=click.IntRange(min=1), default=512, show_default=True, help="the answers' length"
)
@click.option("--policy-base-url", help="the policy's server, when it is not the judge's (--base-url)")
@click.option(
    "--seed", type=int, default=0, show_default=True, help="the judge's seed; sample k is drawn with seed + k"
)
@server_options()
@judge_config_options(
    on_inconsistent_help="(pairwise only: the self-reward judge is pointwise)",
    rationale_default="after",
    rationale_help="ask for the rationale before the verdict, after it, or not at all",
)
@click.option("--field", "fields", multiple=True, metavar="KEY=COLUMN", help="map a column of DATA to a field")
@format_option
@pair_options()
@no_cache_option
def self_reward(
    data: Path,
    out: Path,
    policy: str,
    judge_spec: str | None,
    samples: int,
    policy_temperature: float,
    policy_max_tokens: int,
    policy_base_url: str | None,
    seed: int,
    server: Server,
    judging: Judging,
    fields: tuple[str, ...],
    fmt: str,
    filtering: Filtering,
    no_cache: bool,
) -> None:
    """One self-rewarding step: the --policy model answers every prompt of DATA --samples times (temperature above
    0, sample k with seed --seed + k), the judge (--model, or --judge) scores each answer pointwise, and each prompt's
    best and worst answers become a DPO pair in OUT/pairs.jsonl (with the filter report beside it).

    OUT keeps the answers (generations.jsonl, with each one's seed) and the judge's run (judge/): run the same
    command again after an interruption and only what is missing is asked for.

    Examples:

    \b
      jurist self-reward prompts.jsonl --policy openai:my-sft --base-url http://localhost:8000/v1 \\
          --samples 4 --out runs/iter1
      jurist self-reward prompts.jsonl --policy openai:my-sft --policy-base-url http://localhost:8000/v1 \\
          --judge openai:gpt-4o --samples 8 --max-length-ratio 2 --out runs/iter1
    """
    try:
        if judge_spec is not None:
            given = click.get_current_context().get_parameter_source("model")
            if given in (ParameterSource.COMMANDLINE, ParameterSource.ENVIRONMENT):
                raise ConfigError("--judge is another spelling of --model: give one of them")
            server = dataclasses.replace(server, model=judge_spec)
        check_server_options({"--model": server.model, "--policy": policy}, server.base_url, server.api_key_env)
        options = server.job(cache=not no_cache)
        sampling = Sampling(
            samples=samples,
            temperature=policy_temperature,
            max_tokens=policy_max_tokens,
            seed=seed,
            backend=options.backend.model_copy(update={"base_url": policy_base_url}) if policy_base_url else None,
        )
        config = judging.config("pointwise", seed)
        filters = filtering.filters()
        field_map = parse_field_map(fields)
    except JuristError as exc:
        fail(str(exc))
    except ValueError as exc:  # pydantic validation of option values
        fail(f"bad option: {exc}")

    progress = progress_bar()
    state: dict[str, Any] = {"failed": 0}

    def on_generation(answer: Generation | BackendError) -> None:
        if isinstance(answer, BackendError):
            state["failed"] += 1
            if state["failed"] == 1:
                err.print(f"[yellow]warning:[/] the policy failed: {escape(str(answer))}", highlight=False)

    def on_start(total: int, skipped: int) -> None:
        state["task"] = progress.add_task("judging", total=total, completed=skipped, failed=0)
        state["judge_failed"] = 0
        progress.start()

    def on_verdict(verdict: Verdict) -> None:
        state["judge_failed"] += verdict.error is not None
        progress.update(state["task"], advance=1, failed=state["judge_failed"])

    result = run_judging(
        aself_reward(
            data,
            out=out,
            policy=policy,
            judge=server.model,
            sampling=sampling,
            config=config,
            options=options,
            format=fmt,  # type: ignore[arg-type]
            filters=filters,
            field_map=field_map,
            on_generation=on_generation,
            on_start=on_start,
            on_verdict=on_verdict,
        ),
        progress,
        out,
    )
    say(
        f"{result.prompts} prompts x {samples} answers: {result.generated} drawn now, {result.reused} read back, "
        f"{result.failed} failed (asked again by the next run)"
    )
    say(render_report(result.pairs.report))
    click.echo(out / PAIRS_FILE)
