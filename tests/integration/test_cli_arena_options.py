"""`jurist arena` takes the options of every command that judges (rate limits, a template, a temperature, the
strategy flags or a strategy file), end to end through the real HTTP backend and the fake server."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from click.testing import CliRunner, Result

from jurist.cli import main
from jurist.testing import FakeOpenAIServer

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "arena"
BATTLES = 8  # two systems, eight prompts: one battle a prompt
MARKER = "ARENA-TEMPLATE-MARKER"
TEMPLATE = f'''name = "marked"
version = "1"
mode = "pairwise"
system = "{MARKER}: you compare two responses to the same request and say which is better."
user = """# Request
{{{{ prompt }}}}

# Response A
{{{{ response_a }}}}

# Response B
{{{{ response_b }}}}

{{{{ output_format }}}}"""
'''


def _arena(server: FakeOpenAIServer, out: Path, *extra: str) -> Result:
    systems = [arg for name in ("careful", "terse") for arg in ("--system", f"{name}={EXAMPLE / (name + '.jsonl')}")]
    args = ["arena", *systems, "--out", str(out), "--model", "openai:fake-model", "--base-url", server.url]
    return CliRunner().invoke(main, [*args, "--no-cache", "--bootstrap", "10", *extra], env={"COLUMNS": "160"})


def _judge(out: Path) -> dict[str, Any]:
    """What the battles' run directory records about its judge."""
    return json.loads((out / "battles-run" / "config.json").read_text())["judge"]


def test_rate_limit_template_temperature_and_self_consistency(server: FakeOpenAIServer, tmp_path: Path) -> None:
    template = tmp_path / "marked.toml"
    template.write_text(TEMPLATE)
    rpm = 1200.0  # one request every 0.05 s
    extra = ("--rpm", str(rpm), "--template", str(template), "--temperature", "0.7", "--samples", "2")
    result = _arena(server, tmp_path / "arena", *extra)
    assert result.exit_code == 0, result.output
    calls = BATTLES * 2 * 2  # both orders, two samples each
    assert server.stats()["total"] == calls
    assert server.count(MARKER) == calls  # every request was written by the template
    judge = _judge(tmp_path / "arena")
    assert judge["strategy"] == "self_consistency"
    assert '"temperature": 0.7' in json.dumps(judge)
    # the requests were spaced out by the rate limit (without it they all arrive within milliseconds)
    arrivals = sorted(t for p in server.stats(prompts=True)["prompts"].values() for t in p["times"])
    assert arrivals[-1] - arrivals[0] >= 0.8 * (calls - 1) * 60 / rpm


def test_a_strategy_file(server: FakeOpenAIServer, tmp_path: Path) -> None:
    jury = tmp_path / "jury.yaml"
    jury.write_text("kind: jury\njudges:\n  - {kind: judge, rubric: helpfulness}\n  - {kind: judge, rubric: honesty}\n")
    result = _arena(server, tmp_path / "arena", "--strategy", str(jury), "--tpm", "1000000", "--rationale", "none")
    assert result.exit_code == 0, result.output
    assert server.stats()["total"] == BATTLES * 2 * 2  # two jurors, both orders each
    judge = _judge(tmp_path / "arena")
    assert judge["strategy"] == "jury" and "honesty" in json.dumps(judge)
    again = _arena(server, tmp_path / "arena", "--strategy", str(jury), "--tpm", "1000000", "--rationale", "none")
    assert again.exit_code == 0, again.output
    assert server.stats()["total"] == BATTLES * 2 * 2  # resumed: the same judge, nothing sent again


def test_a_strategy_file_of_another_mode_is_refused_before_any_call(server: FakeOpenAIServer, tmp_path: Path) -> None:
    ranking = tmp_path / "ranking.yaml"
    ranking.write_text("kind: ranking\nmethod: sort\njudge: {kind: judge}\n")
    result = _arena(server, tmp_path / "arena", "--strategy", str(ranking))
    assert result.exit_code == 2, result.output
    assert "builds a listwise judge but the run is pairwise" in result.output
    assert server.stats()["total"] == 0
