"""The sandbox that runs model-written programs: a good program scores, a hostile one is stopped with a reason."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from jurist.sandbox import Limits, run_batch

ITEMS = [{"response": "short"}, {"response": "a longer response"}]
FAST = Limits(cpu_s=3, wall_s=20, item_s=1, memory_mb=256)


def _errors(code: str, limits: Limits = FAST) -> list[str | None]:
    return [o.error for o in run_batch(code, "score", ITEMS, limits).outcomes]


def test_a_good_program_scores_every_item() -> None:
    result = run_batch("def score(item):\n    return len(item['response'])\n", "score", ITEMS, FAST)
    assert [o.value for o in result.outcomes] == [5, 17] and all(o.error is None for o in result.outcomes)
    assert result.network in ("namespace", "audit-hook")


def test_a_program_that_raises_on_one_item_fails_that_item_only() -> None:
    code = (
        "def score(item):\n    if item['response'] == 'short':\n        raise ValueError('too short')\n    return 3\n"
    )
    outcomes = run_batch(code, "score", ITEMS, FAST).outcomes
    assert outcomes[0].error == "ValueError: too short" and outcomes[1].value == 3


def test_a_socket_is_refused() -> None:
    for code in (
        "import socket\ndef score(item):\n    return 1\n",
        "def score(item):\n    import _socket\n    return _socket.socket()\n",
    ):
        errors = _errors(code)
        assert all(e is not None and "sandbox: import" in e and "socket is not allowed" in e for e in errors), errors


def test_writing_outside_its_folder_is_refused_and_inside_allowed(tmp_path: Path) -> None:
    target = tmp_path / "escaped.txt"
    errors = _errors(f"def score(item):\n    open({str(target)!r}, 'w').write('x')\n    return 1\n")
    assert all(e is not None and "outside the sandbox folder is not allowed" in e for e in errors)
    assert not target.exists()
    inside = "def score(item):\n    with open('notes.txt', 'a') as f:\n        f.write('x')\n    return 2\n"
    assert [o.value for o in run_batch(inside, "score", ITEMS, FAST).outcomes] == [2, 2]


def test_a_new_process_is_refused(tmp_path: Path) -> None:
    marker = tmp_path / "spawned"
    for call in (f"os.system('touch {marker}')", "os.fork()", "os.execv('/bin/true', ['true'])"):
        errors = _errors(f"import os\ndef score(item):\n    {call}\n    return 1\n")
        assert all(e is not None and "is not allowed" in e for e in errors), (call, errors)
    errors = _errors("import subprocess\ndef score(item):\n    return 1\n")
    assert all(e is not None and "import subprocess is not allowed" in e for e in errors)
    assert not marker.exists()


def test_an_endless_loop_is_stopped_per_item() -> None:
    errors = _errors("def score(item):\n    while True:\n        pass\n")
    assert errors == ["timeout: the item took over 1.0 s"] * 2


def test_a_loop_that_ignores_the_item_timer_meets_the_cpu_limit() -> None:
    code = (
        "import signal\nsignal.signal(signal.SIGALRM, signal.SIG_IGN)\n"
        + "def score(item):\n    while True:\n        pass\n"
    )
    started = time.monotonic()
    errors = _errors(code, Limits(cpu_s=1, wall_s=30, item_s=1))
    assert errors == ["CPU limit: the batch used over 1 s of CPU"] * 2 and time.monotonic() - started < 25


def test_a_sleeping_program_meets_the_wall_clock_limit() -> None:
    code = "import signal, time\nsignal.signal(signal.SIGALRM, signal.SIG_IGN)\ndef score(item):\n    time.sleep(60)\n"
    started = time.monotonic()
    errors = _errors(code, Limits(cpu_s=5, wall_s=1.5, item_s=1))
    assert errors == ["wall-clock limit: the batch ran over 1.5 s"] * 2 and time.monotonic() - started < 10


def test_allocating_2_gb_fails_with_a_memory_error() -> None:
    errors = _errors("def score(item):\n    block = bytearray(2 * 1024 ** 3)\n    return len(block)\n")
    assert errors == ["MemoryError: "] * 2


def test_printing_garbage_does_not_corrupt_the_results() -> None:
    code = "import os, sys\ndef score(item):\n    print('{not json'); os.write(1, b'garbage')\n    return 4\n"
    assert [o.value for o in run_batch(code, "score", ITEMS, FAST).outcomes] == [4, 4]
    # an answer that is not JSON is that item's failure
    errors = _errors("def score(item):\n    return object()\n")
    assert all(e is not None and e.startswith("TypeError") for e in errors)


@pytest.mark.parametrize(
    ("code", "reason"),
    [
        ("def score(item) return 1\n", "the program did not load: SyntaxError"),
        ("def grade(item):\n    return 1\n", "the program did not load: NameError: the program defines no function"),
        ("import ctypes\ndef score(item):\n    return 1\n", "import ctypes is not allowed"),
    ],
)
def test_a_program_that_does_not_load_fails_every_item(code: str, reason: str) -> None:
    errors = _errors(code)
    assert all(e is not None and reason in e for e in errors), errors


def test_the_limits_cannot_be_raised_nor_a_folder_opened_outside(tmp_path: Path) -> None:
    raised = (
        "import resource\ndef score(item):\n    resource.setrlimit(resource.RLIMIT_CPU, (100, 100))\n    return 1\n"
    )
    assert all(e is not None and "resource.setrlimit is not allowed" in e for e in _errors(raised))
    # a folder's descriptor would let os.open write relative to it
    target = tmp_path / "via_dir_fd.txt"
    code = (
        f"import os\ndef score(item):\n    fd = os.open({str(tmp_path)!r}, os.O_RDONLY)\n"
        "    os.open('via_dir_fd.txt', os.O_WRONLY | os.O_CREAT, dir_fd=fd)\n    return 1\n"
    )
    assert all(e is not None and "opening the folder" in e for e in _errors(code))
    assert not target.exists()


def test_the_network_is_a_namespace_of_its_own_where_unshare_works() -> None:
    code = "def score(item):\n    return open('/proc/net/dev').read().count(':')\n"
    result = run_batch(code, "score", ITEMS[:1], FAST)
    if result.network == "namespace":
        assert result.outcomes[0].value == 1  # loopback only
    else:
        assert result.network == "audit-hook"


def test_a_file_over_the_size_limit_fails_the_item() -> None:
    code = (
        "def score(item):\n    with open('big.bin', 'wb') as f:\n        f.write(b'x' * 2 * 1024 ** 2)\n"
        + "    return 1\n"
    )
    errors = _errors(code, FAST.model_copy(update={"file_kb": 64}))
    assert all(e is not None and "File too large" in e for e in errors), errors
