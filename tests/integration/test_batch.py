"""`--batch`: the providers' batch APIs against our loopback fakes of both (jurist.testing.fake_batch_server).
Verdicts equal the online path's; a crash at any step resumes without submitting a batch again; per-item
failures are recorded and retried; batches split at a size limit; a backend without a batch API, and a model the
batch endpoint refuses, stop with one clear line."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from jurist import BackendOptions, FakeBackend, JobOptions, JudgeConfig, Verdict, judge
from jurist.cli import main
from jurist.errors import ConfigError
from jurist.run import batch as batch_module
from jurist.run.batch import BatchOptions, JournalRecord, batches, read_journal
from jurist.run.log import read_run
from jurist.run.runner import RunOptions
from jurist.summary import _batch_line
from jurist.testing import FakeBatchServer

from .support import cli_args, cli_env, make_items, run_cli, write_jsonl

# latency is the only field a batch may change; the cache flag too (a resumed batch answers from the cache)
_VOLATILE = {"latency_s"}
PROVIDERS = ["openai", "anthropic"]


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeBatchServer]:
    monkeypatch.setenv("TEST_BATCH_KEY", "k-test")
    server = FakeBatchServer(polls=2)
    server.start()
    yield server
    server.stop()


def _options(fake: FakeBatchServer, provider: str, batch: BatchOptions | None, cache: bool = True) -> JobOptions:
    url = fake.url if provider == "openai" else fake.root
    backend = BackendOptions(base_url=url, api_key_env="TEST_BATCH_KEY", timeout=10.0)
    return JobOptions(backend=backend, cache=cache, batch=batch)


def _fast(**extra: Any) -> BatchOptions:
    return BatchOptions(poll_s=0.0, quiet_s=0.0, **extra)


def _judge(
    fake: FakeBatchServer,
    provider: str,
    items: list[dict[str, Any]],
    out: Path,
    *,
    mode: str = "pointwise",
    batch: BatchOptions | None = None,
    cache: bool = True,
) -> dict[str, Verdict]:
    options = _options(fake, provider, batch, cache)
    result = judge(items, out=out, config=JudgeConfig(mode=mode), model=f"{provider}:fake-model", options=options)
    return {v.id: v for v in result.verdicts()}


def _comparable(verdict: Verdict) -> dict[str, Any]:
    record = verdict.model_dump(mode="json")
    for name in _VOLATILE:
        record.pop(name, None)
    return record


def _creates(fake: FakeBatchServer, provider: str) -> int:
    return fake.batch.counts[f"{provider}_create"]


@pytest.mark.parametrize("provider", PROVIDERS)
@pytest.mark.parametrize("mode", ["pointwise", "pairwise"])
def test_batch_verdicts_equal_the_online_ones(fake: FakeBatchServer, tmp_path: Path, provider: str, mode: str) -> None:
    items = make_items(mode, 6)
    online = _judge(fake, provider, items, tmp_path / "online", mode=mode, cache=False)
    batched = _judge(fake, provider, items, tmp_path / "batch", mode=mode, batch=_fast())
    assert online.keys() == batched.keys() and len(online) == 6
    for key in online:
        assert online[key].ok, online[key].error
        assert _comparable(online[key]) == _comparable(batched[key])
    # pairwise asks both orders of each item: one batch holds both (the judges were all waiting on it)
    assert _creates(fake, provider) == 1
    info = batches(tmp_path / "batch")
    assert [b.state for b in info] == ["completed" if provider == "openai" else "ended"]
    assert info[0].requests == 6 * (2 if mode == "pairwise" else 1)
    assert info[0].prompt_tokens > 0 and info[0].completion_tokens > 0
    assert info[0].succeeded == info[0].requests


# Anthropic's batches take the requests in the create call: no upload step
CRASH_STEPS = [("openai", "uploaded")] + [(p, s) for p in PROVIDERS for s in ("created", "state", "downloaded")]


@pytest.mark.parametrize(("provider", "step"), CRASH_STEPS)
def test_a_crash_at_each_step_resumes_without_submitting_again(
    fake: FakeBatchServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, provider: str, step: str
) -> None:
    items = make_items("pointwise", 5)
    reference = _judge(fake, provider, items, tmp_path / "online", cache=False)
    out = tmp_path / "run"
    append = batch_module.Journal.append

    def crash_after(self: batch_module.Journal, record: JournalRecord) -> None:
        append(self, record)
        if record.event == step:
            raise RuntimeError(f"crash after {step}")

    monkeypatch.setattr(batch_module.Journal, "append", crash_after)
    with pytest.raises(RuntimeError, match="crash after"):
        _judge(fake, provider, items, out, batch=_fast())
    monkeypatch.setattr(batch_module.Journal, "append", append)
    creates = _creates(fake, provider)
    assert creates == (0 if step == "uploaded" else 1)

    resumed = _judge(fake, provider, items, out, batch=_fast())
    assert {k: _comparable(v) for k, v in resumed.items()} == {k: _comparable(v) for k, v in reference.items()}
    # a batch created before the crash is polled and downloaded, never submitted again
    assert _creates(fake, provider) == 1
    assert all(b.downloaded for b in batches(out))


@pytest.mark.parametrize("provider", PROVIDERS)
def test_per_item_failures_are_recorded_with_the_reason_and_retried(
    fake: FakeBatchServer, tmp_path: Path, provider: str
) -> None:
    markers = {1: "#batch:errored", 2: "#batch:expired", 3: "#batch:canceled"}
    if provider == "openai":
        markers.pop(3)  # OpenAI has no per-request cancellation
    items = make_items("pointwise", 5, markers=markers)
    out = tmp_path / "run"
    first = _judge(fake, provider, items, out, batch=_fast())
    failed = {k for k, v in first.items() if v.error is not None}
    assert failed == {items[i]["id"] for i in markers}
    reason = first[items[1]["id"]].error
    assert reason is not None and reason.retryable and "batch item errored" in reason.message
    assert "fake errored request" in reason.message
    expired = first[items[2]["id"]].error
    assert expired is not None and "expired" in expired.message
    info = batches(out)[0]
    assert info.failed == len(markers) and info.succeeded == 5 - len(markers)

    # the next run sends only the failed requests, in a new batch (they fail again: the markers stay)
    _judge(fake, provider, items, out, batch=_fast())
    assert _creates(fake, provider) == 2
    assert batches(out)[1].requests == len(markers)


@pytest.mark.parametrize("provider", PROVIDERS)
def test_failed_requests_succeed_when_the_next_run_sends_them_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, provider: str
) -> None:
    monkeypatch.setenv("TEST_BATCH_KEY", "k")
    items = make_items("pointwise", 4, markers={0: "#batch:errored", 3: "#batch:expired"})
    out = tmp_path / "run"
    fake = FakeBatchServer(polls=1, flaky=True)
    with fake:
        first = _judge(fake, provider, items, out, batch=_fast())
        assert sum(v.error is not None for v in first.values()) == 2
        second = _judge(fake, provider, items, out, batch=_fast())
    assert all(v.ok for v in second.values())
    assert [b.requests for b in batches(out)] == [4, 2]  # only the failed ones went again


@pytest.mark.parametrize("provider", PROVIDERS)
def test_polling_rides_out_server_errors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, provider: str) -> None:
    monkeypatch.setenv("TEST_BATCH_KEY", "k")
    fake = FakeBatchServer(polls=1, poll_errors=3)
    with fake:
        verdicts = _judge(fake, provider, make_items("pointwise", 3), tmp_path / "run", batch=_fast())
    assert all(v.ok for v in verdicts.values())
    assert fake.batch.counts["poll_error"] == 3 and _creates(fake, provider) == 1


def test_an_expired_openai_batch_fails_the_requests_it_did_not_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TEST_BATCH_KEY", "k")
    fake = FakeBatchServer(polls=1, expire=True)
    with fake:
        verdicts = _judge(fake, "openai", make_items("pointwise", 4), tmp_path / "run", batch=_fast())
    errors = [v.error for v in verdicts.values() if v.error is not None]
    assert len(errors) == 2 and all("expired" in e.message and e.retryable for e in errors)
    assert batches(tmp_path / "run")[0].state == "expired"


@pytest.mark.parametrize("provider", PROVIDERS)
def test_requests_beyond_a_batch_limit_are_split(fake: FakeBatchServer, tmp_path: Path, provider: str) -> None:
    items = make_items("pointwise", 7)
    verdicts = _judge(fake, provider, items, tmp_path / "run", batch=_fast(max_requests=3))
    assert all(v.ok for v in verdicts.values())
    assert _creates(fake, provider) == 3
    assert [b.requests for b in batches(tmp_path / "run")] == [3, 3, 1]


def test_a_byte_limit_splits_too(fake: FakeBatchServer, tmp_path: Path) -> None:
    items = make_items("pointwise", 4)
    verdicts = _judge(fake, "openai", items, tmp_path / "run", batch=_fast(max_bytes=4000))
    assert all(v.ok for v in verdicts.values())
    sizes = [b.requests for b in batches(tmp_path / "run")]
    assert sum(sizes) == 4 and len(sizes) > 1


def test_a_multi_round_strategy_takes_one_batch_per_round(fake: FakeBatchServer, tmp_path: Path) -> None:
    # a revision writes a revised response first, then grades the response against it: two rounds per item
    items = make_items("pointwise", 3)
    strategy = tmp_path / "revision.json"
    strategy.write_text('{"kind": "revision"}', encoding="utf-8")
    verdicts = {}
    for name, batch in (("online", None), ("batch", _fast())):
        options = _options(
            fake, "openai", batch, cache=batch is not None
        )  # online: nothing cached for the batch to find
        result = judge(
            items,
            out=tmp_path / name,
            config="pointwise",
            model="openai:fake-model",
            strategy=strategy,
            options=options,
        )
        verdicts[name] = {v.id: _comparable(v) for v in result.verdicts()}
    assert verdicts["online"] == verdicts["batch"]
    assert [b.requests for b in batches(tmp_path / "batch")] == [3, 3]


def test_a_backend_without_a_batch_api_is_refused(tmp_path: Path) -> None:
    options = JobOptions(batch=_fast())
    with pytest.raises(ConfigError, match=r"--batch needs openai: or anthropic: \(fake has no batch API\)"):
        judge(
            make_items("pointwise", 1),
            out=tmp_path / "run",
            config="pointwise",
            model=FakeBackend(["{}"]),
            options=options,
        )
    with pytest.raises(ConfigError, match=r"\(gguf:x.gguf has no batch API\)"):
        judge(make_items("pointwise", 1), out=tmp_path / "r", config="pointwise", model="gguf:x.gguf", options=options)


def test_batch_without_the_response_cache_is_refused(fake: FakeBatchServer, tmp_path: Path) -> None:
    # a finished batch's answers live in the cache: without it a resumed run would pay for them again
    with pytest.raises(ConfigError, match="leave out --no-cache"):
        _judge(fake, "openai", make_items("pointwise", 1), tmp_path / "run", batch=_fast(), cache=False)
    assert _creates(fake, "openai") == 0


def test_cli_batch_on_another_backend_exits_2(tmp_path: Path) -> None:
    data = write_jsonl(tmp_path / "items.jsonl", make_items("pointwise", 1))
    result = CliRunner().invoke(
        main, ["judge", str(data), "--mode", "pointwise", "--out", str(tmp_path / "run"), "--batch"]
    )
    assert result.exit_code == 2, result.output
    assert "--batch needs openai: or anthropic: (local has no batch API)" in result.output
    assert "Traceback" not in result.output


def test_cli_a_model_the_batch_endpoint_rejects_stops_with_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TEST_BATCH_KEY", "k")
    data = write_jsonl(tmp_path / "items.jsonl", make_items("pointwise", 2))
    fake = FakeBatchServer(polls=1, reject_models={"no-batch-model"})
    with fake:
        args = [
            "judge",
            str(data),
            "--mode",
            "pointwise",
            "--out",
            str(tmp_path / "run"),
            "--model",
            "openai:no-batch-model",
            "--base-url",
            fake.url,
            "--api-key-env",
            "TEST_BATCH_KEY",
            "--batch",
            "--batch-poll",
            "0",
        ]
        result = CliRunner().invoke(main, args)
    assert result.exit_code == 1, result.output
    assert "the batch API rejected batch" in result.output
    assert "does not support batch" in result.output and "Traceback" not in result.output


def test_cli_batch_and_show_list_the_batches(fake: FakeBatchServer, tmp_path: Path) -> None:
    data = write_jsonl(tmp_path / "items.jsonl", make_items("pointwise", 3))
    out = tmp_path / "run"
    args = [
        "judge",
        str(data),
        "--mode",
        "pointwise",
        "--out",
        str(out),
        "--model",
        "anthropic:fake-model",
        "--base-url",
        fake.root,
        "--api-key-env",
        "TEST_BATCH_KEY",
        "--batch",
        "--batch-poll",
        "0",
    ]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    assert len(read_run(out).verdicts) == 3
    shown = CliRunner().invoke(main, ["show", str(out)])
    assert shown.exit_code == 0, shown.output
    batch_id = batches(out)[0].batch_id
    assert batch_id in shown.output and "ended" in shown.output


def test_the_journal_records_every_step(fake: FakeBatchServer, tmp_path: Path) -> None:
    _judge(fake, "openai", make_items("pointwise", 2), tmp_path / "run", batch=_fast())
    events = [r.event for r in read_journal(tmp_path / "run")]
    assert events[:2] == ["uploaded", "created"] and events[-1] == "downloaded" and "state" in events
    lines = (tmp_path / "run" / "batches.jsonl").read_text().splitlines()
    assert all(json.loads(line)["backend"] for line in lines)


STOPS = [("openai", signal.SIGKILL), ("anthropic", signal.SIGKILL), ("openai", signal.SIGINT)]


@pytest.mark.parametrize(("provider", "sig"), STOPS)
def test_kill_9_or_ctrl_c_while_a_batch_runs_then_the_same_command_polls_it_without_submitting_again(
    tmp_path: Path, cache_dir: Path, provider: str, sig: int
) -> None:
    # the batch stays in progress for 3 polls; the first session polls every second, so it is stopped while waiting
    fake = FakeBatchServer(polls=3)
    items = make_items("pointwise", 4)
    data = write_jsonl(tmp_path / "items.jsonl", items)
    out = tmp_path / "run"
    with fake:
        url = fake.url if provider == "openai" else fake.root
        args = cli_args(data, out, url, "--api-key-env", "TEST_BATCH_KEY", "--batch")
        args[args.index("openai:fake-model")] = f"{provider}:fake-model"
        env = cli_env(cache_dir, TEST_BATCH_KEY="k")
        proc = subprocess.Popen(
            [*args, "--batch-poll", "1"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),  # as test_resume.py: Ctrl-C restored
        )
        try:
            deadline = time.monotonic() + 60
            while not any(r.event == "state" for r in read_journal(out)):
                assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
                assert time.monotonic() < deadline, "no batch was created"
                time.sleep(0.02)
            proc.send_signal(sig)
            code = proc.wait(timeout=30)
            stderr = proc.stderr.read() if proc.stderr else ""
            assert code == (-signal.SIGKILL if sig == signal.SIGKILL else 130), stderr
            assert "Traceback" not in stderr
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        assert _creates(fake, provider) == 1 and not (out / "verdicts.jsonl").read_text().strip()

        again = run_cli([*args, "--batch-poll", "0"], env)
        assert again.returncode == 0, again.stderr
        assert _creates(fake, provider) == 1  # polled and downloaded, not submitted again
        assert "4 in data, 4 with a record, 0 failed" in again.stdout
        assert batches(out)[0].batch_id in again.stdout


def test_the_summary_lists_a_batch_still_running_and_skips_a_torn_last_line(tmp_path: Path) -> None:
    out = tmp_path / "run"
    out.mkdir()
    journal = batch_module.Journal(out / "batches.jsonl")
    journal.append(JournalRecord(event="created", backend="b", batch_id="batch_1", keys=["k1", "k2"]))
    journal.append(JournalRecord(event="state", backend="b", batch_id="batch_1", state="in_progress"))
    with (out / "batches.jsonl").open("a") as f:
        f.write('{"event": "downl')  # killed mid-write
    [info] = batches(out)
    assert (info.batch_id, info.state, info.requests, info.downloaded) == ("batch_1", "in_progress", 2, False)
    assert "batch_1 in_progress, 2 requests (results not downloaded yet" in _batch_line(info)


def test_overwrite_discards_the_old_runs_batches(fake: FakeBatchServer, tmp_path: Path) -> None:
    items = make_items("pointwise", 2)
    out = tmp_path / "run"
    _judge(fake, "openai", items, out, batch=_fast())
    assert len(batches(out)) == 1
    options = _options(fake, "openai", _fast()).model_copy(update={"run": RunOptions(overwrite=True)})
    judge(items, out=out, config="pointwise", model="openai:fake-model", options=options)
    assert batches(out) == []  # answered from the response cache: no batch of its own, none of the old run's
