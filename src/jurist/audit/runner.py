"""Running an audit: judge the original and perturbed items of every probe, under the judge as configured and
under each requested mitigation, into sub-run directories of AUDIT_DIR, then score them into a report.

AUDIT_DIR layout:
  manifest.json                  the audit's nonce (delimit) and seed, reused when the audit is run again
  runs/<mitigation>/original     the original items (one run directory each, as `jurist judge` makes)
  runs/<mitigation>/<probe>      the probe's perturbed items (<probe>-rewritten when a rewriting model wrote them)
  self_preference_answers.jsonl  the judge model's own answers (self_preference probe), appended as written
  rewrites.jsonl                 a rewriting model's outputs (--rewrite-model), appended as written
  length_rules.txt               the rules of the length mitigation
  audit.json, audit.txt          the report

Every sub-run is an ordinary, resumable run directory: run the same audit again after a crash and only the
missing verdicts are judged. Arms that differ only by the detector share their runs (the detector reads verdicts).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import secrets
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from .._version import __version__
from ..api import renamed, split_options, sync_twin
from ..backends import Backend, BackendOptions
from ..backends.base import GenerateRequest, Message
from ..data.load import LoadedData, load_data, select_items
from ..errors import BackendError, ConfigError, InputError
from ..judges import JudgeConfig
from ..prompts import prompt_set
from ..run.engine import Backends, JobOptions, run
from ..run.log import read_run
from ..run.resilience import ResilientBackend
from ..types import Item, Mode, Verdict
from .length_control import MIN_PAIRS, LengthFit, fit_length
from .mitigations import (
    MITIGATIONS,
    Arm,
    applies,
    arm_judge,
    arm_name,
    judging_part,
    parse_arms,
    write_length_rules,
)
from .probes import ChangeResponse, Expectation, Probe, SelfPreference, select_probes, side_config
from .report import AuditReport, Pair, detector_stats, score_probe
from .rewrite import check_rewritable, rewrite_probes
from .textlog import append_log, ask, gather_all, read_log

Progress = Callable[[str], None]


class AuditOptions(BaseModel):
    """What to audit and how (the judge itself is given as a JudgeConfig)."""

    probes: list[str] | None = Field(None, description="probe names; None = all for the mode, bar on-request ones")
    mitigations: list[str] = Field(default_factory=list, description="mitigation names, several joined by '+'")
    seed: int = Field(0, description="picks each item's wording variant, and seeds the bootstrap")
    n_resamples: int = Field(1000, ge=1, description="bootstrap resamples per interval")
    examples: int = Field(5, ge=0, description="example flips kept per probe and mitigation")
    limit: int | None = Field(None, ge=1, description="audit only the first N items")
    answer_tokens: int = Field(256, ge=1, description="length of the judge model's own answers")
    rewrite_model: str | None = Field(
        None, description="a model that writes the verbosity, authority, sentiment and distraction perturbations"
    )
    rewrite_tokens: int = Field(512, ge=1, description="the rewriting model's answer length")
    # deprecated: give the job's options as aaudit's `options=`, as every command takes them
    job: JobOptions = Field(default_factory=JobOptions, description="deprecated: aaudit's options= instead")


class _Plan:
    """A probe's items: the usable originals, their perturbed versions, and why the others were skipped."""

    def __init__(self, probe: Probe) -> None:
        self.probe = probe
        self.originals: list[Item] = []
        self.perturbed: list[tuple[Item, Expectation]] = []
        self.skipped: Counter[str] = Counter()


def _plan(probe: Probe, items: list[Item], seed: int, build: bool = True) -> _Plan:
    plan = _Plan(probe)
    for item in items:
        reason = probe.skip_reason(item)
        if reason is not None:
            plan.skipped[reason] += 1
            continue
        plan.originals.append(item)
        if build:
            plan.perturbed.append(probe.perturb(item, seed))
    return plan


def _manifest(out: Path, seed: int) -> dict[str, Any]:
    """The audit's lasting settings: the nonce is drawn once and kept, so a resumed audit sends the same prompts."""
    path = out / "manifest.json"
    if path.exists():
        manifest: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    else:
        manifest = {"nonce": secrets.token_hex(8)}
    manifest.update(seed=seed, jurist_version=__version__)
    out.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    return manifest


