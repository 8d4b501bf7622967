"""`jurist serve`: the judge behind HTTP, for RL training loops (see jurist.serve)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import click
from pydantic import SecretStr, ValidationError

from ..errors import JuristError
from ..serve.server import TOKEN_ENV, ServeOptions, aserve_judge
from ..types import MODES
from .common import (
    POINTWISE,
    STRATEGY_NEEDS,
    Judging,
    Needs,
    Server,
    Stacking,
    check_needs,
    check_server_options,
    fail,
    judge_config_options,
    no_cache_option,
    no_swap_option,
    one_line_errors,
    say,
    server_options,
    strategy_options,
)

SERVE_NEEDS: Needs = {
    **STRATEGY_NEEDS,
    "no_swap": [("mode", ("pairwise",)), ("rank_by", None)],
    "on_inconsistent": [("mode", ("pairwise",)), ("rank_by", None)],
    "no_tie": [("mode", ("pairwise",)), ("rank_by", None)],
    "scale": [POINTWISE],
    "failure_reward": [POINTWISE],
    "response_marker": [POINTWISE],
}


@click.command()
@click.option(
    "--mode",
    type=click.Choice(MODES),
    default="pointwise",
    show_default=True,
    help="what the items are: pointwise (reward = score; the only mode of /get_reward), pairwise (reward = "
    "P(response_a wins)) or listwise",
)
@click.option("--host", default="127.0.0.1", show_default=True, help="address to listen on (0.0.0.0: every interface)")
@click.option("--port", type=click.IntRange(0, 65535), default=8000, show_default=True, help="port (0: a free one)")
@click.option(
    "--token",
    envvar=TOKEN_ENV,
    show_envvar=True,
    help="the bearer token every request but /health must carry (prefer the environment variable: a command line "
    "is visible to other users)",
)
@click.option("--no-auth", is_flag=True, help="answer requests without a token (anyone who can reach the server)")
@click.option(
    "--max-queue",
    type=click.IntRange(min=1),
    default=1024,
    show_default=True,
    help="items admitted at once, judging or waiting; a request beyond it gets 429 with Retry-After",
)
@click.option(
    "--max-batch", type=click.IntRange(min=1), default=256, show_default=True, help="items in one request (else 413)"
)
@click.option(
    "--max-body-mb", type=click.FloatRange(min=0, min_open=True), default=16.0, show_default=True, help="else 413"
)
@click.option(
    "--shutdown-timeout",
    type=click.FloatRange(min=0, min_open=True),
    default=60.0,
    show_default=True,
    help="on SIGTERM/SIGINT, seconds the requests in flight may take to finish",
)
@click.option(
    "--failure-reward",
    type=float,
    help="/get_reward: the reward of a query the judge could not score (listed in the answer's failures); "
    "without it such a request is answered 502 with the reasons",
)
@click.option(
    "--response-marker",
    help="/get_reward: split a query that does not contain its prompt at the last occurrence of this text (the chat "
    "template's assistant opening, e.g. '<|im_start|>assistant\\n')",
)
@click.option(
    "--log-dir",
    type=click.Path(path_type=Path),
    help="append every judged item to this run directory (jurist show/export read it); default: nothing is kept",
)
@click.option("--quiet", is_flag=True, help="no line per request on stderr")
@server_options()
@judge_config_options(
    on_inconsistent_help="pairwise, when the two orders disagree: averaged probabilities decide (tie if none), tie, "
    "or flag (no reward)",
    rationale_default="after",
    rationale_help="ask for the rationale before the verdict, after it, or not at all",
)
@click.option("--seed", type=int, default=0, show_default=True, help="the judge's seed")
@no_swap_option
@strategy_options(ranking=True)
@no_cache_option
def serve(
    mode: str,
    host: str,
    port: int,
    token: str | None,
    no_auth: bool,
    max_queue: int,
    max_batch: int,
    max_body_mb: float,
    shutdown_timeout: float,
    failure_reward: float | None,
    response_marker: str | None,
    log_dir: Path | None,
    quiet: bool,
    server: Server,
    judging: Judging,
    seed: int,
    no_swap: bool,
    stacking: Stacking,
    no_cache: bool,
) -> None:
    """Serve the judge over HTTP for RL training loops: POST /v1/judge (items in, verdicts and rewards out),
    POST /get_reward (OpenRLHF's remote reward model protocol), GET /health, GET /metrics (Prometheus).

    Requests carry `Authorization: Bearer TOKEN` (or `?token=TOKEN`, for clients that cannot set a header). Beyond
    --max-queue items a request is answered 429 with Retry-After. SIGTERM or Ctrl-C stops it gracefully: requests in
    flight finish first.

    Examples:

    \b
      JURIST_SERVE_TOKEN=... jurist serve --model openai:gpt-4o-mini --rubric helpfulness --port 8000
      jurist serve --model openai:Qwen/Qwen2.5-7B-Instruct --base-url http://localhost:8001/v1 --no-auth
    """
    try:
        serving = ServeOptions(
            host=host,
            port=port,
            token=SecretStr(token) if token else None,
            auth=not no_auth,
            max_queue=max_queue,
            max_batch=max_batch,
            max_body_mb=max_body_mb,
            shutdown_timeout_s=shutdown_timeout,
            failure_reward=failure_reward,
            response_marker=response_marker,
            log_dir=log_dir,
            access_log=not quiet,
        )
    except ValidationError as exc:  # the message alone: what to do about the token, the queue
        fail("; ".join(e["msg"].removeprefix("Value error, ") for e in exc.errors()))
    if server.batch:
        fail("--batch is for runs (a batch answers within 24 hours); jurist serve answers each request online")
    with one_line_errors():
        check_needs(SERVE_NEEDS)
        check_server_options(stacking.models(server.model), server.base_url, server.api_key_env)
        config = judging.config(mode, seed, swap=not no_swap)
        strategy = stacking.strategy()
        options = server.job(cache=not no_cache)

    def ready(url: str) -> None:
        auth = "no token (--no-auth)" if no_auth else "bearer token"
        say(f"jurist serve: judging {mode} items at {url} ({auth}); SIGTERM or Ctrl-C stops it")

    try:
        counts = asyncio.run(
            aserve_judge(
                config, model=server.model, strategy=strategy, options=options, serve=serving, on_ready=ready, log=say
            )
        )
    except JuristError as exc:
        fail(str(exc))
    except OSError as exc:  # the port is taken, or not ours to bind
        fail(f"cannot listen on {host}:{port}: {exc.strerror or exc}")
    say(f"stopped: {counts['judged']} items judged, {counts['failed']} without a reward")
