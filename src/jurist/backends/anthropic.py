"""The Anthropic Messages API."""

from __future__ import annotations

import os
import time
from typing import Any

from ..errors import BackendError, ConfigError
from ..types import Usage
from .base import Capabilities, GenerateRequest, GenerateResponse, Message
from .http import HttpClient

DEFAULT_BASE_URL = "https://api.anthropic.com"
API_VERSION = "2023-06-01"


class AnthropicBackend:
    """Claude models. No logprobs and no JSON-schema mode here: verdicts come from tolerant text parsing."""

    def __init__(
        self,
        model: str,
        *,
        base_url: str | None = None,
        api_key_env: str = "ANTHROPIC_API_KEY",
        timeout: float = 60.0,
        context_length: int | None = 200_000,
    ) -> None:
        if not model:
            raise ConfigError("anthropic backend needs a model name: anthropic:MODEL")
        key = os.environ.get(api_key_env)
        base_url = base_url or os.environ.get("ANTHROPIC_BASE_URL") or DEFAULT_BASE_URL
        if not key and base_url == DEFAULT_BASE_URL:
            raise ConfigError(f"no API key: set {api_key_env} (or name another variable with --api-key-env)")
        self.model = model
        self.name = f"anthropic:{model}"
        headers = {"content-type": "application/json", "anthropic-version": API_VERSION}
        if key:
            headers["x-api-key"] = key
        self._http = HttpClient(base_url, headers, timeout=timeout, secret=key)
        self.capabilities = Capabilities(context_length=context_length, max_concurrency=32)

    def count_tokens(self, messages: tuple[Message, ...]) -> int | None:
        return None

    async def generate(self, request: GenerateRequest) -> GenerateResponse:
        start = time.perf_counter()
        system = "\n\n".join(m.content for m in request.messages if m.role == "system")
        body: dict[str, Any] = {
            "model": self.model,
            "max_tokens": request.max_tokens,
            "temperature": request.temperature,
            "messages": [{"role": m.role, "content": m.content} for m in request.messages if m.role != "system"],
        }
        if system:
            body["system"] = system
        data = await self._http.post_json("/v1/messages", body)
        try:
            text = "".join(block.get("text", "") for block in data["content"] if block.get("type") == "text")
        except (KeyError, TypeError, AttributeError):
            raise BackendError(
                f"Anthropic response has no content blocks: {str(data)[:200]}", retryable=True, reason="bad_response"
            ) from None
        usage_data = data.get("usage") or {}
        usage = Usage(
            prompt_tokens=int(usage_data.get("input_tokens") or 0),
            completion_tokens=int(usage_data.get("output_tokens") or 0),
            cached_tokens=int(usage_data.get("cache_read_input_tokens") or 0),
            calls=1,
        )
        return GenerateResponse(
            text=text, usage=usage, latency_s=time.perf_counter() - start, finish_reason=data.get("stop_reason")
        )

    async def aclose(self) -> None:
        await self._http.aclose()
