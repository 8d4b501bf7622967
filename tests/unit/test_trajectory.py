"""Agent trajectories: OpenAI and Anthropic messages normalised to the same steps, bad messages refused with their
file, line and field, windows over long trajectories (every step shown in full once, the digest carried), a step
too long for a window recorded as its item's error, evidence pointers checked, and the bundled example judged by a
scripted judge that knows its gold labels."""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path
from typing import Any

import pytest

from jurist.agents import TrajectoryJudge, digest, example_path, judge_trajectories, windows
from jurist.agents.judge import ContextOverflow, combine, parse_evidence
from jurist.backends.base import GenerateRequest
from jurist.backends.fake import FakeBackend
from jurist.data.load import load_data
from jurist.errors import ConfigError, InputError
from jurist.files import read_jsonl
from jurist.outcomes import Score
from jurist.run.engine import JobOptions
from jurist.run.log import read_run
from jurist.trajectory import Step, TrajectoryError, normalise, requirements_of
from jurist.types import Item, ItemTexts

NO_CACHE = JobOptions(cache=False)
EXAMPLES = [record for _, record in read_jsonl(example_path())]
GOLD = {
    requirement: label
    for record in EXAMPLES
    for requirement, label in zip(record["requirements"], record["gold"], strict=True)
}


def _openai_and_anthropic() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    by_id = {record["id"]: record["trajectory"] for record in EXAMPLES}
    return by_id["weather-openai"], by_id["weather-anthropic"]


def test_both_formats_normalise_to_the_same_steps() -> None:
    openai, anthropic = _openai_and_anthropic()
    assert openai != anthropic
    steps = normalise(openai)
    assert steps == normalise(anthropic)
    assert [s.role for s in steps] == ["system", "user", "assistant", "tool", "assistant"]
    assert [s.index for s in steps] == [0, 1, 2, 3, 4]
    call = steps[2].tool_calls[0]
    assert (call.id, call.name, call.arguments) == ("call_1", "get_forecast", {"city": "Lisbon", "day": "tomorrow"})
    assert steps[3].tool_result is not None and steps[3].tool_result.name == "get_forecast"
    assert "rain_probability" in steps[3].tool_result.content


def test_an_anthropic_message_with_results_and_text_gives_a_step_each() -> None:
    steps = normalise(
        [
            {"role": "assistant", "content": [{"type": "tool_use", "id": "a", "name": "f", "input": {}}]},
            {"role": "assistant", "content": [{"type": "tool_use", "id": "b", "name": "g", "input": {}}]},
            {
                "role": "user",
                "content": [
                    {"type": "tool_result", "tool_use_id": "a", "content": "1"},
                    {"type": "tool_result", "tool_use_id": "b", "content": "2", "is_error": True},
                    {"type": "text", "text": "thanks"},
                ],
            },
        ]
    )
    assert [(s.role, s.text) for s in steps[2:]] == [("tool", ""), ("tool", ""), ("user", "thanks")]
    assert [s.tool_result.name for s in steps[2:4] if s.tool_result] == ["f", "g"]
    assert steps[3].tool_result is not None and steps[3].tool_result.is_error


def test_malformed_arguments_are_kept_as_given() -> None:
    call = {"id": "c", "type": "function", "function": {"name": "f", "arguments": "{not json"}}
    steps = normalise([{"role": "assistant", "content": None, "tool_calls": [call]}])
    assert steps[0].tool_calls[0].arguments == "{not json"


@pytest.mark.parametrize(
    ("messages", "field", "words"),
    [
        ([{"role": "tool", "tool_call_id": "nope", "content": "x"}], "trajectory[0]", "no earlier step"),
        (
            [{"role": "user", "content": [{"type": "tool_result", "tool_use_id": "zz", "content": "x"}]}],
            "trajectory[0].content[0]",
            "no earlier step",
        ),
        (["hello"], "trajectory[0]", "message object"),
        ([{"role": "robot", "content": "x"}], "trajectory[0].role", "unknown role"),
        ([{"role": "user", "content": 3}], "trajectory[0].content", "text or a list"),
        ([{"role": "user", "content": [{"type": "video"}]}], "trajectory[0].content[0]", "text parts"),
        ([{"role": "assistant", "tool_calls": [{"id": "c"}]}], "trajectory[0].tool_calls[0]", "function"),
        (
            [{"role": "assistant", "content": [{"type": "tool_use", "id": "c", "input": {}}]}],
            "trajectory[0].content[0].name",
            "non-empty",
        ),
        (
            [
                {"role": "assistant", "content": [{"type": "tool_use", "id": "c", "name": "f", "input": {}}]},
                {"role": "assistant", "content": [{"type": "tool_use", "id": "c", "name": "f", "input": {}}]},
            ],
            "trajectory[1].content[0].id",
            "used twice",
        ),
        ([], "trajectory", "non-empty list"),
    ],
)
def test_bad_messages_name_their_field(messages: Any, field: str, words: str) -> None:
    with pytest.raises(TrajectoryError) as caught:
        normalise(messages)
    assert caught.value.field == field
    assert words in str(caught.value)


