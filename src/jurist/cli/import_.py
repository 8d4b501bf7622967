"""`jurist import`: a run built from a judge's recorded judgments, with no model called."""

from __future__ import annotations

from pathlib import Path

import click

from ..data.load import parse_label_map
from ..imports import FORMATS as IMPORT_FORMATS
from ..run.runner import RunOptions
from .common import (
    POINTWISE,
    Needs,
    Reading,
    check_needs,
    data_options,
    mode_option,
    one_line_errors,
    progress_bar,
    renamed_option,
    run_judging,
    say,
    say_labels,
    scale_option,
    summary_or_exit,
)

IMPORT_NEEDS: Needs = {
    "decision_order": [("order_field", None)],
    "scale": [POINTWISE],
}


@click.command("import")
@click.argument("data", type=click.Path(path_type=Path))
@click.option(
    "--decisions",
    type=click.Path(path_type=Path),
    required=True,
    help="the file of recorded judgments (JSONL, JSON, CSV, Parquet; or see --format)",
)
@click.option("--out", type=click.Path(path_type=Path), required=True, help="run directory (created, or resumed)")
@mode_option("as DATA's")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(list(IMPORT_FORMATS)),
    default="records",
    show_default=True,
    help="records: any file with the fields below; llmbar: an LLMBar evaluators/<judge>/<strategy>/result.json; "
    "pandalm: a PandaLM prediction file (DATA = pandalm); alpaca_eval: AlpacaEval's annotations/MODEL.json "
    "(DATA = alpaca_eval:MODEL), the preference kept as the verdicts' probabilities",
)
@renamed_option(
    "--id-field", "by", was="--by", default="id", show_default=True, metavar="FIELD", help="the records' item-id field"
)
@click.option(
    "--order-field", metavar="FIELD", help="pairwise, two orders: the field naming the order (AB/BA or a swap flag)"
)
@click.option("--completion-field", metavar="FIELD", help="the judge's raw text, read by jurist's parser")
@click.option("--decision-field", metavar="FIELD", help="the judge's decision, a label already (see --decision-map)")
@click.option("--decision-map", metavar="RAW=LABEL,...", help="how decisions are read, e.g. 1=A,2=B,0=tie")
@click.option(
    "--decision-order",
    type=click.Choice(["original", "shown"]),
    default="original",
    show_default=True,
    help="whose A and B a BA-order decision names: the items' own, or the positions shown",
)
@click.option("--rationale-field", metavar="FIELD", help="decisions: the judge's stated reason")
@scale_option
@data_options(
    field_help="map a column of DATA to a field",
    label_map_help="how DATA's raw labels are read, as in `jurist judge`",
    records_help="a .json DATA file whose items sit under this key",
)
@click.option("--overwrite", is_flag=True, help="discard an existing run in --out made from other records")
def import_judgments(
    data: Path,
    decisions: Path,
    out: Path,
    mode: str,
    fmt: str,
    by: str,
    order_field: str | None,
    completion_field: str | None,
    decision_field: str | None,
    decision_map: str | None,
    decision_order: str,
    rationale_field: str | None,
    scale: str | None,
    reading: Reading,
    overwrite: bool,
) -> None:
    """Build a run directory from a judge's recorded judgments (decisions or completions, keyed by item id and,
    pairwise, by order) on the items of DATA, so that `show`, `export` and `meta-eval` read a published judge like
    a live one. No model is called. Items with no record are recorded as failures (no_record).

    Exit codes as `jurist judge`: 2 bad input or options; 3 no item got a verdict.

    Examples:

    \b
      jurist import llmbar:Natural --format llmbar --decisions result.json --out runs/llmbar-gpt4
      jurist import data.jsonl --decisions judged.csv --decision-field winner --decision-map 1=A,2=B,0=tie \\
        --out runs/recorded
    """
    from ..imports import ImportOptions, prepare_import, render_import

    with one_line_errors():
        check_needs(IMPORT_NEEDS)
        options = ImportOptions(
            format=fmt,
            by=by,
            order_field=order_field,
            completion_field=completion_field,
            decision_field=decision_field,
            decision_map=parse_label_map(decision_map) if decision_map else None,
            decision_order=decision_order,
            rationale_field=rationale_field,
            scale=scale,
        )
        options.check(mode)
        loaded = reading.load(data, mode)
        prepared = prepare_import(loaded, decisions, mode, options)  # type: ignore[arg-type]
    say_labels(loaded)
    say(render_import(prepared.report))
    run_judging(prepared.run(out, RunOptions(overwrite=overwrite)), progress_bar(), out)
    summary_or_exit(out)
