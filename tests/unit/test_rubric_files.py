"""The rubric library and user rubrics in TOML, JSON, YAML and Markdown."""

from __future__ import annotations

from pathlib import Path

import pytest

from jurist import ConfigError
from jurist.rubrics import builtin_rubrics, load_rubric

LIBRARY = {
    "helpfulness",
    "harmlessness",
    "honesty",
    "factuality",
    "faithfulness",
    "relevance",
    "instruction_following",
    "coherence",
    "fluency",
    "conciseness",
    "feasibility",
    "overall",
    "pass_fail",
}


def test_the_library_covers_the_attributes_users_judge() -> None:
    assert set(builtin_rubrics()) >= LIBRARY
    for name in builtin_rubrics():
        rubric = load_rubric(name)
        assert rubric.name == name and rubric.criteria and rubric.version
        assert set(rubric.descriptors) <= set(rubric.get_scale().labels)


def test_yaml_rubric_with_numeric_keys(tmp_path: Path) -> None:
    path = tmp_path / "brevity.yaml"
    path.write_text(
        "name: brevity\nversion: 2\nscale: 1-3\ncriteria: Is it short?\ndescriptors:\n  1: long\n  3: short\n"
    )
    rubric = load_rubric(str(path))
    assert (rubric.name, rubric.version, rubric.scale) == ("brevity", "2", "1-3")
    assert rubric.descriptors == {"1": "long", "3": "short"}


def test_markdown_rubric(tmp_path: Path) -> None:
    path = tmp_path / "tone.md"
    path.write_text(
        "# tone\n\nversion: 3\nscale: 1-5\n\nIs the tone polite\nand warm?\n\nNo sarcasm.\n\n"
        "## Scores\n- 1: rude\n- 5: warm and polite\n"
    )
    rubric = load_rubric(str(path))
    assert rubric.name == "tone" and rubric.version == "3" and rubric.scale == "1-5"
    assert rubric.criteria == "Is the tone polite\nand warm?\n\nNo sarcasm."
    assert rubric.descriptors == {"1": "rude", "5": "warm and polite"}


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("no_header.md", "just text\n", "starts with '# NAME'"),
        ("no_criteria.md", "# x\nscale: 1-5\n\n## Scores\n- 1: bad\n", "no criteria"),
        ("bad_label.md", "# x\nscale: 1-3\n\nCriteria.\n\n## Scores\n- 7: what\n", "not labels of scale"),
        ("list.yaml", "- a\n- b\n", "expected a mapping"),
    ],
)
def test_bad_rubric_files_say_what_is_wrong(tmp_path: Path, name: str, text: str, message: str) -> None:
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(ConfigError, match=message) as info:
        load_rubric(str(path))
    assert name in str(info.value)


def test_rules_are_put_before_the_item_and_change_the_fingerprint(tmp_path: Path) -> None:
    import asyncio

    from jurist import FakeBackend, JudgeConfig, make_judge
    from jurist.rubrics import builtin_rule_sets, load_rules
    from jurist.types import Item

    assert {"instruction_first", "safety_first"} <= set(builtin_rule_sets())
    backend = FakeBackend(['{"winner": "A"}'])
    judge = make_judge(backend, JudgeConfig(mode="pairwise", swap=False, rules="instruction_first"))
    asyncio.run(judge(Item(id="1", prompt="the request", response_a="a", response_b="b")))
    prompt = backend.requests[0].messages[-1].content
    first_rule = load_rules("instruction_first").rules[0]
    assert prompt.index("Rules:") < prompt.index(first_rule) < prompt.index("the request")
    plain = make_judge(FakeBackend(["x"]), JudgeConfig(mode="pairwise", swap=False))
    assert plain.fingerprint != judge.fingerprint

    own = tmp_path / "mine.txt"
    own.write_text("# my rules\n- Prefer the shorter answer.\n\nCheck the arithmetic.\n")
    assert load_rules(str(own)).rules == ["Prefer the shorter answer.", "Check the arithmetic."]
    (tmp_path / "empty.txt").write_text("# nothing\n")
    with pytest.raises(ConfigError, match="no rules found"):
        load_rules(str(tmp_path / "empty.txt"))
    with pytest.raises(ConfigError, match="unknown rule set"):
        load_rules("no_such_rules")


