"""Property test of every data loader: generated rows, some malformed, written as JSONL, JSON, CSV and Parquet and
loaded in each mode, give a clean load or an InputError, never another exception, and never a row renumbered or
dropped without a word."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jurist import InputError, load_items

FORMATS = ("jsonl", "json", "csv", "parquet")
MODES = ("pointwise", "pairwise", "listwise")

text = st.text(max_size=12)
# What a cell may hold: text (including template syntax and placeholders), numbers of every kind, nothing.
scalar = st.one_of(
    text,
    st.sampled_from(["{{ 7 * 7 }}", "{prompt}", "{% if x %}", "A", "tie", "3", "nan", "inf", "[2, 1]", ""]),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.none(),
)
value = st.one_of(scalar, st.lists(scalar, max_size=3), st.dictionaries(text, scalar, max_size=2))
ids = st.one_of(st.text(min_size=1, max_size=6), st.integers(0, 10**6))
labels = st.sampled_from(["A", "b", "tie", 1, 2, 0, 3.5, "4", "[2, 1]", [2, 1], math.inf, -math.inf, math.nan, "x"])
FIELDS = ("prompt", "response", "response_a", "response_b", "responses", "label", "reference", "turns", "id")


@st.composite
def rows(draw: Any) -> list[dict[str, Any]]:
    """Records with the fields of every mode, some with labels; in a messy file, fields of any kind besides."""
    count = draw(st.integers(1, 4))
    give_ids = draw(st.sampled_from(["all", "none", "some"]))
    messy = draw(st.booleans())
    records = []
    for _ in range(count):
        record: dict[str, Any] = {}
        if give_ids == "all" or (give_ids == "some" and draw(st.booleans())):
            record["id"] = draw(ids)
        record.update(
            prompt=draw(text.filter(str.strip)),
            response=draw(text),
            response_a=draw(text),
            response_b=draw(text),
            responses=draw(st.lists(text, min_size=2, max_size=3)),
            extra=draw(text),
        )
        if draw(st.booleans()):
            record["label"] = draw(labels)
        if messy:
            for key in draw(st.sets(st.sampled_from(FIELDS), min_size=1, max_size=3)):
                record[key] = draw(value)
            record["extra"] = draw(value)
        records.append(record)
    return records


def _write(path: Path, fmt: str, records: list[dict[str, Any]], corruption: str) -> bool:
    """Write the records; False when the format cannot hold them at all (e.g. mixed column types in Parquet)."""
    if fmt == "jsonl":
        body = "".join(json.dumps(r) + "\n" for r in records).encode()
    elif fmt == "json":
        body = json.dumps(records, indent=1).encode()
    elif fmt == "csv":
        columns = list(dict.fromkeys(k for r in records for k in r))
        with path.open("w", newline="", encoding="utf-8") as fh:
            writer = csv.DictWriter(fh, fieldnames=columns)
            writer.writeheader()
            for r in records:
                writer.writerow({k: json.dumps(v) if isinstance(v, list | dict) else v for k, v in r.items()})
        body = path.read_bytes()
    else:
        import pyarrow as pa
        import pyarrow.parquet as pq

        columns = list(dict.fromkeys(k for r in records for k in r))  # from_pylist reads only the first's keys
        try:
            pq.write_table(pa.Table.from_pylist([{k: r.get(k) for k in columns} for r in records]), path)
        except (pa.ArrowException, OverflowError, TypeError, ValueError):
            return False
        return True
    if corruption == "bom":
        body = b"\xef\xbb\xbf" + body
    elif corruption == "latin1":
        body = body.replace(b"e", b"\xe9", 1)
    elif corruption == "truncated":
        body = body[: len(body) * 2 // 3]
    elif corruption == "crlf":
        body = body.replace(b"\n", b"\r\n")
    path.write_bytes(body)
    return True


def _id_as_read(value: Any, fmt: str) -> str | None:
    """The id a record's value gives, as the loader reads it from this format (None: no id)."""
    if fmt == "csv":  # written as text: None as an empty cell, lists and dicts as JSON
        cell = json.dumps(value) if isinstance(value, list | dict) else "" if value is None else str(value)
        return cell or None
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # pandas stores an integer column with gaps as floats
    return str(value)


def _expected_ids(records: list[dict[str, Any]], fmt: str, corruption: str) -> list[str] | None:
    """The ids a clean load must give, or None where the load must fail (some records without an id, or ids
    that are neither text nor numbers)."""
    given_ids = [_id_as_read(r.get("id"), fmt) for r in records]
    if all(i is None for i in given_ids):
        return [str(k) for k in range(len(records))]
    if any(i is None for i in given_ids):
        return None  # some records without an id: refused rather than numbered
    if fmt != "csv" and any(isinstance(r["id"], bool | list | dict) for r in records):
        return None
    expected = [i for i in given_ids if i is not None]
    if fmt == "csv" and corruption == "crlf":  # the corruption also rewrote line breaks inside quoted ids
        expected = [i.replace("\n", "\r\n") for i in expected]
    return expected


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    records=rows(),
    fmt=st.sampled_from(FORMATS),
    mode=st.sampled_from(MODES),
    corruption=st.sampled_from(["none", "none", "bom", "latin1", "truncated", "crlf"]),
)
def test_every_loader_loads_cleanly_or_says_why(tmp_path_factory, records, fmt, mode, corruption):
    if fmt == "parquet":
        corruption = "none"  # a binary format: damage is pyarrow's to find
    path = tmp_path_factory.mktemp("data") / f"d.{fmt}"
    if not _write(path, fmt, records, corruption):
        return
    try:
        loaded = load_items(path, mode)
    except InputError as exc:
        assert exc.file == str(path)
        return
    assert corruption != "latin1", "invalid UTF-8 was read without a word"
    ids = [it.id for it in loaded.items]
    if corruption == "truncated":
        # A cut JSON list never parses; JSONL and CSV lose what was cut, and CSV's last row read may be cut short:
        # the records before it must be intact.
        assert fmt != "json" and len(ids) <= len(records)
        records = records[: len(ids) - 1]
        ids = ids[: len(records)]
    expected = _expected_ids(records, fmt, corruption)
    assert expected is not None, "records without an id were numbered instead of refused"
    assert ids == expected  # one item per record, in order, with the record's id (or its position)
    for item in loaded.items:
        assert not isinstance(item.label, float) or math.isfinite(item.label)


@pytest.mark.parametrize("mode", MODES)
def test_a_well_formed_file_in_every_format_loads_every_row(tmp_path, mode):
    records = [
        {"id": f"r{k}", "prompt": "p", "response": "x", "response_a": "a", "response_b": "b", "responses": ["x", "y"]}
        for k in range(3)
    ]
    for fmt in FORMATS:
        path = tmp_path / f"d.{fmt}"
        assert _write(path, fmt, records, "none")
        assert [it.id for it in load_items(path, mode).items] == ["r0", "r1", "r2"]
