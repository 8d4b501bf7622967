"""Streaming runs (issue 18): a JSONL or Parquet file, or a generator, is read in blocks as it is judged; memory does
not grow with the number of items; resume reads an index of judged items; a bad line in a later block stops the run
after the earlier blocks are judged and kept; duplicate ids across blocks are still refused."""

from __future__ import annotations

import asyncio
import json
import tracemalloc
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from jurist import FakeBackend, GenerateRequest, GenerateResponse, JudgeConfig
from jurist.api import RunResult, ajudge
from jurist.cli import main
from jurist.data import load
from jurist.errors import BackendError, InputError
from jurist.hashindex import HashIndex
from jurist.run.engine import JobOptions
from jurist.run.log import VERDICTS_FILE, iter_run, read_run
from jurist.run.runner import RunOptions
from jurist.summary import summarize
from jurist.testing import FakeOpenAIServer

REPLY = '{"rationale": "fine", "score": 4}'
BLOCK = 50  # small blocks, so that small files have several


@pytest.fixture(autouse=True)
def small_blocks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(load, "BLOCK_ITEMS", BLOCK)


def rows(n: int, start: int = 0) -> Iterator[dict[str, Any]]:
    for i in range(start, start + n):
        yield {"id": f"q{i:06d}", "prompt": f"question {i} " + "x" * 200, "response": "y" * 400, "label": i % 5 + 1}


def write_jsonl(path: Path, records: Iterator[dict[str, Any]] | list[dict[str, Any]]) -> Path:
    with path.open("w", encoding="utf-8") as fh:
        for record in records:
            fh.write(json.dumps(record) + "\n")
    return path


class Forgetful(FakeBackend):
    """The fake backend without its record of every request (which grows with the items by design)."""

    async def generate(self, request: GenerateRequest) -> GenerateResponse:
        response = await super().generate(request)
        self.requests.clear()
        return response


def options(concurrency: int = 8) -> JobOptions:
    return JobOptions(cache=False, run=RunOptions(concurrency=concurrency, fsync="never"))


def judge_file(data: Any, out: Path, backend: FakeBackend) -> RunResult:
    return asyncio.run(ajudge(data, out=out, config=JudgeConfig(mode="pointwise"), model=backend, options=options()))


def verdict_ids(out: Path) -> list[str]:
    with (out / VERDICTS_FILE).open(encoding="utf-8") as fh:
        return [json.loads(line)["id"] for line in fh]


def test_hash_index_keeps_every_text_through_its_growth() -> None:
    index = HashIndex()
    for i in range(5000):
        assert index.add(f"id-{i}")
        index.put(f"id-{i}", i * 3)
    assert len(index) == 5000
    assert not index.add("id-17")  # already there
    assert index.get("id-4999") == 4999 * 3
    assert index.get("id-5000") is None and "id-5000" not in index and "id-0" in index
    assert index.count(lambda values: values % 2 == 0) == 2500


def peak_bytes(tmp_path: Path, n: int) -> int:
    data = write_jsonl(tmp_path / f"items-{n}.jsonl", rows(n))
    backend = Forgetful(REPLY)
    tracemalloc.start()
    try:
        result = judge_file(data, tmp_path / f"run-{n}", backend)
        summary = result.summary()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert summary.judged == n and summary.failed == 0 and summary.labelled == n
    return peak


def test_memory_does_not_grow_with_the_number_of_items(tmp_path: Path) -> None:
    # the Python heap's peak over the whole run (load, judge, write, summarize): ten times the items, with every
    # item held it would be several times the peak; streamed, one block and the ids' 8-byte digests
    small, large = peak_bytes(tmp_path, 400), peak_bytes(tmp_path, 4000)
    assert large < 1.5 * small, (small, large)


def test_a_stream_gets_the_same_verdicts_and_summary_as_a_list(tmp_path: Path) -> None:
    data = write_jsonl(tmp_path / "items.jsonl", rows(170))
    streamed = judge_file(data, tmp_path / "streamed", FakeBackend(REPLY))
    judge_file(load.load_items(data, "pointwise"), tmp_path / "whole", FakeBackend(REPLY))
    assert streamed.outcome is not None and streamed.outcome.total == 170
    assert read_run(tmp_path / "streamed").header.items == 170  # counted before reading
    one, other = summarize(tmp_path / "streamed"), summarize(tmp_path / "whole")
    ignore = {"out", "wall_s", "judgments_per_s"}
    assert one.model_dump(exclude=ignore) == other.model_dump(exclude=ignore)
    assert verdict_ids(tmp_path / "streamed") == [f"q{i:06d}" for i in range(170)]


def test_a_generator_is_streamed_through_the_api(tmp_path: Path) -> None:
    taken: list[int] = []

    def records() -> Iterator[dict[str, Any]]:
        for record in rows(120):
            taken.append(1)
            yield record

    backend = FakeBackend(REPLY)
    judge_file(records(), tmp_path / "run", backend)
    assert len(taken) == 120 and len(verdict_ids(tmp_path / "run")) == 120
    assert summarize(tmp_path / "run").items == 120  # no total known before: the verdicts are counted


def test_parquet_is_streamed_by_record_batches(tmp_path: Path) -> None:
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    data = tmp_path / "items.parquet"
    pq.write_table(pa.Table.from_pylist(list(rows(130))), data, row_group_size=40)
    stream = load.open_data(data, "pointwise")
    assert isinstance(stream, load.ItemStream) and stream.total == 130 and len(stream.head.items) == BLOCK
    judge_file(stream, tmp_path / "run", FakeBackend(REPLY))
    assert verdict_ids(tmp_path / "run") == [f"q{i:06d}" for i in range(130)]