async def aaudit(
    data: str | Path | LoadedData | Sequence[Item | dict[str, Any]],
    *,
    out: str | Path,
    config: JudgeConfig | Mode = "pairwise",
    model: str | Backend = "local",
    audit: AuditOptions | None = None,
    options: JobOptions | None = None,
    field_map: dict[str, str] | None = None,
    on_progress: Progress | None = None,
    rewriter: Backend | None = None,
) -> AuditReport:
    """Audit the judge `config` on `model` with the probes and mitigations of `audit`; write AUDIT_DIR `out`.
    `options` (backend, retries, rate limits, cache, run) are the job's, as in `ajudge`.

    The audited judge sees one presentation order (swap off): the swap mitigation judges both. Items are judged
    without their reference unless the reference mitigation is asked for. Bad settings (a probe or mitigation
    that does not fit the mode) and data with no usable item fail before any model call. `rewriter`, a Backend,
    writes the rewritable probes' perturbations in place of the model named by `audit.rewrite_model`.
    The old spellings, `options=AuditOptions(...)` and `AuditOptions(job=...)`, still work with a DeprecationWarning.
    """
    settings, job = _settings_and_job(audit, options)
    config = config if isinstance(config, JudgeConfig) else JudgeConfig(mode=config)
    if config.mode == "pairwise":
        config = config.model_copy(update={"swap": False})
    probes = select_probes(settings.probes, config.mode)
    arms = parse_arms(settings.mitigations, config.mode, probes)
    if rewriter is not None and not settings.rewrite_model:
        settings = settings.model_copy(update={"rewrite_model": rewriter.name})
    if settings.rewrite_model:
        check_rewritable(probes)
    loaded = load_data(data, config.mode, field_map)
    items = select_items(loaded, limit=settings.limit).items  # one home for --limit (judge's too)
    plans = {p.name: _plan(p, items, settings.seed, build=not isinstance(p, SelfPreference)) for p in probes}
    if not any(plan.originals for plan in plans.values()):
        # each item counted once, with the first reason a probe gave
        reasons = Counter(next(r for p in probes if (r := p.skip_reason(it)) is not None) for it in items)
        why = ", ".join(f"{n} with {r}" for r, n in reasons.most_common()) or "the data holds no items"
        raise InputError(
            f"no item can be used by the probes asked for ({', '.join(plans)}): {why}",
            file=loaded.path,
            hint="label-dependent probes need pairwise gold labels A or B; add a label column or choose probes "
            "that need none (position, cot)",
        )
    out = Path(out)
    manifest = _manifest(out, settings.seed)
    length_rules = write_length_rules(out, config) if any("length" in arm for arm in arms) else None
    progress = on_progress or (lambda message: None)

    verdicts: dict[tuple[str, str], dict[str, Verdict]] = {}
    async with Backends(job) as backends:
        resilient = backends.get(model)
        if any("length_score" in arm for arm in arms) and not resilient.capabilities.logprobs:
            raise ConfigError(
                f"mitigation length_score reads the judge's probabilities, and {resilient.name} gives no token "
                "logprobs: leave it out, or use a backend that returns them (local, gguf:PATH, openai:MODEL on a "
                "server with logprobs)"
            )
        rewriting = _rewriter(settings.rewrite_model, job, model, rewriter, backends)
        if rewriting is not None:
            rebuilt = await rewrite_probes(
                probes,
                {name: plan.originals for name, plan in plans.items()},
                backend=rewriting,
                rewriter=settings.rewrite_model or "",
                out=out,
                seed=settings.seed,
                max_tokens=settings.rewrite_tokens,
                progress=progress,
            )
            probes = [rebuilt.get(p.name, p) for p in probes]
            plans.update({name: _plan(probe, items, settings.seed) for name, probe in rebuilt.items()})
        if "self_preference" in plans:
            sp = plans["self_preference"]
            answers = await _own_answers(resilient, config, sp.originals, out, settings.answer_tokens, progress)
            plans["self_preference"] = _plan(SelfPreference(answers), [i for i in items if i.id in answers], 0)
            plans["self_preference"].skipped.update(sp.skipped)
            missing = len(sp.originals) - len(answers)
            if missing:
                plans["self_preference"].skipped["the judge's model gave no answer"] += missing

        async def judged(name: str, arm: Arm, judge_config: JudgeConfig, run_items: list[Item]) -> dict[str, Verdict]:
            judge = arm_judge(
                resilient,
                judge_config,
                arm,
                nonce=manifest["nonce"],
                length_rules=length_rules,
                answer_tokens=settings.answer_tokens,
            )
            keep_reference = "reference" in arm
            ready = [it if keep_reference else it.model_copy(update={"reference": None}) for it in run_items]
            progress(f"judging {name}: {len(ready)} items")
            run_dir = out / "runs" / name
            batch = LoadedData(path=f"{loaded.path} [{name}]", items=ready, unit=loaded.unit)
            await run(judge, batch, run_dir, job, backends=backends)
            return {v.id: v for v in read_run(run_dir).verdicts}

        for part in dict.fromkeys(judging_part(arm) for arm in arms):
            measured = [p for p in probes if any(judging_part(a) == part and applies(a, p) for a in arms)]
            measured = [p for p in measured if plans[p.name].originals]
            folder = arm_name(part)
            originals: dict[str, tuple[JudgeConfig, list[Item]]] = {}
            for probe in measured:
                side = side_config(config, probe, "original")
                key = _original_key(config, side)
                chosen = originals.setdefault(key, (side, []))[1]
                seen = {it.id for it in chosen}
                chosen.extend(it for it in plans[probe.name].originals if it.id not in seen)
            for key, (side, run_items) in originals.items():
                verdicts[(folder, key)] = await judged(f"{folder}/{key}", part, side, run_items)
            for probe in measured:
                perturbed = [item for item, _ in plans[probe.name].perturbed]
                side = side_config(config, probe, "perturbed")
                verdicts[(folder, probe.name)] = await judged(f"{folder}/{_run_name(probe)}", part, side, perturbed)

    report = _report(
        out=out,
        loaded=loaded,
        items=items,
        model=model if isinstance(model, str) else model.name,
        config=config,
        options=settings,
        probes=probes,
        arms=arms,
        plans=plans,
        verdicts=verdicts,
    )
    report.write(out)
    return report


