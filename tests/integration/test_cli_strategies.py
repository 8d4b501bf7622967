"""Strategies from the CLI, through the real HTTP backend and the fake server."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from click.testing import CliRunner

from jurist import Ranking, Verdict
from jurist.cli import main
from jurist.testing import FakeOpenAIServer

from .support import make_items, write_jsonl


def _run(server: FakeOpenAIServer, data: Path, out: Path, *extra: str):  # type: ignore[no-untyped-def]
    args = [
        "judge",
        str(data),
        "--mode",
        "pairwise",
        "--out",
        str(out),
        "--model",
        "openai:small",
        "--base-url",
        server.url,
        "--no-cache",
        *extra,
    ]
    return CliRunner().invoke(main, args)


def _verdicts(out: Path) -> list[dict]:  # type: ignore[type-arg]
    return [json.loads(line) for line in (out / "verdicts.jsonl").read_text().splitlines()]


def test_jury_of_rubrics_from_the_cli(make_server: Callable[..., FakeOpenAIServer], tmp_path: Path) -> None:
    server = make_server()
    data = write_jsonl(tmp_path / "d.jsonl", make_items("pairwise", 3))
    result = _run(server, data, tmp_path / "run", "--jury-rubric", "helpfulness", "--jury-rubric", "honesty")
    assert result.exit_code == 0, result.output
    for v in _verdicts(tmp_path / "run"):
        assert v["strategy"]["name"] == "jury" and len(v["strategy"]["judges"]) == 2
        assert v["usage"]["calls"] == 4  # two jurors, both orders each
    config = json.loads((tmp_path / "run" / "config.json").read_text())
    assert "helpfulness" in json.dumps(config) and "honesty" in json.dumps(config)


def test_self_consistency_needs_a_temperature(make_server: Callable[..., FakeOpenAIServer], tmp_path: Path) -> None:
    server = make_server()
    data = write_jsonl(tmp_path / "d.jsonl", make_items("pairwise", 2))
    refused = _run(server, data, tmp_path / "cold", "--samples", "3")
    assert refused.exit_code == 2 and "temperature" in refused.output
    result = _run(server, data, tmp_path / "warm", "--samples", "3", "--temperature", "0.7", "--no-swap")
    assert result.exit_code == 0, result.output
    for v in _verdicts(tmp_path / "warm"):
        assert v["strategy"]["name"] == "self_consistency" and len(v["strategy"]["samples"]) == 3


def test_cascade_escalates_inconsistent_pairs(make_server: Callable[..., FakeOpenAIServer], tmp_path: Path) -> None:
    # The fake server always answers "A", so both orders disagree and every pair is escalated.
    server = make_server()
    data = write_jsonl(tmp_path / "d.jsonl", make_items("pairwise", 2))
    result = _run(server, data, tmp_path / "run", "--cascade-to", "openai:strong", "--escalate-when", "inconsistent")
    assert result.exit_code == 0, result.output
    for v in _verdicts(tmp_path / "run"):
        assert v["strategy"]["escalated"] is True and v["strategy"]["reasons"] == ["inconsistent"]
        assert v["usage"]["calls"] == 4  # both orders on the cheap model, then both on the strong one
    config = json.loads((tmp_path / "run" / "config.json").read_text())
    assert config["judge"]["backend"] == "openai:small+openai:strong"


def test_write_first_from_the_cli(make_server: Callable[..., FakeOpenAIServer], tmp_path: Path) -> None:
    server = make_server()
    data = write_jsonl(tmp_path / "d.jsonl", make_items("pairwise", 2))
    result = _run(server, data, tmp_path / "run", "--write-first", "self_reference")
    assert result.exit_code == 0, result.output
    for v in _verdicts(tmp_path / "run"):
        assert v["strategy"]["name"] == "self_reference" and v["usage"]["calls"] == 3
    both = _run(server, data, tmp_path / "both", "--write-first", "revision", "--samples", "2", "--temperature", "1")
    assert both.exit_code == 2 and "choose one" in both.output


def test_a_strategy_file_runs_a_debate(make_server: Callable[..., FakeOpenAIServer], tmp_path: Path) -> None:
    server = make_server()
    data = write_jsonl(tmp_path / "d.jsonl", make_items("pairwise", 2))
    spec = tmp_path / "debate.yaml"
    spec.write_text("kind: debate\nrounds: 1\njudges:\n  - {rubric: helpfulness}\n  - {rubric: honesty}\n")
    result = _run(server, data, tmp_path / "run", "--strategy", str(spec), "--no-swap")
    assert result.exit_code == 0, result.output
    for v in _verdicts(tmp_path / "run"):
        assert v["error"] is None and v["outcome"]["winner"] in ("A", "B", "tie")
        assert v["strategy"]["name"] == "debate"
        assert v["usage"]["calls"] == 4  # two debaters: one argument each, then one final vote each
    config = json.loads((tmp_path / "run" / "config.json").read_text())
    assert config["judge"]["strategy"] == "debate"


def test_a_strategy_file_with_flat_strategy_options_is_refused(
    make_server: Callable[..., FakeOpenAIServer], tmp_path: Path
) -> None:
    server = make_server()
    data = write_jsonl(tmp_path / "d.jsonl", make_items("pairwise", 1))
    spec = tmp_path / "s.json"
    spec.write_text('{"kind": "jury", "judges": [{}, {}]}')
    result = _run(server, data, tmp_path / "run", "--strategy", str(spec), "--jury-rubric", "honesty")
    assert result.exit_code == 2 and "describes the whole stack" in result.output
    bad = tmp_path / "bad.json"
    bad.write_text('{"kind": "debate", "rounds": 0, "judges": [{}, {}]}')
    result = _run(server, data, tmp_path / "run2", "--strategy", str(bad))
    assert result.exit_code == 2 and "rounds" in result.output
    assert not (tmp_path / "run2" / "verdicts.jsonl").exists()
    assert server.stats()["total"] == 0


def test_rank_by_ranks_listwise_items_with_pairwise_calls(
    make_server: Callable[..., FakeOpenAIServer], tmp_path: Path
) -> None:
    server = make_server()
    data = write_jsonl(tmp_path / "d.jsonl", make_items("listwise", 2))
    args = ["judge", str(data), "--mode", "listwise", "--out", str(tmp_path / "run"), "--model", "openai:small"]
    args += ["--base-url", server.url, "--no-cache", "--rank-by", "sort", "--no-swap"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    for v in _verdicts(tmp_path / "run"):
        ranking = Verdict.model_validate(v).outcome
        assert isinstance(ranking, Ranking) and ranking.ranking is not None
        assert sorted(ranking.ranking) == [1, 2, 3] and ranking.best == ranking.ranking[0]
        assert v["strategy"]["method"] == "sort" and v["strategy"]["calls"] <= 3
        assert v["usage"]["calls"] == v["strategy"]["calls"]
