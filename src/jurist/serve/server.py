"""`jurist serve`: a judge behind HTTP, for RL training loops that need rewards for batches of responses.

The judge is built as every run builds it (`strategies.build.judge_for` over the engine's `Backends`: retries, rate
limits, the response cache), and each item is judged and stamped by `judges.base.judge_item`, as the engine does.

Back-pressure: the server admits at most `max_queue` items at a time (judging and waiting for a slot; slots: the
engine's concurrency). A request that would go beyond that is answered at once with 429 and a Retry-After worked out
from the queue ahead of it; nothing waits in an unbounded backlog, and every request gets an answer. A stop (SIGTERM,
SIGINT, `stop()`) closes the listening socket, answers 503 to new requests on open connections, lets the requests in
flight finish (up to `shutdown_timeout_s`), then closes the backends and the cache.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import logging
import math
import signal
import threading
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from aiohttp import web
from pydantic import BaseModel, Field, SecretStr, ValidationError, model_validator

from .._version import __version__
from ..api import sync_twin
from ..backends import Backend
from ..data.load import LoadedData, items_from_rows
from ..errors import BackendError, ConfigError, InputError, JuristError
from ..files import parse_json
from ..judges import JudgeConfig
from ..judges.base import Judge, Preflight, judge_item
from ..run.engine import Backends, JobOptions, concurrency
from ..run.log import RunHeader, RunStore, SessionRecord
from ..secrets import register, scrub
from ..strategies.build import StrategySpec, judge_for
from ..strategies.tree import StrategyTree, load_strategy
from ..types import ErrorInfo, Item, Mode, Verdict
from .metrics import Metrics
from .protocol import (
    Failure,
    ItemResult,
    JudgeRequest,
    JudgeResponse,
    RewardRequest,
    label_text,
    no_reward,
    reward_of,
    split_query,
    validation_message,
)

logger = logging.getLogger("jurist.serve")

MIN_TOKEN_LENGTH = 16
TOKEN_ENV = "JURIST_SERVE_TOKEN"
# the endpoints a token guards: all but the health check, which load balancers and probes call bare
OPEN_PATHS = frozenset({"/health"})
MAX_RETRY_AFTER_S = 60


class ServeOptions(BaseModel):
    """How the judge server listens, whom it answers, and how much it takes at once."""

    host: str = Field("127.0.0.1", description="the address to listen on (0.0.0.0: every interface)")
    port: int = Field(8000, ge=0, le=65535, description="0: a free port")
    token: SecretStr | None = Field(None, description="the bearer token every request but /health must carry")
    auth: bool = Field(True, description="False: answer requests without a token (explicitly, --no-auth)")
    max_queue: int = Field(1024, ge=1, description="items admitted at once (judging and waiting); beyond: 429")
    max_batch: int = Field(256, ge=1, description="items (queries) in one request; beyond: 413")
    max_body_mb: float = Field(16.0, gt=0, description="the largest request body; beyond: 413")
    shutdown_timeout_s: float = Field(60.0, gt=0, description="on a stop, how long requests in flight may finish")
    failure_reward: float | None = Field(
        None,
        description="/get_reward: the reward given to a query the judge could not score (listed in `failures`); "
        "None: such a request is answered 502 with the reasons",
    )
    response_marker: str | None = Field(
        None, description="/get_reward: where a query without its prompt is split (the assistant turn's opening)"
    )
    log_dir: Path | None = Field(None, description="a run directory the judged items are appended to")
    access_log: bool = Field(True, description="one line per request (method, path, status, items, seconds)")

    @model_validator(mode="after")
    def _check(self) -> ServeOptions:
        token = self.token.get_secret_value() if self.token is not None else None
        if self.auth and not token:
            raise ValueError(
                f"a bearer token is required: give --token or set {TOKEN_ENV}, or pass --no-auth to answer anyone "
                "who can reach the server"
            )
        if self.auth and token is not None and len(token) < MIN_TOKEN_LENGTH:
            raise ValueError(
                f"the token must be at least {MIN_TOKEN_LENGTH} characters, e.g. "
                "python -c 'import secrets; print(secrets.token_urlsafe(24))'"
            )
        if not self.auth and token:
            raise ValueError("--no-auth and a token contradict each other: give one of them")
        if self.max_batch > self.max_queue:
            raise ValueError(f"max_batch ({self.max_batch}) cannot exceed max_queue ({self.max_queue})")
        return self


def _json(status: int, body: Any, headers: dict[str, str] | None = None) -> web.Response:
    payload = body.model_dump_json() if isinstance(body, BaseModel) else json.dumps(body)
    return web.Response(status=status, text=payload, content_type="application/json", headers=headers)


def _error(status: int, message: str, headers: dict[str, str] | None = None, **extra: Any) -> web.Response:
    return _json(status, {"error": scrub(message), **extra}, headers)


class BadRequest(Exception):
    """A request the server answers with a 4xx and this message."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class JudgeServer:
    """The judge server: `async with JudgeServer(...) as server:` serves at `server.url` until the block ends (a
    graceful stop). `start()` and `stop()` do the same by hand; `aserve_judge` runs one until SIGTERM or SIGINT."""

    def __init__(
        self,
        config: JudgeConfig | Mode = "pointwise",
        *,
        model: str | Backend = "local",
        strategy: StrategySpec | StrategyTree | str | Path | None = None,
        options: JobOptions | None = None,
        serve: ServeOptions | None = None,
        log: Callable[[str], None] | None = None,
    ) -> None:
        self.config = config if isinstance(config, JudgeConfig) else JudgeConfig(mode=config)
        self.model = model
        self.strategy = load_strategy(strategy) if isinstance(strategy, str | Path) else strategy
        self.options = options or JobOptions()
        self.serve = serve or ServeOptions(auth=False)
        self._log = log or logger.info
        self._token = self.serve.token.get_secret_value().encode() if self.serve.token is not None else None
        if self.serve.token is not None:
            register(self.serve.token.get_secret_value())  # kept out of every message and log line
        self.metrics = Metrics()
        self.url = ""
        self._backends: Backends | None = None
        self._judge: Judge | None = None
        self._slots = asyncio.Semaphore(1)
        self._concurrency = 1
        self._runner: web.AppRunner | None = None
        self._store: RunStore | None = None
        self._pending = 0  # items admitted: judging or waiting for a slot
        self._requests = 0  # requests being answered
        self._sizes: dict[int, int] = {}  # items in each request being answered, for its log line
        self._idle = asyncio.Event()
        self._idle.set()
        self._draining = False
        self._item_seconds = 0.0  # a moving mean of one item's judging time, for Retry-After
        self._started = 0.0
        self._judged = self._failed = 0

    @property
    def mode(self) -> Mode:
        return self.config.mode

    # -- life cycle --------------------------------------------------------------------------------------------

    async def start(self) -> str:
        """Build the judge and its backends, open the log directory, listen; returns the base URL."""
        self._started = time.time()
        self._backends = Backends(self.options)
        try:
            self._judge = judge_for(self.config, self.strategy, self.model, self._backends.get)
            self._concurrency = concurrency(self._judge, self._backends, self.options)
            self._slots = asyncio.Semaphore(self._concurrency)
            if self.serve.log_dir is not None:
                self._store = RunStore(self.serve.log_dir)
                header = RunHeader(
                    judge={"jurist_version": __version__, **self._judge.spec.identity},
                    data="<jurist serve>",
                    fingerprint=self._judge.spec.fingerprint,
                )
                self._store.open(header)
            app = web.Application(
                client_max_size=int(self.serve.max_body_mb * 1024 * 1024), middlewares=[self._middleware]
            )
            app.router.add_post("/v1/judge", self._judge_handler)
            app.router.add_post("/get_reward", self._reward_handler)
            app.router.add_get("/health", self._health_handler)
            app.router.add_get("/metrics", self._metrics_handler)
            self._runner = web.AppRunner(app, access_log=None, handle_signals=False)
            await self._runner.setup()
            site = web.TCPSite(self._runner, self.serve.host, self.serve.port)
            await site.start()
        except BaseException:
            await self._close()
            raise
        host, port = self._runner.addresses[0][:2]
        self.url = f"http://{'[' + host + ']' if ':' in host else host}:{port}"
        return self.url

    async def stop(self) -> None:
        """Stop gracefully: stop listening, answer 503 to new requests on open connections, let the requests in
        flight finish (up to `shutdown_timeout_s`), then close the connections, the backends and the log."""
        if self._runner is None:
            return
        self._draining = True
        for site in list(self._runner.sites):
            await site.stop()
        try:
            await asyncio.wait_for(self._idle.wait(), self.serve.shutdown_timeout_s)
        except TimeoutError:
            self._log(f"stopping with {self._requests} request(s) unfinished after {self.serve.shutdown_timeout_s}s")
        await self._close()

    async def _close(self) -> None:
        runner, self._runner = self._runner, None
        try:
            if runner is not None:
                await runner.cleanup()
        finally:
            try:
                if self._backends is not None:
                    await self._backends.aclose()
            finally:
                if self._store is not None:
                    session = SessionRecord(
                        started=self._started,
                        wall_s=time.time() - self._started,
                        judged=self._judged,
                        failed=self._failed,
                        concurrency=self._concurrency,
                    )
                    self._store.close(session)
                    self._store = None

    def counts(self) -> dict[str, int]:
        """Items answered so far, and how many of them got no reward (judged or not: a query that could not be
        split counts too)."""
        return {"judged": sum(self.metrics.items.values()), "failed": self.metrics.items["failed"]}

    async def __aenter__(self) -> JudgeServer:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # -- judging -----------------------------------------------------------------------------------------------

    def _admit(self, n: int) -> bool:
        """Take `n` items in, or refuse them all: a request is judged whole or not at all."""
        if self._pending + n > self.serve.max_queue:
            return False
        self._pending += n
        return True

    def _retry_after(self) -> int:
        """Seconds until the queue ahead has moved on: its waves of `concurrency` items, each an item's time."""
        waves = self._pending / self._concurrency
        return max(1, min(MAX_RETRY_AFTER_S, math.ceil(waves * (self._item_seconds or 1.0))))

    async def _judge_one(self, item: Item, request_id: str) -> Verdict:
        """One admitted item's verdict; every failure becomes a verdict with its reason, so each item is answered."""
        assert self._judge is not None
        start = 0.0
        try:
            async with self._slots:
                start = time.perf_counter()  # the judging time, not the wait: Retry-After counts the waits itself
                try:
                    if isinstance(self._judge, Preflight):  # too long for the model's context, a label off scale
                        self._judge.check_data(LoadedData(path="request", items=[item], unit="item"))
                    verdict = await judge_item(self._judge, item)
                except (InputError, ConfigError) as exc:
                    verdict = self._failed_verdict(item, "input", str(exc))
                except BackendError as exc:  # fatal (a bad key): every item fails alike, each says so
                    verdict = self._failed_verdict(item, exc.reason, str(exc))
                except JuristError as exc:
                    verdict = self._failed_verdict(item, "error", str(exc))
                except Exception as exc:  # a bug: the item is answered, the traceback logged
                    logger.exception("judging item %s failed", item.id)
                    verdict = self._failed_verdict(item, "internal", f"{type(exc).__name__}: {exc}")
        finally:
            self._pending -= 1
            if start:
                seconds = time.perf_counter() - start
                self._item_seconds = seconds if not self._item_seconds else 0.9 * self._item_seconds + 0.1 * seconds
        ok = reward_of(verdict) is not None
        self.metrics.items["ok" if ok else "failed"] += 1
        self._judged += 1  # for the log directory's session record
        if not ok:
            self._failed += 1
            self.metrics.failures[no_reward(verdict).reason] += 1
        if self._store is not None:
            self._store.append(verdict.model_copy(update={"id": f"{request_id}/{verdict.id}"}))
        return verdict

    def _failed_verdict(self, item: Item, reason: str, message: str) -> Verdict:
        return Verdict(
            id=item.id,
            mode=self.mode,
            error=ErrorInfo(reason=reason, message=scrub(message)),
            item_hash=item.content_hash(),
            label=item.label,
            judge_fingerprint=self._judge.spec.fingerprint if self._judge is not None else "",
        )

    async def _judge_items(self, items: list[Item], request_id: str) -> list[Verdict]:
        """Judge admitted items (already counted in `_pending`), all of them, in their order."""
        tasks = [asyncio.ensure_future(self._judge_one(item, request_id)) for item in items]
        try:
            return list(await asyncio.gather(*tasks))
        except BaseException:
            for task in tasks:
                task.cancel()
            raise

    # -- HTTP --------------------------------------------------------------------------------------------------

    @web.middleware
    async def _middleware(
        self, request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        """Every request: counted in flight, checked for a token, answered (errors as JSON), timed and logged."""
        start = time.perf_counter()
        resource = request.match_info.route.resource
        endpoint = resource.canonical if resource is not None else "other"
        self._requests += 1
        self._idle.clear()
        response: web.StreamResponse
        try:
            if self._draining and endpoint != "/health":
                response = _error(503, "the server is shutting down", {"Retry-After": "5", "Connection": "close"})
            elif resource is not None and endpoint not in OPEN_PATHS and not self._authorized(request):
                response = _error(401, "a bearer token is required (Authorization: Bearer TOKEN)")
                response.headers["WWW-Authenticate"] = "Bearer"
            else:
                response = await handler(request)
        except BadRequest as exc:
            response = _error(exc.status, str(exc))
        except web.HTTPException as exc:  # aiohttp's own: 404, 405, 413 (client_max_size)
            message = exc.text or exc.reason
            if exc.status == 413:
                message = f"the request body is larger than {self.serve.max_body_mb:g} MB (--max-body-mb)"
            response = _error(exc.status, message, {k: v for k, v in exc.headers.items() if k == "Allow"})
        except Exception as exc:
            logger.exception("answering %s %s failed", request.method, request.path)
            response = _error(500, f"internal error: {type(exc).__name__}")
        finally:
            self._requests -= 1
            if self._requests == 0:
                self._idle.set()
            items = self._sizes.pop(id(request), None)
        seconds = time.perf_counter() - start
        self.metrics.request(endpoint, response.status, seconds)
        if self.serve.access_log:
            # the path without its query, which may hold the token
            self._log(
                scrub(
                    f"{request.method} {request.path} {response.status}"
                    + (f" {items} items" if items is not None else "")
                    + f" {seconds:.3f}s"
                )
            )
        return response

    def _authorized(self, request: web.Request) -> bool:
        if not self.serve.auth:
            return True
        assert self._token is not None
        given = ""
        scheme, _, value = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() == "bearer":
            given = value.strip()
        elif "token" in request.query:  # for clients that cannot set a header (OpenRLHF's --remote_rm_url)
            given = request.query["token"]
        return hmac.compare_digest(given.encode(), self._token)

    async def _body(self, request: web.Request) -> Any:
        text = await request.text()  # past max_body_mb: aiohttp raises 413
        try:
            return parse_json(text, file="request body", hint="send one JSON object")
        except InputError as exc:
            raise BadRequest(400, str(exc)) from None

    def _check_batch(self, n: int) -> None:
        if n > self.serve.max_batch:
            raise BadRequest(413, f"{n} items in one request; at most {self.serve.max_batch} (--max-batch): split it")

    def _refuse(self, n: int) -> web.Response | None:
        """Admit `n` items, or the 429 that refuses them (with when to come back)."""
        if self._admit(n):
            return None
        wait = self._retry_after()
        return _error(
            429,
            f"the queue is full ({self._pending} of {self.serve.max_queue} items admitted): retry after {wait}s",
            {"Retry-After": str(wait)},
            retry_after=wait,
        )

    async def _judge_handler(self, request: web.Request) -> web.Response:
        body = await self._body(request)
        try:
            parsed = JudgeRequest.model_validate(body)
        except ValidationError as exc:
            raise BadRequest(400, f"not a judge request: {validation_message(exc)}") from None
        if parsed.mode is not None and parsed.mode != self.mode:
            raise BadRequest(400, f"this server judges {self.mode} items, not {parsed.mode}")
        self._sizes[id(request)] = len(parsed.items)
        self._check_batch(len(parsed.items))
        try:
            # errors name "request item:N" (N from 1) and the field
            rows = list(enumerate(parsed.items, start=1))
            items = items_from_rows(rows, self.mode, None, path="request item", unit="item").items
        except InputError as exc:
            raise BadRequest(400, str(exc)) from None
        refused = self._refuse(len(items))
        if refused is not None:
            return refused
        request_id = uuid.uuid4().hex[:12]
        verdicts = await self._judge_items(items, request_id)
        results = []
        for verdict in verdicts:
            reward = reward_of(verdict)
            results.append(
                ItemResult(
                    id=verdict.id,
                    ok=reward is not None,
                    reward=reward,
                    verdict=verdict.model_dump(mode="json", exclude={"item"}),
                    error=None if reward is not None else no_reward(verdict),
                )
            )
        failed = sum(not r.ok for r in results)
        response = JudgeResponse(
            request_id=request_id, mode=self.mode, judged=len(results), failed=failed, results=results
        )
        return _json(200, response, {"X-Request-Id": request_id})

    async def _reward_handler(self, request: web.Request) -> web.Response:
        body = await self._body(request)
        try:
            parsed = RewardRequest.model_validate(body)
        except ValidationError as exc:
            raise BadRequest(400, f"not an OpenRLHF reward request: {validation_message(exc)}") from None
        if self.mode != "pointwise":
            raise BadRequest(400, f"/get_reward scores one response per query: this server judges {self.mode} items")
        n = len(parsed.query)
        self._sizes[id(request)] = n
        self._check_batch(n)
        for name, values in (("prompts", parsed.prompts), ("labels", parsed.labels)):
            if values is not None and len(values) != n:
                raise BadRequest(400, f"{name} has {len(values)} entries for {n} queries")
        failures: dict[int, Failure] = {}
        items: list[tuple[int, Item]] = []
        for i, query in enumerate(parsed.query):
            prompt = parsed.prompts[i] if parsed.prompts is not None else None
            try:
                prompt_text, response = split_query(query, prompt, self.serve.response_marker)
            except ValueError as exc:
                failures[i] = Failure(index=i, reason="split", message=str(exc))
                continue
            reference = label_text(parsed.labels[i]) if parsed.labels is not None else None
            items.append((i, Item(id=str(i), prompt=prompt_text, response=response, reference=reference)))
        refused = self._refuse(len(items))
        if refused is not None:
            return refused
        verdicts = await self._judge_items([item for _, item in items], uuid.uuid4().hex[:12])
        rewards: list[float | None] = [None] * n
        for (i, _), verdict in zip(items, verdicts, strict=True):
            reward = reward_of(verdict)
            if isinstance(reward, float | int):
                rewards[i] = float(reward)
            else:
                error = no_reward(verdict)
                failures[i] = Failure(index=i, reason=error.reason, message=error.message)
        splits = sum(f.reason == "split" for f in failures.values())  # the judged ones are counted already
        self.metrics.items["failed"] += splits
        self.metrics.failures["split"] += splits
        listed = [failures[i].model_dump() for i in sorted(failures)]
        if failures and self.serve.failure_reward is None:
            return _error(
                502,
                f"{len(failures)} of {n} queries got no reward (see failures); start the server with "
                "--failure-reward R to answer them with R instead",
                failures=listed,
            )
        values = [r if r is not None else float(self.serve.failure_reward or 0.0) for r in rewards]
        answer = {
            "rewards": values,
            "scores": values,
            "extra_logs": {"judge_failed": [float(i in failures) for i in range(n)]},
            "failures": listed,
        }
        return _json(200, answer)

    async def _health_handler(self, request: web.Request) -> web.Response:
        state = "draining" if self._draining else "ok"
        body = {
            "status": state,
            "mode": self.mode,
            "judge": self._judge.spec.fingerprint if self._judge is not None else None,
            "items_admitted": self._pending,
            "max_queue": self.serve.max_queue,
            "concurrency": self._concurrency,
        }
        return _json(503 if self._draining else 200, body)

    async def _metrics_handler(self, request: web.Request) -> web.Response:
        counts = self._backends.counts() if self._backends is not None else {}
        text = self.metrics.render(
            gauges={
                "items_in_flight": ("Items admitted: being judged or waiting for a slot.", self._pending),
                "requests_in_flight": ("Requests being answered.", self._requests),
                "queue_capacity": ("Items admitted at most at once (--max-queue).", self.serve.max_queue),
                "concurrency": ("Items judged at once.", self._concurrency),
            },
            counters={
                "backend_errors_total": ("Failed model calls, retried or not.", counts.get("errors", 0)),
                "backend_retries_total": ("Model calls retried.", counts.get("retries", 0)),
                "cache_hits_total": ("Model calls answered from the response cache.", counts.get("cache_hits", 0)),
            },
        )
        return web.Response(text=text, content_type="text/plain", charset="utf-8", headers={"X-Format": "0.0.4"})


async def aserve_judge(
    config: JudgeConfig | Mode = "pointwise",
    *,
    model: str | Backend = "local",
    strategy: StrategySpec | StrategyTree | str | Path | None = None,
    options: JobOptions | None = None,
    serve: ServeOptions | None = None,
    on_ready: Callable[[str], None] | None = None,
    log: Callable[[str], None] | None = None,
) -> dict[str, int]:
    """Serve the judge (`config` on `model`, wrapped as `strategy` says, reaching its models as `options` say) over
    HTTP as `serve` says, until SIGTERM or SIGINT (or cancellation), then stop gracefully. `on_ready(url)` is called
    once it listens. Returns what was judged: {"judged", "failed"}."""
    server = JudgeServer(config, model=model, strategy=strategy, options=options, serve=serve, log=log)
    await server.start()
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    # signals reach only the main thread's loop; elsewhere (a notebook's worker thread) cancellation stops it
    handled = threading.current_thread() is threading.main_thread()
    if handled:
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
    try:
        if on_ready is not None:
            on_ready(server.url)
        await stop.wait()
    finally:
        if handled:
            for signum in (signal.SIGINT, signal.SIGTERM):
                with contextlib.suppress(ValueError, RuntimeError):
                    loop.remove_signal_handler(signum)
        await server.stop()
    return server.counts()


serve_judge = sync_twin(aserve_judge)
