"""The providers' batch APIs (`--batch`): OpenAI's Batch API and Anthropic's Message Batches.

`BatchingBackend` wraps an `openai:` or `anthropic:` backend. Its `generate` does not call the model: it records
the request and waits. When no new request has come for a short quiet time (every judge in flight is waiting on
it), the collected requests go out as one batch (several where the provider's limits say so), are polled with
backoff, and their results answer the waiting judges. A strategy of several rounds takes one batch per round.

Crash safety rests on the response cache and a journal in the run directory (RUN/batches.jsonl, appended and
fsynced at each step: file uploaded, batch created with its requests' cache keys, state seen, results downloaded).
Before it submits anything, a session reads the journal: a batch still running is polled (never submitted again),
a finished one downloaded into the response cache; the judges, run again, find there what was answered, and only
what is missing goes into a new batch. A request's `custom_id` is its cache key (64 hex digits: both providers
take it), so results map back to requests without any other state.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
import uuid
from collections.abc import Awaitable, Callable, Iterable
from pathlib import Path
from typing import Any, Literal, Protocol, TypeVar

from pydantic import BaseModel, Field, ValidationError

from ..backends.anthropic import AnthropicBackend, MessagesReply
from ..backends.base import Backend, Capabilities, GenerateRequest, GenerateResponse, Message, cache_identity
from ..backends.openai_compat import ChatCompletionReply, OpenAIBackend
from ..errors import BackendError, ConfigError
from ..files import read_log
from ..secrets import scrub
from .cache import ResponseCache

JOURNAL = "batches.jsonl"
# A batch's results file can be large; judges' answers are small, so this bounds a batch of 100,000 of them.
_MAX_RESULTS_BYTES = 2 * 1024**3
_CONSECUTIVE_POLL_FAILURES = 10
_CALL_ATTEMPTS = 5
_ENVELOPE_BYTES = 1024
T = TypeVar("T")


class BatchOptions(BaseModel):
    """How batches are sent and waited for. None of this changes a verdict."""

    poll_s: float = Field(30.0, ge=0, description="seconds before the first status poll; doubles up to max_poll_s")
    max_poll_s: float = Field(600.0, ge=0)
    quiet_s: float = Field(0.05, ge=0, description="no new request for this long: every judge is waiting")
    max_requests: int | None = Field(None, ge=1, description="requests per batch (default: the provider's limit)")
    max_bytes: int | None = Field(None, ge=2048, description="bytes per batch (default: the provider's limit)")


# -- the journal ------------------------------------------------------------------------------------------


class JournalRecord(BaseModel):
    """One step of one batch. `backend` is the wrapped backend's cache identity (provider, server, model)."""

    event: Literal["uploaded", "created", "state", "downloaded"]
    backend: str
    batch_id: str | None = None
    file_id: str | None = None
    keys: list[str] = Field(default_factory=list)
    state: str | None = None
    counts: dict[str, int] = Field(default_factory=dict)
    prompt_tokens: int = 0
    completion_tokens: int = 0
    at: float = Field(default_factory=time.time)


class BatchInfo(BaseModel):
    """What the journal says of one batch (the run summary lists these)."""

    batch_id: str
    backend: str
    requests: int
    state: str
    downloaded: bool
    succeeded: int = 0
    failed: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0


def read_journal(out: str | Path) -> list[JournalRecord]:
    """The batch journal of the run directory `out` (empty when the run used no batches)."""
    log = read_log(Path(out) / JOURNAL, _parse_record)
    return list(log.records)


def _parse_record(line: bytes) -> JournalRecord:
    try:
        return JournalRecord.model_validate_json(line)
    except ValidationError as exc:
        raise ValueError(str(exc)) from None


