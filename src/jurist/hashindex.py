"""A compact map from texts (item ids) to 64-bit values, for streaming runs: which ids a stream has seen (duplicates)
and what a run directory holds (resume), without keeping the ids, the items or the verdicts in memory.

A text is kept as a 64-bit digest (blake2b) in a numpy open-addressing table: 16 bytes a slot (8 with no values),
at most half full, so a million ids take 32 MB (16 MB as a set), where a Python set of a million short strings takes
about 100 MB. Two texts share a digest with probability about n^2 / 2^65 (3e-8 for a million).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np

_START_SLOTS = 1024
_EMPTY = 0  # no digest is 0: digest() maps 0 to 1


def digest(text: str) -> int:
    """The 64-bit digest of `text` (never 0)."""
    value = int.from_bytes(hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=8).digest(), "little")
    return value or 1


class HashIndex:
    """Texts -> 64-bit values (or a set of texts, with `values=False`). Memory grows with the number of distinct
    texts (16 or 8 bytes a slot, at most half the slots used), never with their length."""

    def __init__(self, *, values: bool = True) -> None:
        import numpy as np  # numpy is a base dependency; imported here to keep `jurist --help` quick

        self._np = np
        self._keys: np.ndarray[Any, Any] = np.zeros(_START_SLOTS, dtype=np.uint64)
        self._values: np.ndarray[Any, Any] | None = np.zeros(_START_SLOTS, dtype=np.uint64) if values else None
        self._used = 0

    def __len__(self) -> int:
        return self._used

    def _slot(self, key: int) -> int:
        """The slot holding `key`, or the empty slot where it would go (linear probing)."""
        keys = self._keys
        mask = len(keys) - 1
        slot = key & mask
        while True:
            found = int(keys[slot])
            if found in (key, _EMPTY):
                return slot
            slot = (slot + 1) & mask

    def add(self, text: str) -> bool:
        """Add `text` (its value, if it had one, is kept); False when it was there already."""
        return self._put(digest(text), None)

    def __contains__(self, text: object) -> bool:
        return isinstance(text, str) and int(self._keys[self._slot(digest(text))]) != _EMPTY

    def put(self, text: str, value: int) -> None:
        """Map `text` to `value` (0 <= value < 2**64), replacing what it had."""
        self._put(digest(text), value)

    def get(self, text: str) -> int | None:
        slot = self._slot(digest(text))
        if int(self._keys[slot]) == _EMPTY:
            return None
        return 0 if self._values is None else int(self._values[slot])

    def count(self, where: Callable[[np.ndarray[Any, Any]], np.ndarray[Any, Any]]) -> int:
        """How many entries' values pass `where` (a vectorised test over an array of values)."""
        if self._values is None:
            return len(self)
        used = self._keys != _EMPTY
        return int(where(self._values[used]).sum())

    def _put(self, key: int, value: int | None) -> bool:
        """Put `key` with `value` (None: keep the value it has, 0 for a new key); True when it is new."""
        slot = self._slot(key)
        new = int(self._keys[slot]) == _EMPTY
        if new:
            self._keys[slot] = key
            self._used += 1
        if self._values is not None and value is not None:
            self._values[slot] = value
        if new and self._used * 2 > len(self._keys):
            self._grow()
        return new

    def _grow(self) -> None:
        np = self._np
        old_keys, old_values = self._keys, self._values
        self._keys = np.zeros(len(old_keys) * 2, dtype=np.uint64)
        self._values = None if old_values is None else np.zeros(len(old_keys) * 2, dtype=np.uint64)
        self._used = 0
        for slot in np.flatnonzero(old_keys):
            self._put(int(old_keys[slot]), 0 if old_values is None else int(old_values[slot]))
