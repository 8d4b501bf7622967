"""`jurist judge --engine ray`: the engine's judge run as a Ray Data pipeline.

    the items still to judge -> ray.data.from_items -> map_batches(JudgeWorker, ActorPoolStrategy(size=N))
    -> the driver writes each finished batch as a Parquet shard under RUN_DIR/shards/ (run/shards.py)

Each worker is an async actor that builds the same judge as `jurist judge` does (`judge_for` over its own
`Backends`: retries, rate limits, the response cache) from a picklable recipe, and judges each batch it is given
with the judge's own concurrency. The driver builds the judge too, for the run's header (config.json, with the
fingerprint) and the checks before any call; a worker whose judge has another fingerprint stops the run.

The run directory is the driver's: it holds the lock for the session, writes config.json and sessions.jsonl as
any run does, and writes the shards itself, so workers on other machines need no shared file system. A shard is
renamed into place whole, so kill -9 of the driver loses only the batches in flight; the next run reads the shards
(and verdicts.jsonl) like any resume and judges only the items without a verdict.

Rate limits: `--rpm` and `--tpm` are the whole run's budget, split evenly among the N workers (each gets rpm/N
and tpm/N); a worker does not hand an unused share to another.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import pickle
import socket
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, NamedTuple
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field

from ..api import RunResult, sync_twin
from ..data.load import LoadedData, load_data
from ..errors import ConfigError, JuristError
from ..extras import require
from ..judges import JudgeConfig
from ..judges.base import Judge, Preflight, judge_item
from ..run.engine import Backends, JobOptions, Limits, concurrency, run_header
from ..run.log import RunHeader, RunStore, SessionRecord
from ..run.runner import RunOutcome
from ..run.shards import clean_temporaries, next_session
from ..strategies.build import StrategySpec, judge_for
from ..strategies.tree import StrategyTree, load_strategy
from ..types import Item, Mode, Verdict

_CONNECT_TIMEOUT_S = 5.0
_RAY_CLIENT_PORT = 10001  # ray://HOST without a port
_GCS_PORT = 6379  # HOST without a port


class RayOptions(BaseModel):
    """Where and how wide the Ray pipeline runs. None of it changes a verdict."""

    address: str | None = Field(
        None,
        description="an existing cluster: HOST:PORT of its head (GCS), ray://HOST:PORT (Ray Client) or auto; "
        "None starts a local Ray for the run (or uses the one this process already started)",
    )
    num_workers: int = Field(2, ge=1, description="judging actors, each with its own backends and rate-limit share")
    batch_size: int | None = Field(
        None, ge=1, description="items per batch handed to a worker, and per shard; default 4x the judge's concurrency"
    )
    worker_cpus: float = Field(1.0, gt=0, description="logical CPUs each worker reserves on the cluster")


class RayRunOutcome(RunOutcome):
    """What a Ray session did, with the verdicts each worker (actor) produced."""

    workers: dict[str, int] = Field(default_factory=dict)
    shards: int = 0


class _Recipe(BaseModel):
    """What a worker needs to build the driver's judge: sent to every actor (pickled by Ray)."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    config: JudgeConfig
    strategy: StrategySpec | StrategyTree | None
    model: str
    options: JobOptions


def share(limits: Limits, workers: int) -> Limits:
    """One worker's part of the run's rate limits: rpm and tpm split evenly among `workers`."""
    return limits.model_copy(
        update={
            "rpm": None if limits.rpm is None else limits.rpm / workers,
            "tpm": None if limits.tpm is None else limits.tpm / workers,
        }
    )


class JudgeWorker:
    """A Ray Data actor: builds the judge once (on its first batch, inside the actor's event loop) and judges each
    batch of items with the judge's concurrency. Input column `item` (Item JSON); output `verdict` (Verdict JSON)
    and `worker` (which actor)."""

    def __init__(self, recipe: _Recipe, fingerprint: str) -> None:
        self.recipe = recipe
        self.fingerprint = fingerprint
        self.name = f"{socket.gethostname()}:{os.getpid()}"
        self.backends: Backends | None = None
        self.judge: Judge | None = None
        self.slots: asyncio.Semaphore | None = None

    def _build(self) -> tuple[Judge, asyncio.Semaphore]:
        if self.judge is None or self.slots is None:
            recipe = self.recipe
            self.backends = Backends(recipe.options)
            judge = judge_for(recipe.config, recipe.strategy, recipe.model, self.backends.get)
            if judge.spec.fingerprint != self.fingerprint:
                raise ConfigError(
                    f"a Ray worker built another judge than the driver (fingerprint {judge.spec.fingerprint} != "
                    f"{self.fingerprint}): install the same jurist version, templates and rubrics on every node"
                )
            self.judge = judge
            self.slots = asyncio.Semaphore(concurrency(judge, self.backends, recipe.options))
        return self.judge, self.slots

    async def __call__(self, batch: dict[str, Any]) -> dict[str, list[str]]:
        texts = [str(text) for text in batch["item"]]
        try:
            judge, slots = self._build()
        except JuristError as exc:
            return {
                "verdict": [""] * len(texts),
                "worker": [self.name] * len(texts),
                "fatal": [_pickled(exc)] * len(texts),
            }

        async def one(text: str) -> tuple[str, str]:
            async with slots:
                try:
                    return (await judge_item(judge, Item.model_validate_json(text))).model_dump_json(), ""
                except JuristError as exc:  # a fatal backend error (a bad key): the driver stops the run with it
                    return "", _pickled(exc)

        done = await asyncio.gather(*(one(text) for text in texts))
        return {
            "verdict": [verdict for verdict, _ in done],
            "worker": [self.name] * len(done),
            "fatal": [fatal for _, fatal in done],
        }


