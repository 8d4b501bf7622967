"""The run directory, read and written here only: its header, an append-only verdict log that survives a crash,
and the sessions' timings.

Layout of RUN_DIR:
  config.json      the RunHeader: what was judged and how (backend, template hash, decoding parameters, seed, jurist
                   version), and the features a server rejected so that the backend fell back (`fallbacks`, every
                   session's)
  verdicts.jsonl   one Verdict per judged item, appended as each completes (the last line wins for an id)
  sessions.jsonl   one SessionRecord per invocation: when, how long, how many judged
  run.lock         held (an OS lock) by the process judging into the directory; it holds that process's id
  shards/          a distributed run's verdicts as Parquet shards (shards.py; `jurist judge --engine ray`), read
                   after verdicts.jsonl

Readers call `read_run` (the header and the current verdicts) and `read_sessions`; a judging session holds a
`RunStore`. Every field added since the first format has a default, so older run directories read and resume.

Each verdict line is written to the OS in one call as soon as the item finishes, so kill -9 loses only the
calls in flight. `fsync` decides how often the OS is made to put it on disk (power loss). A problem with these
files (damaged, unwritable, a full disk, another process) is a RunDirError that names the file and says what to do.
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, Literal, NamedTuple, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ..errors import ConfigError, RunDirError
from ..files import LogScan, cut_torn_tail, read_log
from ..hashindex import HashIndex, digest
from ..types import Item, Verdict
from .shards import read_shards, remove_shards, write_shard

FsyncPolicy = Literal["always", "batch", "never"]
T = TypeVar("T")
ModelT = TypeVar("ModelT", bound=BaseModel)
_FSYNC_EVERY_S = 1.0
CONFIG_FILE = "config.json"
CONFIG_TMP = "config.tmp"  # the next config.json, before it replaces the old one
VERDICTS_FILE = "verdicts.jsonl"
SESSIONS_FILE = "sessions.jsonl"
LOCK_FILE = "run.lock"
REVIEW_STORE = "review.sqlite"  # people's labels of the run's items (jurist.review.store), with SQLite's WAL files
# Every file a run owns: nothing else (an export, say) may write over them.
RUN_FILES = (
    *(CONFIG_FILE, CONFIG_TMP, VERDICTS_FILE, SESSIONS_FILE, LOCK_FILE),
    *(REVIEW_STORE, f"{REVIEW_STORE}-wal", f"{REVIEW_STORE}-shm"),
)


class RunHeader(BaseModel):
    """config.json. Only what is known to every run is declared; keys written by other versions are kept as they
    are (extra), so that rewriting the header (new fallbacks) never drops them. A key absent from the file stays
    absent when the header is written back (`record`)."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)

    judge: dict[str, Any] = {}  # jurist_version and the judge's spec.identity: backend, template, config...
    data: str | None = None  # the data file, or "<python>"
    items: int | None = None  # items in the data
    imported: dict[str, Any] | None = Field(None, alias="import")  # `jurist import`: what was read and matched
    fingerprint: str | None = None  # of the judge: only verdicts carrying it belong to the run
    fallbacks: list[str] = []  # features a server rejected, so that the backend did without (every session's)

    @property
    def mode(self) -> str | None:
        return (self.judge.get("config") or {}).get("mode")

    @property
    def backend(self) -> str:
        return str(self.judge.get("backend", "unknown"))

    @property
    def jurist_version(self) -> str | None:
        return self.judge.get("jurist_version")

    def record(self) -> dict[str, Any]:
        """The JSON object written to config.json."""
        return self.model_dump(by_alias=True, exclude_unset=True)


class SessionRecord(BaseModel):
    """One line of sessions.jsonl. Runs made before `interrupted` and `concurrency` existed lack them."""

    started: float = 0.0  # time.time() at the start
    wall_s: float
    judged: int
    failed: int = 0
    skipped: int = 0  # already judged in an earlier session
    interrupted: bool = False
    concurrency: int | None = None


class RunLog(NamedTuple):
    """A run directory read back."""

    header: RunHeader
    verdicts: list[Verdict]  # the latest per item, made with the header's judge (its fingerprint)


