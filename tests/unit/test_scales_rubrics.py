"""Scales (what a pointwise judge may answer) and rubrics (what it judges), as data files."""

from __future__ import annotations

import json

import pytest

from jurist import ConfigError, Scale
from jurist.rubrics import builtin_rubrics, load_rubric


def test_likert_spec():
    scale = Scale.parse("1-5")
    assert scale.kind == "likert"
    assert scale.labels == ["1", "2", "3", "4", "5"]
    assert scale.value("4") == 4
    assert "from 1 to 5" in scale.describe()


def test_likert_spec_with_spaces_and_zero():
    scale = Scale.parse(" 0 - 10 ")
    assert scale.labels[0] == "0" and scale.labels[-1] == "10"
    assert len(scale.labels) == 11


def test_binary_spec():
    for spec in ("binary", "pass/fail", "pass-fail"):
        scale = Scale.parse(spec)
        assert scale.labels == ["fail", "pass"]
        assert scale.value("pass") == 1 and scale.value("FAIL") == 0


def test_categories_spec_values_follow_order():
    scale = Scale.parse("categories:bad, ok ,good")
    assert scale.labels == ["bad", "ok", "good"]
    assert [scale.value(lab) for lab in scale.labels] == [0, 1, 2]
    assert '"ok"' in scale.describe()


@pytest.mark.parametrize("spec", ["5-1", "3-3", "categories:one", "categories:a,a", "stars", "1-", ""])
def test_bad_scale_specs(spec):
    with pytest.raises(ConfigError):
        Scale.parse(spec)


def test_value_of_unknown_label():
    with pytest.raises(KeyError):
        Scale.parse("1-5").value("6")


def test_probabilities_are_reliable_only_without_prefix_labels():
    assert Scale.parse("1-5").probabilities_are_reliable()
    assert Scale.parse("0-9").probabilities_are_reliable()
    assert not Scale.parse("1-10").probabilities_are_reliable()  # "1" is a prefix of "10"
    assert Scale.parse("binary").probabilities_are_reliable()
    assert not Scale.parse("categories:good,goodish").probabilities_are_reliable()


def test_builtin_rubrics_all_load():
    names = builtin_rubrics()
    assert {"helpfulness", "harmlessness", "honesty", "faithfulness", "overall", "pass_fail"} <= set(names)
    for name in names:
        rubric = load_rubric(name)
        assert rubric.name == name
        assert rubric.criteria.strip()
        labels = rubric.get_scale().labels
        assert set(rubric.descriptors) <= set(labels)


def test_builtin_rubric_scales():
    assert load_rubric("overall").get_scale().labels[-1] == "10"
    assert load_rubric("pass_fail").get_scale().kind == "binary"
    assert load_rubric("helpfulness").scale == "1-5"


def test_rubric_hash_changes_with_content(tmp_path):
    path = tmp_path / "mine.toml"
    path.write_text('name = "mine"\ncriteria = "Is it short?"\nscale = "1-5"\n')
    first = load_rubric(str(path)).content_hash()
    path.write_text('name = "mine"\ncriteria = "Is it long?"\nscale = "1-5"\n')
    assert load_rubric(str(path)).content_hash() != first


def test_user_rubric_toml_and_json(tmp_path):
    toml_path = tmp_path / "brevity.toml"
    toml_path.write_text(
        'name = "brevity"\ncriteria = "Is it short?"\nscale = "binary"\n[descriptors]\npass = "short"\n'
    )
    rubric = load_rubric(str(toml_path))
    assert rubric.name == "brevity" and rubric.descriptors == {"pass": "short"}
    json_path = tmp_path / "brevity.json"
    json_path.write_text(json.dumps({"name": "brevity", "criteria": "Is it short?", "scale": "1-3"}))
    assert load_rubric(str(json_path)).get_scale().labels == ["1", "2", "3"]


def test_unknown_rubric_names_the_builtins():
    with pytest.raises(ConfigError) as info:
        load_rubric("kindness")
    assert "kindness" in str(info.value)
    assert "helpfulness" in str(info.value)


@pytest.mark.parametrize(
    ("filename", "content", "needle"),
    [
        ("syntax.toml", 'name = "x"\ncriteria = "unterminated', "not a valid rubric"),
        ("nocriteria.toml", 'name = "x"\nscale = "1-5"\n', "criteria"),
        ("badscale.toml", 'name = "x"\ncriteria = "c"\nscale = "1-many"\n', "not a valid rubric"),
        ("baddesc.toml", 'name = "x"\ncriteria = "c"\nscale = "1-5"\n[descriptors]\n7 = "great"\n', "7"),
        ("broken.json", '{"name": "x", "criteria": ', "not a valid rubric"),
        ("wrongtype.json", '{"name": "x", "criteria": ["a", "b"]}', "not a valid rubric"),
    ],
)
def test_bad_rubric_files(tmp_path, filename, content, needle):
    path = tmp_path / filename
    path.write_text(content)
    with pytest.raises(ConfigError) as info:
        load_rubric(str(path))
    message = str(info.value)
    assert str(path) in message
    assert needle in message
