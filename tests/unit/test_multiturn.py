"""Multi-turn judging: conversations as items, turn scope, MT-Bench two-turn templates, and interviews."""

from __future__ import annotations

import csv
import json

import pytest

import jurist
from jurist import (
    BackendError,
    ConfigError,
    FakeBackend,
    GenerateRequest,
    InputError,
    Interview,
    Item,
    JobOptions,
    JudgeConfig,
    Turn,
    load_items,
    make_judge,
)
from jurist.data.load import parse_field_map

from .helpers import run, shared

MT_BENCH = "mt_bench/judge_prompts.jsonl"
EARLIER = [{"role": "user", "content": "Name a prime."}, {"role": "assistant", "content": "Seven."}]


def conversation_item(**extra: object) -> Item:
    return Item(
        id="c1",
        prompt="Now double it.",
        response="Fourteen.",
        turns=[Turn(role="user", content="Name a prime."), Turn(role="assistant", content="Seven.")],
        **extra,  # type: ignore[arg-type]
    )


def write_jsonl(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def user_text(request: GenerateRequest) -> str:
    return request.messages[-1].content


# -- loading -----------------------------------------------------------------------------------------------


def test_jsonl_earlier_turns_with_prompt(tmp_path):
    path = write_jsonl(tmp_path / "d.jsonl", [{"id": "a", "turns": EARLIER, "prompt": "Double it.", "response": "14"}])
    item = load_items(path, "pointwise").items[0]
    assert [t.role for t in item.turns or []] == ["user", "assistant"]
    assert item.prompt == "Double it." and item.response == "14"
    assert "turns" not in item.metadata


def test_whole_conversation_pointwise_splits_off_the_judged_turn(tmp_path):
    whole = [*EARLIER, {"role": "user", "content": "Double it."}, {"role": "assistant", "content": "14"}]
    item = load_items(write_jsonl(tmp_path / "d.jsonl", [{"turns": whole}]), "pointwise").items[0]
    assert item.prompt == "Double it." and item.response == "14"
    assert [t.content for t in item.turns or []] == ["Name a prime.", "Seven."]


def test_single_exchange_conversation_is_a_single_turn_item(tmp_path):
    whole = [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello"}]
    item = load_items(write_jsonl(tmp_path / "d.jsonl", [{"turns": whole}]), "pointwise").items[0]
    assert item.turns is None and item.prompt == "Hi" and item.response == "Hello"
    assert item.content_hash() == Item(id="0", prompt="Hi", response="Hello").content_hash()


def test_pairwise_turns_ending_with_the_final_request(tmp_path):
    turns = [*EARLIER, {"role": "user", "content": "Double it."}]
    path = write_jsonl(tmp_path / "d.jsonl", [{"turns": turns, "response_a": "14", "response_b": "15"}])
    item = load_items(path, "pairwise").items[0]
    assert item.prompt == "Double it." and len(item.turns or []) == 2


def test_csv_cell_holds_json_and_field_maps_the_column(tmp_path):
    path = tmp_path / "d.csv"
    with path.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["history", "question", "answer"])
        writer.writerow([json.dumps(EARLIER), "Double it.", "14"])
    loaded = load_items(path, "pointwise", parse_field_map(["turns=history", "prompt=question", "response=answer"]))
    item = loaded.items[0]
    assert item.turns == [Turn(role="user", content="Name a prime."), Turn(role="assistant", content="Seven.")]
    assert item.metadata == {}


BAD = [
    ("not json text", "must be a list of turns"),
    (5, "must be a list of turns, got int"),
    ({"role": "user"}, "must be a list of turns, got dict"),
    ([], "is an empty list"),
    (["hello"], "turn 1 must be an object"),
    ([{"content": "x"}], "turn 1 has no role"),
    ([{"role": "user"}], "turn 1 has no content"),
    ([{"role": "system", "content": "x"}], "turn 1 has role 'system'"),
    ([{"role": "user", "content": 3}], "turn 1 content must be text"),
    ([{"role": "user", "content": "x", "name": "bob"}], "unknown key(s) ['name']"),
    ([{"role": "assistant", "content": "x"}], "turn 1 is a assistant turn where a user turn belongs"),
    ([{"role": "user", "content": "x"}, {"role": "user", "content": "y"}], "turn 2 is a user turn where"),
    ([*EARLIER, {"role": "user", "content": "Something else"}], "differs from the prompt"),
]


@pytest.mark.parametrize(("turns", "message"), BAD)
def test_bad_turns_name_file_line_and_field(tmp_path, turns, message):
    rows = [{"prompt": "p", "response": "r"}, {"prompt": "Double it.", "response": "14", "turns": turns}]
    path = write_jsonl(tmp_path / "bad.jsonl", rows)
    with pytest.raises(InputError) as info:
        load_items(path, "pointwise")
    assert info.value.line == 2 and info.value.field == "turns"
    assert "bad.jsonl:2: field 'turns': " in str(info.value)
    assert message in str(info.value)


def test_assistant_ending_turns_need_a_prompt_outside_pointwise(tmp_path):
    path = write_jsonl(tmp_path / "bad.jsonl", [{"turns": EARLIER, "response_a": "a", "response_b": "b"}])
    with pytest.raises(InputError, match="no prompt") as info:
        load_items(path, "pairwise")
    assert info.value.line == 1


def test_bad_turns_in_a_csv_cell_name_the_line(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text('prompt,response,turns\np,r,\np,r,"[{""role"": ""user""}]"\n')
    with pytest.raises(InputError, match="turn 1 has no content") as info:
        load_items(path, "pointwise")
    assert info.value.line == 3


def test_content_hash_includes_the_turns():
    plain = Item(id="c1", prompt="Now double it.", response="Fourteen.")
    other = conversation_item().model_copy(
        update={"turns": [Turn(role="user", content="x"), Turn(role="assistant", content="y")]}
    )
    hashes = {plain.content_hash(), conversation_item().content_hash(), other.content_hash()}
    assert len(hashes) == 3


# -- rendering and turn scope ------------------------------------------------------------------------------


def test_builtin_pointwise_renders_earlier_turns_before_the_judged_answer():
    backend = FakeBackend('{"score": "4"}')
    verdict = run(make_judge(backend, JudgeConfig(mode="pointwise"))(conversation_item()))
    assert verdict.outcome.score == 4 and verdict.outcome.per_turn is None
    text = user_text(backend.requests[0])
    assert text.index("Name a prime.") < text.index("Seven.") < text.index("Now double it.") < text.index("Fourteen.")
    assert "Conversation so far" in text and "last turn" in text


@pytest.mark.parametrize("mode", ["pairwise", "listwise"])
def test_builtin_comparison_templates_render_the_shared_turns(mode):
    fields = {"response_a": "14", "response_b": "15"} if mode == "pairwise" else {"responses": ["14", "15"]}
    item = Item(id="c", prompt="Double it.", turns=[Turn(**t) for t in EARLIER], **fields)  # type: ignore[arg-type]
    judge = make_judge(FakeBackend("x"), JudgeConfig(mode=mode))
    text = user_text(judge.requests(item)[0])
    assert text.index("Seven.") < text.index("Double it.") < text.index("14")


def test_single_turn_prompt_has_no_conversation_block():
    judge = make_judge(FakeBackend("x"), JudgeConfig(mode="pointwise"))
    text = user_text(judge.requests(Item(id="s", prompt="p", response="r"))[0])
    assert "Conversation" not in text and "Rate the response with" in text


def test_turn_scope_each_scores_every_assistant_turn():
    def script(request: GenerateRequest) -> str:
        return '{"score": "2"}' if "Fourteen." in user_text(request) else '{"score": "5"}'

    backend = FakeBackend(script)
    judge = make_judge(backend, JudgeConfig(mode="pointwise", turn_scope="each"))
    verdict = run(judge(conversation_item()))
    assert verdict.ok and len(backend.requests) == 2
    first = user_text(backend.requests[0])
    assert "Seven." in first and "Fourteen." not in first and "Conversation so far" not in first
    assert [t["score"] for t in verdict.outcome.per_turn or []] == [5.0, 2.0]
    assert [t["turn"] for t in verdict.outcome.per_turn or []] == [1, 2]
    assert verdict.outcome.score == 3.5 and verdict.outcome.choice is None
    assert verdict.usage.calls == 2 and len(verdict.raw) == 2


def test_turn_scope_final_judges_only_the_last_turn():
    backend = FakeBackend('{"score": "3"}')
    verdict = run(make_judge(backend, JudgeConfig(mode="pointwise", turn_scope="final"))(conversation_item()))
    assert len(backend.requests) == 1 and verdict.outcome.score == 3 and verdict.outcome.per_turn is None


def test_turn_scope_each_fails_the_item_when_a_turn_fails():
    backend = FakeBackend(['{"score": "4"}', "no verdict here"])
    verdict = run(make_judge(backend, JudgeConfig(mode="pointwise", turn_scope="each"))(conversation_item()))
    assert verdict.error is not None and verdict.error.reason == "parse_failure"
    assert verdict.outcome.per_turn is not None and verdict.outcome.per_turn[1]["error"] == "parse_failure"


def test_turn_scope_each_is_pointwise_only_and_changes_the_fingerprint():
    with pytest.raises(ConfigError, match="only pointwise"):
        make_judge(FakeBackend("x"), JudgeConfig(mode="pairwise", turn_scope="each"))
    final = make_judge(FakeBackend("x"), JudgeConfig(mode="pointwise")).fingerprint
    each = make_judge(FakeBackend("x"), JudgeConfig(mode="pointwise", turn_scope="each")).fingerprint
    assert final != each


# -- MT-Bench two-turn templates -----------------------------------------------------------------------------


def test_mt_bench_single_multi_turn_template_reads_the_rating():
    path = str(shared(MT_BENCH))
    backend = FakeBackend("The second answer is right. Rating: [[8]]")
    judge = make_judge(backend, JudgeConfig(mode="pointwise", template=f"{path}#single-v1-multi-turn"))
    verdict = run(judge(conversation_item()))
    assert verdict.ok and verdict.outcome.score == 8
    text = user_text(backend.requests[0])
    assert text.index("Name a prime.") < text.index("Seven.") < text.index("Now double it.") < text.index("Fourteen.")
    assert "{" not in text  # every placeholder filled
    assert "second user question" in backend.requests[0].messages[0].content


def test_mt_bench_pair_multi_turn_template_swaps_the_final_answers():
    path = str(shared(MT_BENCH))
    item = Item(id="p", prompt="Double it.", response_a="14", response_b="15", turns=[Turn(**t) for t in EARLIER])
    backend = FakeBackend(lambda r: "[[A]]" if "### Assistant A:\n14" in user_text(r) else "[[B]]")
    judge = make_judge(backend, JudgeConfig(mode="pairwise", template=f"{path}#pair-v2-multi-turn"))
    verdict = run(judge(item))
    assert verdict.outcome.winner == "A" and verdict.outcome.consistent
    assert "### Assistant B:\nSeven." in user_text(backend.requests[0])


def test_mt_bench_math_multi_turn_needs_both_references():
    path = str(shared(MT_BENCH))
    judge = make_judge(
        FakeBackend("[[9]]"), JudgeConfig(mode="pointwise", template=f"{path}#single-math-v1-multi-turn")
    )
    with pytest.raises(ConfigError, match="ref_answer_1"):
        judge.requests(conversation_item(reference="28"))
    item = conversation_item(reference="28", metadata={"ref_answer_1": "Two."})
    text = user_text(judge.requests(item)[0])
    assert text.index("Two.") < text.index("28")


def test_mt_bench_templates_refuse_what_cannot_work():
    path = str(shared(MT_BENCH))
    multi = make_judge(FakeBackend("[[5]]"), JudgeConfig(mode="pointwise", template=f"{path}#single-v1-multi-turn"))
    with pytest.raises(ConfigError, match="two-turn"):
        multi.requests(Item(id="s", prompt="p", response="r"))
    each = make_judge(
        FakeBackend("[[5]]"),
        JudgeConfig(mode="pointwise", template=f"{path}#single-v1-multi-turn", turn_scope="each"),
    )
    with pytest.raises(ConfigError, match="turn_scope 'final'"):
        each.requests(conversation_item())
    single = make_judge(FakeBackend("[[5]]"), JudgeConfig(mode="pointwise", template=f"{path}#single-v1"))
    with pytest.raises(ConfigError, match="single-turn"):
        single.requests(conversation_item())


# -- interviewer mode ------------------------------------------------------------------------------------------


def interviewer_script(request: GenerateRequest) -> str:
    if "follow-up question" in user_text(request):
        number = user_text(request).rsplit("follow-up question ", 1)[1].split(" ")[0]
        return f"Question {number}: why?"
    return '{"score": "4", "rationale": "holds up"}'


def test_interview_keeps_the_transcript_and_grades_the_whole_exchange():
    interviewer = FakeBackend(interviewer_script, name="judge-model")
    candidate = FakeBackend(lambda r: f"Answer to: {r.messages[-1].content}", name="evaluated")
    judge = make_judge(interviewer, JudgeConfig(mode="pointwise", rubric="helpfulness", scale="1-5"))
    interview = Interview(judge, candidate, turns=2)
    verdict = run(interview(Item(id="i", prompt="Explain gravity.", response="")))
    assert verdict.ok and verdict.outcome.score == 4 and verdict.rationale == "holds up"
    strategy = verdict.strategy or {}
    transcript = strategy["transcript"]
    assert [t["role"] for t in transcript] == ["user", "assistant"] * 3
    assert transcript[1]["content"] == "Answer to: Explain gravity."  # the evaluated model answered first
    assert transcript[2]["content"] == "Question 1: why?" and transcript[4]["content"] == "Question 2: why?"
    assert transcript[5]["content"] == "Answer to: Question 2: why?"
    assert strategy["first_answer"] == "candidate" and strategy["candidate"] == "evaluated"
    # the evaluated model saw the whole conversation each time, as chat messages
    assert [m.role for m in candidate.requests[-1].messages] == ["user", "assistant", "user", "assistant", "user"]
    # the interviewer is told the rubric; the grader sees every turn and is asked about the whole conversation
    assert judge.rubric is not None and judge.rubric.criteria in user_text(interviewer.requests[0])
    grading = user_text(interviewer.requests[-1])
    assert (
        grading.index("Explain gravity.") < grading.index("Question 1: why?") < grading.index("Answer to: Question 2")
    )
    assert "whole conversation" in grading
    assert verdict.usage.calls == 3 and strategy["candidate_usage"]["calls"] == 3


def test_interview_uses_the_items_answer_when_given():
    candidate = FakeBackend("Because.")
    interview = Interview(
        make_judge(FakeBackend(interviewer_script), JudgeConfig(mode="pointwise")), candidate, turns=1
    )
    verdict = run(interview(Item(id="i", prompt="Why?", response="It depends.")))
    transcript = (verdict.strategy or {})["transcript"]
    assert transcript[1]["content"] == "It depends." and len(candidate.requests) == 1
    assert (verdict.strategy or {})["first_answer"] == "item"


def test_interview_failure_of_the_evaluated_model_fails_the_item():
    candidate = FakeBackend([BackendError("server down", retryable=True, reason="server_error")])
    interview = Interview(make_judge(FakeBackend(interviewer_script), JudgeConfig(mode="pointwise")), candidate)
    verdict = run(interview(Item(id="i", prompt="Why?", response="")))
    assert verdict.error is not None and verdict.error.reason == "server_error" and verdict.error.retryable


def test_interview_validates_its_configuration(tmp_path):
    point = make_judge(FakeBackend("x"), JudgeConfig(mode="pointwise"))
    candidate = FakeBackend("x")
    for turns in (0, -1):
        with pytest.raises(ConfigError, match="turns >= 1"):
            Interview(point, candidate, turns=turns)
    with pytest.raises(ConfigError, match="pointwise"):
        Interview(make_judge(FakeBackend("x"), JudgeConfig(mode="pairwise")), candidate)  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="Backend"):
        Interview(point, "not a backend")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="turn_scope"):
        Interview(make_judge(FakeBackend("x"), JudgeConfig(mode="pointwise", turn_scope="each")), candidate)
    template = tmp_path / "flat.toml"
    template.write_text('name = "flat"\nmode = "pointwise"\nuser = "{{ prompt }} {{ response }} {{ output_format }}"\n')
    with pytest.raises(ConfigError, match="does not render the conversation"):
        Interview(make_judge(FakeBackend("x"), JudgeConfig(mode="pointwise", template=str(template))), candidate)
    first = Interview(point, candidate, turns=1).fingerprint
    assert Interview(point, candidate, turns=2).fingerprint != first