def read_run(out: str | Path) -> RunLog:
    """The run's header and its current verdicts; a clear error if `out` is not a run directory."""
    out = Path(out)
    header = read_header(out / CONFIG_FILE)
    everything = [*read_verdicts(out / VERDICTS_FILE), *read_shards(out)]
    verdicts = [v for v in everything if v.judge_fingerprint == header.fingerprint]
    return RunLog(header, list(latest_by_id(verdicts).values()))


def iter_run(out: str | Path) -> tuple[RunHeader, Iterator[Verdict]]:
    """`read_run` for runs too large to hold: the header, and the current verdicts one at a time (in the order of
    their records, where read_run keeps the order of each id's first record). Two passes over the records: the
    first finds the ids recorded more than once (the ids seen are kept as 8-byte digests, in a HashIndex, and
    dropped after it) and the number of each one's last record; the second yields every record that is its id's
    last. The first reads only each record's id and fingerprint, which costs a fraction of reading it whole, then
    reads the log's last record whole: one that is JSON but no verdict is a torn write, which the second pass
    leaves out as `scan_verdicts` does, so it must not stand for its id."""
    out = Path(out)
    header = read_header(out / CONFIG_FILE)

    def records() -> Iterator[Verdict]:
        for verdict in _scan(out / VERDICTS_FILE, _parse_verdict):
            if verdict.judge_fingerprint == header.fingerprint:
                yield verdict
        yield from (v for v in read_shards(out) if v.judge_fingerprint == header.fingerprint)

    def current() -> Iterator[Verdict]:
        seen = HashIndex(values=False)
        latest: dict[str, int] = {}  # the ids recorded again (a retried failure): few
        count = 0
        last: tuple[bytes, str, int | None] | None = None  # the log's last record: its line, id, and its id's latest
        for key, line in _scan(out / VERDICTS_FILE, _parse_key):
            if key.judge_fingerprint == header.fingerprint:
                last = (line, key.id, latest.get(key.id))
                if not seen.add(key.id):
                    latest[key.id] = count
                count += 1
        if last is not None and not _is_verdict(last[0]):
            _, item_id, before = last
            count -= 1
            if before is None:
                latest.pop(item_id, None)
            else:
                latest[item_id] = before
        for verdict in read_shards(out):
            if verdict.judge_fingerprint == header.fingerprint:
                if not seen.add(verdict.id):
                    latest[verdict.id] = count
                count += 1
        del seen  # its memory is free for the second pass
        for number, verdict in enumerate(records()):
            if latest.get(verdict.id, number) == number:
                yield verdict

    return header, current()


def _scan(path: Path, parse: Callable[[bytes], T]) -> Iterator[T]:
    """The verdict log's records one at a time, as `scan_verdicts` reads them (a damaged line is a RunDirError,
    raised when the iteration reaches the record after it)."""
    scan = LogScan(path, parse)
    try:
        for record in scan:
            if scan.damaged:
                raise _damaged(path, scan.damaged[0])
            yield record
    except OSError as exc:
        raise RunDirError(f"cannot read {path}: {exc.strerror or exc}; check that it is a readable file") from exc


def read_sessions(out: str | Path) -> list[SessionRecord]:
    """The sessions log's records; a torn last line (a kill while it was written) is left out."""
    path = Path(out) / SESSIONS_FILE
    try:
        log = read_log(path, SessionRecord.model_validate_json)
    except OSError as exc:
        raise RunDirError(f"cannot read {path}: {exc}; delete it (it holds only the sessions' timings)") from exc
    if log.damaged:
        raise RunDirError(
            f"{path}:{log.damaged[0][0]}: corrupt session record; delete that line (the log only times the sessions)"
        )
    return log.records


class VerdictLog(NamedTuple):
    verdicts: list[Verdict]  # every record, in file order
    end: int  # bytes up to the end of the last record: anything after it is a torn write