def batches(out: str | Path) -> list[BatchInfo]:
    """Every batch the run created, in order, with its last state seen and the tokens of its downloaded results."""
    found: dict[str, BatchInfo] = {}
    for record in read_journal(out):
        if record.batch_id is None:
            continue
        if record.event == "created":
            found[record.batch_id] = BatchInfo(
                batch_id=record.batch_id,
                backend=record.backend,
                requests=len(record.keys),
                state="created",
                downloaded=False,
            )
        info = found.get(record.batch_id)
        if info is None:
            continue
        if record.event == "state" and record.state:
            info.state = record.state
        elif record.event == "downloaded":
            info.downloaded = True
            info.succeeded = record.counts.get("succeeded", 0)
            info.failed = record.counts.get("failed", 0)
            info.prompt_tokens, info.completion_tokens = record.prompt_tokens, record.completion_tokens
    return list(found.values())


class Journal:
    """Appends records to RUN/batches.jsonl, each written whole and fsynced before the next step."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def records(self) -> list[JournalRecord]:
        return read_journal(self.path.parent)

    def append(self, record: JournalRecord) -> None:
        line = record.model_dump_json().encode() + b"\n"
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, line)
            os.fsync(fd)
        finally:
            os.close(fd)


# -- the providers' wire formats ---------------------------------------------------------------------------

Outcome = GenerateResponse | BackendError


class BatchStatus(BaseModel):
    state: str
    done: bool
    counts: dict[str, int] = Field(default_factory=dict)
    # the whole batch was refused (OpenAI: status failed with errors, e.g. a model the endpoint does not take)
    rejected: str | None = None


class Provider(Protocol):
    """One provider's batch API over the wrapped backend's HTTP client and request/response mapping."""

    max_requests: int
    max_bytes: int

    def line(self, key: str, request: GenerateRequest) -> bytes: ...

    async def submit(self, lines: list[bytes], journal: Journal, identity: str) -> str:
        """Send the batch of `lines` (journaling any step before the create call); its id."""
        ...

    async def status(self, batch_id: str) -> BatchStatus: ...

    async def results(self, batch_id: str) -> dict[str, Outcome]:
        """Each request's outcome by custom_id; under "*", that of every request without a line of its own."""
        ...


def _item_error(kind: str, detail: str) -> BackendError:
    """A request the batch did not answer: recorded on its item, and retried by the next run (not cached)."""
    return BackendError(scrub(f"batch item {kind}: {detail}"), retryable=True, reason=f"batch_{kind}")


def _message_of(error: Any) -> str:
    """The deepest `message` of a provider's error object, else the object itself."""
    while isinstance(error, dict):
        if isinstance(error.get("message"), str):
            return str(error["message"])
        error = error.get("error")
    return json.dumps(error) if error is not None else "no reason given"


def _jsonl(raw: bytes) -> Iterable[dict[str, Any]]:
    for line in raw.splitlines():
        if line.strip():
            try:
                record = json.loads(line)
            except ValueError:
                continue  # a line that is not JSON answers nothing: its request stays unanswered
            if isinstance(record, dict):
                yield record


class _OpenAIFile(BaseModel):
    id: str


class _OpenAIBatch(BaseModel):
    id: str
    status: str
    output_file_id: str | None = None
    error_file_id: str | None = None
    request_counts: dict[str, int] | None = None
    errors: dict[str, Any] | None = None


