"""Any OpenAI-compatible chat-completions server: OpenAI, vLLM, SGLang, Ollama, llama.cpp server, LM Studio, TGI."""

from __future__ import annotations

import json
import re
import time
from typing import Any, Literal

from pydantic import BaseModel, Field, NonNegativeInt, TypeAdapter, ValidationError

from ..errors import BackendError, ConfigError
from ..secrets import scrub
from ..types import Usage
from .base import Capabilities, GenerateRequest, GenerateResponse, Message, TokenLogprob
from .http import HttpClient, locate_server

DEFAULT_BASE_URL = "https://api.openai.com/v1"
_TOKEN_LOGPROBS = TypeAdapter(list[TokenLogprob])

OutputFormat = Literal["json_schema", "json_object", "text"]
_LOWER_FORMAT: dict[str, OutputFormat] = {"json_schema": "json_object", "json_object": "text"}
# Statuses with which servers say "I do not take this parameter": 400 (OpenAI, vLLM), 422 (FastAPI validation),
# 500 (llama-cpp-python's server, whose request validation fails inside the handler).
_REJECTION_STATUSES = (400, 422, 500)
_NAMES_FORMAT = re.compile(r"response_format|json_schema|json_object", re.I)
_NAMES_LOGPROBS = re.compile(r"\b(?:top_)?logprobs?\b", re.I)
_NAMES_SEED = re.compile(r"\bseed\b", re.I)


class _ReplyMessage(BaseModel):
    content: str | None = None


class _ReplyChoice(BaseModel):
    message: _ReplyMessage
    finish_reason: str | None = None
    logprobs: Any = None  # read tolerantly below: unreadable logprobs cost the probabilities, not the verdict


class _PromptDetails(BaseModel):
    cached_tokens: NonNegativeInt | None = None


class _ReplyUsage(BaseModel):
    prompt_tokens: NonNegativeInt | None = None
    completion_tokens: NonNegativeInt | None = None
    prompt_tokens_details: _PromptDetails | None = None


class ChatCompletionReply(BaseModel):
    """The parts of a chat-completion reply jurist reads; a reply of another shape is a `bad_response`."""

    choices: list[_ReplyChoice] = Field(min_length=1)
    usage: _ReplyUsage | None = None


