"""Load JSONL, JSON, CSV, Parquet or a saved Hugging Face dataset into validated Items.

Every problem is found before any model call and reported with the file, the line (or row) and the field,
and what to do about it.
"""

from __future__ import annotations

import csv
import json
import math
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import InputError
from ..files import open_text, read_jsonl, read_text
from ..scales import Scale
from ..types import Item, Mode, Turn

if TYPE_CHECKING:
    from ..judges.base import Judge

CANONICAL = ("id", "prompt", "response", "response_a", "response_b", "responses", "reference", "label", "turns")
REQUIRED: dict[Mode, tuple[str, ...]] = {
    "pointwise": ("prompt", "response"),
    "pairwise": ("prompt", "response_a", "response_b"),
    "listwise": ("prompt", "responses"),
}
# Deeper values parse, but a verdict that carries them as metadata cannot be written (pydantic stops at 255).
MAX_DEPTH = 100


@dataclass
class LoadedData:
    path: str
    items: list[Item]
    # Where each item came from, for error messages later (context overflow found before the run).
    lines: dict[str, int] = field(default_factory=dict)
    unit: str = "line"  # "line" for text formats, "row" for Parquet / datasets
    field_map: dict[str, str] = field(default_factory=dict)  # so later checks name the user's column


def parse_field_map(pairs: list[str] | tuple[str, ...]) -> dict[str, str]:
    """`KEY=COLUMN` pairs; COLUMN may join several columns with commas (`prompt=instruction,input`)."""
    mapping: dict[str, str] = {}
    for pair in pairs:
        key, sep, column = pair.partition("=")
        key, column = key.strip(), column.strip()
        if not sep or not key or not column:
            raise InputError(f"--field '{pair}' is not KEY=COLUMN", hint="e.g. --field prompt=input")
        if key not in CANONICAL:
            raise InputError(
                f"--field '{pair}': unknown field '{key}'", hint=f"mappable fields are: {', '.join(CANONICAL)}"
            )
        mapping[key] = column
    return mapping


def load_items(path: str | Path, mode: Mode, field_map: dict[str, str] | None = None) -> LoadedData:
    path = Path(path)
    if not path.exists():
        raise InputError("no such file or folder", file=str(path), hint="check the DATA path")
    rows, unit = read_rows(path)
    return items_from_rows(rows, mode, field_map, path=str(path), unit=unit)


def items_from_rows(
    rows: list[tuple[int, Any]], mode: Mode, field_map: dict[str, str] | None, *, path: str, unit: str
) -> LoadedData:
    """Validate records (each with its line or row number) into Items, with the same checks for every source."""
    field_map = field_map or {}
    items: list[Item] = []
    lines: dict[str, int] = {}
    seen_columns: set[str] = set()
    with_id: bool | None = None  # whether the records have ids (the first one decides)
    for where, row in rows:
        if not isinstance(row, dict):
            raise InputError(
                f"expected an object with fields, got {type(row).__name__}",
                file=path,
                line=where,
                hint="each record must be a JSON object / table row",
            )
        _check_values(row, path, where)
        seen_columns.update(row)
        item = _to_item(row, mode, field_map, path, where, index=len(items))
        raw_id, id_column = _get(row, "id", field_map)
        has_id = _present(raw_id)
        if items and has_id != with_id:
            # Numbering the records without one would silently join verdicts to the wrong rows.
            raise InputError(
                f"{'has an id' if has_id else 'has no id'}, but the record on {unit} {lines[items[0].id]} "
                f"{'has none' if has_id else 'has one'}",
                file=path,
                line=where,
                field=id_column,
                hint="give every record a unique id, or drop the id column to number items by position",
            )
        with_id = has_id
        if item.id in lines:
            raise InputError(
                f"duplicate id '{item.id}' (first seen on {unit} {lines[item.id]})",
                file=path,
                line=where,
                field="id",
                hint="ids must be unique; fix the data or drop the id column to number items by position",
            )
        lines[item.id] = where
        items.append(item)
    if not items:
        raise InputError("the file holds no items", file=path, hint="give a file with at least one record")
    missing = sorted({c for spec in field_map.values() for c in spec.split(",")} - seen_columns)
    if missing:
        raise InputError(
            f"--field maps to column(s) {missing}, which the data does not have",
            file=path,
            hint=f"columns present: {', '.join(sorted(seen_columns))}",
        )
    return LoadedData(path=path, items=items, lines=lines, unit=unit, field_map=dict(field_map))


