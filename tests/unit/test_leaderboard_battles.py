"""Battles and the style features of an answer."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from jurist.errors import ConfigError
from jurist.leaderboard import STYLE_FEATURES, Battle, style_features


def test_style_features_count_markdown_outside_code() -> None:
    text = (
        "# Title\n"
        "Some **bold** text and __more bold__.\n"
        "## Steps\n"
        "- first\n"
        "* second\n"
        "1. numbered\n"
        "```python\n"
        "# a comment, not a header\n"
        "- not a list item either\n"
        "```\n"
    )
    features = style_features(text)
    assert set(features) == set(STYLE_FEATURES)
    assert features["headers"] == 2
    assert features["bold"] == 2
    assert features["list_items"] == 3
    assert features["length"] == len(text.split())


def test_plain_text_has_no_markdown() -> None:
    assert style_features("just two words") == {"length": 3.0, "headers": 0.0, "bold": 0.0, "list_items": 0.0}


def test_battle_of_a_model_against_itself_is_refused() -> None:
    with pytest.raises(ConfigError, match="both model_a and model_b"):
        Battle(prompt_id="p1", model_a="m", model_b="m", winner="A")


def test_preference_must_be_a_probability() -> None:
    with pytest.raises(ValidationError):
        Battle(prompt_id="p1", model_a="a", model_b="b", winner="B", preference=1.5)
    assert Battle(prompt_id="p1", model_a="a", model_b="b", winner="B", preference=0.9).preference == 0.9
