"""The review store: people's labels of a run's items, in RUN_DIR/review.sqlite (SQLite in WAL mode).

Every label is committed (synchronous=FULL) before the app answers, so a crash or a restart loses at most the label
being typed. Several processes (two `jurist review` servers, or a server and `jurist meta-eval`) may open the same
store: WAL lets readers run beside the one writer, and every change is one short `BEGIN IMMEDIATE` transaction.

Tables:
- reviewers: the names; a name is unique per run (a second person must pick another, or `--resume-as` it);
- labels: one row per answer (a skip is an answer with no label), with what was shown (the presentation order and
  whether the judge's verdict was visible); an undo marks the reviewer's latest row undone instead of deleting it;
- claims: which item each open page ("claimant": one browser tab) is showing, until it expires, so that two tabs
  or two reviewers never get the same item at once.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from ..errors import ConfigError, InputError
from ..run.log import REVIEW_STORE

STORE_FILE = REVIEW_STORE  # its one home is the run directory's list of files (run/log.py)
CLAIM_TTL_S = 15 * 60.0  # an item shown in a tab that was closed comes back to the queue after this
SCHEMA_VERSION = 1

LabelValue = str | float

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS reviewers (name TEXT PRIMARY KEY, created REAL NOT NULL);
CREATE TABLE IF NOT EXISTS labels (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    item TEXT NOT NULL,
    reviewer TEXT NOT NULL REFERENCES reviewers(name),
    label TEXT,                -- JSON: "A" / "B" / "tie" (the item's own order) or a number; NULL for a skip
    note TEXT,
    created REAL NOT NULL,
    shown_order TEXT,          -- pairwise: "AB" (as in the item) or "BA" (swapped on screen)
    verdict_shown INTEGER NOT NULL DEFAULT 0,  -- the judge's verdict was visible before the answer
    undone REAL                -- when an undo took this answer back
);
CREATE INDEX IF NOT EXISTS labels_by_reviewer ON labels (reviewer, item);
CREATE TABLE IF NOT EXISTS claims (
    item TEXT PRIMARY KEY,
    claimant TEXT NOT NULL,
    reviewer TEXT NOT NULL,
    expires REAL NOT NULL,
    verdict_shown INTEGER NOT NULL DEFAULT 0
);
"""


class ReviewLabel(BaseModel):
    """One answer of a reviewer (the current one of its item: not undone, the latest)."""

    id: int
    item: str
    reviewer: str
    label: LabelValue | None  # None: skipped
    note: str | None = None
    created: float
    shown_order: str | None = None
    verdict_shown: bool = False


class Claim(BaseModel):
    item: str
    claimant: str
    reviewer: str
    expires: float
    verdict_shown: bool = False


