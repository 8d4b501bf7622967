"""`jurist audit`: a judge's biases and weak points, before and after mitigations."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import click
from rich.markup import escape

from ..data.load import select_items
from ..errors import BackendError
from .common import (
    PAIRWISE,
    POINTWISE,
    Judging,
    Needs,
    Reading,
    Server,
    bootstrap_option,
    check_needs,
    check_server_options,
    data_options,
    err,
    fail,
    judge_config_options,
    mode_option,
    no_cache_option,
    one_line_errors,
    say,
    say_labels,
    server_options,
)

AUDIT_NEEDS: Needs = {
    "no_tie": [PAIRWISE],
    "scale": [POINTWISE],
    "on_inconsistent": [("mitigations", ("swap",))],  # the audited judge sees one order; swap judges both
    "rewrite_tokens": [("rewrite_model", None)],
    "answer_tokens": [("probe_names", ("self_preference",))],  # the judge's own answers, for that probe only
}


@click.command()
@click.argument("data", type=click.Path(path_type=Path))
@click.option("--out", type=click.Path(path_type=Path), required=True, help="audit directory (created, or resumed)")
@mode_option("the judge's mode (the probes perturb pairs or single responses: there is no listwise audit)")
@server_options()
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
@bootstrap_option()
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
@judge_config_options(
    on_inconsistent_help="with the swap mitigation, when the two orders disagree: averaged probabilities, tie, or flag",
    rationale_default="none",
    rationale_help="the audited judge's rationale (the cot probe compares before with none)",
)
@data_options(
    field_help="map a column to a field (repeatable)",
    label_map_help="how raw labels are read (see jurist judge --help)",
    records_help="a .json file whose items sit under this key (or dotted path)",
)
@click.option("--seed", type=int, default=0, show_default=True, help="judge seed, wording variants and bootstrap")
@no_cache_option
@click.option("--overwrite", is_flag=True, help="discard sub-runs in --out made with other settings")
def audit(
    data: Path,
    out: Path,
    mode: str,
    server: Server,
    probe_names: tuple[str, ...],
    mitigations: tuple[str, ...],
    limit: int | None,
    n_resamples: int,
    examples: int,
    answer_tokens: int,
    rewrite_model: str | None,
    rewrite_tokens: int,
    judging: Judging,
    reading: Reading,
    seed: int,
    no_cache: bool,
    overwrite: bool,
) -> None:
    """Audit a judge for biases and attacks on DATA (a data file or a benchmark such as llmbar:Natural or
    evalbiasbench): per probe, the robustness rate or the attack success rate with a bootstrap interval, before
    and after each --mitigation. Writes OUT/audit.json and OUT/audit.txt; run it again to resume.

    Examples:

    \b
      jurist audit llmbar:Natural --out audits/gpt4o --model openai:gpt-4o --limit 100
      jurist audit data.jsonl --out audits/a --probe position --probe verbosity --mitigation swap
    """
    from ..audit import AuditOptions, aaudit, render_report

    with one_line_errors():
        try:
            check_needs(AUDIT_NEEDS)
            check_server_options(
                {"--model": server.model, "--rewrite-model": rewrite_model}, server.base_url, server.api_key_env
            )
            loaded = reading.load(data, mode)
            say_labels(select_items(loaded, limit=limit), len(loaded.items), "the first")
            config = judging.config(mode, seed)
            settings = AuditOptions(
                probes=list(probe_names) or None,
                mitigations=list(mitigations),
                seed=seed,
                n_resamples=n_resamples,
                examples=examples,
                limit=limit,
                answer_tokens=answer_tokens,
                rewrite_model=rewrite_model,
                rewrite_tokens=rewrite_tokens,
            )
            options = server.job(cache=not no_cache, overwrite=overwrite)
            report = asyncio.run(
                aaudit(
                    loaded,
                    out=out,
                    config=config,
                    model=server.model,
                    audit=settings,
                    options=options,
                    on_progress=say,
                )
            )
        except KeyboardInterrupt:
            err.print(f"\n[yellow]stopped.[/] Run the same command again to resume the audit in {escape(str(out))}.")
            sys.exit(130)
        except BackendError as exc:
            message = f"the audit stopped: {exc}\nVerdicts so far are saved in {out}; run the same command to resume."
            fail(message, code=1)
    click.echo(render_report(report))
    click.echo(f"\nwritten to {out}: audit.json, audit.txt")