def _pickled(exc: JuristError) -> str:
    # Ray hands the driver a worker's exception without its cause, so the error travels as data, to be raised there
    return pickle.dumps(exc).hex()


def check_address(address: str) -> None:
    """Fail fast, with one line, when the cluster's head cannot be reached (ray.init would wait for it)."""
    if address in ("auto", "local"):
        return
    parts = urlsplit(address if "://" in address else f"tcp://{address}")
    try:
        host = parts.hostname
        port = parts.port or (_RAY_CLIENT_PORT if parts.scheme == "ray" else _GCS_PORT)
    except ValueError:  # a port that is not a number
        host = None
    if not host:
        raise ConfigError(f"--ray-address {address!r} is not HOST:PORT, ray://HOST:PORT or auto")
    try:
        with socket.create_connection((host, port), timeout=_CONNECT_TIMEOUT_S):
            pass
    except OSError as exc:
        raise ConfigError(
            f"cannot reach the Ray cluster at {address} ({host}:{port}: {exc.strerror or exc}); start it "
            "(`ray start --head` on the head node), check --ray-address, or leave it out to start a local Ray"
        ) from None


@contextlib.contextmanager
def ray_session(ray_options: RayOptions) -> Iterator[Any]:
    """The `ray` module, connected: to `ray_options.address`, to the Ray this process already runs, or to a local
    Ray started now (quiet, no dashboard) and shut down at the end."""
    ray = require("ray", "--engine ray")
    require("ray.data", "--engine ray")  # ray without its [data] part
    for name in ("ray", "ray.data"):  # Ray's INFO lines would bury the progress bar
        logging.getLogger(name).setLevel(logging.WARNING)
    # notices about what we chose: a local cluster's default token auth, and no progress bars of Ray's own
    for name in ("ray._private.authentication", "ray.data._internal.progress"):
        logging.getLogger(name).setLevel(logging.ERROR)
    if ray.is_initialized():
        yield ray
        return
    quiet = {"include_dashboard": False, "log_to_driver": False, "logging_level": logging.WARNING}
    try:
        if ray_options.address is None:
            cpus = int(ray_options.num_workers * ray_options.worker_cpus) + 1  # the workers, and Ray Data's reads
            ray.init(num_cpus=cpus, **quiet)
        else:
            ray.init(address=ray_options.address, **quiet)
    except (OSError, RuntimeError, ValueError, ImportError) as exc:  # ImportError: ray:// without ray[client]
        where = f" at {ray_options.address}" if ray_options.address else ""
        raise ConfigError(f"cannot start Ray{where}: {exc}") from None
    try:
        yield ray
    finally:
        ray.shutdown()


class _Finished(NamedTuple):
    """A batch back from a worker."""

    verdicts: list[Verdict]
    workers: list[str]  # which worker made each verdict
    fatal: JuristError | None  # what stopped a worker's judge, if anything did


