"""Labels are never read silently: `--label-map`, the label line and the warning printed before judging, named
(categorical) pointwise labels from the file to meta-evaluation, and the data options of `jurist judge` (--limit,
--sample, --records, --field on a benchmark)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

import jurist
from jurist import FakeBackend, InputError, JudgeConfig, make_judge
from jurist.cli import main
from jurist.data.load import load_items
from jurist.demos import DemoConfig
from jurist.meta import meta_evaluate
from jurist.run.log import read_run

from .helpers import SHARED_DATA, shared


@pytest.fixture(autouse=True)
def _private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("JURIST_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("JURIST_DATA_DIR", raising=False)
    monkeypatch.setenv("JURIST_DATA_URL", "file:///nonexistent-jurist-mirror")


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def replay(tmp_path: Path, marker: str, completion: str) -> str:
    """A recorded judge that gives `completion` to every request whose text holds `marker`."""
    path = tmp_path / "replay.jsonl"
    path.write_text(json.dumps({"texts": [marker], "completion": completion}) + "\n")
    return f"replay:{path}"


def cli(*args: str):
    return CliRunner().invoke(main, [*args, "--no-cache"])


# A public pairwise set's convention: 0 = the first response is better, 1 = the second, 2 = a tie.
ZERO_FIRST = [0, 1, 2, 0, 0, 1, 2, 0]


def pairs(tmp_path: Path, labels: list[object]) -> Path:
    rows = [
        {"id": f"p{n}", "prompt": f"Question {n}: name a prime.", "response_a": "Seven.", "response_b": "Nine."}
        | {"annotator1": label}
        for n, label in enumerate(labels)
    ]
    return write_jsonl(tmp_path / "pairs.jsonl", rows)


def test_label_map_decides_the_labels_and_the_label_line_says_how(tmp_path):
    data = pairs(tmp_path, ZERO_FIRST)
    model = replay(tmp_path, "name a prime", '{"winner": "A"}')
    args = ["judge", str(data), "--mode", "pairwise", "--out", str(tmp_path / "run"), "--model", model, "--no-swap"]
    result = cli(*args, "--field", "label=annotator1", "--label-map", "0=A,1=B,2=tie")
    assert result.exit_code == 0, result.output
    assert "labels: A 4, B 2, tie 2 (from annotator1: 0->A, 1->B, 2->tie)" in result.output
    assert "warning" not in result.output
    _, verdicts = read_run(tmp_path / "run")
    assert sorted(v.label for v in verdicts) == sorted(["A", "B", "tie", "A", "A", "B", "tie", "A"])
    # the judge always says A: right exactly on the 4 first-response items (the built-in reading gives 2)
    assert sum(v.outcome.winner == v.label for v in verdicts) == 4


def test_integer_labels_with_no_map_are_warned_about_before_judging(tmp_path):
    data = pairs(tmp_path, ZERO_FIRST)
    model = replay(tmp_path, "name a prime", '{"winner": "A"}')
    args = ["judge", str(data), "--mode", "pairwise", "--out", str(tmp_path / "run"), "--model", model, "--no-swap"]
    result = cli(*args, "--field", "label=annotator1")
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert "labels: A 2, B 2, tie 4 (from annotator1: 1->A, 2->B, 0->tie)" in text
    assert "warning: the labels in 'annotator1' are integers" in text and "--label-map 1=A,2=B,0=tie" in text
    assert text.index("labels:") < text.index("judging")  # said before the judging starts


def test_python_api_takes_a_label_map_and_warns_without_one(tmp_path):
    data = pairs(tmp_path, ZERO_FIRST)
    backend = FakeBackend('{"winner": "A"}')
    config = JudgeConfig(mode="pairwise", swap=False)
    result = jurist.judge(
        data,
        out=tmp_path / "a",
        config=config,
        model=backend,
        field_map={"label": "annotator1"},
        label_map={"0": "A", "1": "B", "2": "tie"},
    )
    labels = {v.id: v.label for v in result.verdicts()}
    assert [labels[f"p{n}"] for n in range(3)] == ["A", "B", "tie"]
    with pytest.warns(UserWarning, match="--label-map"):
        jurist.judge(data, out=tmp_path / "b", config=config, model=backend, field_map={"label": "annotator1"})


def test_a_raw_label_outside_the_map_is_a_clean_input_error(tmp_path):
    data = pairs(tmp_path, [0, 1, 5])
    out = tmp_path / "run"
    result = cli(
        "judge", str(data), "--mode", "pairwise", "--out", str(out), "--model", "replay:/nowhere.jsonl",
        "--field", "label=annotator1", "--label-map", "0=A,1=B,2=tie",
    )  # fmt: skip
    assert result.exit_code == 2
    assert result.output.startswith("error: ") and f"{data}:3: field 'annotator1'" in result.output
    assert "'5' is not in --label-map" in result.output and "Traceback" not in result.output
    assert not out.exists()


# -- named pointwise labels: the categorical path, end to end ---------------------------------------------------------


def verdict_rows(tmp_path: Path) -> Path:
    labels = ["safe", "unsafe", "safe", "SAFE", "safe", "unsafe", "safe", "unsafe", "safe", "unsafe", "safe", "unsafe"]
    rows = [
        {"id": f"r{n}", "prompt": f"Reply {n}: is it safe to share?", "response": f"Reply number {n}.", "verdict": lab}
        for n, lab in enumerate(labels)
    ]
    return write_jsonl(tmp_path / "safety.jsonl", rows)


def safety_judge(request) -> str:
    number = int(request.messages[-1].content.split("Reply number ")[1].split(".")[0])
    return json.dumps({"score": "safe" if number < 8 else "unsafe"})


def test_category_labels_are_judged_and_meta_evaluated_as_categories(tmp_path):
    data = verdict_rows(tmp_path)
    config = JudgeConfig(mode="pointwise", scale="categories:safe,unsafe")
    jurist.judge(
        data, out=tmp_path / "run", config=config, model=FakeBackend(safety_judge), field_map={"label": "verdict"}
    )
    _, verdicts = read_run(tmp_path / "run")
    assert {v.label for v in verdicts} == {"safe", "unsafe"}  # "SAFE" is written in the scale's spelling
    report = meta_evaluate(tmp_path / "run")
    assert report.correlation is None and report.agreement is not None
    # labels: safe on 0, 2, 3, 4, 6, 8, 10; the judge says safe below 8: right on 0, 2, 3, 4, 6, 9, 11
    assert report.agreement.n == 12 and report.agreement.accuracy.value == pytest.approx(7 / 12)
    lo, hi = report.agreement.cohen_kappa.low, report.agreement.cohen_kappa.high
    assert lo < report.agreement.cohen_kappa.value < hi
    assert sorted(map(str, report.agreement.labels)) == ["safe", "unsafe"]
    assert report.agreement.labels_only_in_human == [] and report.agreement.labels_only_in_judge == []


def test_category_labels_are_checked_against_the_scale_before_any_call(tmp_path):
    data = load_items(verdict_rows(tmp_path), "pointwise", {"label": "verdict"})
    backend = FakeBackend('{"score": "3"}')
    with pytest.raises(InputError) as info:
        make_judge(backend, JudgeConfig(mode="pointwise")).check_data(data)
    assert (info.value.line, info.value.field) == (1, "verdict")
    assert "'safe' is not a number" in str(info.value) and "categories:" in str(info.value)
    with pytest.raises(InputError, match=r"not a category of the judge's scale \(yes, no\)"):
        make_judge(backend, JudgeConfig(mode="pointwise", scale="categories:yes,no")).check_data(data)
    mixed = write_jsonl(
        tmp_path / "mixed.jsonl",
        [{"prompt": "p", "response": "r", "label": "safe"}, {"prompt": "p", "response": "r", "label": 1}],
    )
    with pytest.raises(InputError, match="mix numbers and category names"):
        make_judge(backend, JudgeConfig(mode="pointwise", scale="categories:safe,unsafe")).check_data(
            load_items(mixed, "pointwise")
        )
    assert backend.requests == []


def test_a_label_map_turns_category_names_into_scale_points(tmp_path):
    rows = [{"prompt": f"Q{n}", "response": "r", "label": lab} for n, lab in enumerate(["No", "Yes", "Yes"])]
    data = load_items(write_jsonl(tmp_path / "d.jsonl", rows), "pointwise", label_map={"No": "1", "Yes": "5"})
    make_judge(FakeBackend('{"score": "3"}'), JudgeConfig(mode="pointwise")).check_data(data)
    assert [it.label for it in data.items] == [1.0, 5.0, 5.0]


# -- which items: --limit, --sample ----------------------------------------------------------------------------------


def test_judge_limit_and_sample(tmp_path):
    data = pairs(tmp_path, ["A"] * 6 + ["B"] * 3 + ["tie"] * 3)
    model = replay(tmp_path, "name a prime", '{"winner": "A"}')
    base = ["judge", str(data), "--mode", "pairwise", "--model", model, "--no-swap", "--field", "label=annotator1"]
    first = cli(*base, "--out", str(tmp_path / "first"), "--limit", "5")
    assert first.exit_code == 0, first.output
    assert "judging the first 5 of 12 items" in first.output
    assert sorted(v.id for v in read_run(tmp_path / "first")[1]) == ["p0", "p1", "p2", "p3", "p4"]
    drawn = cli(*base, "--out", str(tmp_path / "drawn"), "--sample", "4", "--seed", "3")
    assert drawn.exit_code == 0, drawn.output
    assert "judging a sample (seed 3) of 4 of 12 items" in drawn.output and "labels: A 2, B 1, tie 1" in drawn.output
    again = cli(*base, "--out", str(tmp_path / "again"), "--sample", "4", "--seed", "3")
    ids = sorted(v.id for v in read_run(tmp_path / "drawn")[1])
    assert again.exit_code == 0 and ids == sorted(v.id for v in read_run(tmp_path / "again")[1])
    both = cli(*base, "--out", str(tmp_path / "both"), "--sample", "4", "--limit", "2")
    assert both.exit_code == 2 and "not both" in both.output and not (tmp_path / "both").exists()


# -- nested files, and --field with a benchmark ----------------------------------------------------------------------


def test_records_and_dotted_fields_through_the_cli(tmp_path):
    data = tmp_path / "nested.json"
    instances = [
        {"source": {"text": f"Question {n}: name a prime."}, "output": "Seven.", "annotations": {"mean": 4 - n % 3}}
        for n in range(3)
    ]
    data.write_text(json.dumps({"version": "1.0", "instances": instances}, indent=2))
    model = replay(tmp_path, "name a prime", '{"score": "4"}')
    result = cli(
        "judge", str(data), "--mode", "pointwise", "--out", str(tmp_path / "run"), "--model", model,
        "--records", "instances", "--field", "prompt=source.text", "--field", "response=output",
        "--field", "label=annotations.mean",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "labels: 2: 1, 3: 1, 4: 1" in result.output
    _, verdicts = read_run(tmp_path / "run")
    assert sorted(v.label for v in verdicts) == [2.0, 3.0, 4.0]


def test_field_acts_on_a_benchmark(tmp_path, monkeypatch):
    shared("summeval/summeval.jsonl")
    monkeypatch.setenv("JURIST_DATA_DIR", str(SHARED_DATA))
    model = replay(tmp_path, "Rate the response", '{"score": "3"}')
    out = tmp_path / "run"
    result = cli(
        "judge", "summeval:coherence", "--mode", "pointwise", "--out", str(out), "--model", model,
        "--field", "label=scores.fluency", "--limit", "3",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in (SHARED_DATA / "summeval" / "summeval.jsonl").read_text().splitlines()[:3]]
    _, verdicts = read_run(out)
    assert sorted(v.label for v in verdicts) == sorted(r["fluency"] for r in rows)
    assert sorted(v.label for v in verdicts) != sorted(r["coherence"] for r in rows)  # another column than the spec's


def test_records_does_not_apply_to_a_benchmark(tmp_path):
    result = cli(
        "judge", "llmbar:Natural", "--mode", "pairwise", "--out", str(tmp_path / "run"), "--model", "replay:/x.jsonl",
        "--records", "instances",
    )  # fmt: skip
    assert result.exit_code == 2 and "--records applies to a .json DATA file" in result.output


def test_examples_with_named_labels_are_shown_with_their_category(tmp_path):
    pool = write_jsonl(
        tmp_path / "pool.jsonl",
        [
            {"id": "d1", "prompt": "Share my address?", "response": "Here it is: 1 Main St.", "label": "UNSAFE"},
            {"id": "d2", "prompt": "Share a recipe?", "response": "Boil pasta for 9 minutes.", "label": "safe"},
            {"id": "d3", "prompt": "Share a poem?", "response": "Roses are red.", "label": "Safe"},
        ],
    )
    backend = FakeBackend('{"score": "safe"}')
    config = JudgeConfig(mode="pointwise", scale="categories:safe,unsafe", demos=DemoConfig(pool=str(pool), k=2))
    jurist.judge(
        [{"id": "x", "prompt": "Share a song?", "response": "La la."}],
        out=tmp_path / "run",
        config=config,
        model=backend,
    )
    prompt = backend.requests[0].messages[-1].content
    assert '{"score": "unsafe"}' in prompt and '{"score": "safe"}' in prompt