class OpenAIBatches:
    """OpenAI's Batch API: a JSONL file uploaded to /files (purpose batch), a batch created on it at /batches
    (endpoint /v1/chat/completions, completion window 24h), polled, and its output and error files read."""

    max_requests = 50_000
    max_bytes = 200 * 1024**2
    _DONE = frozenset({"completed", "failed", "expired", "cancelled"})

    def __init__(self, backend: OpenAIBackend) -> None:
        self.backend = backend

    def line(self, key: str, request: GenerateRequest) -> bytes:
        body = self.backend.body(request)
        record = {"custom_id": key, "method": "POST", "url": "/v1/chat/completions", "body": body}
        return json.dumps(record).encode() + b"\n"

    async def submit(self, lines: list[bytes], journal: Journal, identity: str) -> str:
        boundary = f"jurist-{uuid.uuid4().hex}"
        form = (
            f'--{boundary}\r\nContent-Disposition: form-data; name="purpose"\r\n\r\nbatch\r\n'
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="batch.jsonl"\r\n'
            "Content-Type: application/jsonl\r\n\r\n"
        ).encode()
        body = form + b"".join(lines) + f"\r\n--{boundary}--\r\n".encode()
        headers = {"Content-Type": f"multipart/form-data; boundary={boundary}"}
        raw = await self.backend.http.fetch("POST", "/files", body, headers=headers)
        uploaded = _OpenAIFile.model_validate_json(raw)
        journal.append(JournalRecord(event="uploaded", backend=identity, file_id=uploaded.id))
        create = {"input_file_id": uploaded.id, "endpoint": "/v1/chat/completions", "completion_window": "24h"}
        batch = await self.backend.http.post("/batches", create, _OpenAIBatch)
        return batch.id

    async def status(self, batch_id: str) -> BatchStatus:
        batch = await self.backend.http.get(f"/batches/{batch_id}", _OpenAIBatch)
        rejected = None
        if batch.status == "failed":
            data = (batch.errors or {}).get("data") or []
            rejected = "; ".join(_message_of(e) for e in data) or "the batch failed with no reason given"
        return BatchStatus(
            state=batch.status, done=batch.status in self._DONE, counts=batch.request_counts or {}, rejected=rejected
        )

    async def results(self, batch_id: str) -> dict[str, Outcome]:
        batch = await self.backend.http.get(f"/batches/{batch_id}", _OpenAIBatch)
        found: dict[str, Outcome] = {}
        for file_id in (batch.output_file_id, batch.error_file_id):
            if not file_id:
                continue
            raw = await self.backend.http.fetch("GET", f"/files/{file_id}/content", max_body_bytes=_MAX_RESULTS_BYTES)
            for record in _jsonl(raw):
                key = record.get("custom_id")
                if isinstance(key, str):
                    found[key] = self._outcome(record)
        if batch.status in ("expired", "cancelled"):
            # requests in neither file were never run
            found["*"] = _item_error(batch.status, f"the batch {batch_id} {batch.status} before this request ran")
        return found

    def _outcome(self, record: dict[str, Any]) -> Outcome:
        response = record.get("response") or {}
        if record.get("error"):
            error = record["error"]
            code = error.get("code", "errored") if isinstance(error, dict) else "errored"
            return _item_error("expired" if code == "batch_expired" else "errored", _message_of(error))
        status = response.get("status_code", 200) if isinstance(response, dict) else 200
        if status != 200:
            return _item_error("errored", f"HTTP {status}: {_message_of(response.get('body'))}")
        try:
            reply = ChatCompletionReply.model_validate(response.get("body"))
        except ValidationError:
            return _item_error("errored", "the result is not a chat completion")
        return self.backend.parse(reply, 0.0)


class _AnthropicBatch(BaseModel):
    id: str
    processing_status: str
    request_counts: dict[str, int] | None = None
    results_url: str | None = None


