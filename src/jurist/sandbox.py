"""Running untrusted Python (a scoring program a model wrote) over items, in a separate, limited process.

Each batch runs in a fresh `python -I` child: cwd a new temporary folder (removed after), an empty environment,
its own process group (killed at the wall-clock limit). Before the program's code runs, the child:

- sets rlimits: RLIMIT_CPU (CPU seconds for the batch), RLIMIT_AS (address space), RLIMIT_FSIZE (largest file
  written), RLIMIT_NOFILE (open files), RLIMIT_NPROC 0 (no new processes; ignored for root, hence the hook below);
- starts in a network namespace of its own where `unshare --net` works (util-linux, and the privilege to create
  one); elsewhere the audit hook below is the only barrier;
- installs an audit hook (PEP 578) that refuses sockets, new processes (subprocess, os.exec*, os.system, fork,
  posix_spawn), ctypes, changing its rlimits (root could raise them), frame and gc introspection, opening files for
  writing and folders at all outside the temporary folder, and file removal/renaming/creation outside it.

Guaranteed by the kernel: the CPU, memory, file-size and wall-clock limits, and no network where `network` in the
result says "namespace". Best effort (within Python): the audit hook. Code that escapes the interpreter's checks (a
bug in CPython, or a C extension already imported) could get past it; reading files is allowed (the program's only
way out is the scores it returns). Items go to the child as JSON on stdin; the results come back as JSON on stdout
(the program's own prints go to stderr and are dropped).
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from typing import Any, Literal

from pydantic import BaseModel

Network = Literal["namespace", "audit-hook"]


class Limits(BaseModel):
    """What one batch may use."""

    cpu_s: int = 5  # CPU seconds for the whole batch (RLIMIT_CPU)
    wall_s: float = 10.0  # wall-clock seconds for the whole batch, then the process group is killed
    item_s: float = 2.0  # wall-clock seconds for one item (a timer in the child; the hard limits back it up)
    memory_mb: int = 512  # address space (RLIMIT_AS)
    file_kb: int = 1024  # the largest file the program may write in its folder (RLIMIT_FSIZE)


class Outcome(BaseModel):
    """One item's result: the value the program returned, or why there is none."""

    value: Any = None
    error: str | None = None


class BatchResult(BaseModel):
    outcomes: list[Outcome]
    network: Network | None = None  # how the network was shut off; None when the child never reported


# The child: sets its limits, then runs the program. Kept as source text and passed with -c, so nothing on disk is
# imported from a folder the program could write to.
_CHILD = r"""
import json, os, resource, signal, sys
request = json.loads(sys.stdin.read())
workdir = os.path.realpath(os.getcwd())
limits = request["limits"]
mb = 1024 * 1024
resource.setrlimit(resource.RLIMIT_CPU, (limits["cpu_s"], limits["cpu_s"]))
resource.setrlimit(resource.RLIMIT_AS, (limits["memory_mb"] * mb, limits["memory_mb"] * mb))
resource.setrlimit(resource.RLIMIT_FSIZE, (limits["file_kb"] * 1024, limits["file_kb"] * 1024))
resource.setrlimit(resource.RLIMIT_NOFILE, (16, 16))
resource.setrlimit(resource.RLIMIT_NPROC, (0, 0))
network = request["network"]
out = os.fdopen(os.dup(1), "w")
os.dup2(2, 1)  # the program's prints go to stderr
sys.stdout = sys.stderr
WRITE = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC
REFUSED = ("socket.", "subprocess.", "os.exec", "os.spawn", "os.posix_spawn", "os.system", "os.fork", "os.forkpty",
           "os.kill", "os.killpg", "ctypes.", "pty.", "signal.", "sys.setprofile", "sys.settrace", "resource.",
           "sys._getframe", "gc.get_", "object.__getattr__")
PATHS = ("os.remove", "os.rename", "os.rmdir", "os.mkdir", "os.symlink", "os.link", "os.chmod", "os.chown",
         "os.truncate", "os.utime", "shutil.rmtree", "shutil.move")
BLOCKED_IMPORTS = ("ctypes", "_ctypes", "socket", "_socket", "subprocess", "_posixsubprocess", "multiprocessing")
def inside(path):
    if isinstance(path, int):
        return True
    return os.path.realpath(os.fsdecode(path)).startswith(workdir + os.sep)
def hook(event, args):
    if event.startswith(REFUSED):
        raise PermissionError(f"sandbox: {event} is not allowed")
    if event == "import" and args[0].split(".")[0] in BLOCKED_IMPORTS:
        raise PermissionError(f"sandbox: import {args[0]} is not allowed")
    if event == "open" and args[0] is not None:
        mode, flags = args[1] or "r", args[2] or 0
        writing = flags & WRITE or any(c in str(mode) for c in "wax+")
        if writing and not inside(args[0]):
            raise PermissionError(f"sandbox: writing {args[0]!r} outside the sandbox folder is not allowed")
        # a folder's descriptor would let os.open(name, dir_fd=...) write relative to it, which the event cannot show
        if not isinstance(args[0], int) and os.path.isdir(args[0]) and not inside(args[0]):
            raise PermissionError(f"sandbox: opening the folder {args[0]!r} is not allowed")
    if event in PATHS and not all(inside(a) for a in args[:2] if isinstance(a, (str, bytes, os.PathLike))):
        raise PermissionError(f"sandbox: {event} outside the sandbox folder is not allowed")
class ItemTimeout(BaseException):
    pass
def expire(signum, frame):
    raise ItemTimeout()
signal.signal(signal.SIGALRM, expire)
sys.addaudithook(hook)
outcomes = []
space = {"__name__": "program"}
try:
    exec(compile(request["code"], "program.py", "exec"), space)
    function = space.get(request["function"])
    if not callable(function):
        raise NameError(f"the program defines no function {request['function']}()")
except BaseException as exc:
    out.write(json.dumps({"network": network, "error": f"{type(exc).__name__}: {exc}"[:300]}))
    out.flush()
    os._exit(0)
for item in request["items"]:
    try:
        signal.setitimer(signal.ITIMER_REAL, limits["item_s"])
        value = function(item)
        signal.setitimer(signal.ITIMER_REAL, 0)
        json.dumps(value)
        outcomes.append({"value": value})
    except ItemTimeout:
        outcomes.append({"error": f"timeout: the item took over {limits['item_s']} s"})
    except BaseException as exc:
        signal.setitimer(signal.ITIMER_REAL, 0)
        outcomes.append({"error": f"{type(exc).__name__}: {exc}"[:300]})
out.write(json.dumps({"network": network, "outcomes": outcomes}))
out.flush()
os._exit(0)
"""


