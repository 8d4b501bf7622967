"""Load JSONL, JSON, CSV, Parquet or a saved Hugging Face dataset into validated Items.

Every problem is found before any model call and reported with the file, the line (or row) and the field,
and what to do about it.
"""

from __future__ import annotations

import csv
import json
import math
import random
import re
import sys
import warnings
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from ..errors import ConfigError, InputError
from ..extras import require
from ..files import open_text, parse_json, read_jsonl, read_text
from ..formats import Scale
from ..hashindex import HashIndex
from ..images import is_data_url, is_url
from ..images import problem as image_problem
from ..trajectory import TrajectoryError, requirements_of
from ..trajectory import normalise as normalise_trajectory
from ..types import IMAGE_FIELDS, Item, Mode, Turn

CANONICAL = (
    "id",
    "prompt",
    "response",
    "response_a",
    "response_b",
    "responses",
    "reference",
    "label",
    "turns",
    "contexts",
    *IMAGE_FIELDS,
    "trajectory",
    "requirements",
)
# the image fields each mode shows (a field of another mode is refused, not silently left out)
IMAGES_SHOWN: dict[Mode, tuple[str, ...]] = {
    "pointwise": ("images", "response_images"),
    "pairwise": ("images", "response_a_images", "response_b_images"),
    "listwise": ("images",),
}
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
    # How raw label values were read (raw text -> label), for the label line printed before judging.
    label_decoding: dict[str, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)  # said before judging (e.g. integer labels read without a map)


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


def parse_label_map(spec: str) -> dict[str, str]:
    """`RAW=LABEL,RAW=LABEL...` (`--label-map 0=A,1=B,2=tie`): how the data's raw label values are read. LABEL is
    A, B or tie for pairwise data; a number (a scale point) or a category name for pointwise data."""
    mapping: dict[str, str] = {}
    for pair in spec.split(","):
        raw, sep, label = pair.partition("=")
        raw, label = raw.strip(), label.strip()
        if not sep or not raw or not label:
            raise ConfigError(
                f"--label-map '{spec}': '{pair.strip()}' is not RAW=LABEL (e.g. --label-map 0=A,1=B,2=tie)"
            )
        if any(raw.casefold() == known.casefold() for known in mapping):
            raise ConfigError(f"--label-map '{spec}': the raw value '{raw}' is mapped twice")
        mapping[raw] = label
    return mapping


def load_items(
    path: str | Path,
    mode: Mode,
    field_map: dict[str, str] | None = None,
    *,
    label_map: dict[str, str] | None = None,
    records: str | None = None,
) -> LoadedData:
    """Read a data file into validated Items. `field_map` maps jurist's fields to the file's columns (a dotted
    path such as `annotations.informativeness.mean_human` reaches into nested records); `label_map` says how raw
    label values are read (see `parse_label_map`); `records` is the key (or dotted path) under which a .json file
    holds its list of items."""
    path = Path(path)
    if not path.exists():
        raise InputError("no such file or folder", file=str(path), hint="check the DATA path")
    rows, unit = read_rows(path, records=records)
    return items_from_rows(rows, mode, field_map, path=str(path), unit=unit, label_map=label_map)


# What the Python API takes as data: a file, Items or plain records, or data already loaded.
DataSource = str | Path | LoadedData | Sequence[Item | dict[str, Any]]


def load_data(
    data: DataSource,
    mode: Mode,
    field_map: dict[str, str] | None = None,
    label_map: dict[str, str] | None = None,
) -> LoadedData:
    """Any `DataSource` as validated items. Python records get the same checks as a file's (required fields per
    mode, types, labels, unique ids); the loader's warnings (integer labels read with no label_map) are given as
    UserWarnings, never silent."""
    if isinstance(data, LoadedData):
        return data
    if isinstance(data, str | Path):
        loaded = load_items(data, mode, field_map, label_map=label_map)
    elif not data:
        raise InputError("no items given", file="<python>")
    else:
        rows = [(number, _record(it)) for number, it in enumerate(data, start=1)]
        loaded = items_from_rows(rows, mode, field_map, path="<python>", unit="item", label_map=label_map)
    for message in loaded.warnings:
        warnings.warn(message, UserWarning, stacklevel=3)
    return loaded


@dataclass
class _StreamState:
    """What the blocks of one stream share, so that each block gets the checks that a whole file gets: the ids seen
    (duplicates; 64-bit digests, not the ids), whether records have ids, and the numbering of those without."""

    decode: LabelDecoder
    ids: HashIndex = field(default_factory=lambda: HashIndex(values=False))
    count: int = 0  # items in earlier blocks
    with_id: bool | None = None
    first_line: int | None = None  # of the stream's first record


