"""Shared HTTP plumbing for the remote backends: one aiohttp session, error mapping, secret scrubbing."""

from __future__ import annotations

import asyncio
import email.utils
import json
import re
import time
from typing import Any

import aiohttp

from ..errors import BackendError, ContextOverflowError

_CONTEXT_WORDS = re.compile(r"context.length|maximum context|too many tokens|context window|prompt is too long", re.I)
_KEY_LIKE = re.compile(r"\b(sk|key|ant)-[A-Za-z0-9_\-]{6,}")


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


class HttpClient:
    """A lazily created aiohttp session bound to the running event loop, with secrets kept out of errors."""

    def __init__(self, base_url: str, headers: dict[str, str], *, timeout: float, secret: str | None) -> None:
        self.base_url = base_url.rstrip("/")
        self._headers = headers
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._secret = secret
        self._session: aiohttp.ClientSession | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def scrub(self, text: str) -> str:
        if self._secret:
            text = text.replace(self._secret, "***")
        return _KEY_LIKE.sub("***", text)

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

    async def post_json(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        url = f"{self.base_url}{path}"
        try:
            async with self._get_session().post(url, data=json.dumps(body)) as resp:
                raw = await resp.read()
                if resp.status >= 400:
                    raise self._http_error(resp.status, raw, resp.headers.get("Retry-After"))
        except TimeoutError:
            raise BackendError(
                f"no answer from {url} within {self._timeout.total:g}s", retryable=True, reason="timeout"
            ) from None
        except aiohttp.ClientConnectionError as exc:
            raise BackendError(
                self.scrub(f"connection to {url} failed: {type(exc).__name__}: {exc}"),
                retryable=True,
                reason="connection",
            ) from None
        except aiohttp.ClientPayloadError as exc:
            raise BackendError(
                self.scrub(f"broken response body from {url}: {exc}"), retryable=True, reason="connection"
            ) from None
        try:
            data = json.loads(raw)
        except ValueError:
            raise BackendError(
                f"response from {url} is not JSON: {self.scrub(raw[:200].decode(errors='replace'))!r}",
                retryable=True,
                reason="bad_response",
            ) from None
        if not isinstance(data, dict):
            raise BackendError(f"response from {url} is not a JSON object", retryable=True, reason="bad_response")
        return data

    def _http_error(self, status: int, raw: bytes, retry_after: str | None) -> BackendError:
        detail = raw[:500].decode(errors="replace")
        try:
            parsed = json.loads(raw)
            err = parsed.get("error", parsed) if isinstance(parsed, dict) else parsed
            detail = err.get("message", detail) if isinstance(err, dict) else str(err)
        except ValueError:
            pass
        detail = self.scrub(str(detail))
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
