"""Built-in judge templates by name (`--template relevance`), next to template files."""

from __future__ import annotations

from pathlib import Path

import pytest

from jurist.errors import ConfigError
from jurist.prompts import builtin_templates, load_template


def test_the_built_in_judge_templates_are_named_with_their_modes() -> None:
    found = builtin_templates()
    assert found["relevance"] == "pointwise" and found["relevance_fewshot"] == "pointwise"
    assert found["pairwise"] == "pairwise" and found["listwise"] == "listwise"
    assert "debate" not in found and "reasoning" not in found  # prompt sets, not judge templates


def test_a_built_in_template_loads_by_name() -> None:
    template = load_template("relevance", "pointwise")
    assert template.name == "relevance" and template.source == "built-in relevance"
    assert "# Passage" in template.user


def test_a_built_in_template_of_another_mode_is_refused() -> None:
    with pytest.raises(ConfigError, match="built-in template relevance is for pointwise judging, but --mode is pair"):
        load_template("relevance", "pairwise")


def test_an_unknown_name_lists_the_built_in_ones() -> None:
    with pytest.raises(ConfigError, match=r"template file not found: relevnce \(or give a built-in .*_fewshot"):
        load_template("relevnce", "pointwise")


def test_a_file_of_that_name_comes_first(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    Path("relevance").write_text("not a template", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"templates are \.toml files"):
        load_template("relevance", "pointwise")