class ReviewStore:
    """One connection to a run's review store. Thread-safe (one lock): the app calls it from its event loop."""

    def __init__(self, path: str | Path, *, clock: Callable[[], float] = time.time) -> None:
        self.path = Path(path)
        self._clock = clock  # the tests move time on to expire claims
        self._lock = threading.Lock()
        try:
            # autocommit mode: every change opens its own BEGIN IMMEDIATE transaction (see _write)
            self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=10.0)
            mode = self._db.execute("PRAGMA journal_mode=WAL").fetchone()[0]
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.execute("PRAGMA foreign_keys=ON")
            self._db.executescript(_SCHEMA)
            self._db.execute("INSERT OR IGNORE INTO meta (key, value) VALUES ('schema', ?)", (str(SCHEMA_VERSION),))
        except sqlite3.DatabaseError as exc:
            raise InputError(
                f"cannot open the review store: {exc}", file=str(self.path), hint="move the file away to start anew"
            ) from exc
        if str(mode).lower() != "wal":
            raise InputError(
                f"the review store cannot use WAL mode (got {mode!r})",
                file=str(self.path),
                hint="put the run directory on a local file system",
            )

    @classmethod
    def of_run(cls, run_dir: str | Path) -> ReviewStore:
        return cls(Path(run_dir) / STORE_FILE)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def __enter__(self) -> ReviewStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def journal_mode(self) -> str:
        with self._lock:
            return str(self._db.execute("PRAGMA journal_mode").fetchone()[0])

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction; BEGIN IMMEDIATE takes the write lock at once, so a read-then-write (a claim) is
        not raced by another process."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    # -- reviewers -----------------------------------------------------------------------------------------------

    def reviewers(self) -> list[str]:
        with self._lock:
            return [row[0] for row in self._db.execute("SELECT name FROM reviewers ORDER BY created, name")]

    def register(self, name: str) -> str:
        """A new reviewer. A name already in this run is refused: two people under one name would mix their labels
        (and their agreement), so continuing as an existing reviewer takes `resume` (`--resume-as`)."""
        name = _check_name(name)
        with self._write() as db:
            if db.execute("SELECT 1 FROM reviewers WHERE name = ?", (name,)).fetchone():
                count = db.execute(
                    "SELECT COUNT(*) FROM labels WHERE reviewer = ? AND undone IS NULL", (name,)
                ).fetchone()[0]
                raise ConfigError(
                    f"reviewer {name!r} already exists in {self.path.parent} ({count} answers): reviewer names are "
                    f"unique per run; to continue as {name!r} use --resume-as {name}, or pick another --reviewer name"
                )
            db.execute("INSERT INTO reviewers (name, created) VALUES (?, ?)", (name, self._clock()))
        return name

    def resume(self, name: str) -> str:
        """An existing reviewer, to continue their queue."""
        if name not in self.reviewers():
            known = ", ".join(self.reviewers()) or "none yet"
            raise ConfigError(
                f"no reviewer {name!r} in {self.path.parent} (reviewers: {known}); start one with --reviewer {name}"
            )
        return name

    # -- claims --------------------------------------------------------------------------------------------------

    def claim_next(self, reviewer: str, claimant: str, queue: Sequence[str]) -> Claim | None:
        """The item this claimant is showing, else the first item of `queue` that `reviewer` has not answered and no
        other claimant holds, now claimed for CLAIM_TTL_S. None when nothing is left for this claimant."""
        now = self._clock()
        with self._write() as db:
            db.execute("DELETE FROM claims WHERE expires < ?", (now,))
            held = db.execute(
                "SELECT item, claimant, reviewer, expires, verdict_shown FROM claims WHERE claimant = ?", (claimant,)
            ).fetchone()
            if held is not None:
                db.execute("UPDATE claims SET expires = ? WHERE claimant = ?", (now + CLAIM_TTL_S, claimant))
                return _claim(held[:3], now + CLAIM_TTL_S, held[4])
            answered = {row[0] for row in db.execute(_CURRENT_ITEMS, (reviewer,))}
            taken = {row[0] for row in db.execute("SELECT item FROM claims")}
            for item in queue:
                if item not in answered and item not in taken:
                    db.execute(
                        "INSERT INTO claims (item, claimant, reviewer, expires) VALUES (?, ?, ?, ?)",
                        (item, claimant, reviewer, now + CLAIM_TTL_S),
                    )
                    return Claim(item=item, claimant=claimant, reviewer=reviewer, expires=now + CLAIM_TTL_S)
        return None

    def claim_of(self, claimant: str) -> Claim | None:
        with self._lock:
            row = self._db.execute(
                "SELECT item, claimant, reviewer, expires, verdict_shown FROM claims WHERE claimant = ?", (claimant,)
            ).fetchone()
        return None if row is None else _claim(row[:3], row[3], row[4])

    def mark_verdict_shown(self, claimant: str, item: str) -> bool:
        """The judge's verdict was revealed on this claimant's item before the answer: recorded with the answer."""
        with self._write() as db:
            changed = db.execute(
                "UPDATE claims SET verdict_shown = 1 WHERE claimant = ? AND item = ?", (claimant, item)
            ).rowcount
        return bool(changed)

    def release(self, claimant: str) -> None:
        """Free the item a page holds (the page was closed or reloaded)."""
        with self._write() as db:
            db.execute("DELETE FROM claims WHERE claimant = ?", (claimant,))

    def release_reviewer(self, reviewer: str) -> None:
        """Free every item the reviewer's pages hold: a server starting again has none of its old pages."""
        with self._write() as db:
            db.execute("DELETE FROM claims WHERE reviewer = ?", (reviewer,))

    # -- answers -------------------------------------------------------------------------------------------------

    def answer(
        self,
        reviewer: str,
        claimant: str,
        item: str,
        label: LabelValue | None,
        *,
        note: str | None = None,
        shown_order: str | None = None,
        verdict_shown: bool = False,
    ) -> ReviewLabel:
        """Record the reviewer's answer (None: a skip) on the item this claimant shows, and free the claim. An item
        that another claimant holds is refused (it was given to another page after this one's claim expired); an
        expired claim that nobody took over is no reason to lose the answer."""
        now = self._clock()
        with self._write() as db:
            row = db.execute("SELECT claimant, verdict_shown FROM claims WHERE item = ?", (item,)).fetchone()
            if row is not None and row[0] != claimant:
                raise ConfigError(f"item {item!r} is open on another page now; reload this page for the next item")
            shown = verdict_shown or (row is not None and bool(row[1]))
            cursor = db.execute(
                "INSERT INTO labels (item, reviewer, label, note, created, shown_order, verdict_shown) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (item, reviewer, _dump(label), note or None, now, shown_order, int(shown)),
            )
            db.execute("DELETE FROM claims WHERE claimant = ?", (claimant,))
            label_id = cursor.lastrowid
        assert label_id is not None
        return ReviewLabel(
            id=label_id,
            item=item,
            reviewer=reviewer,
            label=label,
            note=note or None,
            created=now,
            shown_order=shown_order,
            verdict_shown=shown,
        )

    def undo(self, reviewer: str, claimant: str) -> ReviewLabel | None:
        """Take back the reviewer's latest answer; its item becomes the claimant's current one again (any other
        claim on it is dropped). None when there is nothing to undo."""
        now = self._clock()
        with self._write() as db:
            row = db.execute(
                f"SELECT {_LABEL_COLUMNS} FROM labels WHERE reviewer = ? AND undone IS NULL ORDER BY id DESC LIMIT 1",
                (reviewer,),
            ).fetchone()
            if row is None:
                return None
            taken = _label(row)
            db.execute("UPDATE labels SET undone = ? WHERE id = ?", (now, taken.id))
            db.execute("DELETE FROM claims WHERE claimant = ? OR item = ?", (claimant, taken.item))
            db.execute(
                "INSERT INTO claims (item, claimant, reviewer, expires) VALUES (?, ?, ?, ?)",
                (taken.item, claimant, reviewer, now + CLAIM_TTL_S),
            )
        return taken

    def labels(self, reviewer: str | None = None) -> list[ReviewLabel]:
        """The current answers (skips included, label None): per reviewer and item the latest one not undone."""
        query = f"SELECT {_LABEL_COLUMNS} FROM labels WHERE id IN ({_CURRENT_IDS})"
        args: tuple[str, ...] = ()
        if reviewer is not None:
            query += " AND reviewer = ?"
            args = (reviewer,)
        with self._lock:
            rows = self._db.execute(query + " ORDER BY id", args).fetchall()
        return [_label(row) for row in rows]


