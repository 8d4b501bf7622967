"""`jurist judge --mode pointwise --rubric passage_relevance` on items built from query/passage pairs, against the
fake HTTP server: every item gets a grade on the TREC 0-3 scale, and the prompt is the relevance template's."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from click.testing import CliRunner

from jurist.cli.qrels import qrels as qrels_command
from jurist.retrieval.relevance import relevance_items, relevance_template
from jurist.retrieval.trec import read_passages, read_queries
from jurist.testing import FakeOpenAIServer

from .support import cli_args, cli_env, records, run_cli


def test_judge_cli_grades_query_passage_items(
    make_server: Callable[..., FakeOpenAIServer], tmp_path: Path, cache_dir: Path
) -> None:
    (tmp_path / "q.tsv").write_text("q1\tboiling point of water\nq2\tcapital of peru\n", encoding="utf-8")
    (tmp_path / "p.tsv").write_text("d1\tWater boils at 100 C.\nd2\tLima is the capital of Peru.\n", encoding="utf-8")
    pairs = [("q1", "d1"), ("q1", "d2"), ("q2", "d2")]
    items = relevance_items(read_queries(tmp_path / "q.tsv"), read_passages(tmp_path / "p.tsv"), pairs)
    data = tmp_path / "pairs.jsonl"
    # the loader puts columns other than the judged fields into metadata
    rows = [{"id": i.id, "prompt": i.prompt, "response": i.response, **i.metadata} for i in items]
    data.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    server, out = make_server(), tmp_path / "run"
    extra = ("--rubric", "passage_relevance", "--template", relevance_template())
    proc = run_cli(cli_args(data, out, server.url, *extra), cli_env(cache_dir))
    assert proc.returncode == 0, proc.stderr
    got = {r["id"]: r for r in records(out)}
    assert set(got) == {"q1/d1", "q1/d2", "q2/d2"}
    assert {r["outcome"]["score"] for r in got.values()} <= {0, 1, 2, 3}
    assert got["q2/d2"]["metadata"] == {"query_id": "q2", "doc_id": "d2"}


def test_qrels_cli_pools_judges_and_reports(
    make_server: Callable[..., FakeOpenAIServer], tmp_path: Path, cache_dir: Path
) -> None:
    (tmp_path / "q.tsv").write_text("q1\tboiling point of water\n", encoding="utf-8")
    (tmp_path / "p.jsonl").write_text(
        "".join(json.dumps({"id": f"d{i}", "text": f"passage {i}"}) + "\n" for i in range(4)), encoding="utf-8"
    )
    (tmp_path / "a.run").write_text("q1 Q0 d0 1 3 a\nq1 Q0 d1 2 2 a\nq1 Q0 d2 3 1 a\n", encoding="utf-8")
    (tmp_path / "b.run").write_text("q1 Q0 d3 1 3 b\nq1 Q0 d0 2 2 b\n", encoding="utf-8")
    (tmp_path / "h.qrels").write_text("q1 0 d0 3\nq1 0 d3 0\n", encoding="utf-8")
    server, out = make_server(), tmp_path / "run"
    args = [str(tmp_path / "a.run"), str(tmp_path / "b.run"), "--queries", str(tmp_path / "q.tsv")]
    args += ["--passages", str(tmp_path / "p.jsonl"), "--qrels", str(tmp_path / "h.qrels"), "--depth", "2"]
    args += ["--model", "openai:fake-model", "--base-url", server.url, "--out", str(out)]
    result = CliRunner().invoke(qrels_command, args, env={"JURIST_CACHE_DIR": str(cache_dir)})
    assert result.exit_code == 0, result.output
    # depth 2: {d0, d1} | {d3, d0}: three pairs
    assert len((out / "llm.qrels").read_text().splitlines()) == 3
    assert "pool: 3 (query, doc) pairs over 1 queries at depth 2" in result.output
    assert "agreement with human qrels on 2 pairs" in result.output and "tau-AP" in result.output
