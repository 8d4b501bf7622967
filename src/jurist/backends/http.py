"""Shared HTTP plumbing for the remote backends: one aiohttp session, credentials from the base URL, the reply's
size and shape checked in one place, and the mapping of HTTP failures to BackendError."""

from __future__ import annotations

import asyncio
import base64
import email.utils
import json
import os
import re
import time
from typing import Any, TypeVar

import aiohttp
from pydantic import BaseModel, ValidationError

from ..errors import BackendError, ConfigError, ContextOverflowError
from ..secrets import SplitUrl, scrub, secret_env, split_url

_CONTEXT_WORDS = re.compile(r"context.length|maximum context|too many tokens|context window|prompt is too long", re.I)

# A reply body larger than this is refused: a judge's answer is a few KiB, and a runaway body must not take the
# memory of the whole run.
MAX_BODY_BYTES = 32 * 1024 * 1024

ReplyT = TypeVar("ReplyT", bound=BaseModel)


def parse_retry_after(value: str | None) -> float | None:
    """Retry-After is either seconds or an HTTP date."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def url_credentials(target: SplitUrl, key: str | None) -> tuple[str | None, str | None]:
    """(API key, Basic authorization value) given the base URL's userinfo and the key from the environment.

    `user:password@` is HTTP Basic auth (the server behind a gateway still gets the key where the provider puts
    it outside `Authorization`); a lone `token@` or `:token@` is the API key, used instead of the variable's.
    """
    if target.username and target.password:
        token = base64.b64encode(f"{target.username}:{target.password}".encode()).decode()
        return key, f"Basic {token}"
    return (target.password or target.username or key), None


def locate_server(
    base_url: str | None, url_env: str, vendor_url: str, key_env: str
) -> tuple[SplitUrl, str | None, str | None]:
    """Where a provider's backend sends its requests (`base_url`, else $`url_env`, else the vendor's URL) and its
    credentials (`url_credentials`, the key read from $`key_env`). At the vendor's own URL a key is needed: without
    one every request would fail, so the backend refuses to start; another server may take none."""
    target = split_url(base_url or os.environ.get(url_env) or vendor_url)
    key, basic = url_credentials(target, secret_env(key_env))
    if not key and not basic and target.url == vendor_url:
        raise ConfigError(f"no API key: set {key_env} (or name another variable with --api-key-env)")
    return target, key, basic


class HttpClient:
    """A lazily created aiohttp session bound to the running event loop. `base_url` is the public form of the
    URL (no credentials): the only one that appears in messages."""

    def __init__(
        self,
        target: SplitUrl,
        headers: dict[str, str],
        *,
        timeout: float,
        max_body_bytes: int = MAX_BODY_BYTES,
    ) -> None:
        self.base_url = target.public
        self._base, _, self._query = target.url.partition("?")
        self._public_base = target.public.partition("?")[0]  # messages name the endpoint, not the query
        self._headers = headers
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._max_body = max_body_bytes
        self._session: aiohttp.ClientSession | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def _get_session(self) -> aiohttp.ClientSession:
        loop = asyncio.get_running_loop()
        # A session belongs to one event loop; the sync facade may run several loops in turn.
        if self._session is None or self._session.closed or self._loop is not loop:
            self._loop = loop
            connector = aiohttp.TCPConnector(limit=0, ttl_dns_cache=300)
            self._session = aiohttp.ClientSession(
                headers=self._headers, timeout=self._timeout, connector=connector, json_serialize=json.dumps
            )
        return self._session

    async def post(self, path: str, body: dict[str, Any], reply: type[ReplyT]) -> ReplyT:
        """POST `body` as JSON and read the answer as `reply`; every failure is a BackendError."""
        raw = await self.fetch("POST", path, json.dumps(body))
        try:
            return reply.model_validate_json(raw)
        except ValidationError as exc:
            raise _bad_reply(f"{self._public_base}{path}", raw, exc) from None

    async def get(self, path: str, reply: type[ReplyT]) -> ReplyT:
        """GET `path` and read the answer as `reply` (the batch APIs' status calls)."""
        raw = await self.fetch("GET", path)
        try:
            return reply.model_validate_json(raw)
        except ValidationError as exc:
            raise _bad_reply(f"{self._public_base}{path}", raw, exc) from None

    async def fetch(
        self,
        method: str,
        path: str,
        data: Any = None,
        *,
        headers: dict[str, str] | None = None,
        max_body_bytes: int | None = None,
        absolute: bool = False,
    ) -> bytes:
        """The raw body of a `method` request to `path` (`data`: JSON text, or bytes with their `headers`); every
        failure is a BackendError. `absolute`: `path` is a whole URL the server gave (Anthropic's results_url)."""
        public = path if absolute else f"{self._public_base}{path}"
        # The query (api-version=...) is sent with every path, and never shown.
        url = path if absolute else f"{self._base}{path}" + (f"?{self._query}" if self._query else "")
        try:
            async with self._get_session().request(method, url, data=data, headers=headers) as resp:
                raw = await self._read(resp, public, max_body_bytes or self._max_body)
                if resp.status >= 400:
                    raise self._http_error(resp.status, raw, resp.headers.get("Retry-After"))
        except TimeoutError:
            raise BackendError(
                f"no answer from {public} within {self._timeout.total:g}s", retryable=True, reason="timeout"
            ) from None
        except aiohttp.ClientConnectionError as exc:
            raise BackendError(
                scrub(f"connection to {public} failed: {type(exc).__name__}: {exc}"),
                retryable=True,
                reason="connection",
            ) from None
        except aiohttp.ClientPayloadError as exc:
            raise BackendError(
                scrub(f"broken response body from {public}: {exc}"), retryable=True, reason="connection"
            ) from None
        return raw

    async def _read(self, resp: aiohttp.ClientResponse, public: str, max_body: int) -> bytes:
        """The body, refused past the size cap without reading (or keeping) the rest of it."""
        # Content-Length tells the size only of a body that is not compressed (a small gzip can inflate hugely).
        compressed = "Content-Encoding" in resp.headers
        if resp.content_length is not None and resp.content_length <= max_body and not compressed:
            return await resp.read()
        if resp.content_length is None or compressed:
            body = bytearray()
            async for chunk in resp.content.iter_chunked(1 << 16):
                body += chunk
                if len(body) > max_body:
                    break
            else:
                return bytes(body)
        # Not retried: the same request would most likely bring the same body again.
        raise BackendError(
            f"the reply from {public} is larger than {max_body / 2**20:g} MiB, more than any answer of a "
            "judge; check --base-url (it may point at something that is not a chat-completions server)",
            status=resp.status,
            reason="bad_response",
        )

    def _http_error(self, status: int, raw: bytes, retry_after: str | None) -> BackendError:
        detail = raw[:500].decode(errors="replace")
        try:
            parsed = json.loads(raw)
            err = parsed.get("error", parsed) if isinstance(parsed, dict) else parsed
            detail = err.get("message", detail) if isinstance(err, dict) else str(err)
        except ValueError:
            pass
        detail = scrub(str(detail))
        if status in (401, 403):
            return BackendError(
                f"HTTP {status}: authentication failed ({detail}). Check the API key variable "
                "(--api-key-env, default OPENAI_API_KEY / ANTHROPIC_API_KEY).",
                status=status,
                fatal=True,
                reason="auth",
            )
        if status == 404:
            return BackendError(
                f"HTTP 404: {detail}. Check the model name and --base-url.",
                status=status,
                fatal=True,
                reason="not_found",
            )
        if status in (408, 409, 429) or status >= 500:
            return BackendError(
                f"HTTP {status}: {detail}",
                status=status,
                retryable=True,
                retry_after=parse_retry_after(retry_after),
                reason="rate_limited" if status == 429 else f"http_{status}",
            )
        if _CONTEXT_WORDS.search(detail):
            return ContextOverflowError(f"HTTP {status}: {detail}", status=status)
        return BackendError(f"HTTP {status}: {detail}", status=status, reason=f"http_{status}")

    async def aclose(self) -> None:
        if self._session is not None and not self._session.closed and self._loop is asyncio.get_running_loop():
            await self._session.close()
        self._session = None


def _bad_reply(public: str, raw: bytes, exc: ValidationError) -> BackendError:
    """A 200 reply that is not the expected JSON: retried like any transient fault, then recorded on the item."""
    first = exc.errors(include_url=False)[0]
    if first["type"] == "json_invalid":
        snippet = raw[:200].decode(errors="replace")
        what = f"is not JSON: {snippet!r}" if raw.strip() else "is empty"
    elif not first["loc"]:
        what = f"is not a JSON object but {_json_kind(raw)}"
    else:
        where = ".".join(str(p) for p in first["loc"])
        what = f"has the wrong shape: {where}: {first['msg']} (got {str(first.get('input'))[:80]!r})"
    return BackendError(scrub(f"the reply from {public} {what}"), retryable=True, reason="bad_response")


def _json_kind(raw: bytes) -> str:
    start = raw.lstrip()[:1]
    return {b"[": "a list", b'"': "a string", b"n": "null", b"t": "a boolean", b"f": "a boolean"}.get(start, "a number")
