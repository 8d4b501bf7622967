"""The `jurist` command against a real HTTP server: fatal errors stop the run, the API key stays secret."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from jurist.testing import FakeOpenAIServer
from jurist.testing.fake_openai_server import GARBAGE

from .support import KEY_ENV, SECRET, cli_args, cli_env, make_items, records, run_cli, write_jsonl

N_ITEMS = 40
CONCURRENCY = 4


def _no_secret(text: str) -> bool:
    return SECRET not in text and SECRET[-12:] not in text


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        ("401", ["HTTP 401", "authentication failed", "--api-key-env"]),
        ("404", ["HTTP 404", "Check the model name and --base-url"]),
        ("wrong-key", ["HTTP 401", "authentication failed"]),
    ],
)
def test_auth_and_not_found_errors_stop_the_whole_run_at_once(
    make_server: Callable[..., FakeOpenAIServer], tmp_path: Path, cache_dir: Path, case: str, expected: list[str]
) -> None:
    if case == "wrong-key":
        # The server wants another key and, like some real ones, echoes the key it was given.
        server = make_server(require_key="sk-test-THE-RIGHT-ONE-0000")
        markers: dict[int, str] = {}
    else:
        server = make_server()
        markers = {i: f"#fault:{case}" for i in range(N_ITEMS)}
    data = write_jsonl(tmp_path / "items.jsonl", make_items("pointwise", N_ITEMS, markers=markers))
    out = tmp_path / "run"
    args = cli_args(data, out, server.url, "--concurrency", str(CONCURRENCY), "--api-key-env", KEY_ENV)
    proc = run_cli(args, cli_env(cache_dir, **{KEY_ENV: SECRET}))

    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr and "Traceback" not in proc.stdout
    for phrase in expected:
        assert phrase in proc.stderr, proc.stderr
    assert "run the same command again to resume" in proc.stderr
    assert _no_secret(proc.stdout + proc.stderr)
    # Stopped at once: no retries, nothing beyond the requests already in flight.
    stats = server.stats()
    assert 1 <= stats["total"] <= CONCURRENCY
    assert "429" not in stats["statuses"] and "500" not in stats["statuses"]
    assert records(out) == []  # a fatal error is not recorded as the items' verdict

    if case == "wrong-key":
        # With the right key the same command judges every item.
        fixed = run_cli(args, cli_env(cache_dir, **{KEY_ENV: "sk-test-THE-RIGHT-ONE-0000"}))
        assert fixed.returncode == 0, fixed.stderr
        assert sorted(r["id"] for r in records(out)) == [f"item-{i:04d}" for i in range(N_ITEMS)]


def test_the_api_key_appears_in_no_output_file_or_stream(
    make_server: Callable[..., FakeOpenAIServer], tmp_path: Path, cache_dir: Path
) -> None:
    server = make_server(require_key=SECRET)  # answers only when the key is really sent
    markers = {1: "#fault:malformed", 2: "#fault:garbage", 3: "#fault:500x1", 4: "#fault:dropx1"}
    data = write_jsonl(tmp_path / "items.jsonl", make_items("pairwise", 8, markers=markers))
    out = tmp_path / "run"
    args = cli_args(data, out, server.url, "--api-key-env", KEY_ENV, "--max-retries", "1", mode="pairwise")
    proc = run_cli(args, cli_env(cache_dir, **{KEY_ENV: SECRET}))

    assert proc.returncode == 0, proc.stderr
    stats = server.stats()
    assert stats["statuses"].get("401") is None and stats["total"] >= 16
    by_id = {r["id"]: r for r in records(out)}
    assert by_id["item-0001"]["error"]["reason"] == "retries_exhausted"
    assert by_id["item-0002"]["error"]["reason"] == "parse_failure"
    assert by_id["item-0000"]["error"] is None

    files = [p for p in [*out.rglob("*"), *cache_dir.rglob("*")] if p.is_file()]
    names = {p.name for p in files}
    assert {"verdicts.jsonl", "config.json", "sessions.jsonl", "responses.sqlite"} <= names
    for path in files:
        content = path.read_bytes()
        assert SECRET.encode() not in content and SECRET[-12:].encode() not in content, path
    assert _no_secret(proc.stdout + proc.stderr)


def test_timeouts_and_unreadable_answers_are_recorded_per_item_and_the_run_goes_on(
    server: FakeOpenAIServer, tmp_path: Path, cache_dir: Path
) -> None:
    markers = {3: "#fault:garbage", 4: "#fault:slow@3", 5: "#fault:slowx1@3"}
    data = write_jsonl(tmp_path / "items.jsonl", make_items("pointwise", 8, markers=markers))
    out = tmp_path / "run"
    args = cli_args(data, out, server.url, "--no-cache", "--timeout", "0.4", "--max-retries", "1")
    proc = run_cli(args, cli_env(cache_dir))

    assert proc.returncode == 0, proc.stderr
    assert "openai:fake-model, pointwise" in proc.stdout
    assert "8 in data, 8 with a record, 2 failed" in proc.stdout
    assert "parse_failure: 1" in proc.stdout and "retries_exhausted: 1" in proc.stdout
    by_id = {r["id"]: r for r in records(out)}
    assert "no answer from" in by_id["item-0004"]["error"]["message"]
    assert "within 0.4s" in by_id["item-0004"]["error"]["message"]
    assert by_id["item-0005"]["error"] is None  # slow once, answered on the retry
    assert by_id["item-0003"]["raw"] == [GARBAGE]
    assert not (cache_dir / "responses.sqlite").exists()  # --no-cache
