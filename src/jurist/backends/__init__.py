"""Model backends behind one async interface. Each is imported only when its spec is used."""

from __future__ import annotations

from pydantic import BaseModel, Field

from ..errors import ConfigError
from .base import Backend, Capabilities, GenerateRequest, GenerateResponse, Message, TokenLogprob

__all__ = [
    "Backend",
    "BackendOptions",
    "Capabilities",
    "GenerateRequest",
    "GenerateResponse",
    "Message",
    "TokenLogprob",
    "make_backend",
]


class BackendOptions(BaseModel):
    base_url: str | None = None
    api_key_env: str | None = None
    timeout: float = Field(60.0, gt=0, description="seconds per request")
    context_length: int | None = Field(None, description="override the model's context window, in tokens")


def make_backend(spec: str, options: BackendOptions | None = None) -> Backend:
    """`local`, `gguf:PATH`, `openai:MODEL`, `anthropic:MODEL` or `replay:PATH` (recorded outputs, JSONL)."""
    options = options or BackendOptions()
    kind, _, rest = spec.partition(":")
    if kind == "local" and not rest:
        from .llama_cpp import LlamaCppBackend, embedded_model_path

        return LlamaCppBackend(embedded_model_path(), name="local", n_ctx=options.context_length)
    if kind == "gguf":
        from .llama_cpp import LlamaCppBackend

        return LlamaCppBackend(rest, name=f"gguf:{rest}", n_ctx=options.context_length)
    if kind == "openai":
        from .openai_compat import OpenAIBackend

        return OpenAIBackend(
            rest,
            base_url=options.base_url,
            api_key_env=options.api_key_env or "OPENAI_API_KEY",
            timeout=options.timeout,
            context_length=options.context_length,
        )
    if kind == "anthropic":
        from .anthropic import AnthropicBackend

        return AnthropicBackend(
            rest,
            base_url=options.base_url,
            api_key_env=options.api_key_env or "ANTHROPIC_API_KEY",
            timeout=options.timeout,
            **({"context_length": options.context_length} if options.context_length else {}),
        )
    if kind == "replay" and rest:
        from .replay import ReplayBackend

        return ReplayBackend.from_file(rest)
    raise ConfigError(
        f"unknown model spec '{spec}'; use local, gguf:PATH, openai:MODEL, anthropic:MODEL or replay:PATH"
    )
