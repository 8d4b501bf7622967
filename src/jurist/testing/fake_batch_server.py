"""Loopback fakes of the providers' batch APIs, for tests: OpenAI's Batch API (/v1/files, /v1/batches) and
Anthropic's Message Batches (/v1/messages/batches), plus Anthropic's online /v1/messages, on the fake
OpenAI-compatible server (which keeps its /v1/chat/completions). Every answer is the fake server's deterministic
one, so a batch and the online path answer a request alike. Nothing here judges anything.

A batch stays in progress for `polls` status polls, then ends. Markers in a request's prompt make that request
fail inside the batch: `#batch:errored`, `#batch:expired`, `#batch:canceled`. `reject_models` are refused by the
OpenAI batch endpoint (the batch ends "failed" with errors); `expire=True` ends every batch expired with only its
first half answered. `flaky=True` fails each marked request in its first batch only; the first `poll_errors`
status polls get a 500. `counts` holds the calls made (uploads, creates, polls, downloads) per API.
"""

from __future__ import annotations

import itertools
import json
from collections import Counter
from collections.abc import Collection
from typing import Any

from aiohttp import web

from .fake_openai_server import FakeOpenAIServer, _prompt_of, answer_text, completion

_MARKERS = ("errored", "expired", "canceled")


class BatchState:
    """The fake batch APIs' options, stored files and batches, and counters."""

    def __init__(
        self,
        *,
        polls: int = 2,
        reject_models: Collection[str] = (),
        expire: bool = False,
        flaky: bool = False,
        poll_errors: int = 0,
    ) -> None:
        self.polls = polls
        self.reject_models = set(reject_models)
        self.expire = expire
        self.flaky = flaky
        self.poll_errors = poll_errors
        self.failed_once: set[str] = set()
        self.files: dict[str, bytes] = {}
        self.batches: dict[str, dict[str, Any]] = {}
        self.counts: Counter[str] = Counter()
        self._ids = itertools.count(1)

    def new_id(self, prefix: str) -> str:
        return f"{prefix}_{next(self._ids):06d}"


def _marker(prompt: str) -> str | None:
    return next((m for m in _MARKERS if f"#batch:{m}" in prompt), None)


def _fails(state: BatchState, custom_id: str, prompt: str) -> str | None:
    """How the request fails in this batch (a marker), or None; a flaky server fails each request once only."""
    marker = _marker(prompt)
    if marker is None or (state.flaky and custom_id in state.failed_once):
        return None
    state.failed_once.add(custom_id)
    return marker


def _poll_error(state: BatchState) -> web.Response | None:
    """A 500 for the first `poll_errors` status polls: polling must ride out a server's bad moments."""
    if state.poll_errors > 0:
        state.poll_errors -= 1
        state.counts["poll_error"] += 1
        return web.json_response({"error": {"message": "fake overloaded"}}, status=500)
    return None


