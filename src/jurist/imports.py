"""Recorded judgments in: a run directory built from a judge's recorded decisions or completions, keyed by item id
(and, pairwise, by presentation order), so that a published judge's outputs are meta-evaluated like a live run.

The run is made by jurist's own judge, as a live one would be, with a `RecordedBackend` that answers each request
from the record of its item and order (a request carries both). A recorded *completion* (the judge's raw text) is
read by jurist's parser; a recorded *decision* (a label such as A / B / tie, 1 / 2 / 0, or a score) is mapped to a
label as recorded, handed to the judge as the JSON answer `{"winner": ...}` or `{"score": ...}` and read the same
way, so pairwise reconciliation, the run directory, `show`, `export` and `meta-eval` are all the usual ones.
Nothing is invented: an item with no record, or a decision that maps to no label, is a recorded failure, and
records that name no item of the data are reported.

Formats: `records` (any JSONL/JSON/CSV/Parquet file with an id field, an optional order field, and a completion or
decision field), `llmbar` (LLMBar's `evaluators/<judge>/<strategy>/result.json`, both orders, matched to the data
set's items by position and checked by their texts), `pandalm` (PandaLM's released prediction files,
`<judge>_result` 1 / 2 / Tie, one order, matched to the `pandalm` benchmark's items by `idx`) and `alpaca_eval`
(AlpacaEval's annotations of one model against the baseline, one order, matched to the items by instruction and
checked by the outputs' lengths; the soft preference is kept as the verdict's probabilities).

A recorded decision is read by `LabelDecoder`, the reader of the data's labels: with `--decision-map` as the map
says, without one only as a label already. Recorded probabilities of the labels (AlpacaEval's preference) reach the
judge as a live judge's would, as the token probabilities of its verdict, so the verdict's `probs` are the recorded
ones.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections import Counter
from pathlib import Path
from typing import Any, Literal, cast

from pydantic import BaseModel, ConfigDict

from .api import RunResult, run_sync
from .backends.base import Capabilities, GenerateRequest, GenerateResponse, Message, TokenLogprob
from .backends.replay import llmbar_results
from .data.benchmarks import alpaca_eval, pandalm
from .data.load import ABSENT, LabelDecoder, LoadedData, load_items, lookup, read_rows
from .errors import BackendError, ConfigError, InputError
from .judges import JudgeConfig, make_judge
from .judges.base import LLMJudge
from .judges.pairwise import PairwiseJudge
from .judges.pointwise import PointwiseJudge
from .outcomes import swap_probs, swap_winner
from .run.engine import JobOptions, run
from .run.runner import RunOptions, RunOutcome
from .types import Item, Mode, Usage

ImportFormat = Literal["records", "llmbar", "pandalm", "alpaca_eval"]
FORMATS: tuple[ImportFormat, ...] = ("records", "llmbar", "pandalm", "alpaca_eval")
Order = Literal["AB", "BA"]
Kind = Literal["completion", "decision"]

# How an order field may name an order: AB / BA, or a swap flag (LLMBar writes "swap = True" for output_2 first).
_ORDER_NAMES: dict[str, Order] = {
    "ab": "AB",
    "ba": "BA",
    "false": "AB",
    "true": "BA",
    "swap=false": "AB",
    "swap=true": "BA",
    "0": "AB",
    "1": "BA",
}
_EXAMPLES = 5  # ids quoted in a report line


class ImportOptions(BaseModel):
    """How to read a file of recorded judgments. For `records`, the fields; the other formats know theirs."""

    model_config = ConfigDict(extra="forbid")

    format: ImportFormat = "records"
    by: str = "id"  # the field holding the item id (a dotted path reaches into nested records)
    order_field: str | None = None  # pairwise: the field naming the order shown (AB / BA, or a swap flag)
    completion_field: str | None = None  # the judge's raw text, read by jurist's parser
    decision_field: str | None = None  # the judge's decision, already a label (or a code the map decodes)
    # raw decision -> label (A, B or tie; pointwise a label of the scale); without it decisions are labels already
    decision_map: dict[str, str] | None = None
    # pairwise decisions of the BA order name the items' own A and B ("original"), or the positions shown ("shown")
    decision_order: Literal["original", "shown"] = "original"
    rationale_field: str | None = None  # decisions: the judge's stated reason, kept as the verdict's rationale
    scale: str | None = None  # pointwise: the scale the scores are on (default 1-5)

    def check(self, mode: str) -> None:
        """Refuse settings that would be ignored, or that do not fit the mode."""
        if mode not in ("pairwise", "pointwise"):
            raise ConfigError(f"recorded judgments are imported for pairwise or pointwise runs, not {mode}")
        given = [
            flag
            for flag, value in (
                ("--id-field", self.by != "id"),
                ("--order-field", self.order_field),
                ("--completion-field", self.completion_field),
                ("--decision-field", self.decision_field),
                ("--decision-map", self.decision_map),
                ("--rationale-field", self.rationale_field),
            )
            if value
        ]
        if self.format != "records" and given:
            raise ConfigError(f"--format {self.format} knows its own fields: leave out {', '.join(given)}")
        if self.format != "records" and mode != "pairwise":
            raise ConfigError(f"--format {self.format} holds pairwise judgments: use --mode pairwise")
        if self.completion_field and self.decision_field:
            raise ConfigError("give --completion-field or --decision-field, not both: a record is one or the other")
        if mode == "pointwise" and self.order_field:
            raise ConfigError("--order-field is for pairwise judgments (the order two responses were shown in)")
        if self.scale and mode != "pointwise":
            raise ConfigError("--scale is for pointwise judgments")


class RecordedJudgment(BaseModel):
    """One recorded judgment of an item, in one order (pairwise)."""

    item_id: str
    order: Order | None  # None: pointwise
    line: int  # where it was recorded in its file
    kind: Kind
    value: str | None  # the completion, or the decision as recorded; None when the record holds none
    rationale: str | None = None
    # decisions: the judge's probability of each winner (A, B, tie; named as the decision names them), where recorded
    probs: dict[str, float] | None = None


class RecordedAnswer(BaseModel):
    """What the backend answers for one item and order: a text for the judge to read, or why there is none."""

    text: str | None = None
    problem: str | None = None
    logprobs: list[TokenLogprob] | None = None  # recorded probabilities, at the verdict's token


class RecordedBackend:
    """Answers each request with the recorded judgment of the item and order the request names.

    A request with no record fails with reason `no_record`; a decision that maps to no label with
    `unreadable_decision`. Answers cost nothing: one call, no tokens, as in the replay backend.
    """

    def __init__(self, answers: dict[tuple[str, Order | None], RecordedAnswer], *, name: str = "recorded") -> None:
        self.name = name
        self.answers = answers
        self.capabilities = Capabilities(
            logprobs=False, json_schema=False, grammar=False, prefill=False, recorded=True, max_concurrency=64
        )

    def count_tokens(self, messages: tuple[Message, ...]) -> int | None:
        return None

    async def generate(self, request: GenerateRequest) -> GenerateResponse:
        if request.item_id is None:
            raise BackendError(
                "a request that names no item cannot be answered from recorded judgments (only jurist's own "
                "pairwise and pointwise judges name the item they ask about)",
                fatal=True,
                reason="no_record",
            )
        answer = self.answers.get((request.item_id, request.order))
        if answer is None:
            order = f", order {request.order}" if request.order else ""
            raise BackendError(f"no recorded judgment of item '{request.item_id}'{order}", reason="no_record")
        if answer.text is None:
            raise BackendError(answer.problem or "unreadable record", reason="unreadable_decision")
        return GenerateResponse(text=answer.text, logprobs=answer.logprobs, usage=Usage(calls=1), finish_reason="stop")

    async def aclose(self) -> None:
        return None


class ImportReport(BaseModel):
    """What was read, what matched, and what did not: printed before the run and kept in its config.json."""

    decisions: str
    format: ImportFormat
    kind: Kind
    records: int
    orders: list[Order] = []  # pairwise: the orders the records hold
    items: int
    items_recorded: int  # items with at least one record
    items_without_record: int
    items_without_record_examples: list[str] = []
    items_one_order: int = 0  # pairwise with two orders: items recorded in one of them only
    items_one_order_examples: list[str] = []
    records_without_item: int
    records_without_item_examples: list[str] = []
    # decisions: "raw -> label" (or "raw -> (no label)") -> how many records
    decision_values: dict[str, int] = {}
    unreadable: int = 0
    with_probabilities: int = 0  # decisions recorded with the judge's probabilities, kept as the verdicts' probs


class PreparedImport:
    """Recorded judgments read and matched to the data's items, with the judge that will read them."""

    def __init__(self, data: LoadedData, judge: LLMJudge, report: ImportReport) -> None:
        self.data, self.judge, self.report = data, judge, report

    async def run(self, out: str | Path, options: RunOptions | None = None) -> RunOutcome:
        """Build the run directory `out` (as `jurist judge` would); resumes it when it exists. The recorded backend
        answers every request, so no cache is kept."""
        job = JobOptions(run=options or RunOptions(), cache=False)
        return await run(self.judge, self.data, out, job, header={"import": self.report.model_dump()})