# A stream is read, checked and judged in blocks of this many records (see `ItemStream`).
BLOCK_ITEMS = 1000
# The files that `open_data` streams; the others are read whole.
STREAMED_SUFFIXES = (".jsonl", ".parquet", ".pq")


@dataclass
class ItemStream:
    """Items read as they are judged, for data too large to hold: validated in blocks of BLOCK_ITEMS records, each
    with every check that a whole file gets (a duplicate id across blocks is found through a HashIndex of the ids'
    digests). `head`, the first block, is read at once, so that bad input there stops a run before any model is
    loaded, as with a file read whole; a file of up to BLOCK_ITEMS records is all head and behaves exactly so.
    A bad record in a later block stops the run when its block is read: every item of the blocks before it has
    been judged and recorded, none of its own block (`jurist.run.runner`). `total` is the number of records
    counted before reading (None for a Python iterator). `checks` run on every later block as it is read (the
    engine adds the judge's `check_data`)."""

    path: str
    unit: str
    field_map: dict[str, str]
    head: LoadedData
    total: int | None
    rest: Iterator[LoadedData]
    checks: list[Callable[[LoadedData], None]] = field(default_factory=list)

    def blocks(self) -> Iterator[LoadedData]:
        """Every block, the head first; reading a later block runs `checks` on it. Once only."""
        yield self.head
        for block in self.rest:
            for check in self.checks:
                check(block)
            yield block

    def items(self) -> Iterator[Item]:
        for block in self.blocks():
            yield from block.items

    def limited(self, limit: int) -> ItemStream:
        """The first `limit` items (jurist judge --limit), read no further."""

        def rest() -> Iterator[LoadedData]:
            left = limit - len(self.head.items)
            for block in self.rest:
                if left <= 0:
                    return
                yield replace(block, items=block.items[:left])
                left -= len(block.items)

        head = replace(self.head, items=self.head.items[:limit])
        total = limit if self.total is None else min(limit, self.total)
        return replace(self, head=head, total=total, rest=rest())


def stream_items(
    path: str | Path,
    mode: Mode,
    field_map: dict[str, str] | None = None,
    *,
    label_map: dict[str, str] | None = None,
) -> ItemStream:
    """A JSONL or Parquet file as an ItemStream (see `load_items` for the arguments): its records are read as they
    are judged, never all at once."""
    path = Path(path)
    if not path.exists():
        raise InputError("no such file or folder", file=str(path), hint="check the DATA path")
    suffix = path.suffix.lower()
    if path.is_dir() or suffix not in STREAMED_SUFFIXES:
        raise ConfigError(f"{path}: only {', '.join(STREAMED_SUFFIXES)} files are streamed; load others whole")
    rows = read_jsonl(path) if suffix == ".jsonl" else _read_parquet(path)
    unit = "line" if suffix == ".jsonl" else "row"
    return stream_rows(rows, mode, field_map, path=str(path), unit=unit, label_map=label_map, total=_count(path))


def stream_rows(
    rows: Iterable[tuple[int, Any]],
    mode: Mode,
    field_map: dict[str, str] | None,
    *,
    path: str,
    unit: str,
    label_map: dict[str, str] | None = None,
    total: int | None = None,
) -> ItemStream:
    """Records (each with its line or row number) as an ItemStream; the first block is read and checked now."""
    field_map = field_map or {}
    state = _StreamState(LabelDecoder(mode, label_map, field_map.get("label", "label")))
    records = iter(rows)

    def block() -> list[tuple[int, Any]]:
        return [row for _, row in zip(range(BLOCK_ITEMS), records, strict=False)]

    def check(rows: list[tuple[int, Any]]) -> LoadedData:
        return items_from_rows(rows, mode, field_map, path=path, unit=unit, state=state)

    head = check(block())

    def rest() -> Iterator[LoadedData]:
        while rows := block():
            yield check(rows)
        state.ids = HashIndex(values=False)  # the stream is read: its ids' memory is free

    return ItemStream(path=path, unit=unit, field_map=dict(field_map), head=head, total=total, rest=rest())


def _count(path: Path) -> int:
    """The records of a JSONL (non-blank lines) or Parquet file (its metadata), without reading them."""
    if path.suffix.lower() != ".jsonl":
        pq = require("pyarrow.parquet", "reading Parquet")
        try:
            return int(pq.ParquetFile(path).metadata.num_rows)
        except Exception as exc:  # pyarrow raises several types for a bad file
            raise InputError(
                f"cannot read Parquet: {exc}", file=str(path), hint="check that the file is a complete Parquet file"
            ) from None
    with path.open("rb") as fh:
        return sum(1 for line in fh if line.strip())


