"""The run directory against real processes: two `jurist judge` on one directory, a run where every item failed,
and a disk that fills up mid-run, through the CLI and the HTTP backend."""

from __future__ import annotations

import errno
import json
import os
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from jurist.cli import main
from jurist.run import log as log_module
from jurist.testing import FakeOpenAIServer

from .support import cli_args, cli_env, counts_by_item, make_items, records, run_cli, write_jsonl

SLOW = "#fault:slow@3"


def _wait_for_requests(server: FakeOpenAIServer, proc: subprocess.Popen[str], n: int) -> None:
    deadline = time.monotonic() + 30
    while server.stats()["total"] < n:
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "the first run sent no request"
        time.sleep(0.02)


def test_a_second_process_on_the_same_run_directory_is_refused_or_waits(
    make_server: Callable[..., FakeOpenAIServer], tmp_path: Path, cache_dir: Path
) -> None:
    server = make_server()
    items = make_items("pointwise", 4, markers={i: SLOW for i in range(4)})
    data = write_jsonl(tmp_path / "items.jsonl", items)
    out = tmp_path / "run"
    args = cli_args(data, out, server.url, "--concurrency", "2", "--no-cache")
    env = cli_env(cache_dir)

    def start(command: list[str]) -> subprocess.Popen[str]:
        return subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    first = start(args)
    others: list[subprocess.Popen[str]] = []
    try:
        _wait_for_requests(server, first, 1)  # the first run holds the directory, busy for 6 s (2 rounds of 3 s)
        # both started at once, while the first still runs
        others = [start(args), start([*args, "--wait"])]
        (_, refused_err), (_, waited_err) = [p.communicate(timeout=60) for p in others]
        assert first.wait(timeout=30) == 0, first.communicate()
    finally:
        for proc in [first, *others]:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    assert others[0].returncode == 2, refused_err
    assert "in use by another jurist process" in refused_err and "--wait" in refused_err
    assert f"pid {first.pid}" in refused_err
    assert "Traceback" not in refused_err
    assert others[1].returncode == 0, waited_err
    assert "waiting for it to finish" in waited_err
    assert "4 of 4 items already judged" in " ".join(waited_err.split())
    counts = counts_by_item(server.stats(prompts=True))
    assert sorted(counts.values()) == [1, 1, 1, 1]  # nothing judged twice
    assert len(records(out)) == 4


def test_a_run_where_no_item_got_a_verdict_exits_3(
    make_server: Callable[..., FakeOpenAIServer], tmp_path: Path, cache_dir: Path
) -> None:
    server = make_server()
    items = make_items("pointwise", 3, markers={i: "#fault:400" for i in range(3)})
    data = write_jsonl(tmp_path / "items.jsonl", items)
    out = tmp_path / "run"
    args = cli_args(data, out, server.url, "--no-cache")
    env = cli_env(cache_dir)
    first = run_cli(args, env)
    assert first.returncode == 3, first.stderr
    assert "3 in data, 3 with a record, 3 failed" in first.stdout
    assert "no item got a verdict" in first.stderr and "Traceback" not in first.stderr
    again = run_cli(args, env)  # nothing left to judge (the failures are permanent): still no verdict at all
    assert again.returncode == 3, again.stderr

    good = make_items("pointwise", 3, prefix="good")
    mixed = tmp_path / "mixed"
    assert run_cli(cli_args(write_jsonl(tmp_path / "good.jsonl", good), mixed, server.url), env).returncode == 0
    # a later session where every new item fails: the run as a whole has verdicts (earlier sessions count)
    more = write_jsonl(tmp_path / "more.jsonl", [*good, *items])
    rerun = run_cli(cli_args(more, mixed, server.url, "--no-cache"), env)
    assert rerun.returncode == 0, rerun.stderr
    assert "6 in data, 6 with a record, 3 failed" in rerun.stdout


def test_judge_help_documents_the_exit_codes() -> None:
    result = CliRunner().invoke(main, ["judge", "--help"])
    assert "3 no item got a verdict" in " ".join(result.output.split())


def test_a_full_disk_mid_run_exits_2_keeps_the_verdicts_and_the_same_command_resumes(
    server: FakeOpenAIServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = write_jsonl(tmp_path / "items.jsonl", make_items("pointwise", 6))
    out = tmp_path / "run"
    args = cli_args(data, out, server.url, "--concurrency", "1", "--no-cache")[3:]
    real_write = os.write
    records_written = {"n": 0}

    def write(fd: int, payload: bytes) -> int:
        if payload.startswith(b'{"id"'):
            if records_written["n"] == 3:
                raise OSError(errno.ENOSPC, "No space left on device")
            records_written["n"] += 1
        return real_write(fd, payload)

    monkeypatch.setattr(log_module.os, "write", write)
    full = CliRunner().invoke(main, args)
    assert full.exit_code == 2, full.output
    assert "No space left on device" in full.output and "verdicts.jsonl" in full.output
    assert full.exception is None or isinstance(full.exception, SystemExit)
    assert len(records(out)) == 3
    monkeypatch.setattr(log_module.os, "write", real_write)
    again = CliRunner().invoke(main, args)
    assert again.exit_code == 0, again.output
    assert "3 of 6 items already judged" in " ".join(again.output.split())
    assert sorted(json.loads(line)["id"] for line in (out / "verdicts.jsonl").read_text().splitlines()) == [
        f"item-{i:04d}" for i in range(6)
    ]


def test_an_arena_where_every_judgment_failed_exits_3(server: FakeOpenAIServer, tmp_path: Path) -> None:
    systems = []
    for name in ("a", "b"):
        answers = [{"id": f"p{i}", "prompt": f"Q{i} #fault:400", "output": f"{name} says {i}"} for i in range(3)]
        systems += ["--system", f"{name}={write_jsonl(tmp_path / f'{name}.jsonl', answers)}"]
    for mode in ("pairwise", "pointwise"):
        args = ["arena", *systems, "--out", str(tmp_path / mode), "--mode", mode, "--model", "openai:fake-model"]
        result = CliRunner().invoke(main, [*args, "--base-url", server.url, "--no-cache", "--bootstrap", "10"])
        assert result.exit_code == 3, result.output
        assert "failed" in result.output and "Traceback" not in result.output