def prepare_import(data: LoadedData, decisions: str | Path, mode: Mode, options: ImportOptions) -> PreparedImport:
    """Read the recorded judgments in `decisions` and match them to `data`'s items; nothing is written yet."""
    options.check(mode)
    path = Path(decisions)
    if not path.exists():
        raise InputError("no such file", file=str(path), hint="--decisions names the file of recorded judgments")
    if options.format == "llmbar":
        recorded = _llmbar(path, data)
    elif options.format == "pandalm":
        recorded = _pandalm(path)
    elif options.format == "alpaca_eval":
        recorded = _alpaca_eval(path, data)
    else:
        recorded = _records(path, mode, options)
    if not recorded:
        raise InputError("holds no recorded judgments", file=str(path))
    orders = sorted({r.order for r in recorded if r.order is not None})
    # both orders are asked for when any record is of the swapped one (a missing AB record is then a failure)
    config = JudgeConfig(mode=mode, swap="BA" in orders, scale=options.scale, structured=False)
    # The name holds the file's content and the reading options, so that a run made from other records, or
    # from the same ones read another way, never passes for this one.
    digest = hashlib.sha256(path.read_bytes() + options.model_dump_json().encode()).hexdigest()[:8]
    backend = RecordedBackend({}, name=f"recorded:{path.name}@{digest}")
    judge = make_judge(backend, config)
    labels = judge.labels if isinstance(judge, PairwiseJudge) else cast(PointwiseJudge, judge).scale.labels
    # PandaLM's codes are the ones its loader reads the annotators' labels with: 1, 2, and 0 or Tie for a tie.
    decision_map: dict[str, str] | None = dict(pandalm.CODES) if options.format == "pandalm" else options.decision_map
    decode = _Answers(
        LabelDecoder(mode, decision_map, options.decision_field or "decision", flag="--decision-map"),
        labels,
        pairwise=isinstance(judge, PairwiseJudge),
    )
    for raw, target in (decision_map or {}).items():
        if decode.decoder.decision(raw, labels) is None:
            raise ConfigError(f"--decision-map maps to '{target}', which is not one of {', '.join(labels)}")

    ids = {item.id for item in data.items}
    seen: dict[tuple[str, Order | None], int] = {}
    outside: list[str] = []
    for record in recorded:
        key = (record.item_id, record.order)
        if key in seen:
            order = f", order {record.order}" if record.order else ""
            raise InputError(
                f"a second record of item '{record.item_id}'{order} (the first is on line {seen[key]})",
                file=str(path),
                line=record.line,
                hint="keep one record per item and order; with two orders, name the order with --order-field",
            )
        seen[key] = record.line
        if record.item_id not in ids:
            outside.append(record.item_id)
            continue
        backend.answers[key] = decode.answer(record, options.decision_order)
    recorded_ids = {item_id for item_id, _ in backend.answers}
    if not recorded_ids:
        raise InputError(
            f"none of the {len(recorded)} records names an item of the data: the records' ids look like "
            f"{_quote(outside)}, the data's like {_quote([item.id for item in data.items])}",
            file=str(path),
            hint="--id-field names the records' id field; load the data so that its ids are the same "
            "(e.g. --field id=...)",
        )
    missing = [item.id for item in data.items if item.id not in recorded_ids]
    one_order = [
        item.id for item in data.items if "BA" in orders and ((item.id, "AB") in seen) != ((item.id, "BA") in seen)
    ]
    report = ImportReport(
        decisions=str(path),
        format=options.format,
        kind=recorded[0].kind,
        records=len(recorded),
        orders=orders,
        items=len(data.items),
        items_recorded=len(recorded_ids),
        items_without_record=len(missing),
        items_without_record_examples=missing[:_EXAMPLES],
        items_one_order=len(one_order),
        items_one_order_examples=one_order[:_EXAMPLES],
        records_without_item=len(outside),
        records_without_item_examples=list(dict.fromkeys(outside))[:_EXAMPLES],
        decision_values=dict(decode.seen.most_common()),
        unreadable=decode.unreadable,
        with_probabilities=decode.with_probabilities,
    )
    return PreparedImport(data, judge, report)


