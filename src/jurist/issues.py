"""Qualitative error analysis (`jurist issues`): the issues a run's rationales name, grouped into named issue types.

Three steps over a judged run, each through the engine's backends (so the response cache makes a second run free
and the same): the model lists the specific issues of each chosen item's rationale (a JSON list of short
statements, templates/issues.toml); the issues are embedded and grouped by leader clustering in an order shuffled
by the seed; the model names each type from some of its issues (one call per type). The report counts what
failed: items without a rationale, extractions that could not be read, types the model did not name.
"""

from __future__ import annotations

import asyncio
import html
import json
import re
from pathlib import Path
from typing import Literal

import numpy as np
from pydantic import BaseModel, Field

from .api import sync_twin
from .backends.base import Backend, GenerateRequest, Message
from .embeddings import Embedder, make_embedder
from .errors import ConfigError, InputError
from .files import write_atomic
from .outcomes import Preference, Score
from .prompts import prompt_set
from .run.engine import Backends, JobOptions
from .run.log import VERDICTS_FILE, read_run
from .types import Verdict

Which = Literal["bad", "all"]
REPORT_JSON = "issues.json"
REPORT_MD = "issues.md"


class IssuesOptions(BaseModel):
    """What to analyse and how to group it."""

    which: Which = "bad"
    # pointwise: a score below this is bad; None: below the run's median score
    below: float | None = None
    seed: int = Field(0, description="the order issues are clustered in, and the models' sampling seed")
    max_types: int = Field(8, ge=1)
    # cosine similarity to a type's centre at which an issue joins it rather than starting a new type
    similarity: float = Field(0.8, ge=-1.0, le=1.0)
    examples: int = Field(3, ge=1, description="example items per type in the report")


class IssueExample(BaseModel):
    id: str
    quote: str


class IssueType(BaseModel):
    name: str
    named_by_model: bool  # False: the model's name was unreadable, so the type is named by its first issue
    issues: int
    items: int  # distinct items with an issue of this type
    share: float  # items / the report's `analysed`
    examples: list[IssueExample]


class IssueReport(BaseModel):
    run: str
    model: str
    embeddings: str
    options: IssuesOptions
    verdicts: int  # the run's current verdicts
    selected: int  # of them, chosen by `which` (errored verdicts never are)
    no_rationale: int  # chosen but without a rationale: not analysed
    unreadable: int  # the extraction failed (a failed call, or an answer that is no list): not analysed
    analysed: int  # items whose issues were read (possibly none)
    without_issues: int  # analysed items the model found no issue in
    issues: int
    names_failed: int
    types: list[IssueType]


def select(verdicts: list[Verdict], which: Which, below: float | None) -> tuple[list[Verdict], float | None]:
    """The verdicts to analyse, and the pointwise threshold used. `bad`: flagged items, pointwise scores below
    `below` (default: the run's median score), and pairwise items with a winner (the rationale explains what is
    wrong with the losing side); listwise items always. Errored verdicts are never chosen."""
    judged = [v for v in verdicts if v.error is None and v.outcome is not None]
    if which == "all":
        return judged, below
    scores = [value for v in judged if isinstance(v.outcome, Score) and (value := v.outcome.value()) is not None]
    if below is None and scores:
        below = float(np.median(scores))

    def bad(verdict: Verdict) -> bool:
        outcome = verdict.outcome
        if verdict.flagged:
            return True
        if isinstance(outcome, Score):
            value = outcome.value()
            return value is not None and below is not None and value < below
        if isinstance(outcome, Preference):
            return outcome.decision() in ("A", "B")
        return True

    return [v for v in judged if bad(v)], below


def parse_issues(text: str) -> list[str] | None:
    """The issues of an extraction answer: a JSON list of strings, else "- " or "1." lines; None if neither."""
    start, end = text.find("["), text.rfind("]")
    if 0 <= start < end:
        try:
            value = json.loads(text[start : end + 1])
        except json.JSONDecodeError:
            value = None
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            return [" ".join(v.split()) for v in value if v.strip()]
    bullets = [m.group(1).strip() for m in re.finditer(r"^\s*(?:[-*•]|\d+[.)])\s+(.+)$", text, re.MULTILINE)]
    return bullets or None


