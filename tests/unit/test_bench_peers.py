"""bench/peers: the side-by-side harness runs whole processes and counts what they judged; the fake server answers
Prometheus' format so that peers judging with it parse its answers."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

from jurist.formats import Scale
from jurist.testing import FakeOpenAIServer
from jurist.testing.fake_openai_server import answer_text

PEERS = Path(__file__).resolve().parents[2] / "bench" / "peers"


def _harness() -> ModuleType:
    spec = importlib.util.spec_from_file_location("peers_run", PEERS / "run.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclass looks its module up there
    spec.loader.exec_module(module)
    return module


def _items(path: Path, n: int) -> Path:
    rows = [
        {"id": f"q{i}", "prompt": f"Question {i}?", "response": f"Answer {i}.", "label": 1 + i % 5} for i in range(n)
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_the_fake_server_answers_prometheus_format_with_a_score_from_the_prompt_hash() -> None:
    body = {"messages": [{"role": "user", "content": "x"}]}
    prompt = "###Score Rubrics: ... Feedback: (write a feedback) [RESULT] (an integer number between 1 and 5)"
    text, at, labels = answer_text(body, prompt + " one")
    assert text.startswith("Feedback:") and labels == ["1", "2", "3", "4", "5"]
    assert at is not None and text[at] in labels
    assert Scale.likert(1, 5).read(text).value == text[at]  # jurist's own Prometheus pattern reads it
    scores = {answer_text(body, f"{prompt} {i}")[0][-1] for i in range(40)}
    assert len(scores) > 1  # it varies by prompt, as the score of a real judge would


def test_the_bare_loop_judges_every_item_and_counts_failures(tmp_path: Path) -> None:
    data = _items(tmp_path / "items.jsonl", 6)
    out = tmp_path / "scores.jsonl"
    with FakeOpenAIServer() as server:
        proc = subprocess.run(
            [sys.executable, str(PEERS / "bare.py"), str(data), server.url, "4", str(out)],
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == {"judged": 6, "failed": 0}
    scores = [json.loads(line)["score"] for line in out.read_text().splitlines()]
    assert len(scores) == 6 and set(scores) <= {"1", "2", "3", "4", "5"}


def test_the_bare_loop_counts_a_server_that_does_not_answer_as_failures(tmp_path: Path) -> None:
    data = _items(tmp_path / "items.jsonl", 3)
    proc = subprocess.run(
        [sys.executable, str(PEERS / "bare.py"), str(data), "http://127.0.0.1:9/v1", "2", str(tmp_path / "s.jsonl")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == {"judged": 3, "failed": 3}


@pytest.mark.parametrize("tool", ["bare", "jurist"])
def test_the_harness_times_a_whole_process_and_reads_its_counts(tool: str, tmp_path: Path) -> None:
    harness = _harness()
    data = _items(tmp_path / "items.jsonl", 3)
    with FakeOpenAIServer() as server:
        result = harness.timed(tool, data, 3, server.url, 2, tmp_path, tmp_path / "no-peers")
    assert (result.judged, result.failed, result.note) == (3, 0, "")
    assert result.wall > 0 and result.cpu > 0  # the child's own CPU time, from its rusage


def test_the_harness_takes_turns_over_rounds_and_gives_each_rounds_ratio_and_the_medians() -> None:
    cmd = [sys.executable, str(PEERS / "run.py"), "--items", "3", "--latency-ms", "0", "--tools", "bare", "jurist"]
    proc = subprocess.run([*cmd, "--rounds", "2"], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    runs = [line.split(" | ")[2:4] for line in lines if line.startswith("| 0 ms | 3 | ") and line.count("|") == 10]
    assert runs == [["1", "bare"], ["1", "jurist"], ["2", "bare"], ["2", "jurist"]]  # the tools take turns
    summaries = [line.split(" | ") for line in lines if line.startswith("| 0 ms | 3 | ") and line.count("|") == 7]
    assert [row[2] for row in summaries[:2]] == ["bare", "jurist"]  # each tool's medians
    (ratio,) = summaries[2:]
    each_round = ratio[2].split(", ")
    assert ratio[3].endswith("x")
    assert len(each_round) == 2 and all(float(x) > 0 for x in each_round)  # jurist's wall over the bare loop's


def test_a_peer_without_its_virtualenv_is_reported_and_skipped(tmp_path: Path) -> None:
    harness = _harness()
    data = _items(tmp_path / "items.jsonl", 1)
    result = harness.run_tool("prometheus-eval", data, 1, "http://127.0.0.1:9/v1", 1, tmp_path, tmp_path / "none")
    assert result.wall is None and result.note.startswith("not installed: bash bench/peers/setup.sh")


def test_the_client_cpu_bench_judges_every_item_and_times_each_piece() -> None:
    proc = subprocess.run(
        [sys.executable, str(PEERS / "client_cpu.py"), "--items", "5", "--repeats", "1", "--parts"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[-1].startswith("5 items, best of 1:") and lines[-1].endswith("0 failed")
    assert any(line.startswith("| response cache: a miss, then the write") for line in lines)


def test_the_client_cpu_bench_runs_with_the_collector_off() -> None:
    cmd = [sys.executable, str(PEERS / "client_cpu.py"), "--items", "3", "--repeats", "1", "--no-gc"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[-1].startswith("3 items, best of 1:")


def test_the_hot_path_bench_runs_each_tree_in_turn_and_reports_marginal_and_fixed_cost(tmp_path: Path) -> None:
    import jurist

    src = Path(jurist.__file__).resolve().parents[1]
    cmd = [
        sys.executable,
        str(PEERS / "hot_path.py"),
        "--src",
        str(src),
        str(src),
        "--items",
        "2",
        "4",
        "--rounds",
        "1",
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    rows = [line for line in proc.stdout.splitlines() if line.startswith(f"| {src} |")]
    assert len(rows) == 2  # one per tree given, each measured
    assert all(row.count(" ms (") == 2 and row.count(" s (") == 1 for row in rows)  # --help, marginal, fixed


def test_the_hot_path_bench_refuses_a_folder_without_jurist(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, str(PEERS / "hot_path.py"), "--src", str(tmp_path)], capture_output=True, text=True
    )
    assert proc.returncode == 1 and f"{tmp_path} holds no jurist package" in proc.stderr


def test_the_http_client_bench_times_jurists_client_against_a_bare_session() -> None:
    cmd = [sys.executable, str(PEERS / "http_client.py"), "--requests", "5", "--rounds", "1"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    rows = [line for line in proc.stdout.splitlines() if line.startswith("| ") and "variant" not in line]
    assert [row.split(" | ")[0] for row in rows] == [
        "| bare session.post, bytes body",
        "| bare session.post, text body",
        "| HttpClient.fetch, text body (jurist's)",
        "| HttpClient.fetch, bytes body",
    ]
    assert all(float(row.split(" | ")[1]) > 0 for row in rows)
