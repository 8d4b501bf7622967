"""Model specs (`NAME` or `NAME:REST`) -> backends, through a registry of factories.

A factory imports its provider's module only when a spec names it, so `openai:MODEL` never loads llama.cpp. Other
packages add providers through the `jurist.backends` entry point group: the entry point's name is the spec's NAME
and its object a `BackendFactory`, e.g. in the plugin's pyproject.toml

    [project.entry-points."jurist.backends"]
    mine = "jurist_mine:make_backend"     # then --model mine:MODEL

Built-in names come first: a plugin cannot take over `openai`.
"""

from __future__ import annotations

from collections.abc import Callable
from importlib import metadata
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from ..errors import ConfigError
from .base import Backend

ENTRY_POINT_GROUP = "jurist.backends"


class BackendOptions(BaseModel):
    base_url: str | None = None
    api_key_env: str | None = None
    timeout: float = Field(60.0, gt=0, description="seconds per request")
    context_length: int | None = Field(None, description="override the model's context window, in tokens")
    adapter: Path | None = Field(
        None, description="a GGUF LoRA adapter (or a `jurist tune train` folder's adapter.gguf), llama.cpp models only"
    )


# the providers that take a LoRA adapter (BackendOptions.adapter): llama.cpp's
ADAPTABLE = ("local", "gguf")

BackendFactory = Callable[[str, BackendOptions], Backend]
"""Builds a backend from what follows `NAME:` in the spec (empty for a bare `NAME`) and the options."""


def make_backend(spec: str, options: BackendOptions | None = None) -> Backend:
    """`local`, `gguf:PATH`, `openai:MODEL`, `anthropic:MODEL`, `replay:PATH` (recorded outputs, JSONL),
    `vllm:MODEL` (vLLM in process), or a plugin's `NAME:...`."""
    name, _, rest = spec.partition(":")
    options = options or BackendOptions()
    if options.adapter is not None and name not in ADAPTABLE:
        raise ConfigError(
            f"model spec '{spec}': an adapter applies to llama.cpp models only (local, gguf:PATH); leave it out"
        )
    return _factory(name, spec)(rest, options)


def available_specs() -> list[str]:
    """How each registered provider is named in a spec, built-in ones first (for messages and help)."""
    plugins = sorted({ep.name for ep in metadata.entry_points(group=ENTRY_POINT_GROUP)} - set(_BUILTIN))
    return [usage for usage, _ in _BUILTIN.values()] + [f"{name}:..." for name in plugins]


def _factory(name: str, spec: str) -> BackendFactory:
    if name in _BUILTIN:
        return _BUILTIN[name][1]
    for entry in metadata.entry_points(group=ENTRY_POINT_GROUP, name=name):
        try:
            factory: BackendFactory = entry.load()
        except Exception as exc:  # a plugin's import can fail in any way; say which plugin
            raise ConfigError(f"model spec '{spec}': the backend plugin {entry.value} failed to load: {exc}") from exc
        return factory
    *others, last = available_specs()
    raise ConfigError(f"unknown model spec '{spec}'; use {', '.join(others)} or {last}")


# -- built-in providers: each imports its module only when called ---------------------------------------------------


def _local(rest: str, options: BackendOptions) -> Backend:
    if rest:
        raise ConfigError(f"model spec 'local:{rest}': `local` is the embedded model alone; for a file use gguf:PATH")
    from .llama_cpp import LlamaCppBackend, embedded_model_path

    return LlamaCppBackend(
        embedded_model_path(), name="local", n_ctx=options.context_length, adapter=_adapter_file(options.adapter)
    )


def _gguf(rest: str, options: BackendOptions) -> Backend:
    from .llama_cpp import LlamaCppBackend

    return LlamaCppBackend(
        rest, name=f"gguf:{rest}", n_ctx=options.context_length, adapter=_adapter_file(options.adapter)
    )


def _adapter_file(adapter: Path | None) -> str | None:
    """The adapter's GGUF file: as given, or a model folder's adapter.gguf (the CLI exports it first if missing)."""
    if adapter is None or not adapter.is_dir():
        return None if adapter is None else str(adapter)
    exported = adapter / "adapter.gguf"
    if not exported.is_file():
        raise ConfigError(f"{adapter} has no adapter.gguf: export it first with `jurist tune export {adapter}`")
    return str(exported)


def _openai(rest: str, options: BackendOptions) -> Backend:
    from .openai_compat import OpenAIBackend

    return OpenAIBackend(rest, **_served(options))


def _anthropic(rest: str, options: BackendOptions) -> Backend:
    from .anthropic import AnthropicBackend

    return AnthropicBackend(rest, **_served(options))


def _served(options: BackendOptions) -> dict[str, Any]:
    """The options of a backend that calls a server; the key's variable and the context window only where given,
    else the backend's own defaults (OPENAI_API_KEY or ANTHROPIC_API_KEY; unknown, or Claude's 200k)."""
    return {
        "base_url": options.base_url,
        "timeout": options.timeout,
        **({"api_key_env": options.api_key_env} if options.api_key_env else {}),
        **({"context_length": options.context_length} if options.context_length else {}),
    }


def _vllm(rest: str, options: BackendOptions) -> Backend:
    from .vllm import VLLMBackend

    return VLLMBackend(rest, context_length=options.context_length)


def _replay(rest: str, options: BackendOptions) -> Backend:
    if not rest:
        raise ConfigError("model spec 'replay' needs the recorded outputs' file: replay:PATH")
    from .replay import ReplayBackend

    return ReplayBackend.from_file(rest)


# name -> (how a spec names it, factory)
_BUILTIN: dict[str, tuple[str, BackendFactory]] = {
    "local": ("local", _local),
    "gguf": ("gguf:PATH", _gguf),
    "openai": ("openai:MODEL", _openai),
    "anthropic": ("anthropic:MODEL", _anthropic),
    "replay": ("replay:PATH", _replay),
    "vllm": ("vllm:MODEL", _vllm),
}
