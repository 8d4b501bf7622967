"""The judge server (jurist.serve) on loopback with a scripted backend: auth, malformed input, size limits, OpenRLHF's
protocol, the metrics format, back-pressure and a graceful stop."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from click.testing import CliRunner
from pydantic import SecretStr, ValidationError

from jurist import FakeBackend, JobOptions
from jurist.backends.base import GenerateRequest
from jurist.errors import BackendError
from jurist.outcomes import Preference, Ranking, Score
from jurist.run.log import read_run
from jurist.serve import JudgeServer, ServeOptions, reward_of, split_query
from jurist.types import ErrorInfo, Verdict

TOKEN = "test-token-0123456789abcdef"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
NO_CACHE = JobOptions(cache=False)


def score_reply(request: GenerateRequest) -> str:
    """Score 4, or 2 where the response says "bad"; a text with no verdict where it says "garble"."""
    text = request.messages[-1].content
    if "garble" in text:
        return "I will not say."
    return '{"score": "2"}' if "bad" in text else '{"score": "4"}'


@asynccontextmanager
async def serving(
    backend: FakeBackend | None = None, *, mode: str = "pointwise", log: list[str] | None = None, **serve: Any
) -> AsyncIterator[tuple[JudgeServer, aiohttp.ClientSession]]:
    options = ServeOptions(port=0, **({"token": SecretStr(TOKEN)} | serve))
    server = JudgeServer(
        mode,  # type: ignore[arg-type]
        model=backend or FakeBackend(score_reply),
        options=NO_CACHE,
        serve=options,
        log=log.append if log is not None else None,
    )
    async with server, aiohttp.ClientSession(server.url) as client:
        yield server, client


def run(test: Callable[[], Awaitable[None]]) -> None:
    asyncio.run(asyncio.wait_for(test(), 30))


async def until(condition: Callable[[], bool]) -> None:
    while not condition():
        await asyncio.sleep(0.01)


ITEMS = [{"id": "a", "prompt": "2+2?", "response": "4"}, {"id": "b", "prompt": "3+3?", "response": "bad 7"}]


# -- auth -------------------------------------------------------------------------------------------------------


def test_a_request_without_the_token_is_refused_and_the_token_never_shows() -> None:
    log: list[str] = []

    async def test() -> None:
        async with serving(log=log) as (_, client):
            for headers in ({}, {"Authorization": "Bearer wrong-token-0123456789"}, {"Authorization": TOKEN}):
                async with client.post("/v1/judge", json={"items": ITEMS}, headers=headers) as r:
                    assert r.status == 401
                    assert r.headers["WWW-Authenticate"] == "Bearer"
                    assert "token" in (await r.json())["error"]
            async with client.get("/metrics") as r:
                assert r.status == 401
            async with client.get("/health") as r:  # probes call it bare
                assert r.status == 200
            async with client.post("/v1/judge", json={"items": ITEMS}, headers=AUTH) as r:
                assert r.status == 200
                body = await r.text()
            async with client.post(f"/v1/judge?token={TOKEN}", json={"items": ITEMS}) as r:  # OpenRLHF's way
                assert r.status == 200
        assert TOKEN not in body
        assert log and not any(TOKEN in line for line in log)
        assert any(line.startswith("POST /v1/judge 200 2 items") for line in log)

    run(test)


def test_the_token_is_required_long_enough_and_not_given_with_no_auth() -> None:
    with pytest.raises(ValidationError, match="bearer token is required"):
        ServeOptions()
    with pytest.raises(ValidationError, match="at least 16 characters"):
        ServeOptions(token=SecretStr("short"))
    with pytest.raises(ValidationError, match="contradict"):
        ServeOptions(auth=False, token=SecretStr(TOKEN))
    assert TOKEN not in repr(ServeOptions(token=SecretStr(TOKEN)))


def test_the_command_refuses_to_start_without_a_token(monkeypatch: pytest.MonkeyPatch) -> None:
    from jurist.cli import main

    monkeypatch.delenv("JURIST_SERVE_TOKEN", raising=False)
    result = CliRunner().invoke(main, ["serve", "--model", "openai:m", "--base-url", "http://127.0.0.1:9/v1"])
    assert result.exit_code == 2
    assert "bearer token is required" in result.output and "Traceback" not in result.output
    result = CliRunner().invoke(main, ["serve", "--token", "short"])
    assert result.exit_code == 2 and "at least 16 characters" in result.output
    assert "short" not in result.output.replace("--token short", "")


# -- malformed input and size limits ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b'{"items": [', "malformed JSON"),
        (b"[1, 2]", "not a judge request"),
        (b'{"items": []}', "items: List should have at least 1 item"),
        (b'{"items": [{"prompt": "p"}]}', "request item:1: field 'response': missing"),
        (b'{"items": [{"prompt": "p", "response": 3}]}', "must be text"),
        (b'{"items": [{"prompt": "p", "response": "r"}], "mode": "pairwise"}', "judges pointwise items, not pairwise"),
        (b'{"items": [{"prompt": "p", "response": "r"}], "extra": 1}', "extra: Extra inputs are not permitted"),
    ],
)
def test_malformed_requests_get_400_with_what_is_wrong(body: bytes, message: str) -> None:
    async def test() -> None:
        async with serving() as (_, client), client.post("/v1/judge", data=body, headers=AUTH) as r:
            assert r.status == 400
            assert message in (await r.json())["error"]

    run(test)


def test_too_large_a_body_or_batch_gets_413_and_unknown_paths_404() -> None:
    async def test() -> None:
        async with serving(max_body_mb=0.01, max_batch=3, max_queue=10) as (_, client):
            big = {"items": [{"prompt": "p", "response": "x" * 20_000}]}
            async with client.post("/v1/judge", json=big, headers=AUTH) as r:
                assert r.status == 413
                assert "larger than 0.01 MB" in (await r.json())["error"]
            many = {"items": [{"prompt": "p", "response": "r"}] * 4}
            async with client.post("/v1/judge", json=many, headers=AUTH) as r:
                assert r.status == 413
                assert "at most 3" in (await r.json())["error"]
            async with client.post("/get_reward", json={"query": ["q"] * 4}, headers=AUTH) as r:
                assert r.status == 413
            async with client.get("/nowhere", headers=AUTH) as r:
                assert r.status == 404
            async with client.get("/v1/judge", headers=AUTH) as r:
                assert r.status == 405

    run(test)


# -- the native endpoint --------------------------------------------------------------------------------------------


def test_native_judging_gives_each_item_its_reward_or_its_reason() -> None:
    async def test() -> None:
        items = [*ITEMS, {"id": "c", "prompt": "4+4?", "response": "garble"}]
        async with serving() as (_, client), client.post("/v1/judge", json={"items": items}, headers=AUTH) as r:
            assert r.status == 200
            body = await r.json()
        assert r.headers["X-Request-Id"] == body["request_id"]
        assert (body["judged"], body["failed"]) == (3, 1)
        by_id = {res["id"]: res for res in body["results"]}
        assert by_id["a"]["reward"] == 4 and by_id["a"]["ok"] and by_id["a"]["verdict"]["outcome"]["score"] == 4
        assert by_id["b"]["reward"] == 2
        assert not by_id["c"]["ok"] and by_id["c"]["reward"] is None
        assert by_id["c"]["error"]["reason"] == "parse_failure"
        assert "item" not in by_id["a"]["verdict"]  # the client has the texts

    run(test)


def test_a_fatal_backend_error_is_each_items_reason() -> None:
    async def test() -> None:
        backend = FakeBackend([BackendError("bad key", fatal=True, reason="auth")])
        async with serving(backend) as (_, client), client.post("/v1/judge", json={"items": ITEMS}, headers=AUTH) as r:
            body = await r.json()
        assert r.status == 200 and body["failed"] == 2
        assert {res["error"]["reason"] for res in body["results"]} == {"auth"}

    run(test)


def test_pairwise_and_listwise_rewards() -> None:
    assert reward_of(Verdict(id="x", mode="pointwise", outcome=Score(score=3, expected=3.4))) == 3.4
    assert reward_of(Verdict(id="x", mode="pointwise", outcome=Score(score=3))) == 3
    assert reward_of(Verdict(id="x", mode="pairwise", outcome=Preference(winner="B"))) == 0
    assert reward_of(Verdict(id="x", mode="pairwise", outcome=Preference(probs={"A": 0.6, "B": 0.2, "tie": 0.2}))) == (
        pytest.approx(0.7)
    )
    assert reward_of(Verdict(id="x", mode="listwise", outcome=Ranking(ranking=[2, 3, 1]))) == [0.0, 1.0, 0.5]
    assert reward_of(Verdict(id="x", mode="pairwise", outcome=Preference(winner=None))) is None
    failed = Verdict(id="x", mode="pointwise", outcome=Score(score=3), error=ErrorInfo(reason="r", message="m"))
    assert reward_of(failed) is None


# -- OpenRLHF's protocol --------------------------------------------------------------------------------------------


def test_split_query_takes_the_prompt_as_prefix_else_the_marker_else_refuses() -> None:
    assert split_query("<s>Q: hi<a>hello", "<s>Q: hi", None) == ("<s>Q: hi", "<a>hello")
    assert split_query("<bos><s>Q: hi<a>hello", "<s>Q: hi", None) == ("<s>Q: hi", "<a>hello")
    marker = "<|im_start|>assistant\n"
    assert split_query(f"<|im_start|>user\nhi<|im_end|>\n{marker}hello", None, marker) == (
        "<|im_start|>user\nhi<|im_end|>\n",
        "hello",
    )
    with pytest.raises(ValueError, match="does not contain its prompt"):
        split_query("abc", "xyz", None)
    with pytest.raises(ValueError, match="no prompt was sent"):
        split_query("abc", None, None)


def test_get_reward_answers_openrlhf_s_shape() -> None:
    backend = FakeBackend(score_reply)

    async def test() -> None:
        body = {
            "query": ["USER: 2+2? ASSISTANT: 4", "USER: 3+3? ASSISTANT: bad 7"],
            "prompts": ["USER: 2+2? ASSISTANT:", "USER: 3+3? ASSISTANT:"],
            "labels": ["4", None],
            "datasources": ["x", "y"],  # some versions send more: ignored
        }
        async with serving(backend) as (_, client), client.post("/get_reward", json=body, headers=AUTH) as r:
            assert r.status == 200
            answer = await r.json()
        assert answer["rewards"] == [4.0, 2.0] and answer["scores"] == [4.0, 2.0]
        assert answer["extra_logs"] == {"judge_failed": [0.0, 0.0]} and answer["failures"] == []

    run(test)
    # the prompt and response as split, and the label as the reference answer
    first = "\n".join(m.content for m in backend.requests[0].messages)
    assert "USER: 2+2? ASSISTANT:" in first and " 4" in first
    with_reference = [r for r in backend.requests if "3+3" not in r.messages[-1].content]
    assert with_reference and "4" in with_reference[0].messages[-1].content


def test_get_reward_failures_are_502_with_reasons_unless_a_failure_reward_is_given() -> None:
    body = {"query": ["P1 R1", "P2 garble", "nothing"], "prompts": ["P1", "P2", "P3"]}

    async def test() -> None:
        async with serving() as (_, client), client.post("/get_reward", json=body, headers=AUTH) as r:
            assert r.status == 502
            answer = await r.json()
        assert [(f["index"], f["reason"]) for f in answer["failures"]] == [(1, "parse_failure"), (2, "split")]
        async with (
            serving(failure_reward=-1.0) as (_, client),
            client.post("/get_reward", json=body, headers=AUTH) as r,
        ):
            assert r.status == 200
            answer = await r.json()
        assert answer["rewards"] == [4.0, -1.0, -1.0]
        assert answer["extra_logs"]["judge_failed"] == [0.0, 1.0, 1.0]
        assert [f["index"] for f in answer["failures"]] == [1, 2]

    run(test)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"query": "one text"}, "query: Input should be a valid list"),
        ({"query": ["a", "b"], "prompts": ["a"]}, "prompts has 1 entries for 2 queries"),
        ({"query": ["a"], "labels": []}, "labels has 0 entries for 1 queries"),
        ({"prompts": ["a"]}, "query: Field required"),
    ],
)
def test_malformed_reward_requests_get_400(body: dict[str, Any], message: str) -> None:
    async def test() -> None:
        async with serving() as (_, client), client.post("/get_reward", json=body, headers=AUTH) as r:
            assert r.status == 400
            assert message in (await r.json())["error"]

    run(test)


def test_get_reward_needs_a_pointwise_server() -> None:
    async def test() -> None:
        async with (
            serving(FakeBackend('{"winner": "A"}'), mode="pairwise") as (_, client),
            client.post("/get_reward", json={"query": ["a b"], "prompts": ["a"]}, headers=AUTH) as r,
        ):
            assert r.status == 400
            assert "this server judges pairwise items" in (await r.json())["error"]

    run(test)


# -- metrics --------------------------------------------------------------------------------------------------------

SAMPLE = re.compile(r'^([a-z_]+)(\{([a-z_]+="[^"]*")(,[a-z_]+="[^"]*")*\})? (-?[0-9.e+-]+|\+Inf)$')


def parse_metrics(text: str) -> dict[str, float]:
    """Sample lines by name and labels; every line must be a comment or a well-formed sample."""
    samples: dict[str, float] = {}
    declared: set[str] = set()
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split(" ")
            assert kind in ("counter", "gauge", "histogram")
            declared.add(name)
            continue
        if line.startswith("# HELP "):
            continue
        m = SAMPLE.match(line)
        assert m, f"not a sample line: {line!r}"
        family = re.sub(r"_(bucket|sum|count)$", "", m.group(1))
        assert m.group(1) in declared or family in declared, f"{line!r} has no # TYPE"
        samples[line.rsplit(" ", 1)[0]] = float(m.group(5))
    return samples


def test_metrics_are_prometheus_text_and_count_what_happened() -> None:
    async def test() -> None:
        async with serving() as (_, client):
            async with client.post("/v1/judge", json={"items": ITEMS}, headers=AUTH) as r:
                assert r.status == 200
            async with client.post("/v1/judge", data=b"{", headers=AUTH) as r:
                assert r.status == 400
            async with client.get("/metrics", headers=AUTH) as r:
                assert r.status == 200 and r.content_type == "text/plain"
                text = await r.text()
        samples = parse_metrics(text)
        assert samples['jurist_serve_requests_total{endpoint="/v1/judge",status="200"}'] == 1
        assert samples['jurist_serve_requests_total{endpoint="/v1/judge",status="400"}'] == 1
        assert samples['jurist_serve_items_total{outcome="ok"}'] == 2
        assert samples["jurist_serve_items_in_flight"] == 0
        for name in ("backend_errors_total", "cache_hits_total", "queue_capacity"):
            assert f"jurist_serve_{name}" in samples
        buckets = [
            v for k, v in samples.items() if k.startswith('jurist_serve_request_duration_seconds_bucket{endpoint="/v1/')
        ]
        assert buckets == sorted(buckets) and buckets[-1] == 2  # cumulative; +Inf counts both requests
        assert samples['jurist_serve_request_duration_seconds_count{endpoint="/v1/judge"}'] == 2

    run(test)


def test_backend_errors_and_cache_hits_are_counted(tmp_path: Path) -> None:
    backend = FakeBackend([BackendError("busy", retryable=True, retry_after=0), '{"score": "4"}'])

    async def test() -> None:
        options = JobOptions(cache=True, cache_path=tmp_path / "cache.sqlite")
        server = JudgeServer("pointwise", model=backend, options=options, serve=ServeOptions(port=0, auth=False))
        async with server, aiohttp.ClientSession(server.url) as client:
            for _ in range(2):
                async with client.post("/v1/judge", json={"items": ITEMS[:1]}) as r:
                    assert r.status == 200
            async with client.get("/metrics") as r:
                samples = parse_metrics(await r.text())
        assert samples["jurist_serve_backend_errors_total"] == 1
        assert samples["jurist_serve_cache_hits_total"] == 1

    run(test)


# -- back-pressure and stopping -------------------------------------------------------------------------------------


def test_beyond_the_queue_a_request_gets_429_with_retry_after() -> None:
    async def test() -> None:
        slow = FakeBackend('{"score": "3"}', delay_s=0.3)
        async with serving(slow, max_queue=4, max_batch=4) as (server, client):
            four = [{"prompt": f"q{i}", "response": "r"} for i in range(4)]
            first = asyncio.create_task(client.post("/v1/judge", json={"items": four}, headers=AUTH))
            await until(lambda: server._pending == 4)
            async with client.post("/v1/judge", json={"items": ITEMS[:1]}, headers=AUTH) as r:
                assert r.status == 429
                assert int(r.headers["Retry-After"]) >= 1
                assert "queue is full" in (await r.json())["error"]
            response = await first
            assert response.status == 200
            response.release()
            async with client.post("/v1/judge", json={"items": ITEMS[:1]}, headers=AUTH) as r:
                assert r.status == 200

    run(test)


def test_a_stop_lets_the_requests_in_flight_finish(tmp_path: Path) -> None:
    async def test() -> None:
        slow = FakeBackend('{"score": "3"}', delay_s=0.5)
        server = JudgeServer(
            "pointwise", model=slow, options=NO_CACHE, serve=ServeOptions(port=0, auth=False, log_dir=tmp_path / "log")
        )
        await server.start()
        async with aiohttp.ClientSession(server.url) as client:
            in_flight = asyncio.create_task(client.post("/v1/judge", json={"items": ITEMS}))
            await until(lambda: server._pending == 2)
            stopping = asyncio.create_task(server.stop())
            await asyncio.sleep(0.1)
            assert not stopping.done()  # waiting for the request
            response = await in_flight
            assert response.status == 200 and (await response.json())["judged"] == 2
            await stopping
        async with aiohttp.ClientSession(server.url) as client:
            with pytest.raises(aiohttp.ClientConnectionError):
                await client.get("/health")

    run(test)
    logged = read_run(tmp_path / "log")
    assert len(logged.verdicts) == 2 and all("/" in v.id for v in logged.verdicts)


def test_the_response_never_holds_a_secret_the_backend_echoed() -> None:
    async def test() -> None:
        echo = FakeBackend(f'{{"score": "4", "rationale": "I got {TOKEN}"}}')
        async with serving(echo) as (_, client), client.post("/v1/judge", json={"items": ITEMS}, headers=AUTH) as r:
            text = await r.text()
        assert TOKEN not in text and json.loads(text)["judged"] == 2

    run(test)