def import_run(
    data: str | Path | LoadedData,
    decisions: str | Path,
    *,
    out: str | Path,
    mode: Mode = "pairwise",
    options: ImportOptions | None = None,
    field_map: dict[str, str] | None = None,
    overwrite: bool = False,
) -> RunResult:
    """`jurist import` from Python: the run directory `out` built from the recorded judgments in `decisions` on the
    items of `data` (a file, or data already loaded, e.g. by `load_benchmark`)."""
    if isinstance(data, LoadedData) and field_map:
        raise ConfigError("field_map applies to a data file; this data is loaded already")
    loaded = data if isinstance(data, LoadedData) else load_items(data, mode, field_map)
    prepared = prepare_import(loaded, decisions, mode, options or ImportOptions())
    return RunResult(out, run_sync(prepared.run(out, RunOptions(overwrite=overwrite))))


def render_import(report: ImportReport) -> str:
    """The report as the lines printed before the run."""
    orders = f" in {' and '.join(report.orders)} order" if len(report.orders) > 1 else ""
    lines = [f"read {report.records} recorded {report.kind}s{orders} from {report.decisions}"]
    if report.decision_values:
        lines.append("decisions: " + ", ".join(f"{value} x{n}" for value, n in report.decision_values.items()))
    if report.with_probabilities:
        lines.append(
            f"{report.with_probabilities} decisions carry the judge's probabilities of A and B: kept as the verdicts' "
            "probs"
        )
    if report.unreadable:
        lines.append(
            f"warning: {report.unreadable} decisions map to no label: recorded as failures (unreadable_decision)"
        )
    if report.items_without_record:
        lines.append(
            f"warning: {report.items_without_record} of {report.items} items have no record: recorded as failures "
            f"(no_record), e.g. {_quote(report.items_without_record_examples)}"
        )
    if report.items_one_order:
        lines.append(
            f"warning: {report.items_one_order} items have a record of one order only: the other is a failure "
            f"(no_record) and their verdicts are flagged, e.g. {_quote(report.items_one_order_examples)}"
        )
    if report.records_without_item:
        lines.append(
            f"warning: {report.records_without_item} records name no item of the data and are left out, e.g. "
            f"{_quote(report.records_without_item_examples)}"
        )
    return "\n".join(lines)