def test_bad_input_in_a_file_names_file_line_and_field(tmp_path: Path) -> None:
    good = {"id": "a", "trajectory": [{"role": "user", "content": "hi"}]}
    bad = {"id": "b", "trajectory": [{"role": "user", "content": "hi"}, {"role": "tool", "tool_call_id": "x"}]}
    data = tmp_path / "t.jsonl"
    data.write_text(json.dumps(good) + "\n" + json.dumps(bad) + "\n")
    with pytest.raises(InputError) as caught:
        load_data(data, "pointwise")
    error = caught.value
    assert (error.file, error.line, error.field) == (str(data), 2, "trajectory[1]")
    assert "'x'" in str(error)


def test_requirements_parse_and_refuse_empty_ones() -> None:
    assert requirements_of(" one ") == ["one"]
    assert requirements_of(["a", "b "]) == ["a", "b"]
    for bad, field in (([], "requirements"), (["ok", " "], "requirements[1]"), ([3], "requirements[0]")):
        with pytest.raises(TrajectoryError) as caught:
            requirements_of(bad)
        assert caught.value.field == field


def test_requirements_in_csv_are_a_json_list(tmp_path: Path) -> None:
    data = tmp_path / "t.csv"
    trajectory = json.dumps([{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}])
    requirements = json.dumps(["greets back"])
    data.write_text(
        'id,trajectory,requirements\na,"{}","{}"\n'.format(*(v.replace('"', '""') for v in (trajectory, requirements)))
    )
    item = load_data(data, "pointwise").items[0]
    assert item.requirements == ["greets back"]
    assert (item.prompt, item.response) == ("hi", "hello")  # from the trajectory's first user and last assistant text


def test_the_item_hash_changes_only_when_a_trajectory_is_set() -> None:
    plain = Item(id="a", prompt="p", response="r")
    assert plain.content_hash() == "3dd157754395a9af"  # as before trajectories existed
    before = plain.content_hash()
    with_steps = Item(id="a", prompt="p", response="r", trajectory=[{"role": "user", "content": "p"}])
    assert with_steps.content_hash() != before
    assert Item(id="a", prompt="p", response="r").content_hash() == before
    # steps survive a round trip through JSON (a run directory, a resumed session)
    again = Item.model_validate(json.loads(with_steps.model_dump_json()))
    assert again.trajectory == with_steps.trajectory and again.content_hash() == with_steps.content_hash()


def _steps(n: int, size: int = 50) -> list[Step]:
    return normalise([{"role": "user" if i % 2 else "assistant", "content": f"{i}:" + "x" * size} for i in range(n)])


def test_long_trajectories_are_windowed_with_nothing_dropped() -> None:
    steps = _steps(40)
    parts = windows(steps, 1500)
    assert len(parts) > 2
    # every step is shown in full in exactly one window, in order
    assert [s.index for part in parts for s in part.steps] == list(range(40))
    assert parts[0].digest_chars == 100 and parts[-1].digest_chars < 100  # later digests are cut shorter
    for part in parts:
        earlier = digest(steps[: part.steps[0].index], part.digest_chars)
        assert len(earlier) + len("\n".join(s.render() for s in part.steps)) <= 1500
        # the digest carries every earlier step, by its index
        assert all(f"[step {i}] " in earlier for i in range(part.steps[0].index))
    # too many steps for even the shortest digest: an error, never a dropped step
    with pytest.raises(ContextOverflow):
        windows(_steps(200), 1500)


def test_a_step_too_long_for_a_window_is_a_recorded_error(tmp_path: Path) -> None:
    steps = [{"role": "user", "content": "task"}, {"role": "assistant", "content": "y" * 5000}]
    backend = FakeBackend(lambda r: "[[3]]")
    items = [{"id": "long", "trajectory": steps, "requirements": ["r"]}, {"id": "short", "trajectory": steps[:1]}]
    report = judge_trajectories(items, out=tmp_path / "r", model=backend, window_chars=2000, options=NO_CACHE)
    assert (report.total, report.failed) == (2, 1)
    verdicts = {v.id: v for v in read_run(tmp_path / "r").verdicts}
    error = verdicts["long"].error
    assert error is not None and error.reason == "context_overflow" and "step 1" in error.message
    assert verdicts["short"].error is None
    assert all("y" * 100 not in r.messages[0].content for r in backend.requests)  # never sent cut or whole


