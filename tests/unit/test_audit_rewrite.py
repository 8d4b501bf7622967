"""Perturbations written by a rewriting model (`--rewrite-model`): what is asked, what is recorded, what is
skipped and why, and that a rerun reuses the rewrites."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from jurist import (
    BackendError,
    ConfigError,
    FakeBackend,
    GenerateRequest,
    GenerateResponse,
    JobOptions,
    JudgeConfig,
    Limits,
)
from jurist.audit import AuditOptions, AuditReport, audit, render_report
from jurist.audit.probes import PROBES, Authority, Recipe, Sentiment, Verbosity
from jurist.audit.rewrite import clean, problem
from jurist.types import Item

from .helpers import user_text
from .test_audit_fakes import length_biased, pair_items, point_items

_SOURCE = re.compile(r"## Response\n(?P<r>.*)\Z", re.S)


def rewriter(
    expand: str = "double", citation: str = "Source: Doe, J. (2020). Sums. Journal of Numbers."
) -> FakeBackend:
    """A rewriting model: verbosity doubles the response ("double"), adds only "!" ("same"), returns
    nothing ("empty") or fails ("fail"); sentiment and distraction answer with fixed sentences."""

    def reply(request: GenerateRequest) -> str | Exception:
        text = user_text(request)
        source = _SOURCE.search(text)
        if text.startswith("Rewrite the response below so that it is about twice as long"):
            assert source is not None
            if expand == "fail":
                return BackendError("server overloaded", status=503, retryable=True)
            body = {
                "double": f"{source['r']} In other words, {source['r']} " * 3,
                "same": source["r"] + "!",
                "empty": "",
            }
            how = expand
            if how == "mixed":  # the first item's response comes back unchanged, the others doubled
                how = "same" if "203" in source["r"] else "double"
            return f"Sure! Here is the rewritten response:\n\n{body[how]}"
        if text.startswith("Write one reference"):
            return citation
        if text.startswith("Rewrite the response below in an enthusiastic"):
            assert source is not None
            return f"Surely {source['r']}"
        if text.startswith("Rewrite the response below in a hesitant"):
            assert source is not None
            return f"Maybe {source['r']}"
        if text.startswith("Write two or three sentences about a topic"):
            return "I like gardening. Tomatoes grow fast in summer."
        raise AssertionError(f"the fake rewriter cannot read: {text[:200]}")

    return FakeBackend(reply, name="fake-rewriter")


def _audit(tmp_path: Path, items: Any, probes: list[str], rewrite: FakeBackend, **extra: Any) -> AuditReport:
    config = JudgeConfig(mode=extra.pop("mode", "pairwise"), rationale="none")
    job = JobOptions(cache=False, limits=Limits(max_retries=0))
    settings = AuditOptions(probes=probes, n_resamples=50, **extra)
    return audit(
        items,
        out=tmp_path / "audit",
        config=config,
        model=length_biased(),
        audit=settings,
        options=job,
        rewriter=rewrite,
    )


def _records(tmp_path: Path) -> list[dict[str, Any]]:
    lines = (tmp_path / "audit" / "rewrites.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines]


def test_a_rewritten_verbosity_probe_is_judged_and_recorded(tmp_path: Path) -> None:
    report = _audit(tmp_path, pair_items(4), ["verbosity"], rewriter())
    result = report.result("verbosity")
    rate = result.rate
    assert result.n == 4 and rate is not None and rate.value == 0.0  # the length fake takes every padded answer
    info = next(p for p in report.probes if p.name == "verbosity")
    assert info.rewritten_by == "fake-rewriter"
    assert info.wording["pairwise:expand"].startswith("Rewrite the response below so that it is about twice as long")
    assert info.assembly["pairwise:expand"] == "{rewrite}"
    records = _records(tmp_path)
    assert len(records) == 4 and {r["probe"] for r in records} == {"verbosity"}
    first = records[0]
    # the announcing line is cut; the instruction, the text it changed and the raw answer are kept
    assert first["output"] == (f"{first['source']} In other words, {first['source']} " * 3).strip()
    assert first["raw"].startswith("Sure! Here is") and first["source"] in first["instruction"]
    # the judge saw the rewrite in place of the worse response
    example = result.examples[0]
    changed = "response_b" if example.original == "A" else "response_a"
    assert example.texts[changed].count("In other words") == 3
    assert (tmp_path / "audit" / "runs" / "none" / "verbosity-rewritten").is_dir()
    assert any("written by fake-rewriter" in note for note in report.notes)


def test_a_rerun_reuses_the_rewrites(tmp_path: Path) -> None:
    _audit(tmp_path, pair_items(3), ["verbosity", "authority"], rewriter())
    silent = FakeBackend(lambda r: AssertionError("no rewrite should be asked for again"), name="fake-rewriter")
    report = _audit(tmp_path, pair_items(3), ["verbosity", "authority"], silent)
    assert silent.requests == []
    assert report.result("authority").n == 3 and len(_records(tmp_path)) == 6


def test_unusable_rewrites_are_skipped_with_their_reason(tmp_path: Path) -> None:
    report = _audit(tmp_path / "same", pair_items(3), ["verbosity"], rewriter(expand="same"))
    assert report.skipped_probes["verbosity"] == "no usable item (3 with rewrite under 1.2 times the response's length)"
    report = _audit(tmp_path / "empty", pair_items(2), ["verbosity", "sentiment"], rewriter(expand="empty"))
    assert "2 with rewrite was empty" in report.skipped_probes["verbosity"]
    assert report.result("sentiment").n == 2  # the other probe is unaffected


def test_the_table_lists_the_items_skipped_and_why(tmp_path: Path) -> None:
    report = _audit(tmp_path, pair_items(3), ["verbosity"], rewriter(expand="mixed"))
    assert report.result("verbosity").n == 2
    assert report.result("verbosity").skipped == {"rewrite under 1.2 times the response's length": 1}
    table = render_report(report)
    assert "skipped items:\n  verbosity: 1 rewrite under 1.2 times the response's length" in table


def test_a_failed_rewrite_is_recorded_skipped_and_asked_again_next_time(tmp_path: Path) -> None:
    report = _audit(tmp_path, pair_items(2), ["verbosity", "distraction"], rewriter(expand="fail"))
    assert report.skipped_probes["verbosity"] == "no usable item (2 with rewriting model failed)"
    assert report.result("distraction").n == 2
    failed = [r for r in _records(tmp_path) if r["probe"] == "verbosity"]
    assert len(failed) == 2 and all("server overloaded" in r["error"] for r in failed)
    report = _audit(tmp_path, pair_items(2), ["verbosity", "distraction"], rewriter())
    assert report.result("verbosity").n == 2 and "verbosity" not in report.skipped_probes


def test_what_makes_a_rewrite_unusable() -> None:
    expand, citation = Verbosity.recipes["expand"], Authority.recipes["citation"]
    plain = Recipe(prompt="x")
    assert problem("", "abc", plain, truncated=False) == "rewrite was empty"
    assert problem("Source: Doe", "abc", citation, truncated=True) == "rewrite was cut off at --rewrite-tokens"
    assert (
        problem("abcdefghij", "abcdefghi", expand, truncated=False) == "rewrite under 1.2 times the response's length"
    )
    tone = Sentiment.recipes["confident_worse"]
    assert problem("x" * 30, "y" * 10, tone, truncated=False) == "rewrite over 2.5 times the response's length"
    assert problem("x" * 4, "y" * 10, tone, truncated=False) == "rewrite under 0.5 times the response's length"
    assert problem("x" * 12, "y" * 10, tone, truncated=False) is None
    assert problem("It is 4.", " It is 4.\n", tone, truncated=False) == "rewrite identical to the response"
    assert problem("abcdefghijkl", "abcdefghi", expand, truncated=False) is None
    assert problem("short", "a much longer response", plain, truncated=False) is None
    assert problem("Source: Doe, J. (2020). Sums.", "abc", citation, truncated=False) is None
    assert problem("The answer is: 9", "abc", citation, truncated=False) == "rewrite not in the form asked for"
    assert problem("Source: Doe\nand more", "abc", citation, truncated=False) == "rewrite not in the form asked for"


def test_a_cut_off_rewrite_skips_the_item(tmp_path: Path) -> None:
    cut = FakeBackend(lambda r: GenerateResponse(text="Source: Doe, J. (20", finish_reason="length"), name="cut")
    report = _audit(tmp_path, pair_items(2), ["authority"], cut)
    assert report.skipped_probes["authority"] == "no usable item (2 with rewrite was cut off at --rewrite-tokens)"


def test_pointwise_items_are_rewritten_whole(tmp_path: Path) -> None:
    report = _audit(tmp_path, point_items(3), ["verbosity", "sentiment"], rewriter(), mode="pointwise")
    assert report.result("verbosity").n == 3
    records = {r["probe"]: r for r in _records(tmp_path)}
    assert records["verbosity"]["source"].startswith("It is ")  # the item's own response


def test_the_rewrite_fills_one_pass_only() -> None:
    """A rewrite that contains a placeholder is not read again."""
    probe = Verbosity().rewritten("m", {"sum-0": "Look: {request} {response}"}, {})
    item = Item(**pair_items(1)[0])
    perturbed, expect = probe.perturb(item, 0)
    assert perturbed.response_b == "Look: {request} {response}" and expect.target == "B"


def test_clean_removes_only_the_wrapping() -> None:
    assert clean("Sure! Here is the rewritten response:\n\nThe sum is 4.") == "The sum is 4."
    assert clean("```\nThe sum is 4.\n```") == "The sum is 4."
    assert clean('"The sum is 4."') == "The sum is 4."
    assert clean("Here are the facts: 2 plus 2 is 4.") == "Here are the facts: 2 plus 2 is 4."  # no line break
    assert clean("The sum: 4.\nMore.") == "The sum: 4.\nMore."
    assert clean("Sure! Here is the rewritten response:") == ""  # an announcement with nothing after it


def test_a_rewriting_model_with_no_rewritable_probe_is_refused_before_any_call(tmp_path: Path) -> None:
    silent = FakeBackend(lambda r: AssertionError("no call expected"), name="fake-rewriter")
    with pytest.raises(ConfigError, match="applies to the probes verbosity, authority, sentiment and distraction"):
        _audit(tmp_path, pair_items(2), ["position", "injection"], silent)
    assert silent.requests == []


def test_every_rewritable_probe_has_recipes_for_its_variants() -> None:
    rewritable = {name for name, p in PROBES.items() if getattr(p, "recipes", None)}
    assert rewritable == {"verbosity", "authority", "sentiment", "distraction"}
    for name in rewritable:
        probe = PROBES[name]
        for recipe in probe.recipes.values():  # type: ignore[attr-defined]
            assert "{response}" in recipe.instruction or name == "distraction"
            assert "{rewrite}" in recipe.assemble