def _anthropic_message(params: dict[str, Any]) -> dict[str, Any]:
    """A Messages-API reply with the fake server's answer to `params` (system and messages as one prompt)."""
    messages = ([{"content": params["system"]}] if params.get("system") else []) + list(params.get("messages", []))
    prompt = _prompt_of(messages)
    text, _, _ = answer_text({}, prompt)
    return {
        "id": "msg_fake",
        "type": "message",
        "role": "assistant",
        "model": params.get("model"),
        "content": [{"type": "text", "text": text}],
        "stop_reason": "end_turn",
        "usage": {"input_tokens": max(1, len(prompt) // 4), "output_tokens": max(1, len(text) // 4)},
    }


class FakeBatchServer(FakeOpenAIServer):
    """The fake OpenAI-compatible server with both batch APIs. OpenAI clients use `url` (ending in /v1),
    Anthropic clients `root`."""

    def __init__(
        self,
        *,
        polls: int = 2,
        reject_models: Collection[str] = (),
        expire: bool = False,
        flaky: bool = False,
        poll_errors: int = 0,
        **options: Any,
    ) -> None:
        super().__init__(**options)
        self.batch = BatchState(
            polls=polls, reject_models=reject_models, expire=expire, flaky=flaky, poll_errors=poll_errors
        )

    def build_app(self) -> web.Application:
        app = super().build_app()
        app.router.add_post("/v1/files", self._upload)
        app.router.add_get("/v1/files/{id}/content", self._file_content)
        app.router.add_post("/v1/batches", self._openai_create)
        app.router.add_get("/v1/batches/{id}", self._openai_get)
        app.router.add_post("/v1/messages", self._messages)
        app.router.add_post("/v1/messages/batches", self._anthropic_create)
        app.router.add_get("/v1/messages/batches/{id}", self._anthropic_get)
        app.router.add_get("/v1/messages/batches/{id}/results", self._anthropic_results)
        return app

    # -- OpenAI ---------------------------------------------------------------------------------------

    async def _upload(self, request: web.Request) -> web.Response:
        form = await request.post()
        upload = form.get("file")
        if form.get("purpose") != "batch" or not isinstance(upload, web.FileField):
            return web.json_response({"error": {"message": "purpose=batch and a file are required"}}, status=400)
        data = upload.file.read()
        file_id = self.batch.new_id("file")
        self.batch.files[file_id] = data
        self.batch.counts["openai_upload"] += 1
        return web.json_response({"id": file_id, "object": "file", "purpose": "batch", "bytes": len(data)})

    async def _file_content(self, request: web.Request) -> web.Response:
        self.batch.counts["openai_download"] += 1
        data = self.batch.files.get(request.match_info["id"])
        if data is None:
            return web.json_response({"error": {"message": "no such file"}}, status=404)
        return web.Response(body=data, content_type="application/jsonl")

    async def _openai_create(self, request: web.Request) -> web.Response:
        body = await request.json()
        lines = self.batch.files.get(body.get("input_file_id", ""))
        if lines is None or body.get("endpoint") != "/v1/chat/completions" or body.get("completion_window") != "24h":
            return web.json_response({"error": {"message": "bad batch request"}}, status=400)
        self.batch.counts["openai_create"] += 1
        requests = [json.loads(line) for line in lines.splitlines() if line.strip()]
        batch_id = self.batch.new_id("batch")
        self.batch.batches[batch_id] = {"kind": "openai", "requests": requests, "polls": 0, "view": None}
        return web.json_response(self._openai_view(batch_id))

    async def _openai_get(self, request: web.Request) -> web.Response:
        batch_id = request.match_info["id"]
        if batch_id not in self.batch.batches:
            return web.json_response({"error": {"message": "no such batch"}}, status=404)
        error = _poll_error(self.batch)
        if error is not None:
            return error
        self.batch.counts["openai_poll"] += 1
        self.batch.batches[batch_id]["polls"] += 1
        return web.json_response(self._openai_view(batch_id))

    def _openai_view(self, batch_id: str) -> dict[str, Any]:
        batch = self.batch.batches[batch_id]
        if batch["view"] is not None:
            return {**batch["view"]}
        requests = batch["requests"]
        view: dict[str, Any] = {"id": batch_id, "object": "batch", "endpoint": "/v1/chat/completions"}
        models = {r["body"].get("model") for r in requests}
        if batch["polls"] == 0:
            return {**view, "status": "validating", "request_counts": {"total": 0, "completed": 0, "failed": 0}}
        if models & self.batch.reject_models:
            model = sorted(models & self.batch.reject_models)[0]
            refused = {"code": "model_not_found", "message": f"The model {model} does not support batch."}
            failed = {**view, "status": "failed", "errors": {"data": [refused]}}
            batch["view"] = failed
            return {**failed}
        if batch["polls"] <= self.batch.polls:
            total = len(requests)
            return {**view, "status": "in_progress", "request_counts": {"total": total, "completed": 0, "failed": 0}}
        answered = requests[: len(requests) // 2] if self.batch.expire else requests
        out: list[dict[str, Any]] = []
        errors: list[dict[str, Any]] = []
        for r in answered:
            prompt = _prompt_of(r["body"]["messages"])
            marker = _fails(self.batch, r["custom_id"], prompt)
            if marker == "expired":
                errors.append(
                    {
                        "custom_id": r["custom_id"],
                        "response": None,
                        "error": {
                            "code": "batch_expired",
                            "message": "This request could not be executed before the completion window expired.",
                        },
                    }
                )
            elif marker is not None:
                body = {"error": {"message": f"fake {marker} request", "type": "invalid_request_error"}}
                errors.append(
                    {"custom_id": r["custom_id"], "response": {"status_code": 400, "body": body}, "error": None}
                )
            else:
                answer = completion(r["body"], prompt)
                out.append(
                    {"custom_id": r["custom_id"], "response": {"status_code": 200, "body": answer}, "error": None}
                )
        view.update(
            status="expired" if self.batch.expire else "completed",
            request_counts={"total": len(requests), "completed": len(out), "failed": len(errors)},
        )
        for name, records in (("output_file_id", out), ("error_file_id", errors)):
            if records:
                file_id = self.batch.new_id("file")
                self.batch.files[file_id] = b"".join(json.dumps(x).encode() + b"\n" for x in records)
                view[name] = file_id
        batch["view"] = view
        return dict(view)

    # -- Anthropic ------------------------------------------------------------------------------------

    async def _messages(self, request: web.Request) -> web.Response:
        self.batch.counts["anthropic_online"] += 1
        return web.json_response(_anthropic_message(await request.json()))

    async def _anthropic_create(self, request: web.Request) -> web.Response:
        body = await request.json()
        requests = body.get("requests")
        if not isinstance(requests, list) or not requests:
            return web.json_response({"error": {"message": "requests: a non-empty list is required"}}, status=400)
        self.batch.counts["anthropic_create"] += 1
        batch_id = self.batch.new_id("msgbatch")
        self.batch.batches[batch_id] = {"kind": "anthropic", "requests": requests, "polls": 0}
        return web.json_response(self._anthropic_view(batch_id, request))

    async def _anthropic_get(self, request: web.Request) -> web.Response:
        batch_id = request.match_info["id"]
        if batch_id not in self.batch.batches:
            return web.json_response({"error": {"message": "no such batch"}}, status=404)
        error = _poll_error(self.batch)
        if error is not None:
            return error
        self.batch.counts["anthropic_poll"] += 1
        self.batch.batches[batch_id]["polls"] += 1
        return web.json_response(self._anthropic_view(batch_id, request))

    def _anthropic_view(self, batch_id: str, request: web.Request) -> dict[str, Any]:
        batch = self.batch.batches[batch_id]
        ended = batch["polls"] > self.batch.polls
        n = len(batch["requests"])
        counts = {
            "processing": 0 if ended else n,
            "succeeded": n if ended else 0,
            "errored": 0,
            "canceled": 0,
            "expired": 0,
        }
        return {
            "id": batch_id,
            "type": "message_batch",
            "processing_status": "ended" if ended else "in_progress",
            "request_counts": counts,
            "results_url": f"{self.root}/v1/messages/batches/{batch_id}/results" if ended else None,
        }

    async def _anthropic_results(self, request: web.Request) -> web.Response:
        batch = self.batch.batches.get(request.match_info["id"])
        if batch is None or batch["polls"] <= self.batch.polls:
            return web.json_response({"error": {"message": "the batch has not ended"}}, status=404)
        self.batch.counts["anthropic_download"] += 1
        lines = []
        for i, r in enumerate(batch["requests"]):
            params = r["params"]
            messages = ([{"content": params["system"]}] if params.get("system") else []) + params["messages"]
            marker = _fails(self.batch, r["custom_id"], _prompt_of(messages))
            if self.batch.expire and i >= len(batch["requests"]) // 2:
                marker = "expired"
            if marker == "errored":
                error = {"type": "error", "error": {"type": "invalid_request_error", "message": "fake errored request"}}
                result: dict[str, Any] = {"type": "errored", "error": error}
            elif marker is not None:
                result = {"type": marker}
            else:
                result = {"type": "succeeded", "message": _anthropic_message(params)}
            lines.append(json.dumps({"custom_id": r["custom_id"], "result": result}))
        return web.Response(text="\n".join(lines) + "\n", content_type="application/binary")
