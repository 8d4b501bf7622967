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
