"""Verdict shards (RUN/shards/*.parquet, a Ray run's): every reader of a run reads them, a resume skips what they
hold, --overwrite removes them, and a damaged one is a clear error."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import jurist
from jurist import FakeBackend, JobOptions
from jurist.errors import RunDirError
from jurist.run.log import RunStore, iter_run, read_run
from jurist.run.runner import RunOptions
from jurist.run.shards import SHARDS_DIR, clean_temporaries, next_session, read_shards, shard_paths, write_shard
from jurist.summary import summarize

pytest.importorskip("pyarrow", reason="shards are Parquet: pip install 'jurist[parquet]'")

NO_CACHE = JobOptions(cache=False)


@pytest.fixture(autouse=True)
def _private_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JURIST_CACHE_DIR", str(tmp_path / "cache"))


def rows(n: int) -> list[dict[str, object]]:
    return [{"id": f"i{k}", "prompt": f"question {k}", "response": f"r{k}", "label": k % 5 + 1} for k in range(n)]


def scored(score: int) -> FakeBackend:
    return FakeBackend(lambda request: json.dumps({"score": score, "rationale": "fine"}))


def move_to_shards(out: Path) -> None:
    """Turn a run's verdicts.jsonl into two shards of one session (as a Ray run would have written them)."""
    verdicts = read_run(out).verdicts
    half = len(verdicts) // 2
    write_shard(out, 1, 0, verdicts[:half])
    write_shard(out, 1, 1, verdicts[half:])
    (out / "verdicts.jsonl").write_text("", encoding="utf-8")


def test_readers_and_resume_see_the_shards(tmp_path: Path) -> None:
    out = tmp_path / "run"
    jurist.judge(rows(4), out=out, config="pointwise", model=scored(3), options=NO_CACHE)
    before = read_run(out).verdicts
    move_to_shards(out)
    assert [p.name for p in shard_paths(out)] == ["000001-000000.parquet", "000001-000001.parquet"]
    assert next_session(out) == 2
    assert [v.model_dump() for v in read_run(out).verdicts] == [v.model_dump() for v in before]
    assert [v.id for v in iter_run(out)[1]] == [v.id for v in before]
    assert summarize(out).judged == 4
    # a resume takes what the shards hold as judged: only the new items are judged, after the shards' records
    backend = scored(3)
    result = jurist.judge(rows(6), out=out, config="pointwise", model=backend, options=NO_CACHE)
    assert len(backend.requests) == 2
    assert result.outcome is not None and (result.outcome.skipped, result.outcome.judged) == (4, 2)
    assert sorted(v.id for v in read_run(out).verdicts) == [f"i{k}" for k in range(6)]


def test_the_last_record_of_an_id_wins_across_shards(tmp_path: Path) -> None:
    out = tmp_path / "run"
    jurist.judge(rows(2), out=out, config="pointwise", model=scored(3), options=NO_CACHE)
    first = read_run(out).verdicts
    later = [v.model_copy(update={"rationale": "judged again"}) for v in first[:1]]
    write_shard(out, 1, 0, first)
    write_shard(out, 2, 0, later)
    (out / "verdicts.jsonl").write_text("", encoding="utf-8")
    by_id = {v.id: v for v in read_run(out).verdicts}
    assert by_id["i0"].rationale == "judged again"
    assert by_id["i1"].rationale == first[1].rationale


def test_overwrite_removes_the_shards(tmp_path: Path) -> None:
    out = tmp_path / "run"
    jurist.judge(rows(2), out=out, config="pointwise", model=scored(3), options=NO_CACHE)
    move_to_shards(out)
    options = JobOptions(cache=False, run=RunOptions(overwrite=True))
    jurist.judge(rows(2), out=out, config="pointwise", model=scored(4), options=options)
    assert not (out / SHARDS_DIR).exists()
    assert [v.outcome.score for v in read_run(out).verdicts] == [4, 4]  # type: ignore[union-attr]


def test_a_half_written_shard_is_not_read_and_is_cleaned(tmp_path: Path) -> None:
    out = tmp_path / "run"
    jurist.judge(rows(2), out=out, config="pointwise", model=scored(3), options=NO_CACHE)
    move_to_shards(out)
    torn = out / SHARDS_DIR / ".000002-000000.parquet.abc.tmp"
    torn.write_bytes(b"PAR1 half")
    assert len(list(read_shards(out))) == 2
    clean_temporaries(out)
    assert not torn.exists()


def test_a_damaged_shard_is_a_clear_error(tmp_path: Path) -> None:
    out = tmp_path / "run"
    jurist.judge(rows(2), out=out, config="pointwise", model=scored(3), options=NO_CACHE)
    move_to_shards(out)
    shard_paths(out)[0].write_bytes(b"not parquet at all")
    with pytest.raises(RunDirError, match=r"000001-000000\.parquet: not a readable verdict shard .* Delete it"):
        read_run(out)


def test_shards_are_written_only_by_the_directory_holder(tmp_path: Path) -> None:
    store = RunStore(tmp_path / "run")
    with pytest.raises(AssertionError):
        store.write_shard(1, 0, [])