def open_data(
    data: DataSource | ItemStream | Iterable[Item | dict[str, Any]],
    mode: Mode,
    field_map: dict[str, str] | None = None,
    label_map: dict[str, str] | None = None,
) -> LoadedData | ItemStream:
    """`load_data`, streamed where it can be: a JSONL or Parquet file, or a Python iterable that is not a
    sequence (a generator), becomes an ItemStream; anything else is loaded whole."""
    if isinstance(data, ItemStream | LoadedData):
        return data
    if isinstance(data, str | Path):
        path = Path(data)
        if not path.is_file() or path.suffix.lower() not in STREAMED_SUFFIXES:
            return load_data(data, mode, field_map, label_map)
        stream = stream_items(path, mode, field_map, label_map=label_map)
    elif isinstance(data, Sequence):
        return load_data(data, mode, field_map, label_map)
    else:
        records = ((number, _record(it)) for number, it in enumerate(data, start=1))
        stream = stream_rows(records, mode, field_map, path="<python>", unit="item", label_map=label_map)
    for message in stream.head.warnings:
        warnings.warn(message, UserWarning, stacklevel=3)
    return stream


def _record(item: Item | dict[str, Any]) -> Any:
    """An Item given through the API as the record it was made from (its metadata as columns)."""
    if isinstance(item, Item):
        return {**item.metadata, **item.model_dump(exclude={"metadata"}, exclude_none=True)}
    return item


def items_from_rows(
    rows: Sequence[tuple[int, Any]],
    mode: Mode,
    field_map: dict[str, str] | None,
    *,
    path: str,
    unit: str,
    label_map: dict[str, str] | None = None,
    state: _StreamState | None = None,
) -> LoadedData:
    """Validate records (each with its line or row number) into Items, with the same checks for every source.
    `state` carries those checks across the blocks of a stream (see `ItemStream`)."""
    field_map = field_map or {}
    decode = state.decode if state is not None else LabelDecoder(mode, label_map, field_map.get("label", "label"))
    offset = state.count if state is not None else 0
    items: list[Item] = []
    lines: dict[str, int] = {}
    seen_columns: set[str] = set()
    mapped = {c for spec in field_map.values() for c in spec.split(",")}
    found_columns: set[str] = set()  # mapped columns (or dotted paths) some record has
    with_id: bool | None = state.with_id if state is not None else None  # whether records have ids (the first decides)
    first_line = state.first_line if state is not None else None
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
        found_columns.update(c for c in mapped - found_columns if lookup(row, c) is not ABSENT)
        item = _to_item(row, mode, field_map, path, where, index=offset + len(items), decode=decode)
        raw_id, id_column = _get(row, "id", field_map)
        has_id = _present(raw_id)
        if with_id is not None and has_id != with_id:
            # Numbering the records without one would silently join verdicts to the wrong rows.
            raise InputError(
                f"{'has an id' if has_id else 'has no id'}, but the record on {unit} {first_line} "
                f"{'has none' if has_id else 'has one'}",
                file=path,
                line=where,
                field=id_column,
                hint="give every record a unique id, or drop the id column to number items by position",
            )
        with_id = has_id
        first_line = where if first_line is None else first_line
        earlier = lines.get(item.id)
        if earlier is not None or (state is not None and not state.ids.add(item.id)):
            raise InputError(
                f"duplicate id '{item.id}' (first seen on {unit} {earlier})"
                if earlier is not None
                else f"duplicate id '{item.id}' (first seen on an earlier {unit})",
                file=path,
                line=where,
                field="id",
                hint="ids must be unique; fix the data or drop the id column to number items by position",
            )
        lines[item.id] = where
        items.append(item)
    if state is not None:
        state.count += len(items)
        state.with_id, state.first_line = with_id, first_line
    if not items and offset == 0:
        raise InputError("the file holds no items", file=path, hint="give a file with at least one record")
    missing = sorted(mapped - found_columns) if offset == 0 else []  # a stream's first block is checked
    if missing:
        nested = [
            f"{c}: {_where_path_stops(rows[0][1], c.split('.'), 'the first record')}"
            for c in missing
            if "." in c and c.split(".")[0] in seen_columns
        ]
        raise InputError(
            f"--field maps to column(s) {missing}, which the data does not have",
            file=path,
            hint="; ".join([*nested, f"columns present: {', '.join(sorted(map(str, seen_columns)))}"]),
        )
    return LoadedData(
        path=path,
        items=items,
        lines=lines,
        unit=unit,
        field_map=dict(field_map),
        label_decoding=decode.seen,
        warnings=decode.warnings(),
    )


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


