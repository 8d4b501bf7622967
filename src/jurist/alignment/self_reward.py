"""One step of self-rewarding (Yuan et al. 2024, `jurist self-reward`): a policy model samples K answers per prompt,
a judge scores each answer pointwise through the engine, and each prompt's best and worst answers become a DPO
pair, written by the same code as `jurist pairs`.

OUT holds:
  generations.jsonl   one record per answer, appended as each arrives: the prompt's id, the sample's number, the
                      seed and temperature it was drawn with, the policy, the text and its usage. A rerun reads
                      them back and asks only for the missing ones (a line torn by a kill is cut and asked again).
                      Records drawn with other settings (policy, temperature, answer length, seeds) are kept in the
                      file but not reused.
  judge/              the judge's run directory (resumed like every run): one pointwise item per answer,
                      `{id}#{k}`, with `prompt_id`, `sample` and `seed` in its metadata
  pairs.jsonl         the pairs (and pairs.report.json, what the filters kept and dropped), rewritten each run

Sample k of every prompt is drawn with seed `seed + k`: the answers differ by seed (and temperature > 0), and the
same command draws the same answers again where the server honours seeds.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from .. import files
from ..api import sync_twin
from ..audit.textlog import append_log, ask, gather_all
from ..backends import Backend, BackendOptions
from ..backends.base import GenerateRequest, Message
from ..data.load import LoadedData, load_data
from ..errors import BackendError, ConfigError
from ..judges import JudgeConfig, make_judge
from ..run.engine import Backends, JobOptions, run
from ..run.runner import RunOutcome
from ..types import Item, Usage, Verdict
from .pairs import PairFilters, PairFormat, PairSet, build_pairs

GENERATIONS_FILE = "generations.jsonl"
JUDGE_DIR = "judge"
PAIRS_FILE = "pairs.jsonl"
GROUP_FIELD = "prompt_id"  # the metadata field that groups a prompt's answers in the judge's run


class Sampling(BaseModel):
    """How the policy answers: K samples per prompt, drawn at `temperature` with seeds `seed`, `seed + 1`, ...; the
    policy's server when it is not the judge's (`backend`)."""

    model_config = ConfigDict(extra="forbid")

    samples: int = Field(4, ge=2)
    temperature: float = Field(0.8, gt=0.0)
    max_tokens: int = Field(512, ge=1)
    seed: int = 0
    backend: BackendOptions | None = None


class Generation(BaseModel):
    """One line of generations.jsonl."""

    id: str  # the prompt's item id
    sample: int
    seed: int
    temperature: float
    max_tokens: int
    policy: str  # the policy backend's name
    settings: str  # a hash of the policy spec and the sampling settings: only matching records are reused
    text: str
    usage: Usage = Usage()
    latency_s: float = 0.0


class SelfRewardResult(BaseModel):
    """What a self-reward step did: its folder, the answers (made now and read back), the judge's session, the
    pairs."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    out: Path
    prompts: int
    generated: int  # answers drawn in this session
    reused: int  # answers read back from generations.jsonl
    failed: int  # answers the policy failed to give this session (asked again by the next run)
    judge_run: RunOutcome | None = None
    pairs: PairSet


def load_prompts(
    data: str | Path | LoadedData | Sequence[Item | dict[str, Any]], field_map: dict[str, str] | None
) -> LoadedData:
    """The prompts to answer, with the loader's checks (ids, texts, conversations). The loader knows judging modes
    only, and a pointwise item needs a response: the prompt's column stands in for it, and is dropped again."""
    if isinstance(data, LoadedData):
        return data
    field_map = dict(field_map or {})
    stand_in = {**field_map, "response": field_map.get("prompt", "prompt")}
    loaded = load_data(data, "pointwise", stand_in)
    items = [item.model_copy(update={"response": None}) for item in loaded.items]
    return dataclasses.replace(loaded, items=items, field_map=field_map)


def _settings_key(policy: str, sampling: Sampling) -> str:
    payload = {"policy": policy, **sampling.model_dump(exclude={"samples", "backend"})}
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:16]


def read_generations(path: Path, settings: str) -> dict[tuple[str, int], Generation]:
    """The answers recorded with these settings, by (prompt id, sample); the first record of each wins. A torn last
    line (a kill while it was written) is cut off, so that the next answer starts a line of its own; a damaged line
    elsewhere is skipped, and its answer asked for again."""
    log = files.read_log(path, json.loads)
    files.cut_torn_tail(path, log.end)
    found: dict[tuple[str, int], Generation] = {}
    for record in log.records:
        try:
            generation = Generation.model_validate(record)
        except ValidationError:
            continue
        if generation.settings == settings:
            found.setdefault((generation.id, generation.sample), generation)
    return found