class OpenAIBackend:
    """Chat completions over HTTP.

    Servers differ in what they accept. JSON-schema output, logprobs and the seed are tried first; a server that
    rejects one (HTTP 400, 422 or 500 whose message names the parameter) gets the request again at once without
    it, and the step down (json_schema -> json_object -> plain text; logprobs off; seed off) holds for the rest of
    the run. `fallbacks` says, in words, what was given up.
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
        vision: bool = True,
    ) -> None:
        if not model:
            raise ConfigError("openai backend needs a model name: openai:MODEL")
        self.model = model
        self.name = f"openai:{model}"
        target, key, basic = locate_server(base_url, "OPENAI_BASE_URL", DEFAULT_BASE_URL, api_key_env)
        headers = {"Content-Type": "application/json"}
        if basic or key:
            # Credentials in the URL are the more specific choice: they win over the key variable's.
            headers["Authorization"] = basic or f"Bearer {key}"
        self.base_url = target.public  # never holds a credential: it is written into the run's config
        self._http = HttpClient(target, headers, timeout=timeout)
        self._format: OutputFormat = "json_schema" if json_schema else "text"
        self._seed = True
        self.fallbacks: list[str] = []
        self._identity: tuple[tuple[Any, ...], str] | None = None  # (the features it was made for, the identity)
        self.capabilities = Capabilities(
            logprobs=logprobs,
            json_schema=json_schema,
            context_length=context_length,
            max_concurrency=64,
            vision=vision,  # False for a server known to take no images: judges then refuse them before any call
        )

    @property
    def cache_identity(self) -> str:
        """Everything besides the request that decides the answer, including the features given up so far. Worked
        out again only when a fallback changed them: it is read for every call."""
        features = (self._format, self.capabilities.logprobs, self._seed)
        if self._identity is None or self._identity[0] != features:
            identity: dict[str, Any] = {"provider": "openai", "base_url": self.base_url, "model": self.model}
            identity.update(format=features[0], logprobs=features[1], seed=features[2])
            self._identity = (features, json.dumps(identity, sort_keys=True))
        return self._identity[1]

    def count_tokens(self, messages: tuple[Message, ...]) -> int | None:
        return None

    @property
    def http(self) -> HttpClient:
        """The HTTP client, for the batch API at the same server with the same credentials."""
        return self._http

    def body(self, request: GenerateRequest) -> dict[str, Any]:
        """The chat-completions request body (also one line of a batch's input file, run/batch.py)."""
        return self._body(request)

    def parse(self, reply: ChatCompletionReply, latency: float) -> GenerateResponse:
        """The response read from a chat-completion reply (also one line of a batch's output file)."""
        return self._parse(reply, latency)

    def _body(self, request: GenerateRequest) -> dict[str, Any]:
        body: dict[str, Any] = {
            "model": self.model,
            "messages": [{"role": m.role, "content": _content(m)} for m in request.messages],
            "max_tokens": request.max_tokens,
            "temperature": request.temperature,
        }
        if request.seed is not None and self._seed:
            body["seed"] = request.seed
        if request.top_logprobs and self.capabilities.logprobs:
            body["logprobs"] = True
            body["top_logprobs"] = min(request.top_logprobs, 20)
        if request.json_schema is not None and self._format == "json_schema":
            body["response_format"] = {
                "type": "json_schema",
                "json_schema": {"name": "verdict", "schema": request.json_schema, "strict": True},
            }
        elif request.json_schema is not None and self._format == "json_object":
            body["response_format"] = {"type": "json_object"}
        return body

    async def generate(self, request: GenerateRequest) -> GenerateResponse:
        start = time.perf_counter()
        body = self._body(request)
        while True:
            try:
                reply = await self._http.post("/chat/completions", body, ChatCompletionReply)
                break
            except BackendError as exc:
                # Handled here, inside one attempt, so that the first rejection steps down at once instead of
                # being retried unchanged; every step gives up a feature, so this ends.
                if not self._step_down(body, exc):
                    raise
                sent, body = body, self._body(request)
                if body == sent:
                    raise
        return self._parse(reply, time.perf_counter() - start)

    def _step_down(self, body: dict[str, Any], exc: BackendError) -> bool:
        """Give up the feature a rejection names, if `body` used it; True when the request should be sent again
        (also when a concurrent request already gave the feature up)."""
        if exc.status not in _REJECTION_STATUSES:
            return False
        message = str(exc)
        why = " ".join(message.split())[:200]  # one line, however the server laid its message out
        fmt = body.get("response_format", {}).get("type")
        if fmt in _LOWER_FORMAT and _NAMES_FORMAT.search(message):
            lower = _LOWER_FORMAT[fmt]
            if self._format == fmt:
                self._format = lower
                self.capabilities = self.capabilities.model_copy(update={"json_schema": False})
                self._record(f"response_format {fmt} -> {'none' if lower == 'text' else lower} ({why})")
            return True
        if "logprobs" in body and _NAMES_LOGPROBS.search(message):
            if self.capabilities.logprobs:
                self.capabilities = self.capabilities.model_copy(update={"logprobs": False})
                self._record(f"logprobs on -> off ({why})")
            return True
        if "seed" in body and _NAMES_SEED.search(message):
            if self._seed:
                self._seed = False
                self._record(f"seed on -> off ({why})")
            return True
        return False

    def _record(self, fallback: str) -> None:
        self.fallbacks.append(scrub(fallback))

    def _parse(self, reply: ChatCompletionReply, latency: float) -> GenerateResponse:
        choice = reply.choices[0]
        usage_data = reply.usage or _ReplyUsage()
        details = usage_data.prompt_tokens_details or _PromptDetails()
        usage = Usage(
            prompt_tokens=usage_data.prompt_tokens or 0,
            completion_tokens=usage_data.completion_tokens or 0,
            cached_tokens=details.cached_tokens or 0,
            calls=1,
        )
        return GenerateResponse(
            text=choice.message.content or "",
            logprobs=_token_logprobs(choice.logprobs),
            usage=usage,
            latency_s=latency,
            finish_reason=choice.finish_reason,
        )

    async def aclose(self) -> None:
        await self._http.aclose()


def _content(message: Message) -> str | list[dict[str, Any]]:
    """A message's content: its text, or with images the content parts (text, then each image with its caption)."""
    if not message.images:
        return message.content
    parts: list[dict[str, Any]] = [{"type": "text", "text": message.content}]
    for image in message.images:
        if image.caption:
            parts.append({"type": "text", "text": image.caption})
        parts.append({"type": "image_url", "image_url": {"url": image.data_url()}})
    return parts


def _token_logprobs(data: Any) -> list[TokenLogprob] | None:
    content = data.get("content") if isinstance(data, dict) else None
    if not content:
        return None
    try:
        # One validation call for the whole list: several times faster than a model per token.
        return _TOKEN_LOGPROBS.validate_python(
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
        return None  # unreadable logprobs cost the probabilities, not the verdict