def remap(
    data: LoadedData, mode: Mode, field_map: dict[str, str] | None, label_map: dict[str, str] | None
) -> LoadedData:
    """Loaded items read again with another field or label mapping: each item becomes a record of its fields and
    metadata (a benchmark loader keeps the source's other columns there), so `--field label=annotator2` picks
    another column of a benchmark, and `--label-map` reads its labels another way. A field the mapping names is
    taken from the mapped column instead of the loader's."""
    field_map = field_map or {}
    rows = [
        (
            data.lines.get(item.id, number),
            {
                **item.metadata,
                **item.model_dump(exclude={"metadata", *field_map}, exclude_none=True),
            },
        )
        for number, item in enumerate(data.items, start=1)
    ]
    return items_from_rows(rows, mode, field_map, path=data.path, unit=data.unit, label_map=label_map)


def select_items(data: LoadedData, *, limit: int | None = None, sample: int | None = None, seed: int = 0) -> LoadedData:
    """The items a run judges: the first `limit`, or a seeded random `sample`, stratified by label (each label
    keeps its share, rounded by largest remainder) when the items have labels. Items keep their file order, so
    the same arguments give the same items on every machine."""
    if limit is not None and sample is not None:
        raise ConfigError("give --limit (the first N items) or --sample (N drawn at random), not both")
    if limit is not None:
        chosen = data.items[:limit]
    elif sample is not None and sample < len(data.items):
        strata: dict[str, list[int]] = {}
        for position, item in enumerate(data.items):
            strata.setdefault(_label_key(item.label), []).append(position)
        shares = {key: sample * len(members) / len(data.items) for key, members in strata.items()}
        quota = {key: int(share) for key, share in shares.items()}
        keys = sorted(strata)
        random.Random(seed).shuffle(keys)  # equal remainders (e.g. one item per score) are broken at random
        by_remainder = sorted(keys, key=lambda key: -(shares[key] - quota[key]))
        for key in by_remainder[: sample - sum(quota.values())]:
            quota[key] += 1
        picked = sorted(
            position
            for key, members in strata.items()
            for position in random.Random(f"{seed}:{key}").sample(members, quota[key])
        )
        chosen = [data.items[position] for position in picked]
    else:
        return data
    return replace(data, items=chosen, lines={item.id: data.lines[item.id] for item in chosen if item.id in data.lines})


def _label_key(label: Any) -> str:
    return "no label" if label is None else json.dumps(label) if isinstance(label, list) else _raw_text(label)


def describe_labels(data: LoadedData) -> str:
    """One line saying what labels the items carry and how they were read, printed before judging:
    `labels: A 422, B 472, tie 105 (from annotator1: 1->A, 2->B, 0->tie)`."""
    order = {"A": 0, "B": 1, "tie": 2}
    labels = [item.label for item in data.items]
    missing = sum(label is None for label in labels)
    present = [label for label in labels if label is not None]
    if not present:
        return f"labels: none in {len(labels)} items (the run can be judged, but not meta-evaluated)"
    if all(isinstance(label, list) for label in present):
        best = Counter(str(label[0]) for label in present if isinstance(label, list))
        counts = ", ".join(f"best {position} {n}" for position, n in sorted(best.items()))
        text = f"{len(present)} rankings ({counts})"
    elif all(isinstance(label, int | float) for label in present):
        scores = [float(label) for label in present if isinstance(label, int | float)]
        numbers = Counter(scores)
        if len(numbers) > 12:
            mean = sum(scores) / len(scores)
            text = f"{len(scores)} scores from {min(scores):g} to {max(scores):g} (mean {mean:.3g})"
        else:
            text = ", ".join(f"{value:g}: {n}" for value, n in sorted(numbers.items()))
    else:
        names = Counter(_raw_text(label) for label in present)
        text = ", ".join(
            f"{name} {n}" for name, n in sorted(names.items(), key=lambda kv: (order.get(kv[0], 3), kv[0]))
        )
    if missing:
        text += f", no label {missing}"
    column = data.field_map.get("label", "label")
    if data.label_decoding:
        decoding = sorted(data.label_decoding.items(), key=lambda kv: (order.get(kv[1], 3), kv[1], kv[0]))
        read = ", ".join(f"{raw}->{label}" for raw, label in decoding)
        text += f" (from {column}: {read})"
    return f"labels: {text}"


