"""A fake OpenAI-compatible chat-completions server, for jurist's tests and benchmarks only.

It judges nothing. Every answer is a fixed, deterministic verdict shaped after what the request asks for,
so that tests and benchmarks can drive jurist's whole HTTP path (retries, timeouts, resume, throughput)
without a model or a network.

Endpoints (under the base URL, which ends in /v1):
  POST /v1/chat/completions   a chat completion with `usage`; with "logprobs": true also
                              `choices[0].logprobs.content` (token, logprob, top_logprobs), whose tokens
                              concatenate to the answer text
  GET  /v1/models             one model, "fake-model"
  GET  /stats                 {"total", "statuses", "faults", "distinct_prompts", "queries"} ("faults" counts
                              markers by kind, and rejected features as "reject:FEATURE"); with ?prompts=1 also
                              "prompts": {PROMPT: {"count": N, "times": [monotonic seconds, ...]}}
  POST /stats/reset           forget all counts

The answer. "The prompt" is the contents of all messages joined by newlines. The verdict follows the
request's response_format JSON schema when there is one, else the answer format the prompt states:
  "winner"   -> {"winner": "A", "rationale": "..."}      (always A: a judge with a strong position bias)
  "score"    -> {"score": LABEL, ...}  LABEL from the schema's enum (or the prompt's "score": "1" | "2" ...),
                                       picked by a hash of the prompt, so it is stable but varies by item
  "ranking"  -> {"ranking": [..], ...} a rotation of 1..k, picked by a hash of the prompt
  MT-Bench text formats: "[[A]]" -> "... my final verdict is: [[A]]", "[[rating]]" -> "Rating: [[5]]".
  Prometheus' text format: "[RESULT]" -> "Feedback: ... [RESULT] N", N in 1-5 picked by a hash of the prompt.
  Anything else: a fixed sentence; sampled (temperature > 0 with a seed), one that names the seed.
Fields come in the order the schema (or the prompt) names them; "rationale" is filled only when asked for.
With logprobs, the verdict's token has probability 0.7 and the other labels share the rest.

Faults are chosen by markers in the prompt text, so they are deterministic however many requests are in
flight:

    #fault:KIND[xN][@SECONDS]

  KIND      a three-digit HTTP status (429, 500, 503, 401, 404, 400, ...) answered with an OpenAI-style
            error body (429 and 503 carry a Retry-After header; 401 echoes the presented key, as some
            servers do, to check that clients keep it out of their messages), or
            slow       sleep SECONDS (default: the server's slow_s) before answering normally
            drop       close the connection without an answer
            malformed  200 with a body that is not JSON
            garbage    a valid completion whose text holds no verdict
            echo-auth  a valid completion whose text repeats the Authorization header it got, as a careless
                       proxy might (clients must keep the key out of what they store)
            huge       200 with a JSON body of @ mebibytes (default 40), sent in chunks without a
                       Content-Length, to check that clients cap what they read
          Replies of the wrong shape, each with status 200:
            shape-content-number  choices[0].message.content is the number 42
            shape-usage-string    "usage" is the string "lots"
            shape-no-choices      "choices" is an empty list
            shape-list            the body is a JSON list (of one completion)
            shape-html            an HTML page, served as text/html
            shape-empty           an empty body
  xN        only the first N requests carrying this exact prompt get the fault; without it, every one does
  @SECONDS  Retry-After for 429/503 (default: the server's retry_after), the sleep of `slow`, or the size
            of `huge` in MiB

Server options (not markers, since a real server answers every request the same way):
  reject=("json_schema", "json_object", "logprobs", "seed")  reject requests that use these features, with
      reject_status 400 (an OpenAI-style error naming the parameter), 422 (a FastAPI validation error) or 500
      (llama-cpp-python's server: the validation error's text as an internal server error)
  require_key / require_auth  answer 401 unless the Authorization header is "Bearer KEY" / exactly this value
"queries" counts the query strings requests came with, so tests can see that a base URL's ?api-version=... is
sent.

Several markers apply one after the other: "#fault:429x1 #fault:dropx1" answers the first request of that
prompt with a 429, the second by dropping the connection, and the third normally. Requests are counted
per prompt as they arrive, faulted or not, so tests can check that an item was not sent again.

In-process (tests): `with FakeOpenAIServer(latency_ms=0) as server: server.url` runs it on 127.0.0.1 on a
free port, in a background thread with its own event loop. As a pytest fixture:

    @pytest.fixture
    def fake_server():
        with FakeOpenAIServer() as server:
            yield server

As a subprocess (benchmarks): `python -m jurist.testing.fake_openai_server --port 0 --latency-ms 100`
prints its base URL on stdout once it accepts connections, and runs until SIGTERM or SIGINT.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import json
import math
import re
import signal
import socket
import sys
import threading
import time
import urllib.request
import zlib
from collections import Counter
from collections.abc import Collection
from typing import Any

from aiohttp import web

__all__ = ["FakeOpenAIServer", "ServerState", "build_app", "fetch_stats", "start_fake_server"]

FAULT_MARKER = "#fault:"
_FAULT = re.compile(
    r"#fault:(\d{3}|slow|drop|malformed|garbage|echo-auth|huge"
    r"|shape-(?:content-number|usage-string|no-choices|list|html|empty))(?:x(\d+))?(?:@(\d+(?:\.\d+)?))?"
)
_TOKEN = re.compile(r"\s?\w+|[^\w\s]+|\s+")
_PROMPT_LABELS = {
    "winner": re.compile(r'"winner": ((?:"[^"]*"(?: \| )?)+)'),
    "score": re.compile(r'"score": ((?:"[^"]*"(?: \| )?)+)'),
}
_PROMPT_RANKING = re.compile(r'"ranking": \[([\d, ]+)\]')
_QUOTED = re.compile(r'"([^"]*)"')

RATIONALE = "Fixed text from the fake server, which judges nothing."
GARBAGE = "Sorry, I would rather talk about the weather today."
MALFORMED = b"<html><body>502 Bad Gateway (this body is not JSON)</body></html>"
HTML_PAGE = "<!doctype html><html><head><title>Sign in</title></head><body>Please sign in.</body></html>"
HUGE_DEFAULT_MIB = 40.0
VERDICT_PROB = 0.7
STATE_KEY: web.AppKey[ServerState] = web.AppKey("fake_state")


class ServerState:
    """Options and counters of one fake server."""

    def __init__(
        self,
        *,
        latency_ms: float = 0.0,
        slow_s: float = 5.0,
        retry_after: str = "1",
        require_key: str | None = None,
        require_auth: str | None = None,
        reject: Collection[str] = (),
        reject_status: int = 400,
    ) -> None:
        self.latency_s = latency_ms / 1000.0
        self.slow_s = slow_s
        self.retry_after = retry_after
        self.require_auth = f"Bearer {require_key}" if require_key is not None else require_auth
        self.reject = set(reject)
        self.reject_status = reject_status
        self.reset()

    def reset(self) -> None:
        self.total = 0
        self.counts: dict[str, int] = {}
        self.times: dict[str, list[float]] = {}
        self.statuses: Counter[str] = Counter()
        self.faults: Counter[str] = Counter()
        self.queries: Counter[str] = Counter()

    def arrive(self, prompt: str) -> int:
        """Count a request; returns how many requests (this one included) carried this prompt."""
        self.total += 1
        n = self.counts.get(prompt, 0) + 1
        self.counts[prompt] = n
        if n == 1:
            self.times[prompt] = [time.monotonic()]
        else:
            self.times[prompt].append(time.monotonic())
        return n

    def snapshot(self, prompts: bool = False) -> dict[str, Any]:
        out: dict[str, Any] = {
            "total": self.total,
            "statuses": dict(self.statuses),
            "faults": dict(self.faults),
            "distinct_prompts": len(self.counts),
            "queries": dict(self.queries),
        }
        if prompts:
            out["prompts"] = {p: {"count": n, "times": self.times[p]} for p, n in self.counts.items()}
        return out


# -- faults ---------------------------------------------------------------------------------------------


def pick_fault(prompt: str, n: int) -> tuple[str, float | None] | None:
    """The fault for the n-th request (1-based) carrying `prompt`, as (kind, @argument), or None."""
    for m in _FAULT.finditer(prompt):
        kind, times, arg = m.group(1), m.group(2), m.group(3)
        value = float(arg) if arg is not None else None
        if times is None:
            return kind, value
        if n <= int(times):
            return kind, value
        n -= int(times)
    return None


def _error(status: int, message: str, kind: str, headers: dict[str, str] | None = None) -> web.Response:
    body = json.dumps({"error": {"message": message, "type": kind, "param": None, "code": None}})
    return web.Response(status=status, text=body, content_type="application/json", headers=headers)


def _status_error(state: ServerState, status: int, arg: float | None, request: web.Request, model: str) -> web.Response:
    if status == 401:
        presented = request.headers.get("Authorization", "").removeprefix("Bearer ")
        return _error(401, f"Incorrect API key provided: {presented}.", "invalid_request_error")
    if status == 404:
        return _error(404, f"The model `{model}` does not exist or you do not have access to it.", "not_found")
    headers = None
    if status in (429, 503):
        headers = {"Retry-After": f"{arg:g}" if arg is not None else state.retry_after}
    message = "Rate limit reached, slow down." if status == 429 else f"Fake fault: HTTP {status}."
    return _error(status, message, "fake_fault", headers)


def _rejection(state: ServerState, body: dict[str, Any]) -> tuple[str, web.Response] | None:
    """(feature, error) when the request uses a feature this server rejects, answered in its reject style."""
    fmt = body.get("response_format")
    fmt_type = fmt.get("type") if isinstance(fmt, dict) else None
    used = {
        "json_schema": fmt_type == "json_schema",
        "json_object": fmt_type == "json_object",
        "logprobs": bool(body.get("logprobs")),
        "seed": "seed" in body,
    }
    feature = next((f for f, on in used.items() if on and f in state.reject), None)
    if feature is None:
        return None
    param = "response_format" if feature.startswith("json_") else feature
    loc = ["body", param, "type"] if param == "response_format" else ["body", param]
    value = fmt_type if param == "response_format" else body.get(param)
    detail = {"type": "unsupported", "loc": loc, "msg": f"{param} {value!r} is not supported here", "input": value}
    status = state.reject_status
    if status == 422:  # FastAPI's request validation
        return feature, web.json_response({"detail": [detail]}, status=422)
    if status == 500:  # llama-cpp-python's server: the validation error's text as an internal error
        detail["loc"] = tuple(loc)
        return feature, _error(500, str([detail]), "internal_server_error")
    return feature, _error(status, f"Unsupported parameter: '{param}' ({value!r}) is not supported.", "invalid_request")


# -- answers --------------------------------------------------------------------------------------------


def _pick(labels: list[str], prompt: str) -> str:
    return labels[zlib.crc32(prompt.encode()) % len(labels)]


def _verdict_object(body: dict[str, Any], prompt: str) -> tuple[dict[str, Any], str, list[str]] | None:
    """The JSON verdict asked for, the name of its verdict field, and the labels that field may take."""
    schema = None
    fmt = body.get("response_format")
    if isinstance(fmt, dict) and isinstance(fmt.get("json_schema"), dict):
        schema = fmt["json_schema"].get("schema")
    if isinstance(schema, dict) and isinstance(schema.get("properties"), dict):
        names = list(schema["properties"])
        props = schema["properties"]
    else:
        found = [(prompt.rfind(f'"{name}"'), name) for name in ("rationale", "winner", "score", "ranking")]
        names = [name for at, name in sorted(found) if at != -1]
        props = {}
    obj: dict[str, Any] = {}
    field, labels = "", []
    for name in names:
        spec = props.get(name) or {}
        if name == "rationale":
            obj[name] = RATIONALE
        elif name in ("winner", "score"):
            labels = [str(x) for x in spec.get("enum") or []] or _labels_in_prompt(name, prompt)
            obj[name] = ("A" if "A" in labels else labels[0]) if name == "winner" else _pick(labels, prompt)
            field = name
        elif name == "ranking":
            k = int(spec.get("maxItems") or (spec.get("items") or {}).get("maximum") or _k_in_prompt(prompt))
            shift = zlib.crc32(prompt.encode()) % k
            obj[name] = [(i + shift) % k + 1 for i in range(k)]
            labels = [str(i) for i in range(1, k + 1)]
            field = name
        elif spec:
            defaults: dict[str, Any] = {"integer": 0, "number": 0, "boolean": False, "array": []}
            obj[name] = defaults.get(str(spec.get("type")), "fake")
    return (obj, field, labels) if field else None


def _labels_in_prompt(name: str, prompt: str) -> list[str]:
    m = _PROMPT_LABELS[name].search(prompt)
    if m:
        return _QUOTED.findall(m.group(1))
    return ["A", "B", "tie"] if name == "winner" else ["1", "2", "3", "4", "5"]


def _k_in_prompt(prompt: str) -> int:
    m = _PROMPT_RANKING.search(prompt)
    return len(m.group(1).split(",")) if m else 2


def answer_text(body: dict[str, Any], prompt: str) -> tuple[str, int | None, list[str]]:
    """The answer, the character offset of its verdict label (None if none), and the labels it was chosen from."""
    found = _verdict_object(body, prompt)
    if found is not None:
        obj, field, labels = found
        text = json.dumps(obj)
        at = text.index(f'"{field}": ') + len(field) + 5  # past `"field": "` or `"field": [`
        return text, at, labels
    if "[[A]]" in prompt:
        text = "Both answers were read. My final verdict is: [[A]]"
        return text, len(text) - 3, ["A", "B", "C"]
    if "[[rating]]" in prompt:
        text = "The answer is adequate. Rating: [[5]]"
        return text, len(text) - 3, [str(i) for i in range(1, 11)]
    if "[RESULT]" in prompt:  # Prometheus' format (peer libraries in bench/peers judge with it)
        labels = [str(i) for i in range(1, 6)]
        text = f"Feedback: the answer is adequate. [RESULT] {_pick(labels, prompt)}"
        return text, len(text) - 1, labels
    if body.get("temperature") and "seed" in body:  # a sampled answer (a policy's): each seed gives its own
        return f"I have nothing to judge here (sample seed {body['seed']}).", None, []
    return "I have nothing to judge here.", None, []


def _logprobs(text: str, verdict_at: int | None, labels: list[str], top_n: int) -> dict[str, Any]:
    content: list[dict[str, Any]] = []
    position = 0
    for token in _TOKEN.findall(text):
        if position == verdict_at and token in labels:
            others = [lab for lab in labels if lab != token]
            rest = math.log((1 - VERDICT_PROB) / len(others)) if others else 0.0
            chosen = math.log(VERDICT_PROB) if others else 0.0
            top = [{"token": token, "logprob": chosen}] + [{"token": lab, "logprob": rest} for lab in others]
            content.append({"token": token, "logprob": chosen, "top_logprobs": top[: max(top_n, 1)]})
        else:
            content.append({"token": token, "logprob": -0.01, "top_logprobs": [{"token": token, "logprob": -0.01}]})
        position += len(token)
    return {"content": content}


@functools.lru_cache(maxsize=4096)
def _choices_json(
    text: str, verdict_at: int | None, labels: tuple[str, ...], top_n: int, logprobs: bool
) -> tuple[str, int]:
    """The serialised "choices" list, the same for every prompt given this answer, and its length in tokens.

    Kept: serialising the logprobs is most of the cost of an answer."""
    content = _logprobs(text, verdict_at, list(labels), top_n) if logprobs else None
    choice = {
        "index": 0,
        "message": {"role": "assistant", "content": text},
        "logprobs": content,
        "finish_reason": "stop",
    }
    tokens = len(content["content"]) if content else max(1, len(text) // 4)
    return json.dumps([choice]), tokens


def completion_json(body: dict[str, Any], prompt: str, text: str | None = None, serial: int = 0) -> bytes:
    """A chat-completion object answering `body` (with `text` instead of the default verdict when given)."""
    if text is None:
        text, verdict_at, labels = answer_text(body, prompt)
    else:
        verdict_at, labels = None, []
    top_n = int(body.get("top_logprobs") or 0)
    choices, completion_tokens = _choices_json(text, verdict_at, tuple(labels), top_n, bool(body.get("logprobs")))
    prompt_tokens = max(1, len(prompt) // 4)
    head = json.dumps(
        {
            "id": f"chatcmpl-fake-{serial}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": str(body.get("model", "fake-model")),
            "system_fingerprint": "fake",
        }
    )
    usage = (
        f'{{"prompt_tokens": {prompt_tokens}, "completion_tokens": {completion_tokens}, '
        f'"total_tokens": {prompt_tokens + completion_tokens}}}'
    )
    return f'{head[:-1]}, "choices": {choices}, "usage": {usage}}}'.encode()


def completion(body: dict[str, Any], prompt: str, text: str | None = None, serial: int = 0) -> dict[str, Any]:
    """completion_json(), parsed."""
    data: dict[str, Any] = json.loads(completion_json(body, prompt, text, serial))
    return data


def _answer(body: dict[str, Any], prompt: str, serial: int, text: str | None = None) -> web.Response:
    return web.Response(body=completion_json(body, prompt, text, serial), content_type="application/json")


def _prompt_of(messages: list[dict[str, Any]]) -> str:
    parts = []
    for m in messages:
        content = m.get("content") or ""
        if isinstance(content, list):  # content parts
            content = "".join(p.get("text", "") for p in content if isinstance(p, dict))
        parts.append(str(content))
    return "\n".join(parts)


# -- handlers -------------------------------------------------------------------------------------------


async def _chat_completions(request: web.Request) -> web.StreamResponse:
    state = request.app[STATE_KEY]
    try:
        body = json.loads(await request.read())
        prompt = _prompt_of(body["messages"])
        model = str(body["model"])
    except (ValueError, KeyError, TypeError, AttributeError):
        state.total += 1
        state.statuses["400"] += 1
        return _error(400, "Invalid request: a JSON body with 'model' and 'messages' is required.", "invalid_request")
    n = state.arrive(prompt)
    state.queries[request.query_string] += 1
    if state.latency_s:
        await asyncio.sleep(state.latency_s)
    if state.require_auth is not None and request.headers.get("Authorization") != state.require_auth:
        state.statuses["401"] += 1
        return _status_error(state, 401, None, request, model)
    rejected = _rejection(state, body) if state.reject else None
    if rejected is not None:
        feature, response = rejected
        state.statuses[str(response.status)] += 1
        state.faults[f"reject:{feature}"] += 1
        return response
    fault = pick_fault(prompt, n) if FAULT_MARKER in prompt else None
    if fault is None:
        state.statuses["200"] += 1
        return _answer(body, prompt, state.total)
    kind, arg = fault
    state.faults[kind] += 1
    if kind.isdigit():
        state.statuses[kind] += 1
        return _status_error(state, int(kind), arg, request, model)
    if kind == "slow":
        await asyncio.sleep(arg if arg is not None else state.slow_s)
    elif kind == "drop":
        state.statuses["drop"] += 1
        if request.transport is not None:
            request.transport.abort()
        raise asyncio.CancelledError  # nothing more to send on a connection that is gone
    elif kind == "malformed":
        state.statuses["200"] += 1
        return web.Response(status=200, body=MALFORMED, content_type="application/json")
    elif kind == "garbage":
        state.statuses["200"] += 1
        return _answer(body, prompt, state.total, text=GARBAGE)
    elif kind == "echo-auth":
        state.statuses["200"] += 1
        return _answer(body, prompt, state.total, text=f"You sent: {request.headers.get('Authorization', '')}")
    elif kind == "huge":
        state.statuses["200"] += 1
        return await _huge(request, arg if arg is not None else HUGE_DEFAULT_MIB)
    elif kind.startswith("shape-"):
        state.statuses["200"] += 1
        return _misshapen(kind, body, prompt, state.total)
    state.statuses["200"] += 1
    return _answer(body, prompt, state.total)


def _misshapen(kind: str, body: dict[str, Any], prompt: str, serial: int) -> web.Response:
    """A 200 reply of the wrong shape (see the module docstring)."""
    if kind == "shape-html":
        return web.Response(status=200, text=HTML_PAGE, content_type="text/html")
    if kind == "shape-empty":
        return web.Response(status=200, body=b"", content_type="application/json")
    data: Any = completion(body, prompt, serial=serial)
    if kind == "shape-content-number":
        data["choices"][0]["message"]["content"] = 42
    elif kind == "shape-usage-string":
        data["usage"] = "lots"
    elif kind == "shape-no-choices":
        data["choices"] = []
    elif kind == "shape-list":
        data = [data]
    return web.json_response(data)


async def _huge(request: web.Request, mib: float) -> web.StreamResponse:
    """A JSON completion whose text is `mib` MiB of "a", streamed without a Content-Length."""
    response = web.StreamResponse(status=200, headers={"Content-Type": "application/json"})
    response.enable_chunked_encoding()
    await response.prepare(request)
    chunk = b"a" * (1 << 20)
    with contextlib.suppress(ConnectionError):  # the client may hang up once it has read enough
        await response.write(b'{"choices": [{"message": {"role": "assistant", "content": "')
        for _ in range(math.ceil(mib)):
            await response.write(chunk)
        await response.write(b'"}, "finish_reason": "stop"}]}')
        await response.write_eof()
    return response


async def _models(request: web.Request) -> web.Response:
    return web.json_response(
        {"object": "list", "data": [{"id": "fake-model", "object": "model", "owned_by": "jurist"}]}
    )


async def _stats(request: web.Request) -> web.Response:
    state = request.app[STATE_KEY]
    return web.json_response(state.snapshot(prompts=request.query.get("prompts") in ("1", "true", "yes")))


async def _reset(request: web.Request) -> web.Response:
    request.app[STATE_KEY].reset()
    return web.json_response({"ok": True})


def build_app(state: ServerState | None = None) -> web.Application:
    app = web.Application(client_max_size=64 * 1024 * 1024)
    app[STATE_KEY] = state or ServerState()
    app.router.add_post("/v1/chat/completions", _chat_completions)
    app.router.add_get("/v1/models", _models)
    app.router.add_get("/stats", _stats)
    app.router.add_post("/stats/reset", _reset)
    return app


def _listen(host: str, port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(1024)
    sock.setblocking(False)
    return sock


async def _start(app: web.Application, sock: socket.socket) -> web.AppRunner:
    # No access log (it costs more than the answer), and a short shutdown: slow answers are not waited for.
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
    await runner.setup()
    await web.SockSite(runner, sock, backlog=1024).start()
    return runner


async def _shutdown(runner: web.AppRunner) -> None:
    await runner.cleanup()
    others = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
    for task in others:  # answers still sleeping (#fault:slow, latency)
        task.cancel()
    await asyncio.gather(*others, return_exceptions=True)


# -- in-process -----------------------------------------------------------------------------------------


class FakeOpenAIServer:
    """The fake server on 127.0.0.1, in a background thread with its own event loop.

    `url` is the base URL for `--base-url` (it ends in /v1). Use as a context manager, or call
    start() and stop(). The keyword options but `host` and `port` are ServerState's (latency_ms, slow_s,
    retry_after, require_key, ...), declared there once.
    """

    def __init__(self, *, host: str = "127.0.0.1", port: int = 0, **options: Any) -> None:
        self.state = ServerState(**options)
        self._host, self._port = host, port
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None
        self.root = ""
        self.url = ""

    def start(self) -> str:
        if self._thread is not None:
            return self.url
        sock = _listen(self._host, self._port)
        port = sock.getsockname()[1]
        self.root = f"http://{self._host}:{port}"
        self.url = f"{self.root}/v1"
        loop = asyncio.new_event_loop()
        ready = threading.Event()
        failure: list[BaseException] = []

        def serve() -> None:
            asyncio.set_event_loop(loop)
            try:
                self._runner = loop.run_until_complete(_start(self.build_app(), sock))
            except BaseException as exc:  # reported to the starting thread
                failure.append(exc)
                ready.set()
                return
            ready.set()
            loop.run_forever()
            loop.run_until_complete(_shutdown(self._runner))
            loop.close()

        self._loop = loop
        self._thread = threading.Thread(target=serve, name="fake-openai-server", daemon=True)
        self._thread.start()
        ready.wait(10)
        if failure:
            self._thread = None
            raise RuntimeError(f"fake server failed to start: {failure[0]!r}")
        return self.url

    def build_app(self) -> web.Application:
        """The application served (a subclass adds routes: testing/fake_batch_server.py)."""
        return build_app(self.state)

    def stop(self) -> None:
        if self._thread is None or self._loop is None:
            return
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._thread = None

    def __enter__(self) -> FakeOpenAIServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # Counters are read over HTTP, so they are taken on the server's own loop.
    def stats(self, prompts: bool = False) -> dict[str, Any]:
        return fetch_stats(self.root, prompts=prompts)

    def reset(self) -> None:
        urllib.request.urlopen(urllib.request.Request(f"{self.root}/stats/reset", method="POST"), timeout=10).read()

    def count(self, substring: str) -> int:
        """How many requests carried a prompt containing `substring`."""
        return sum(p["count"] for prompt, p in self.stats(prompts=True)["prompts"].items() if substring in prompt)


def fetch_stats(root: str, *, prompts: bool = False) -> dict[str, Any]:
    """GET /stats of a fake server whose root URL (without /v1) is `root`."""
    url = f"{root.removesuffix('/v1')}/stats" + ("?prompts=1" if prompts else "")
    with urllib.request.urlopen(url, timeout=30) as resp:
        data: dict[str, Any] = json.loads(resp.read())
    return data


def start_fake_server(**options: Any) -> FakeOpenAIServer:
    """Start a FakeOpenAIServer (keyword options as its constructor's); call .stop() when done."""
    server = FakeOpenAIServer(**options)
    server.start()
    return server


# -- subprocess -----------------------------------------------------------------------------------------


async def _serve_forever(state: ServerState, host: str, port: int) -> None:
    sock = _listen(host, port)
    runner = await _start(build_app(state), sock)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    print(f"http://{host}:{sock.getsockname()[1]}/v1", flush=True)
    try:
        await stop.wait()
    finally:
        await _shutdown(runner)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m jurist.testing.fake_openai_server",
        description="A fake OpenAI-compatible server for tests and benchmarks. It judges nothing.",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--latency-ms", type=float, default=0.0, help="fixed delay added to every answer")
    parser.add_argument("--slow-s", type=float, default=5.0, help="sleep of #fault:slow without @SECONDS")
    parser.add_argument("--retry-after", default="1", help="Retry-After of 429/503 faults without @SECONDS")
    parser.add_argument("--require-key", help="answer 401 unless the request carries this bearer key")
    args = parser.parse_args(argv)
    state = ServerState(
        latency_ms=args.latency_ms, slow_s=args.slow_s, retry_after=args.retry_after, require_key=args.require_key
    )
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve_forever(state, args.host, args.port))
    sys.exit(0)


if __name__ == "__main__":
    main()
