"""`jurist judge --engine ray` on a local Ray cluster of 2 workers against the fake OpenAI-compatible server: the
same verdicts as the online path, read by every reader of a run, and resumed by shard after kill -9."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from jurist import BackendOptions, JobOptions, Verdict
from jurist.cli import main
from jurist.errors import BackendError
from jurist.run.log import read_run
from jurist.scale.ray_data import RayOptions, RayRunOutcome, judge_ray
from jurist.testing import FakeOpenAIServer

from .support import KEY_ENV, cli_args, cli_env, counts_by_item, judge_via_api, make_items, write_jsonl

ray = pytest.importorskip("ray", reason="Ray is not installed (pip install 'jurist[ray]'): the Ray engine is untested")
parquet = pytest.importorskip("pyarrow.parquet", reason="the Ray engine's shards need pyarrow (jurist[parquet])")
pytestmark = pytest.mark.ray

WORKERS = 2


@pytest.fixture(scope="module")
def local_ray() -> Iterator[Any]:
    """One local Ray for the in-process tests (the engine uses a Ray this process started): its start is slow."""
    ray.init(num_cpus=WORKERS + 1, include_dashboard=False, log_to_driver=False)
    yield ray
    ray.shutdown()


def _options(server: FakeOpenAIServer) -> JobOptions:
    return JobOptions(backend=BackendOptions(base_url=server.url, api_key_env=KEY_ENV), cache=False)


def _comparable(verdict: Verdict) -> dict[str, Any]:
    return verdict.model_dump(mode="json", exclude={"latency_s"})


def _shard_ids(out: Path) -> dict[str, list[str]]:
    """The item ids in each shard file, by file name."""
    return {p.name: parquet.read_table(p).column("id").to_pylist() for p in sorted((out / "shards").glob("*.parquet"))}


def _wait_until_quiet(server: FakeOpenAIServer, quiet_s: float = 3.0, limit_s: float = 90.0) -> None:
    """Wait until the server has had no request for `quiet_s`."""
    deadline = time.monotonic() + limit_s
    seen, since = server.stats()["total"], time.monotonic()
    while time.monotonic() - since < quiet_s:
        assert time.monotonic() < deadline, "requests kept coming after the driver was killed"
        time.sleep(0.2)
        total = server.stats()["total"]
        if total != seen:
            seen, since = total, time.monotonic()


def _export(out: Path, target: Path) -> list[dict[str, Any]]:
    result = CliRunner().invoke(main, ["export", str(out), "--format", "jsonl", "--out", str(target)])
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in target.read_text(encoding="utf-8").splitlines()]
    return sorted(({k: v for k, v in row.items() if "latency" not in k} for row in rows), key=lambda r: r["id"])


@pytest.mark.parametrize("mode", ["pointwise", "pairwise"])
def test_ray_verdicts_are_the_online_verdicts(
    local_ray: Any, server: FakeOpenAIServer, tmp_path: Path, mode: str
) -> None:
    items = make_items(mode, 10)
    online = judge_via_api(server, items, tmp_path / "online", mode=mode)
    result = judge_ray(
        items,
        out=tmp_path / "ray",
        config=mode,
        model="openai:fake-model",
        options=_options(server),
        ray=RayOptions(num_workers=WORKERS, batch_size=3),
    )
    outcome = result.outcome
    assert isinstance(outcome, RayRunOutcome)
    assert (outcome.judged, outcome.failed, outcome.skipped) == (10, 0, 0)
    assert outcome.shards == len(_shard_ids(tmp_path / "ray")) >= 2  # Ray Data may join batches into one block
    assert sum(outcome.workers.values()) == 10
    on_ray = {v.id: v for v in result.verdicts()}
    assert sorted(on_ray) == sorted(online)
    for item_id, verdict in online.items():
        assert _comparable(on_ray[item_id]) == _comparable(verdict), item_id
    assert not (tmp_path / "ray" / "verdicts.jsonl").read_bytes()  # every verdict is in a shard
    assert sorted(i for ids in _shard_ids(tmp_path / "ray").values() for i in ids) == sorted(online)
    # every reader of a run reads the shards: the summary (show) and the export
    shown = CliRunner().invoke(main, ["show", str(tmp_path / "ray"), "--json"])
    assert shown.exit_code == 0, shown.output
    assert json.loads(shown.output)["judged"] == 10
    assert _export(tmp_path / "ray", tmp_path / "ray.jsonl") == _export(tmp_path / "online", tmp_path / "online.jsonl")


def test_a_second_run_judges_only_the_items_without_a_verdict(
    local_ray: Any, server: FakeOpenAIServer, tmp_path: Path
) -> None:
    items = make_items("pointwise", 10)
    out = tmp_path / "run"

    def run(some: list[dict[str, Any]]) -> RayRunOutcome:
        ray_options = RayOptions(num_workers=WORKERS, batch_size=2)
        result = judge_ray(
            some, out=out, config="pointwise", model="openai:fake-model", options=_options(server), ray=ray_options
        )
        assert isinstance(result.outcome, RayRunOutcome)
        return result.outcome

    first = run(items[:6])
    assert (first.judged, first.skipped) == (6, 0)
    second = run(items)
    assert (second.judged, second.skipped) == (4, 6)
    assert counts_by_item(server.stats(prompts=True)) == Counter({it["id"]: 1 for it in items})  # none sent twice
    shards = _shard_ids(out)
    sessions = [name[:6] for name in shards]  # numbered in writing order
    assert sessions == sorted(sessions) and set(sessions) == {"000001", "000002"}
    assert sessions.count("000002") == second.shards
    assert Counter(i for ids in shards.values() for i in ids) == Counter(it["id"] for it in items)
    assert len(read_run(out).verdicts) == 10


def test_kill_9_of_the_driver_then_the_same_command_resumes_by_shard(
    make_server: Callable[..., FakeOpenAIServer], tmp_path: Path, cache_dir: Path
) -> None:
    n = 60
    server = make_server(latency_ms=300)
    items = make_items("pointwise", n)
    data = write_jsonl(tmp_path / "items.jsonl", items)
    out = tmp_path / "run"
    args = cli_args(data, out, server.url, "--engine", "ray", "--num-workers", str(WORKERS), "--concurrency", "2")
    args.append("--no-cache")  # every item the second run judges reaches the server
    env = cli_env(cache_dir)
    with (tmp_path / "first.log").open("w") as log:
        driver = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=log)
        try:
            deadline = time.monotonic() + 240  # Ray's start: under a minute on an idle machine
            while not _shard_ids(out) if (out / "shards").is_dir() else True:
                assert driver.poll() is None, (tmp_path / "first.log").read_text()
                assert time.monotonic() < deadline, "no shard appeared"
                time.sleep(0.02)
            driver.send_signal(signal.SIGKILL)
            assert driver.wait(timeout=30) == -signal.SIGKILL
        finally:
            if driver.poll() is None:
                driver.kill()
                driver.wait()
    first = [i for ids in _shard_ids(out).values() for i in ids]
    assert 0 < len(first) < n
    # the killed driver's local Ray workers finish the calls they hold (their verdicts are lost) before they exit
    _wait_until_quiet(server)
    server.reset()

    done = subprocess.run(args, env=env, capture_output=True, text=True, timeout=400)
    assert done.returncode == 0, done.stderr
    shards = _shard_ids(out)
    # every item has exactly one verdict in the output, and only those without one were judged again
    assert Counter(i for ids in shards.values() for i in ids) == Counter(it["id"] for it in items)
    assert sum(counts_by_item(server.stats(prompts=True)).values()) == n - len(first)
    assert {name[:6] for name in shards} == {"000001", "000002"}
    assert not list((out / "shards").glob(".*"))  # what the killed driver left half-written is gone
    assert len(read_run(out).verdicts) == n


def test_a_fatal_error_at_a_worker_stops_the_run_with_its_own_message(
    local_ray: Any, make_server: Callable[..., FakeOpenAIServer], tmp_path: Path
) -> None:
    server = make_server(require_key="the-right-key")  # no key is sent: 401, a fatal error
    with pytest.raises(BackendError) as caught:
        judge_ray(
            make_items("pointwise", 4),
            out=tmp_path / "run",
            config="pointwise",
            model="openai:fake-model",
            options=_options(server),
            ray=RayOptions(num_workers=WORKERS, batch_size=2),
        )
    assert type(caught.value) is BackendError and caught.value.fatal
    assert "401" in str(caught.value) and "Traceback" not in str(caught.value)
    sessions = (tmp_path / "run" / "sessions.jsonl").read_text(encoding="utf-8").splitlines()
    assert json.loads(sessions[-1])["interrupted"] is True
