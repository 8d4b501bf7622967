"""A scripted backend for tests. It judges nothing: it returns whatever the test's script says."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence

from ..types import Usage
from .base import Capabilities, GenerateRequest, GenerateResponse, Message

Reply = str | GenerateResponse | Exception
Script = Callable[[GenerateRequest], Reply] | Sequence[Reply]


class FakeBackend:
    """Answers from a script: a function of the request, or a list of replies used in turn.

    An Exception in the script is raised, so tests can drive retries and failures.
    Every request is recorded in `requests`.
    """

    def __init__(
        self,
        script: Script,
        *,
        name: str = "fake",
        capabilities: Capabilities | None = None,
        delay_s: float = 0.0,
        tokens_per_char: float = 0.25,
    ) -> None:
        self.name = name
        self.capabilities = capabilities or Capabilities(max_concurrency=8)
        # A lone string is one reply for every request, not a sequence of one-character replies.
        self._script: Script = [script] if isinstance(script, str) else script
        self._delay = delay_s
        self._tokens_per_char = tokens_per_char
        self.requests: list[GenerateRequest] = []

    def count_tokens(self, messages: tuple[Message, ...]) -> int | None:
        return int(sum(len(m.content) for m in messages) * self._tokens_per_char)

    async def generate(self, request: GenerateRequest) -> GenerateResponse:
        index = len(self.requests)
        self.requests.append(request)
        if self._delay:
            await asyncio.sleep(self._delay)
        reply = self._script(request) if callable(self._script) else self._script[index % len(self._script)]
        if isinstance(reply, Exception):
            raise reply
        if isinstance(reply, GenerateResponse):
            return reply
        prompt_tokens = self.count_tokens(request.messages) or 0
        return GenerateResponse(
            text=reply,
            usage=Usage(prompt_tokens=prompt_tokens, completion_tokens=max(1, len(reply) // 4), calls=1),
            finish_reason="stop",
        )

    async def aclose(self) -> None:
        return None
