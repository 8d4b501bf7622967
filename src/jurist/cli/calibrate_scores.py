"""`jurist calibrate-scores`: fit a quantitative judge (a regression from a pointwise run's outputs onto human
scores) and measure it held out, or apply a fitted one to a run."""

from __future__ import annotations

from pathlib import Path

import click

from .common import bootstrap_option, fail, one_line_errors, say


@click.command("calibrate-scores")
@click.argument("run_dir", type=click.Path(path_type=Path))
@click.option(
    "--score-field",
    "score_field",
    metavar="FIELD",
    help="the metadata field holding the human score (default: the items' own label)",
)
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    required=True,
    help="the fitted model (JSON); with --apply, the scored verdicts (JSON lines)",
)
@click.option("--apply", "apply_path", type=click.Path(path_type=Path), help="apply this fitted model to RUN_DIR")
@click.option(
    "--group",
    "group_key",
    default="group",
    show_default=True,
    help="metadata key whose items stay on one side of the split (and are resampled together); else by item",
)
@click.option("--test-fraction", type=click.FloatRange(0.05, 0.95), default=0.3, show_default=True)
@click.option("--ridge-alpha", type=click.FloatRange(min=0.0), default=1.0, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True, help="the split's and the bootstrap's seed")
@bootstrap_option()
def calibrate_scores(
    run_dir: Path,
    score_field: str | None,
    out: Path,
    apply_path: Path | None,
    group_key: str,
    test_fraction: float,
    ridge_alpha: float,
    seed: int,
    n_resamples: int,
) -> None:
    """Fit a ridge regression from a pointwise run's outputs (score, probability-weighted score, label
    probabilities, log response length) onto human scores on a seeded train split (whole groups: no SummEval
    article on both sides), report held-out Spearman, Pearson and MAE before (the raw expected score) and after,
    with bootstrap intervals, and save the model as JSON. With --apply MODEL, score RUN_DIR's verdicts with it.

    Exit codes: 0 done; 2 bad input (no human scores, too few items, a run that is not pointwise).

    Examples:

    \b
      jurist calibrate-scores runs/summeval --out summeval-model.json
      jurist calibrate-scores runs/summeval --score-field expert_mean --group article --out model.json
      jurist calibrate-scores runs/new --apply model.json --out runs/new/calibrated.jsonl
    """
    from ..quant import ScoreModel, apply_model, calibrate

    with one_line_errors():
        if apply_path is not None:
            model = ScoreModel.load(apply_path)
            done, failed = apply_model(run_dir, model, out)
            if not done:
                fail(f"{run_dir}: no verdict has a score to calibrate ({failed} failed)")
            click.echo(f"{done} verdicts scored with {apply_path}, {failed} failed (calibrated: null): {out}")
            return
        result = calibrate(
            run_dir,
            labels=score_field or "data",
            group_key=group_key,
            test_fraction=test_fraction,
            ridge_alpha=ridge_alpha,
            seed=seed,
            n_resamples=n_resamples,
        )
        click.echo(result.render())
        result.model.save(out)
        say(f"model ({', '.join(result.model.features)}) saved to {out}")