# -- reading the formats -----------------------------------------------------------------------------------------


def _records(path: Path, mode: Mode, options: ImportOptions) -> list[RecordedJudgment]:
    rows, _ = read_rows(path)
    kind, value_field = _value_field(rows, options, path)
    if kind == "completion":
        unused = [
            flag
            for flag, value in (
                ("--decision-map", options.decision_map),
                ("--decision-order shown", options.decision_order == "shown"),
                ("--rationale-field", options.rationale_field),
            )
            if value
        ]
        if unused:
            raise ConfigError(
                f"{', '.join(unused)}: for decisions, and the records of {path} are completions (the parser reads "
                f"them, rationale included, from field '{value_field}'): leave {', '.join(unused)} out"
            )
    recorded = []
    for where, row in rows:
        if not isinstance(row, dict):
            raise InputError(f"expected an object with fields, got {type(row).__name__}", file=str(path), line=where)
        item_id = lookup(row, options.by)
        if item_id is ABSENT or item_id is None or item_id == "":
            raise InputError(
                "the record has no item id",
                file=str(path),
                line=where,
                field=options.by,
                hint="--id-field names the field holding the id of the item each record judges",
            )
        order: Order | None = "AB" if mode == "pairwise" else None  # one order recorded: the data's own
        if options.order_field:
            order = _order(lookup(row, options.order_field))
            if order is None:
                raise InputError(
                    f"order {lookup(row, options.order_field)!r} is neither AB / BA nor a swap flag",
                    file=str(path),
                    line=where,
                    field=options.order_field,
                    hint="write AB (response_a shown first) or BA; swap flags: false / true, 'swap = False' / "
                    "'swap = True', 0 / 1",
                )
        value = lookup(row, value_field)
        rationale = lookup(row, options.rationale_field) if options.rationale_field else None
        recorded.append(
            RecordedJudgment(
                item_id=_text(item_id),
                order=order,
                line=where,
                kind=kind,
                value=None if value is ABSENT or value is None else _text(value) if kind == "decision" else str(value),
                rationale=None if rationale is ABSENT or rationale is None else str(rationale),
            )
        )
    return recorded