def scan_verdicts(path: Path) -> VerdictLog:
    """Read the verdict log. This alone decides which lines are records, for readers and for the repair alike:
    every non-blank line must be a verdict, except the last, which is a torn write (killed mid-write, a full disk)
    when it does not parse; it is left out, and the next run cuts it and judges its item again. A last record
    that parses but lacks its newline is whole and kept."""
    try:
        log = read_log(path, _parse_verdict)
    except OSError as exc:
        raise RunDirError(f"cannot read {path}: {exc.strerror or exc}; check that it is a readable file") from exc
    if log.damaged:
        raise _damaged(path, log.damaged[0])
    return VerdictLog(log.records, log.end)


def _damaged(path: Path, where: tuple[int, str]) -> RunDirError:
    number, problem = where
    return RunDirError(
        f"{path}:{number}: corrupt verdict record ({problem}). Delete that line (its item is then judged "
        "again), or move the file aside to start the run over."
    )


def read_verdicts(path: Path) -> list[Verdict]:
    """All verdict records in file order (a torn last line is left out; see `scan_verdicts`)."""
    return scan_verdicts(path).verdicts


def _parse_verdict(line: bytes) -> Verdict:
    return _parse_record(line, Verdict)


class _RecordKey(BaseModel):
    """What `iter_run`'s first pass reads of a verdict record."""

    id: str
    judge_fingerprint: str = ""


def _parse_key(line: bytes) -> tuple[_RecordKey, bytes]:
    """A verdict record's id and fingerprint, with its line. A line that is no record fails as in `_parse_verdict`,
    but a line this accepts may still be no verdict (see `iter_run`)."""
    return _parse_record(line, _RecordKey), line


def _parse_record(line: bytes, model: type[ModelT]) -> ModelT:
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ValueError(f"not valid UTF-8 text: byte {exc.start + 1} of the line") from None
    try:
        return model.model_validate_json(text)
    except ValidationError as exc:
        raise ValueError(f"not a verdict: {exc.errors()[0]['msg']}") from None


def _is_verdict(line: bytes) -> bool:
    try:
        _parse_verdict(line)
    except ValueError:
        return False
    return True


def read_header(path: Path) -> RunHeader:
    """A run's config.json, which must exist and hold a header."""
    if not path.exists():
        raise ConfigError(
            f"{path.parent} is not a jurist run directory (no config.json); run `jurist judge ... --out {path.parent}`"
        )
    problem = ""
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise RunDirError(f"cannot read {path}: {exc.strerror or exc}; check that it is a readable file") from exc
    except ValueError as exc:  # not JSON, or not UTF-8
        config, problem = None, str(exc)
    if isinstance(config, dict):
        try:
            return RunHeader.model_validate(config)
        except ValidationError as exc:
            error = exc.errors()[0]
            problem = f"{'.'.join(str(p) for p in error['loc'])}: {error['msg']}"
    raise RunDirError(
        f"{path}: this run's configuration is damaged ({problem or 'not a JSON object'}). Delete it and run the "
        "same `jurist judge` command again: it is written anew, and only verdicts made with the same settings "
        "are reused (each carries the fingerprint of its settings)."
    )


def _cannot_write(path: Path, exc: OSError) -> RunDirError:
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        todo = "free some disk space and run the same command again: every verdict written so far is kept, and the "
        todo += "run resumes"
    else:
        todo = "choose another run directory (--out), or make this one writable"
    return RunDirError(f"cannot write {path}: {exc.strerror or exc}. The run stopped; {todo}.")


def _write_all(fd: int, data: bytes) -> None:
    while data:  # a write may take only part of the bytes
        data = data[os.write(fd, data) :]


def latest_by_id(verdicts: list[Verdict]) -> dict[str, Verdict]:
    latest: dict[str, Verdict] = {}
    for v in verdicts:
        latest[v.id] = v
    return latest