def test_evidence_pointers_are_checked(tmp_path: Path) -> None:
    # the judge cites step 1 (real), step 7 (does not exist); step 2 exists
    backend = FakeBackend(
        lambda r: "Evidence: 1, 7, 2\n[[VIOLATED]]" if "# Requirement" in r.messages[0].content else "[[2]]"
    )
    trajectory = [
        {"role": "user", "content": "do it"},
        {"role": "assistant", "content": "done"},
        {"role": "user", "content": "thanks"},
    ]
    judge_trajectories(
        [{"id": "a", "trajectory": trajectory, "requirements": ["r"]}],
        out=tmp_path / "r",
        model=backend,
        options=NO_CACHE,
    )
    verdict = read_run(tmp_path / "r").verdicts[0]
    assert verdict.strategy is not None and isinstance(verdict.outcome, Score)
    result = verdict.strategy["requirements"][0]
    assert result["label"] == "violated"
    assert result["evidence"] == [1, 2] and result["invalid_evidence"] == [7]
    assert verdict.outcome.score == 2.0


def test_a_window_may_not_cite_steps_after_it(tmp_path: Path) -> None:
    steps = _steps(12, size=80)
    # every window cites step 11, which only the last window shows
    backend = FakeBackend(
        lambda r: "Evidence: 11\n[[SATISFIED]]" if "# Requirement" in r.messages[0].content else "[[5]]"
    )
    judge = TrajectoryJudge(backend, window_chars=700)
    parts = windows(steps, 700)
    assert len(parts) >= 3
    verdict = asyncio.run(judge(Item(id="a", prompt="p", response="", trajectory=steps, requirements=["r"])))
    assert verdict.strategy is not None
    result = verdict.strategy["requirements"][0]
    assert result["evidence"] == [11] and result["invalid_evidence"] == []
    assert result["by_window"] == ["satisfied"] * len(parts)
    # requests: one per window for the requirement, then the overall on the last window
    assert len(backend.requests) == len(parts) + 1
    last = backend.requests[-1].messages[0].content
    assert "[step 0]" in last and f"Steps {parts[-1].steps[0].index} to 11" in last


def test_windows_combine_violated_first() -> None:
    assert combine(["satisfied", "violated", "not_enough_evidence"]) == "violated"
    assert combine(["not_enough_evidence", "satisfied"]) == "satisfied"
    assert combine(["not_enough_evidence"]) == "not_enough_evidence"
    assert parse_evidence("Evidence: 3, 1 and 3\n[[VIOLATED]]") == [1, 3]
    assert parse_evidence("[[VIOLATED]]") == []


def _oracle(request: GenerateRequest) -> str:
    """A judge that knows the example's gold labels: it answers each requirement with its gold label, citing the
    last step shown."""
    text = request.messages[0].content
    found = re.search(r"# Requirement\n(.+?)\n\nOn one line", text, re.S)
    if found is None:
        return "[[4]]"
    last = max(int(n) for n in re.findall(r"\[step (\d+)\]", text))
    return f"Evidence: {last}\n[[{GOLD[found.group(1)].upper()}]]"


def test_the_bundled_example_is_judged_against_its_gold(tmp_path: Path) -> None:
    assert {r["format"] for r in EXAMPLES} == {"openai", "anthropic"}
    assert {label for r in EXAMPLES for label in r["gold"]} == {"satisfied", "violated", "not_enough_evidence"}
    report = judge_trajectories(example_path(), out=tmp_path / "ex", model=FakeBackend(_oracle), options=NO_CACHE)
    assert (report.total, report.failed) == (4, 0)
    assert report.gold_agreement == 1.0 and report.gold_requirements == 10 and report.gold_failed == 0
    assert report.requirements == {"satisfied": 7, "violated": 2, "not_enough_evidence": 1}
    assert report.mean_score == 4.0
    assert json.loads((tmp_path / "ex" / "trajectory.json").read_text())["gold_agreement"] == 1.0
    # a judge that says "satisfied" to everything agrees on 7 of 10
    always = FakeBackend(
        lambda r: "[[4]]" if "# Requirement" not in r.messages[0].content else "Evidence: 0\n[[SATISFIED]]"
    )
    report = judge_trajectories(example_path(), out=tmp_path / "all", model=always, options=NO_CACHE)
    assert report.gold_agreement == pytest.approx(0.7)