def _value_field(rows: list[tuple[int, Any]], options: ImportOptions, path: Path) -> tuple[Kind, str]:
    """Which field holds the judgment: the one named, else a `completion` or `decision` field the records have."""
    if options.completion_field:
        return "completion", options.completion_field
    if options.decision_field:
        return "decision", options.decision_field
    columns = {c for _, row in rows if isinstance(row, dict) for c in row}
    found = [name for name in ("completion", "decision") if name in columns]
    if len(found) != 1:
        raise InputError(
            "say which field holds the recorded judgments"
            + (": the records have both completion and decision" if found else ""),
            file=str(path),
            hint="--completion-field FIELD (the judge's text, read by jurist's parser) or --decision-field FIELD "
            f"(a label already); fields present: {', '.join(sorted(map(str, columns)))}",
        )
    return found[0], found[0]  # type: ignore[return-value]


def _llmbar(path: Path, data: LoadedData) -> list[RecordedJudgment]:
    """LLMBar's result.json rows are the data set's rows in order: row n judges item n, which is checked by text."""
    results = llmbar_results(path)
    if len(results) != len(data.items):
        raise InputError(
            f"holds {len(results)} rows, the data {len(data.items)} items",
            file=str(path),
            hint="give the dataset.json (or llmbar:SUBSET) whose evaluators folder holds this result.json",
        )
    recorded = []
    for row, item in zip(results, data.items, strict=True):
        if (row.input, row.output_1, row.output_2) != (item.prompt, item.response_a, item.response_b):
            raise InputError(
                f"row {row.line} is not item '{item.id}' of the data ({data.unit} {data.lines.get(item.id)}): "
                "their texts differ",
                file=str(path),
                line=row.line,
                hint="give the dataset.json (or llmbar:SUBSET) whose evaluators folder holds this result.json",
            )
        for order, completion in row.completions.items():
            recorded.append(
                RecordedJudgment(item_id=item.id, order=order, line=row.line, kind="completion", value=completion)
            )
    return recorded


