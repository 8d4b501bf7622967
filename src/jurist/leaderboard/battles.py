"""Battles: one judged comparison of two systems' answers to one prompt, and the style features of an answer.

A battle is the unit every leaderboard statistic is computed from (win rates, Elo, Bradley-Terry). The judge's
discrete verdict is `winner`; when it also gave a probability, `preference` holds P(B wins) and win rates use it
as a soft outcome. AlpacaEval's preferences live on [1, 2] (2 = the second output wins): store `p - 1`.
"""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict, Field, model_validator

from jurist.errors import ConfigError
from jurist.outcomes import Winner, winner_share

STYLE_FEATURES: tuple[str, ...] = ("length", "headers", "bold", "list_items")

_CODE_BLOCK = re.compile(r"```.*?```", re.DOTALL)
_HEADER = re.compile(r"^ {0,3}#{1,6}\s+\S", re.MULTILINE)
_BOLD = re.compile(r"\*\*[^*\n]+?\*\*|__[^_\n]+?__")
_LIST_ITEM = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s+\S", re.MULTILINE)


class Battle(BaseModel):
    """One judged comparison: `model_a` and `model_b` answered `prompt_id`, and the judge picked `winner`.

    `preference` is the judge's P(B wins) in [0, 1] when it gave one (from logprobs, or AlpacaEval's
    preference minus 1). `features_a`/`features_b` are style features of the two answers (see `style_features`),
    used by style-controlled Bradley-Terry.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    prompt_id: str
    model_a: str = Field(min_length=1)
    model_b: str = Field(min_length=1)
    winner: Winner
    preference: float | None = Field(default=None, ge=0.0, le=1.0)
    features_a: dict[str, float] = Field(default_factory=dict)
    features_b: dict[str, float] = Field(default_factory=dict)

    def p_second(self) -> float:
        """P(model B wins), as `preference` has it: the judge's probability when it gave one, else 1 when B won,
        0 when A won and 1/2 for a tie."""
        return self.preference if self.preference is not None else 1.0 - winner_share(self.winner)

    @model_validator(mode="after")
    def _two_different_models(self) -> Battle:
        if self.model_a == self.model_b:
            raise ConfigError(
                f"battle on prompt '{self.prompt_id}' names '{self.model_a}' as both model_a and model_b; "
                "a battle compares two different systems"
            )
        return self


def style_features(text: str) -> dict[str, float]:
    """Arena-hard's style features of one answer: length, markdown headers, bold spans and list items.

    `length` is a whitespace word count, not a tokenizer's count: it needs no model, and only ratios of the two
    answers' lengths enter the style-controlled fit. Markdown inside fenced code blocks is not counted, so a `#`
    comment in code is not a header.
    """
    prose = _CODE_BLOCK.sub("", text)
    return {
        "length": float(len(text.split())),
        "headers": float(len(_HEADER.findall(prose))),
        "bold": float(len(_BOLD.findall(prose))),
        "list_items": float(len(_LIST_ITEM.findall(prose))),
    }
