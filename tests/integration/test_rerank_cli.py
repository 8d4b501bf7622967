"""`jurist rerank` over HTTP against the fake OpenAI server, on the bundled rerank example: every method writes a
whole reranked run and its report, counts its calls and failures, and the same command again sends no request."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from jurist.cli.rerank import rerank as rerank_command
from jurist.retrieval.trec import example_path
from jurist.testing import FakeOpenAIServer

pytest.importorskip("ir_measures")


@pytest.mark.parametrize(
    ("extra", "calls_per_query"),
    [
        (("--method", "pointwise"), 4.0),  # one grade per passage of the top 4
        (("--method", "listwise", "--window", "3", "--step", "1", "--both-orders"), 4.0),  # 2 windows, asked twice
        (("--method", "pairwise", "--rank-by", "adaptive", "--rank-budget", "3"), None),
    ],
)
def test_rerank_cli_writes_the_run_and_resumes_without_requests(
    make_server: Callable[..., FakeOpenAIServer],
    tmp_path: Path,
    cache_dir: Path,
    extra: tuple[str, ...],
    calls_per_query: float | None,
) -> None:
    server, out = make_server(), tmp_path / "rr"
    args = [str(example_path("rerank_first_stage.run")), "--queries", str(example_path("rerank_queries.tsv"))]
    args += [
        "--passages",
        str(example_path("rerank_passages.jsonl")),
        "--qrels",
        str(example_path("rerank_human.qrels")),
    ]
    args += ["--depth", "4", *extra, "--model", "openai:fake-model", "--base-url", server.url, "--out", str(out)]
    env = {"JURIST_CACHE_DIR": str(cache_dir)}
    result = CliRunner().invoke(rerank_command, args, env=env)
    assert result.exit_code == 0, result.output
    assert "reranked the top 4 documents of 6 of the 6 queries by" in result.output and "before" in result.output
    lines = (out / "reranked.run").read_text().splitlines()
    assert len(lines) == 48 and all(line.split()[5].startswith("jurist-") for line in lines)
    report = json.loads((out / "rerank_report.json").read_text())
    assert report["calls"] == server.stats()["total"] > 0
    if calls_per_query is not None:
        assert report["calls_per_query"] == calls_per_query
    if "listwise" in extra:
        # the fake server answers no permutation: every window is counted as a failure and keeps its order
        assert report["failures"] == 6 * 4 and report["before"] == report["after"]
    sent = server.stats()["total"]
    again = CliRunner().invoke(rerank_command, args, env=env)
    assert again.exit_code == 0, again.output
    assert server.stats()["total"] == sent
    assert (out / "reranked.run").read_text().splitlines() == lines