def _present(value: Any) -> bool:
    return value is not None and not _is_nan(value)


def _check_values(row: dict[str, Any], path: str, where: int) -> None:
    """Refuse what parses but cannot be judged and written back: nesting deeper than MAX_DEPTH, and text with
    unpaired surrogates (JSON's "\\ud800" escape: not Unicode, so not writable as UTF-8)."""
    for column, value in row.items():
        stack = [(value, 1)]
        while stack:
            current, depth = stack.pop()
            problem = None
            if depth > MAX_DEPTH:
                problem = f"is nested more than {MAX_DEPTH} levels deep"
            elif isinstance(current, str) and not current.isascii():
                try:
                    current.encode("utf-8")
                except UnicodeEncodeError as exc:
                    problem = f"holds an unpaired surrogate {current[exc.start]!r}, which is not valid Unicode"
            elif isinstance(current, dict):
                stack.extend((v, depth + 1) for v in current.values())
            elif isinstance(current, list | tuple):
                stack.extend((v, depth + 1) for v in current)
            if problem:
                raise InputError(problem, file=path, line=where, field=str(column), hint="fix or remove the value")


def check_labels(judge: Judge, data: LoadedData) -> None:
    """Fail before any call if a pointwise label is off the scale of a judge that will score it: a 999 on a 1-5
    scale would count as a wrong verdict. Likert and binary scales take any value in their range (an average of
    annotators may be 3.5); a categories scale takes only its values. Every inner judge of a strategy is checked."""
    from ..run.runner import _leaves  # the runner's notion of a strategy's model judges; imported late (cycle)

    column = data.field_map.get("label", "label")
    for leaf in _leaves(judge):
        scale = getattr(leaf, "scale", None)
        if leaf.mode != "pointwise" or not isinstance(scale, Scale):
            continue
        values = [o.value for o in scale.options]
        for item in data.items:
            label = item.label
            if not isinstance(label, int | float):
                continue
            if scale.kind == "categories":
                if label in values:
                    continue
                wanted = ", ".join(f"{o.value:g}={o.label}" for o in scale.options)
                problem = f"label {label:g} is not a value of the judge's scale ({wanted})"
            else:
                if min(values) <= label <= max(values):
                    continue
                problem = f"label {label:g} is outside the judge's scale {min(values):g}-{max(values):g}"
            raise InputError(
                problem,
                file=data.path,
                line=data.lines.get(item.id),
                field=column,
                hint="fix the label, or judge on the labels' scale (--scale, or a rubric with that scale)",
            )


# -- readers: yield (line or row number, record) -----------------------------------------------------------


def read_rows(path: Path) -> tuple[list[tuple[int, Any]], str]:
    if path.is_dir():
        return list(_read_hf_dataset(path)), "row"
    suffix = path.suffix.lower()
    if suffix == ".jsonl":
        return list(read_jsonl(path)), "line"
    if suffix == ".json":
        return list(_read_json(path)), "line"
    if suffix == ".csv":
        return list(_read_csv(path)), "line"
    if suffix in (".parquet", ".pq"):
        return list(_read_parquet(path)), "row"
    raise InputError(
        f"unknown file type '{suffix}'",
        file=str(path),
        hint="use .jsonl, .json, .csv, .parquet, or a folder saved with datasets' save_to_disk",
    )


