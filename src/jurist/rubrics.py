"""Rubrics: what to judge (criteria) and what each score means (descriptors), as versioned data files.

Built-in rubrics live in `jurist/rubrics/*.toml`; a user passes a name or a path to a file with the same
fields in TOML, JSON or YAML, or to a Markdown file laid out like this:

    # conciseness
    version: 1
    scale: 1-5

    Does the response say what is needed without padding?   <- the criteria: every paragraph up to "## Scores"

    ## Scores
    - 1: Mostly padding.
    - 5: Every sentence earns its place.
"""

from __future__ import annotations

import hashlib
import re
from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from .errors import ConfigError
from .files import parse_config, read_text
from .formats import Scale


class Rubric(BaseModel):
    name: str
    version: str = "1"
    criteria: str
    scale: str = "1-5"
    descriptors: dict[str, str] = {}
    # A checklist rubric: several named criteria, each scored on the scale in one call (pointwise).
    checklist: dict[str, str] = {}

    def get_scale(self) -> Scale:
        return Scale.parse(self.scale)

    def content_hash(self) -> str:
        return hashlib.sha256(self.model_dump_json().encode()).hexdigest()[:12]


def builtin_rubrics() -> list[str]:
    folder = resources.files("jurist") / "rubrics"
    return sorted(p.name.removesuffix(".toml") for p in folder.iterdir() if p.name.endswith(".toml"))


RUBRIC_SUFFIXES = (".toml", ".json", ".yaml", ".yml", ".md")


def load_rubric(name_or_path: str) -> Rubric:
    path = Path(name_or_path)
    if path.suffix in RUBRIC_SUFFIXES and path.exists():
        text, source, suffix = read_text(path, error=ConfigError), str(path), path.suffix
    else:
        resource = resources.files("jurist") / "rubrics" / f"{name_or_path}.toml"
        if not resource.is_file():
            raise ConfigError(
                f"unknown rubric '{name_or_path}': not a built-in ({', '.join(builtin_rubrics())}) "
                f"and not an existing {'/'.join(RUBRIC_SUFFIXES)} file"
            )
        text, source, suffix = resource.read_text(encoding="utf-8"), f"built-in rubric {name_or_path}", ".toml"
    try:
        data = _parse(text, suffix, source)  # a syntax error is a ConfigError naming the line, passed on as it is
    except ValueError as exc:
        raise ConfigError(f"{source}: not a valid rubric: {exc}") from None
    try:
        # YAML and JSON read `version: 2` and `1: ...` keys as numbers; they are labels here.
        if isinstance(data.get("descriptors"), dict):
            data["descriptors"] = {str(k): str(v) for k, v in data["descriptors"].items()}
        for key in ("version", "scale"):
            if isinstance(data.get(key), int | float):
                data[key] = str(data[key])
        rubric = Rubric.model_validate(data)
        rubric.get_scale()
    except (ValueError, ValidationError, ConfigError) as exc:  # ConfigError: a bad scale spec
        raise ConfigError(f"{source}: not a valid rubric: {exc}") from None
    missing = [d for d in rubric.descriptors if d not in rubric.get_scale().labels]
    if missing:
        raise ConfigError(f"{source}: descriptors {missing} are not labels of scale {rubric.scale}")
    return rubric


def _parse(text: str, suffix: str, source: str) -> dict[str, Any]:
    data = _parse_markdown(text, source) if suffix == ".md" else parse_config(text, suffix, source, "rubric")
    if not isinstance(data, dict):
        raise ValueError("expected a mapping with name, criteria, scale and descriptors")
    return data


def _parse_markdown(text: str, source: str) -> dict[str, Any]:
    """`# name`, optional `key: value` lines, the criteria paragraphs, then `## Scores` with `- label: text` items."""
    lines = text.strip().splitlines()
    if not lines or not lines[0].startswith("# "):
        raise ValueError("a Markdown rubric starts with '# NAME'")
    data: dict[str, Any] = {"name": lines[0][2:].strip()}
    body: list[str] = []
    descriptors: dict[str, str] = {}
    in_scores = False
    for line in lines[1:]:
        if re.match(r"^##\s+(scores|score descriptors|descriptors)\s*$", line.strip(), re.I):
            in_scores = True
        elif in_scores:
            if m := re.match(r"^\s*[-*]\s*([^:]+?)\s*:\s*(.+)$", line):
                descriptors[m.group(1)] = m.group(2).strip()
        elif not "".join(body).strip() and (m := re.match(r"^(version|scale)\s*:\s*(.+)$", line.strip(), re.I)):
            data[m.group(1).lower()] = m.group(2).strip()
        else:
            body.append(line)
    data["criteria"] = "\n".join(body).strip()
    if not data["criteria"]:
        raise ValueError(f"no criteria text in {source}: write it between the header lines and '## Scores'")
    data["descriptors"] = descriptors
    return data


class RuleSet(BaseModel):
    """Principles put before the item ("rule augmentation"): built-ins in `jurist/rules/*.toml`, or a user's
    TOML file with the same fields, or a text file with one rule per line."""

    name: str
    version: str = "1"
    rules: list[str]

    def content_hash(self) -> str:
        return hashlib.sha256(self.model_dump_json().encode()).hexdigest()[:12]


def builtin_rule_sets() -> list[str]:
    folder = resources.files("jurist") / "rules"
    return sorted(p.name.removesuffix(".toml") for p in folder.iterdir() if p.name.endswith(".toml"))


def load_rules(name_or_path: str) -> RuleSet:
    path = Path(name_or_path)
    if path.is_file() and path.suffix != ".toml":
        rules = [line.strip().lstrip("-*").strip() for line in read_text(path, error=ConfigError).splitlines()]
        rules = [r for r in rules if r and not r.startswith("#")]
        if not rules:
            raise ConfigError(f"{path}: no rules found (one rule per line)")
        return RuleSet(name=path.stem, rules=rules)
    if path.is_file():
        text, source = read_text(path, error=ConfigError), str(path)
    else:
        resource = resources.files("jurist") / "rules" / f"{name_or_path}.toml"
        if not resource.is_file():
            raise ConfigError(
                f"unknown rule set '{name_or_path}': not a built-in ({', '.join(builtin_rule_sets())}) "
                "and not an existing file"
            )
        text, source = resource.read_text(encoding="utf-8"), f"built-in rules {name_or_path}"
    data = parse_config(text, ".toml", source, "rule set")
    try:
        rule_set = RuleSet.model_validate(data)
    except (ValueError, ValidationError) as exc:
        raise ConfigError(f"{source}: not a valid rule set: {exc}") from None
    if not rule_set.rules:
        raise ConfigError(f"{source}: the rule set is empty")
    return rule_set
