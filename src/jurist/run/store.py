"""The run directory: the run's configuration and an append-only verdict log that survives a crash.

Layout of RUN_DIR:
  config.json      what was judged and how (backend, template hash, decoding parameters, seed, jurist version)
  verdicts.jsonl   one JSON object per judged item, appended as each completes (the last line wins for an id)
  sessions.jsonl   one line per invocation: when, how long, how many judged

Each verdict line is written and flushed to the OS as soon as the item finishes, so kill -9 loses only
the calls in flight. `fsync` decides how often the OS is made to put it on disk (power loss).
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any, Literal

from ..errors import ConfigError
from ..types import Verdict

FsyncPolicy = Literal["always", "batch", "never"]
_FSYNC_EVERY_S = 1.0


def read_verdicts(path: Path) -> list[Verdict]:
    """All verdict records in file order. A torn last line (the process was killed mid-write) is skipped."""
    if not path.exists():
        return []
    out: list[Verdict] = []
    with path.open(encoding="utf-8") as fh:
        lines = fh.readlines()
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            out.append(Verdict.model_validate_json(line))
        except ValueError:
            if number == len(lines):
                break
            raise ConfigError(f"{path}:{number}: corrupt verdict record; move the file aside to start over") from None
    return out


def latest_by_id(verdicts: list[Verdict]) -> dict[str, Verdict]:
    latest: dict[str, Verdict] = {}
    for v in verdicts:
        latest[v.id] = v
    return latest


class RunStore:
    def __init__(self, out: Path, *, fsync: FsyncPolicy = "batch") -> None:
        self.out = Path(out)
        self.fsync = fsync
        self.config_path = self.out / "config.json"
        self.verdicts_path = self.out / "verdicts.jsonl"
        self.sessions_path = self.out / "sessions.jsonl"
        self._fh: Any = None
        self._last_sync = 0.0

    def open(self, config: dict[str, Any], fingerprint: str, *, overwrite: bool = False) -> dict[str, Verdict]:
        """Create or reopen the run; returns the verdicts already recorded for this exact configuration."""
        self.out.mkdir(parents=True, exist_ok=True)
        if overwrite:
            for path in (self.verdicts_path, self.sessions_path):
                path.unlink(missing_ok=True)
        elif self.config_path.exists():
            old = json.loads(self.config_path.read_text())
            if old.get("fingerprint") != fingerprint:
                changes = _differences(old.get("judge", {}), config.get("judge", {}))
                raise ConfigError(
                    f"{self.out} holds a run made with other settings ({changes}). Verdicts from other settings "
                    "are never reused: choose a new --out, or pass --overwrite to discard the old run."
                )
        record = {**config, "fingerprint": fingerprint}
        tmp = self.config_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(record, indent=2, default=str))
        os.replace(tmp, self.config_path)
        existing = latest_by_id([v for v in read_verdicts(self.verdicts_path) if v.judge_fingerprint == fingerprint])
        self._repair_torn_tail()
        self._fh = self.verdicts_path.open("a", encoding="utf-8")
        return existing

    def _repair_torn_tail(self) -> None:
        """Cut a partial last line left by a kill, so the next record starts on a line of its own."""
        if not self.verdicts_path.exists():
            return
        data = self.verdicts_path.read_bytes()
        if data and not data.endswith(b"\n"):
            cut = data.rfind(b"\n") + 1
            with self.verdicts_path.open("r+b") as fh:
                fh.truncate(cut)

    def append(self, verdict: Verdict) -> None:
        self._fh.write(verdict.model_dump_json(exclude_defaults=False) + "\n")
        self._fh.flush()
        if self.fsync == "always":
            os.fsync(self._fh.fileno())
        elif self.fsync == "batch":
            now = time.monotonic()
            if now - self._last_sync >= _FSYNC_EVERY_S:
                os.fsync(self._fh.fileno())
                self._last_sync = now

    def log_session(self, record: dict[str, Any]) -> None:
        with self.sessions_path.open("a", encoding="utf-8") as fh:
            fh.write(json.dumps(record) + "\n")

    def close(self) -> None:
        if self._fh is not None:
            self._fh.flush()
            if self.fsync != "never":
                os.fsync(self._fh.fileno())
            self._fh.close()
            self._fh = None


def _differences(old: dict[str, Any], new: dict[str, Any], prefix: str = "") -> str:
    diffs: list[str] = []
    for key in sorted(set(old) | set(new)):
        a, b = old.get(key), new.get(key)
        if isinstance(a, dict) and isinstance(b, dict):
            inner = _differences(a, b, f"{prefix}{key}.")
            if inner:
                diffs.append(inner)
        elif a != b and key != "jurist_version":
            diffs.append(f"{prefix}{key}: {a!r} -> {b!r}")
    return "; ".join(diffs)
