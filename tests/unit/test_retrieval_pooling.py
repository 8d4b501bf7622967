"""Pooled judging (judge_qrels, `jurist qrels`): the pool, the LLM qrels, the report, resuming, failures, bad input."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from jurist import FakeBackend, GenerateRequest, GenerateResponse, JobOptions
from jurist.cli.qrels import qrels as qrels_command
from jurist.retrieval.pooling import judge_qrels
from jurist.retrieval.trec import example_path, qrels_table, read_passages, read_qrels, read_queries, read_run

from .helpers import logprob_capable, user_text, with_logprobs

pytest.importorskip("ir_measures")

# each passage says the grade the fake judge gives it
PASSAGES = "".join(
    json.dumps({"id": f"d{i}", "text": f"passage {i} [grade:{g}]"}) + "\n" for i, g in enumerate([3, 0, 2, 1, 0])
)
QUERIES = "q1\tfirst query\nq2\tsecond query\n"
# run a: q1 d0 d1 d2, q2 d3 d4; run b: q1 d2 d0 d4, q2 d4 d3
RUN_A = "q1 Q0 d0 1 3 a\nq1 Q0 d1 2 2 a\nq1 Q0 d2 3 1 a\nq2 Q0 d3 1 2 a\nq2 Q0 d4 2 1 a\n"
RUN_B = "q1 Q0 d2 1 3 b\nq1 Q0 d0 2 2 b\nq1 Q0 d4 3 1 b\nq2 Q0 d4 1 2 b\nq2 Q0 d3 2 1 b\n"
# no response cache (it is shared, in the user's cache folder): every test's calls reach its fake backend
NO_CACHE = JobOptions(cache=False)
HUMAN = "q1 0 d0 3\nq1 0 d1 0\nq1 0 d2 1\nq2 0 d3 2\nq2 0 d4 0\n"


def grade_reply(request: GenerateRequest) -> GenerateResponse:
    grade = re.search(r"\[grade:(\d)\]", user_text(request))
    assert grade is not None
    return with_logprobs(f'{{"score": "{grade[1]}"}}', grade[1], {grade[1]: 1.0})


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    paths = {"q": "queries.tsv", "p": "passages.jsonl", "a": "a.run", "b": "b.run", "h": "human.qrels"}
    texts = {"q": QUERIES, "p": PASSAGES, "a": RUN_A, "b": RUN_B, "h": HUMAN}
    for key, name in paths.items():
        (tmp_path / name).write_text(texts[key], encoding="utf-8")
    return {key: tmp_path / name for key, name in paths.items()}


def inputs(files: dict[str, Path]) -> tuple[dict, dict, dict]:
    queries = read_queries(files["q"])
    runs = {"a": read_run(files["a"], queries), "b": read_run(files["b"], queries)}
    return runs, queries, read_passages(files["p"])


def test_pool_judged_qrels_written_and_runs_evaluated(files: dict[str, Path], tmp_path: Path) -> None:
    runs, queries, passages = inputs(files)
    backend = FakeBackend(grade_reply, capabilities=logprob_capable())
    out = tmp_path / "run"
    report = judge_qrels(
        runs, queries, passages, out=out, depth=2, human=read_qrels(files["h"]), model=backend, options=NO_CACHE
    )
    # depth 2: q1 {d0, d1} | {d2, d0}; q2 {d3, d4} | {d4, d3} -> 5 pairs, one call each
    assert (report.pooled, report.graded, report.failed, report.queries) == (5, 5, 0, 2)
    assert len(backend.requests) == 5 and report.calls_per_query == 2.5
    assert qrels_table(read_qrels(out / "llm.qrels")) == {"q1": {"d0": 3, "d1": 0, "d2": 2}, "q2": {"d3": 1, "d4": 0}}
    # the LLM and humans disagree on (q1, d2): 2 vs 1 and (q2, d3): 1 vs 2 -> 3 of 5 grades agree
    # both sides: 0 twice, 1, 2, 3 once each -> pe = 7/25, po = 15/25, kappa = (15 - 7) / (25 - 7)
    assert report.agreement is not None and report.agreement.pairs == 5
    assert report.agreement.kappa == pytest.approx(4 / 9)
    # run a under human qrels, q2 (d3 = 2 first): MRR 1; q1 (d0 = 3 first): MRR 1
    a = report.runs[0]
    assert a.name == "a" and a.human is not None and a.human.mrr == 1.0
    assert report.ordering is not None and set(report.ordering) == {"ndcg_10", "map"}
    assert json.loads((out / "qrels_report.json").read_text())["pooled"] == 5


def test_a_second_session_resumes_without_calls(files: dict[str, Path], tmp_path: Path) -> None:
    runs, queries, passages = inputs(files)
    out = tmp_path / "run"
    judge_qrels(runs, queries, passages, out=out, depth=2, model=FakeBackend(grade_reply), options=NO_CACHE)
    again = FakeBackend(grade_reply)
    report = judge_qrels(runs, queries, passages, out=out, depth=2, model=again, options=NO_CACHE)
    assert again.requests == [] and report.graded == 5 and report.agreement is None and report.ordering is None


def test_failed_judgments_are_counted_and_left_out_of_the_qrels(files: dict[str, Path], tmp_path: Path) -> None:
    def reply(request: GenerateRequest) -> GenerateResponse:
        return GenerateResponse(text="no idea") if "passage 1 " in user_text(request) else grade_reply(request)

    runs, queries, passages = inputs(files)
    report = judge_qrels(
        runs, queries, passages, out=tmp_path / "run", depth=2, model=FakeBackend(reply), options=NO_CACHE
    )
    assert (report.graded, report.failed, report.failed_ids) == (4, 1, ["q1/d1"])
    assert "d1" not in qrels_table(read_qrels(tmp_path / "run" / "llm.qrels"))["q1"]


def test_cli_refuses_a_run_with_an_unknown_query(files: dict[str, Path], tmp_path: Path) -> None:
    bad = tmp_path / "bad.run"
    bad.write_text("q1 Q0 d0 1 3 x\nq7 Q0 d1 2 2 x\n", encoding="utf-8")
    out = tmp_path / "run"
    args = [str(bad), "--queries", str(files["q"]), "--passages", str(files["p"]), "--out", str(out)]
    result = CliRunner().invoke(qrels_command, args)
    assert result.exit_code == 2, result.output
    assert "bad.run:2: field 'qid': unknown query 'q7'" in result.output and "Traceback" not in result.output
    assert not out.exists()


def test_cli_refuses_pairwise_options(files: dict[str, Path], tmp_path: Path) -> None:
    args = [str(files["a"]), "--queries", str(files["q"]), "--passages", str(files["p"]), "--out", str(tmp_path / "o")]
    result = CliRunner().invoke(qrels_command, [*args, "--no-tie"])
    assert result.exit_code == 2 and "--no-tie is for pairwise judging" in result.output


def test_an_oracle_judge_on_the_bundled_example_agrees_fully(tmp_path: Path) -> None:
    queries, passages = read_queries(example_path("queries.tsv")), read_passages(example_path("passages.jsonl"))
    human = read_qrels(example_path("human.qrels"))
    grade = {(passages[q.doc_id].text): q.grade for q in human}  # each passage is judged for one query only

    def oracle(request: GenerateRequest) -> GenerateResponse:
        shown = next(g for text, g in grade.items() if text in user_text(request))
        return GenerateResponse(text=f'{{"score": "{shown}"}}')

    runs = {name: read_run(example_path(f"{name}.run"), queries) for name in ("dense", "bm25", "random")}
    report = judge_qrels(
        runs, queries, passages, out=tmp_path / "run", depth=3, human=human, model=FakeBackend(oracle), options=NO_CACHE
    )
    assert (report.pooled, report.failed) == (14, 0)
    assert report.agreement is not None and (report.agreement.kappa, report.agreement.alpha) == pytest.approx(
        (1.0, 1.0)
    )
    assert report.ordering is not None and report.ordering["ndcg_10"].tau_ap == pytest.approx(1.0)
    # the runs were made so that dense > bm25 > random under the human qrels
    ndcg = [e.human.ndcg_10 for e in report.runs if e.human is not None]
    assert ndcg == sorted(ndcg, reverse=True) and ndcg[0] == pytest.approx(1.0)