def check_scale_labels(scale: Scale, data: LoadedData) -> None:
    """Fail before any call if a pointwise label is off the scale a judge will score it on: a 999 on a 1-5 scale
    would count as a wrong verdict. Likert and binary scales take any value in their range (an average of
    annotators may be 3.5); a categories scale takes only its values, or its category names. A label given as a
    category name is rewritten in the scale's own spelling ("yes" -> "Yes"), so that meta-evaluation compares it
    with the judge's choice."""
    column = data.field_map.get("label", "label")
    values = [o.value for o in scale.options]
    names = {o.label.casefold(): o.label for o in scale.options}
    kinds = {isinstance(item.label, str) for item in data.items if isinstance(item.label, str | int | float)}
    for item in data.items:
        label = item.label
        if isinstance(label, str):
            if label.casefold() in names and kinds == {True}:
                item.label = names[label.casefold()]
                continue
            problem = _text_label_problem(label, scale, mixed=len(kinds) > 1)
        elif not isinstance(label, int | float):
            continue
        elif scale.kind == "categories" and kinds == {True, False}:
            problem = _text_label_problem(f"{label:g}", scale, mixed=True)
        elif scale.kind == "categories":
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
            hint="fix the label, or judge on the labels' scale (--scale, or a rubric with that scale); "
            "--label-map reads raw labels as scale points or category names (e.g. --label-map No=0,Yes=1)",
        )


def _text_label_problem(label: str, scale: Scale, *, mixed: bool) -> str:
    if mixed:
        return f"label '{label}': the labels mix numbers and category names; give them all one way"
    if scale.kind == "categories":
        return f"label '{label}' is not a category of the judge's scale ({', '.join(scale.labels)})"
    return (
        f"label '{label}' is not a number nor one of the judge's {scale.kind} scale's labels "
        f"({', '.join(scale.labels)}); named labels need a scale with those names (--scale categories:NAME,NAME...)"
    )


# -- readers: yield (line or row number, record) -----------------------------------------------------------


def read_rows(path: Path, *, records: str | None = None) -> tuple[list[tuple[int, Any]], str]:
    """(line or row number, record) for every record of a data file, and the unit the numbers count. `records`:
    the key (or dotted path) of a .json file's list of items, when they sit inside an object."""
    suffix = path.suffix.lower()
    if records is not None and (path.is_dir() or suffix != ".json"):
        raise ConfigError(f"--records {records} applies to a .json file whose items sit under a key, not to {path}")
    if path.is_dir():
        return list(_read_hf_dataset(path)), "row"
    if suffix == ".jsonl":
        return list(read_jsonl(path)), "line"
    if suffix == ".json":
        return list(_read_json(path, records)), "line"
    if suffix == ".csv":
        return list(_read_csv(path)), "line"
    if suffix in (".parquet", ".pq"):
        return list(_read_parquet(path)), "row"
    raise InputError(
        f"unknown file type '{suffix}'",
        file=str(path),
        hint="use .jsonl, .json, .csv, .parquet, or a folder saved with datasets' save_to_disk",
    )


def read_given_rows(path: Path, hint: str, holds: str = "rows") -> tuple[list[tuple[int, Any]], str]:
    """`read_rows` of a file the user named, which must exist (`hint`: where to check its path) and hold at least
    one row (`holds`: what its rows are, for the message)."""
    if not path.exists():
        raise InputError("no such file or folder", file=str(path), hint=hint)
    rows, unit = read_rows(path)
    if not rows:
        raise InputError(f"the file holds no {holds}", file=str(path), hint="give a file with at least one record")
    return rows, unit


def _read_json(path: Path, records: str | None = None) -> Iterator[tuple[int, Any]]:
    text = read_text(path)
    data = parse_json(text, file=str(path), hint="a .json file must hold one valid JSON list of objects")
    parts = records.split(".") if records else []
    if _walk(data, parts)[1] < len(parts):
        raise InputError(f"--records {records}: {_where_path_stops(data, parts, 'the file')}", file=str(path), line=1)
    data = _walk(data, parts)[0]
    if not isinstance(data, list):
        lists = [str(k) for k, v in data.items() if isinstance(v, list)] if isinstance(data, dict) else []
        where = f"--records {records} names" if records else "the file holds"
        raise InputError(
            f"a .json file must hold a list of objects; {where} {'an object' if lists else type(data).__name__}",
            file=str(path),
            line=1,
            hint=f"its items may be under a key: give --records KEY (keys holding lists: {', '.join(lists)})"
            if lists
            else "use a JSON list, or JSONL with one object per line",
        )
    # Report element positions as line numbers where the object starts.
    decoder = json.JSONDecoder()
    position = _value_at(text, parts) + 1
    for element in data:
        while text[position] in " \t\r\n,":
            position += 1
        line = text.count("\n", 0, position) + 1
        _, position = decoder.raw_decode(text, position)
        yield line, element