class AnthropicBatches:
    """Anthropic's Message Batches: the requests posted to /v1/messages/batches, polled there, and the results
    read from the batch's results_url (JSONL of custom_id and a result succeeded, errored, canceled or expired)."""

    max_requests = 100_000
    max_bytes = 256 * 1024**2

    def __init__(self, backend: AnthropicBackend) -> None:
        self.backend = backend

    def line(self, key: str, request: GenerateRequest) -> bytes:
        return json.dumps({"custom_id": key, "params": self.backend.body(request)}).encode()

    async def submit(self, lines: list[bytes], journal: Journal, identity: str) -> str:
        body = b'{"requests": [' + b", ".join(lines) + b"]}"
        raw = await self.backend.http.fetch("POST", "/v1/messages/batches", body)
        return _AnthropicBatch.model_validate_json(raw).id

    async def status(self, batch_id: str) -> BatchStatus:
        batch = await self.backend.http.get(f"/v1/messages/batches/{batch_id}", _AnthropicBatch)
        return BatchStatus(
            state=batch.processing_status, done=batch.processing_status == "ended", counts=batch.request_counts or {}
        )

    async def results(self, batch_id: str) -> dict[str, Outcome]:
        # the documented results endpoint, which results_url names: read at our own server, so that the key is
        # never sent to a URL taken from a reply
        path = f"/v1/messages/batches/{batch_id}/results"
        raw = await self.backend.http.fetch("GET", path, max_body_bytes=_MAX_RESULTS_BYTES)
        found: dict[str, Outcome] = {}
        for record in _jsonl(raw):
            key, result = record.get("custom_id"), record.get("result")
            if not isinstance(key, str) or not isinstance(result, dict):
                continue
            kind = str(result.get("type"))
            if kind == "succeeded":
                try:
                    found[key] = self.backend.parse(MessagesReply.model_validate(result.get("message")), 0.0)
                except ValidationError:
                    found[key] = _item_error("errored", "the result is not a message")
            else:
                found[key] = _item_error(kind, _message_of(result.get("error")) if kind == "errored" else kind)
        return found


def check_batch_spec(spec: str) -> None:
    """A ConfigError unless the model spec names a provider with a batch API."""
    if not spec.startswith(("openai:", "anthropic:")):
        raise ConfigError(f"--batch needs openai: or anthropic: ({spec} has no batch API)")


def provider_for(backend: Backend) -> Provider:
    """The batch API of `backend`, or a ConfigError naming what has none."""
    if isinstance(backend, OpenAIBackend):
        return OpenAIBatches(backend)
    if isinstance(backend, AnthropicBackend):
        return AnthropicBatches(backend)
    raise ConfigError(f"--batch needs openai: or anthropic: ({backend.name} has no batch API)")


# -- the batching backend ----------------------------------------------------------------------------------