async def aself_reward(
    data: str | Path | LoadedData | Sequence[Item | dict[str, Any]],
    *,
    out: str | Path,
    policy: str | Backend,
    judge: str | Backend = "local",
    samples: int = 4,
    sampling: Sampling | None = None,
    config: JudgeConfig | None = None,
    options: JobOptions | None = None,
    format: PairFormat = "standard",
    filters: PairFilters | None = None,
    field_map: dict[str, str] | None = None,
    on_generation: Callable[[Generation | BackendError], None] | None = None,
    on_start: Callable[[int, int], None] | None = None,
    on_verdict: Callable[[Verdict], None] | None = None,
) -> SelfRewardResult:
    """One self-rewarding step over the prompts of `data` into the folder `out` (resumed if it exists; see the
    module): `policy` samples `samples` answers per prompt (`sampling` says how; its `samples` wins over the
    argument when given), the `judge` scores each pointwise with `config` (default: the pointwise defaults), and
    each prompt's best and worst answers become a pair in `format`, kept by `filters` (ties dropped). `options`:
    the job's retries, rate limits, cache and concurrency, for both models. `on_generation` gets each answer (or
    the error of one that failed), `on_start`/`on_verdict` report the judging."""
    sampling = sampling or Sampling(samples=samples)
    config = config or JudgeConfig(mode="pointwise")
    if config.mode != "pointwise":
        raise ConfigError(
            f"the self-reward judge scores each answer on its own: its mode is pointwise, not {config.mode}"
        )
    options = options or JobOptions()
    prompts = load_prompts(data, field_map)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    log = out / GENERATIONS_FILE
    async with Backends(options) as backends:
        policy_backend = backends.get(policy, backend_options=sampling.backend)
        settings = _settings_key(policy if isinstance(policy, str) else policy.name, sampling)
        done = read_generations(log, settings)
        reused = sum((item.id, k) in done for item in prompts.items for k in range(sampling.samples))
        missing = [(item, k) for item in prompts.items for k in range(sampling.samples) if (item.id, k) not in done]
        limit = asyncio.Semaphore(options.run.concurrency or policy_backend.capabilities.max_concurrency)
        failures: list[BackendError] = []

        async def draw(item: Item, k: int) -> None:
            seed = sampling.seed + k
            turns = [Message(role=t.role, content=t.content) for t in item.turns or []]
            request = GenerateRequest(
                messages=(*turns, Message(role="user", content=item.prompt)),
                max_tokens=sampling.max_tokens,
                temperature=sampling.temperature,
                seed=seed,
            )
            answer = await ask(policy_backend, request, limit)
            if isinstance(answer, BackendError):
                failures.append(answer)
                if on_generation is not None:
                    on_generation(answer)
                return
            generation = Generation(
                id=item.id,
                sample=k,
                seed=seed,
                temperature=sampling.temperature,
                max_tokens=sampling.max_tokens,
                policy=policy_backend.name,
                settings=settings,
                text=answer.text,
                usage=answer.usage,
                latency_s=answer.latency_s,
            )
            append_log(log, generation.model_dump(mode="json"))
            done[(item.id, k)] = generation
            if on_generation is not None:
                on_generation(generation)

        await gather_all([draw(item, k) for item, k in missing])
        answers = _answer_items(prompts, done, sampling.samples)
        outcome = await run(
            lambda b: make_judge(b.get(judge), config),
            answers,
            out / JUDGE_DIR,
            options,
            backends=backends,
            on_start=on_start,
            on_verdict=on_verdict,
        )
    pairs = build_pairs(
        out / JUDGE_DIR, out / PAIRS_FILE, format=format, filters=filters, group_by=GROUP_FIELD, force=True
    )
    return SelfRewardResult(
        out=out,
        prompts=len(prompts.items),
        generated=len(missing) - len(failures),
        reused=reused,
        failed=len(failures),
        judge_run=outcome,
        pairs=pairs,
    )


self_reward = sync_twin(aself_reward)


def _answer_items(prompts: LoadedData, done: dict[tuple[str, int], Generation], samples: int) -> LoadedData:
    """The judge's items: one per answer, `{id}#{k}`, grouped back by the prompt's id in metadata."""
    items = []
    for item in prompts.items:
        for k in range(samples):
            generation = done.get((item.id, k))
            if generation is None:
                continue  # the policy failed on it: the next run asks again
            items.append(
                Item(
                    id=f"{item.id}#{k}",
                    prompt=item.prompt,
                    response=generation.text,
                    reference=item.reference,
                    turns=item.turns,
                    metadata={**item.metadata, GROUP_FIELD: item.id, "sample": k, "seed": generation.seed},
                )
            )
    if not items:
        raise ConfigError("the policy gave no answer to judge: every generation failed (see the errors above)")
    return dataclasses.replace(prompts, items=items, lines={}, label_decoding={}, warnings=[])
