"""The one home of secrets: the values jurist knows to be secret, and `scrub`, which blanks them out of text.

Backends register what they read (API keys from the environment, credentials in a base URL) and every text that
leaves a backend passes through `scrub` (in `ResilientBackend.generate`), as does every text jurist writes or
prints about a failure. A value shorter than MIN_SECRET_LENGTH is never registered: blanking out a one-letter
"key" would blank out that letter everywhere.
"""

from __future__ import annotations

import base64
import os
import re
import threading
from typing import NamedTuple
from urllib.parse import unquote, urlsplit, urlunsplit

from .errors import ConfigError

__all__ = ["MIN_SECRET_LENGTH", "REDACTED", "SplitUrl", "register", "scrub", "secret_env", "split_url"]

MIN_SECRET_LENGTH = 8
REDACTED = "***"

# Strings shaped like provider keys (sk-..., sk-ant-..., key-...) even when nobody registered them; a digit is
# required so that ordinary hyphenated words ("key-insight") stay.
_KEY_LIKE = re.compile(r"\b(?:sk|ant|key)-(?=[A-Za-z0-9_\-]*\d)[A-Za-z0-9_\-]{16,}")
# Query parameters whose value is a credential (api_key, key, token, access_token, sig, X-Amz-Signature...).
_SECRET_PARAM = re.compile(r"key|token|secret|passw|pwd|auth|sig|credential", re.I)

_known: set[str] = set()
_pattern: re.Pattern[str] | None = None
_lock = threading.Lock()


def register(*values: str | None) -> None:
    """Remember values as secrets, so that `scrub` blanks them out from now on."""
    global _pattern
    fresh = {v for v in values if v and len(v) >= MIN_SECRET_LENGTH} - _known
    if not fresh:
        return
    with _lock:
        _known.update(fresh)
        # Longest first, so that a secret containing another is blanked out whole.
        _pattern = re.compile("|".join(re.escape(v) for v in sorted(_known, key=len, reverse=True)))


def scrub(text: str) -> str:
    """`text` with every registered secret and every key-shaped string replaced by ***."""
    if _pattern is not None:
        text = _pattern.sub(REDACTED, text)
    return _KEY_LIKE.sub(REDACTED, text)


def secret_env(name: str) -> str | None:
    """The value of environment variable `name` (None if unset or empty), registered as a secret."""
    value = os.environ.get(name) or None
    register(value)
    return value


class SplitUrl(NamedTuple):
    """A base URL taken apart so that its credentials are used but never shown."""

    url: str  # what requests go to: no userinfo (credentials travel in a header), the query kept whole
    public: str  # what may be stored and printed: no userinfo, and secret query values replaced by ***
    username: str  # from the userinfo, percent-decoded; "" if none
    password: str


def split_url(url: str) -> SplitUrl:
    """Take a base URL apart and register its secrets: the userinfo, secret-looking query values, and the
    Basic-auth token that `user:password` becomes. ConfigError if it is not an http(s) URL with a host."""
    try:
        parts = urlsplit(url.strip())
        parts.port  # noqa: B018 -- raises ValueError on a port that is not a number
    except ValueError as exc:
        raise _bad_url(url, str(exc)) from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise _bad_url(url, "it needs http:// or https:// and a host")
    username, password = unquote(parts.username or ""), unquote(parts.password or "")
    register(parts.username, parts.password, username, password)
    if username and password:
        register(base64.b64encode(f"{username}:{password}".encode()).decode())
    host = parts.netloc.rpartition("@")[2]
    path = parts.path.rstrip("/")
    shown = []
    for pair in parts.query.split("&") if parts.query else []:
        name, eq, value = pair.partition("=")
        if eq and value and _SECRET_PARAM.search(unquote(name)):
            register(value, unquote(value))
            value = REDACTED
        shown.append(f"{name}{eq}{value}")
    return SplitUrl(
        url=urlunsplit((parts.scheme, host, path, parts.query, "")),
        public=urlunsplit((parts.scheme, host, path, "&".join(shown), "")),
        username=username,
        password=password,
    )


def _bad_url(url: str, why: str) -> ConfigError:
    # The URL could not be taken apart, so its userinfo is cut out by pattern before it is shown.
    shown = re.sub(r"//[^/@?#]*@", f"//{REDACTED}@", url)
    return ConfigError(
        f"base URL (--base-url) '{scrub(shown)}' cannot be used: {why}; give one such as http://localhost:8000/v1"
    )