def parse_name(text: str) -> str | None:
    """A type's name from the model's answer: its first non-empty line, without a bullet, quotes, markup or a
    "Name:"."""
    for line in text.splitlines():
        name = re.sub(r"^\s*(?:[-*•]\s+)?(?:name\s*:)?", "", line, flags=re.IGNORECASE).strip(" \t\"'*#`.")
        if name:
            return name[:80]
    return None


def cluster(vectors: np.ndarray, *, similarity: float, max_types: int, seed: int) -> list[int]:
    """A type per row of L2-normalised `vectors`, numbered by size (0 the largest). Leader clustering in an order
    shuffled by `seed`: a row joins the type whose mean direction is closest when the cosine is at least
    `similarity`, else starts one; beyond `max_types`, the smaller types' rows go to the closest kept type."""
    order = np.random.default_rng(seed).permutation(len(vectors))
    sums: list[np.ndarray] = []
    members: list[list[int]] = []

    def centres(keep: list[int]) -> np.ndarray:
        stacked = np.stack([sums[k] for k in keep])
        return stacked / np.maximum(np.linalg.norm(stacked, axis=1, keepdims=True), 1e-12)

    for row in order:
        vector = vectors[row]
        if sums:
            cosines = centres(list(range(len(sums)))) @ vector
            best = int(np.argmax(cosines))
            if cosines[best] >= similarity:
                sums[best] = sums[best] + vector
                members[best].append(int(row))
                continue
        sums.append(vector.astype(np.float64))
        members.append([int(row)])
    # the largest first; equal sizes by their first row, so the numbering depends on the seed's order only
    ranked = sorted(range(len(members)), key=lambda k: (-len(members[k]), min(members[k])))
    kept = ranked[:max_types]
    labels = [0] * len(vectors)
    for rank, k in enumerate(kept):
        for row in members[k]:
            labels[row] = rank
    if len(ranked) > max_types:
        kept_centres = centres(kept)
        for k in ranked[max_types:]:
            for row in members[k]:
                labels[row] = int(np.argmax(kept_centres @ vectors[row]))
    return labels


async def _ask(backend: Backend, prompt: str, seed: int, limit: asyncio.Semaphore, max_tokens: int) -> str | None:
    request = GenerateRequest(
        messages=(Message(role="user", content=prompt),), max_tokens=max_tokens, temperature=0.0, seed=seed
    )
    async with limit:
        try:
            return (await backend.generate(request)).text
        except Exception:  # a call that failed after the backend's retries: counted by the caller, not fatal
            return None


