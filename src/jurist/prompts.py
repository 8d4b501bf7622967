"""Prompt templates: versioned data files rendered into chat messages.

Every prompt jurist writes is a TOML file in `jurist/templates/`: the judges' templates (`pointwise.toml`...,
a `Template` each) and the prompts of strategies and applications (`debate.toml`, `interview.toml`, `audit.toml`...,
a `PromptSet` each: named texts), all rendered in the same jinja sandbox or by the same one-pass filling of plain
{name} placeholders. For judging, users may pass:
- their own TOML template (same fields), or
- a JSONL/JSON file in MT-Bench's format (`system_prompt`, `prompt_template` with {question}/{answer}/...
  placeholders, `type` single|pairwise, `output_format` "[[rating]]" or "[[A]]"), optionally `FILE#NAME` to pick one.
  Its "-multi-turn" templates ({question_1}, {answer_1}, {question_2}, {answer_2}, ...) judge two-turn items.
"""

from __future__ import annotations

import functools
import hashlib
import json
import string
import tomllib
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import jinja2
from jinja2 import nodes
from jinja2.sandbox import ImmutableSandboxedEnvironment
from pydantic import BaseModel, ConfigDict, ValidationError

from .backends.base import Message
from .errors import ConfigError
from .files import parse_config, read_jsonl, read_text
from .formats import Output
from .types import Mode

# A template is code from a file: the sandbox refuses internals (`x.__class__`...) and changes to the values it
# is given (`metadata.clear()`), so a template can only read the item and write text.
_JINJA = ImmutableSandboxedEnvironment(undefined=jinja2.StrictUndefined, keep_trailing_newline=False, autoescape=False)

# MT-Bench placeholder -> the variable jurist fills it with.
_MT_BENCH_FIELDS = {
    "question": "prompt",
    "answer": "response",
    "answer_a": "response_a",
    "answer_b": "response_b",
    "ref_answer_1": "reference",
}
# MT-Bench's two-turn placeholders: filled from an item with one earlier exchange (`turns`) and its final turn.
_MT_BENCH_MULTI_TURN = {
    "question_1",
    "question_2",
    "answer_1",
    "answer_2",
    "answer_a_1",
    "answer_b_1",
    "answer_a_2",
    "answer_b_2",
    "ref_answer_1",
    "ref_answer_2",
}
_FORMAT_FIELDS = set(_MT_BENCH_FIELDS) | _MT_BENCH_MULTI_TURN


