"""Reranking a run (jurist.retrieval.rerank, `jurist rerank`): the window arithmetic, the permutation parser, each
method's ordering on scripted answers, calls and failures counted, resuming without calls, and bad input."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from jurist import FakeBackend, GenerateRequest, GenerateResponse, JobOptions, Usage
from jurist.backends.base import Capabilities
from jurist.cli.rerank import rerank as rerank_command
from jurist.errors import ConfigError
from jurist.retrieval.rerank import parse_permutation, rerank, windows
from jurist.retrieval.trec import example_path, read_passages, read_qrels, read_queries, read_run, run_table

from .helpers import logprob_capable, user_text, with_logprobs

pytest.importorskip("ir_measures")

NO_CACHE = JobOptions(cache=False)
# each passage says its true grade; the first-stage run puts them in a poor order
GRADES = {"d0": 0, "d1": 1, "d2": 3, "d3": 2, "d4": 0, "d5": 1}
PASSAGES = "".join(json.dumps({"id": d, "text": f"passage {d} <g{g}>"}) + "\n" for d, g in GRADES.items())
QUERIES = "q1\tfirst query\nq2\tsecond query\n"
# q1: d0 d1 d2 d3 d4 (d5 below the depth of 4 in most tests); q2: d5 alone (nothing to rerank)
RUN = "".join(f"q1 Q0 d{i} {i + 1} {10 - i} bm25\n" for i in range(6)) + "q2 Q0 d5 1 1 bm25\n"
HUMAN = "".join(f"q1 0 {d} {g}\n" for d, g in GRADES.items())


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    texts = {"queries.tsv": QUERIES, "passages.jsonl": PASSAGES, "first.run": RUN, "human.qrels": HUMAN}
    for name, text in texts.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    return {name.split(".")[0]: tmp_path / name for name in texts}


def inputs(files: dict[str, Path]) -> tuple[list, dict, dict]:
    queries = read_queries(files["queries"])
    return read_run(files["first"], queries), queries, read_passages(files["passages"])


def grade(text: str) -> list[int]:
    """The grades of the passages in a prompt, in the order shown."""
    return [int(g) for g in re.findall(r"<g(\d)>", text)]


# -- the window arithmetic and the parser (hand-worked) ------------------------------------------------------


def test_windows_slide_from_the_bottom_to_the_top() -> None:
    # k=10, w=4, s=2: positions 7-10, 5-8, 3-6, 1-4 (1-based)
    assert windows(10, 4, 2) == [(6, 10), (4, 8), (2, 6), (0, 4)]
    assert windows(10, 4, 3) == [(6, 10), (3, 7), (0, 4)]
    # the last window is cut at the top, never below 2 passages
    assert windows(10, 4, 1)[-1] == (0, 4) and len(windows(10, 4, 1)) == 7
    assert windows(9, 4, 3) == [(5, 9), (2, 6), (0, 3)]
    assert windows(3, 4, 2) == [(0, 3)]
    assert windows(1, 4, 2) == []


@pytest.mark.parametrize(("window", "step"), [(1, 1), (4, 0), (4, 4), (4, 5)])
def test_bad_windows_are_refused(window: int, step: int) -> None:
    with pytest.raises(ConfigError, match=r"window|step"):
        windows(10, window, step)


@pytest.mark.parametrize(
    ("text", "order", "dropped", "missing"),
    [
        ("[2] > [1] > [3] > [4]", [1, 0, 2, 3], 0, 0),
        ("[3]>[1]", [2, 0, 1, 3], 0, 2),  # the missing ones appended in their shown order
        ("[2] > [2] > [9] > [1] > [0]", [1, 0, 2, 3], 3, 2),  # a duplicate and two unknown ids dropped
        ("Ranking: [ 4 ] > [3] > [2] > [1]. Passage [4] is best.", [3, 2, 1, 0], 1, 0),
        ("4 > 2 > 1 > 3", [3, 1, 0, 2], 0, 0),  # no brackets anywhere: plain numbers between ">"
    ],
)
def test_permutations_are_read_robustly(text: str, order: list[int], dropped: int, missing: int) -> None:
    read = parse_permutation(text, 4)
    assert (read.order, read.dropped, read.missing, read.failure) == (order, dropped, missing, None)


@pytest.mark.parametrize(
    ("text", "reason"),
    [("", "an empty answer"), ("The second passage is best.", "no passage identifier"), ("[7] > [9]", "no passage")],
)
def test_an_unreadable_answer_keeps_the_order_and_says_why(text: str, reason: str) -> None:
    read = parse_permutation(text, 3)
    assert read.order == [0, 1, 2] and read.failure is not None and reason in read.failure


# -- the methods on scripted answers ---------------------------------------------------------------------------


def oracle_listwise(request: GenerateRequest) -> str:
    """Ranks a window by the grades its passages show, best first (ties in the shown order)."""
    shown = grade(user_text(request))
    best = sorted(range(len(shown)), key=lambda k: -shown[k])
    return " > ".join(f"[{k + 1}]" for k in best)


def test_listwise_sorts_the_top_k_and_keeps_the_rest_below(files: dict[str, Path], tmp_path: Path) -> None:
    run, queries, passages = inputs(files)
    backend = FakeBackend(oracle_listwise)
    result = rerank(
        run, queries, passages, out=tmp_path / "rr", method="listwise", depth=5, window=3, step=1, model=backend,
        human=read_qrels(files["human"]), options=NO_CACHE,
    )  # fmt: skip
    order = run_table(result.run)
    # windows 3-5 (d2 d3 d4: kept), 2-4 (d1 d2 d3 -> d2 d3 d1), 1-3 (d0 d2 d3 -> d2 d3 d0): one pass carries the
    # best to the top but is not a full sort (d0 stays above d1); d5, below the depth, stays below
    assert order["q1"] == ["d2", "d3", "d0", "d1", "d4", "d5"] and order["q2"] == ["d5"]
    # 5 passages, window 3, step 1: windows 3-5, 2-4, 1-3: 3 calls, for the one query with something to rerank
    assert len(backend.requests) == 3
    report = result.report
    assert (report.reranked_queries, report.calls, report.calls_per_query, report.failures) == (1, 3, 3.0, 0)
    assert report.after is not None and report.before is not None and report.after.ndcg_10 > report.before.ndcg_10
    assert report.tokens_per_query > 0
    written = (tmp_path / "rr" / "reranked.run").read_text().splitlines()
    assert written[0] == "q1 Q0 d2 1 6 jurist-listwise" and len(written) == 7


def test_listwise_counts_an_unreadable_window_and_keeps_its_order(files: dict[str, Path], tmp_path: Path) -> None:
    run, queries, passages = inputs(files)
    # the bottom window is answered, the top one is not
    backend = FakeBackend(["[2] > [1] > [3]", "I cannot rank these."])
    result = rerank(
        run, queries, passages, out=tmp_path / "rr", method="listwise", depth=4, window=3, step=2, model=backend,
        options=NO_CACHE,
    )  # fmt: skip
    # 4 passages, window 3, step 2: windows 2-4 (d1 d2 d3 -> d2 d1 d3), then 1-2 (d0 d2: unreadable, kept)
    assert run_table(result.run)["q1"][:4] == ["d0", "d2", "d1", "d3"]
    assert result.report.failures == 1 and result.report.calls == 2
    assert result.report.failure_reasons == ["q1: window 1-2: no passage identifier [1]..[2] in the answer"]


def test_both_orders_averages_a_position_biased_answer_away(files: dict[str, Path], tmp_path: Path) -> None:
    run, queries, passages = inputs(files)
    # a judge that always says the shown order: as given and reversed, every mean position ties, the order stays
    backend = FakeBackend("[1] > [2] > [3] > [4]")
    result = rerank(
        run, queries, passages, out=tmp_path / "rr", method="listwise", depth=4, window=4, step=2, both_orders=True,
        model=backend, options=NO_CACHE,
    )  # fmt: skip
    assert run_table(result.run)["q1"][:4] == ["d0", "d1", "d2", "d3"]
    assert len(backend.requests) == 2
    first, second = (grade(user_text(r)) for r in backend.requests)
    assert second == first[::-1]


def test_a_shuffled_window_is_mapped_back(files: dict[str, Path], tmp_path: Path) -> None:
    run, queries, passages = inputs(files)
    backend = FakeBackend(oracle_listwise)
    result = rerank(
        run, queries, passages, out=tmp_path / "rr", method="listwise", depth=4, window=4, step=2,
        shuffle_window=True, seed=3, model=backend, options=NO_CACHE,
    )  # fmt: skip
    shown = grade(user_text(backend.requests[0]))
    assert shown != [0, 1, 3, 2]  # not the first-stage order (this seed shuffles it)
    assert sorted(shown) == [0, 1, 2, 3]
    assert run_table(result.run)["q1"][:4] == ["d2", "d3", "d1", "d0"]


def test_pointwise_sorts_by_the_expected_grade_then_first_stage_order(files: dict[str, Path], tmp_path: Path) -> None:
    run, queries, passages = inputs(files)

    def reply(request: GenerateRequest) -> GenerateResponse:
        g = str(grade(user_text(request))[-1])
        if "d3" in user_text(request):  # d3 fails
            return GenerateResponse(text="no idea", usage=Usage(prompt_tokens=9, completion_tokens=2, calls=1))
        # d1 (grade 1) gets an expected grade of 1.6: above d0 and d4 but not above d2
        probs = {"1": 0.4, "2": 0.6} if g == "1" else {g: 1.0}
        return with_logprobs(f'{{"score": "{g}"}}', g, probs)

    backend = FakeBackend(reply, capabilities=logprob_capable())
    result = rerank(run, queries, passages, out=tmp_path / "rr", method="pointwise", depth=5, model=backend,
                    options=NO_CACHE)  # fmt: skip
    # d2 (3), d1 (1.6), d0 and d4 (0, first-stage order), then the failed d3, then d5 below the depth
    assert run_table(result.run)["q1"] == ["d2", "d1", "d0", "d4", "d3", "d5"]
    assert result.report.failures == 1 and result.report.failure_reasons[0].startswith("q1: d3: parse_failure")
    assert result.report.calls == 5


def test_pairwise_sorts_by_comparisons(files: dict[str, Path], tmp_path: Path) -> None:
    run, queries, passages = inputs(files)

    def reply(request: GenerateRequest) -> str:
        a, b = grade(user_text(request))
        return f'{{"winner": "{"A" if a > b else "B" if b > a else "tie"}"}}'

    backend = FakeBackend(reply)
    result = rerank(run, queries, passages, out=tmp_path / "rr", method="pairwise", depth=4, model=backend,
                    options=NO_CACHE)  # fmt: skip
    assert run_table(result.run)["q1"][:4] == ["d2", "d3", "d1", "d0"]
    assert "Which passage is more relevant to the query?" in user_text(backend.requests[0])
    # merge sort of 4 makes at most 5 comparisons, each asked in both orders
    assert result.report.calls == len(backend.requests) <= 10
    assert result.report.settings["rank_by"] == "sort"


def test_a_second_session_asks_nothing(files: dict[str, Path], tmp_path: Path) -> None:
    run, queries, passages = inputs(files)
    backend = FakeBackend(oracle_listwise)
    options = JobOptions(cache=True, cache_path=tmp_path / "cache.sqlite")
    kwargs = {"out": tmp_path / "rr", "method": "listwise", "depth": 5, "window": 3, "step": 1}
    first = rerank(run, queries, passages, model=backend, options=options, **kwargs)  # type: ignore[arg-type]
    calls = len(backend.requests)
    again = rerank(run, queries, passages, model=backend, options=options, **kwargs)  # type: ignore[arg-type]
    assert len(backend.requests) == calls == 3
    assert again.run == first.run and again.report.calls == first.report.calls


# -- bad input, from the command line -------------------------------------------------------------------------


def cli(files: dict[str, Path], tmp_path: Path, *extra: str) -> tuple[int, str]:
    args = [str(files["first"]), "--queries", str(files["queries"]), "--passages", str(files["passages"])]
    result = CliRunner().invoke(rerank_command, [*args, *extra, "--out", str(tmp_path / "rr")])
    return result.exit_code, result.output


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (("--method", "listwise", "--window", "1"), "window must hold at least 2 passages"),
        (("--method", "listwise", "--step", "0"), "step must be at least 1"),
        (("--method", "listwise", "--window", "4", "--step", "4"), "smaller than the window (4)"),
        (("--window", "4"), "--window is for --method listwise"),
        (("--method", "pairwise", "--rank-budget", "3"), "--rank-budget is for --method pairwise with --rank-by"),
        (("--method", "listwise", "--rubric", "helpfulness"), "--rubric is for the pointwise and pairwise"),
    ],
)
def test_the_cli_refuses_bad_options(
    files: dict[str, Path], tmp_path: Path, extra: tuple[str, ...], message: str
) -> None:
    code, output = cli(files, tmp_path, *extra)
    assert code == 2 and message in output and "Traceback" not in output


def test_the_cli_refuses_a_run_naming_an_unknown_query_or_passage(files: dict[str, Path], tmp_path: Path) -> None:
    files["first"].write_text(RUN + "q9 Q0 d0 1 1 bm25\n", encoding="utf-8")
    code, output = cli(files, tmp_path)
    assert code == 2 and "first.run:8: field 'qid': unknown query 'q9'" in output
    files["first"].write_text(RUN + "q2 Q0 d7 2 0.5 bm25\n", encoding="utf-8")
    code, output = cli(files, tmp_path)
    assert code == 2 and "first.run:8: field 'docid': unknown passage 'd7' (query 'q2')" in output


def test_a_passage_below_the_depth_needs_no_text(files: dict[str, Path], tmp_path: Path) -> None:
    files["first"].write_text(RUN + "q2 Q0 d7 2 0.5 bm25\n", encoding="utf-8")
    queries = read_queries(files["queries"])
    run = read_run(files["first"], queries)
    backend = FakeBackend("[1] > [2]")
    result = rerank(run, queries, read_passages(files["passages"]), out=tmp_path / "rr", method="listwise", depth=1,
                    window=2, step=1, model=backend, options=NO_CACHE)  # fmt: skip
    assert run_table(result.run)["q2"] == ["d5", "d7"] and backend.requests == []


def test_the_bundled_example_is_big_enough_and_imperfect() -> None:
    queries = read_queries(example_path("rerank_queries.tsv"))
    passages = read_passages(example_path("rerank_passages.jsonl"))
    table = run_table(read_run(example_path("rerank_first_stage.run"), queries))
    human = {(q.query_id, q.doc_id): q.grade for q in read_qrels(example_path("rerank_human.qrels"))}
    assert len(queries) >= 6 and all(len(docs) >= 8 for docs in table.values())
    assert all(d in passages and (q, d) in human for q, docs in table.items() for d in docs)
    for q, docs in table.items():
        grades = [human[(q, d)] for d in docs]
        assert grades[0] < max(grades) and {0, 3} <= set(grades)  # the best is not first; a 0 and a 3 each


def test_backends_without_logprobs_sort_by_the_grade(files: dict[str, Path], tmp_path: Path) -> None:
    run, queries, passages = inputs(files)
    backend = FakeBackend(lambda r: f'{{"score": "{grade(user_text(r))[-1]}"}}', capabilities=Capabilities())
    result = rerank(run, queries, passages, out=tmp_path / "rr", method="pointwise", depth=4, model=backend,
                    options=NO_CACHE)  # fmt: skip
    assert run_table(result.run)["q1"][:4] == ["d2", "d3", "d1", "d0"]