def _batches(
    ray: Any, todo: Sequence[Item], recipe: _Recipe, fingerprint: str, ray_options: RayOptions, batch_size: int
) -> Iterator[_Finished]:
    """The pipeline: each finished batch, as they come."""
    context = ray.data.DataContext.get_current()
    context.enable_progress_bars = False
    context.print_on_execution_start = False
    rows = [{"item": item.model_dump_json()} for item in todo]
    blocks = max(1, min(len(rows) // batch_size, 10 * ray_options.num_workers))
    dataset = ray.data.from_items(rows, override_num_blocks=blocks).map_batches(
        JudgeWorker,
        fn_constructor_args=(recipe, fingerprint),
        batch_size=batch_size,
        batch_format="numpy",
        compute=ray.data.ActorPoolStrategy(size=ray_options.num_workers),
        num_cpus=ray_options.worker_cpus,
    )
    for batch in dataset.iter_batches(batch_size=None, batch_format="numpy"):
        made = [
            (str(text), str(worker)) for text, worker in zip(batch["verdict"], batch["worker"], strict=True) if text
        ]
        fatal = next((str(f) for f in batch["fatal"] if f), None)
        yield _Finished(
            [Verdict.model_validate_json(text) for text, _ in made],
            [worker for _, worker in made],
            None if fatal is None else pickle.loads(bytes.fromhex(fatal)),  # from our own workers
        )


async def _run_session(
    loaded: LoadedData,
    out: Path,
    options: JobOptions,
    recipe: _Recipe,
    ray_options: RayOptions,
    per_worker: int,
    header: RunHeader,
    on_start: Callable[[int, int], None] | None,
    on_verdict: Callable[[Verdict], None] | None,
) -> RayRunOutcome:
    """One session on Ray, holding the run directory: the items without a verdict (verdicts.jsonl and the shards,
    as any resume) are judged, each finished batch written as a shard, and the session logged however it ends."""
    store = RunStore(out, fsync=options.run.fsync)
    previous = store.open(header, overwrite=options.run.overwrite)
    retry = options.run.retry_failed
    todo = [it for it in loaded.items if not previous.done(it, retry_failed=retry)]
    skipped = len(loaded.items) - len(todo)
    session = next_session(out)
    clean_temporaries(out)
    judged = failed = shards = 0
    workers: Counter[str] = Counter()
    started, t0 = time.time(), time.perf_counter()
    interrupted = False
    try:
        if on_start:
            on_start(len(loaded.items), skipped)
        if todo:
            with ray_session(ray_options) as ray:
                batch_size = ray_options.batch_size or 4 * per_worker
                for batch in _batches(ray, todo, recipe, header.fingerprint or "", ray_options, batch_size):
                    if batch.verdicts:
                        store.write_shard(session, shards, batch.verdicts)
                        shards += 1
                    workers.update(batch.workers)
                    for verdict in batch.verdicts:
                        judged += 1
                        failed += verdict.error is not None
                        if on_verdict:
                            on_verdict(verdict)
                    if batch.fatal is not None:
                        raise batch.fatal from None  # as the worker raised it, not inside Ray's frames
                    await asyncio.sleep(0)  # where Ctrl-C (a cancellation) reaches the session
    except BaseException:
        interrupted = True
        raise
    finally:
        wall = time.perf_counter() - t0
        record = SessionRecord(
            started=started,
            wall_s=wall,
            judged=judged,
            failed=failed,
            skipped=skipped,
            interrupted=interrupted,
            concurrency=per_worker * ray_options.num_workers,  # items in flight over all the workers
        )
        store.close(record)
    return RayRunOutcome(
        out=out,
        total=len(loaded.items),
        skipped=skipped,
        judged=judged,
        failed=failed,
        wall_s=wall,
        workers=dict(workers),
        shards=shards,
    )


async def ajudge_ray(
    data: str | Path | LoadedData | Sequence[Item | dict[str, Any]],
    *,
    out: str | Path,
    config: JudgeConfig | Mode,
    model: str = "local",
    strategy: StrategySpec | StrategyTree | str | Path | None = None,
    options: JobOptions | None = None,
    ray: RayOptions | None = None,
    field_map: dict[str, str] | None = None,
    label_map: dict[str, str] | None = None,
    on_start: Callable[[int, int], None] | None = None,
    on_verdict: Callable[[Verdict], None] | None = None,
) -> RunResult:
    """Judge every item of `data` into the run directory `out` on Ray, resuming it: the judge that `ajudge` builds
    from `config`, `model` and `strategy`, run by `ray.num_workers` actors. The verdicts are the same records, in
    Parquet shards under `out`/shards/; every reader of a run (`read_run`: show, export, meta-eval, report) reads
    them. `options.limits` (rpm, tpm) is the whole run's budget, split evenly among the workers. The result's
    `outcome` is a RayRunOutcome (with the verdicts per worker)."""
    options = options or JobOptions()
    ray_options = ray or RayOptions()
    if options.batch is not None:
        raise ConfigError("--engine ray and --batch do not go together: a provider's batch API needs no cluster")
    if options.run.wait:
        raise ConfigError("--wait is not supported with --engine ray: run it when the other process is done")
    if not isinstance(model, str):
        raise ConfigError("--engine ray builds the judge on every worker: give model= as a spec such as 'openai:m'")
    require("ray", "--engine ray")  # before the data is read
    if ray_options.address is not None:
        check_address(ray_options.address)
    if isinstance(strategy, str | Path):
        strategy = load_strategy(strategy)
    config = config if isinstance(config, JudgeConfig) else JudgeConfig(mode=config)
    loaded = load_data(data, config.mode, field_map, label_map)
    recipe = _Recipe(
        config=config,
        strategy=strategy,
        model=model,
        options=options.model_copy(update={"limits": share(options.limits, ray_options.num_workers)}),
    )
    async with Backends(options) as backends:  # the driver's judge, for the header and the checks: it calls nothing
        judge = judge_for(config, strategy, model, backends.get)
        if isinstance(judge, Preflight):
            judge.check_data(loaded)
        header = run_header(judge, loaded, {"engine": "ray"})
        per_worker = concurrency(judge, backends, options)
    outcome = await _run_session(
        loaded, Path(out), options, recipe, ray_options, per_worker, header, on_start, on_verdict
    )
    return RunResult(out, outcome)


judge_ray = sync_twin(ajudge_ray)
