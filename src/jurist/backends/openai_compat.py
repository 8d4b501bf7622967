"""Any OpenAI-compatible chat-completions server: OpenAI, vLLM, SGLang, Ollama, llama.cpp server, LM Studio, TGI."""

from __future__ import annotations

import os
import time
from typing import Any

from pydantic import TypeAdapter, ValidationError

from ..errors import BackendError, ConfigError
from ..types import Usage
from .base import Capabilities, GenerateRequest, GenerateResponse, Message, TokenLogprob
from .http import HttpClient

DEFAULT_BASE_URL = "https://api.openai.com/v1"
_TOKEN_LOGPROBS = TypeAdapter(list[TokenLogprob])


class OpenAIBackend:
    """Chat completions over HTTP.

    Servers differ in what they accept, so logprobs and JSON-schema output are tried first and dropped
    for the rest of the run when the server rejects them (a 400 that names the parameter).
    """

    def __init__(
        self,
        model: str,
        *,
        base_url: str | None = None,
        api_key_env: str = "OPENAI_API_KEY",
        timeout: float = 60.0,
        context_length: int | None = None,
        logprobs: bool = True,
        json_schema: bool = True,
    ) -> None:
        if not model:
            raise ConfigError("openai backend needs a model name: openai:MODEL")
        self.model = model
        self.name = f"openai:{model}"
        base_url = base_url or os.environ.get("OPENAI_BASE_URL") or DEFAULT_BASE_URL
        key = os.environ.get(api_key_env)
        if not key and base_url == DEFAULT_BASE_URL:
            raise ConfigError(f"no API key: set {api_key_env} (or name another variable with --api-key-env)")
        headers = {"Content-Type": "application/json"}
        if key:
            headers["Authorization"] = f"Bearer {key}"
        self.base_url = base_url
        self._http = HttpClient(base_url, headers, timeout=timeout, secret=key)
        self.capabilities = Capabilities(
            logprobs=logprobs, json_schema=json_schema, context_length=context_length, max_concurrency=64
        )

    def count_tokens(self, messages: tuple[Message, ...]) -> int | None:
        return None

    def _body(self, request: GenerateRequest) -> dict[str, Any]:
        body: dict[str, Any] = {
            "model": self.model,
            "messages": [{"role": m.role, "content": m.content} for m in request.messages],
            "max_tokens": request.max_tokens,
            "temperature": request.temperature,
        }
        if request.seed is not None:
            body["seed"] = request.seed
        if request.top_logprobs and self.capabilities.logprobs:
            body["logprobs"] = True
            body["top_logprobs"] = min(request.top_logprobs, 20)
        if request.json_schema is not None and self.capabilities.json_schema:
            body["response_format"] = {
                "type": "json_schema",
                "json_schema": {"name": "verdict", "schema": request.json_schema, "strict": True},
            }
        return body

    async def generate(self, request: GenerateRequest) -> GenerateResponse:
        start = time.perf_counter()
        body = self._body(request)
        try:
            data = await self._http.post_json("/chat/completions", body)
        except BackendError as exc:
            if exc.status == 400 and self._drop_rejected_feature(str(exc), body):
                data = await self._http.post_json("/chat/completions", self._body(request))
            else:
                raise
        return self._parse(data, time.perf_counter() - start)

    def _drop_rejected_feature(self, message: str, body: dict[str, Any]) -> bool:
        text = message.lower()
        if "logprobs" in body and "logprob" in text:
            self.capabilities = self.capabilities.model_copy(update={"logprobs": False})
            return True
        if "response_format" in body and ("response_format" in text or "json_schema" in text):
            self.capabilities = self.capabilities.model_copy(update={"json_schema": False})
            return True
        return False

    def _parse(self, data: dict[str, Any], latency: float) -> GenerateResponse:
        try:
            choice = data["choices"][0]
            text = choice["message"].get("content") or ""
        except (KeyError, IndexError, TypeError, AttributeError):
            raise BackendError(
                f"response from {self.base_url} has no choices[0].message: {str(data)[:200]}",
                retryable=True,
                reason="bad_response",
            ) from None
        usage_data = data.get("usage") or {}
        details = usage_data.get("prompt_tokens_details") or {}
        usage = Usage(
            prompt_tokens=int(usage_data.get("prompt_tokens") or 0),
            completion_tokens=int(usage_data.get("completion_tokens") or 0),
            cached_tokens=int(details.get("cached_tokens") or 0),
            calls=1,
        )
        logprobs = None
        content = (choice.get("logprobs") or {}).get("content") if isinstance(choice.get("logprobs"), dict) else None
        if content:
            try:
                # One validation call for the whole list: several times faster than a model per token.
                logprobs = _TOKEN_LOGPROBS.validate_python(
                    [
                        {
                            "token": t.get("token", ""),
                            "logprob": t.get("logprob", 0.0),
                            "top": {a["token"]: a["logprob"] for a in t.get("top_logprobs") or []},
                        }
                        for t in content
                    ]
                )
            except (ValidationError, TypeError, KeyError, AttributeError):
                logprobs = None  # unreadable logprobs cost the probabilities, not the verdict
        return GenerateResponse(
            text=text, logprobs=logprobs, usage=usage, latency_s=latency, finish_reason=choice.get("finish_reason")
        )

    async def aclose(self) -> None:
        await self._http.aclose()
