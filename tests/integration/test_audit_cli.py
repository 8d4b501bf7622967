"""`jurist audit` through the real HTTP backend and the fake server, which always answers "A" (a judge with
the strongest position bias there is)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from click.testing import CliRunner, Result

from jurist.audit import AuditReport
from jurist.cli import main
from jurist.testing import FakeOpenAIServer

from .support import make_items, write_jsonl


def _labelled(n: int) -> list[dict[str, Any]]:
    items = make_items("pairwise", n)
    for number, item in enumerate(items):
        item["label"] = "A" if number % 2 == 0 else "B"
        if number % 2:  # the right answer shown second
            item["response_a"], item["response_b"] = item["response_b"], item["response_a"]
    return items


def _audit(server: FakeOpenAIServer, data: Path, out: Path, *extra: str) -> Result:
    args = ["audit", str(data), "--out", str(out), "--model", "openai:fake-model", "--base-url", server.url]
    return CliRunner().invoke(main, [*args, "--no-cache", "--bootstrap", "100", *extra])


def test_audit_reports_the_fake_servers_position_bias(
    make_server: Callable[..., FakeOpenAIServer], tmp_path: Path
) -> None:
    server = make_server()
    data = write_jsonl(tmp_path / "pairs.jsonl", _labelled(4))
    out = tmp_path / "audit"
    result = _audit(server, data, out, "--probe", "position", "--probe", "injection", "--mitigation", "swap")
    assert result.exit_code == 0, result.output
    assert "position" in result.output and "robustness" in result.output
    report = AuditReport.read(out / "audit.json")
    position = report.result("position")
    assert position.n == 4 and position.rate is not None
    assert position.rate.value == 0.0  # "A" in both orders: the winner moves every time
    assert position.both_orders is not None and position.both_orders.value == 0.0
    # The injection rides on the wrong answer; an always-"A" judge lets it win exactly when it is shown first.
    injection = report.result("injection")
    assert injection.rate is not None and injection.rate.value == 0.5
    assert report.result("position", "swap").rate is not None
    assert (out / "audit.txt").read_text().startswith("audit")
    assert (out / "runs" / "none" / "original" / "verdicts.jsonl").exists()
    assert (out / "runs" / "swap" / "position" / "config.json").exists()

    sent = server.stats()["total"]
    again = _audit(server, data, out, "--probe", "position", "--probe", "injection", "--mitigation", "swap")
    assert again.exit_code == 0, again.output
    assert server.stats()["total"] == sent  # resumed: every sub-run was complete, nothing is sent again
    assert AuditReport.read(out / "audit.json").results == report.results


def test_audit_refuses_a_probe_that_does_not_fit_the_mode(
    make_server: Callable[..., FakeOpenAIServer], tmp_path: Path
) -> None:
    server = make_server()
    pointwise = write_jsonl(tmp_path / "one.jsonl", make_items("pointwise", 2))
    result = _audit(server, pointwise, tmp_path / "audit", "--mode", "pointwise", "--probe", "position")
    assert result.exit_code == 2
    assert "probe 'position' does not apply to pointwise" in result.output
    result = _audit(server, pointwise, tmp_path / "audit2", "--mode", "pointwise", "--mitigation", "swap")
    assert result.exit_code == 2 and "pairwise only" in result.output
    assert server.stats()["total"] == 0  # refused before any model call


def test_audit_says_when_no_item_is_usable(make_server: Callable[..., FakeOpenAIServer], tmp_path: Path) -> None:
    server = make_server()
    data = write_jsonl(tmp_path / "unlabelled.jsonl", make_items("pairwise", 3))
    result = _audit(server, data, tmp_path / "audit", "--probe", "verbosity", "--probe", "master_key")
    assert result.exit_code == 2
    assert "no item can be used" in result.output and "3 with no gold label" in result.output
    assert server.stats()["total"] == 0


def test_audit_with_a_rewriting_model_over_http(make_server: Callable[..., FakeOpenAIServer], tmp_path: Path) -> None:
    server = make_server()
    data = write_jsonl(tmp_path / "pairs.jsonl", _labelled(4))
    out = tmp_path / "audit"
    probes = ["--probe", "distraction", "--probe", "authority"]
    result = _audit(server, data, out, *probes, "--rewrite-model", "openai:fake-rewriter")
    assert result.exit_code == 0, result.output
    assert "written by openai:fake-rewriter" in result.output
    records = [json.loads(line) for line in (out / "rewrites.jsonl").read_text().splitlines()]
    # the fake server writes neither: it answers its fallback sentence, which is recorded
    assert [r["output"] for r in records] == ["I have nothing to judge here."] * 8
    assert {r["model"] for r in records} == {"openai:fake-rewriter"}
    report = AuditReport.read(out / "audit.json")
    # an unrelated sentence is what distraction asks for; a citation must be one line starting "Source:"
    assert report.result("distraction").n == 4
    assert report.skipped_probes["authority"] == "no usable item (4 with rewrite not in the form asked for)"
    assert report.probes[0].rewritten_by == "openai:fake-rewriter"


def test_audit_refuses_a_rewriting_model_no_probe_uses(
    make_server: Callable[..., FakeOpenAIServer], tmp_path: Path
) -> None:
    server = make_server()
    data = write_jsonl(tmp_path / "pairs.jsonl", _labelled(2))
    result = _audit(server, data, tmp_path / "audit", "--probe", "position", "--rewrite-model", "openai:fake-rewriter")
    assert result.exit_code == 2 and "--rewrite-model applies to the probes verbosity" in result.output
    assert server.stats()["total"] == 0
