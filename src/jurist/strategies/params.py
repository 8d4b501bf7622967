"""What a strategy says about itself as data: its parameters (one pydantic model, the class's `Params`) and the places
for the judges it wraps (its `slots`). The strategy-file tree (tree.py), the CLI's strategy flags (cli/common.py)
and the docs table (reference.py) are generated from them, so a new strategy is written once: its class, and one
line in registry.py."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Self

from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator
from pydantic.fields import FieldInfo

from ..errors import ConfigError
from ..types import Mode


class StrategyParams(BaseModel):
    """A strategy's settings: their types, defaults and descriptions, and the checks of values that need no judge.
    A validator raises ValueError with the message the user sees, naming the strategy (`owner()`); `check`
    turns a failure into a ConfigError. Checks that need the judges (a vote on scores needs pointwise judges, one
    weight per judge) stay in the strategy's constructor."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    @classmethod
    def owner(cls) -> str:
        """The name of the strategy class that declares these Params (they are declared inside it)."""
        return cls.__qualname__.split(".")[0]

    @field_validator("*", mode="before")
    @classmethod
    def _whole(cls, value: Any, info: ValidationInfo) -> Any:
        """A `count` field takes an integer of at least 1 (not a bool, nor a number in a string)."""
        if _extra(cls, info.field_name or "").get("count") and (
            isinstance(value, bool) or not isinstance(value, int) or value < 1
        ):
            raise ValueError(f"{cls.owner()} needs {info.field_name} >= 1 (an integer), got {value!r}")
        return value

    @field_validator("*")
    @classmethod
    def _positive(cls, value: Any, info: ValidationInfo) -> Any:
        """A `positive` field takes a number of at least 1 (or None, where that is its default)."""
        if _extra(cls, info.field_name or "").get("positive") and value is not None and value < 1:
            raise ValueError(f"{cls.owner()}: {info.field_name} must be at least 1, got {value}")
        return value

    @field_validator("*")
    @classmethod
    def _one_of(cls, value: Any, info: ValidationInfo) -> Any:
        """A `choice` field takes one of its choices (a list field: each of its elements)."""
        extra = _extra(cls, info.field_name or "")
        if "choices" not in extra:
            return value
        choices = extra["choices"]
        if isinstance(value, list):
            unknown = sorted({str(v) for v in value if v not in choices})
            shown: str = str(unknown)
        else:
            unknown, shown = ([] if value in choices else [value]), repr(value)
        if unknown:
            lead = extra["unknown"] or f"unknown {info.field_name}"
            raise ValueError(f"{cls.owner()}: {lead} {shown}; choose one of {', '.join(choices)}")
        return value

    @classmethod
    def check(cls, **values: Any) -> Self:
        """The params from `values`, or a ConfigError that says what is wrong."""
        try:
            return cls(**values)
        except ValidationError as exc:
            raise ConfigError("; ".join(_message(cls.owner(), e) for e in exc.errors())) from None

    @classmethod
    def default(cls, name: str) -> Any:
        return cls.model_fields[name].get_default(call_default_factory=True)

    @classmethod
    def about(cls, name: str) -> str:
        """Field `name`'s description."""
        return cls.model_fields[name].description or ""

    @classmethod
    def choices(cls, name: str) -> tuple[str, ...]:
        """The values field `name` takes (each element, for a list), as declared with `choice`; () for any."""
        return tuple(_extra(cls, name).get("choices", ()))

    @classmethod
    def specs(cls) -> list[str]:
        """The fields that name a model (declared with `model_spec`): a strategy file gives a spec, the strategy a
        backend."""
        return [name for name in cls.model_fields if _extra(cls, name).get("model_spec")]


def choice(default: Any, choices: Sequence[str], description: str, *, unknown: str | None = None) -> Any:
    """A field that takes one of `choices` (a list field: each of its elements), listed in the docs and offered by
    the CLI. The type stays `str` so that a strategy file with another value reads, and StrategyParams refuses it
    with a message that starts with `unknown` (default "unknown FIELD") and lists the choices."""
    extra: dict[str, Any] = {"choices": list(choices), "unknown": unknown}
    if isinstance(default, list):
        return Field(default_factory=lambda: list(default), description=description, json_schema_extra=extra)
    return Field(default, description=description, json_schema_extra=extra)


def count(default: int, description: str) -> Any:
    """A field that counts rounds or turns: an integer of at least 1, checked by StrategyParams."""
    return Field(default, description=description, json_schema_extra={"count": True})


def positive(default: int | None, description: str) -> Any:
    """A size or a budget: at least 1 (or None, where that is the default), checked by StrategyParams."""
    return Field(default, description=description, json_schema_extra={"positive": True})


def model_spec(description: str) -> Any:
    """A required field naming a model: a spec in a strategy file (built into a backend there), the backend's name
    when the strategy is made in Python."""
    return Field(description=description, json_schema_extra={"model_spec": True})


def same_default(field: FieldInfo, description: str | None = None) -> Any:
    """A field with `field`'s default (or default factory) and description (or `description`), and none of its
    checks: for a model that takes a strategy's setting (a strategy file's node, the CLI's flat settings)."""
    text = field.description if description is None else description
    if field.default_factory is not None:
        return Field(default_factory=field.default_factory, description=text)
    return Field(field.default, description=text)


def _extra(params: type[StrategyParams], name: str) -> dict[str, Any]:
    extra = params.model_fields[name].json_schema_extra
    return extra if isinstance(extra, dict) else {}


def _message(strategy: str, error: Mapping[str, Any]) -> str:
    if error["type"] == "value_error":
        return str(error.get("ctx", {}).get("error", error["msg"]))  # a validator's own message
    where = ".".join(str(p) for p in error["loc"])
    return f"{strategy}: {where}: {error['msg']}"


@dataclass(frozen=True)
class Slot:
    """A place for judges in a strategy: its field in a strategy file (judge, judges, cheap or strong) and what it
    takes. The constructor gets the slots' judges first, in the order of the class's `slots`."""

    name: str
    description: str  # what these judges do in the strategy (the docs table)
    many: bool = False  # a list of judges, given as one list
    count: int | None = None  # exactly this many judges, given one by one (a list in the file)
    leaves: bool = False  # model judges only (`judge` leaves), not other strategies
    optional: bool = False  # left out: a plain judge with the run's settings
    mode: Mode | None = None  # the judges below are built in this mode (a ranking compares pairs)
    human: bool = False  # may be the word "human": no judge (None), the items go to people

    @property
    def listed(self) -> bool:
        return self.many or self.count is not None

    def kind(self) -> str:
        """What the slot takes, in words (the docs table)."""
        one, some = ("a model judge", "model judges") if self.leaves else ("any node", "nodes")
        text = one
        if self.count is not None:
            text = f"{self.count} {some}"
        elif self.many:
            text = f"list of {some}"
        if self.human:
            text += " or `human`"
        return text + (f", judging {self.mode}" if self.mode is not None else "")