def _read_json(path: Path) -> Iterator[tuple[int, Any]]:
    text = read_text(path)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(
            f"malformed JSON at column {exc.colno}: {exc.msg}",
            file=str(path),
            line=exc.lineno,
            hint="a .json file must hold one valid JSON list of objects",
        ) from None
    except RecursionError:
        raise InputError(
            "JSON nested too deeply to read", file=str(path), line=1, hint="flatten the records' values"
        ) from None
    if not isinstance(data, list):
        raise InputError(
            "a .json file must hold a list of objects",
            file=str(path),
            line=1,
            hint="use a JSON list, or JSONL with one object per line",
        )
    # Report element positions as line numbers where the object starts.
    decoder = json.JSONDecoder()
    position = text.index("[") + 1
    for element in data:
        while text[position] in " \t\r\n,":
            position += 1
        line = text.count("\n", 0, position) + 1
        _, position = decoder.raw_decode(text, position)
        yield line, element


# The csv module refuses fields over 128 KiB by default; a long response is legitimate data.
csv.field_size_limit(min(sys.maxsize, 2**31 - 1))


def _read_csv(path: Path) -> Iterator[tuple[int, Any]]:
    # strict: a quote left open would otherwise swallow every row after it into one value.
    with open_text(path, newline="") as fh:
        reader = csv.reader(fh, strict=True)
        line = 1
        try:
            header = next(reader, None)
            if header is None:
                return
            # (blank names repeat in harmless trailing commas that spreadsheets write)
            repeated = sorted({name for name in header if name.strip() and header.count(name) > 1})
            if repeated:
                raise InputError(
                    "the header names the column more than once (only one of them would be read)",
                    file=str(path),
                    line=1,
                    field=repeated[0],
                    hint="give every column its own name",
                )
            line = reader.line_num + 1
            for values in reader:
                if values:  # a blank line
                    if len(values) > len(header):
                        raise InputError(
                            "the row has more values than the header has columns",
                            file=str(path),
                            line=line,
                            hint="quote values that contain commas",
                        )
                    yield line, {k: v for k, v in zip(header, values, strict=False) if v != ""}
                line = reader.line_num + 1
        except csv.Error as exc:
            raise InputError(
                f"malformed CSV in the record that starts here: {exc}",
                file=str(path),
                line=line,
                hint="check its quotes: a quoted value ends with a quote before the next comma; write a quote "
                'inside one as ""',
            ) from None


def _read_parquet(path: Path) -> Iterator[tuple[int, Any]]:
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(path)
    except Exception as exc:  # pyarrow raises several types for a bad file
        raise InputError(
            f"cannot read Parquet: {exc}", file=str(path), hint="check that the file is a complete Parquet file"
        ) from None
    yield from enumerate(table.to_pylist(), start=1)


def _read_hf_dataset(path: Path) -> Iterator[tuple[int, Any]]:
    """A folder written by `datasets.Dataset.save_to_disk`: Arrow stream files listed in state.json."""
    import pyarrow as pa

    state_file = path / "state.json"
    if not state_file.exists():
        raise InputError(
            "this folder is not a saved dataset (no state.json)",
            file=str(path),
            hint="save with datasets' Dataset.save_to_disk, or pass a file",
        )
    state = json.loads(read_text(state_file))
    number = 0
    for entry in state.get("_data_files", []):
        with pa.memory_map(str(path / entry["filename"])) as source:
            table = pa.ipc.open_stream(source).read_all()
        for row in table.to_pylist():
            number += 1
            yield number, row


# -- one record -> one Item --------------------------------------------------------------------------------


def _get(row: dict[str, Any], key: str, field_map: dict[str, str]) -> tuple[Any, str]:
    spec = field_map.get(key, key)
    columns = spec.split(",")
    if len(columns) == 1:
        return row.get(spec), spec
    parts = [row.get(c) for c in columns]
    text = "\n\n".join(str(p) for p in parts if p not in (None, "") and not _is_nan(p))
    return (text or None), spec


def _is_nan(value: Any) -> bool:
    return isinstance(value, float) and math.isnan(value)