class Template(BaseModel):
    name: str
    version: str = "1"
    mode: Mode
    system: str = ""
    user: str
    # jinja: jurist's own templates; format: Python str.format placeholders (MT-Bench files).
    engine: Literal["jinja", "format"] = "jinja"
    # json: jurist appends its own answer format and asks for structured output;
    # text: the template states its own answer format, read by tolerant parsing.
    output: Output = "json"
    tie_label: str = "tie"
    source: str = ""

    def content_hash(self) -> str:
        body = self.model_dump(exclude={"source"})
        return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()[:12]

    def needs_reference(self) -> bool:
        if self.engine != "format":
            return False
        return "ref_answer_1" in _format_fields(self.user + self.system)

    @property
    def multi_turn(self) -> bool:
        """An MT-Bench two-turn template (it has placeholders such as {question_2})."""
        fields = _format_fields(self.user + self.system) if self.engine == "format" else set()
        return bool(fields & (_MT_BENCH_MULTI_TURN - {"ref_answer_1"}))

    def check(self) -> None:
        """Refuse, before any model call, a template that does not compile or reaches for Python internals:
        attributes and keys starting with "_" in jinja; anything but plain {name} placeholders in format text."""
        for part in ("system", "user"):
            _check_text(self.engine, getattr(self, part), self.source or self.name, part)

    def render(self, variables: dict[str, Any]) -> tuple[Message, ...]:
        self.check()  # cached; a template made in Python is checked too
        if self.engine == "format":
            values = self._format_values(variables)
            try:
                system, user = _fill(self.system, values), _fill(self.user, values)
            except KeyError as exc:
                raise ConfigError(
                    f"template {self.source}: placeholder {{{exc.args[0]}}} has no value for item "
                    f"'{variables.get('id')}' (a template mixes one-turn and two-turn placeholders)"
                ) from None
        else:
            try:
                system = _compiled(self.system).render(**variables)
                user = _compiled(self.user).render(**variables)
            except jinja2.TemplateError as exc:  # SecurityError included: the sandbox refused something
                raise ConfigError(f"template {self.name} ({self.source}) failed to render: {exc}") from None
        messages = [Message(role="system", content=system)] if system.strip() else []
        messages.append(Message(role="user", content=user))
        return tuple(messages)

    def _format_values(self, variables: dict[str, Any]) -> dict[str, str]:
        """The values of an MT-Bench template's placeholders: single-turn ones from the final turn, two-turn ones
        from the item's one earlier exchange and its final turn. What cannot be filled is a ConfigError."""
        turns = variables.get("turns") or []
        if not self.multi_turn:
            if turns:
                raise ConfigError(
                    f"template {self.source} is single-turn, but item '{variables.get('id')}' is a conversation "
                    f"({len(turns)} earlier turns that the template has no place for); use a -multi-turn template "
                    "for two-turn items, or a built-in / jinja template with a {% if turns %} block"
                )
            return {key: variables.get(var) or "" for key, var in _MT_BENCH_FIELDS.items()}
        if len(turns) != 2:
            raise ConfigError(
                f"template {self.source} judges the second turn of a two-turn conversation, but item "
                f"'{variables.get('id')}' has {len(turns) // 2 + 1} turn(s); "
                "give items with exactly one earlier exchange in turns (user, assistant). "
                "With turn_scope 'each' the first turn has none: use turn_scope 'final'"
            )
        earlier_answer = turns[1]["content"]
        values = {
            "question_1": turns[0]["content"],
            "answer_1": earlier_answer,
            "answer_a_1": earlier_answer,  # the candidates share the earlier turns
            "answer_b_1": earlier_answer,
            "question_2": variables.get("prompt") or "",
            "answer_2": variables.get("response") or "",
            "answer_a_2": variables.get("response_a") or "",
            "answer_b_2": variables.get("response_b") or "",
            "ref_answer_2": variables.get("reference") or "",
            "ref_answer_1": str((variables.get("metadata") or {}).get("ref_answer_1") or ""),
        }
        if "ref_answer_1" in _format_fields(self.user + self.system) and not values["ref_answer_1"]:
            raise ConfigError(
                f"template {self.source} shows a reference answer for each turn, but item "
                f"'{variables.get('id')}' has no ref_answer_1: "
                "give the first turn's reference in a ref_answer_1 column and the second's as reference"
            )
        return values


class _Refused(Exception):
    def __init__(self, message: str, line: int | None = None) -> None:
        super().__init__(message)
        self.line = line


@functools.lru_cache(maxsize=256)
def _check_text(engine: str, text: str, source: str, part: str) -> None:
    try:
        if engine == "format":
            unknown = _placeholders(text) - _FORMAT_FIELDS
            if unknown:
                raise _Refused(
                    f"unknown placeholders {sorted(unknown)}; jurist fills {', '.join(sorted(_FORMAT_FIELDS))}"
                )
        else:
            _compiled(text)
    except jinja2.TemplateSyntaxError as exc:
        raise ConfigError(f"{source}: template syntax error on line {exc.lineno} of `{part}`: {exc.message}") from None
    except _Refused as exc:
        where = f"line {exc.line} of `{part}`" if exc.line else f"`{part}`"
        raise ConfigError(f"{source}: template refused ({where}): {exc}") from None


class _Fixed:
    """Text without placeholders or statements (a system prompt, usually): what jinja renders it to, worked out once
    rather than for every item."""

    def __init__(self, text: str) -> None:
        self.text = text

    def render(self, **_: Any) -> str:
        return self.text


@functools.lru_cache(maxsize=256)
def _compiled(source: str) -> jinja2.Template | _Fixed:
    """A template's text checked and compiled once: compiling costs a few milliseconds, rendering microseconds."""
    tree = _JINJA.parse(source)
    for other in tree.find_all((nodes.Extends, nodes.Include, nodes.Import, nodes.FromImport)):
        raise _Refused("a template cannot include or import other templates; write it as one text", other.lineno)
    for node in tree.find_all((nodes.Getattr, nodes.Getitem, nodes.Filter)):
        name: Any = None
        if isinstance(node, nodes.Getattr):
            name = node.attr
        elif isinstance(node, nodes.Getitem) and isinstance(node.arg, nodes.Const):
            name = node.arg.value
        elif isinstance(node, nodes.Filter) and node.name == "attr" and node.args:
            name = node.args[0].value if isinstance(node.args[0], nodes.Const) else None
        # The sandbox refuses these when rendering too; found here, they fail before the run, with the line.
        if isinstance(name, str) and name.startswith("_"):
            raise _Refused(
                f"`{name}` is a Python internal; a template may use the item's fields and their values only",
                node.lineno,
            )
    template = _JINJA.from_string(tree)
    fixed = all(
        isinstance(node, nodes.Output) and all(isinstance(part, nodes.TemplateData) for part in node.nodes)
        for node in tree.body
    )
    return _Fixed(template.render()) if fixed else template


