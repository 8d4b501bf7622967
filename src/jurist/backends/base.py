"""The one small interface every model backend implements, with jurist's own request/response types."""

from __future__ import annotations

import hashlib
import json
from typing import Any, Literal, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field, SerializerFunctionWrapHandler, model_serializer

from .. import images
from ..types import Usage


class ImagePart(BaseModel):
    """An image sent with a message, after its text. In a cache key it counts by its hash (and a URL by its text),
    never by its bytes; `data` (base64, read from a file or a data URL) is for the request body only."""

    model_config = ConfigDict(frozen=True)

    sha256: str
    media_type: str | None = None
    url: str | None = None  # an http(s) URL, passed on as a URL
    # a line of text sent before the image, saying what it belongs to ("Image 1 of Response A")
    caption: str = ""
    data: str | None = Field(None, exclude=True, repr=False)

    @classmethod
    def of(cls, ref: str, caption: str = "") -> ImagePart:
        """The part for an item's image reference (a file read now, a URL kept as a URL)."""
        kind = images.media_type(ref)
        if images.is_url(ref):
            return cls(sha256=images.digest(ref), media_type=kind, url=ref, caption=caption)
        return cls(sha256=images.digest(ref), media_type=kind, caption=caption, data=images.base64_data(ref))

    def data_url(self) -> str:
        """The image as a URL: its own http(s) URL, else a base64 data URL."""
        return self.url or f"data:{self.media_type};base64,{self.data}"


class Message(BaseModel):
    model_config = ConfigDict(frozen=True)

    role: Literal["system", "user", "assistant"]
    content: str
    # images shown after the text (only to backends with `capabilities.vision`); `content` stays the whole text,
    # so everything that reads a message's text is unchanged
    images: tuple[ImagePart, ...] = ()

    @model_serializer(mode="wrap")
    def _without_no_images(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        """No `images` key for a message without: the cache keys of text-only requests stay as they were."""
        data: dict[str, Any] = handler(self)
        if not self.images:
            data.pop("images", None)
        return data


class GenerateRequest(BaseModel):
    """What a judge asks of a model. Backends use the optional parts they support and ignore the rest."""

    model_config = ConfigDict(frozen=True)

    messages: tuple[Message, ...]
    max_tokens: int = 512
    temperature: float = 0.0
    seed: int | None = None
    # Structured output: a JSON schema the answer must follow (JSON-schema mode on servers, a grammar on llama.cpp).
    json_schema: dict[str, Any] | None = None
    # Ask for the top-k alternatives at every generated token, when the backend can give them.
    top_logprobs: int = 0
    # The start of the answer, written for the model (only where capabilities.prefill): fewer tokens to generate
    # one by one. The response text begins with it.
    prefill: str = ""
    # The item judged and, pairwise, the order its responses are shown in: backends that answer from recorded
    # judgments look the answer up by them. Not sent to any model, and not part of the cache key.
    item_id: str | None = Field(None, exclude=True)
    order: Literal["AB", "BA"] | None = Field(None, exclude=True)

    def cache_key(self, identity: str) -> str:
        """Key of the normalised request for the backend `identity` (see `cache_identity`): any change to the
        server, model, features in use, prompt or decoding gives a new key."""
        payload = {"model": identity, **self.model_dump()}
        return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()

    def prompt_chars(self) -> int:
        return sum(len(m.content) for m in self.messages)


class TokenLogprob(BaseModel):
    token: str
    logprob: float
    top: dict[str, float] = Field(default_factory=dict)


class GenerateResponse(BaseModel):
    text: str
    logprobs: list[TokenLogprob] | None = None
    usage: Usage = Field(default_factory=Usage)
    latency_s: float = 0.0
    finish_reason: str | None = None
    cached: bool = False


class Capabilities(BaseModel):
    """What a backend can do; judges use what is there."""

    logprobs: bool = False
    json_schema: bool = False
    grammar: bool = False
    context_length: int | None = None
    # How many requests are worth having in flight at once (1 for an in-process model).
    max_concurrency: int = 16
    # Can start the answer with given text (GenerateRequest.prefill).
    prefill: bool = False
    # Answer length used when the user sets none: small models ramble, so the embedded one gets a short leash.
    default_max_tokens: int = 1024
    # Answers are read from recorded judgments (replay, recorded), by the item and order a request carries as well
    # as its text: the response cache, keyed on the text alone, is not used for them.
    recorded: bool = False
    # Takes images as content parts (Message.images); a judge refuses items with images before any call without.
    vision: bool = False


@runtime_checkable
class Backend(Protocol):
    """A language model. `name` identifies it in results (never holds a secret).

    Optional: `cache_identity`, a string of everything besides the request that decides the answer (provider,
    server URL without credentials, model, model file, features given up after a server rejected them); the
    response cache keys on it, and on `name` for a backend without one. `fallbacks`, a list of what the backend
    gave up during the run, in words.
    """

    name: str

    @property
    def capabilities(self) -> Capabilities: ...

    async def generate(self, request: GenerateRequest) -> GenerateResponse: ...

    def count_tokens(self, messages: tuple[Message, ...]) -> int | None:
        """Exact prompt length in tokens where the backend can tell without a call, else None."""
        ...

    async def aclose(self) -> None: ...


def cache_identity(backend: object) -> str:
    """The backend's `cache_identity` where it has one, else its name (enough for scripted and replayed answers,
    whose names say where the answers come from)."""
    identity = getattr(backend, "cache_identity", None)
    return identity if isinstance(identity, str) else str(getattr(backend, "name", type(backend).__name__))