_LABEL_COLUMNS = "id, item, reviewer, label, note, created, shown_order, verdict_shown"
_CURRENT_IDS = "SELECT MAX(id) FROM labels WHERE undone IS NULL GROUP BY reviewer, item"
_CURRENT_ITEMS = "SELECT DISTINCT item FROM labels WHERE reviewer = ? AND undone IS NULL"


def _check_name(name: str) -> str:
    name = name.strip()
    if not name or len(name) > 64 or any(not (c.isalnum() or c in "-_. @") for c in name):
        raise ConfigError(
            f"reviewer name {name!r}: use 1-64 letters, digits, spaces or - _ . @ (e.g. --reviewer alice)"
        )
    return name


def _dump(label: LabelValue | None) -> str | None:
    return None if label is None else json.dumps(label)


def _claim(row: Sequence[str], expires: float, shown: int) -> Claim:
    return Claim(item=row[0], claimant=row[1], reviewer=row[2], expires=expires, verdict_shown=bool(shown))


def _label(row: Sequence[Any]) -> ReviewLabel:
    raw = row[3]
    return ReviewLabel(
        id=int(row[0]),
        item=str(row[1]),
        reviewer=str(row[2]),
        label=None if raw is None else json.loads(str(raw)),
        note=row[4],
        created=float(row[5]),
        shown_order=row[6],
        verdict_shown=bool(row[7]),
    )
