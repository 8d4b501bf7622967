"""TREC files: each format read from a small hand-written file, and each kind of bad input named precisely."""

from __future__ import annotations

from pathlib import Path

import pytest

from jurist.errors import InputError
from jurist.retrieval.trec import (
    Qrel,
    pool,
    qrels_table,
    read_passages,
    read_qrels,
    read_queries,
    read_run,
    run_table,
    write_qrels,
)


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_queries_from_tsv_and_jsonl(tmp_path: Path) -> None:
    tsv = read_queries(write(tmp_path, "q.tsv", "q1\twhat is bm25\n\nq2\tdense retrieval\twith tabs\n"))
    assert {k: v.text for k, v in tsv.items()} == {"q1": "what is bm25", "q2": "dense retrieval\twith tabs"}
    jsonl = read_queries(write(tmp_path, "q.jsonl", '{"qid": 7, "query": "x"}\n{"id": "b", "text": "y"}\n'))
    assert {k: v.text for k, v in jsonl.items()} == {"7": "x", "b": "y"}


def test_passages_from_jsonl_and_tsv(tmp_path: Path) -> None:
    jsonl = read_passages(
        write(tmp_path, "p.jsonl", '{"id": "d1", "text": "alpha"}\n{"docid": "d2", "contents": "b"}\n')
    )
    assert {k: v.text for k, v in jsonl.items()} == {"d1": "alpha", "d2": "b"}
    assert read_passages(write(tmp_path, "p.tsv", "d9\tnine\n"))["d9"].text == "nine"


def test_passage_without_id_names_the_line(tmp_path: Path) -> None:
    path = write(tmp_path, "p.jsonl", '{"id": "d1", "text": "a"}\n{"text": "no id"}\n')
    with pytest.raises(InputError) as caught:
        read_passages(path)
    assert (caught.value.line, caught.value.field) == (2, "id")
    assert "has no id" in str(caught.value) and str(path) in str(caught.value)


def test_duplicate_and_tabless_lines_are_refused(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="appears twice"):
        read_queries(write(tmp_path, "q.tsv", "q1\ta\nq1\tb\n"))
    with pytest.raises(InputError, match="no tab") as caught:
        read_queries(write(tmp_path, "q2.tsv", "q1 no tab here\n"))
    assert caught.value.line == 1


def test_qrels_read_and_written_back(tmp_path: Path) -> None:
    qrels = read_qrels(write(tmp_path, "h.qrels", "q1 0 d1 3\nq1 0 d2 0\nq2 Q0 d1 1\n"))
    assert qrels_table(qrels) == {"q1": {"d1": 3, "d2": 0}, "q2": {"d1": 1}}
    out = tmp_path / "llm.qrels"
    write_qrels(out, qrels)
    assert out.read_text() == "q1 0 d1 3\nq1 0 d2 0\nq2 0 d1 1\n"
    assert read_qrels(out) == qrels


@pytest.mark.parametrize("grade", ["4", "-1", "2.5", "high"])
def test_qrels_grade_outside_the_scale(tmp_path: Path, grade: str) -> None:
    with pytest.raises(InputError, match="not on the scale 0-3") as caught:
        read_qrels(write(tmp_path, "h.qrels", f"q1 0 d1 2\nq1 0 d2 {grade}\n"))
    assert (caught.value.line, caught.value.field) == (2, "grade")


def test_qrels_on_another_scale_when_asked(tmp_path: Path) -> None:
    assert read_qrels(write(tmp_path, "h.qrels", "q1 0 d1 4\n"), grades=range(5))[0].grade == 4


def test_malformed_qrels_line(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="expected 4 whitespace-separated columns, found 3") as caught:
        read_qrels(write(tmp_path, "h.qrels", "q1 d1 2\n"))
    assert caught.value.line == 1


RUN = "q1 Q0 d2 1 9.5 bm25\nq1 Q0 d1 2 7.0 bm25\nq1 Q0 d3 3 1.0 bm25\nq2 Q0 d1 1 3.0 bm25\n"


def test_run_read_in_rank_order(tmp_path: Path) -> None:
    entries = read_run(write(tmp_path, "a.run", "q1 Q0 d1 2 7.0 bm25\nq1 Q0 d2 1 9.5 bm25\n"))
    assert run_table(entries) == {"q1": ["d2", "d1"]}
    assert entries[0].score == 7.0 and entries[0].tag == "bm25"


def test_run_with_an_unknown_query(tmp_path: Path) -> None:
    path = write(tmp_path, "a.run", RUN)
    with pytest.raises(InputError, match="unknown query 'q2'") as caught:
        read_run(path, queries={"q1": "text"})
    assert (caught.value.file, caught.value.line, caught.value.field) == (str(path), 4, "qid")


def test_malformed_run_lines(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="expected 6"):
        read_run(write(tmp_path, "a.run", "q1 Q0 d1 1 2.0\n"))
    with pytest.raises(InputError, match="not a number") as caught:
        read_run(write(tmp_path, "b.run", "q1 Q0 d1 first 2.0 t\n"))
    assert caught.value.field == "rank/score"


def test_pool_is_the_union_of_the_top_k(tmp_path: Path) -> None:
    a = read_run(write(tmp_path, "a.run", RUN))
    b = read_run(write(tmp_path, "b.run", "q1 Q0 d3 1 5 x\nq1 Q0 d2 2 4 x\nq1 Q0 d9 3 1 x\n"))
    assert pool([a, b], depth=2) == [("q1", "d2"), ("q1", "d1"), ("q2", "d1"), ("q1", "d3")]
    assert Qrel(query_id="q", doc_id="d", grade=1).grade == 1
