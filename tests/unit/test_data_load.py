"""Loading items from files: formats, field mapping, labels, and the real benchmark files without conversion."""

from __future__ import annotations

import csv
import gzip
import json

import pytest

from jurist import ConfigError, InputError, load_items
from jurist.data import describe_labels, parse_field_map, parse_label_map, select_items

from .helpers import shared

ROWS = [
    {"id": "a", "prompt": "Name a prime.", "response": "Seven.", "label": 4, "source": "unit", "len": 6},
    {"id": "b", "prompt": "Name an even number.", "response": "Nine.", "label": 1, "source": "unit", "len": 5},
]


def write_jsonl(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def write_csv(path, rows):
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


def check_rows(loaded):
    assert [it.id for it in loaded.items] == ["a", "b"]
    first = loaded.items[0]
    assert first.prompt == "Name a prime." and first.response == "Seven."
    assert first.label == 4.0
    assert loaded.items[1].label == 1.0


def test_jsonl(tmp_path):
    loaded = load_items(write_jsonl(tmp_path / "d.jsonl", ROWS), "pointwise")
    check_rows(loaded)
    assert loaded.items[0].metadata == {"source": "unit", "len": 6}
    assert loaded.lines == {"a": 1, "b": 2}
    assert loaded.unit == "line"


def test_jsonl_skips_blank_lines_and_counts_lines(tmp_path):
    path = tmp_path / "d.jsonl"
    path.write_text("\n" + json.dumps(ROWS[0]) + "\n\n" + json.dumps(ROWS[1]) + "\n")
    assert load_items(path, "pointwise").lines == {"a": 2, "b": 4}


def test_json_list_with_line_numbers(tmp_path):
    path = tmp_path / "d.json"
    path.write_text(json.dumps(ROWS, indent=2))
    loaded = load_items(path, "pointwise")
    check_rows(loaded)
    assert loaded.lines["a"] == 2
    second_at = path.read_text().splitlines().index("  {", 2) + 1
    assert loaded.lines["b"] == second_at


def test_csv(tmp_path):
    loaded = load_items(write_csv(tmp_path / "d.csv", ROWS), "pointwise")
    check_rows(loaded)
    assert loaded.items[0].metadata == {"source": "unit", "len": "6"}  # CSV cells are text
    assert loaded.lines == {"a": 2, "b": 3}


def test_csv_with_multiline_cell_counts_physical_lines(tmp_path):
    rows = [dict(ROWS[0], response="Seven.\nIt is prime."), ROWS[1]]
    loaded = load_items(write_csv(tmp_path / "d.csv", rows), "pointwise")
    assert loaded.items[0].response == "Seven.\nIt is prime."
    assert loaded.lines == {"a": 2, "b": 4}


def test_parquet(tmp_path):
    import pandas as pd

    path = tmp_path / "d.parquet"
    pd.DataFrame(ROWS).to_parquet(path, index=False)
    loaded = load_items(path, "pointwise")
    check_rows(loaded)
    assert loaded.items[1].metadata == {"source": "unit", "len": 5}
    assert loaded.unit == "row"
    assert loaded.lines == {"a": 1, "b": 2}


def test_parquet_with_missing_values(tmp_path):
    import pandas as pd

    rows = [dict(ROWS[0], label=None), ROWS[1]]
    path = tmp_path / "d.parquet"
    pd.DataFrame(rows).to_parquet(path, index=False)
    loaded = load_items(path, "pointwise")
    assert loaded.items[0].label is None  # NaN is "no label"
    assert loaded.items[1].label == 1.0


def test_hugging_face_saved_dataset(tmp_path):
    datasets = pytest.importorskip("datasets")
    folder = tmp_path / "ds"
    datasets.Dataset.from_list(ROWS).save_to_disk(str(folder))
    loaded = load_items(folder, "pointwise")
    check_rows(loaded)
    assert loaded.items[0].metadata == {"source": "unit", "len": 6}
    assert loaded.unit == "row"


def test_folder_that_is_not_a_dataset(tmp_path):
    with pytest.raises(InputError, match="not a saved dataset"):
        load_items(tmp_path, "pointwise")


def test_ids_numbered_when_absent(tmp_path):
    rows = [{"prompt": "p", "response": f"r{i}"} for i in range(3)]
    loaded = load_items(write_jsonl(tmp_path / "d.jsonl", rows), "pointwise")
    assert [it.id for it in loaded.items] == ["0", "1", "2"]


def test_numeric_ids_become_text(tmp_path):
    import pandas as pd

    path = tmp_path / "d.parquet"
    pd.DataFrame([{"id": 7, "prompt": "p", "response": "r"}, {"id": 8, "prompt": "p", "response": "r"}]).to_parquet(
        path
    )
    assert [it.id for it in load_items(path, "pointwise").items] == ["7", "8"]


@pytest.mark.parametrize(
    ("label", "expected"),
    [("A", "A"), ("b", "B"), ("tie", "tie"), ("Tie", "tie"), (1, "A"), (2, "B"), (0, "tie"), ("0", "tie"), (2.0, "B")],
)
def test_pairwise_labels(tmp_path, label, expected):
    row = {"prompt": "p", "response_a": "x", "response_b": "y", "label": label}
    assert load_items(write_jsonl(tmp_path / "d.jsonl", [row]), "pairwise").items[0].label == expected


@pytest.mark.parametrize(("label", "expected"), [(4, 4.0), ("3.5", 3.5), (0.25, 0.25)])
def test_pointwise_labels(tmp_path, label, expected):
    row = {"prompt": "p", "response": "x", "label": label}
    assert load_items(write_jsonl(tmp_path / "d.jsonl", [row]), "pointwise").items[0].label == expected


@pytest.mark.parametrize(("label", "expected"), [([2, 3, 1], [2, 3, 1]), ("[3, 1, 2]", [3, 1, 2]), (2, [2])])
def test_listwise_labels(tmp_path, label, expected):
    row = {"prompt": "p", "responses": ["x", "y", "z"], "label": label}
    assert load_items(write_jsonl(tmp_path / "d.jsonl", [row]), "listwise").items[0].label == expected


def test_listwise_responses_from_csv_json_cell(tmp_path):
    rows = [{"prompt": "p", "responses": json.dumps(["x", "y"]), "label": "[2, 1]"}]
    item = load_items(write_csv(tmp_path / "d.csv", rows), "listwise").items[0]
    assert item.responses == ["x", "y"] and item.label == [2, 1]


@pytest.mark.parametrize(
    ("row", "field", "needle"),
    [
        ({"prompt": "p", "responses": ["x", "y"], "label": [1, 1]}, "label", "rank every position"),
        ({"prompt": "p", "responses": ["x", "y"], "label": 3}, "label", "between 1 and 2"),
        ({"prompt": "p", "responses": ["x", "y"], "label": [None, "a"]}, "label", "rank every position"),
        ({"prompt": "p", "responses": ["x", "y"], "label": [True, 2]}, "label", "rank every position"),
        ({"prompt": "p", "responses": ["x"]}, "responses", "at least two"),
        ({"prompt": "p", "responses": "x, y"}, "responses", "list of texts"),
        ({"prompt": "p", "responses": ["x", 2]}, "responses", "list of texts"),
    ],
)
def test_listwise_bad_records(tmp_path, row, field, needle):
    with pytest.raises(InputError) as info:
        load_items(write_jsonl(tmp_path / "d.jsonl", [row]), "listwise")
    assert info.value.field == field and info.value.line == 1
    assert needle in str(info.value)


def test_field_mapping_and_joined_columns(tmp_path):
    rows = [{"q": "Summarise:", "ctx": "A long text.", "out": "Short.", "gold": 5, "keep": True}]
    mapping = parse_field_map(["prompt=q,ctx", "response=out", "label=gold"])
    item = load_items(write_jsonl(tmp_path / "d.jsonl", rows), "pointwise", mapping).items[0]
    assert item.prompt == "Summarise:\n\nA long text."
    assert item.response == "Short."
    assert item.label == 5.0
    assert item.metadata == {"keep": True}  # mapped columns are not repeated as metadata


def test_parse_field_map():
    assert parse_field_map(["prompt=input", " response = output "]) == {"prompt": "input", "response": "output"}
    for bad in ("prompt", "=x", "prompt=", "question=input"):
        with pytest.raises(InputError):
            parse_field_map([bad])


def test_boolean_response_is_its_word_and_empty_response_is_kept(tmp_path):
    rows = [{"prompt": "Is 7 prime?", "response_a": True, "response_b": ""}]
    item = load_items(write_jsonl(tmp_path / "d.jsonl", rows), "pairwise").items[0]
    assert item.response_a == "True"
    assert item.response_b == ""


# -- the real benchmark files, through field mapping only ------------------------------------------------------


def test_llmbar_natural():
    path = shared("llmbar/LLMBar/Natural/dataset.json")
    mapping = parse_field_map(["prompt=input", "response_a=output_1", "response_b=output_2"])
    loaded = load_items(path, "pairwise", mapping)
    assert len(loaded.items) == 100
    raw = json.loads(path.read_text())
    first = loaded.items[0]
    assert first.prompt == raw[0]["input"]
    assert first.response_a == raw[0]["output_1"] and first.response_b == raw[0]["output_2"]
    assert {it.label for it in loaded.items} <= {"A", "B"}
    assert [it.label for it in loaded.items] == [{1: "A", 2: "B"}[r["label"]] for r in raw]
    assert first.id == "0" and first.metadata == {}


def test_pandalm_testset():
    path = shared("pandalm_testset/testset-v1.json")
    mapping = parse_field_map(
        ["prompt=instruction,input", "response_a=response1", "response_b=response2", "label=annotator1"]
    )
    loaded = load_items(path, "pairwise", mapping)
    raw = json.loads(path.read_text())
    assert len(loaded.items) == len(raw) == 999
    first = loaded.items[0]
    assert first.prompt == raw[0]["instruction"] + "\n\n" + raw[0]["input"]
    assert first.label == {0: "tie", 1: "A", 2: "B"}[raw[0]["annotator1"]]
    labels = [it.label for it in loaded.items]
    assert labels.count("tie") == sum(r["annotator1"] == 0 for r in raw)
    # Other columns are kept: the other annotators' labels, for multi-annotator analyses.
    assert first.metadata["annotator2"] == raw[0]["annotator2"]
    assert first.metadata["idx"] == 0
    # Rows with an empty input keep just the instruction.
    no_input = next(i for i, r in enumerate(raw) if not r["input"])
    assert loaded.items[no_input].prompt == raw[no_input]["instruction"]


def test_alpaca_eval_model_outputs(tmp_path):
    source = shared("alpaca_eval/model_outputs/alpaca-7b.json.gz")
    with gzip.open(source, "rt", encoding="utf-8") as fh:
        rows = json.load(fh)[:5]
    path = tmp_path / "alpaca-7b.json"
    path.write_text(json.dumps(rows, indent=2))
    loaded = load_items(path, "pointwise", parse_field_map(["prompt=instruction", "response=output"]))
    assert len(loaded.items) == 5
    assert loaded.items[0].prompt == rows[0]["instruction"]
    assert loaded.items[0].response == rows[0]["output"]
    assert loaded.items[0].metadata == {"dataset": rows[0]["dataset"], "generator": "alpaca-7b"}


# -- hostile files: encodings, nesting, long fields, labels, ids ---------------------------------------------


def test_byte_order_mark_is_ignored_in_every_text_format(tmp_path):
    # Excel's "CSV UTF-8" and Notepad write a BOM; the id column must still be the id column.
    bom = "\ufeff"
    csv_path = write_csv(tmp_path / "d.csv", ROWS)
    csv_path.write_text(bom + csv_path.read_text(encoding="utf-8"), encoding="utf-8")
    jsonl_path = write_jsonl(tmp_path / "d.jsonl", ROWS)
    jsonl_path.write_text(bom + jsonl_path.read_text(encoding="utf-8"), encoding="utf-8")
    json_path = tmp_path / "d.json"
    json_path.write_text(bom + json.dumps(ROWS, indent=2), encoding="utf-8")
    for path in (csv_path, jsonl_path, json_path):
        loaded = load_items(path, "pointwise")
        check_rows(loaded)
        assert "\ufeffid" not in loaded.items[0].metadata


@pytest.mark.parametrize("suffix", [".jsonl", ".csv", ".json"])
def test_invalid_utf8_names_the_file_and_line(tmp_path, suffix):
    path = tmp_path / f"d{suffix}"
    if suffix == ".jsonl":
        good = json.dumps(ROWS[0]).encode()
        path.write_bytes(good + b"\n" + json.dumps(ROWS[1]).encode().replace(b"Nine", b"Neuf \xe9") + b"\n")
    elif suffix == ".csv":
        path.write_bytes(b"id,prompt,response\na,p,r\nb,p,caf\xe9\n")
    else:
        path.write_bytes(b'[\n  {"prompt": "p", "response": "r"},\n  {"prompt": "p", "response": "caf\xe9"}\n]\n')
    with pytest.raises(InputError) as info:
        load_items(path, "pointwise")
    assert info.value.file == str(path)
    assert info.value.line == 3 if suffix != ".jsonl" else info.value.line == 2
    assert "UTF-8" in str(info.value) and "re-save" in str(info.value)


@pytest.mark.parametrize("suffix", [".jsonl", ".json"])
def test_json_nested_thousands_deep_is_an_input_error(tmp_path, suffix):
    deep = "[" * 5000 + "]" * 5000
    record = '{"prompt": "p", "response": "r", "extra": ' + deep + "}"
    path = tmp_path / f"d{suffix}"
    path.write_text(record + "\n" if suffix == ".jsonl" else "[\n" + record + "\n]\n")
    with pytest.raises(InputError) as info:
        load_items(path, "pointwise")
    assert info.value.file == str(path) and info.value.line is not None
    assert "nested" in str(info.value)


def test_nesting_that_json_parses_but_a_verdict_cannot_hold_is_refused(tmp_path):
    # Deep enough to parse, too deep for the metadata to be written with the verdict later.
    deep = "[" * 600 + "]" * 600
    path = tmp_path / "d.jsonl"
    path.write_text('{"prompt": "p", "response": "r", "extra": ' + deep + "}\n")
    with pytest.raises(InputError, match="nested") as info:
        load_items(path, "pointwise")
    assert info.value.line == 1 and info.value.field == "extra"


def test_csv_field_over_the_csv_module_default_limit_loads(tmp_path):
    long = "x" * 200_000  # a long response is legitimate data (the csv module's default limit is 131072)
    path = write_csv(tmp_path / "d.csv", [{"id": "a", "prompt": "p", "response": long}])
    assert load_items(path, "pointwise").items[0].response == long


def test_csv_with_a_repeated_column_name_is_refused(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text("id,prompt,response,response\na,p,first,second\n")
    with pytest.raises(InputError) as info:
        load_items(path, "pointwise")
    assert info.value.line == 1 and info.value.field == "response"


def test_csv_unterminated_quote_does_not_swallow_the_rows_after_it(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text('id,prompt,response\na,p,r\nb,p,"never closed\nc,p,r\nd,p,r\n')
    with pytest.raises(InputError) as info:
        load_items(path, "pointwise")
    assert info.value.line == 3 and "quote" in str(info.value)


def test_csv_text_after_a_closing_quote_is_an_input_error(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text('id,prompt,response\na,p,"quoted" then more\n')
    with pytest.raises(InputError) as info:
        load_items(path, "pointwise")
    assert info.value.line == 2


@pytest.mark.parametrize("text", ["Infinity", "-Infinity", "NaN"])
def test_non_finite_pointwise_labels_are_input_errors(tmp_path, text):
    path = tmp_path / "d.jsonl"
    path.write_text('{"id": "a", "prompt": "p", "response": "r", "label": 3}\n')
    path.write_text(path.read_text() + '{"id": "b", "prompt": "p", "response": "r", "label": ' + text + "}\n")
    with pytest.raises(InputError) as info:
        load_items(path, "pointwise")
    assert info.value.line == 2 and info.value.field == "label"


@pytest.mark.parametrize("text", ["inf", "-Infinity", "nan"])
def test_non_finite_labels_in_csv_are_input_errors(tmp_path, text):
    path = write_csv(tmp_path / "d.csv", [{"prompt": "p", "response": "r", "label": text}])
    with pytest.raises(InputError) as info:
        load_items(path, "pointwise")
    assert info.value.line == 2 and info.value.field == "label"


def test_some_records_without_an_id_are_refused_not_numbered(tmp_path):
    rows = [{"id": "x", "prompt": "p", "response": "r"}, {"prompt": "p", "response": "r"}]
    with pytest.raises(InputError) as info:
        load_items(write_jsonl(tmp_path / "d.jsonl", rows), "pointwise")
    assert info.value.line == 2 and info.value.field == "id"


@pytest.mark.parametrize("bad", [{"k": 1}, [1], True, ""])
def test_an_id_must_be_text_or_a_number(tmp_path, bad):
    rows = [{"id": bad, "prompt": "p", "response": "r"}]
    with pytest.raises(InputError) as info:
        load_items(write_jsonl(tmp_path / "d.jsonl", rows), "pointwise")
    assert info.value.field == "id"


def test_unpaired_surrogate_escape_is_an_input_error(tmp_path):
    path = tmp_path / "d.jsonl"
    path.write_text('{"prompt": "p", "response": "r"}\n{"prompt": "p", "response": "bad \\ud800 text"}\n')
    with pytest.raises(InputError) as info:
        load_items(path, "pointwise")
    assert info.value.line == 2 and info.value.field == "response"


# -- labels: --label-map, the label line, integer labels read with no map, category names -------------------------


def pairs(labels, column="gold"):
    return [
        {"id": f"p{n}", "prompt": f"Question {n}?", "response_a": "First.", "response_b": "Second.", column: label}
        for n, label in enumerate(labels)
    ]


def test_label_map_reads_zero_as_the_first_response(tmp_path):
    # A published convention jurist's built-in reading gets wrong: 0 = first response, 1 = second, 2 = tie.
    path = write_jsonl(tmp_path / "d.jsonl", pairs([0, 1, 2, 0, 0]))
    loaded = load_items(path, "pairwise", {"label": "gold"}, label_map=parse_label_map("0=A,1=B,2=tie"))
    assert [it.label for it in loaded.items] == ["A", "B", "tie", "A", "A"]
    assert loaded.warnings == []
    assert describe_labels(loaded) == "labels: A 3, B 1, tie 1 (from gold: 0->A, 1->B, 2->tie)"


def test_a_raw_label_missing_from_the_map_names_file_line_and_column(tmp_path):
    path = write_jsonl(tmp_path / "d.jsonl", pairs([0, 1, 3]))
    with pytest.raises(InputError) as info:
        load_items(path, "pairwise", {"label": "gold"}, label_map=parse_label_map("0=A,1=B,2=tie"))
    assert (info.value.file, info.value.line, info.value.field) == (str(path), 3, "gold")
    assert "'3' is not in --label-map" in str(info.value)


def test_label_map_keys_match_text_and_numbers_alike(tmp_path):
    # CSV cells are text, JSON has floats: "1", 1 and 1.0 are the same raw value; names match case-insensitively.
    path = write_csv(tmp_path / "d.csv", pairs(["1", "2", "Tie"]))
    loaded = load_items(path, "pairwise", {"label": "gold"}, label_map=parse_label_map("1=b,2=a,tie=tie"))
    assert [it.label for it in loaded.items] == ["B", "A", "tie"]
    path = write_jsonl(tmp_path / "d.jsonl", pairs([1.0, 2.0]))
    loaded = load_items(path, "pairwise", {"label": "gold"}, label_map=parse_label_map("1=B,2=A"))
    assert [it.label for it in loaded.items] == ["B", "A"]


@pytest.mark.parametrize(
    ("spec", "needle"),
    [("0=A,1", "not RAW=LABEL"), ("0=A,0=B", "mapped twice"), ("=A", "not RAW=LABEL")],
)
def test_bad_label_map_specs(spec, needle):
    with pytest.raises(ConfigError, match=needle):
        parse_label_map(spec)


def test_pairwise_label_map_must_name_a_winner(tmp_path):
    path = write_jsonl(tmp_path / "d.jsonl", pairs([0]))
    with pytest.raises(ConfigError, match="A, B or tie"):
        load_items(path, "pairwise", {"label": "gold"}, label_map={"0": "first"})
    listwise = write_jsonl(tmp_path / "l.jsonl", [{"prompt": "p", "responses": ["x", "y"], "label": 1}])
    with pytest.raises(ConfigError, match="listwise"):
        load_items(listwise, "listwise", label_map={"1": "2"})


def test_integer_labels_with_no_map_are_read_as_before_and_warned_about(tmp_path):
    path = write_jsonl(tmp_path / "d.jsonl", pairs([1, 2, 0, 2]))
    loaded = load_items(path, "pairwise", {"label": "gold"})
    assert [it.label for it in loaded.items] == ["A", "B", "tie", "B"]  # the built-in reading is unchanged
    (warning,) = loaded.warnings
    assert "'gold'" in warning and "1 = A" in warning and "0 = tie" in warning and "--label-map" in warning
    assert describe_labels(loaded) == "labels: A 1, B 2, tie 1 (from gold: 1->A, 2->B, 0->tie)"


def test_letter_labels_need_no_map_and_get_no_warning(tmp_path):
    loaded = load_items(write_jsonl(tmp_path / "d.jsonl", pairs(["A", "b", "tie"])), "pairwise", {"label": "gold"})
    assert loaded.warnings == []
    assert describe_labels(loaded) == "labels: A 1, B 1, tie 1 (from gold: b->B)"


def test_pandalm_annotator_labels_and_the_label_line():
    path = shared("pandalm_testset/testset-v1.json")
    mapping = parse_field_map(["prompt=instruction,input", "response_a=response1", "response_b=response2"])
    raw = json.loads(path.read_text())
    counts = {code: sum(r["annotator1"] == code for r in raw) for code in (0, 1, 2)}
    loaded = load_items(
        path, "pairwise", {**mapping, "label": "annotator1"}, label_map=parse_label_map("1=A,2=B,0=tie")
    )
    assert describe_labels(loaded) == (
        f"labels: A {counts[1]}, B {counts[2]}, tie {counts[0]} (from annotator1: 1->A, 2->B, 0->tie)"
    )
    # read with the other convention, the same column gives other counts, and says how it was read
    other = load_items(path, "pairwise", {**mapping, "label": "annotator1"}, label_map=parse_label_map("0=A,1=B,2=tie"))
    assert describe_labels(other).startswith(f"labels: A {counts[0]}, B {counts[1]}, tie {counts[2]} (from")


@pytest.mark.parametrize(
    ("spec", "labels", "expected"),
    [
        ("No=0,Yes=1", ["Yes", "No", "yes"], [1.0, 0.0, 1.0]),
        ("0=safe,1=unsafe", [0, 1, "1"], ["safe", "unsafe", "unsafe"]),
    ],
)
def test_pointwise_label_map_gives_scale_points_or_category_names(tmp_path, spec, labels, expected):
    rows = [{"prompt": "p", "response": "r", "label": label} for label in labels]
    loaded = load_items(write_jsonl(tmp_path / "d.jsonl", rows), "pointwise", label_map=parse_label_map(spec))
    assert [it.label for it in loaded.items] == expected


@pytest.mark.parametrize("label", ["Yes", "unsafe", "Serious"])
def test_pointwise_category_names_are_kept_as_labels(tmp_path, label):
    rows = [{"prompt": "p", "response": "r", "label": label}, {"prompt": "p", "response": "r", "label": 3}]
    loaded = load_items(write_jsonl(tmp_path / "d.jsonl", rows), "pointwise")
    assert loaded.items[0].label == label and loaded.items[1].label == 3.0


def test_numeric_label_line_summarises_many_values(tmp_path):
    rows = [{"prompt": "p", "response": "r", "label": 1 + k / 10} for k in range(30)]
    loaded = load_items(write_jsonl(tmp_path / "d.jsonl", rows), "pointwise")
    assert describe_labels(loaded) == "labels: 30 scores from 1 to 3.9 (mean 2.45)"
    few = load_items(write_jsonl(tmp_path / "e.jsonl", [*rows[:2], {"prompt": "p", "response": "r"}]), "pointwise")
    assert describe_labels(few) == "labels: 1: 1, 1.1: 1, no label 1"


# -- dotted paths into nested records, and items under a key -------------------------------------------------------

NESTED = [
    {
        "id": "s1",
        "source": {"text": "Book a table for two.", "turns": 1},
        "system_output": "A table for two is booked.",
        "annotations": {"informativeness": {"mean_human": 5.0, "votes": [5, 5, 5]}},
        "scores": [4, 3],
    },
    {
        "id": "s2",
        "source": {"text": "Find a cheap hotel.", "turns": 1},
        "system_output": "The Grand is expensive.",
        "annotations": {"informativeness": {"mean_human": 2.5, "votes": [2, 3, 2]}},
        "scores": [2, 1],
    },
]


def test_field_takes_dotted_paths_and_list_positions(tmp_path):
    path = write_jsonl(tmp_path / "d.jsonl", NESTED)
    mapping = parse_field_map(
        ["prompt=source.text", "response=system_output", "label=annotations.informativeness.mean_human"]
    )
    loaded = load_items(path, "pointwise", mapping)
    assert [it.prompt for it in loaded.items] == ["Book a table for two.", "Find a cheap hotel."]
    assert [it.label for it in loaded.items] == [5.0, 2.5]
    # the nested column stays in the metadata: only a part of it was used
    assert loaded.items[0].metadata["annotations"]["informativeness"]["votes"] == [5, 5, 5]
    by_position = load_items(path, "pointwise", {**mapping, "label": "scores.1"})
    assert [it.label for it in by_position.items] == [3.0, 1.0]


def test_a_dotted_path_the_data_lacks_says_where_it_stops(tmp_path):
    path = write_jsonl(tmp_path / "d.jsonl", NESTED)
    mapping = parse_field_map(["prompt=source.text", "response=system_output", "label=annotations.fluency.mean_human"])
    with pytest.raises(InputError) as info:
        load_items(path, "pointwise", mapping)
    text = str(info.value)
    assert "annotations.fluency.mean_human" in text and "has no key 'fluency' (keys: informativeness)" in text


def test_a_column_whose_name_holds_dots_is_read_as_it_is(tmp_path):
    rows = [{"prompt": "p", "response": "r", "score.mean": 4}]
    loaded = load_items(write_csv(tmp_path / "d.csv", rows), "pointwise", {"label": "score.mean"})
    assert loaded.items[0].label == 4.0


def test_records_reads_items_under_a_key_with_their_line_numbers(tmp_path):
    path = tmp_path / "d.json"
    path.write_text(json.dumps({"version": 2, "meta": {"n": 2}, "instances": ROWS}, indent=2))
    loaded = load_items(path, "pointwise", records="instances")
    check_rows(loaded)
    lines = path.read_text().splitlines()
    assert lines[loaded.lines["a"] - 1].strip() == "{" and '"id": "a"' in lines[loaded.lines["a"]]
    assert '"id": "b"' in lines[loaded.lines["b"]]


def test_records_takes_a_dotted_path_and_the_last_of_a_repeated_key(tmp_path):
    path = tmp_path / "d.json"
    path.write_text(
        '{"data": {"items": [1],\n "items": [\n  ' + json.dumps(ROWS[0]) + ",\n  " + json.dumps(ROWS[1]) + "]}}"
    )
    loaded = load_items(path, "pointwise", records="data.items")
    assert loaded.lines == {"a": 3, "b": 4}


def test_an_object_file_without_records_names_the_keys_holding_lists(tmp_path):
    path = tmp_path / "d.json"
    path.write_text(json.dumps({"version": 2, "instances": ROWS}))
    with pytest.raises(InputError) as info:
        load_items(path, "pointwise")
    assert "--records KEY" in str(info.value) and "instances" in str(info.value)
    with pytest.raises(InputError, match=r"the file has no key 'rows' \(keys: version, instances\)"):
        load_items(path, "pointwise", records="rows")
    with pytest.raises(ConfigError, match=r"applies to a \.json file"):
        load_items(write_jsonl(tmp_path / "d.jsonl", ROWS), "pointwise", records="instances")


# -- which items a run judges: the first N, or a stratified seeded sample ---------------------------------------------


def _labelled(tmp_path, labels):
    rows = [
        {"id": f"i{n}", "prompt": "p", "response_a": "x", "response_b": "y", "label": lab}
        for n, lab in enumerate(labels)
    ]
    return load_items(write_jsonl(tmp_path / "d.jsonl", rows), "pairwise")


def test_limit_takes_the_first_items_and_keeps_their_lines(tmp_path):
    loaded = _labelled(tmp_path, ["A"] * 5)
    first = select_items(loaded, limit=2)
    assert [it.id for it in first.items] == ["i0", "i1"] and first.lines == {"i0": 1, "i1": 2}
    assert select_items(loaded, limit=50).items == loaded.items


def test_sample_keeps_each_labels_share_and_is_deterministic(tmp_path):
    labels = ["A"] * 60 + ["B"] * 30 + ["tie"] * 10
    loaded = _labelled(tmp_path, labels)
    drawn = select_items(loaded, sample=20, seed=7)
    assert [it.label for it in drawn.items].count("A") == 12
    assert [it.label for it in drawn.items].count("B") == 6
    assert [it.label for it in drawn.items].count("tie") == 2
    assert [it.id for it in drawn.items] == [it.id for it in select_items(loaded, sample=20, seed=7).items]
    assert [it.id for it in drawn.items] != [it.id for it in select_items(loaded, sample=20, seed=8).items]
    positions = [int(it.id[1:]) for it in drawn.items]
    assert positions == sorted(positions)  # file order is kept
    assert drawn.items != loaded.items[:20]  # drawn, not the first ones


def test_sample_rounds_shares_to_the_exact_size_and_draws_unlabelled_items_too(tmp_path):
    loaded = _labelled(tmp_path, ["A", "B", "tie", None, None, "A", "B"])
    drawn = select_items(loaded, sample=4, seed=0)
    assert len(drawn.items) == 4
    unlabelled = load_items(
        write_jsonl(tmp_path / "u.jsonl", [{"prompt": "p", "response": f"r{k}"} for k in range(40)]), "pointwise"
    )
    picked = select_items(unlabelled, sample=5, seed=1)
    assert len(picked.items) == 5 and [it.id for it in picked.items] != ["0", "1", "2", "3", "4"]


def test_limit_and_sample_together_are_refused(tmp_path):
    with pytest.raises(ConfigError, match="not both"):
        select_items(_labelled(tmp_path, ["A"]), limit=1, sample=1)


def test_a_named_file_must_exist_and_hold_rows(tmp_path) -> None:
    from jurist.data.load import read_given_rows

    with pytest.raises(InputError, match="no such file or folder") as missing:
        read_given_rows(tmp_path / "nope.jsonl", "check the --table path")
    assert missing.value.hint == "check the --table path"
    (tmp_path / "empty.jsonl").write_text("")
    with pytest.raises(InputError, match="the file holds no answers for system 'x'"):
        read_given_rows(tmp_path / "empty.jsonl", "check it", "answers for system 'x'")
    (tmp_path / "one.jsonl").write_text('{"id": 1}\n')
    assert read_given_rows(tmp_path / "one.jsonl", "check it") == ([(1, {"id": 1})], "line")
