"""A response cache on disk (SQLite, WAL), keyed on the full normalised request and the model."""

from __future__ import annotations

import os
import sqlite3
import time
from pathlib import Path

from ..backends.base import GenerateRequest, GenerateResponse


def default_cache_path() -> Path:
    root = os.environ.get("JURIST_CACHE_DIR") or Path.home() / ".cache" / "jurist"
    return Path(root) / "responses.sqlite"


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

    @staticmethod
    def cacheable(request: GenerateRequest) -> bool:
        return request.temperature == 0 or request.seed is not None

    def get(self, model: str, request: GenerateRequest) -> GenerateResponse | None:
        row = self._db.execute("SELECT body FROM responses WHERE key = ?", (request.cache_key(model),)).fetchone()
        if row is None:
            return None
        response = GenerateResponse.model_validate_json(row[0])
        return response.model_copy(update={"cached": True, "latency_s": 0.0})

    def put(self, model: str, request: GenerateRequest, response: GenerateResponse) -> None:
        self._db.execute(
            "INSERT OR REPLACE INTO responses VALUES (?, ?, ?)",
            (request.cache_key(model), response.model_dump_json(), time.time()),
        )

    def close(self) -> None:
        self._db.close()
