"""`jurist issues`: extraction parsing, clustering, the report's counts and shares, determinism, bad input."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

import jurist
from jurist import FakeBackend, GenerateRequest
from jurist.cli.issues import issues as issues_command
from jurist.issues import IssuesOptions, analyse_issues, cluster, parse_issues, parse_name, select
from jurist.run.engine import JobOptions
from jurist.run.log import read_run


@pytest.fixture(autouse=True)
def _private_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JURIST_CACHE_DIR", str(tmp_path / "cache"))


# item -> (score, rationale); i6's rationale makes the extraction answer unreadable, i7 has no rationale
JUDGED = {
    "i1": (1, "It gives the wrong date and is far too verbose."),
    "i2": (2, "The year stated is a wrong date."),
    "i3": (1, "Rude tone; also verbose padding."),
    "i4": (2, "Wrong date again."),
    "i5": (5, "Excellent and concise."),
    "i6": (1, "GARBLE"),
    "i7": (2, None),
    "i8": (2, "Nothing wrong really."),
}
# what the extraction model lists for each rationale
EXTRACTED = {
    "It gives the wrong date and is far too verbose.": '["gives a wrong date", "too verbose"]',
    "The year stated is a wrong date.": 'Here: ["states a wrong date"]',
    "Rude tone; also verbose padding.": "- rude tone\n- verbose padding",
    "Wrong date again.": '["wrong date <script>|x"]',
    "Excellent and concise.": "[]",
    "GARBLE": "I cannot do this.",
    "Nothing wrong really.": "[]",
}
TOPICS = ("date", "verbose", "rude")
NAMES = {"date": "Factual errors", "verbose": "Verbosity", "rude": "Tone"}


def judge_script(request: GenerateRequest) -> str:
    response = request.messages[-1].content.split("# Response\n", 1)[1].split()[0]
    score, rationale = JUDGED[response]
    return json.dumps({"score": score} | ({"rationale": rationale} if rationale else {}))


def analysis_script(request: GenerateRequest) -> str:
    text = request.messages[-1].content
    if "# Judge's explanation" in text:
        rationale = text.split("# Judge's explanation\n", 1)[1].split("\n\nAnswer with", 1)[0]
        return EXTRACTED[rationale]
    issues = text.split("# Problems\n", 1)[1]
    return next(f'"{NAMES[t]}"\n' for t in TOPICS if t in issues)


class TopicEmbedder:
    """One axis per topic word: issues about the same thing point the same way."""

    name = "topics"

    def embed(self, texts: list[str]) -> np.ndarray:
        rows = [[1.0 if topic in text else 0.0 for topic in TOPICS] + [0.1] for text in texts]
        return np.asarray(rows) / np.linalg.norm(rows, axis=1, keepdims=True)


def judged_run(tmp_path: Path, with_rationales: bool = True) -> Path:
    out = tmp_path / "run"
    rows = [{"id": item, "prompt": f"question {item}", "response": item} for item in JUDGED]

    def script(request: GenerateRequest) -> str:
        reply = json.loads(judge_script(request))
        return json.dumps(reply if with_rationales else {"score": reply["score"]})

    jurist.judge(rows, out=out, config="pointwise", model=FakeBackend(script), options=JobOptions(cache=False))
    return out


def test_extraction_answers_are_parsed() -> None:
    assert parse_issues('Sure: ["a  b", "c"] done') == ["a b", "c"]
    assert parse_issues("[]") == []
    assert parse_issues("1. first\n2) second\n- third") == ["first", "second", "third"]
    assert parse_issues("no list here") is None
    assert parse_issues("[1, 2]") is None
    assert parse_name('Name: "Factual errors".\nmore') == "Factual errors"
    assert parse_name("- Fails to address the request") == "Fails to address the request"
    assert parse_name("  \n") is None


def test_clustering_finds_the_hand_made_groups_and_caps_the_types() -> None:
    rng = np.random.default_rng(1)
    axes = np.eye(3)
    truth = [0, 0, 0, 1, 1, 2, 0, 1]
    vectors = axes[truth] + rng.normal(0, 0.05, (len(truth), 3))
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    for seed in range(5):
        labels = cluster(vectors, similarity=0.8, max_types=8, seed=seed)
        assert labels == truth  # numbered by size: the largest group is 0
    capped = cluster(vectors, similarity=0.8, max_types=2, seed=0)
    assert set(capped) == {0, 1} and [capped[i] for i in (0, 1, 2, 6)] == [0] * 4


def test_the_report_counts_types_shares_and_failures(tmp_path: Path) -> None:
    run_dir = judged_run(tmp_path)
    chosen, below = select(read_run(run_dir).verdicts, "bad", None)
    assert below == 2.0 and sorted(v.id for v in chosen) == ["i1", "i3", "i6"]  # below the median score 2

    report = analyse_issues(
        run_dir,
        tmp_path / "issues",
        IssuesOptions(below=3),
        model=FakeBackend(analysis_script),
        embeddings=TopicEmbedder(),
    )
    assert (report.verdicts, report.selected, report.no_rationale, report.unreadable) == (8, 7, 1, 1)
    assert (report.analysed, report.without_issues, report.issues, report.names_failed) == (5, 1, 6, 0)
    kinds = {t.name: (t.items, t.issues, t.share, [e.id for e in t.examples]) for t in report.types}
    assert kinds == {
        "Factual errors": (3, 3, 3 / 5, ["i1", "i2", "i4"]),
        "Verbosity": (2, 2, 2 / 5, ["i1", "i3"]),
        "Tone": (1, 1, 1 / 5, ["i3"]),
    }
    assert [t.name for t in report.types] == ["Factual errors", "Verbosity", "Tone"]
    written = json.loads((tmp_path / "issues" / "issues.json").read_text())
    assert written["types"][0]["examples"][2]["quote"] == "wrong date <script>|x"
    markdown = (tmp_path / "issues" / "issues.md").read_text()
    assert "&lt;script&gt;\\|x" in markdown and "<script>" not in markdown
    assert "analysed 5; without a rationale 1; extraction unreadable 1" in markdown


def test_the_same_seed_and_cache_give_the_same_report_without_new_calls(tmp_path: Path) -> None:
    run_dir = judged_run(tmp_path)
    backend = FakeBackend(analysis_script)
    options = IssuesOptions(which="all", seed=7)
    first = analyse_issues(run_dir, tmp_path / "a", options, model=backend, embeddings=TopicEmbedder())
    calls = len(backend.requests)
    second = analyse_issues(run_dir, tmp_path / "b", options, model=backend, embeddings=TopicEmbedder())
    assert calls > 0 and len(backend.requests) == calls  # the second report came from the response cache
    assert first == second
    assert (tmp_path / "a" / "issues.json").read_bytes() == (tmp_path / "b" / "issues.json").read_bytes()


def test_a_model_name_that_cannot_be_read_falls_back_to_an_issue_and_is_counted(tmp_path: Path) -> None:
    run_dir = judged_run(tmp_path)

    def script(request: GenerateRequest) -> str:
        return analysis_script(request) if "# Judge's explanation" in request.messages[-1].content else "  "

    report = analyse_issues(
        run_dir, tmp_path / "o", IssuesOptions(below=3), model=FakeBackend(script), embeddings=TopicEmbedder()
    )
    assert report.names_failed == 3 and not any(t.named_by_model for t in report.types)
    assert report.types[0].name == "gives a wrong date"


def test_a_run_without_rationales_is_refused_with_exit_2(tmp_path: Path) -> None:
    run_dir = judged_run(tmp_path, with_rationales=False)
    result = CliRunner().invoke(issues_command, [str(run_dir), "--out", str(tmp_path / "o"), "--which", "all"])
    assert result.exit_code == 2, result.output
    assert "verdicts.jsonl: none of the 8 chosen verdicts has a rationale" in result.output
    assert "Traceback" not in result.output and not (tmp_path / "o").exists()


def test_a_missing_run_directory_is_refused_with_exit_2(tmp_path: Path) -> None:
    result = CliRunner().invoke(issues_command, [str(tmp_path / "nothing"), "--out", str(tmp_path / "o")])
    assert result.exit_code == 2 and "Traceback" not in result.output


def test_bad_pairwise_items_are_those_with_a_winner_or_a_flag_never_an_error() -> None:
    from jurist.outcomes import Preference
    from jurist.types import ErrorInfo, Verdict

    def verdict(id: str, winner: str | None, **extra: object) -> Verdict:
        return Verdict.model_validate({"id": id, "mode": "pairwise", "outcome": Preference(winner=winner), **extra})

    verdicts = [
        verdict("a", "A"),
        verdict("b", "B"),
        verdict("tie", "tie"),
        verdict("flagged", None, flagged=True),
        verdict("failed", "A", error=ErrorInfo(reason="parse", message="unreadable")),
    ]
    assert [v.id for v in select(verdicts, "bad", None)[0]] == ["a", "b", "flagged"]
    assert [v.id for v in select(verdicts, "all", None)[0]] == ["a", "b", "tie", "flagged"]
