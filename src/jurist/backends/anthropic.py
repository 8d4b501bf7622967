"""The Anthropic Messages API."""

from __future__ import annotations

import json
import time
from typing import Any

from pydantic import BaseModel, NonNegativeInt

from ..errors import ConfigError
from ..types import Usage
from .base import Capabilities, GenerateRequest, GenerateResponse, Message
from .http import HttpClient, locate_server

DEFAULT_BASE_URL = "https://api.anthropic.com"
API_VERSION = "2023-06-01"


class _ContentBlock(BaseModel):
    type: str
    text: str = ""  # only text blocks are read; others (tool use, thinking) carry no text


class _MessagesUsage(BaseModel):
    input_tokens: NonNegativeInt | None = None
    output_tokens: NonNegativeInt | None = None
    cache_read_input_tokens: NonNegativeInt | None = None


class MessagesReply(BaseModel):
    """The parts of a Messages-API reply jurist reads; a reply of another shape is a `bad_response`."""

    content: list[_ContentBlock]
    usage: _MessagesUsage | None = None
    stop_reason: str | None = None


def _content(message: Message) -> str | list[dict[str, Any]]:
    """A message's content: its text, or with images the content blocks (text, then each image with its caption);
    a file or data URL goes as base64, an http(s) URL as a URL source."""
    if not message.images:
        return message.content
    blocks: list[dict[str, Any]] = [{"type": "text", "text": message.content}]
    for image in message.images:
        if image.caption:
            blocks.append({"type": "text", "text": image.caption})
        source: dict[str, Any] = (
            {"type": "url", "url": image.url}
            if image.url
            else {"type": "base64", "media_type": image.media_type, "data": image.data}
        )
        blocks.append({"type": "image", "source": source})
    return blocks


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
        vision: bool = True,
    ) -> None:
        if not model:
            raise ConfigError("anthropic backend needs a model name: anthropic:MODEL")
        target, key, basic = locate_server(base_url, "ANTHROPIC_BASE_URL", DEFAULT_BASE_URL, api_key_env)
        self.model = model
        self.name = f"anthropic:{model}"
        headers = {"content-type": "application/json", "anthropic-version": API_VERSION}
        if key:
            headers["x-api-key"] = key
        if basic:
            headers["Authorization"] = basic
        self.base_url = target.public  # never holds a credential: it is written into the run's config
        self._http = HttpClient(target, headers, timeout=timeout)
        self.capabilities = Capabilities(context_length=context_length, max_concurrency=32, vision=vision)

    @property
    def cache_identity(self) -> str:
        """Everything besides the request that decides the answer."""
        return json.dumps({"provider": "anthropic", "base_url": self.base_url, "model": self.model}, sort_keys=True)

    def count_tokens(self, messages: tuple[Message, ...]) -> int | None:
        return None

    async def generate(self, request: GenerateRequest) -> GenerateResponse:
        start = time.perf_counter()
        reply = await self._http.post("/v1/messages", self.body(request), MessagesReply)
        return self.parse(reply, time.perf_counter() - start)

    def body(self, request: GenerateRequest) -> dict[str, Any]:
        """The Messages-API request body (also one request of a message batch, run/batch.py)."""
        system = "\n\n".join(m.content for m in request.messages if m.role == "system")
        body: dict[str, Any] = {
            "model": self.model,
            "max_tokens": request.max_tokens,
            "temperature": request.temperature,
            "messages": [{"role": m.role, "content": _content(m)} for m in request.messages if m.role != "system"],
        }
        if system:
            body["system"] = system
        return body

    def parse(self, reply: MessagesReply, latency: float) -> GenerateResponse:
        """The response read from a Messages-API reply (also one result of a message batch)."""
        usage_data = reply.usage or _MessagesUsage()
        usage = Usage(
            prompt_tokens=usage_data.input_tokens or 0,
            completion_tokens=usage_data.output_tokens or 0,
            cached_tokens=usage_data.cache_read_input_tokens or 0,
            calls=1,
        )
        return GenerateResponse(
            text="".join(block.text for block in reply.content if block.type == "text"),
            usage=usage,
            latency_s=latency,
            finish_reason=reply.stop_reason,
        )

    @property
    def http(self) -> HttpClient:
        """The HTTP client, for the batch API at the same server with the same credentials."""
        return self._http

    async def aclose(self) -> None:
        await self._http.aclose()
