"""Answer formats (jurist.formats) and the built-in prompt sets (templates/*.toml): each format gives the instruction,
the schema, the labels, the patterns and the logprob tokens; each prompt set loads, and renders only what it is
given."""

from __future__ import annotations

import tomllib
from importlib import resources

import pytest

from jurist import ConfigError, ParseError, Scale
from jurist.formats import AnswerFormat, ListwiseFormat, PairwiseFormat, Rationale
from jurist.prompts import PromptSet, Template, prompt_set, render_text

FORMATS: list[AnswerFormat] = [
    Scale.parse("1-5"),
    Scale.parse("categories:bad,ok,good"),
    PairwiseFormat(),
    PairwiseFormat(tie_label="C"),
    PairwiseFormat(allow_tie=False),
    ListwiseFormat(3),
]


@pytest.mark.parametrize("answer_format", FORMATS, ids=repr)
@pytest.mark.parametrize("rationale", ["before", "after", "none"])
def test_each_format_asks_for_what_its_schema_accepts(answer_format: AnswerFormat, rationale: Rationale) -> None:
    instruction = answer_format.instruction(rationale)
    schema = answer_format.output_schema(rationale)
    assert instruction.startswith("Answer with only a JSON object: {")
    assert all(label in instruction for label in answer_format.labels)
    fields = list(schema["properties"])
    assert schema["required"] == fields and schema["additionalProperties"] is False
    assert ("rationale" in fields) == (rationale != "none")
    assert ("rationale" in instruction) == (rationale != "none")
    if rationale == "before":
        assert fields[0] == "rationale" and instruction.index("rationale") < instruction.index(fields[1])
    verdict = schema["properties"][fields[-1] if rationale == "before" else fields[0]]
    if verdict["type"] == "string":
        assert verdict["enum"] == answer_format.labels
    assert answer_format.patterns and set(answer_format.logprob_tokens) <= set(answer_format.labels)


def test_each_format_reads_its_own_json_answer_and_its_text_conventions() -> None:
    scale = Scale.parse("1-5")
    assert scale.read(scale.answer("4", "json")).value == "4"
    assert scale.read(scale.answer("4", "text")).value == "4"
    mt_bench = PairwiseFormat(tie_label="C")
    assert mt_bench.read(mt_bench.answer("C", "text")).value == "C"
    assert mt_bench.winner("C") == "tie" and mt_bench.label("tie") == "C" and mt_bench.label("A") == "A"
    assert mt_bench.read("My final verdict is [[B>>A]]").value == "B"
    ranking = ListwiseFormat(3)
    assert ranking.read(ranking.answer([2, 3, 1]))[0] == [2, 3, 1]
    assert ranking.read("Best to worst: 3 > 1 > 2")[0] == [3, 1, 2]
    with pytest.raises(ParseError):
        ranking.read("[[1, 2]]")  # not every response ranked


def test_logprob_tokens_only_where_a_first_token_names_one_label() -> None:
    assert Scale.parse("1-5").logprob_tokens == ["1", "2", "3", "4", "5"]
    assert Scale.parse("1-10").logprob_tokens == []  # "1" is also the start of "10"
    assert ListwiseFormat(9).logprob_tokens == [str(i) for i in range(1, 10)]
    assert ListwiseFormat(10).logprob_tokens == []
    assert PairwiseFormat(allow_tie=False).logprob_tokens == ["A", "B"]


def test_a_checklist_scale_asks_for_one_label_per_criterion() -> None:
    scale = Scale.parse("binary")
    schema = scale.output_schema("none", ["correct", "clear"])
    assert schema["properties"]["scores"]["required"] == ["correct", "clear"]
    assert schema["properties"]["scores"]["properties"]["clear"]["enum"] == ["fail", "pass"]
    assert scale.instruction("none", ["correct", "clear"]) == (
        'Answer with only a JSON object: {"scores": {"correct": "fail" | "pass", "clear": "fail" | "pass"}}'
    )


def _builtin_files() -> dict[str, dict[str, object]]:
    folder = resources.files("jurist") / "templates"
    return {
        entry.name.removesuffix(".toml"): tomllib.loads(entry.read_text(encoding="utf-8"))
        for entry in folder.iterdir()
        if entry.name.endswith(".toml")
    }


def test_every_builtin_template_file_is_a_judge_template_or_a_prompt_set_that_loads() -> None:
    sets = []
    for name, data in _builtin_files().items():
        if "mode" in data:
            Template.model_validate(data).check()
        else:
            prompts = prompt_set(name)
            assert isinstance(prompts, PromptSet) and prompts.name == name and prompts.texts
            sets.append(name)
    assert {"debate", "discussion", "interview", "augment", "audit"} <= set(sets)


def test_a_prompt_renders_only_with_every_value_and_never_rereads_a_value() -> None:
    with pytest.raises(ConfigError, match="placeholder \\{n\\} has no value"):
        prompt_set("augment").render("metrics", prompt="Name a prime.")
    text = prompt_set("augment").render("answer", prompt="Fill {response} and {{ x }}")
    assert text.endswith("Fill {response} and {{ x }}")
    with pytest.raises(ConfigError, match="no prompt 'nothing'"):
        prompt_set("debate").text("nothing")
    with pytest.raises(ConfigError, match="refused"):
        render_text("{x.__class__}", {"x": 1}, engine="format", source="test")
    with pytest.raises(ConfigError):
        render_text("{{ x.__class__ }}", {"x": 1}, engine="jinja", source="test")
