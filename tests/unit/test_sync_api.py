"""The sync facades (jurist.judge, audit, run_arena) called where an event loop is already running, as in every
Jupyter cell: a cell is an `async def` run on the notebook's loop, so these tests call the facades from inside a
coroutine run by asyncio.run."""

from __future__ import annotations

import asyncio
import json
import signal
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import pytest

import jurist
from jurist import ConfigError, FakeBackend, GenerateRequest, JobOptions, JudgeConfig
from jurist.api import run_sync
from jurist.audit import AuditOptions, audit
from jurist.leaderboard.arena import ArenaData, ArenaOptions, run_arena

from .helpers import first_shown

T = TypeVar("T")
NO_CACHE = JobOptions(cache=False)


def in_a_cell(call: Callable[[], T]) -> T:
    """Call `call` the way a notebook cell does: synchronously, from code running on an event loop."""

    async def cell() -> T:
        asyncio.get_running_loop()  # the point of the test: a loop is running here
        return call()

    return asyncio.run(cell())


def pick_good(request: GenerateRequest) -> str:
    return json.dumps({"winner": "A" if first_shown(request, "good", "bad") == "good" else "B", "rationale": "r"})


def test_judge_runs_inside_a_running_event_loop(tmp_path: Path) -> None:
    rows = [{"id": f"q{k}", "prompt": f"question {k}", "response_a": "good", "response_b": "bad"} for k in range(3)]
    rows[1] = {**rows[1], "response_a": "bad", "response_b": "good"}

    def cell() -> jurist.RunResult:
        return jurist.judge(
            rows, out=tmp_path / "run", config="pairwise", model=FakeBackend(pick_good), options=NO_CACHE
        )

    result = in_a_cell(cell)

    winners = {v.id: v.outcome.winner for v in result.verdicts()}
    assert winners == {"q0": "A", "q1": "B", "q2": "A"}
    assert all(v.error is None and v.outcome.consistent for v in result.verdicts())


def test_audit_runs_inside_a_running_event_loop(tmp_path: Path) -> None:
    items = [
        {"id": f"s{i}", "prompt": f"What is {i} plus {i}?", "response_a": "good", "response_b": "bad", "label": "A"}
        for i in range(3)
    ]
    settings = AuditOptions(probes=["position"], n_resamples=20)
    # a judge that always picks the good response: position swaps never move it
    report = in_a_cell(
        lambda: audit(
            items,
            out=tmp_path / "audit",
            config="pairwise",
            model=FakeBackend(pick_good),
            audit=settings,
            options=NO_CACHE,
        )
    )
    position = report.result("position")
    assert position.n == 3 and position.rate is not None and position.rate.value == 1.0


def test_run_arena_runs_inside_a_running_event_loop(tmp_path: Path) -> None:
    data = ArenaData(
        prompts={"p1": "Question one?", "p2": "Question two?"},
        outputs={"good": {"p1": "good", "p2": "good"}, "bad": {"p1": "bad", "p2": "bad"}},
        sources={"good": "test", "bad": "test"},
    )
    report = in_a_cell(
        lambda: run_arena(
            data,
            out=tmp_path / "arena",
            arena=ArenaOptions(n_bootstrap=10),
            config=JudgeConfig(mode="pairwise"),
            model=FakeBackend(pick_good),
            options=NO_CACHE,
        )
    )
    assert [row.system for row in report.rows] == ["good", "bad"]


def test_an_error_in_the_work_reaches_the_caller_with_its_type() -> None:
    async def fails() -> None:
        raise ConfigError("bad setting")

    with pytest.raises(ConfigError, match="bad setting"):
        in_a_cell(lambda: run_sync(fails()))
    with pytest.raises(ConfigError, match="bad setting"):
        run_sync(fails())  # and without a running loop


def test_ctrl_c_while_waiting_cancels_the_work_lets_it_clean_up_and_raises_keyboard_interrupt() -> None:
    started, cleaned_up = threading.Event(), threading.Event()

    async def long_work() -> None:
        started.set()
        try:
            await asyncio.sleep(30)
        finally:
            await asyncio.sleep(0.05)  # cleanup that needs the loop (closing connections, flushing a run)
            cleaned_up.set()

    def press_ctrl_c() -> None:
        assert started.wait(10)
        signal.pthread_kill(threading.main_thread().ident or 0, signal.SIGINT)

    async def cell() -> None:
        run_sync(long_work())

    # The notebook's loop is a plain one here: asyncio.run's own SIGINT handler would turn the first Ctrl-C into a
    # cancellation of its main task, whereas a notebook kernel raises KeyboardInterrupt in the running cell.
    loop = asyncio.new_event_loop()
    threading.Thread(target=press_ctrl_c, daemon=True).start()
    began = time.monotonic()
    try:
        with pytest.raises(KeyboardInterrupt):
            loop.run_until_complete(cell())
    finally:
        loop.close()
    assert cleaned_up.is_set(), "the work must finish its cleanup before KeyboardInterrupt reaches the caller"
    assert time.monotonic() - began < 10


def test_the_worker_loop_is_a_fresh_one() -> None:
    loops: list[Any] = []

    async def where() -> None:
        loops.append(asyncio.get_running_loop())

    async def cell() -> None:
        loops.append(asyncio.get_running_loop())
        run_sync(where())

    asyncio.run(cell())
    assert len(loops) == 2 and loops[0] is not loops[1]


def test_a_timeout_error_of_the_work_is_raised_not_waited_on() -> None:
    async def times_out() -> None:
        raise TimeoutError("the server took too long")

    with pytest.raises(TimeoutError, match="took too long"):
        in_a_cell(lambda: run_sync(times_out()))