audit = sync_twin(aaudit)


def _settings_and_job(audit: AuditOptions | None, options: JobOptions | None) -> tuple[AuditOptions, JobOptions]:
    """What to audit and the job's options, from the old spellings too (`options=AuditOptions(...)`,
    `AuditOptions(job=...)`), each with a DeprecationWarning."""
    audit, options = split_options("aaudit", "audit", audit, options, AuditOptions)
    audit = audit or AuditOptions()
    old_job = audit.job if "job" in audit.model_fields_set else None
    return audit, renamed("AuditOptions(job=...)", "aaudit's options=", old_job, options) or JobOptions()


def _rewriter(
    spec: str | None, job: JobOptions, model: str | Backend, given: Backend | None, backends: Backends
) -> ResilientBackend | None:
    """The rewriting model's backend: the one given, the judge's own when it is the same model, else one made from
    the spec with the same retries and cache (and the judge's server settings when it is the same provider); the
    judge's rate limits are not its own."""
    if given is None and not spec:
        return None
    if given is model or (given is None and isinstance(model, str) and spec == model):
        return backends.get(model)
    if given is not None:
        return backends.get(given, rate_limits=False)
    assert spec is not None
    same_provider = isinstance(model, str) and spec.partition(":")[0] == model.partition(":")[0]
    backend_options = job.backend if same_provider else BackendOptions(timeout=job.backend.timeout)
    return backends.get(spec, backend_options=backend_options, rate_limits=False)


def _run_name(probe: Probe) -> str:
    """A probe's run folder; rewritten perturbations get their own, so switching between wordings and a rewriting
    model in one audit directory never re-judges the other's items."""
    rewritten = isinstance(probe, ChangeResponse) and probe.rewriter is not None
    return f"{probe.name}-rewritten" if rewritten else probe.name


def _original_key(config: JudgeConfig, side: JudgeConfig) -> str:
    """The run name of the originals judged with `side` settings: "original", or with the changed settings."""
    base, changed = config.model_dump(), side.model_dump()
    diff = {k: v for k, v in changed.items() if base.get(k) != v}
    return "original" + "".join(f"-{k}_{v}" for k, v in sorted(diff.items()))


async def _own_answers(
    backend: Backend,
    config: JudgeConfig,
    items: list[Item],
    out: Path,
    max_tokens: int,
    progress: Progress,
) -> dict[str, str]:
    """The judge model's own answer to each item's request, written to AUDIT_DIR as they come (a rerun reuses
    them). An answer that fails for a non-fatal reason is left out, and asked for again on the next run."""
    path = out / "self_preference_answers.jsonl"
    answers: dict[str, str] = {r["key"]: r["answer"] for r in read_log(path)}

    def key(item: Item) -> str:
        text = json.dumps([backend.name, config.temperature, config.seed, max_tokens, item.prompt])
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    todo = [it for it in items if key(it) not in answers]
    progress(f"writing the judge model's own answers: {len(todo)} of {len(items)} requests")
    limit = asyncio.Semaphore(max(1, backend.capabilities.max_concurrency))

    async def answer(item: Item) -> None:
        request = GenerateRequest(
            messages=(Message(role="user", content=prompt_set("augment").render("answer", prompt=item.prompt)),),
            max_tokens=max_tokens,
            temperature=config.temperature,
            seed=config.seed,
        )
        response = await ask(backend, request, limit)
        if isinstance(response, BackendError):
            return
        answers[key(item)] = response.text.strip()
        append_log(path, {"key": key(item), "id": item.id, "answer": answers[key(item)]})

    await gather_all([answer(it) for it in todo])
    return {it.id: answers[key(it)] for it in items if key(it) in answers}


