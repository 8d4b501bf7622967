"""Secrets a server echoes or a base URL holds never reach a run's files or output; servers that reject a
feature get the request again without it, at once."""

from __future__ import annotations

import asyncio
import base64
import socket
from collections.abc import Callable
from pathlib import Path

import pytest
from aiohttp import web

from jurist import BackendError, GenerateRequest
from jurist.backends.anthropic import AnthropicBackend
from jurist.backends.base import Message
from jurist.backends.openai_compat import OpenAIBackend
from jurist.run.resilience import ResilientBackend, RetryPolicy
from jurist.testing import FakeOpenAIServer

from .support import KEY_ENV, cli_args, cli_env, make_items, records, run_cli, write_jsonl

# Shaped like no provider's key, so only the registry of known secrets can keep it out.
PLAIN_KEY = "plain-credential-value-4242"
PASSWORD = "pa55-word-WXYZ-9876"
QUERY_KEY = "query-key-QRST-5432"


def _all_output(out: Path, cache_dir: Path, streams: str) -> list[tuple[str, bytes]]:
    files = [p for p in [*out.rglob("*"), *cache_dir.rglob("*")] if p.is_file()]
    return [(str(p), p.read_bytes()) for p in files] + [("stdout+stderr", streams.encode())]


def test_a_key_the_server_echoes_in_its_answer_is_not_stored(
    make_server: Callable[..., FakeOpenAIServer], tmp_path: Path, cache_dir: Path
) -> None:
    server = make_server(require_key=PLAIN_KEY)
    data = write_jsonl(tmp_path / "items.jsonl", make_items("pointwise", 3, markers={0: "#fault:echo-auth"}))
    out = tmp_path / "run"
    proc = run_cli(
        cli_args(data, out, server.url, "--api-key-env", KEY_ENV), cli_env(cache_dir, **{KEY_ENV: PLAIN_KEY})
    )

    assert proc.returncode == 0, proc.stderr
    by_id = {r["id"]: r for r in records(out)}
    echoed = by_id["item-0000"]
    assert echoed["error"]["reason"] == "parse_failure"
    assert echoed["raw"] == ["You sent: Bearer ***"]
    for where, content in _all_output(out, cache_dir, proc.stdout + proc.stderr):
        assert PLAIN_KEY.encode() not in content, where


@pytest.mark.parametrize("userinfo", ["basic", "token"])
def test_credentials_in_the_base_url_are_used_and_never_written(
    make_server: Callable[..., FakeOpenAIServer], tmp_path: Path, cache_dir: Path, userinfo: str
) -> None:
    if userinfo == "basic":
        basic = base64.b64encode(f"judge-user:{PASSWORD}".encode()).decode()
        server = make_server(require_auth=f"Basic {basic}")
        credentials = f"judge-user:{PASSWORD}"
    else:
        server = make_server(require_key=PASSWORD)  # a lone token in the userinfo is the API key
        credentials = f":{PASSWORD}"
    host = server.url.removeprefix("http://")
    query = f"api-version=2024-06-01&api_key={QUERY_KEY}"
    url = f"http://{credentials}@{host}?{query}"
    markers = {0: "#fault:echo-auth", 1: "#fault:400", 2: "#fault:500"}
    data = write_jsonl(tmp_path / "items.jsonl", make_items("pointwise", 4, markers=markers))
    out = tmp_path / "run"
    proc = run_cli(cli_args(data, out, url, "--max-retries", "0"), cli_env(cache_dir))

    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    stats = server.stats()
    assert "401" not in stats["statuses"]  # the credentials were sent
    assert stats["queries"] == {query: 4}  # and so was the query, whole
    by_id = {r["id"]: r for r in records(out)}
    assert by_id["item-0003"]["error"] is None
    assert all(by_id[f"item-000{i}"]["error"] is not None for i in range(3))
    config = (out / "config.json").read_text()
    assert f"{host}?api-version=2024-06-01&api_key=***" in config
    for where, content in _all_output(out, cache_dir, proc.stdout + proc.stderr):
        for secret in (PASSWORD, QUERY_KEY):
            assert secret.encode() not in content, (where, secret)