# -- hostile rubric and rule files ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "text", "line"),
    [
        ("bad.toml", 'name = "x"\ncriteria = "ok"\nscale = 1-5\n', 3),
        ("bad.json", '{\n  "name": "x",\n  "criteria": "ok",,\n}\n', 3),
        ("bad.yaml", "name: x\ncriteria: [unclosed\nscale: 1-5\n", 3),
    ],
)
def test_malformed_rubric_names_the_file_and_line(tmp_path: Path, name: str, text: str, line: int) -> None:
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(ConfigError) as info:
        load_rubric(str(path))
    assert f"{path}:{line}" in str(info.value) and "fix" in str(info.value)


def test_deeply_nested_json_rubric_is_a_config_error(tmp_path: Path) -> None:
    path = tmp_path / "deep.json"
    path.write_text('{"name": "x", "criteria": "ok", "extra": ' + "[" * 5000 + "]" * 5000 + "}")
    with pytest.raises(ConfigError, match="nested"):
        load_rubric(str(path))


@pytest.mark.parametrize("suffix", [".toml", ".json", ".yaml", ".md"])
def test_rubric_with_byte_order_mark_loads(tmp_path: Path, suffix: str) -> None:
    text = {
        ".toml": 'name = "x"\ncriteria = "Is it short?"\n',
        ".json": '{"name": "x", "criteria": "Is it short?"}',
        ".yaml": "name: x\ncriteria: Is it short?\n",
        ".md": "# x\n\nIs it short?\n",
    }[suffix]
    path = tmp_path / f"r{suffix}"
    path.write_text("\ufeff" + text, encoding="utf-8")
    rubric = load_rubric(str(path))
    assert rubric.name == "x" and rubric.criteria == "Is it short?"


def test_rubric_and_rules_with_invalid_utf8_name_the_line(tmp_path: Path) -> None:
    from jurist.rubrics import load_rules

    rubric = tmp_path / "r.yaml"
    rubric.write_bytes(b"name: x\ncriteria: caf\xe9\n")
    with pytest.raises(ConfigError) as info:
        load_rubric(str(rubric))
    assert f"{rubric}:2" in str(info.value) and "UTF-8" in str(info.value)
    rules = tmp_path / "rules.txt"
    rules.write_bytes(b"- one\n- caf\xe9\n")
    with pytest.raises(ConfigError, match=f"{rules}:2"):
        load_rules(str(rules))


def test_rules_text_file_with_byte_order_mark(tmp_path: Path) -> None:
    from jurist.rubrics import load_rules

    path = tmp_path / "rules.txt"
    path.write_text("\ufeffPrefer the shorter answer.\nCheck the arithmetic.\n", encoding="utf-8")
    assert load_rules(str(path)).rules == ["Prefer the shorter answer.", "Check the arithmetic."]


def test_malformed_rules_toml_names_the_line(tmp_path: Path) -> None:
    from jurist.rubrics import load_rules

    path = tmp_path / "rules.toml"
    path.write_text('name = "r"\nrules = ["one" "two"]\n')
    with pytest.raises(ConfigError, match=f"{path}:2"):
        load_rules(str(path))


def test_rubric_text_is_shown_as_data_not_rendered(tmp_path: Path) -> None:
    from jurist import FakeBackend, JudgeConfig, make_judge
    from jurist.types import Item

    path = tmp_path / "r.toml"
    path.write_text('name = "x"\ncriteria = "Is {{ 7 * 7 }} {% raw %} {prompt} shown?"\n')
    judge = make_judge(FakeBackend(["x"]), JudgeConfig(mode="pointwise", rubric=str(path)))
    (request,) = judge.requests(Item(id="1", prompt="p", response="r"))
    assert "Is {{ 7 * 7 }} {% raw %} {prompt} shown?" in request.messages[-1].content