# -- end to end --------------------------------------------------------------------------------------------------


def test_run_with_conversations_writes_per_turn_verdicts(tmp_path):
    whole = [*EARLIER, {"role": "user", "content": "Double it."}, {"role": "assistant", "content": "14"}]
    rows = [
        {"id": "conv", "turns": whole},
        {"id": "plain", "prompt": "Say hi.", "response": "hi"},
    ]
    data = write_jsonl(tmp_path / "d.jsonl", rows)
    backend = FakeBackend(lambda r: '{"score": "5"}' if "Seven." in user_text(r) else '{"score": "3"}')
    result = jurist.judge(
        data,
        out=tmp_path / "run",
        config=JudgeConfig(mode="pointwise", turn_scope="each"),
        model=backend,
        options=JobOptions(cache=False),
    )
    verdicts = {v.id: v for v in result.verdicts()}
    assert [t["score"] for t in verdicts["conv"].outcome.per_turn or []] == [5.0, 5.0]
    assert verdicts["plain"].outcome.score == 3 and [t["score"] for t in verdicts["plain"].outcome.per_turn or []] == [
        3.0
    ]


def test_run_with_an_interview_factory(tmp_path):
    candidate = FakeBackend("Sure.", name="evaluated")
    result = jurist.judge(
        [{"id": "q", "prompt": "Plan a trip.", "response": ""}],
        out=tmp_path / "run",
        model=FakeBackend(interviewer_script),
        judge=lambda backend: Interview(make_judge(backend, JudgeConfig(mode="pointwise")), candidate, turns=1),
        options=JobOptions(cache=False),
    )
    (verdict,) = result.verdicts()
    assert verdict.outcome.score == 4 and len((verdict.strategy or {})["transcript"]) == 4
