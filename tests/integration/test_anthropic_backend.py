"""The Anthropic backend against a small Messages-API stand-in on 127.0.0.1."""

from __future__ import annotations

import asyncio
import json
import socket
from typing import Any

import pytest
from aiohttp import web

from jurist import BackendError, GenerateRequest, JudgeConfig, make_backend, make_judge
from jurist.backends import BackendOptions, Message
from jurist.types import Item


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def _serve(handler: Any) -> tuple[web.AppRunner, str]:
    app = web.Application()
    app.router.add_post("/v1/messages", handler)
    runner = web.AppRunner(app)
    await runner.setup()
    port = _free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    return runner, f"http://127.0.0.1:{port}"


def test_messages_api_request_and_verdict(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEST_ANTHROPIC_KEY", "ant-test-SECRET987654")
    seen: list[tuple[dict[str, Any], dict[str, str]]] = []

    async def handler(request: web.Request) -> web.Response:
        seen.append((await request.json(), dict(request.headers)))
        body = {
            "content": [{"type": "text", "text": 'Both are fine but {"winner": "B", "rationale": "B is right"}'}],
            "usage": {"input_tokens": 40, "output_tokens": 12},
            "stop_reason": "end_turn",
        }
        return web.json_response(body)

    async def main() -> Any:
        runner, url = await _serve(handler)
        try:
            backend = make_backend(
                "anthropic:claude-test", BackendOptions(base_url=url, api_key_env="TEST_ANTHROPIC_KEY")
            )
            judge = make_judge(backend, JudgeConfig(mode="pairwise", swap=False))
            verdict = await judge(Item(id="1", prompt="q", response_a="a", response_b="b"))
            await backend.aclose()
            return verdict
        finally:
            await runner.cleanup()

    verdict = asyncio.run(main())
    assert verdict.outcome.winner == "B" and verdict.rationale == "B is right"
    assert verdict.usage.prompt_tokens == 40 and verdict.usage.completion_tokens == 12
    body, headers = seen[0]
    assert body["model"] == "claude-test"
    assert body["system"] and all(m["role"] != "system" for m in body["messages"])
    assert headers["x-api-key"] == "ant-test-SECRET987654"
    assert "anthropic-version" in headers


def test_bad_key_is_fatal_and_the_key_is_not_shown(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEST_ANTHROPIC_KEY", "ant-test-SECRET987654")

    async def handler(request: web.Request) -> web.Response:
        message = f"invalid x-api-key {request.headers['x-api-key']}"
        return web.json_response({"type": "error", "error": {"message": message}}, status=401)

    async def main() -> BackendError:
        runner, url = await _serve(handler)
        try:
            backend = make_backend(
                "anthropic:claude-test", BackendOptions(base_url=url, api_key_env="TEST_ANTHROPIC_KEY")
            )
            with pytest.raises(BackendError) as info:
                await backend.generate(GenerateRequest(messages=(Message(role="user", content="hi"),)))
            await backend.aclose()
            return info.value
        finally:
            await runner.cleanup()

    error = asyncio.run(main())
    assert error.fatal and error.status == 401
    assert "SECRET987654" not in str(error) and "***" in str(error)
    assert json.dumps(str(error))  # printable