def _pandalm(path: Path) -> list[RecordedJudgment]:
    """A PandaLM prediction file: `idx`, the judge's `<judge>_result` (1, 2, Tie, or "garbage" where it gave no
    usable answer) and `<judge>_reason`; items are the `pandalm` benchmark's, whose ids are `pandalm-<idx>`."""
    rows, _ = read_rows(path)
    recorded = []
    for where, row in rows:
        result = next((k for k in row if str(k).endswith("_result")), None) if isinstance(row, dict) else None
        if result is None or "idx" not in row:
            raise InputError(
                "not a PandaLM prediction row (it needs idx and a <judge>_result field)",
                file=str(path),
                line=where,
                hint="give one of PandaLM's released prediction files, e.g. pandalm-7b-testset-v1.json",
            )
        reason = row.get(result.removesuffix("_result") + "_reason")
        recorded.append(
            RecordedJudgment(
                item_id=pandalm.item_id(int(row["idx"])),
                order="AB",
                line=where,
                kind="decision",
                value=_text(row[result]),
                rationale=None if reason is None else str(reason),
            )
        )
    return recorded


def _alpaca_eval(path: Path, data: LoadedData) -> list[RecordedJudgment]:
    """AlpacaEval's annotations of one model against the baseline (`annotations/<model>.json`, or the repository's
    `results/<model>/<annotator>/annotations.json`): `instruction`, `output_1` the baseline's (A), `output_2` the
    model's (B), and GPT-4-turbo's `preference` in [1, 2]. The file holds lengths, not texts, so a row judges the
    item whose prompt is its instruction, checked by the two outputs' lengths (and the model's name where the item
    has one). The decision is `preference_label`'s; the preference itself is kept as the probabilities of A and B."""
    rows, _ = read_rows(path)
    by_prompt = {item.prompt: item for item in data.items}
    recorded = []
    for where, row in rows:
        if not isinstance(row, dict) or "instruction" not in row or "preference" not in row:
            raise InputError(
                "not an AlpacaEval annotation (it needs instruction and preference)",
                file=str(path),
                line=where,
                hint="give an annotations file of AlpacaEval, e.g. annotations/claude-2.1.json",
            )
        instruction = str(row["instruction"])
        item = by_prompt.get(instruction)
        if item is not None:
            _check_alpaca_row(row, item, data, path, where)
        raw, preference = row["preference"], _number(row["preference"])
        probs = None if preference is None else alpaca_eval.preference_probabilities(preference)
        # a value that is no preference stays as written and maps to no label: a recorded failure
        value = None if raw is None else _text(raw)
        if preference is not None and probs is not None:
            value = alpaca_eval.preference_label(preference)
        recorded.append(
            RecordedJudgment(
                item_id=instruction if item is None else item.id,  # an instruction of no item: reported as such
                order="AB",
                line=where,
                kind="decision",
                value=value,
                probs=probs,
            )
        )
    return recorded


def _check_alpaca_row(row: dict[str, Any], item: Item, data: LoadedData, path: Path, where: int) -> None:
    """A row of annotations judges these two outputs: the model's name and the lengths say so, or it is refused."""
    model, system = row.get("generator_2"), (item.metadata or {}).get("generator_b")
    if model is not None and system is not None and str(model) != str(system):
        raise InputError(
            f"these annotations judge {model}'s outputs; item '{item.id}' holds {system}'s",
            file=str(path),
            line=where,
            field="generator_2",
            hint=f"import them onto alpaca_eval:{model}",
        )
    for key, side, text in (
        ("len_output_1", "response_a", item.response_a),
        ("len_output_2", "response_b", item.response_b),
    ):
        length = _number(row.get(key))
        if length is not None and text is not None and length != len(text):
            raise InputError(
                f"the annotation judged an output of {length:g} characters; item '{item.id}' ({data.unit} "
                f"{data.lines.get(item.id)}) has a {side} of {len(text)}: not the outputs that were judged",
                file=str(path),
                line=where,
                field=key,
                hint="load the data whose outputs were annotated (alpaca_eval:MODEL for the model of this file)",
            )