def run_batch(code: str, function: str, items: Sequence[dict[str, Any]], limits: Limits | None = None) -> BatchResult:
    """`function(item)` of the program `code` for each item, in one limited child process. A failure of the whole
    batch (the program does not compile, a limit killed the process, unreadable output) is every item's error."""
    limits = limits or Limits()
    isolated = _network_namespace()
    network: Network = "namespace" if isolated else "audit-hook"
    payload = {"code": code, "function": function, "items": list(items), "limits": limits.model_dump()}
    request = json.dumps({**payload, "network": network})
    workdir = tempfile.mkdtemp(prefix="jurist-sandbox-")
    try:
        process = subprocess.Popen(
            [*(["unshare", "--net", "--"] if isolated else []), sys.executable, "-I", "-S", "-c", _CHILD],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            cwd=workdir,
            env={},
            start_new_session=True,  # its own process group, killed whole at the wall-clock limit
        )
        try:
            stdout, _ = process.communicate(request.encode(), timeout=limits.wall_s)
        except subprocess.TimeoutExpired:
            _kill(process)
            return _failed(items, f"wall-clock limit: the batch ran over {limits.wall_s} s")
        _kill(process)  # anything it left behind in its group
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    if process.returncode == -signal.SIGXCPU or process.returncode == -signal.SIGKILL:
        return _failed(items, f"CPU limit: the batch used over {limits.cpu_s} s of CPU")
    if process.returncode != 0:
        return _failed(items, f"the program's process ended with status {process.returncode}")
    try:
        reply = json.loads(stdout)
        network = reply["network"]
        if "error" in reply:
            return _failed(items, f"the program did not load: {reply['error']}", network)
        outcomes = [Outcome.model_validate(o) for o in reply["outcomes"]]
        if len(outcomes) != len(items):
            raise ValueError("one result per item")
    except (ValueError, KeyError, TypeError):
        return _failed(items, "unreadable output from the program's process")
    return BatchResult(outcomes=outcomes, network=network)


@functools.cache
def _network_namespace() -> bool:
    """Whether `unshare --net` works here (util-linux, and the privilege to make a network namespace): then each
    child starts in a namespace of its own, with no network interface but loopback."""
    if shutil.which("unshare") is None:
        return False
    try:
        probe = subprocess.run(["unshare", "--net", "--", "true"], capture_output=True, timeout=10, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return probe.returncode == 0


def _kill(process: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()


def _failed(items: Sequence[Any], reason: str, network: Network | None = None) -> BatchResult:
    return BatchResult(outcomes=[Outcome(error=reason) for _ in items], network=network)