def _placeholders(text: str) -> set[str]:
    """The names of format text's placeholders, each a plain {name}: str.format would follow `{x.attr}` and
    `{x[0]}` into the values' internals, and a format spec can ask for gigabytes of padding."""
    names = set()
    try:
        parsed = list(string.Formatter().parse(text))
    except ValueError as exc:  # a lone "{" or "}"
        raise _Refused(f"{exc}; write a literal brace twice ({{{{ or }}}})") from None
    for _, name, spec, conversion in parsed:
        if name is None:
            continue
        if not name.isidentifier() or spec or conversion:
            shown = name + (f"!{conversion}" if conversion else "") + (f":{spec}" if spec else "")
            raise _Refused(
                f"placeholder {{{shown}}} is not a plain {{name}}: attributes, indexes and format specs are not "
                "allowed (they reach into Python internals)"
            )
        names.add(name)
    return names


def _fill(text: str, values: dict[str, str]) -> str:
    """Format text with each plain {name} replaced by its value (what str.format does, without its reach)."""
    return "".join(literal + (values[name] if name else "") for literal, name, _, _ in string.Formatter().parse(text))


def _format_fields(text: str) -> set[str]:
    try:
        return _placeholders(text)
    except _Refused:
        return set()  # `check` refuses the template before it is used


def builtin_template(name: str) -> Template:
    """A built-in judge template, `templates/NAME.toml`: a mode's default (pointwise, pairwise, listwise) or a task's
    (relevance, relevance_fewshot, ...; see `builtin_templates()`)."""
    text = (resources.files("jurist") / "templates" / f"{name}.toml").read_text(encoding="utf-8")
    return Template.model_validate({**tomllib.loads(text), "source": f"built-in {name}"})


@functools.cache
def builtin_templates() -> dict[str, Mode]:
    """The built-in judge templates by name, with their mode (the other files in templates/ are prompt sets of
    strategies and applications, which have no mode)."""
    found: dict[str, Mode] = {}
    for entry in (resources.files("jurist") / "templates").iterdir():
        if entry.name.endswith(".toml"):
            mode = tomllib.loads(entry.read_text(encoding="utf-8")).get("mode")
            if mode is not None:
                found[entry.name.removesuffix(".toml")] = mode
    return dict(sorted(found.items()))


