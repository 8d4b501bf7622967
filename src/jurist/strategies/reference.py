"""The table of strategy-file kinds in docs/guide.md ('Strategy files'), generated from the registry's strategy
classes: each kind's slots and Params fields, with their types, defaults and descriptions.

    python -m jurist.strategies.reference docs/guide.md     # rewrite the table there (without a path: print it)

tests/unit/test_strategy_params.py fails while the committed table differs from what this prints."""

from __future__ import annotations

import sys
import types
from pathlib import Path
from typing import Any, Literal, Union, get_args, get_origin

from pydantic.fields import FieldInfo

from .base import Strategy
from .registry import LEAF, STRATEGIES

REGENERATE = "python -m jurist.strategies.reference docs/guide.md"
START = "<!-- strategy kinds: generated from the strategies' Params by `" + REGENERATE + "` -->"
END = "<!-- end of strategy kinds -->"


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def _type(annotation: Any) -> str:
    """A field's type as a reader of a strategy file knows it."""
    origin = get_origin(annotation)
    if origin in (Union, types.UnionType):
        return " or ".join(_type(a) for a in get_args(annotation))
    if origin is list:
        return f"list of {_type(get_args(annotation)[0])}"
    if origin is Literal:
        return " or ".join(f"`{a}`" for a in get_args(annotation))
    return {type(None): "null", str: "text", int: "integer", float: "number", bool: "true/false"}.get(
        annotation, getattr(annotation, "__name__", str(annotation))
    )


def _default(field: FieldInfo) -> str:
    if field.is_required():
        return "required"
    value = field.get_default(call_default_factory=True)
    if value is None:
        return "none"
    return f"`{', '.join(map(str, value)) if isinstance(value, list) else value}`"


def _rows(kind: str, strategy: type[Strategy]) -> list[str]:
    head = f"`{kind}` ({strategy.__name__})"
    rows = []
    for slot in strategy.slots:
        default = "a plain judge" if slot.optional else "required"
        rows.append((f"`{slot.name}`", slot.kind(), default, slot.description))
    params = strategy.Params
    for name, field in params.model_fields.items():
        choices = params.choices(name)
        typed = _type(field.annotation)
        if choices:
            typed = ("list of " if typed.startswith("list") else "") + " or ".join(f"`{c}`" for c in choices)
        if name in params.specs():
            typed = "model spec"
        rows.append((f"`{name}`", typed, _default(field), field.description or ""))
    return [f"| {head if i == 0 else ''} | {' | '.join(_cell(c) for c in row)} |" for i, row in enumerate(rows)]


def table() -> str:
    """The table, between its markers, as the registry describes the strategies now."""
    lines = [
        START,
        "| kind | field | type | default | meaning |",
        "|---|---|---|---|---|",
        f"| `{LEAF}` (one model judge) | `model` | model spec | the run's `--model` | the judge's model |",
        "| | any JudgeConfig field | | the run's | `rubric`, `rules`, `rationale`, `temperature`, `scale`, `demos`... "
        "on top of the run's own options |",
    ]
    for kind, strategy in STRATEGIES.items():
        lines += _rows(kind, strategy)
    return "\n".join([*lines, END])


def rewrite(text: str) -> str:
    """`text` (docs/guide.md) with the table between its markers replaced by `table()`."""
    if START not in text or END not in text:
        raise ValueError(f"the table's markers are missing: put {START!r} and {END!r} where it goes")
    before, rest = text.split(START, 1)
    return before + table() + rest.split(END, 1)[1]


if __name__ == "__main__":
    if len(sys.argv) > 1:
        path = Path(sys.argv[1])
        path.write_text(rewrite(path.read_text(encoding="utf-8")), encoding="utf-8")
    else:
        sys.stdout.write(table() + "\n")
