"""Judge prompt templates: versioned data files rendered into chat messages.

Built-in templates are TOML files in `jurist/templates/` with jinja2 text. Users may pass:
- their own TOML template (same fields), or
- a JSONL/JSON file in MT-Bench's format (`system_prompt`, `prompt_template` with {question}/{answer}/...
  placeholders, `type` single|pairwise, `output_format` "[[rating]]" or "[[A]]"), optionally `FILE#NAME` to pick one.
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

    def render(self, variables: dict[str, Any]) -> tuple[Message, ...]:
        if self.engine == "format":
            values = {key: variables.get(var) or "" for key, var in _MT_BENCH_FIELDS.items()}
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
    unknown = _format_fields(entry["prompt_template"] + entry.get("system_prompt", "")) - set(_MT_BENCH_FIELDS)
    if unknown:
        raise ConfigError(
            f"{path}#{entry.get('name')}: placeholders {sorted(unknown)} need multi-turn items, "
            f"which this judge does not handle; use a single-turn template"
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
