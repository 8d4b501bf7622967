"""The program judge: the model writes a scoring program once, it is validated on labelled examples, then run on
every item in the sandbox; a resumed run asks for no new program."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

import jurist
from jurist import ConfigError, FakeBackend, GenerateRequest, JobOptions, JudgeConfig, make_judge
from jurist.cli import main
from jurist.demos import DemoConfig
from jurist.strategies import ProgramJudge, build_tree, load_strategy, parse_strategy
from jurist.strategies.program import extract_code
from jurist.types import Item

# longer responses are better: right on the first three examples, wrong on the fourth
LENGTH = "```python\ndef score(item):\n    return min(5, 1 + len(item['response']) // 10)\n```"
PREFER = (
    "```python\ndef prefer(item):\n    return 'A' if len(item['response_a']) >= len(item['response_b']) else 'B'\n```"
)


def _pool(tmp_path: Path, rows: list[dict[str, object]]) -> str:
    path = tmp_path / "labelled.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return str(path)


def _pointwise_pool(tmp_path: Path) -> str:
    return _pool(
        tmp_path,
        [
            {"id": "e1", "prompt": "q", "response": "ok", "label": 1},
            {"id": "e2", "prompt": "q", "response": "x" * 25, "label": 3},
            {"id": "e3", "prompt": "q", "response": "x" * 45, "label": 5},
            {"id": "e4", "prompt": "q", "response": "x" * 45, "label": 1},
        ],
    )


def _judge(backend: FakeBackend, pool: str, mode: str = "pointwise", **config: object) -> ProgramJudge:
    demos = DemoConfig(pool=pool, k=2)
    return ProgramJudge(make_judge(backend, JudgeConfig(mode=mode, rubric="helpfulness", demos=demos, **config)))


def test_the_program_is_written_once_validated_and_scores_items(tmp_path: Path) -> None:
    backend = FakeBackend(LENGTH)
    strategy = _judge(backend, _pointwise_pool(tmp_path))
    items = [Item(id=str(n), prompt="q", response="y" * n) for n in (3, 33)]

    async def both() -> list[jurist.Verdict]:
        return [await strategy(item) for item in items]

    verdicts = asyncio.run(both())
    assert [v.outcome.score for v in verdicts] == [1.0, 4.0]  # type: ignore[union-attr]
    assert [v.outcome.choice for v in verdicts] == ["1", "4"]  # type: ignore[union-attr]
    assert len(backend.requests) == 1  # written once for both items
    prompt = backend.requests[0].messages[-1].content
    assert "score(item)" in prompt and "a number from 1 to 5" in prompt and '"label": 3' in prompt
    assert '"label"' not in json.dumps(verdicts[0].strategy["program"]["code"])  # type: ignore[index]
    record = verdicts[0].strategy["program"]  # type: ignore[index]
    assert record["validation"] == {"accuracy": 0.75, "correct": 3, "examples": 4, "failed": 0}
    assert record["cost"]["calls"] == 1 and record["cost"]["prompt_tokens"] > 0
    assert record["code"].startswith("def score(item):") and len(record["hash"]) == 16


def test_pairwise_prefer(tmp_path: Path) -> None:
    pool = _pool(
        tmp_path,
        [
            {"id": "e1", "prompt": "q", "response_a": "long answer", "response_b": "no", "label": "A"},
            {"id": "e2", "prompt": "q", "response_a": "no", "response_b": "long answer", "label": "B"},
            {"id": "e3", "prompt": "q", "response_a": "no", "response_b": "long answer", "label": "A"},
        ],
    )
    strategy = _judge(FakeBackend(PREFER), pool, mode="pairwise")
    verdict = asyncio.run(strategy(Item(id="p", prompt="q", response_a="a", response_b="bbb")))
    assert verdict.outcome.winner == "B"  # type: ignore[union-attr]
    assert verdict.strategy["program"]["validation"]["correct"] == 2  # type: ignore[index]


@pytest.mark.parametrize(
    ("program", "message"),
    [
        ("def score(item):\n    return 'great'\n", "score() returned 'great', not a number"),
        ("def score(item):\n    return 9\n", "score() returned 9, off the scale 1-5"),
        ("import socket\ndef score(item):\n    return 3\n", "import socket is not allowed"),
        ("def score(item):\n    while True:\n        pass\n", "timeout: the item took over 1.0 s"),
    ],
)
def test_a_bad_answer_or_a_hostile_program_is_the_items_recorded_failure(
    tmp_path: Path, program: str, message: str
) -> None:
    backend = FakeBackend(f"```python\n{program}```")
    strategy = ProgramJudge(
        make_judge(backend, JudgeConfig(mode="pointwise", demos=DemoConfig(pool=_pointwise_pool(tmp_path), k=1))),
        examples=1,
        cpu_s=1,
    )
    verdict = asyncio.run(strategy(Item(id="x", prompt="q", response="r")))
    assert verdict.outcome is None and verdict.error is not None
    assert verdict.error.reason == "program_failed" and message in verdict.error.message
    assert verdict.strategy["program"]["validation"]["failed"] == 1  # type: ignore[index]


def test_a_resumed_run_asks_for_no_new_program(tmp_path: Path) -> None:
    config = JudgeConfig(mode="pointwise", rubric="helpfulness", demos=DemoConfig(pool=_pointwise_pool(tmp_path), k=1))
    rows = [{"id": f"q{n}", "prompt": "q", "response": "y" * (10 * n)} for n in range(4)]
    options = JobOptions(cache=True, cache_path=tmp_path / "cache.sqlite")

    def program(backend: jurist.Backend) -> ProgramJudge:
        return ProgramJudge(make_judge(backend, config), examples=3)

    first = FakeBackend(LENGTH)
    jurist.judge(rows[:2], out=tmp_path / "run", model=first, judge=program, options=options)
    again = FakeBackend(LENGTH)
    result = jurist.judge(rows, out=tmp_path / "run", model=again, judge=program, options=options)
    assert len(first.requests) == 1 and len(again.requests) == 0  # the second session's program came from the cache
    scores = {v.id: v.outcome.score for v in result.verdicts()}  # type: ignore[union-attr]
    assert scores == {"q0": 1.0, "q1": 2.0, "q2": 3.0, "q3": 4.0}
    hashes = {v.strategy["program"]["hash"] for v in result.verdicts()}  # type: ignore[index]
    assert len(hashes) == 1


def test_a_strategy_file_builds_a_program_judge(tmp_path: Path) -> None:
    pool = _pointwise_pool(tmp_path)
    path = tmp_path / "program.yaml"
    path.write_text(f"kind: program\nexamples: 3\ncpu_s: 2\njudge:\n  rubric: helpfulness\n  demos: {{pool: {pool}}}\n")
    models = {"local": FakeBackend(LENGTH)}
    judge = build_tree(load_strategy(path), JudgeConfig(mode="pointwise"), "local", models.__getitem__)
    assert isinstance(judge, ProgramJudge) and judge.settings()["cpu_s"] == 2 and len(judge.examples) == 3
    with pytest.raises(ConfigError, match="timeout"):
        parse_strategy({"kind": "program", "timeout": 3})


def test_it_needs_labelled_examples_and_a_mode_it_can_program(tmp_path: Path) -> None:
    backend = FakeBackend(LENGTH)
    with pytest.raises(ConfigError, match="needs labelled examples"):
        ProgramJudge(make_judge(backend, JudgeConfig(mode="pointwise")))
    with pytest.raises(ConfigError, match="pointwise or pairwise"):
        ProgramJudge(make_judge(backend, JudgeConfig(mode="listwise")))


def test_the_code_is_taken_from_the_reply() -> None:
    assert (
        extract_code("Here:\n```python\ndef score(item):\n    return 1\n```\nDone.")
        == "def score(item):\n    return 1\n"
    )
    assert extract_code("def prefer(item):\n    return 'tie'") == "def prefer(item):\n    return 'tie'\n"


def test_the_program_is_asked_with_its_own_token_budget(tmp_path: Path) -> None:
    backend = FakeBackend(LENGTH)
    strategy = _judge(backend, _pointwise_pool(tmp_path), max_tokens=64)
    asyncio.run(strategy.program())
    request: GenerateRequest = backend.requests[0]
    assert request.max_tokens == 1024 and request.temperature == 0.0


def test_from_the_cli_with_a_strategy_file(tmp_path: Path) -> None:
    pool = _pointwise_pool(tmp_path)
    (tmp_path / "program.yaml").write_text(
        f"kind: program\nexamples: 3\njudge:\n  rubric: helpfulness\n  demos: {{pool: {pool}, k: 1}}\n"
    )
    record = {"texts": ["Write a Python program that grades"], "completion": LENGTH}
    (tmp_path / "recorded.jsonl").write_text(json.dumps(record) + "\n")
    rows = [{"id": "a", "prompt": "q", "response": "hi"}, {"id": "b", "prompt": "q", "response": "y" * 30}]
    (tmp_path / "data.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    args = ["judge", str(tmp_path / "data.jsonl"), "--mode", "pointwise", "--strategy", str(tmp_path / "program.yaml")]
    args += ["--model", f"replay:{tmp_path / 'recorded.jsonl'}", "--out", str(tmp_path / "run"), "--no-cache"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    verdicts = [json.loads(line) for line in (tmp_path / "run" / "verdicts.jsonl").read_text().splitlines()]
    assert {v["id"]: v["outcome"]["score"] for v in verdicts} == {"a": 1.0, "b": 4.0}
    assert sum(v["usage"]["calls"] for v in verdicts) == 1  # the one call that wrote the program, counted once
    assert {v["strategy"]["program"]["validation"]["correct"] for v in verdicts} == {3}