def test_credentials_in_the_url_of_a_dead_server_are_not_shown(tmp_path: Path, cache_dir: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://judge-user:{PASSWORD}@127.0.0.1:{port}/v1?key={QUERY_KEY}"
    data = write_jsonl(tmp_path / "items.jsonl", make_items("pointwise", 2))
    out = tmp_path / "run"
    proc = run_cli(cli_args(data, out, url, "--max-retries", "0"), cli_env(cache_dir))

    assert "Traceback" not in proc.stderr, proc.stderr
    assert [r["error"]["reason"] for r in records(out)] == ["retries_exhausted"] * 2
    for where, content in _all_output(out, cache_dir, proc.stdout + proc.stderr):
        for secret in (PASSWORD, QUERY_KEY):
            assert secret.encode() not in content, (where, secret)


def test_a_base_url_that_is_not_a_url_is_bad_input(tmp_path: Path, cache_dir: Path) -> None:
    data = write_jsonl(tmp_path / "items.jsonl", make_items("pointwise", 1))
    proc = run_cli(cli_args(data, tmp_path / "run", f"http://u:{PASSWORD}@127.0.0.1:port/v1"), cli_env(cache_dir))

    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr and "--base-url" in proc.stderr
    assert PASSWORD not in proc.stderr + proc.stdout


# -- features a server rejects -------------------------------------------------------------------------------


def _requests(n: int) -> list[GenerateRequest]:
    schema = {"type": "object", "properties": {"score": {"enum": ["1", "2"]}}, "required": ["score"]}
    return [
        GenerateRequest(
            messages=(Message(role="user", content=f'[id:{i}] Answer "score": "1" | "2"'),),
            json_schema=schema,
            top_logprobs=5,
            seed=3,
        )
        for i in range(n)
    ]


@pytest.mark.parametrize("status", [400, 422, 500])
def test_rejected_features_are_given_up_on_the_first_rejection(
    make_server: Callable[..., FakeOpenAIServer], status: int
) -> None:
    server = make_server(reject={"json_schema", "logprobs", "seed"}, reject_status=status)
    inner = OpenAIBackend("fake-model", base_url=server.url)
    backend = ResilientBackend(inner, retry=RetryPolicy(max_retries=5, base_delay_s=5.0))

    async def scenario() -> list[str]:
        try:
            first = await backend.generate(_requests(1)[0])
            rest = await asyncio.gather(*(backend.generate(r) for r in _requests(6)))
        finally:
            await backend.aclose()
        return [r.text for r in [first, *rest]]

    texts = asyncio.run(scenario())
    assert all('"score"' in text for text in texts)
    # One rejection per feature, then never again; none of them waited for a retry.
    faults = server.stats()["faults"]
    assert faults == {"reject:json_schema": 1, "reject:logprobs": 1, "reject:seed": 1}
    assert backend.retries == 0
    assert len(backend.fallbacks) == 3
    steps = [f.split(" (")[0] for f in backend.fallbacks]
    assert steps == ["response_format json_schema -> json_object", "logprobs on -> off", "seed on -> off"]
    assert all(f"HTTP {status}" in f for f in backend.fallbacks)
    assert inner.capabilities.logprobs is False


def test_json_object_rejected_too_falls_back_to_plain_text(make_server: Callable[..., FakeOpenAIServer]) -> None:
    server = make_server(reject={"json_schema", "json_object"}, reject_status=500)
    backend = ResilientBackend(OpenAIBackend("fake-model", base_url=server.url, logprobs=False))

    async def scenario() -> str:
        try:
            return (await backend.generate(_requests(1)[0])).text
        finally:
            await backend.aclose()

    assert '"score"' in asyncio.run(scenario())
    assert [f.split(" (")[0] for f in backend.fallbacks] == [
        "response_format json_schema -> json_object",
        "response_format json_object -> none",
    ]


def test_many_requests_rejected_at_once_record_one_fallback(make_server: Callable[..., FakeOpenAIServer]) -> None:
    server = make_server(reject={"json_schema"}, reject_status=500, latency_ms=50)
    backend = ResilientBackend(OpenAIBackend("fake-model", base_url=server.url))

    async def scenario() -> None:
        try:
            await asyncio.gather(*(backend.generate(r) for r in _requests(8)))
        finally:
            await backend.aclose()

    asyncio.run(scenario())
    assert server.stats()["faults"]["reject:json_schema"] == 8  # all were in flight before the first answer
    assert [f.split(" (")[0] for f in backend.fallbacks] == ["response_format json_schema -> json_object"]
    assert backend.retries == 0


def test_a_plain_500_still_is_retried_and_gives_nothing_up(server: FakeOpenAIServer) -> None:
    backend = ResilientBackend(OpenAIBackend("fake-model", base_url=server.url), retry=RetryPolicy(base_delay_s=0.01))
    request = _requests(1)[0]
    marked = request.model_copy(
        update={"messages": (Message(role="user", content=f"{request.messages[0].content} #fault:500x2"),)}
    )

    async def scenario() -> None:
        try:
            await backend.generate(marked)
        finally:
            await backend.aclose()

    asyncio.run(scenario())
    assert backend.retries == 2 and backend.fallbacks == []
    assert backend.capabilities.logprobs is True


# -- Anthropic replies of the wrong shape --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("reply", "said"),
    [
        ({"content": [{"type": "text", "text": "ok"}], "usage": "lots"}, "usage"),
        ({"content": [{"type": "text", "text": 42}]}, "content.0.text"),
        ({"content": "just a string"}, "content"),
        ([{"content": []}], "not a JSON object but a list"),
    ],
)
def test_an_anthropic_reply_of_the_wrong_shape_is_a_retryable_bad_response(
    monkeypatch: pytest.MonkeyPatch, reply: object, said: str
) -> None:
    monkeypatch.setenv("TEST_ANTHROPIC_KEY", "ant-test-SECRET987654")

    async def handler(request: web.Request) -> web.Response:
        return web.json_response(reply)

    async def scenario() -> BackendError:
        app = web.Application()
        app.router.add_post("/v1/messages", handler)
        runner = web.AppRunner(app)
        await runner.setup()
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        await web.SockSite(runner, sock).start()
        port = sock.getsockname()[1]
        backend = AnthropicBackend("claude-test", base_url=f"http://127.0.0.1:{port}", api_key_env="TEST_ANTHROPIC_KEY")
        try:
            with pytest.raises(BackendError) as info:
                await backend.generate(_requests(1)[0])
            return info.value
        finally:
            await backend.aclose()
            await runner.cleanup()

    error = asyncio.run(scenario())
    assert error.reason == "bad_response" and error.retryable and not error.fatal
    assert said in str(error), str(error)