def _number(value: Any) -> float | None:
    """A number, or one written as text (AlpacaEval writes its preferences and lengths as strings); else None."""
    if isinstance(value, bool) or value is None:
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


# -- decisions ---------------------------------------------------------------------------------------------------


class _Answers:
    """Turns recorded judgments into the answers the judge reads, decisions read by the one label reader, counting
    the decision values seen."""

    def __init__(self, decoder: LabelDecoder, labels: list[str], *, pairwise: bool) -> None:
        self.decoder, self.labels, self.pairwise = decoder, labels, pairwise
        self.seen: Counter[str] = Counter()
        self.unreadable = 0
        self.with_probabilities = 0

    def answer(self, record: RecordedJudgment, decision_order: str) -> RecordedAnswer:
        if record.kind == "completion":
            # An empty completion is what the judge said: the parser finds no verdict in it and says so.
            return RecordedAnswer(text=record.value or "")
        label = None if record.value is None else self.decoder.decision(record.value, self.labels)
        self.seen[f"{record.value} -> {label or '(no label)'}"] += 1
        if label is None:
            self.unreadable += 1
            told = "no decision" if record.value is None else f"decision {record.value!r}"
            return RecordedAnswer(
                problem=f"the record on line {record.line} holds {told}, which maps to none of "
                f"{', '.join(self.labels)}" + ("" if self.decoder.map is None else " under --decision-map")
            )
        probs = record.probs
        if self.pairwise and record.order == "BA" and decision_order == "original":
            # the judge reads a BA answer in the positions shown
            label, probs = swap_winner(label), swap_probs(probs)
        key = "winner" if self.pairwise else "score"
        answer: dict[str, str] = {key: label}
        if record.rationale:
            answer["rationale"] = record.rationale
        text = json.dumps(answer, ensure_ascii=False)
        if probs is None:
            return RecordedAnswer(text=text)
        self.with_probabilities += 1
        named = {self._label(k): p for k, p in probs.items()}
        at = text.index(json.dumps(label), len(json.dumps(key))) + 1  # where the label's value starts
        return RecordedAnswer(text=text, logprobs=_verdict_tokens(text, at, label, named))

    def _label(self, winner: str) -> str:
        found = next((name for name in self.labels if name.casefold() == winner.casefold()), None)
        if found is None:
            raise ConfigError(f"recorded probabilities name '{winner}', which is not one of {', '.join(self.labels)}")
        return found


def _verdict_tokens(text: str, at: int, label: str, probs: dict[str, float]) -> list[TokenLogprob]:
    """`text` as three tokens (before the verdict, the verdict, after it), the verdict's with `probs` as its
    alternatives: the token probabilities a live judge's answer carries, which the parser reads as the verdict's
    probs. A label with probability 0 is -inf, so that it gets none of the mass."""
    top = {name: math.log(p) if p > 0 else -math.inf for name, p in probs.items()}
    tokens = [
        TokenLogprob(token=text[:at], logprob=0.0),
        TokenLogprob(token=label, logprob=top.get(label, -math.inf), top=top),
        TokenLogprob(token=text[at + len(label) :], logprob=0.0),
    ]
    return [t for t in tokens if t.token]


def _order(value: Any) -> Order | None:
    if isinstance(value, bool):
        return "BA" if value else "AB"
    return _ORDER_NAMES.get(re.sub(r"\s+", "", str(value)).lower())


def _text(value: Any) -> str:
    """A recorded value as text; a whole float is written as an integer (4.0 -> "4"), as labels and ids are."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _quote(values: list[str]) -> str:
    # an id may be a whole instruction (AlpacaEval's rows that name no item): quoted by its beginning
    return ", ".join(repr(v if len(v) <= 60 else v[:57] + "...") for v in values[:_EXAMPLES]) or "(none)"