def test_an_unparsed_answer_is_a_recorded_error(tmp_path: Path) -> None:
    report = judge_trajectories(example_path(), out=tmp_path / "x", model=FakeBackend("no idea"), options=NO_CACHE)
    assert report.failed == 4 and report.gold_failed == 10 and report.gold_agreement == 0.0
    errors = [v.error for v in read_run(tmp_path / "x").verdicts]
    assert all(e is not None and e.reason == "parse_failure" for e in errors)


def test_items_without_a_trajectory_or_with_bad_gold_are_refused(tmp_path: Path) -> None:
    data = tmp_path / "t.jsonl"
    data.write_text(json.dumps({"id": "a", "prompt": "p", "response": "r"}) + "\n")
    with pytest.raises(InputError) as caught:
        judge_trajectories(data, out=tmp_path / "r", model=FakeBackend("x"))
    assert (caught.value.line, caught.value.field) == (1, "trajectory")
    row = {"id": "a", "trajectory": [{"role": "user", "content": "p"}], "requirements": ["r"], "gold": ["maybe"]}
    data.write_text(json.dumps(row) + "\n")
    with pytest.raises(InputError) as caught:
        judge_trajectories(data, out=tmp_path / "r", model=FakeBackend("x"))
    assert caught.value.field == "gold"


def test_the_command_judges_with_a_recorded_judge_and_refuses_bad_input(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from jurist.cli.trajectory import trajectory as command

    replay = tmp_path / "replay.jsonl"
    records = [
        {"texts": [f"# Requirement\n{requirement}"], "completion": f"Evidence: 1\n[[{label.upper()}]]"}
        for requirement, label in GOLD.items()
    ]
    records.append({"texts": ["Give a score"], "completion": "[[3]]"})
    replay.write_text("".join(json.dumps(r) + "\n" for r in records))
    out = tmp_path / "run"
    result = CliRunner().invoke(command, [str(example_path()), "--model", f"replay:{replay}", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "4 trajectories: 0 failed; requirements: 7 satisfied, 2 violated, 1 not enough evidence" in result.output
    assert "mean score 3.00; gold agreement 1.000 (n=10, 0 in failed items, counted wrong)" in result.output
    assert "14 model calls" in result.output

    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps({"id": "a", "trajectory": [{"role": "tool", "tool_call_id": "q", "content": ""}]}) + "\n")
    result = CliRunner().invoke(command, [str(bad), "--model", f"replay:{replay}", "--out", str(tmp_path / "b")])
    assert result.exit_code == 2
    assert "bad.jsonl:1: field 'trajectory[0]'" in result.output and "'q'" in result.output
    assert "Traceback" not in result.output


def test_the_run_directory_keeps_the_steps_only_for_items_with_a_trajectory(tmp_path: Path) -> None:
    judge_trajectories(example_path(), out=tmp_path / "ex", model=FakeBackend(_oracle), options=NO_CACHE)
    verdict = read_run(tmp_path / "ex").verdicts[0]
    assert verdict.item is not None and verdict.item.trajectory is not None
    assert verdict.item.trajectory == normalise(EXAMPLES[0]["trajectory"])
    assert verdict.item.requirements == EXAMPLES[0]["requirements"]
    plain = Item(id="a", prompt="p", response="r")
    assert "trajectory" not in ItemTexts.of(plain).model_dump()


def test_a_rubric_gives_the_overall_criteria_and_a_checklist_the_requirements(tmp_path: Path) -> None:
    backend = FakeBackend(
        lambda r: "[[4]]" if "# Requirement" not in r.messages[0].content else "Evidence: 0\n[[SATISFIED]]"
    )
    items = [
        {"id": "own", "trajectory": [{"role": "user", "content": "t"}], "requirements": ["mine"]},
        {"id": "none", "trajectory": [{"role": "user", "content": "t"}]},
    ]
    judge_trajectories(items, out=tmp_path / "r", model=backend, rubric="checklist_quality", options=NO_CACHE)
    asked = [r.messages[0].content for r in backend.requests]
    assert sum("# Requirement\nmine\n" in text for text in asked) == 1
    assert sum("# Requirement\ncorrectness: Are its facts" in text for text in asked) == 1  # only for "none"
    overall = [text for text in asked if "Give a score" in text]
    assert len(overall) == 2 and all("5: Fully meets it." in text for text in overall)
    verdicts = {v.id: v for v in read_run(tmp_path / "r").verdicts}
    assert verdicts["none"].strategy is not None and len(verdicts["none"].strategy["requirements"]) == 4
    with pytest.raises(ConfigError, match="scored 1-5"):
        judge_trajectories(items, out=tmp_path / "p", model=backend, rubric="pass_fail")