class JudgedIndex:
    """What a run directory already holds, for resuming without its verdicts in memory: per item id (as a 64-bit
    digest, in a HashIndex), a digest of the judged item's content hash and whether its verdict failed for a
    transient reason (the lowest bit). The last record of an id wins, as in `read_run`."""

    def __init__(self) -> None:
        self._index = HashIndex()

    def __len__(self) -> int:
        return len(self._index)

    def record(self, verdict: Verdict) -> None:
        # a failed verdict, or one kept incomplete (a pairwise order failed), is judged again when it was transient
        failure = verdict.error or verdict.incomplete
        retryable = failure is not None and failure.retryable
        self._index.put(verdict.id, (digest(verdict.item_hash or "") & ~1) | retryable)

    def done(self, item: Item, *, retry_failed: bool) -> bool:
        """Whether the item, with this content, has a verdict that need not be made again. The content is hashed
        only for an id the run already holds: a fresh run hashes each item once, when its verdict is stamped."""
        if not self._index:  # a fresh run: nothing to look up
            return False
        value = self._index.get(item.id)
        if value is None or value & ~1 != digest(item.content_hash()) & ~1:
            return False
        return not (value & 1 and retry_failed)

    def done_count(self, *, retry_failed: bool) -> int:
        """How many ids have a verdict that need not be made again (if their items are unchanged)."""
        return self._index.count(lambda values: (values & 1) == 0) if retry_failed else len(self)