def _value_at(text: str, parts: list[str]) -> int:
    """Where the value at a key path starts in valid JSON text (for line numbers). A repeated key counts as JSON
    reading does: the last one."""
    decoder = json.JSONDecoder()

    def skip(at: int) -> int:
        while text[at] in " \t\r\n":
            at += 1
        return at

    position = skip(0)
    for part in parts:
        opening = text[position]
        position = skip(position + 1)
        found, index = position, 0
        while text[position] not in "}]":
            if opening == "{":
                key, position = decoder.raw_decode(text, position)
                position = skip(skip(position) + 1)  # past the colon
                hit = key == part
            else:
                hit, index = str(index) == part, index + 1
            if hit:
                found = position
            _, position = decoder.raw_decode(text, position)
            position = skip(position)
            if text[position] == ",":
                position = skip(position + 1)
        position = found
    return position


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
    """The rows, read by record batches: a file larger than memory streams (see `ItemStream`)."""
    pq = require("pyarrow.parquet", "reading Parquet")
    number = 0
    try:
        # Memory that stays flat over the rows: without pyarrow's read-ahead (pre_buffer), whose buffers grew with
        # the rows read; a column chunk read in pieces of 1 MiB, not whole; decoded on this thread (use_threads:
        # with a thread per column, the allocator kept more as the rows went by). A 1,000-row batch is quick.
        parquet = pq.ParquetFile(path, pre_buffer=False, buffer_size=1 << 20)
        batches = parquet.iter_batches(batch_size=BLOCK_ITEMS, use_threads=False)
        for batch in batches:
            for row in batch.to_pylist():
                number += 1
                yield number, row
    except Exception as exc:  # pyarrow raises several types for a bad file
        raise InputError(
            f"cannot read Parquet: {exc}",
            file=str(path),
            line=number + 1 if number else None,
            hint="check that the file is a complete Parquet file",
        ) from None


def _read_hf_dataset(path: Path) -> Iterator[tuple[int, Any]]:
    """A folder written by `datasets.Dataset.save_to_disk`: Arrow stream files listed in state.json."""
    pa = require("pyarrow", "reading a saved dataset")

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


ABSENT = object()  # a column or dotted path a record does not have (None is a present null)


def lookup(row: dict[str, Any], column: str) -> Any:
    """A column's value, or `ABSENT`. A name that is not a column but holds dots is a path into nested values:
    `annotations.informativeness.mean_human`, with list positions from 0 (`scores.0`)."""
    if column in row:
        return row[column]
    if "." not in column:
        return ABSENT
    parts = column.split(".")
    value, depth = _walk(row, parts)
    return value if depth == len(parts) else ABSENT


def _walk(value: Any, parts: list[str]) -> tuple[Any, int]:
    """Follow a key path (list positions as numbers) as far as it goes: the value reached, and how many parts
    were followed."""
    for depth, part in enumerate(parts):
        if isinstance(value, dict) and part in value:
            value = value[part]
        elif isinstance(value, list | tuple) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            return value, depth
    return value, len(parts)


def _where_path_stops(value: Any, parts: list[str], what: str) -> str:
    """Where a key path leaves `value` (what it is called: "the first record", "the file"), to say what to write."""
    reached, depth = _walk(value, parts)
    where = f"{what}'s {'.'.join(parts[:depth])}" if depth else what
    part = parts[depth]
    if isinstance(reached, dict):
        return f"{where} has no key '{part}' (keys: {', '.join(map(str, reached))})"
    if isinstance(reached, list | tuple):
        return f"{where} is a list of {len(reached)}: '{part}' is not a position in it"
    return f"{where} is {type(reached).__name__}, not an object with '{part}'"


def _get(row: dict[str, Any], key: str, field_map: dict[str, str]) -> tuple[Any, str]:
    spec = field_map.get(key, key)
    columns = spec.split(",")
    if len(columns) == 1:
        value = lookup(row, spec)
        return (None if value is ABSENT else value), spec
    parts = [None if (v := lookup(row, c)) is ABSENT else v for c in columns]
    text = "\n\n".join(str(p) for p in parts if p not in (None, "") and not _is_nan(p))
    return (text or None), spec


def _is_nan(value: Any) -> bool:
    return isinstance(value, float) and math.isnan(value)


def _to_item(
    row: dict[str, Any],
    mode: Mode,
    field_map: dict[str, str],
    file: str,
    where: int,
    index: int,
    decode: LabelDecoder,
) -> Item:
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
    agent = _agent(values, fail)
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
        data["label"] = decode(value, len(data.get("responses") or []), fail)
    used = {c for key in CANONICAL for c in field_map.get(key, key).split(",")}
    if "contexts" in values or ("contexts" not in field_map and row.get("context") is not None):
        data["contexts"] = _contexts(values, row, fail)
        used.add("context")
    for key in IMAGE_FIELDS:
        if key in values:
            data[key] = _images(values[key], key, mode, file, fail)
    data.update(agent)
    data["metadata"] = {k: v for k, v in row.items() if k not in used}
    if turns:
        data["turns"] = turns
    return Item(**data)


