"""The command-line process's garbage collector, set once, around the import of the command that runs.

Importing `jurist judge` makes some 10^5 objects (modules, classes, pydantic's validators) that live as long as the
process. CPython's cyclic collector passes over them again and again while they are made, freeing nothing: 6-7%
of the instructions of a run's start-up (docs/benchmarks.md, "Hot path"). So the import runs with the collector
off; then what it made is frozen (no later pass walks it), and the first generation is collected after 20,000 new
objects instead of 700, which makes the passes during a run rarer. Only the command line does this: a library must
not change its host's collector.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

# The first generation's threshold for the rest of the process (CPython's default is 700).
YOUNG_THRESHOLD = 20_000
_frozen = False


@contextmanager
def command_import() -> Iterator[None]:
    """Import a command inside this: the collector is off meanwhile, and afterwards the objects made so far are
    frozen (the first time) and the young generation is collected less often. A collector someone turned off stays
    as it is."""
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        global _frozen
        if not _frozen:  # once: each freeze keeps the garbage it catches (tests import many commands)
            gc.freeze()  # (a flag, not gc.get_freeze_count(): that walks every frozen object on each call)
            _frozen = True
        gc.set_threshold(YOUNG_THRESHOLD, *gc.get_threshold()[1:])
        gc.enable()
