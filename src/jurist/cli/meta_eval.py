"""`jurist meta-eval`: how well a run's verdicts agree with its items' human labels."""

from __future__ import annotations

from pathlib import Path

import click
from click.core import ParameterSource

from ..conventions import CONVENTIONS
from ..gate import META_METRICS, Threshold, meta_failures
from .common import (
    bootstrap_option,
    fail_under_option,
    gate_or_exit,
    labels_option,
    one_line_errors,
    renamed_option,
)


@click.command("meta-eval")
@click.argument("run_dir", type=click.Path(path_type=Path))
@click.option(
    "--group",
    "group_key",
    default="group",
    show_default=True,
    help="metadata key of the source document or prompt: its items are resampled together in every interval",
)
@renamed_option(
    "--system-key", "system_key", was="--system", default="system", show_default=True, help="metadata key of the system"
)
@click.option(
    "--annotations", "annotations_key", default="annotations", show_default=True, help="metadata key of annotators"
)
@click.option(
    "--score",
    type=click.Choice(["score", "expected"]),
    default="score",
    show_default=True,
    help="pointwise: the argmax score or the probability-weighted one",
)
@bootstrap_option()
@click.option("--seed", type=int, default=0, show_default=True)
@click.option(
    "--alpha", "alphas", type=float, multiple=True, help="selective evaluation: target disagreement rate (repeatable)"
)
@click.option("--delta", type=float, default=0.1, show_default=True, help="selective evaluation: failure probability")
@click.option("--epsilon", type=float, default=0.2, show_default=True, help="Alternative Annotator Test's epsilon")
@click.option(
    "--fit-calibrator",
    type=click.Path(path_type=Path),
    help="fit a recalibration of the probabilities on this run and save it to this file",
)
@click.option("--method", type=click.Choice(["temperature", "isotonic"]), default="temperature", show_default=True)
@click.option("--calibrator", type=click.Path(path_type=Path), help="apply a saved calibrator before measuring")
@renamed_option(
    "--out",
    "json_out",
    was="--json",
    type=click.Path(path_type=Path),
    help="also write the report as JSON to this file",
)
# -- published conventions and breakdowns (issue 12)
@click.option(
    "--convention",
    type=click.Choice(list(CONVENTIONS)),
    help="also compute this benchmark's own headline metric, exactly as its authors count it",
)
@click.option("--by", metavar="FIELD", help="break every figure down by this metadata field (subset, category...)")
@labels_option
@fail_under_option(META_METRICS, what="the report's")
@click.pass_context
def meta_eval(
    ctx: click.Context,
    run_dir: Path,
    group_key: str,
    system_key: str,
    annotations_key: str,
    score: str,
    n_resamples: int,
    seed: int,
    alphas: tuple[float, ...],
    delta: float,
    epsilon: float,
    fit_calibrator: Path | None,
    method: str,
    calibrator: Path | None,
    json_out: Path | None,
    convention: str | None,
    by: str | None,
    labels_from: str,
    fail_under: tuple[Threshold, ...],
) -> None:
    """How well RUN_DIR's verdicts agree with its items' human labels: agreement or correlations with bootstrap
    intervals, calibration, selective evaluation with a guarantee, and multi-annotator tests; `--convention` adds a
    benchmark's own headline metric and `--by` breaks everything down by a metadata field.

    Exit codes: 0 done; 2 bad input or options (an unknown --fail-under metric, or one this run cannot give); 4 a
    --fail-under threshold was not met (the message gives the figure, its interval and the items that failed).

    Examples:

    \b
      jurist meta-eval runs/llmbar
      jurist meta-eval runs/llmbar --convention llmbar --by subset --out runs/llmbar/meta.json
      jurist meta-eval runs/llmbar --labels review
      jurist meta-eval runs/llmbar --fail-under kappa=0.6 --fail-under accuracy=0.8
    """
    from ..meta import MetaOptions, load_calibrator, meta_evaluate, render_meta
    from ..meta import fit_calibrator as fit

    with one_line_errors():
        options = MetaOptions(
            group_key=group_key,
            system_key=system_key,
            annotations_key=annotations_key,
            score=score,
            n_resamples=n_resamples,
            seed=seed,
            delta=delta,
            epsilon=epsilon,
            **({"alphas": list(alphas)} if alphas else {}),
            # a key the user named must exist: a misspelt --group would otherwise change nothing, silently
            group_required=ctx.get_parameter_source("group_key") == ParameterSource.COMMANDLINE,
            by=by,
            convention=convention,
        )
        applied = load_calibrator(calibrator) if calibrator is not None else None
        # --labels review: the people's labels of `jurist review` instead of the items' own
        labels = _review_labels(run_dir) if labels_from == "review" else None
        if labels is not None:
            report = meta_evaluate(run_dir, options, calibrator=applied, labels=labels)
        else:
            report = meta_evaluate(run_dir, options, calibrator=applied)
        click.echo(render_meta(report))
        if json_out is not None:
            json_out.write_text(report.model_dump_json(indent=2))
        if fit_calibrator is not None:
            fitted = fit(run_dir, method, labels=labels)  # type: ignore[arg-type]
            fitted.save(fit_calibrator)
            click.echo(f"\ncalibrator ({method}) fitted on {report.labelled} labelled verdicts: {fit_calibrator}")
    gate_or_exit(report, fail_under, META_METRICS, meta_failures(report))


def _review_labels(run_dir: Path) -> dict[str, str | float]:
    from ..review import review_labels

    return review_labels(run_dir)
