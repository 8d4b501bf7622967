"""Stopping `jurist judge` mid-run (kill -9, Ctrl-C) and running the same command again."""

from __future__ import annotations

import signal
import subprocess
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from jurist.testing import FakeOpenAIServer

from .support import cli_args, cli_env, counts_by_item, make_items, records, run_cli, write_jsonl

N_ITEMS = 200
CONCURRENCY = 8


def _start_and_stop(args: list[str], env: dict[str, str], out: Path, log: Path, sig: int, after: int) -> int:
    """Start the CLI, send `sig` once `after` verdicts are on disk, and return its exit code."""
    with log.open("w") as err:
        # Restore Ctrl-C in the child: a shell without job control starts background jobs (CI, nohup) with SIGINT
        # ignored, the child inherits that, and Python then leaves SIGINT ignored.
        proc = subprocess.Popen(
            args,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=err,
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
        )
        try:
            deadline = time.monotonic() + 60
            while len(records(out)) < after:
                assert proc.poll() is None, f"the run ended before it was stopped: {log.read_text()}"
                assert time.monotonic() < deadline, "no verdicts appeared"
                time.sleep(0.01)
            proc.send_signal(sig)
            return proc.wait(timeout=30)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()


def _check_resumed_run(
    server: FakeOpenAIServer,
    out: Path,
    ids: list[str],
    first_ids: list[str],
    counts_at_stop: Counter[str],
    per_item: int,
) -> None:
    final = records(out)
    lines = (out / "verdicts.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(final) == len(lines)  # no torn line left behind
    # Every item has exactly one verdict record overall: none judged twice, none lost.
    assert Counter(r["id"] for r in final) == Counter(ids)
    assert all(r["error"] is None for r in final)
    assert [r["id"] for r in final[: len(first_ids)]] == first_ids  # the first session's records are kept as written
    counts = counts_by_item(server.stats(prompts=True))
    for item_id in first_ids:  # judged in the first session: not sent again
        assert counts[item_id] == counts_at_stop[item_id] == per_item, item_id
    for item_id in set(ids) - set(first_ids):
        assert counts[item_id] >= per_item, item_id
    # Only the requests in flight when the first session stopped were sent twice.
    assert sum(counts.values()) <= per_item * (len(ids) + CONCURRENCY)


def test_kill_9_then_the_same_command_resumes_without_judging_any_item_twice(
    make_server: Callable[..., FakeOpenAIServer], tmp_path: Path, cache_dir: Path
) -> None:
    server = make_server(latency_ms=50)
    items = make_items("pairwise", N_ITEMS)
    ids = [it["id"] for it in items]
    data = write_jsonl(tmp_path / "items.jsonl", items)
    out = tmp_path / "run"
    args = cli_args(data, out, server.url, "--concurrency", str(CONCURRENCY), "--no-cache", mode="pairwise")
    env = cli_env(cache_dir)

    code = _start_and_stop(args, env, out, tmp_path / "first.log", signal.SIGKILL, after=30)
    assert code == -signal.SIGKILL
    counts_at_stop = counts_by_item(server.stats(prompts=True))
    first_ids = [r["id"] for r in records(out)]
    assert len(set(first_ids)) == len(first_ids)
    assert 30 <= len(first_ids) < N_ITEMS

    again = run_cli(args, env)
    assert again.returncode == 0, again.stderr
    assert f"{len(first_ids)} of {N_ITEMS} items already judged" in again.stderr
    assert f"{N_ITEMS} in data, {N_ITEMS} with a record, 0 failed" in again.stdout
    _check_resumed_run(server, out, ids, first_ids, counts_at_stop, per_item=2)


def test_ctrl_c_exits_130_says_how_to_resume_and_the_rerun_completes(
    make_server: Callable[..., FakeOpenAIServer], tmp_path: Path, cache_dir: Path
) -> None:
    server = make_server(latency_ms=50)
    items = make_items("pointwise", N_ITEMS)
    ids = [it["id"] for it in items]
    data = write_jsonl(tmp_path / "items.jsonl", items)
    out = tmp_path / "run"
    args = cli_args(data, out, server.url, "--concurrency", str(CONCURRENCY), "--no-cache")
    env = cli_env(cache_dir)
    log = tmp_path / "first.log"

    code = _start_and_stop(args, env, out, log, signal.SIGINT, after=20)
    message = log.read_text()
    assert code == 130, message
    assert "Run the same command again to resume" in message
    assert str(out) in message
    assert "Traceback" not in message
    counts_at_stop = counts_by_item(server.stats(prompts=True))
    first_ids = [r["id"] for r in records(out)]
    assert 20 <= len(first_ids) < N_ITEMS
    sessions = (out / "sessions.jsonl").read_text().splitlines()
    assert len(sessions) == 1 and '"interrupted": true' in sessions[0]

    again = run_cli(args, env)
    assert again.returncode == 0, again.stderr
    assert f"{len(first_ids)} of {N_ITEMS} items already judged" in again.stderr
    _check_resumed_run(server, out, ids, first_ids, counts_at_stop, per_item=1)
