"""Judge prompt templates: versioned data files rendered into chat messages.

Built-in templates are TOML files in `jurist/templates/` with jinja2 text. Users may pass:
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
from pydantic import BaseModel, ValidationError

from .backends.base import Message
from .errors import ConfigError
from .types import Mode

_JINJA = jinja2.Environment(undefined=jinja2.StrictUndefined, keep_trailing_newline=False, autoescape=False)

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
    output: Literal["json", "text"] = "json"
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

    def render(self, variables: dict[str, Any]) -> tuple[Message, ...]:
        if self.engine == "format":
            values = self._format_values(variables)
            system, user = self.system.format(**values), self.user.format(**values)
        else:
            try:
                system = _compiled(self.system).render(**variables)
                user = _compiled(self.user).render(**variables)
            except jinja2.TemplateError as exc:
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


@functools.lru_cache(maxsize=256)
def _compiled(source: str) -> jinja2.Template:
    """A template's text compiled once: compiling costs a few milliseconds, rendering a few microseconds."""
    return _JINJA.from_string(source)


def _format_fields(text: str) -> set[str]:
    return {field for _, field, _, _ in string.Formatter().parse(text) if field}


def builtin_template(mode: Mode) -> Template:
    text = (resources.files("jurist") / "templates" / f"{mode}.toml").read_text(encoding="utf-8")
    return Template.model_validate({**tomllib.loads(text), "source": f"built-in {mode}"})


def load_template(spec: str, mode: Mode, *, with_reference: bool = False) -> Template:
    """Load a user template from `FILE` or `FILE#NAME`."""
    file, _, wanted = spec.partition("#")
    path = Path(file)
    if not path.is_file():
        raise ConfigError(f"template file not found: {file}")
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".toml":
        try:
            template = Template.model_validate({**tomllib.loads(text), "source": str(path)})
        except (ValueError, ValidationError) as exc:
            raise ConfigError(f"{path}: not a valid template: {exc}") from None
        _check_jinja(template)
        if template.mode != mode:
            raise ConfigError(f"{path}: template is for {template.mode} judging, but --mode is {mode}")
        return template
    if path.suffix in (".jsonl", ".json"):
        return _load_mt_bench_style(path, text, mode, wanted, with_reference)
    raise ConfigError(f"{path}: templates are .toml files (jurist) or .jsonl/.json files (MT-Bench style)")


def _check_jinja(template: Template) -> None:
    if template.engine != "jinja":
        return
    for part in (template.system, template.user):
        try:
            _JINJA.parse(part)
        except jinja2.TemplateSyntaxError as exc:
            raise ConfigError(f"{template.source}: template syntax error on line {exc.lineno}: {exc.message}") from None


def _load_mt_bench_style(path: Path, text: str, mode: Mode, wanted: str, with_reference: bool) -> Template:
    entries: list[dict[str, Any]] = []
    try:
        if path.suffix == ".json":
            loaded = json.loads(text)
            entries = loaded if isinstance(loaded, list) else [loaded]
        else:
            entries = [json.loads(line) for line in text.splitlines() if line.strip()]
    except ValueError as exc:
        raise ConfigError(f"{path}: not valid JSON: {exc}") from None
    kind = {"pointwise": "single", "pairwise": "pairwise"}.get(mode)
    if kind is None:
        raise ConfigError(f"{path}: MT-Bench-style templates exist for pointwise and pairwise, not {mode}")
    candidates = [e for e in entries if isinstance(e, dict) and "prompt_template" in e]
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
    unknown = _format_fields(entry["prompt_template"] + entry.get("system_prompt", "")) - (
        set(_MT_BENCH_FIELDS) | _MT_BENCH_MULTI_TURN
    )
    if unknown:
        raise ConfigError(
            f"{path}#{entry.get('name')}: unknown placeholders {sorted(unknown)}; jurist fills "
            f"{', '.join(sorted(set(_MT_BENCH_FIELDS) | _MT_BENCH_MULTI_TURN))}"
        )
    return Template(
        name=str(entry.get("name", path.stem)),
        mode=mode,
        system=entry.get("system_prompt", ""),
        user=entry["prompt_template"],
        engine="format",
        output="text",
        tie_label="C" if mode == "pairwise" else "tie",
        source=f"{path}#{entry.get('name')}",
    )