def _to_item(row: dict[str, Any], mode: Mode, field_map: dict[str, str], file: str, where: int, index: int) -> Item:
    def fail(message: str, column: str, hint: str | None = None) -> InputError:
        return InputError(message, file=file, line=where, field=column, hint=hint)

    values: dict[str, Any] = {}
    for key in CANONICAL:
        value, column = _get(row, key, field_map)
        if value is None or (_is_nan(value) and key != "label"):  # a NaN label is refused below, not dropped
            continue
        values[key] = (value, column)
    turns: list[Turn] | None = None
    if "turns" in values:
        turns = _conversation(values, mode, fail)
    for key in REQUIRED[mode]:
        if key not in values:
            column = field_map.get(key, key)
            if key in field_map:
                hint = f"check --field {key}={column}; this record's columns are: {', '.join(map(str, row))}"
            else:
                hint = f"add the field, or map your column to it with --field {key}=YOUR_COLUMN"
            raise fail(f"missing (needed for {mode} judging)", column, hint=hint)
    text_fields = ("prompt", "response", "response_a", "response_b", "reference")
    data: dict[str, Any] = {}
    for key in text_fields:
        if key in values:
            value, column = values[key]
            if isinstance(value, bool):
                # A JSON/YAML boolean is the word it was parsed from: some published sets (PandaLM) hold
                # a model's answer "True" as true. A number is refused: it usually means a mis-mapped column.
                value = str(value)
            if not isinstance(value, str):
                raise fail(
                    f"must be text, got {type(value).__name__} ({value!r})",
                    column,
                    hint="write the value as a string, or map the right column with --field",
                )
            # An empty response is a real model output and is judged as given; the request must have text.
            if key == "prompt" and not value.strip():
                raise fail("is empty", column, hint="every item needs the text of the request being answered")
            data[key] = value
    if "responses" in values:
        value, column = values["responses"]
        if isinstance(value, str):
            try:
                value = json.loads(value)  # CSV cells hold the list as JSON text
            except json.JSONDecodeError:
                raise fail(
                    "must be a list of texts (in CSV: a JSON list)", column, hint='e.g. ["first", "second"]'
                ) from None
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise fail("must be a list of texts", column, hint='e.g. ["first", "second"]')
        if mode == "listwise" and len(value) < 2:
            raise fail(
                f"has {len(value)} response(s); listwise judging needs at least two",
                column,
                hint="give two or more responses, or drop this item",
            )
        data["responses"] = value
    raw_id, id_column = values.get("id", (None, "id"))
    if isinstance(raw_id, float) and raw_id.is_integer():
        raw_id = int(raw_id)
    if raw_id is not None and (isinstance(raw_id, bool) or not isinstance(raw_id, str | int | float) or raw_id == ""):
        raise fail(
            f"an id must be a non-empty text or a number, got {raw_id!r}",
            id_column,
            hint="fix the id, or drop the id column to number items by position",
        )
    data["id"] = str(raw_id) if raw_id is not None else str(index)
    if "label" in values:
        value, column = values["label"]
        data["label"] = _normalise_label(value, mode, len(data.get("responses") or []), fail, column)
    used = {c for key in CANONICAL for c in field_map.get(key, key).split(",")}
    data["metadata"] = {k: v for k, v in row.items() if k not in used}
    if turns:
        data["turns"] = turns
    return Item(**data)


_TURNS_HINT = 'e.g. [{"role": "user", "content": "..."}, {"role": "assistant", "content": "..."}]'


