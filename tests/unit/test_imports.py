"""`jurist import`: runs built from a judge's recorded decisions or completions, keyed by item id and order, read by
jurist's own judge; items without a record are failures, records without an item are reported; LLMBar's and PandaLM's
released judge outputs reproduce their published figures."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from jurist import BackendError, GenerateRequest, InputError, Item, JudgeConfig, conventions, load_items, make_judge
from jurist.backends.base import Message
from jurist.cli import main
from jurist.data.benchmarks import load_benchmark
from jurist.data.load import LabelDecoder
from jurist.errors import ConfigError
from jurist.export import export_run
from jurist.imports import (
    ImportOptions,
    RecordedAnswer,
    RecordedBackend,
    import_run,
    prepare_import,
    render_import,
)
from jurist.meta import meta_evaluate
from jurist.run.log import read_run
from jurist.summary import summarize
from jurist.types import Verdict

from .helpers import SHARED_DATA, load_reproduce_bench, run, shared

PAIRS = [
    {"id": "q1", "prompt": "Name a prime.", "response_a": "Seven.", "response_b": "Nine.", "label": "A"},
    {"id": "q2", "prompt": "Name an even number.", "response_a": "Three.", "response_b": "Four.", "label": "B"},
    {"id": "q3", "prompt": "Say hi.", "response_a": "Hi.", "response_b": "Hello.", "label": "tie"},
]


def write_jsonl(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path


def pairs_file(tmp_path: Path, rows: list[dict[str, Any]] | None = None) -> Path:
    return write_jsonl(tmp_path / "pairs.jsonl", rows or PAIRS)


def imported(
    tmp_path: Path, decisions: Path, mode: str = "pairwise", data: Path | None = None, **options: Any
) -> tuple[dict[str, Verdict], Path]:
    loaded = load_items(data or pairs_file(tmp_path), mode)  # type: ignore[arg-type]
    prepared = prepare_import(loaded, decisions, mode, ImportOptions(**options))  # type: ignore[arg-type]
    out = tmp_path / "run"
    run(prepared.run(out))
    return {v.id: v for v in read_run(out)[1]}, out


def winners(verdict: Verdict) -> list[str | None]:
    return [o.winner for o in verdict.outcome.orders or []]


# -- requests name their item and order --------------------------------------------------------------------------


def test_every_request_names_its_item_and_pairwise_order():
    pair = Item(**PAIRS[0])
    recorder = RecordedBackend({})
    requests = make_judge(recorder, JudgeConfig(mode="pairwise")).requests(pair)
    assert [(r.item_id, r.order) for r in requests] == [("q1", "AB"), ("q1", "BA")]
    single = Item(id="s1", prompt="Say hi.", response="Hi.")
    (request,) = make_judge(recorder, JudgeConfig(mode="pointwise")).requests(single)
    assert (request.item_id, request.order) == ("s1", None)
    # what identifies the item never reaches the response cache's key: the same prompt is the same request
    assert request.cache_key("m") == request.model_copy(update={"item_id": "other"}).cache_key("m")


def test_a_request_naming_no_item_stops_a_recorded_run():
    backend = RecordedBackend({("q1", "AB"): RecordedAnswer(text="[[A]]")})
    with pytest.raises(BackendError) as info:
        run(backend.generate(GenerateRequest(messages=(Message(role="user", content="x"),))))
    assert info.value.fatal


# -- recorded completions and decisions --------------------------------------------------------------------------


def test_completions_in_both_orders_are_read_by_the_parser(tmp_path: Path):
    # A 13B judge's raw answers, keyed by item and LLMBar-style swap flags, read exactly as a live judge's would be.
    decisions = write_jsonl(
        tmp_path / "judge.jsonl",
        [
            {"question_id": "q1", "swap": "swap = False", "output": "Assistant A is more accurate.\n\n[[A]]"},
            {"question_id": "q1", "swap": "swap = True", "output": "Output (b)"},
            {"question_id": "q2", "swap": "swap = False", "output": '{"winner": "B", "rationale": "4 is even."}'},
            {"question_id": "q2", "swap": "swap = True", "output": "Neither is clearly better."},
        ],
    )
    verdicts, out = imported(tmp_path, decisions, by="question_id", order_field="swap", completion_field="output")
    assert winners(verdicts["q1"]) == ["A", "A"] and verdicts["q1"].outcome.consistent is True
    assert verdicts["q1"].raw == ["Assistant A is more accurate.\n\n[[A]]", "Output (b)"]
    # one order the parser cannot read: a visible, flagged one-order winner, never a made-up second one
    assert winners(verdicts["q2"]) == ["B", None] and verdicts["q2"].flagged
    assert verdicts["q2"].incomplete is not None and verdicts["q2"].incomplete.reason == "parse_failure"
    assert verdicts["q2"].rationale == "4 is even."
    # no record at all: a recorded failure, with its reason
    assert verdicts["q3"].error is not None and verdicts["q3"].error.reason == "no_record"
    summary = summarize(out)
    assert (summary.items, summary.failed, summary.failures) == (3, 1, {"no_record": 1})
    assert summary.backend.startswith("recorded:judge.jsonl@")
    assert export_run(out, "jsonl").exists()


def test_decisions_are_decoded_by_the_map_and_ba_decisions_name_the_items_own_a_and_b(tmp_path: Path):
    rows: list[dict[str, Any]] = [
        {"id": "q1", "order": "AB", "pick": 1},
        {"id": "q1", "order": "BA", "pick": 1},  # response_a again, though shown second
        {"id": "q2", "order": "AB", "pick": 2},
        {"id": "q2", "order": "BA", "pick": 0},
        {"id": "q3", "order": "AB", "pick": 0},
        {"id": "q3", "order": "BA", "pick": "garbage"},
    ]
    decisions = write_jsonl(tmp_path / "decisions.jsonl", rows)
    verdicts, out = imported(
        tmp_path, decisions, order_field="order", decision_field="pick", decision_map={"1": "A", "2": "B", "0": "tie"}
    )
    assert winners(verdicts["q1"]) == ["A", "A"] and verdicts["q1"].outcome.winner == "A"
    assert winners(verdicts["q2"]) == ["B", "tie"]
    assert winners(verdicts["q3"]) == ["tie", None]
    assert verdicts["q3"].incomplete is not None and verdicts["q3"].incomplete.reason == "unreadable_decision"
    assert "'garbage'" in verdicts["q3"].incomplete.message and "line 6" in verdicts["q3"].incomplete.message
    config = json.loads((out / "config.json").read_text())
    assert config["import"]["unreadable"] == 1
    assert config["import"]["decision_values"] == {"1 -> A": 2, "0 -> tie": 2, "2 -> B": 1, "garbage -> (no label)": 1}


def test_ba_decisions_in_the_positions_shown_are_mapped_back(tmp_path: Path):
    rows = [{"id": "q1", "order": "AB", "winner": "A"}, {"id": "q1", "order": "BA", "winner": "B"}]
    decisions = write_jsonl(tmp_path / "decisions.jsonl", rows)
    verdicts, _ = imported(tmp_path, decisions, order_field="order", decision_field="winner", decision_order="shown")
    assert winners(verdicts["q1"]) == ["A", "A"]  # B shown second in BA is the item's own A


def test_integer_decisions_without_a_map_are_not_guessed(tmp_path: Path):
    decisions = write_jsonl(tmp_path / "decisions.jsonl", [{"id": "q1", "decision": 1}, {"id": "q2", "decision": 2}])
    loaded = load_items(pairs_file(tmp_path), "pairwise")
    prepared = prepare_import(loaded, decisions, "pairwise", ImportOptions())
    assert prepared.report.unreadable == 2
    report = render_import(prepared.report)
    assert "1 -> (no label) x1" in report and "2 decisions map to no label" in report


def test_one_order_of_decisions_makes_a_one_order_run(tmp_path: Path):
    decisions = write_jsonl(
        tmp_path / "decisions.jsonl",
        [{"id": "q1", "decision": "a"}, {"id": "q2", "decision": "B"}, {"id": "q3", "decision": "Tie"}],
    )
    verdicts, _ = imported(tmp_path, decisions)
    assert {k: v.outcome.winner for k, v in verdicts.items()} == {"q1": "A", "q2": "B", "q3": "tie"}
    assert all(v.outcome.orders is None and v.error is None for v in verdicts.values())


def test_ids_and_judgments_may_sit_in_nested_records(tmp_path: Path):
    decisions = write_jsonl(
        tmp_path / "nested.jsonl",
        [{"meta": {"qid": "q1"}, "judge": {"out": {"text": "[[B]]"}}}, {"meta": {"qid": "q2"}, "judge": {"out": {}}}],
    )
    verdicts, _ = imported(tmp_path, decisions, by="meta.qid", completion_field="judge.out.text")
    assert verdicts["q1"].outcome.winner == "B"
    # a record without the text: the judge said nothing, and the parser says it found no verdict
    assert verdicts["q2"].error is not None and verdicts["q2"].error.reason == "parse_failure"


def test_records_of_the_swapped_order_alone_still_judge_both_orders(tmp_path: Path):
    decisions = write_jsonl(tmp_path / "decisions.jsonl", [{"id": "q1", "order": "BA", "completion": "[[B]]"}])
    verdicts, _ = imported(tmp_path, decisions, order_field="order")
    assert winners(verdicts["q1"]) == [None, "A"]  # B shown second in BA is the item's A
    assert verdicts["q1"].incomplete is not None and verdicts["q1"].incomplete.reason == "no_record"
    report = prepare_import(
        load_items(pairs_file(tmp_path), "pairwise"), decisions, "pairwise", ImportOptions(order_field="order")
    ).report
    assert (report.items_one_order, report.items_without_record) == (1, 2)
    assert "1 items have a record of one order only" in render_import(report)


def test_pointwise_category_decisions_from_csv(tmp_path: Path):
    data = write_jsonl(
        tmp_path / "answers.jsonl",
        [
            {"id": "r1", "prompt": "Is 7 prime?", "response": "Yes."},
            {"id": "r2", "prompt": "Is 9 prime?", "response": "Yes."},
        ],
    )
    path = tmp_path / "verdicts.csv"
    with path.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerows([["item", "verdict", "why"], ["r1", "yes", "7 has no divisors"], ["r2", "Yes", "odd"]])
    verdicts, out = imported(
        tmp_path,
        path,
        "pointwise",
        data=data,
        by="item",
        decision_field="verdict",
        rationale_field="why",
        scale="categories:No,Yes",
    )
    assert [(verdicts[i].outcome.choice, verdicts[i].outcome.score) for i in ("r1", "r2")] == [
        ("Yes", 1.0),
        ("Yes", 1.0),
    ]
    assert verdicts["r1"].rationale == "7 has no divisors"
    assert summarize(out).failed == 0


def test_pointwise_scores_written_as_floats_are_scale_points(tmp_path: Path):
    data = write_jsonl(tmp_path / "answers.jsonl", [{"id": "r1", "prompt": "p", "response": "r", "label": 4}])
    decisions = write_jsonl(tmp_path / "scores.jsonl", [{"id": "r1", "decision": 4.0}])
    verdicts, _ = imported(tmp_path, decisions, "pointwise", data=data)
    assert verdicts["r1"].outcome.score == 4


def test_records_naming_no_item_are_reported(tmp_path: Path):
    decisions = write_jsonl(
        tmp_path / "decisions.jsonl", [{"id": "q1", "decision": "A"}, {"id": "q9", "decision": "B"}]
    )
    loaded = load_items(pairs_file(tmp_path), "pairwise")
    report = prepare_import(loaded, decisions, "pairwise", ImportOptions()).report
    assert (report.records_without_item, report.records_without_item_examples) == (1, ["q9"])
    assert (report.items_without_record, report.items_without_record_examples) == (2, ["q2", "q3"])
    text = render_import(report)
    assert "1 records name no item of the data" in text and "'q9'" in text
    assert "2 of 3 items have no record" in text


def test_records_that_match_no_item_at_all_are_an_input_error(tmp_path: Path):
    decisions = write_jsonl(tmp_path / "decisions.jsonl", [{"idx": 0, "decision": "A"}, {"idx": 1, "decision": "B"}])
    loaded = load_items(pairs_file(tmp_path), "pairwise")
    with pytest.raises(InputError) as info:
        prepare_import(loaded, decisions, "pairwise", ImportOptions(by="idx"))
    assert "'0'" in str(info.value) and "'q1'" in str(info.value) and info.value.hint is not None


@pytest.mark.parametrize(
    ("rows", "options", "line", "field"),
    [
        ([{"id": "q1", "decision": "A"}, {"id": "q1", "decision": "B"}], {}, 2, None),
        ([{"id": "q1", "decision": "A"}, {"decision": "B"}], {}, 2, "id"),
        ([{"id": "q1", "o": "sideways", "decision": "A"}], {"order_field": "o"}, 1, "o"),
    ],
)
def test_bad_records_name_their_line(tmp_path: Path, rows, options, line, field):
    decisions = write_jsonl(tmp_path / "decisions.jsonl", rows)
    loaded = load_items(pairs_file(tmp_path), "pairwise")
    with pytest.raises(InputError) as info:
        prepare_import(loaded, decisions, "pairwise", ImportOptions(**options))
    assert (info.value.line, info.value.field) == (line, field)


def test_a_file_without_a_judgment_field_says_which_to_name(tmp_path: Path):
    decisions = write_jsonl(tmp_path / "decisions.jsonl", [{"id": "q1", "pick": "A"}])
    with pytest.raises(InputError, match="--completion-field FIELD") as info:
        prepare_import(load_items(pairs_file(tmp_path), "pairwise"), decisions, "pairwise", ImportOptions())
    assert "pick" in (info.value.hint or "")


def test_a_map_to_no_label_is_a_config_error(tmp_path: Path):
    decisions = write_jsonl(tmp_path / "decisions.jsonl", [{"id": "q1", "decision": 1}])
    with pytest.raises(ConfigError, match="'first'"):
        prepare_import(
            load_items(pairs_file(tmp_path), "pairwise"),
            decisions,
            "pairwise",
            ImportOptions(decision_map={"1": "first"}),
        )


def test_an_import_resumes_and_a_run_from_other_records_is_refused(tmp_path: Path):
    decisions = write_jsonl(tmp_path / "decisions.jsonl", [{"id": "q1", "decision": "A"}])
    loaded = load_items(pairs_file(tmp_path), "pairwise")
    out = tmp_path / "run"
    first = run(prepare_import(loaded, decisions, "pairwise", ImportOptions()).run(out))
    again = run(prepare_import(loaded, decisions, "pairwise", ImportOptions()).run(out))
    assert (first.judged, again.skipped) == (3, 3)
    write_jsonl(decisions, [{"id": "q1", "decision": "B"}])
    with pytest.raises(ConfigError, match="other settings"):
        run(prepare_import(loaded, decisions, "pairwise", ImportOptions()).run(out))


def test_import_run_from_python(tmp_path: Path):
    decisions = write_jsonl(
        tmp_path / "decisions.jsonl", [{"id": "q1", "decision": "A"}, {"id": "q2", "decision": "A"}]
    )
    result = import_run(pairs_file(tmp_path), decisions, out=tmp_path / "run")
    assert result.summary().accuracy == 0.5
    assert [v.error.reason for v in result.verdicts() if v.error is not None] == ["no_record"]


# -- the command -------------------------------------------------------------------------------------------------


def test_the_import_command_builds_a_run_and_prints_what_it_read(tmp_path: Path):
    decisions = write_jsonl(
        tmp_path / "decisions.jsonl",
        [{"id": "q1", "pick": "1"}, {"id": "q2", "pick": "2"}, {"id": "q3", "pick": "0"}, {"id": "q7", "pick": "1"}],
    )
    out = tmp_path / "run"
    args = ["import", str(pairs_file(tmp_path)), "--decisions", str(decisions), "--out", str(out)]
    result = CliRunner().invoke(main, [*args, "--decision-field", "pick", "--decision-map", "1=A,2=B,0=tie"])
    assert result.exit_code == 0, result.output
    assert "read 4 recorded decisions" in result.output and "1 -> A x1, 2 -> B x1, 0 -> tie x1" in result.output
    assert "1 records name no item of the data" in result.output
    assert "accuracy 100.0%" in result.output
    assert json.loads((out / "config.json").read_text())["import"]["records_without_item"] == 1


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--format", "llmbar", "--id-field", "idx"], "--format llmbar knows its own fields: leave out --id-field"),
        (["--completion-field", "decision", "--decision-map", "1=A"], "--decision-map: for decisions"),
        (["--decision-order", "shown"], "--decision-order is ignored without --order-field"),
        (["--decision-field", "d", "--decision-map", "1"], "is not RAW=LABEL"),
        (["--order-field", "o", "--mode", "pointwise"], "--order-field is for pairwise"),
    ],
)
def test_the_import_command_refuses_options_it_would_ignore(tmp_path: Path, extra: list[str], message: str):
    decisions = write_jsonl(tmp_path / "decisions.jsonl", [{"id": "q1", "decision": "A"}])
    args = ["import", str(pairs_file(tmp_path)), "--decisions", str(decisions), "--out", str(tmp_path / "run")]
    result = CliRunner().invoke(main, [*args, *extra])
    assert result.exit_code == 2, result.output
    assert message in " ".join(result.output.split())
    assert "Traceback" not in result.output


# -- published judges, from their released outputs ---------------------------------------------------------------

LLMBAR_NATURAL = "llmbar/LLMBar/Natural/evaluators/GPT-4/Vanilla_NoRules/result.json"


def llmbar_acc_agr(verdicts: list[Verdict]) -> tuple[float, float]:
    """LLMBar's Acc (mean of the two orders' accuracies) and Agr (both orders the same), from the per-order winners."""
    correct = sum(o.winner == v.label for v in verdicts for o in v.outcome.orders or [])
    agree = sum(winners(v)[0] is not None and winners(v)[0] == winners(v)[1] for v in verdicts)
    return 100 * correct / (2 * len(verdicts)), 100 * agree / len(verdicts)


def test_llmbar_gpt4_natural_imported_gives_the_published_acc_and_agr(tmp_path: Path):
    result = shared(LLMBAR_NATURAL)
    loaded = load_benchmark("llmbar:Natural", data_dir=SHARED_DATA)
    prepared = prepare_import(loaded, result, "pairwise", ImportOptions(format="llmbar"))
    assert prepared.report.records == 200 and prepared.report.orders == ["AB", "BA"]
    run(prepared.run(tmp_path / "run"))
    verdicts = read_run(tmp_path / "run")[1]
    assert len(verdicts) == 100 and all(v.error is None for v in verdicts)
    acc, agr = llmbar_acc_agr(verdicts)
    assert (round(acc, 2), round(agr, 2)) == (93.5, 97.0)
    assert meta_evaluate(tmp_path / "run").labelled == 100  # a run like any other


@pytest.mark.parametrize(
    ("name", "strategy"),
    [(name, "Vanilla_NoRules") for name in ("Neighbor", "GPTInst", "GPTOut", "Manual", "MT-Bench")]
    + [(name, "Vanilla") for name in ("Natural", "Neighbor", "GPTInst", "GPTOut", "Manual")],
)
def test_every_llmbar_gpt4_run_imported_gives_its_published_figures(tmp_path: Path, name: str, strategy: str):
    bench = load_reproduce_bench()
    result = shared(f"{bench.LLMBAR_SETS[name]}/evaluators/GPT-4/{strategy}/result.json")
    loaded = load_benchmark(f"llmbar:{name}", data_dir=SHARED_DATA)
    run(prepare_import(loaded, result, "pairwise", ImportOptions(format="llmbar")).run(tmp_path / "run"))
    report = conventions.llmbar(read_run(tmp_path / "run")[1], n_resamples=0)
    ours = {f.name: f.estimate.value for f in [*report.figures, *report.detail]}
    published = bench.published_llmbar(name, strategy)
    assert {k: round(ours[k], 2) for k in published} == {k: round(v, 2) for k, v in published.items()}


def test_llmbar_import_from_the_command_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    result = shared(LLMBAR_NATURAL)
    monkeypatch.setenv("JURIST_DATA_DIR", str(SHARED_DATA))
    out = tmp_path / "run"
    invoked = CliRunner().invoke(
        main, ["import", "llmbar:Natural", "--format", "llmbar", "--decisions", str(result), "--out", str(out)]
    )
    assert invoked.exit_code == 0, invoked.output
    acc, agr = llmbar_acc_agr(read_run(out)[1])
    assert (round(acc, 2), round(agr, 2)) == (93.5, 97.0)
    # the raw dataset.json next to it is the same data: its rows are checked against result.json's texts
    dataset = shared("llmbar/LLMBar/Natural/dataset.json")
    args = ["import", str(dataset), "--format", "llmbar", "--decisions", str(result), "--out", str(tmp_path / "b")]
    fields = ["--field", "prompt=input", "--field", "response_a=output_1", "--field", "response_b=output_2"]
    assert CliRunner().invoke(main, [*args, *fields, "--label-map", "1=A,2=B"]).exit_code == 0


def test_llmbar_results_of_another_set_are_refused(tmp_path: Path):
    result = shared("llmbar/LLMBar/Adversarial/Manual/evaluators/GPT-4/Vanilla_NoRules/result.json")
    loaded = load_benchmark("llmbar:Natural", data_dir=SHARED_DATA)
    with pytest.raises(InputError, match="holds 46 rows, the data 100 items"):
        prepare_import(loaded, result, "pairwise", ImportOptions(format="llmbar"))


def test_pandalm_7b_predictions_imported_give_the_published_accuracy(tmp_path: Path):
    predictions = shared("pandalm_testset/pandalm-7b-testset-v1.json")
    loaded = load_benchmark("pandalm", data_dir=SHARED_DATA)
    prepared = prepare_import(loaded, predictions, "pairwise", ImportOptions(format="pandalm"))
    assert prepared.report.decision_values == {"2 -> B": 459, "1 -> A": 433, "0 -> tie": 107}
    run(prepared.run(tmp_path / "run"))
    verdicts = read_run(tmp_path / "run")[1]
    # the figure in WeOpenML/PandaLM data/compute_metrics.py for this file (see bench/reproduce_cli.py)
    assert round(sum(v.outcome.winner == v.label for v in verdicts) / len(verdicts), 4) == 0.6677
    assert verdicts[0].rationale is not None and verdicts[0].rationale.startswith("Response 2 is better")


def test_gpt35_garbage_answers_are_failures_not_ties(tmp_path: Path):
    predictions = shared("pandalm_testset/gpt-3.5-turbo-testset-v1.json")
    loaded = load_benchmark("pandalm", data_dir=SHARED_DATA)
    prepared = prepare_import(loaded, predictions, "pairwise", ImportOptions(format="pandalm"))
    assert prepared.report.unreadable == 25
    run(prepared.run(tmp_path / "run"))
    failures = summarize(tmp_path / "run").failures
    assert failures == {"unreadable_decision": 25}


# -- one reader for data labels and recorded decisions -----------------------------------------------------------


def test_a_decision_map_reads_decisions_as_the_same_label_map_reads_labels(tmp_path: Path):
    # A set whose 0 is the first response and 2 a tie: the same spec read as --label-map and as --decision-map.
    spec = {"0": "A", "1": "B", "2": "tie"}
    data = pairs_file(tmp_path, [{**row, "label": code} for row, code in zip(PAIRS, (0, 1, 2), strict=True)])
    labels = [item.label for item in load_items(data, "pairwise", label_map=spec).items]
    records = [{"id": row["id"], "decision": code} for row, code in zip(PAIRS, (0, 1, 2), strict=True)]
    decisions = write_jsonl(tmp_path / "decisions.jsonl", records)
    verdicts, _ = imported(tmp_path, decisions, data=data, decision_map=spec)
    assert [verdicts[row["id"]].outcome.winner for row in PAIRS] == labels == ["A", "B", "tie"]
    decoder = LabelDecoder("pairwise", spec, "decision", flag="--decision-map")
    assert [decoder.decision(raw, ["A", "B", "tie"]) for raw in ("0", "2", "7")] == ["A", "tie", None]
    with pytest.raises(ConfigError, match=r"--decision-map 1=first: 'first' is not a pairwise label"):
        LabelDecoder("pairwise", {"1": "first"}, "decision", flag="--decision-map")


# -- AlpacaEval annotations --------------------------------------------------------------------------------------

ALPACA_ITEMS = [
    {"id": "w1", "prompt": "Name a fruit.", "response_a": "An apple.", "response_b": "A pear, which is sweet."},
    {"id": "w2", "prompt": "Say hello in French.", "response_a": "Bonjour.", "response_b": "Salut."},
    {"id": "w3", "prompt": "What is 2 + 2?", "response_a": "4", "response_b": "Four."},
    {"id": "w4", "prompt": "Name a colour.", "response_a": "Red.", "response_b": "Blue."},
]


def annotation(item: dict[str, Any], preference: Any, **changes: Any) -> dict[str, Any]:
    """An AlpacaEval annotation row (its numbers written as strings, as AlpacaEval writes them)."""
    return {
        "instruction": item["prompt"],
        "generator_1": "baseline-model",
        "generator_2": "my-model",
        "len_output_1": str(len(item["response_a"])),
        "len_output_2": str(len(item["response_b"])),
        "preference": preference,
        "annotator": "weighted_alpaca_eval_gpt4_turbo",
        **changes,
    }


def test_alpaca_eval_preferences_become_winners_and_probabilities(tmp_path: Path):
    rows = [
        annotation(ALPACA_ITEMS[0], "1.9"),  # B, with P(B) = 0.9
        annotation(ALPACA_ITEMS[1], 1.5),  # a draw
        annotation(ALPACA_ITEMS[2], 0),  # AlpacaEval 1's code for a draw
        annotation(ALPACA_ITEMS[3], "3.2"),  # no preference: a recorded failure
        annotation({**ALPACA_ITEMS[0], "prompt": "Name a planet."}, 1.2),  # no such item: reported
    ]
    decisions = tmp_path / "annotations.json"
    decisions.write_text(json.dumps(rows), encoding="utf-8")
    data = write_jsonl(tmp_path / "items.jsonl", ALPACA_ITEMS)
    prepared = prepare_import(load_items(data, "pairwise"), decisions, "pairwise", ImportOptions(format="alpaca_eval"))
    assert (prepared.report.with_probabilities, prepared.report.unreadable) == (3, 1)
    assert prepared.report.records_without_item_examples == ["Name a planet."]
    assert "3 decisions carry the judge's probabilities of A and B" in render_import(prepared.report)
    run(prepared.run(tmp_path / "run"))
    verdicts = {v.id: v for v in read_run(tmp_path / "run")[1]}
    assert [verdicts[i].outcome.winner for i in ("w1", "w2", "w3")] == ["B", "tie", "tie"]
    assert verdicts["w1"].outcome.probs == pytest.approx({"A": 0.1, "B": 0.9, "tie": 0.0})
    assert verdicts["w3"].outcome.probs == pytest.approx({"A": 0.5, "B": 0.5, "tie": 0.0})
    assert verdicts["w4"].error is not None and verdicts["w4"].error.reason == "unreadable_decision"
    assert "'3.2'" in verdicts["w4"].error.message


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"generator_2": "other-model"}, "generator_2", "judge other-model's outputs; item 'w2' holds my-model's"),
        (
            {"len_output_2": "40"},
            "len_output_2",
            "an output of 40 characters; item 'w2' (line 2) has a response_b of 6",
        ),
    ],
)
def test_alpaca_eval_annotations_of_other_outputs_are_refused(tmp_path: Path, changes, field, message):
    items = [{**item, "generator_b": "my-model"} for item in ALPACA_ITEMS]
    rows = [annotation(ALPACA_ITEMS[0], 1.9), annotation(ALPACA_ITEMS[1], 1.2, **changes)]
    decisions = tmp_path / "annotations.json"
    decisions.write_text("[\n" + ",\n".join(json.dumps(row) for row in rows) + "\n]\n", encoding="utf-8")
    loaded = load_items(write_jsonl(tmp_path / "items.jsonl", items), "pairwise")
    with pytest.raises(InputError) as info:
        prepare_import(loaded, decisions, "pairwise", ImportOptions(format="alpaca_eval"))
    assert (info.value.line, info.value.field) == (3, field)  # the second row, on the file's third line
    assert message in str(info.value)


ALPACA_CLAUDE = "alpaca_eval/annotations/claude-2.1.json"


def test_alpaca_eval_annotations_keep_gpt4_turbos_preference_as_the_verdicts_probabilities(tmp_path: Path):
    annotations = shared(ALPACA_CLAUDE)
    loaded = load_benchmark("alpaca_eval:claude-2.1", data_dir=SHARED_DATA)
    result = import_run(loaded, annotations, out=tmp_path / "run", options=ImportOptions(format="alpaca_eval"))
    preferences = {item.id: item.metadata["preference"] for item in loaded.items}
    verdicts = result.verdicts()
    assert len(verdicts) == 805 and all(v.error is None and v.outcome.probs is not None for v in verdicts)
    assert all(v.outcome.probs["B"] == pytest.approx(preferences[v.id] - 1, abs=1e-12) for v in verdicts)  # type: ignore[index]
    assert all(v.outcome.winner == v.label for v in verdicts)  # the loader's label is the same annotator's decision


def test_alpaca_eval_annotations_onto_another_models_outputs_are_refused():
    annotations = shared(ALPACA_CLAUDE)
    loaded = load_benchmark("alpaca_eval:alpaca-7b", data_dir=SHARED_DATA)
    with pytest.raises(InputError) as info:
        prepare_import(loaded, annotations, "pairwise", ImportOptions(format="alpaca_eval"))
    assert "judge claude-2.1's outputs; item 'alpaca_eval-alpaca-7b-0' holds alpaca-7b's" in str(info.value)