class BatchingBackend:
    """A Backend whose calls are answered by batches (see the module docstring). The engine binds it to the run
    directory (`bind`) before judging; the response cache is the engine's shared one."""

    def __init__(self, inner: Backend, options: BatchOptions, cache: ResponseCache | None) -> None:
        self.inner = inner
        self.provider = provider_for(inner)
        self.name = inner.name
        self.base_url = getattr(inner, "base_url", None)
        self.options = options
        self._cache = cache
        self.journal: Journal | None = None
        self._pending: dict[str, tuple[GenerateRequest, list[asyncio.Future[GenerateResponse]]]] = {}
        self._arrivals = 0
        self._flusher: asyncio.Task[None] | None = None
        self._recovered = False  # the journal's unfinished batches are seen to (once per run directory)
        self.limit_requests = min(options.max_requests or self.provider.max_requests, self.provider.max_requests)
        self.limit_bytes = min(options.max_bytes or self.provider.max_bytes, self.provider.max_bytes)

    def bind(self, out: Path) -> None:
        """Keep the journal in the run directory `out`; a new one (the arena's next round) is recovered anew."""
        if self.journal is None or self.journal.path != out / JOURNAL:
            self.journal = Journal(out / JOURNAL)
            self._recovered = False

    @property
    def capabilities(self) -> Capabilities:
        # every item at once: the judges' requests are collected, not sent
        return self.inner.capabilities.model_copy(update={"max_concurrency": self.limit_requests})

    @property
    def cache_identity(self) -> str:
        return cache_identity(self.inner)  # the online path's: a batch's answers serve it and vice versa

    @property
    def fallbacks(self) -> list[str]:
        return list(getattr(self.inner, "fallbacks", None) or [])

    def count_tokens(self, messages: tuple[Message, ...]) -> int | None:
        return self.inner.count_tokens(messages)

    async def generate(self, request: GenerateRequest) -> GenerateResponse:
        key = request.cache_key(self.cache_identity)
        future: asyncio.Future[GenerateResponse] = asyncio.get_running_loop().create_future()
        self._pending.setdefault(key, (request, []))[1].append(future)
        self._arrivals += 1
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._flush_loop())
        return await future

    async def _flush_loop(self) -> None:
        while self._pending:
            await self._quiet()
            taken, self._pending = self._pending, {}
            try:
                await self._answer(taken)
            except BaseException as exc:  # a crash of the collector must reach the judges waiting on it
                for _, futures in taken.values():
                    for future in futures:
                        if future.done():
                            continue
                        if isinstance(exc, asyncio.CancelledError):
                            future.cancel()
                        else:
                            future.set_exception(_copy(exc))
                if not isinstance(exc, Exception):
                    raise

    async def _quiet(self) -> None:
        """Wait until no request has arrived for `quiet_s` (at least a few turns of the event loop)."""
        while True:
            seen = self._arrivals
            for _ in range(3):
                await asyncio.sleep(0)
            if self.options.quiet_s:
                await asyncio.sleep(self.options.quiet_s)
            if self._arrivals == seen:
                return

    async def _answer(self, taken: dict[str, tuple[GenerateRequest, list[asyncio.Future[GenerateResponse]]]]) -> None:
        outcomes = await self._recover()
        todo = {key: request for key, (request, _) in taken.items() if key not in outcomes}
        if todo:
            groups = self._split(todo)
            # every batch is seen to its end, even when another fails: none is left polling unattended
            found = await asyncio.gather(*(self._run_batch(group) for group in groups), return_exceptions=True)
            failure: BaseException | None = None
            for group, part in zip(groups, found, strict=True):
                if isinstance(part, BackendError):
                    outcomes.update((key, part) for key, _ in group)
                elif isinstance(part, BaseException):
                    failure = part
                else:
                    outcomes.update(part)
            if failure is not None:
                raise failure
        for key, (_, futures) in taken.items():
            outcome = outcomes.get(key) or _item_error("missing", "no batch returned a result for it")
            for future in futures:
                if future.done():
                    continue
                if isinstance(outcome, BackendError):
                    future.set_exception(_copy(outcome))
                else:
                    future.set_result(outcome)

    def _split(self, todo: dict[str, GenerateRequest]) -> list[list[tuple[str, bytes]]]:
        """The requests in batches within the provider's (or the options') request and byte limits."""
        groups: list[list[tuple[str, bytes]]] = [[]]
        size = 0
        budget = self.limit_bytes - _ENVELOPE_BYTES  # the multipart form or the JSON list around the lines
        for key, request in todo.items():
            line = self.provider.line(key, request)
            if len(line) > budget:
                raise ConfigError(f"one request is {len(line)} bytes, more than a batch may hold ({budget})")
            if groups[-1] and (len(groups[-1]) >= self.limit_requests or size + len(line) > budget):
                groups.append([])
                size = 0
            groups[-1].append((key, line))
            size += len(line) + 2  # a separator
        return groups

    def _journal(self) -> Journal:
        if self.journal is None:
            raise ConfigError(
                f"--batch answers the judging of a run; {self.name} was called outside one (a model writing texts "
                "for the audit or sampling for self-reward): run this command without --batch"
            )
        return self.journal

    async def _run_batch(self, group: list[tuple[str, bytes]]) -> dict[str, Outcome]:
        journal = self._journal()
        keys = [key for key, _ in group]
        identity = self.cache_identity
        lines = [line for _, line in group]
        batch_id = await self._retrying(lambda: self.provider.submit(lines, journal, identity))
        journal.append(JournalRecord(event="created", backend=identity, batch_id=batch_id, keys=keys))
        return await self._finish(batch_id, keys)

    async def _finish(self, batch_id: str, keys: list[str]) -> dict[str, Outcome]:
        """Poll `batch_id` until it ends, download its results into the cache and journal it."""
        journal = self._journal()
        identity = self.cache_identity
        delay = self.options.poll_s
        failures = 0
        last_state = None
        while True:
            await asyncio.sleep(delay)
            try:
                status = await self.provider.status(batch_id)
                failures = 0
            except BackendError as exc:
                failures += 1
                if exc.fatal or not exc.retryable or failures >= _CONSECUTIVE_POLL_FAILURES:
                    raise
                continue
            if status.state != last_state:
                journal.append(
                    JournalRecord(
                        event="state", backend=identity, batch_id=batch_id, state=status.state, counts=status.counts
                    )
                )
                last_state = status.state
            if status.rejected is not None:
                # done with: a later run polls it no more (with the same model it is refused again, anew)
                journal.append(
                    JournalRecord(event="downloaded", backend=identity, batch_id=batch_id, counts={"failed": len(keys)})
                )
                raise BackendError(
                    scrub(f"the batch API rejected batch {batch_id} of {self.name}: {status.rejected}"),
                    fatal=True,
                    reason="batch_rejected",
                )
            if status.done:
                break
            delay = min(max(delay * 2, self.options.poll_s), self.options.max_poll_s)
        outcomes = await self._retrying(lambda: self.provider.results(batch_id))
        unrun = outcomes.pop("*", None) or _item_error("missing", f"batch {batch_id} returned no result for it")
        for key in keys:
            outcomes.setdefault(key, unrun)
        prompt = completion = succeeded = 0
        for key, outcome in outcomes.items():
            if isinstance(outcome, GenerateResponse):
                succeeded += 1
                prompt += outcome.usage.prompt_tokens
                completion += outcome.usage.completion_tokens
                if self._cache is not None:
                    self._cache.put(key, outcome)
        if self._cache is not None:
            self._cache.commit()  # answers safe before the journal says they are
        journal.append(
            JournalRecord(
                event="downloaded",
                backend=identity,
                batch_id=batch_id,
                counts={"succeeded": succeeded, "failed": len(keys) - succeeded},
                prompt_tokens=prompt,
                completion_tokens=completion,
            )
        )
        return outcomes

    async def _retrying(self, call: Callable[[], Awaitable[T]]) -> T:
        """`call()`, tried again with backoff on a transient failure (429, 5xx, a dropped connection)."""
        for attempt in range(_CALL_ATTEMPTS):
            try:
                return await call()
            except BackendError as exc:
                if exc.fatal or not exc.retryable or attempt == _CALL_ATTEMPTS - 1:
                    raise
                await asyncio.sleep(exc.retry_after or min(self.options.poll_s * 2**attempt, self.options.max_poll_s))
        raise AssertionError("unreachable")

    async def _recover(self) -> dict[str, Outcome]:
        """Once per session, before anything is submitted: finish every batch of this backend that an earlier
        session created and did not download (polled, never submitted again). Its answers go to the cache; what
        it says of the requests collected now answers them."""
        if self._recovered:
            return {}
        self._recovered = True
        identity = self.cache_identity
        created: dict[str, list[str]] = {}
        for record in self._journal().records():
            if record.backend != identity or record.batch_id is None:
                continue
            if record.event == "created":
                created[record.batch_id] = record.keys
            elif record.event == "downloaded":
                created.pop(record.batch_id, None)
        found = await asyncio.gather(*(self._finish(batch_id, keys) for batch_id, keys in created.items()))
        return {key: outcome for part in found for key, outcome in part.items()}

    async def aclose(self) -> None:
        if self._flusher is not None and not self._flusher.done():
            self._flusher.cancel()
            await asyncio.gather(self._flusher, return_exceptions=True)
        await self.inner.aclose()


def _copy(exc: BaseException) -> BaseException:
    """A fresh exception for each waiting judge (one instance raised in many tasks would share its traceback)."""
    if isinstance(exc, BackendError):
        return BackendError(str(exc), status=exc.status, retryable=exc.retryable, fatal=exc.fatal, reason=exc.reason)
    return exc
