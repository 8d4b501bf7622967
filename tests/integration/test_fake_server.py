"""The fake OpenAI-compatible server itself: answers, logprobs, fault markers, counters, subprocess mode."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.error
import urllib.request
from typing import Any

import pytest

from jurist.testing import FakeOpenAIServer
from jurist.testing.fake_openai_server import pick_fault


def _post(url: str, body: dict[str, Any], key: str | None = None) -> tuple[int, dict[str, str], bytes]:
    headers = {"Content-Type": "application/json", **({"Authorization": f"Bearer {key}"} if key else {})}
    request = urllib.request.Request(f"{url}/chat/completions", data=json.dumps(body).encode(), headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as resp:
            return resp.status, dict(resp.headers), resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()


def _body(content: str, **extra: Any) -> dict[str, Any]:
    return {"model": "fake-model", "messages": [{"role": "user", "content": content}], **extra}


def test_answers_follow_the_schema_and_logprobs_spell_the_text(server: FakeOpenAIServer) -> None:
    schema = {
        "type": "object",
        "properties": {"rationale": {"type": "string"}, "score": {"type": "string", "enum": ["bad", "ok", "good"]}},
    }
    body = _body(
        "Rate it.",
        logprobs=True,
        top_logprobs=5,
        response_format={"type": "json_schema", "json_schema": {"name": "v", "schema": schema}},
    )
    status, _, raw = _post(server.url, body)
    data = json.loads(raw)
    text = data["choices"][0]["message"]["content"]
    verdict = json.loads(text)

    assert status == 200 and list(verdict) == ["rationale", "score"] and verdict["score"] in {"bad", "ok", "good"}
    tokens = data["choices"][0]["logprobs"]["content"]
    assert "".join(t["token"] for t in tokens) == text
    (chosen,) = [t for t in tokens if t["token"] == verdict["score"]]
    assert {alt["token"] for alt in chosen["top_logprobs"]} == {"bad", "ok", "good"}
    assert data["usage"]["completion_tokens"] == len(tokens) and data["usage"]["prompt_tokens"] > 0
    again = json.loads(_post(server.url, body)[2])
    assert (again["choices"], again["usage"]) == (data["choices"], data["usage"])  # deterministic


def test_without_a_schema_the_prompt_says_what_to_answer(server: FakeOpenAIServer) -> None:
    winner = json.loads(_post(server.url, _body('Answer: {"winner": "A" | "B" | "tie", "rationale": "..."}'))[2])
    ranking = json.loads(_post(server.url, _body('Answer: {"ranking": [1, 2, 3, 4] reordered}'))[2])

    assert json.loads(winner["choices"][0]["message"]["content"]) == {
        "winner": "A",
        "rationale": "Fixed text from the fake server, which judges nothing.",
    }
    assert sorted(json.loads(ranking["choices"][0]["message"]["content"])["ranking"]) == [1, 2, 3, 4]
    assert winner["choices"][0]["logprobs"] is None


def test_fault_markers_apply_in_turn_per_prompt() -> None:
    prompt = "x #fault:429x1@0.5 #fault:dropx2 #fault:500"
    assert [pick_fault(prompt, n) for n in (1, 2, 3, 4, 5)] == [
        ("429", 0.5),
        ("drop", None),
        ("drop", None),
        ("500", None),
        ("500", None),
    ]
    assert pick_fault("#fault:garbagex1", 2) is None
    assert pick_fault("no marker", 1) is None


def test_statuses_headers_and_counts(make_server: Any) -> None:
    server = make_server(require_key="sk-test-right-0000", retry_after="7")
    assert _post(server.url, _body("hello"), key="sk-test-wrong-1111")[0] == 401
    key = "sk-test-right-0000"
    status, headers, _ = _post(server.url, _body("a #fault:429x1"), key=key)
    assert status == 429 and headers["Retry-After"] == "7"
    assert _post(server.url, _body("a #fault:429x1"), key=key)[0] == 200
    status, _, raw = _post(server.url, _body("b #fault:malformed"), key=key)
    assert status == 200 and not raw.startswith(b"{")
    assert _post(server.url, _body("c #fault:404"), key=key)[0] == 404

    stats = server.stats(prompts=True)
    assert stats["total"] == 5 and stats["distinct_prompts"] == 4
    assert stats["statuses"] == {"401": 1, "429": 1, "200": 2, "404": 1}
    assert stats["prompts"]["a #fault:429x1"]["count"] == 2
    assert server.count("#fault:") == 4
    server.reset()
    assert server.stats()["total"] == 0


def test_runs_as_a_subprocess_with_latency() -> None:
    cmd = [sys.executable, "-m", "jurist.testing.fake_openai_server", "--port", "0", "--latency-ms", "150"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:") and url.endswith("/v1")
        start = time.perf_counter()
        assert _post(url, _body('"score": "1" | "2"'))[0] == 200
        assert time.perf_counter() - start >= 0.15
    finally:
        proc.terminate()
        code = proc.wait(10)
    assert code == 0
    assert proc.stderr is not None and "Traceback" not in proc.stderr.read()


@pytest.mark.parametrize("kind", ["drop", "slow@0.5"])
def test_drop_and_slow_give_no_timely_answer(server: FakeOpenAIServer, kind: str) -> None:
    request = urllib.request.Request(
        f"{server.url}/chat/completions",
        data=json.dumps(_body(f"#fault:{kind}")).encode(),
        headers={"Content-Type": "application/json"},
    )
    with pytest.raises((urllib.error.URLError, ConnectionError, TimeoutError)):
        urllib.request.urlopen(request, timeout=0.3).read()
