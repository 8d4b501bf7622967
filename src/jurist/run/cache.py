"""A response cache on disk (SQLite, WAL), keyed on the full normalised request and the backend's identity
(provider, server, model, features in use: see Backend.cache_identity)."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import time
from pathlib import Path

from ..backends.base import GenerateRequest, GenerateResponse


def default_cache_path() -> Path:
    root = os.environ.get("JURIST_CACHE_DIR") or Path.home() / ".cache" / "jurist"
    return Path(root) / "responses.sqlite"


# Writes are grouped into one transaction for up to this long: a commit per response costs about 0.1 ms, a large
# part of a judgment's client work. Another process writing to the same cache waits at most this long, and a
# crash loses at most this much of the cache (never a verdict).
_COMMIT_EVERY_S = 0.1


class ResponseCache:
    """Only deterministic requests are cached (temperature 0, or a fixed seed): a cached sample would
    otherwise stand in for a fresh one."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute("CREATE TABLE IF NOT EXISTS responses (key TEXT PRIMARY KEY, body TEXT, created REAL)")
        self._tx_started: float | None = None  # when the open write transaction began
        self._timer: asyncio.TimerHandle | None = None

    @staticmethod
    def cacheable(request: GenerateRequest) -> bool:
        return request.temperature == 0 or request.seed is not None

    def get(self, key: str) -> GenerateResponse | None:
        """The cached response for `key` (GenerateRequest.cache_key of the backend's identity), if any."""
        row = self._db.execute("SELECT body FROM responses WHERE key = ?", (key,)).fetchone()
        if row is None:
            return None
        response = GenerateResponse.model_validate_json(row[0])
        return response.model_copy(update={"cached": True, "latency_s": 0.0})

    def put(self, key: str, response: GenerateResponse) -> None:
        now = time.monotonic()
        if self._tx_started is None:
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:
                loop = None
            if loop is not None:  # else one transaction per write, as before
                self._db.execute("BEGIN")
                self._tx_started = now
                # Commit soon even if no other write comes, so other processes are not kept waiting.
                self._timer = loop.call_later(_COMMIT_EVERY_S, self.commit)
        self._db.execute(
            "INSERT OR REPLACE INTO responses VALUES (?, ?, ?)",
            (key, response.model_dump_json(), time.time()),
        )
        if self._tx_started is not None and now - self._tx_started >= _COMMIT_EVERY_S:
            self.commit()

    def commit(self) -> None:
        """Make the responses written so far visible to other processes and safe from a crash."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._tx_started is not None:
            self._tx_started = None
            self._db.execute("COMMIT")

    def close(self) -> None:
        self.commit()
        self._db.close()
