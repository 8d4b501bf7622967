"""Reading a verdict out of a judge's text, and its probability out of token logprobs.

Order of attempts: a JSON object (what structured output produces), then tolerant patterns on free text
("[[A]]", "Rating: [[7]]", "winner: B", ...: each answer format in `jurist.formats` brings its own). If nothing
matches, a ParseError carries the raw text: a verdict is never invented. A judge whose verdicts are written in other
conventions (Arena-Hard's "[[A>>B]]", PandaLM's "1"/"2"/"Tie") gives `extract` a `read` function that says which
label a captured token names.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from .backends.base import GenerateResponse
from .errors import ParseError


@dataclass(frozen=True)
class Extracted:
    value: str
    offset: int | None  # character offset of the value in the text, to find its token's logprobs
    rationale: str | None
    token: str = ""  # the verdict as the judge wrote it ("A>>B" for the label "A")


_DECODER = json.JSONDecoder()


def find_json_object(text: str) -> tuple[dict[str, Any], int] | None:
    start = text.find("{")
    while start != -1:
        try:
            obj, _ = _DECODER.raw_decode(text, start)
        except ValueError:
            start = text.find("{", start + 1)
            continue
        if isinstance(obj, dict):
            return obj, start
        start = text.find("{", start + 1)
    return None


def match_label(candidate: str, labels: list[str]) -> str | None:
    c = candidate.strip().strip("\"'[]().*:").strip().lower()
    for label in labels:
        if c == label.lower():
            return label
    return None


def _rationale_from_text(text: str, verdict_at: int) -> str | None:
    """The text around the verdict, without the line that states it."""
    after = text[verdict_at:]
    rest = (text[:verdict_at] + " " + (after.split("\n", 1)[1] if "\n" in after else "")).strip()
    return rest or None


Reader = Callable[[str], str | None]


def extract(text: str, field: str, labels: list[str], patterns: Sequence[str], read: Reader | None = None) -> Extracted:
    """Find the value of `field` among `labels` in a judge's text. Patterns are tried in order, and within one
    pattern the last match wins; `read` names the label a captured token stands for (default: the token is the
    label, compared case-insensitively)."""

    def label_of(token: str) -> str | None:
        label = match_label(token, labels) if read is None else read(token)
        return label if label in labels else None

    found = find_json_object(text)
    if found is not None:
        obj, start = found
        value = obj.get(field)
        label = label_of(str(value)) if isinstance(value, str | int | float) else None
        if label is not None:
            key_at = text.find(f'"{field}"', start)
            spelled = key_at != -1 and match_label(str(value), labels) == label
            offset = _value_offset(text, key_at, label) if spelled else None
            rationale = obj.get("rationale")
            return Extracted(label, offset, str(rationale) if rationale is not None else None, str(value))
    # Truncated JSON (the model ran out of tokens after the verdict), then free-text patterns.
    key = re.compile(rf'"{re.escape(field)}"\s*:\s*"?([^",}}\s]+)', re.I)
    for pattern in [key, *(re.compile(p, re.I | re.M) for p in patterns)]:
        matches = list(pattern.finditer(text))
        for m in reversed(matches):  # the final verdict is usually the last one stated
            token = m.group(1)
            label = label_of(token)
            if label is not None:
                rationale = rationale_from_json(text) or _rationale_from_text(text, m.start())
                # A token that only stands for the label ("A=B" for a tie, "1" for A) is not the label's token:
                # its logprobs say nothing about the label's probability.
                offset = m.start(1) if match_label(token, labels) == label else None
                return Extracted(label, offset, rationale, token)
    raise ParseError(f"no {field} among {labels} found in the judge's text", raw=text)


def _value_offset(text: str, key_at: int, label: str) -> int | None:
    m = re.compile(r'"[^"]*"\s*:\s*"?', re.S).match(text, key_at)
    if m is None:
        return None
    at = m.end()
    return at if text[at : at + len(label)].lower() == label.lower() else None


def rationale_from_json(text: str) -> str | None:
    """The rationale of a JSON answer, even one cut off before it closes."""
    m = re.search(r'"rationale"\s*:\s*"((?:[^"\\]|\\.)*)', text)
    return m.group(1) if m else None


def label_probabilities(
    response: GenerateResponse, offset: int | None, labels: list[str], *, min_prefix: int = 2
) -> dict[str, float] | None:
    """P(label) at the token where the verdict starts, renormalised over the labels; None if not available. A token
    shorter than a label counts for it when it starts no other label and has `min_prefix` characters or more (1 for
    labels that differ in their first letter, which a tokenizer may split off: "S" + "UPPORTED")."""
    if not response.logprobs or offset is None:
        return None
    position = 0
    chosen = None
    for token in response.logprobs:
        end = position + len(token.token)
        if end > offset:
            chosen = token
            break
        position = end
    if chosen is None:
        return None
    mass: dict[str, float] = {}
    alternatives = dict(chosen.top)
    alternatives.setdefault(chosen.token, chosen.logprob)
    for token_text, logprob in alternatives.items():
        label = _label_for_token(token_text, labels, min_prefix)
        if label is not None:
            mass[label] = mass.get(label, 0.0) + math.exp(logprob)
    total = sum(mass.values())
    if total <= 0:
        return None
    return {label: mass.get(label, 0.0) / total for label in labels}


def _label_for_token(token: str, labels: list[str], min_prefix: int = 2) -> str | None:
    """The label a token begins: exact match after stripping quotes and spaces, or the unique label it starts."""
    t = token.strip().strip("\"'[]():*").strip().lower()
    if not t:
        return None
    exact = [lab for lab in labels if lab.lower() == t]
    if exact:
        return exact[0]
    starts = [lab for lab in labels if lab.lower().startswith(t)]
    return starts[0] if len(starts) == 1 and len(t) >= min_prefix else None