def _images(found: tuple[Any, str], key: str, mode: Mode, file: str, fail: Any) -> list[str]:
    """An image field: a list of references (or one; in CSV a JSON list or one reference), each a local path
    (relative to the data file's folder), an http(s) URL or a base64 data URL; a path becomes absolute, so the
    run directory says which file it was."""
    value, column = found
    if key not in IMAGES_SHOWN[mode]:
        raise fail(
            f"holds images of a field that {mode} judging does not show",
            column,
            hint=f"{mode} items take {', '.join(IMAGES_SHOWN[mode])}",
        )
    if isinstance(value, str) and value.lstrip().startswith("["):
        try:
            value = json.loads(value)  # CSV cells hold the list as JSON text
        except json.JSONDecodeError:
            raise fail("must be a list of images (in CSV: a JSON list)", column, hint='e.g. ["chart.png"]') from None
    refs = [value] if isinstance(value, str) else value
    if not isinstance(refs, list) or not all(isinstance(r, str) and r for r in refs):
        raise fail("must be a list of image paths or URLs", column, hint='e.g. ["chart.png", "https://..."]')
    local = [r for r in refs if not (is_url(r) or is_data_url(r))]
    if local and not (file.startswith("<") or Path(file).exists()):
        # records that came from elsewhere (a `jurist serve` request) never name files on this machine
        raise fail(
            f"names a local file ({local[0][:80]}), which items from {file} may not",
            column,
            hint="send the image as an http(s) URL or a data:image/...;base64 URL",
        )
    folder = Path(file).parent if not file.startswith("<") else Path.cwd()
    resolved = [r if r not in local else str((folder / r).resolve()) for r in refs]
    for ref, given in zip(resolved, refs, strict=True):
        wrong = image_problem(ref)
        if wrong is not None:
            shown = given if len(given) <= 80 else f"{given[:60]}..."
            raise fail(
                f"{wrong} (given as {shown})",
                column,
                hint="give an existing PNG, JPEG, GIF or WebP file (relative to the data file), an http(s) URL, "
                "or a data:image/...;base64 URL",
            )
    return resolved


def _agent(values: dict[str, tuple[Any, str]], fail: Any) -> dict[str, Any]:
    """An agent's `trajectory` (OpenAI or Anthropic messages; in CSV a JSON list) as steps, and its
    `requirements`; a trajectory stands in for a missing `prompt` (its first user text) and `response` (its last
    assistant text), which `values` gets."""
    found: dict[str, Any] = {}
    for key, read in (("trajectory", normalise_trajectory), ("requirements", requirements_of)):
        if key not in values:
            continue
        value, column = values[key]
        if isinstance(value, str) and value.lstrip().startswith("["):
            try:
                value = json.loads(value)  # CSV cells hold the list as JSON text
            except json.JSONDecodeError:
                raise fail("must be a list (in CSV: a JSON list)", column) from None
        try:
            found[key] = read(value, column)
        except TrajectoryError as exc:
            raise fail(
                exc.reason, exc.field, hint="see docs/guide.md, 'Agent trajectories', for the accepted messages"
            ) from None
    steps = found.get("trajectory") or []
    texts = {role: [s.text for s in steps if s.role == role and s.text.strip()] for role in ("user", "assistant")}
    if "prompt" not in values and texts["user"]:
        values["prompt"] = (texts["user"][0], "trajectory")
    if "response" not in values and steps:
        values["response"] = (texts["assistant"][-1] if texts["assistant"] else "", "trajectory")
    return found


def _contexts(values: dict[str, tuple[Any, str]], row: dict[str, Any], fail: Any) -> list[str]:
    """The retrieved passages: `contexts` (a list of texts; in CSV a JSON list), else `context` (one text, one
    passage)."""
    if "contexts" in values:
        value, column = values["contexts"]
        if isinstance(value, str):
            try:
                value = json.loads(value)  # CSV cells hold the list as JSON text
            except json.JSONDecodeError:
                raise fail(
                    "must be a list of passages (in CSV: a JSON list)",
                    column,
                    hint='e.g. ["first passage", "second"]; one passage as text goes in `context`',
                ) from None
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise fail(
                f"must be a list of passages (texts), got {type(value).__name__}",
                column,
                hint='e.g. ["first passage", "second"]; one passage as text goes in `context`',
            )
        return list(value)
    value = row["context"]
    if not isinstance(value, str):
        raise fail(
            f"must be one passage (text), got {type(value).__name__}",
            "context",
            hint="give several passages as a list in `contexts`",
        )
    return [value]


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
        if text not in _PAIRWISE_LABELS:
            raise fail(f"pairwise label '{value}' is not one of A, B, tie (or 1, 2, 0)", column, hint)
        return _PAIRWISE_LABELS[text]
    if mode == "pointwise":
        try:
            number = float(value)
        except (TypeError, ValueError):
            # A category name (Yes/No, safe/unsafe): checked against the judge's scale before any call.
            if isinstance(value, str) and value.strip():
                return value.strip()
            raise fail(f"pointwise label {value!r} is not a number or a category name", column, hint) from None
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