def _conversation(values: dict[str, tuple[Any, str]], mode: Mode, fail: Any) -> list[Turn]:
    """Check a `turns` value and bring it to the Item's shape: the earlier turns, ending with an assistant turn.

    Accepted: the earlier turns with `prompt` given; the turns up to the final user request (which becomes the
    prompt); and, pointwise with neither `prompt` nor `response` given, the whole conversation (the last assistant
    turn is the judged response, the user turn before it the prompt). `values` gets the prompt/response it lacks.
    """
    value, column = values["turns"]
    if isinstance(value, str):
        try:
            value = json.loads(value)  # CSV cells hold the list as JSON text
        except json.JSONDecodeError:
            raise fail("must be a list of turns (in CSV: a JSON list)", column, hint=_TURNS_HINT) from None
    if isinstance(value, tuple):
        value = list(value)
    if not isinstance(value, list):
        raise fail(f"must be a list of turns, got {type(value).__name__}", column, hint=_TURNS_HINT)
    turns: list[Turn] = []
    for number, turn in enumerate(value, start=1):
        where = f"turn {number}"
        if not isinstance(turn, dict):
            raise fail(
                f"{where} must be an object with role and content, got {type(turn).__name__}", column, hint=_TURNS_HINT
            )
        missing = [k for k in ("role", "content") if k not in turn or turn[k] is None]
        if missing:
            raise fail(f"{where} has no {' or '.join(missing)}", column, hint=_TURNS_HINT)
        extra = sorted(set(turn) - {"role", "content"})
        if extra:
            raise fail(f"{where} has unknown key(s) {extra}", column, hint="a turn has only role and content")
        role, content = turn["role"], turn["content"]
        if role not in ("user", "assistant"):
            raise fail(
                f"{where} has role {role!r}; roles are 'user' and 'assistant'",
                column,
                hint="put a system message in the prompt or template, not in the turns",
            )
        if not isinstance(content, str):
            raise fail(f"{where} content must be text, got {type(content).__name__}", column, hint=_TURNS_HINT)
        expected = "user" if number % 2 else "assistant"
        if role != expected:
            raise fail(
                f"{where} is a {role} turn where a {expected} turn belongs: turns must start with the user "
                "and alternate user, assistant",
                column,
                hint="merge consecutive messages of one role into one turn",
            )
        turns.append(Turn(role=role, content=content))
    if not turns:
        raise fail("is an empty list", column, hint="leave the field out for a single-turn item")
    if turns[-1].role == "assistant" and mode == "pointwise" and "prompt" not in values and "response" not in values:
        if len(turns) < 2:
            raise fail("holds an assistant turn with no request before it", column, hint=_TURNS_HINT)
        values["response"] = (turns.pop().content, column)
    if turns[-1].role == "user":
        final = turns.pop().content
        if "prompt" in values and values["prompt"][0] != final:
            raise fail(
                "ends with a user turn that differs from the prompt",
                column,
                hint="give the final request once: as the last user turn, or as prompt after turns that end "
                "with an assistant turn",
            )
        values["prompt"] = (final, column)
    elif "prompt" not in values:
        raise fail(
            "ends with an assistant turn, but there is no prompt (the final request being answered)",
            column,
            hint="end turns with the user's final request, or give it as prompt"
            + ("" if mode != "pointwise" else "; or give the whole conversation without prompt and response"),
        )
    return turns


def _normalise_label(value: Any, mode: Mode, k: int, fail: Any, column: str) -> str | float | list[int]:
    hint = "fix the label, or leave it out (labels are only used to score the judge)"
    if isinstance(value, float) and not math.isfinite(value):
        raise fail(f"label {value} is not a finite number", column, "write null or leave the field empty for no label")
    if mode == "pairwise":
        text = str(value).strip().lower()
        if isinstance(value, float) and value.is_integer():
            text = str(int(value))
        mapping = {"a": "A", "1": "A", "b": "B", "2": "B", "tie": "tie", "0": "tie", "c": "tie", "draw": "tie"}
        if text not in mapping:
            raise fail(f"pairwise label '{value}' is not one of A, B, tie (or 1, 2, 0)", column, hint)
        return mapping[text]
    if mode == "pointwise":
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise fail(f"pointwise label '{value}' is not a number", column, hint) from None
        if not math.isfinite(number):
            raise fail(f"pointwise label '{value}' is not a finite number", column, hint)
        return number
    # listwise: a ranking of 1-based positions, best first, or the 1-based position of the best
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            raise fail(f"listwise label '{value}' is not a ranking list or a position", column, hint) from None
    if isinstance(value, int | float) and not isinstance(value, bool) and float(value).is_integer():
        position = int(value)
        if not 1 <= position <= k:
            raise fail(f"listwise label {position} is not a position between 1 and {k}", column, hint)
        return [position]
    numbers = isinstance(value, list) and all(isinstance(v, int | float) and not isinstance(v, bool) for v in value)
    if numbers and sorted(value) == list(range(1, k + 1)):
        return [int(v) for v in value]
    raise fail(f"listwise label {value!r} must rank every position 1..{k} once, best first", column, hint)
