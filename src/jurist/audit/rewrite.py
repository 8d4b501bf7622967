"""Perturbations written by a model (`jurist audit --rewrite-model SPEC`).

CALM makes its biased variants by asking a strong model to rewrite a response (longer, more confident, with a
citation); a fixed wording is cruder but free and reproducible. With a rewriting model, each item of a probe that
has recipes (verbosity, authority, sentiment, distraction) gets the model's output for its variant's instruction.

Every output is recorded in AUDIT_DIR/rewrites.jsonl as it comes (the instruction, the text it changed, the
output, the model), so the audit shows exactly what the judge saw and a rerun reuses them. An item gets no
perturbation, and is counted as skipped with the reason, when the call fails (the error is recorded too, and the
call is made again on the next run), the output is empty or the response unchanged, it was cut off at the token
limit, a verbosity rewrite
is under 1.2 times the response it pads, a tone rewrite under half or over two and a half times the response, or
a citation is not one line starting "Source:". Never a silent fallback to the fixed wording.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..backends import Backend
from ..backends.base import GenerateRequest, Message
from ..errors import BackendError, ConfigError
from ..types import Item
from .probes import ChangeResponse, Probe, Recipe
from .textlog import append_log, ask, gather_all, read_log

REWRITES_FILE = "rewrites.jsonl"
# A first line that only announces the rewrite ("Sure! Here is the rewritten response:"): chat models add one.
_PREAMBLE = re.compile(
    r"\A\s*(?:sure|certainly|of course|okay|ok|here|below|rewritten|revised)\b[^\n]{0,100}:[ \t]*(?:\n+|\Z)", re.I
)
_FENCE = re.compile(r"\A```[^\n]*\n(?P<body>.*?)\n```\s*\Z", re.S)


def rewritable(probes: list[Probe]) -> list[ChangeResponse]:
    """The probes among `probes` that a rewriting model can write."""
    return [p for p in probes if isinstance(p, ChangeResponse) and p.recipes]


def check_rewritable(probes: list[Probe]) -> None:
    """Refuse a rewriting model when no chosen probe can use one (before any call)."""
    if not rewritable(probes):
        names = ", ".join(p.name for p in probes)
        raise ConfigError(
            f"--rewrite-model applies to the probes verbosity, authority, sentiment and distraction; "
            f"none of the probes asked for ({names}) is rewritten by a model: leave the option out or add one of them"
        )


def clean(text: str) -> str:
    """The rewrite without what a chat model wraps around it: a code fence, an announcing first line, quotes."""
    text = text.strip()
    fenced = _FENCE.match(text)
    if fenced:
        text = fenced["body"].strip()
    text = _PREAMBLE.sub("", text, count=1).strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "\"'" and text.count(text[0]) == 2:
        text = text[1:-1].strip()
    return text


def problem(output: str, source: str, recipe: Recipe, truncated: bool) -> str | None:
    """Why a rewrite cannot be used as the perturbation, or None when it can."""
    if not output:
        return "rewrite was empty"
    if truncated:
        return "rewrite was cut off at --rewrite-tokens"
    if output == source.strip():
        return "rewrite identical to the response"
    if recipe.ratio is not None and source:
        low, high = recipe.ratio
        if len(output) < low * len(source):
            return f"rewrite under {low:g} times the response's length"
        if len(output) > high * len(source):
            return f"rewrite over {high:g} times the response's length"
    if recipe.form is not None and re.fullmatch(recipe.form, output) is None:
        return "rewrite not in the form asked for"
    return None


async def rewrite_probes(
    probes: list[Probe],
    originals: dict[str, list[Item]],
    *,
    backend: Backend,
    rewriter: str,
    out: Path,
    seed: int,
    max_tokens: int,
    progress: Callable[[str], None],
) -> dict[str, Probe]:
    """The rewritable probes among `probes`, rebuilt with the rewriting model's output for each of their items
    (`originals`: the items each probe can use). Outputs are read from, and appended to, AUDIT_DIR/rewrites.jsonl."""
    path = out / REWRITES_FILE
    done = {r["key"]: r for r in read_log(path) if "output" in r}  # failed calls are logged, and asked again

    def key(instruction: str) -> str:
        text = json.dumps([backend.name, max_tokens, instruction])
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    jobs: list[tuple[ChangeResponse, Item, str, str, str]] = []  # probe, item, variant, instruction, source
    for probe in rewritable(probes):
        for item in originals.get(probe.name, []):
            variant, instruction, source = probe.rewrite_request(item, seed)
            jobs.append((probe, item, variant, instruction, source))
    todo = list({key(job[3]): job for job in jobs if key(job[3]) not in done}.values())
    progress(f"rewriting with {rewriter}: {len(todo)} of {len(jobs)} texts")
    limit = asyncio.Semaphore(max(1, backend.capabilities.max_concurrency))

    async def rewrite(job: tuple[ChangeResponse, Item, str, str, str]) -> None:
        probe, item, variant, instruction, source = job
        request = GenerateRequest(
            messages=(Message(role="user", content=instruction),), max_tokens=max_tokens, temperature=0.0, seed=seed
        )
        entry: dict[str, Any] = {
            "key": key(instruction),
            "probe": probe.name,
            "variant": variant,
            "id": item.id,
            "model": rewriter,
            "instruction": instruction,
            "source": source,
        }
        response = await ask(backend, request, limit)
        if isinstance(response, BackendError):
            append_log(path, {**entry, "error": str(response)})  # kept for the record; asked again next run
            return
        entry.update(raw=response.text, output=clean(response.text), truncated=response.finish_reason == "length")
        done[key(instruction)] = entry
        append_log(path, entry)

    await gather_all([rewrite(job) for job in todo])

    rebuilt: dict[str, Probe] = {}
    for probe in rewritable(probes):
        outputs: dict[str, str] = {}
        skips: dict[str, str] = {}
        for job_probe, item, variant, instruction, source in jobs:
            if job_probe is not probe:
                continue
            found = done.get(key(instruction))
            if found is None:
                skips[item.id] = "rewriting model failed"  # every other call came back, or a fatal error was raised
                continue
            output = str(found["output"])
            why = problem(output, source, probe.recipes[variant], bool(found.get("truncated")))
            if why is None:
                outputs[item.id] = output
            else:
                skips[item.id] = why
        rebuilt[probe.name] = probe.rewritten(rewriter, outputs, skips)
    return rebuilt