def test_resume_after_an_interruption_judges_only_the_rest(tmp_path: Path) -> None:
    data = write_jsonl(tmp_path / "items.jsonl", rows(300))
    calls = 0

    def stops_after_120(request: GenerateRequest) -> str:
        nonlocal calls
        calls += 1
        if calls > 120:
            raise BackendError("the key was revoked", fatal=True)
        return REPLY

    with pytest.raises(BackendError):
        judge_file(data, tmp_path / "run", FakeBackend(stops_after_120))
    first = verdict_ids(tmp_path / "run")
    assert 100 <= len(first) <= 120  # the items in flight when it stopped have no verdict
    second = FakeBackend(REPLY)
    result = judge_file(data, tmp_path / "run", second)
    assert len(second.requests) == 300 - len(first)  # only the rest
    assert result.outcome is not None and result.outcome.skipped == len(first)
    ids = verdict_ids(tmp_path / "run")
    assert sorted(ids) == [f"q{i:06d}" for i in range(300)]  # each item once: none judged twice
    _, current = iter_run(tmp_path / "run")
    assert sum(1 for _ in current) == 300


def test_resume_judges_again_a_transient_failure_and_an_edited_item(tmp_path: Path) -> None:
    data = write_jsonl(tmp_path / "items.jsonl", rows(120))

    def flaky(request: GenerateRequest) -> str | Exception:
        text = request.messages[-1].content
        return BackendError("busy", retryable=True) if "question 7 " in text else REPLY

    judge_file(data, tmp_path / "run", FakeBackend(flaky))
    edited = list(rows(120))
    edited[100]["response"] = "changed"
    write_jsonl(data, edited)
    second = FakeBackend(REPLY)
    judge_file(data, tmp_path / "run", second)
    asked = sorted(r.messages[-1].content.split("question ")[1].split(" ")[0] for r in second.requests)
    assert asked == ["100", "7"]
    summary = summarize(tmp_path / "run")
    assert summary.judged == 120 and summary.failed == 0  # the retried item's last record wins


def test_a_bad_line_mid_file_stops_after_the_earlier_blocks_and_keeps_them(tmp_path: Path) -> None:
    lines = [json.dumps(r) for r in rows(200)]
    lines[129] = '{"id": "q000129", "prompt": "broken'  # line 130, in the third block (lines 101-150)
    data = tmp_path / "items.jsonl"
    data.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with FakeOpenAIServer() as server:
        args = ["judge", str(data), "--mode", "pointwise", "--out", str(tmp_path / "run"), "--no-cache"]
        server_args = ["--model", "openai:fake", "--base-url", server.url, "--max-retries", "0"]
        result = CliRunner().invoke(main, [*args, *server_args])
    assert result.exit_code == 2, result.output
    assert f"{data}:130" in result.stderr and "malformed JSON" in result.stderr
    assert "100 verdicts made before it are kept" in result.stderr and "run the same command again" in result.stderr
    assert "Traceback" not in result.output
    # the two blocks before the bad line's were judged and recorded; nothing of its block
    assert sorted(verdict_ids(tmp_path / "run")) == [f"q{i:06d}" for i in range(100)]


def test_a_bad_record_in_the_first_block_stops_before_any_call(tmp_path: Path) -> None:
    records = list(rows(120))
    del records[10]["response"]
    data = write_jsonl(tmp_path / "items.jsonl", records)
    backend = FakeBackend(REPLY)
    with pytest.raises(InputError, match=r"items.jsonl:11.*response"):
        judge_file(data, tmp_path / "run", backend)
    assert backend.requests == []


def test_a_duplicate_id_in_a_later_block_is_refused(tmp_path: Path) -> None:
    records = list(rows(160))
    records[140]["id"] = records[3]["id"]
    data = write_jsonl(tmp_path / "items.jsonl", records)
    with pytest.raises(InputError, match=r"items.jsonl:141.*duplicate id 'q000003' \(first seen on an earlier line\)"):
        judge_file(data, tmp_path / "run", FakeBackend(REPLY))
    assert len(verdict_ids(tmp_path / "run")) == 100  # the blocks before it are kept


def test_limit_reads_no_further_than_it_needs(tmp_path: Path) -> None:
    data = write_jsonl(tmp_path / "items.jsonl", rows(200))
    stream = load.open_data(data, "pointwise")
    assert isinstance(stream, load.ItemStream)
    limited = stream.limited(75)
    assert limited.total == 75 and [item.id for item in limited.items()] == [f"q{i:06d}" for i in range(75)]


def test_a_resumed_stream_tells_its_progress_what_is_already_judged(tmp_path: Path) -> None:
    data = write_jsonl(tmp_path / "items.jsonl", rows(130))
    judge_file(data, tmp_path / "run", FakeBackend(REPLY))
    started: list[tuple[int, int]] = []
    second = FakeBackend(REPLY)
    config = JudgeConfig(mode="pointwise")
    result = asyncio.run(
        ajudge(
            data,
            out=tmp_path / "run",
            config=config,
            model=second,
            options=options(),
            on_start=lambda total, done: started.append((total, done)),
        )
    )
    assert started == [(130, 130)] and second.requests == []
    assert result.outcome is not None and (result.outcome.skipped, result.outcome.judged) == (130, 0)