# The built-in reading of pairwise labels (kept as it is: runs made with it keep their labels).
_PAIRWISE_LABELS = {"a": "A", "1": "A", "b": "B", "2": "B", "tie": "tie", "0": "tie", "c": "tie", "draw": "tie"}
_WINNERS = {"a": "A", "b": "B", "tie": "tie"}


def _raw_text(value: Any) -> str:
    """A raw label as text, as the user would write it in --label-map: 2.0 -> "2"."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, float):
        return f"{value:g}"
    return str(value).strip()


class LabelDecoder:
    """Reads raw label values: by a map when given (--label-map for the data's labels, --decision-map for a judge's
    recorded decisions), else by the built-in conventions. The one reader of labels: `__call__` reads a data set's
    labels, `decision` a judge's recorded decisions. It remembers what it read (raw -> label) for the label line
    printed before judging, and whether pairwise integers were read by the built-in convention, which is ambiguous
    (0 is a tie for some data sets, the first response for others)."""

    def __init__(self, mode: Mode, label_map: dict[str, str] | None, column: str, *, flag: str = "--label-map") -> None:
        self.mode, self.column, self.flag = mode, column, flag
        self.map: dict[str, tuple[str, str | float]] | None = None
        if label_map:
            if mode == "listwise":
                raise ConfigError(f"{flag} applies to pairwise and pointwise labels; listwise labels are rankings")
            self.map = {raw.casefold(): (raw, self._target(raw, label)) for raw, label in label_map.items()}
        self.seen: dict[str, str] = {}
        self.integers = False

    def _target(self, raw: str, label: str) -> str | float:
        if self.mode == "pairwise":
            winner = _WINNERS.get(label.strip().lower())
            if winner is None:
                raise ConfigError(f"{self.flag} {raw}={label}: '{label}' is not a pairwise label (A, B or tie)")
            return winner
        try:
            number = float(label)
        except ValueError:
            return label  # a category name
        if not math.isfinite(number):
            raise ConfigError(f"{self.flag} {raw}={label}: a scale point must be a finite number")
        return number

    def decision(self, value: str, labels: list[str]) -> str | None:
        """A judge's recorded decision as one of the judge's `labels`, or None when it names none. With a map, as the
        map says; without one the decision must already be a label (case aside): unlike a data set's labels, a
        judge's 1 or 0 is never read by a convention, since judges' outputs follow no common one."""
        if self.map is None:
            label: str | float = value
        else:
            entry = self.map.get(_raw_text(value).casefold())
            if entry is None:
                return None
            label = entry[1]
        text = _raw_text(label).casefold()
        return next((name for name in labels if name.casefold() == text), None)

    def __call__(self, value: Any, k: int, fail: Any) -> str | float | list[int]:
        label: str | float | list[int]
        raw = _raw_text(value)
        if self.map is not None:
            if isinstance(value, float) and not math.isfinite(value):
                raise fail(f"label {value} is not a finite number", self.column, "write null or leave it empty")
            entry = self.map.get(raw.casefold())
            if entry is None:
                known = ", ".join(r for r, _ in self.map.values())
                raise fail(
                    f"label '{raw}' is not in {self.flag} (which maps {known})",
                    self.column,
                    f"add it to the map ({raw}=LABEL), or fix the label",
                )
            label = entry[1]
        else:
            label = _normalise_label(value, self.mode, k, fail, self.column)
            if self.mode == "pairwise" and not isinstance(value, bool) and re.fullmatch(r"[+-]?\d+", raw):
                self.integers = True
        if self.mode != "listwise" and raw != _raw_text(label):
            self.seen.setdefault(raw, _raw_text(label))
        return label

    def warnings(self) -> list[str]:
        if not self.integers:
            return []
        return [
            f"the labels in '{self.column}' are integers, read by jurist's convention 1 = A (the first response), "
            "2 = B, 0 = tie. Some data sets use another (e.g. 0 = first, 1 = second, 2 = tie): check the data's "
            "documentation and say how to read them with --label-map (this convention is --label-map 1=A,2=B,0=tie)"
        ]
