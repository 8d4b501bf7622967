"""Typed outcomes (jurist.outcomes): what each kind decided, how sure it was, P(first wins) by the one convention;
and run directories written before outcomes (flat verdict records) that still read, resume, show, export and
meta-evaluate."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

import jurist
from jurist import FakeBackend, JobOptions, Preference, Ranking, Score, Verdict
from jurist.cli import main
from jurist.meta import meta_evaluate
from jurist.outcomes import OrderResult
from jurist.run.log import read_run
from jurist.summary import summarize
from jurist.types import ErrorInfo, Item

NO_CACHE = JobOptions(cache=False)


@pytest.fixture(autouse=True)
def _private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("JURIST_CACHE_DIR", str(tmp_path / "cache"))


# -- the outcomes ----------------------------------------------------------------------------------------------


def test_each_kind_says_what_it_decided_and_how_sure_it_was() -> None:
    assert Score(score=4.0, choice="4", probs={"3": 0.25, "4": 0.75}).decision() == "4"
    assert Score(score=3.5).decision() == 3.5  # a mean between labels: the score itself
    assert Score(score=4.0, probs={"3": 0.25, "4": 0.75}).confidence() == 0.75
    assert Preference(winner="B", probs={"A": 0.2, "B": 0.7, "tie": 0.1}).decision() == "B"
    assert Preference(winner="B", probs={"A": 0.2, "B": 0.7, "tie": 0.1}).confidence() == 0.7
    assert Preference(winner="A").confidence() is None
    ranking = Ranking(ranking=[3, 1, 2], probs={"1": 0.1, "2": 0.3, "3": 0.6})
    assert (ranking.best, ranking.decision(), ranking.confidence()) == (3, 3, 0.6)
    assert (Score().decision(), Preference().decision(), Ranking().decision(), Ranking().best) == (None,) * 4


def test_a_verdict_delegates_to_its_outcome_and_falls_back_to_a_strategys_agreement() -> None:
    verdict = Verdict(id="x", mode="pairwise", outcome=Preference(winner="A"), strategy={"agreement": 2 / 3})
    assert verdict.decision() == "A" and verdict.confidence() == pytest.approx(2 / 3)
    failed = Verdict(
        id="x", mode="pairwise", outcome=Preference(winner="A"), error=ErrorInfo(reason="timeout", message="slow")
    )
    assert failed.decision() is None  # a failed verdict decided nothing, whatever it kept
    nothing = Verdict(id="x", mode="pointwise")
    assert (nothing.decision(), nothing.confidence()) == (None, None)


def test_outcome_as_reads_one_kind_and_an_empty_one_otherwise() -> None:
    verdict = Verdict(id="x", mode="pointwise", outcome=Score(score=2.0))
    assert verdict.outcome_as(Score) is verdict.outcome
    assert verdict.outcome_as(Preference) == Preference() and verdict.outcome_as(Preference).winner is None
    assert Verdict(id="x", mode="listwise").outcome_as(Ranking).ranking is None


def test_p_first_reads_probabilities_by_the_one_convention_and_else_the_winner() -> None:
    probs = {"A": 0.2, "B": 0.6, "tie": 0.2}
    assert Preference(winner="B", probs=probs).p_first() == pytest.approx(0.3)  # ties half, the default
    assert Preference(winner="B", probs=probs).p_first(ties="drop") == pytest.approx(0.25)
    assert [Preference(winner=w).p_first() for w in ("A", "B", "tie")] == [1.0, 0.0, 0.5]
    assert Preference(winner="tie").p_first(ties="drop") is None  # a tie left out leaves nothing
    assert Preference(winner="A").p_first(discrete=False) is None  # probabilities only
    assert Preference().p_first() is None
    with pytest.raises(ValueError, match="tie treatment"):
        Preference(probs=probs).p_first(ties="ignore")  # type: ignore[arg-type]


def test_an_outcome_round_trips_through_json_by_its_kind() -> None:
    for outcome in (
        Score(score=4.0, choice="4", expected=3.9, probs={"4": 0.9, "3": 0.1}, criteria={"a": 4.0}),
        Preference(winner="A", consistent=True, strength="weak", orders=[OrderResult(order="AB", winner="A")]),
        Ranking(ranking=[2, 1], probs={"1": 0.4, "2": 0.6}),
    ):
        verdict = Verdict(id="x", mode="pointwise", outcome=outcome)
        assert Verdict.model_validate_json(verdict.model_dump_json()).outcome == outcome


def test_without_decision_keeps_the_evidence() -> None:
    score = Score(score=4.0, choice="4", expected=3.9, probs={"4": 0.9, "3": 0.1}, criteria={"a": 4.0})
    assert score.without_decision() == Score(probs={"4": 0.9, "3": 0.1}, criteria={"a": 4.0})
    preference = Preference(winner="A", probs={"A": 1.0}, consistent=True)
    assert preference.without_decision() == Preference(probs={"A": 1.0}, consistent=True)
    assert Ranking(ranking=[2, 1], probs={"1": 0.5}).without_decision() == Ranking(probs={"1": 0.5})


def test_a_flat_record_is_lifted_into_its_outcome_by_the_mode() -> None:
    flat = {"id": "x", "mode": "pointwise", "score": 4.0, "choice": "4", "score_expected": 3.9, "winner": None}
    assert Verdict.model_validate(flat).outcome == Score(score=4.0, choice="4", expected=3.9)
    flat = {"id": "x", "mode": "pairwise", "winner": "B", "probs": {"A": 0.5, "B": 0.5}, "flagged": True}
    verdict = Verdict.model_validate(flat)
    assert verdict.outcome == Preference(winner="B", probs={"A": 0.5, "B": 0.5}) and verdict.flagged
    flat = {"id": "x", "mode": "listwise", "ranking": [2, 1], "best": 2, "score": None}
    assert Verdict.model_validate(flat).outcome == Ranking(ranking=[2, 1])
    # a failed record of every field None has no outcome
    assert Verdict.model_validate({"id": "x", "mode": "pairwise", "winner": None, "ranking": None}).outcome is None


# -- a run directory written before outcomes -------------------------------------------------------------------

# Verdict records as jurist wrote them before outcomes: one flat object, every mode's fields at the top level.
OLD_POINTWISE = (
    '{"id":"ID","mode":"pointwise","score":SCORE,"choice":"CHOICE","score_expected":EXPECTED,"score_probs":PROBS,'
    '"criteria_scores":null,"per_turn":null,"winner":null,"probs":null,"consistent":null,"strength":null,'
    '"flagged":false,"orders":null,"ranking":null,"best":null,"demos":null,"rationale":"fine",'
    '"raw":["{\\"score\\": \\"CHOICE\\"}"],"usage":{"prompt_tokens":40,"completion_tokens":8,"cached_tokens":0,'
    '"calls":1},"latency_s":0.01,"error":null,"incomplete":null,"label":LABEL,"metadata":null,"item":null,'
    '"item_hash":"HASH","judge_fingerprint":"FINGERPRINT","strategy":null}'
)
OLD_ERROR = (
    '{"id":"ID","mode":"pointwise","score":null,"choice":null,"score_expected":null,"score_probs":null,'
    '"criteria_scores":null,"per_turn":null,"winner":null,"probs":null,"consistent":null,"strength":null,'
    '"flagged":false,"orders":null,"ranking":null,"best":null,"demos":null,"rationale":null,"raw":["no idea"],'
    '"usage":{"prompt_tokens":40,"completion_tokens":2,"cached_tokens":0,"calls":1},"latency_s":0.01,'
    '"error":{"reason":"parse_failure","message":"no score among the labels","retryable":false},'
    '"incomplete":null,"label":LABEL,"metadata":null,"item":null,"item_hash":"HASH",'
    '"judge_fingerprint":"FINGERPRINT","strategy":null}'
)
OLD_PAIRWISE = (
    '{"id":"ID","mode":"pairwise","score":null,"choice":null,"score_expected":null,"score_probs":null,'
    '"criteria_scores":null,"per_turn":null,"winner":"WINNER","probs":{"A":PA,"B":PB},"consistent":CONSISTENT,'
    '"strength":null,"flagged":false,"orders":[{"order":"AB","winner":"WINNER","strength":null,"probs":null,'
    '"error":null},{"order":"BA","winner":"BA_WINNER","strength":null,"probs":null,"error":null}],"ranking":null,'
    '"best":null,"demos":null,"rationale":"r","raw":["a","b"],"usage":{"prompt_tokens":80,"completion_tokens":10,'
    '"cached_tokens":0,"calls":2},"latency_s":0.02,"error":null,"incomplete":null,"label":"LABEL","metadata":null,'
    '"item":null,"item_hash":"HASH","judge_fingerprint":"FINGERPRINT","strategy":null}'
)
OLD_LISTWISE = (
    '{"id":"ID","mode":"listwise","score":null,"choice":null,"score_expected":null,"score_probs":null,'
    '"criteria_scores":null,"per_turn":null,"winner":null,"probs":null,"consistent":null,"strength":null,'
    '"flagged":false,"orders":null,"ranking":RANKING,"best":BEST,"demos":null,"rationale":"r","raw":["x"],'
    '"usage":{"prompt_tokens":60,"completion_tokens":9,"cached_tokens":0,"calls":1},"latency_s":0.01,"error":null,'
    '"incomplete":null,"label":LABEL,"metadata":null,"item":null,"item_hash":"HASH",'
    '"judge_fingerprint":"FINGERPRINT","strategy":null}'
)


def fill(template: str, **values: object) -> str:
    for key, value in values.items():
        template = template.replace(key.upper(), str(value))
    return template


def old_run(out: Path, mode: str, rows: list[dict], answer: str, lines: list[str]) -> None:
    """A run of `rows` whose verdicts.jsonl is `lines` (the old format): the header is the judge's own, so that the
    run resumes; HASH and FINGERPRINT in a line are the item's hash and the judge's fingerprint."""
    jurist.judge(rows, out=out, config=mode, model=FakeBackend([answer] * 100), options=NO_CACHE)
    fingerprint = json.loads((out / "config.json").read_text())["fingerprint"]
    items = {row["id"]: Item(**{k: v for k, v in row.items() if k != "label"}) for row in rows}
    text = ""
    for line in lines:
        item_id = json.loads(line.replace("HASH", "").replace("FINGERPRINT", ""))["id"]
        text += line.replace("HASH", items[item_id].content_hash()).replace("FINGERPRINT", fingerprint) + "\n"
    (out / "verdicts.jsonl").write_text(text)


def cli(*args: str) -> str:
    result = CliRunner().invoke(main, list(args))
    assert result.exit_code == 0, result.output
    return result.output


def exported(out: Path, fmt: str) -> list[dict]:
    cli("export", str(out), "--format", fmt)
    text = (out / f"verdicts.export.{fmt}").read_text(encoding="utf-8")
    if fmt == "csv":
        return list(csv.DictReader(text.splitlines()))
    return [json.loads(line) for line in text.splitlines()]


def point_rows(n: int) -> list[dict]:
    return [{"id": f"i{k}", "prompt": f"q{k}", "response": f"r{k}", "label": k % 5 + 1} for k in range(n)]


def test_an_old_pointwise_run_with_a_failure_reads_resumes_shows_exports_and_meta_evaluates(tmp_path: Path) -> None:
    out = tmp_path / "point"
    scores = [k % 5 + 1 if k not in (3, 7) else 1 for k in range(11)]  # i3 and i7 disagree with their labels
    probs = '{"1":0.1,"2":0.1,"3":0.6,"4":0.1,"5":0.1}'
    lines = [
        fill(OLD_POINTWISE, id=f"i{k}", score=f"{s}.0", choice=s, expected=2.9, probs=probs, label=k % 5 + 1)
        for k, s in enumerate(scores)
    ]
    lines.append(fill(OLD_ERROR, id="i11", label=2))
    old_run(out, "pointwise", point_rows(12), '{"score": "3"}', lines)

    _, verdicts = read_run(out)
    by_id = {v.id: v for v in verdicts}
    assert by_id["i0"].outcome == Score(
        score=1.0, choice="1", expected=2.9, probs={"1": 0.1, "2": 0.1, "3": 0.6, "4": 0.1, "5": 0.1}
    )
    assert by_id["i0"].decision() == "1" and by_id["i0"].confidence() == 0.6
    assert by_id["i11"].outcome is None and by_id["i11"].error is not None

    summary = json.loads(cli("show", str(out), "--json"))
    assert (summary["judged"], summary["failed"], summary["labelled"]) == (12, 1, 11)
    assert summary["accuracy"] == pytest.approx(9 / 11)
    assert summary["outcome"]["mean_score"] == pytest.approx(sum(scores) / 11)

    rows = {r["id"]: r for r in exported(out, "csv")}
    assert (rows["i0"]["score"], rows["i0"]["choice"], rows["i0"]["score_expected"]) == ("1.0", "1", "2.9")
    assert rows["i11"]["error_reason"] == "parse_failure" and rows["i11"]["score"] == ""
    records = {r["id"]: r for r in exported(out, "jsonl")}
    # the JSONL export keeps the flat record: the same keys as before outcomes, and the same values
    assert list(records["i0"]) == list(json.loads(lines[0]))
    assert {k: records["i0"][k] for k in ("score", "choice", "score_expected", "score_probs", "winner", "best")} == {
        "score": 1.0,
        "choice": "1",
        "score_expected": 2.9,
        "score_probs": {"1": 0.1, "2": 0.1, "3": 0.6, "4": 0.1, "5": 0.1},
        "winner": None,
        "best": None,
    }

    report = meta_evaluate(out)
    assert report.failed == 1 and report.correlation is not None
    assert "correlation" in cli("meta-eval", str(out)).lower()

    again = FakeBackend(['{"score": "3"}'] * 10)
    result = jurist.judge(point_rows(13), out=out, config="pointwise", model=again, options=NO_CACHE)
    assert result.outcome is not None
    assert (result.outcome.skipped, result.outcome.judged) == (12, 1) and len(again.requests) == 1
    _, verdicts = read_run(out)  # old lines and a new one in the same file
    assert len(verdicts) == 13 and {v.id: v for v in verdicts}["i12"].outcome == Score(score=3.0, choice="3")
    assert summarize(out).judged == 13


def pair_rows(n: int) -> list[dict]:
    return [
        {"id": f"p{k}", "prompt": f"q{k}", "response_a": f"a{k}", "response_b": f"b{k}", "label": "AB"[k % 2]}
        for k in range(n)
    ]


def test_an_old_pairwise_run_reads_resumes_shows_exports_and_meta_evaluates(tmp_path: Path) -> None:
    out = tmp_path / "pair"
    lines = []
    for k in range(10):
        label = "AB"[k % 2]
        winner = "A" if k == 1 else label  # p1 is wrong
        ba_winner = "B" if k == 2 else winner  # p2's orders disagree
        pa = 0.8 if winner == "A" else 0.3
        lines.append(
            fill(
                OLD_PAIRWISE,
                id=f"p{k}",
                ba_winner=ba_winner,
                winner=winner,
                pa=pa,
                pb=round(1 - pa, 1),
                consistent=str(k != 2).lower(),
                label=label,
            )
        )
    old_run(out, "pairwise", pair_rows(10), '{"winner": "A"}', lines)

    _, verdicts = read_run(out)
    p2 = {v.id: v for v in verdicts}["p2"]
    assert isinstance(p2.outcome, Preference)
    assert (p2.outcome.winner, p2.outcome.consistent, p2.outcome.probs) == ("A", False, {"A": 0.8, "B": 0.2})
    assert [(o.order, o.winner) for o in p2.outcome.orders or []] == [("AB", "A"), ("BA", "B")]
    assert p2.outcome.p_first() == pytest.approx(0.8) and p2.confidence() == 0.8

    summary = json.loads(cli("show", str(out), "--json"))
    assert summary["accuracy"] == pytest.approx(0.9) and summary["position_consistency"] == pytest.approx(0.9)

    rows = {r["id"]: r for r in exported(out, "csv")}
    assert (rows["p1"]["winner"], rows["p1"]["p_a"], rows["p1"]["p_b"]) == ("A", "0.8", "0.2")
    assert (rows["p2"]["consistent"], rows["p0"]["consistent"], rows["p2"]["flagged"]) == ("False", "True", "False")
    records = {r["id"]: r for r in exported(out, "jsonl")}
    assert list(records["p2"]) == list(json.loads(lines[2]))
    assert records["p2"]["orders"][1] == {"order": "BA", "winner": "B", "strength": None, "probs": None, "error": None}

    report = meta_evaluate(out)
    assert report.agreement is not None and report.agreement.accuracy.value == pytest.approx(0.9)
    assert report.position_consistency is not None and report.position_consistency.value == pytest.approx(0.9)
    cli("meta-eval", str(out))

    again = FakeBackend(['{"winner": "A"}'] * 10)
    result = jurist.judge(pair_rows(11), out=out, config="pairwise", model=again, options=NO_CACHE)
    assert result.outcome is not None and (result.outcome.skipped, result.outcome.judged) == (10, 1)


def test_an_old_listwise_run_reads_resumes_shows_and_exports(tmp_path: Path) -> None:
    out = tmp_path / "list"
    rows = [
        {"id": f"l{k}", "prompt": f"q{k}", "responses": [f"x{k}", f"y{k}", f"z{k}"], "label": [2, 1, 3]}
        for k in range(3)
    ]
    rankings = [[2, 1, 3], [2, 3, 1], [3, 1, 2]]
    lines = [
        fill(OLD_LISTWISE, id=f"l{k}", ranking=json.dumps(r, separators=(",", ":")), best=r[0], label="[2,1,3]")
        for k, r in enumerate(rankings)
    ]
    old_run(out, "listwise", rows, '{"ranking": [1, 2, 3]}', lines)

    _, verdicts = read_run(out)
    assert [(v.outcome, v.decision()) for v in verdicts] == [(Ranking(ranking=r), r[0]) for r in rankings]

    summary = json.loads(cli("show", str(out), "--json"))
    assert summary["accuracy"] == pytest.approx(2 / 3)

    exported_rows = {r["id"]: r for r in exported(out, "csv")}
    assert (exported_rows["l2"]["ranking"], exported_rows["l2"]["best"]) == ("[3, 1, 2]", "3")
    records = {r["id"]: r for r in exported(out, "jsonl")}
    assert list(records["l1"]) == list(json.loads(lines[1]))
    assert (records["l1"]["ranking"], records["l1"]["best"]) == ([2, 3, 1], 2)

    more = [*rows, {"id": "l3", "prompt": "q3", "responses": ["a", "b", "c"], "label": [1, 2, 3]}]
    again = FakeBackend(['{"ranking": [1, 2, 3]}'] * 5)
    result = jurist.judge(more, out=out, config="listwise", model=again, options=NO_CACHE)
    assert result.outcome is not None and (result.outcome.skipped, result.outcome.judged) == (3, 1)


# -- the other presentation order: the one A <-> B map (judges, imports, conventions, the audit) ------------------


def test_swap_winner_trades_a_and_b_and_keeps_every_other_label() -> None:
    from jurist.outcomes import swap_probs, swap_winner

    assert [swap_winner(w) for w in ("A", "B", "tie", "C")] == ["B", "A", "tie", "C"]
    assert swap_probs({"A": 0.7, "B": 0.2, "tie": 0.1}) == {"B": 0.7, "A": 0.2, "tie": 0.1}
    assert swap_probs(None) is None
