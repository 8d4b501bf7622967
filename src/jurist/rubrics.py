"""Rubrics: what to judge (criteria) and what each score means (descriptors), as versioned data files.

Built-in rubrics live in `jurist/rubrics/*.toml`; a user passes a name or a path to a TOML or JSON file
with the same fields.
"""

from __future__ import annotations

import hashlib
import json
import tomllib
from importlib import resources
from pathlib import Path

from pydantic import BaseModel, ValidationError

from .errors import ConfigError
from .scales import Scale


class Rubric(BaseModel):
    name: str
    version: str = "1"
    criteria: str
    scale: str = "1-5"
    descriptors: dict[str, str] = {}

    def get_scale(self) -> Scale:
        return Scale.parse(self.scale)

    def content_hash(self) -> str:
        return hashlib.sha256(self.model_dump_json().encode()).hexdigest()[:12]


def builtin_rubrics() -> list[str]:
    folder = resources.files("jurist") / "rubrics"
    return sorted(p.name.removesuffix(".toml") for p in folder.iterdir() if p.name.endswith(".toml"))


def load_rubric(name_or_path: str) -> Rubric:
    path = Path(name_or_path)
    if path.suffix in (".toml", ".json") and path.exists():
        text, source = path.read_text(encoding="utf-8"), str(path)
    else:
        resource = resources.files("jurist") / "rubrics" / f"{name_or_path}.toml"
        if not resource.is_file():
            raise ConfigError(
                f"unknown rubric '{name_or_path}': not a built-in ({', '.join(builtin_rubrics())}) "
                "and not an existing .toml/.json file"
            )
        text, source = resource.read_text(encoding="utf-8"), f"built-in rubric {name_or_path}"
    try:
        data = json.loads(text) if source.endswith(".json") else tomllib.loads(text)
        rubric = Rubric.model_validate(data)
        rubric.get_scale()
    except (ValueError, ValidationError, ConfigError) as exc:  # ConfigError: a bad scale spec
        raise ConfigError(f"{source}: not a valid rubric: {exc}") from None
    missing = [d for d in rubric.descriptors if d not in rubric.get_scale().labels]
    if missing:
        raise ConfigError(f"{source}: descriptors {missing} are not labels of scale {rubric.scale}")
    return rubric