class RunStore:
    """One session's hold on a run directory, from `open` (or `try_lock`) to `close`: no other process can judge
    into the directory meanwhile."""

    def __init__(self, out: Path, *, fsync: FsyncPolicy = "batch") -> None:
        self.out = Path(out)
        self.fsync = fsync
        self.config_path = self.out / CONFIG_FILE
        self.verdicts_path = self.out / VERDICTS_FILE
        self.sessions_path = self.out / SESSIONS_FILE
        self.lock_path = self.out / LOCK_FILE
        self._fd: int | None = None
        self._lock_fd: int | None = None
        self._last_sync = 0.0

    def try_lock(self) -> bool:
        """Take the run directory for this process; False while another one holds it. The OS releases the lock
        when the process ends, however it ends."""
        if self._lock_fd is not None:
            return True
        try:
            self.out.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise _cannot_write(self.out if not self.out.is_dir() else self.lock_path, exc) from exc
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        self._lock_fd = fd
        try:
            os.ftruncate(fd, 0)
            _write_all(fd, f"{os.getpid()}\n".encode())  # who holds it, for the message to a second process
        except OSError as exc:
            self.close()
            raise _cannot_write(self.lock_path, exc) from exc
        return True

    def holder(self) -> str:
        """Who holds the directory, in words ("another jurist process (pid 123)")."""
        try:
            pid = f"pid {int(self.lock_path.read_text().strip())}"
        except (OSError, ValueError):
            pid = "pid unknown"
        return f"another jurist process ({pid})"

    def in_use(self) -> RunDirError:
        """The error for a directory that another process holds."""
        return RunDirError(
            f"{self.out} is in use by {self.holder()}; two runs in one directory would judge every item twice. "
            "Wait for it to finish, or pass --wait (jurist judge) to start when it does."
        )

    def open(self, header: RunHeader, *, overwrite: bool = False) -> JudgedIndex:
        """Take the directory, then create or reopen the run; returns the index of the verdicts already recorded
        for this exact configuration (the header's fingerprint). On an error the directory is released again."""
        if not self.try_lock():
            raise self.in_use()
        try:
            return self._open(header, overwrite)
        except BaseException:
            self.close()
            raise

    def _open(self, header: RunHeader, overwrite: bool) -> JudgedIndex:
        old: RunHeader | None = None
        if overwrite:
            # batches.jsonl: the journal of --batch (run/batch.py), whose batches belong to the old run
            for path in (self.verdicts_path, self.sessions_path, self.out / "batches.jsonl"):
                try:
                    path.unlink(missing_ok=True)
                except OSError as exc:
                    raise _cannot_write(path, exc) from exc
            remove_shards(self.out)
        elif self.config_path.exists():
            old = read_header(self.config_path)
            if old.fingerprint != header.fingerprint:
                changes = _differences(old.judge, header.judge)
                raise ConfigError(
                    f"{self.out} holds a run made with other settings ({changes}). Verdicts from other settings "
                    "are never reused: choose a new --out, or pass --overwrite to discard the old run."
                )
        # Not part of the fingerprint: what the servers rejected in earlier sessions is kept.
        self._write_header(header.model_copy(update={"fallbacks": old.fallbacks if old is not None else []}))
        # one record at a time: a large run's verdicts need not fit in memory to be resumed
        existing = JudgedIndex()
        scan = LogScan(self.verdicts_path, _parse_verdict)
        try:
            for verdict in scan:
                if verdict.judge_fingerprint == header.fingerprint:
                    existing.record(verdict)
        except OSError as exc:
            raise RunDirError(
                f"cannot read {self.verdicts_path}: {exc.strerror or exc}; check that it is a readable file"
            ) from exc
        if scan.damaged:
            raise _damaged(self.verdicts_path, scan.damaged[0])
        for verdict in read_shards(self.out):
            if verdict.judge_fingerprint == header.fingerprint:
                existing.record(verdict)
        try:
            self._repair(scan.end)
            self._fd = os.open(self.verdicts_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        except OSError as exc:
            raise _cannot_write(self.verdicts_path, exc) from exc
        return existing

    def _repair(self, end: int) -> None:
        cut_torn_tail(self.verdicts_path, end)

    def _write_header(self, header: RunHeader) -> None:
        tmp = self.out / CONFIG_TMP
        try:
            tmp.write_text(json.dumps(header.record(), indent=2, default=str), encoding="utf-8")
            os.replace(tmp, self.config_path)  # atomic: a crash leaves the old config or the new one, whole
        except OSError as exc:
            raise _cannot_write(self.config_path, exc) from exc

    def append(self, verdict: Verdict) -> None:
        """Write one verdict in a single call to the OS. A failure (a full disk) stops the run with a RunDirError;
        every record before it is whole, and a part of this one is a torn line that the next run cuts."""
        assert self._fd is not None, "append before open"
        try:
            _write_all(self._fd, (verdict.model_dump_json() + "\n").encode("utf-8"))
            if self.fsync == "always":
                os.fsync(self._fd)
            elif self.fsync == "batch":
                now = time.monotonic()
                if now - self._last_sync >= _FSYNC_EVERY_S:
                    os.fsync(self._fd)
                    self._last_sync = now
        except OSError as exc:
            raise _cannot_write(self.verdicts_path, exc) from exc

    def write_shard(self, session: int, sequence: int, verdicts: Sequence[Verdict]) -> None:
        """Write verdicts as one Parquet shard (a distributed run's, instead of appending them), whole or not at
        all."""
        assert self._lock_fd is not None, "write_shard before open"
        try:
            write_shard(self.out, session, sequence, verdicts)
        except OSError as exc:
            raise _cannot_write(self.out / "shards", exc) from exc

    def log_session(self, record: SessionRecord) -> None:
        try:
            with self.sessions_path.open("a", encoding="utf-8") as fh:
                fh.write(json.dumps(record.model_dump()) + "\n")
        except OSError as exc:
            raise _cannot_write(self.sessions_path, exc) from exc

    def add_fallbacks(self, fallbacks: Sequence[str]) -> None:
        """Record what the backends gave up this session, after what earlier sessions recorded."""
        header = read_header(self.config_path)
        merged = list(dict.fromkeys([*header.fallbacks, *fallbacks]))
        if merged != header.fallbacks:
            self._write_header(header.model_copy(update={"fallbacks": merged}))

    def close(self, session: SessionRecord | None = None, fallbacks: Sequence[str] = ()) -> None:
        """End the session: put the verdicts on disk (per `fsync`), log the session and the fallbacks, and release
        the directory (released even when one of these fails)."""
        try:
            if self._fd is not None and self.fsync != "never":
                try:
                    os.fsync(self._fd)
                except OSError as exc:
                    raise _cannot_write(self.verdicts_path, exc) from exc
            if session is not None:
                self.log_session(session)
            if fallbacks:
                self.add_fallbacks(fallbacks)
        finally:
            for fd in (self._fd, self._lock_fd):
                if fd is not None:
                    os.close(fd)  # closing the lock file releases the lock
            self._fd = self._lock_fd = None


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