async def aanalyse_issues(
    run_dir: str | Path,
    out: str | Path,
    options: IssuesOptions | None = None,
    *,
    model: str | Backend = "local",
    embeddings: str | Embedder = "local",
    job: JobOptions | None = None,
) -> IssueReport:
    """Extract, group and name the issues of `run_dir`'s chosen items, and write `out`/issues.json and issues.md.

    `model` (a spec or a backend) extracts and names; `embeddings` (`local`, `gguf:PATH` or an Embedder) groups.
    Calls go through the engine's backends with `job`'s retries and response cache, at temperature 0 with
    `options.seed`: the same run, seed and cache give the same report."""
    options = options or IssuesOptions()
    run_dir = Path(run_dir)
    log = read_run(run_dir)
    chosen, below = select(log.verdicts, options.which, options.below)
    with_rationale = [v for v in chosen if v.rationale and v.rationale.strip()]
    if chosen and not with_rationale:
        raise InputError(
            f"{run_dir / VERDICTS_FILE}: none of the {len(chosen)} chosen verdicts has a rationale; judge again with "
            "rationales on (e.g. `jurist judge ... --rationale after`)"
        )
    prompts = prompt_set("issues")
    embedder = make_embedder(embeddings) if isinstance(embeddings, str) else embeddings
    async with Backends(job or JobOptions()) as backends:
        backend = backends.get(model)
        limit = asyncio.Semaphore(max(1, backend.capabilities.max_concurrency))
        answers = await asyncio.gather(
            *(
                _ask(backend, prompts.render("extract", rationale=v.rationale), options.seed, limit, 256)
                for v in with_rationale
            )
        )
        found: list[tuple[str, str]] = []  # (item id, issue), in the run's order
        unreadable = without = 0
        for verdict, answer in zip(with_rationale, answers, strict=True):
            issues = None if answer is None else parse_issues(answer)
            if issues is None:
                unreadable += 1
            elif not issues:
                without += 1
            found.extend((verdict.id, issue) for issue in issues or [])
        labels: list[int] = []
        if found:
            vectors = np.asarray(embedder.embed([issue for _, issue in found]), dtype=np.float64)
            vectors /= np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
            labels = cluster(vectors, similarity=options.similarity, max_types=options.max_types, seed=options.seed)
        groups: dict[int, list[tuple[str, str]]] = {}
        for label, pair in zip(labels, found, strict=True):
            groups.setdefault(label, []).append(pair)
        ordered = [groups[k] for k in sorted(groups)]
        named = await asyncio.gather(
            *(
                _ask(
                    backend,
                    prompts.render("name", issues="\n".join(f"- {i}" for i in dict.fromkeys(i for _, i in g[:8]))),
                    options.seed,
                    limit,
                    32,
                )
                for g in ordered
            )
        )
    analysed = len(with_rationale) - unreadable
    types: list[IssueType] = []
    names_failed = 0
    for group, answer in zip(ordered, named, strict=True):
        name = None if answer is None else parse_name(answer)
        names_failed += name is None
        items = list(dict.fromkeys(item for item, _ in group))
        examples = [IssueExample(id=item, quote=next(q for i, q in group if i == item)) for item in items]
        types.append(
            IssueType(
                name=name or group[0][1][:80],
                named_by_model=name is not None,
                issues=len(group),
                items=len(items),
                share=len(items) / analysed if analysed else 0.0,
                examples=examples[: options.examples],
            )
        )
    types.sort(key=lambda t: (-t.items, -t.issues))
    report = IssueReport(
        run=str(run_dir),
        model=model if isinstance(model, str) else str(getattr(model, "name", type(model).__name__)),
        embeddings=embedder.name,
        options=options.model_copy(update={"below": below}),
        verdicts=len(log.verdicts),
        selected=len(chosen),
        no_rationale=len(chosen) - len(with_rationale),
        unreadable=unreadable,
        analysed=analysed,
        without_issues=without,
        issues=len(found),
        names_failed=names_failed,
        types=types,
    )
    write_report(report, Path(out))
    return report


analyse_issues = sync_twin(aanalyse_issues)


def _cell(text: str) -> str:
    """Model text in a Markdown table cell: HTML-escaped, with Markdown's markup and line breaks neutralised."""
    text = html.escape(" ".join(text.split()))
    return re.sub(r"([\\`*_\[\]|#~])", r"\\\1", text)


def render_markdown(report: IssueReport) -> str:
    o = report.options
    lines = [
        f"# Issue types of {_cell(report.run)}",
        "",
        f"Items chosen: {report.selected} of {report.verdicts} ({o.which}"
        + (f", pointwise scores below {o.below:g}" if o.which == "bad" and o.below is not None else "")
        + f"); analysed {report.analysed}; without a rationale {report.no_rationale}; extraction unreadable "
        f"{report.unreadable}; no issue found {report.without_issues}; issues {report.issues}; types not named by "
        f"the model {report.names_failed}. Model {_cell(report.model)}, embeddings {_cell(report.embeddings)}, "
        f"seed {o.seed}, similarity {o.similarity:g}, at most {o.max_types} types.",
        "",
        "| Issue type | Items | Share of analysed items | Issues | Examples |",
        "|---|---:|---:|---:|---|",
    ]
    for t in report.types:
        examples = "<br>".join(f"{_cell(e.id)}: {_cell(e.quote)}" for e in t.examples)
        lines.append(f"| {_cell(t.name)} | {t.items} | {t.share:.0%} | {t.issues} | {examples} |")
    return "\n".join(lines) + "\n"


def write_report(report: IssueReport, out: Path) -> None:
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"--out {out}: cannot create the directory: {exc.strerror}") from None
    write_atomic(out / REPORT_JSON, report.model_dump_json(indent=2) + "\n")
    write_atomic(out / REPORT_MD, render_markdown(report))