def _report(
    *,
    out: Path,
    loaded: LoadedData,
    items: list[Item],
    model: str,
    config: JudgeConfig,
    options: AuditOptions,
    probes: list[Probe],
    arms: list[Arm],
    plans: dict[str, _Plan],
    verdicts: dict[tuple[str, str], dict[str, Verdict]],
) -> AuditReport:
    results = []
    length_fits: dict[str, LengthFit] = {}
    notes: list[str] = []
    for arm in arms:
        folder = arm_name(judging_part(arm))
        length_fit = None
        if "length_score" in arm:
            originals = verdicts.get((folder, "original"), {})
            fitted = {it.id: it for p in probes if applies(arm, p) for it in plans[p.name].originals}
            length_fit = fit_length([(it, originals.get(it.id)) for it in fitted.values()])
            if length_fit is None:
                notes.append(
                    f"{arm_name(arm)}: not measured; the length fit needs at least {MIN_PAIRS} unperturbed pairs "
                    "with probabilities and differing lengths"
                )
                continue
            length_fits[arm_name(arm)] = length_fit
        for probe in probes:
            plan = plans[probe.name]
            if not applies(arm, probe) or not plan.originals:
                continue
            before = verdicts[(folder, _original_key(config, side_config(config, probe, "original")))]
            after = verdicts[(folder, probe.name)]
            pairs = [
                Pair(original, perturbed, expect, before.get(original.id), after.get(original.id))
                for original, (perturbed, expect) in zip(plan.originals, plan.perturbed, strict=True)
            ]
            results.append(
                score_probe(
                    probe.info(),
                    arm_name(arm),
                    pairs,
                    skipped=dict(plan.skipped),
                    use_detector="detector" in arm,
                    seed=options.seed,
                    n_resamples=options.n_resamples,
                    max_examples=options.examples,
                    length_fit=length_fit,
                )
            )
    skipped_probes = {
        name: "no usable item (" + ", ".join(f"{n} with {r}" for r, n in plan.skipped.most_common()) + ")"
        for name, plan in plans.items()
        if not plan.originals
    }
    detector = None
    if any("detector" in arm for arm in arms):
        attacks = {p.name: plans[p.name].perturbed for p in probes if p.kind == "adversarial"}
        detector = detector_stats(items, attacks, seed=options.seed, n_resamples=options.n_resamples)
    notes[:0] = [
        "pairwise: the audited judge sees one presentation order; the swap mitigation judges both"
        if config.mode == "pairwise"
        else "pointwise: robustness = the score is unchanged; shift = mean score change (perturbed - original)",
    ]
    if any(it.reference for it in items):
        notes.append("the items' references are left out unless the reference mitigation is on")
    rewritten = [p.name for p in probes if isinstance(p, ChangeResponse) and p.rewriter is not None]
    if rewritten:
        notes.append(
            f"{', '.join(rewritten)}: perturbations written by {options.rewrite_model} (the instructions are in "
            "audit.json, every output in rewrites.jsonl)"
        )
    if "cot" in plans:
        notes.append("cot: the share of verdicts that change with a rationale first is 1 - robustness")
    if "self_preference" in plans:
        notes.append(
            "self_preference: the gold label picks the gold-better response every time (own-answer rate 0); "
            "shift = own-answer rate minus the rate the judge picked the gold-rejected response in its place"
        )
    return AuditReport(
        jurist_version=__version__,
        out=str(out),
        data=loaded.path,
        model=model,
        mode=config.mode,
        items=len(items),
        seed=options.seed,
        n_resamples=options.n_resamples,
        judge=config.model_dump(),
        probes=[p.info() for p in probes],
        mitigations={arm_name(a): " + ".join(MITIGATIONS[m] for m in sorted(a)) for a in arms if a},
        results=results,
        skipped_probes=skipped_probes,
        detector=detector,
        length_fits=length_fits,
        notes=notes,
    )