class PromptSet(BaseModel):
    """The prompts of a strategy or an application (debate, interview, the audit's rewriting model...): named texts
    in one built-in file, `templates/NAME.toml`, rendered as the judges' templates are (jinja in the sandbox, or
    plain {name} placeholders filled in one pass). Where a wording enters a fingerprint, it is hashed as written."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    version: str = "1"
    engine: Literal["jinja", "format"] = "jinja"
    texts: dict[str, str]
    source: str = ""

    def text(self, key: str) -> str:
        """The text as the file writes it, before rendering."""
        try:
            return self.texts[key]
        except KeyError:
            raise ConfigError(f"{self.source} has no prompt '{key}' (it has {', '.join(self.texts)})") from None

    def render(self, key: str, **values: Any) -> str:
        return render_text(self.text(key), values, engine=self.engine, source=f"{self.source}, {key}")


def render_text(text: str, values: dict[str, Any], *, engine: Literal["jinja", "format"], source: str) -> str:
    """A prompt's text filled with `values`: jinja in the sandbox, or format text's plain {name} placeholders
    replaced in one pass (a value is never read again as a template)."""
    try:
        if engine == "format":
            _placeholders(text)  # refuses {x.attr} and {x:>999}, as in users' templates
            return _fill(text, {name: str(value) for name, value in values.items()})
        return _compiled(text).render(**values)
    except _Refused as exc:
        raise ConfigError(f"{source}: prompt refused: {exc}") from None
    except KeyError as exc:
        raise ConfigError(f"{source}: placeholder {{{exc.args[0]}}} has no value") from None
    except jinja2.TemplateError as exc:
        raise ConfigError(f"{source}: prompt failed to render: {exc}") from None


@functools.cache
def prompt_set(name: str) -> PromptSet:
    """A built-in prompt set, `templates/NAME.toml`, read and checked once."""
    source = f"built-in prompts {name}"
    text = (resources.files("jurist") / "templates" / f"{name}.toml").read_text(encoding="utf-8")
    prompts = PromptSet.model_validate({**tomllib.loads(text), "source": source})
    for key, body in prompts.texts.items():
        try:
            _placeholders(body) if prompts.engine == "format" else _compiled(body)
        except (_Refused, jinja2.TemplateSyntaxError) as exc:
            raise ConfigError(f"{source}, {key}: {exc}") from None
    return prompts


def load_template(spec: str, mode: Mode, *, with_reference: bool = False) -> Template:
    """Load a user template from `FILE` or `FILE#NAME`, or a built-in one by its name (`relevance`): a file of that
    name, where there is one, comes first."""
    file, _, wanted = spec.partition("#")
    path = Path(file)
    if not path.is_file():
        builtins = builtin_templates()
        if not wanted and file in builtins:
            template = builtin_template(file)
            if template.mode != mode:
                raise ConfigError(f"built-in template {file} is for {template.mode} judging, but --mode is {mode}")
            return template
        raise ConfigError(
            f"template file not found: {file} (or give a built-in template by name: {', '.join(builtins)})"
        )
    if path.suffix == ".toml":
        data = parse_config(read_text(path, error=ConfigError), ".toml", str(path), "template")
        try:
            template = Template.model_validate({**data, "source": str(path)})
        except (ValueError, ValidationError) as exc:
            raise ConfigError(f"{path}: not a valid template: {exc}") from None
        template.check()
        if template.mode != mode:
            raise ConfigError(f"{path}: template is for {template.mode} judging, but --mode is {mode}")
        return template
    if path.suffix in (".jsonl", ".json"):
        return _load_mt_bench_style(path, mode, wanted, with_reference)
    raise ConfigError(f"{path}: templates are .toml files (jurist) or .jsonl/.json files (MT-Bench style)")


def _load_mt_bench_style(path: Path, mode: Mode, wanted: str, with_reference: bool) -> Template:
    entries: list[Any]
    if path.suffix == ".json":
        loaded = parse_config(read_text(path, error=ConfigError), ".json", str(path), "template file")
        entries = loaded if isinstance(loaded, list) else [loaded]
    else:
        entries = [entry for _, entry in read_jsonl(path, "each line is one template object", error=ConfigError)]
    kind = {"pointwise": "single", "pairwise": "pairwise"}.get(mode)
    if kind is None:
        raise ConfigError(f"{path}: MT-Bench-style templates exist for pointwise and pairwise, not {mode}")
    candidates = [e for e in entries if isinstance(e, dict) and isinstance(e.get("prompt_template"), str)]
    if wanted:
        chosen = [e for e in candidates if e.get("name") == wanted]
        if not chosen:
            names = ", ".join(str(e.get("name")) for e in candidates)
            raise ConfigError(f"{path}: no template named '{wanted}' (have: {names})")
    else:
        chosen = [
            e
            for e in candidates
            if e.get("type") == kind
            and "multi-turn" not in str(e.get("name", ""))
            and ("ref_answer_1" in e["prompt_template"]) == with_reference
        ]
        if not chosen:
            raise ConfigError(f"{path}: no {kind} template found; pick one with {path}#NAME")
    entry = chosen[0]
    if entry.get("type") != kind:
        raise ConfigError(f"{path}#{entry.get('name')}: a {entry.get('type')} template cannot judge {mode}")
    try:
        template = Template(
            name=str(entry.get("name", path.stem)),
            mode=mode,
            system=entry.get("system_prompt", ""),
            user=entry["prompt_template"],
            engine="format",
            output="text",
            tie_label="C" if mode == "pairwise" else "tie",
            source=f"{path}#{entry.get('name')}",
        )
    except ValidationError as exc:
        raise ConfigError(f"{path}#{entry.get('name')}: not a valid template: {exc}") from None
    template.check()
    return template
