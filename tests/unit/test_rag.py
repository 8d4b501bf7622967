"""RAG evaluation (jurist.rag): claims, the per-claim judgment, groundedness, answer and context relevance, the
`contexts` of items, and `jurist rag` (invoked directly: the lead registers it). Every model is a scripted fake."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from jurist.backends.base import Capabilities, GenerateRequest
from jurist.backends.fake import FakeBackend
from jurist.cli.rag import rag as rag_command
from jurist.data.load import load_items
from jurist.errors import BackendError, InputError
from jurist.files import read_jsonl
from jurist.judges import make_judge
from jurist.judges.base import JudgeConfig
from jurist.outcomes import Score
from jurist.rag import (
    average_precision,
    context_precision,
    evaluate_rag,
    example_path,
    occurs_in,
    parse_claim_judgment,
    parse_claim_list,
    split_claims,
)
from jurist.run.engine import JobOptions
from jurist.run.log import read_run
from jurist.types import Item

from .helpers import with_logprobs

NO_CACHE = JobOptions(cache=False)
EXAMPLES = [row for _, row in read_jsonl(example_path())]
GOLD = {
    c: label for row in EXAMPLES for c, label in zip(split_claims(row["response"]), row["claim_labels"], strict=True)
}


# -- claims -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("answer", "claims"),
    [
        ("It rained. It stopped.", ["It rained.", "It stopped."]),
        ("Dr. Smith paid $3.50 for it. He left.", ["Dr. Smith paid $3.50 for it.", "He left."]),
        (
            "J. K. Rowling wrote it, e.g. the first book. Is it good? Yes!",
            ["J. K. Rowling wrote it, e.g. the first book.", "Is it good?", "Yes!"],
        ),
        ("The U.S. Army won at 5 p.m. on Monday. Done.", ["The U.S. Army won at 5 p.m. on Monday.", "Done."]),
        ("Pi is about 3.14159 and e about 2.718.", ["Pi is about 3.14159 and e about 2.718."]),
        ('He said "Go home." Then he left.', ['He said "Go home."', "Then he left."]),
        ("- First point.\n- Second point.\n\n2) Third", ["First point.", "Second point.", "Third"]),
        (
            "the toulon tournament runs from may 27 . southgate 's squad was fourth .",
            ["the toulon tournament runs from may 27 . southgate 's squad was fourth ."],
        ),
        (
            "Toulon runs from may 27 . Southgate 's squad was fourth .",
            ["Toulon runs from may 27 .", "Southgate 's squad was fourth ."],
        ),
        (
            "It costs approx. 20 dollars. Built in 1990 (est.). Fine",
            ["It costs approx. 20 dollars.", "Built in 1990 (est.).", "Fine"],
        ),
        ("", []),
        ("  -  \n...", []),
    ],
)
def test_claims_split_by_sentence_keeping_abbreviations_and_decimals(answer: str, claims: list[str]) -> None:
    assert split_claims(answer) == claims


def test_every_bundled_answer_splits_into_its_labelled_claims() -> None:
    assert len(EXAMPLES) == 8
    for row in EXAMPLES:
        assert len(split_claims(row["response"])) == len(row["claim_labels"]), row["id"]
        assert set(row["claim_labels"]) <= {"supported", "contradicted", "not_found"}
    assert {label for row in EXAMPLES for label in row["claim_labels"]} == {"supported", "contradicted", "not_found"}


def test_a_model_decomposition_is_read_from_its_list_lines() -> None:
    assert parse_claim_list(
        "Here are the claims:\n- Paris is in France.\n* It is large.\n3. It has 2 million people."
    ) == [
        "Paris is in France.",
        "It is large.",
        "It has 2 million people.",
    ]
    assert parse_claim_list("Paris is in France and it is large.") == []


CONTEXT = "[1] The tower was completed in 1889.  It is 330 metres tall.\n\n[2] Paris is in France."


@pytest.mark.parametrize(
    ("reply", "label", "evidence", "found"),
    [
        ('Evidence: "It is 330 metres tall."\n[[SUPPORTED]]', "supported", "It is 330 metres tall.", True),
        ("evidence: the tower was COMPLETED in 1889\n\n[[ contradicted ]]", "contradicted", None, True),
        ("Evidence: none\n[[NOT_FOUND]]", "not_found", None, False),
        ("Evidence: It is 400 metres tall.\n[[NOT FOUND]]", "not_found", "It is 400 metres tall.", False),
        ("[[SUPPORTED]]? no. Evidence: Paris is in France.\n[[CONTRADICTED]]", "contradicted", None, True),
        ("[[NOTFOUND]]", "not_found", None, False),
        ("[[SUPPORTED: the tower was completed in 1889.]]", "supported", "the tower was completed in 1889.", True),
        ("[[CONTRADICTED - It is 200 metres tall.", "contradicted", "It is 200 metres tall.", False),
    ],
)
def test_a_claim_judgment_reads_the_last_label_and_checks_the_quoted_evidence(
    reply: str, label: str, evidence: str | None, found: bool
) -> None:
    judged = parse_claim_judgment("claim", reply, CONTEXT)
    assert (judged.label, judged.evidence_found, judged.error) == (label, found, None)
    if evidence is not None:
        assert judged.evidence == evidence


def test_an_unreadable_claim_judgment_is_an_error_not_a_label() -> None:
    judged = parse_claim_judgment("claim", "Evidence: Paris is in France.\nI think it is fine.", CONTEXT)
    assert judged.label is None and judged.error is not None and "[[SUPPORTED]]" in judged.error
    assert judged.evidence == "Paris is in France."


def test_evidence_is_matched_without_case_punctuation_or_spacing() -> None:
    assert occurs_in("the tower  was completed in 1889", CONTEXT)
    assert not occurs_in("the tower was completed in 1890", CONTEXT)
    assert not occurs_in("...", CONTEXT)


# -- context precision --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("relevant", "precision", "ap"),
    [
        ([True, False, True], 2 / 3, (1 / 1 + 2 / 3) / 2),
        ([False, True], 1 / 2, 1 / 2),
        ([False, False, True, True], 1 / 2, (1 / 3 + 2 / 4) / 2),
        ([True, True, False], 2 / 3, 1.0),
        ([False, False], 0.0, 0.0),
        ([], None, None),
    ],
)
def test_context_precision_and_average_precision_by_hand(
    relevant: list[bool], precision: float | None, ap: float | None
) -> None:
    assert context_precision(relevant) == (None if precision is None else pytest.approx(precision))
    assert average_precision(relevant) == (None if ap is None else pytest.approx(ap))


# -- a scripted judge that knows the bundled set's labels -----------------------------------------------------------


def _after(text: str, heading: str, end: str) -> str:
    return text.split(heading, 1)[1].split(end, 1)[0].strip()


def oracle(request: GenerateRequest) -> str:
    """Claims: our label, with the context's first sentence as evidence; passages: grade 3 for each item's first
    passage, 1 for the others; answers: relevance 5."""
    text = request.messages[-1].content
    if "# Claim to check" in text:
        context = _after(text, "# Context\n", "\n\n# Question")
        first = context.split("] ", 1)[1].split(". ")[0]
        claim = _after(text, "# Claim to check\n", "\n\nAnswer on")
        return f"Evidence: {first}.\n[[{GOLD[claim].upper()}]]"
    if "# Passage\n" in text:
        passage = _after(text, "# Passage\n", "\n\n")
        firsts = {row["contexts"][0] for row in EXAMPLES}
        return '{"score": "3"}' if passage in firsts else '{"score": "1"}'
    return '{"score": "5", "rationale": "answers it"}'


def test_the_metrics_of_the_bundled_set_with_a_judge_that_agrees_with_our_labels(tmp_path: Path) -> None:
    report = evaluate_rag(example_path(), out=tmp_path / "rag", model=FakeBackend(oracle), options=NO_CACHE)
    g = report.groundedness
    assert g is not None and (g.items, g.failed, g.incomplete, g.failed_claims) == (8, 0, 0, 0)
    labels = [label for row in EXAMPLES for label in row["claim_labels"]]
    assert (g.claims, g.supported, g.contradicted, g.not_found) == (
        len(labels),
        labels.count("supported"),
        labels.count("contradicted"),
        labels.count("not_found"),
    )
    assert (g.gold_claims, g.gold_agree) == (len(labels), len(labels))
    assert g.with_evidence == g.evidence_found == len(labels)
    fractions = [row["claim_labels"].count("supported") / len(row["claim_labels"]) for row in EXAMPLES]
    assert g.mean == pytest.approx(sum(fractions) / 8)
    verdicts = {v.id: v for v in read_run(tmp_path / "rag" / "groundedness").verdicts}
    r2 = verdicts["r2"].outcome
    assert isinstance(r2, Score) and r2.score == pytest.approx(2 / 3) and r2.expected is None  # no probabilities
    assert [c["label"] for c in verdicts["r2"].strategy["claims"]] == ["supported", "supported", "contradicted"]  # type: ignore[index]
    assert verdicts["r2"].item is not None and verdicts["r2"].item.contexts == EXAMPLES[1]["contexts"]

    a = report.answer_relevance
    assert a is not None and (a.mean, a.failed, a.calls) == (5.0, 0, 8)
    c = report.context_relevance
    assert c is not None and (c.failed, c.failed_passages) == (0, 0)
    passages = [len(row["contexts"]) for row in EXAMPLES]
    assert c.passages == sum(passages)
    # the first passage of each item is relevant (grade 3), the others not (grade 1): precision 1/n, AP 1
    assert c.mean == pytest.approx(sum(1 / n for n in passages) / 8) and c.mean_average_precision == 1.0
    saved = json.loads((tmp_path / "rag" / "rag.json").read_text())
    assert saved["groundedness"]["claims"] == len(labels) and saved["context_relevance"]["passages"] == sum(passages)


def test_the_context_comes_first_and_the_claim_last(tmp_path: Path) -> None:
    backend = FakeBackend("Evidence: none\n[[NOT_FOUND]]")
    rows = [{"id": "a", "prompt": "Q?", "response": "One. Two.", "contexts": ["Passage one.", "Passage two."]}]
    evaluate_rag(rows, out=tmp_path / "r", model=backend, metrics=["groundedness"], options=NO_CACHE)
    first, second = (r.messages[-1].content for r in backend.requests)
    assert first.index("[1] Passage one.\n\n[2] Passage two.") < first.index("# Question") < first.index("One.")
    # the two prompts differ only after the claim's heading: the shared prefix is what a prefix cache reuses
    cut = first.index("# Claim to check")
    assert first[:cut] == second[:cut] and first[cut:] != second[cut:]


def test_failed_claims_are_counted_apart_never_as_not_found(tmp_path: Path) -> None:
    def flaky(request: GenerateRequest) -> str:
        claim = _after(request.messages[-1].content, "# Claim to check\n", "\n\nAnswer on")
        if claim == "Two.":
            raise BackendError("server error", retryable=False)
        if claim == "Three.":
            return "I cannot tell."
        return "Evidence: Passage one.\n[[SUPPORTED]]"

    rows = [
        {"id": "part", "prompt": "Q?", "response": "One. Two. Three. Four.", "contexts": ["Passage one."]},
        {"id": "none", "prompt": "Q?", "response": "Two. Three.", "contexts": ["Passage one."]},
    ]
    out = tmp_path / "r"
    report = evaluate_rag(rows, out=out, model=FakeBackend(flaky), metrics=["groundedness"], options=NO_CACHE)
    g = report.groundedness
    assert g is not None
    assert (g.claims, g.supported, g.not_found, g.failed_claims) == (6, 2, 0, 4)
    assert (g.failed, g.incomplete, g.mean) == (1, 1, 1.0)  # "part": 2 supported of the 2 judged
    verdicts = {v.id: v for v in read_run(out / "groundedness").verdicts}
    part = verdicts["part"]
    assert part.flagged and part.incomplete is not None and "2 of 4 claims" in part.incomplete.message
    assert [c["error"] is not None for c in part.strategy["claims"]] == [False, True, True, False]  # type: ignore[index]
    assert verdicts["none"].error is not None and verdicts["none"].error.reason == "claims_failed"


def test_labels_come_from_token_probabilities_after_a_prefilled_opening(tmp_path: Path) -> None:
    # the model's text names no label (a small model ignoring the format); the next token's probabilities decide
    reply = with_logprobs("[[SUP is it\nEvidence: Passage one.", "SUP", {"SUP": 0.2, "NOT": 0.5, "CON": 0.3})
    backend = FakeBackend([reply], capabilities=Capabilities(prefill=True, logprobs=True))
    rows = [{"id": "a", "prompt": "Q?", "response": "One.", "contexts": ["Passage one."]}]
    out = tmp_path / "r"
    evaluate_rag(rows, out=out, model=backend, metrics=["groundedness"], options=NO_CACHE)
    assert backend.requests[0].prefill == "[[" and backend.requests[0].top_logprobs > 0
    claim = (read_run(out / "groundedness").verdicts[0].strategy or {})["claims"][0]
    assert claim["label"] == "not_found" and claim["probabilities"]["not_found"] == pytest.approx(0.5)
    verdict = read_run(out / "groundedness").verdicts[0]
    assert isinstance(verdict.outcome, Score) and verdict.outcome.score == 0.0
    assert verdict.outcome.expected == pytest.approx(0.2)  # P(supported), renormalised over the three
    assert claim["evidence"] == "Passage one." and claim["evidence_found"]


def test_a_label_split_into_single_letter_tokens_is_read_from_its_first_letter(tmp_path: Path) -> None:
    reply = with_logprobs("[[S UPPORTED]]", "S", {"S": 0.6, "C": 0.3, "N": 0.1})
    backend = FakeBackend([reply], capabilities=Capabilities(prefill=True, logprobs=True))
    rows = [{"id": "a", "prompt": "Q?", "response": "One.", "contexts": ["Passage one."]}]
    evaluate_rag(rows, out=tmp_path / "r", model=backend, metrics=["groundedness"], options=NO_CACHE)
    claim = (read_run(tmp_path / "r" / "groundedness").verdicts[0].strategy or {})["claims"][0]
    assert claim["label"] == "supported" and claim["probabilities"] == pytest.approx(
        {"supported": 0.6, "contradicted": 0.3, "not_found": 0.1}
    )


def test_a_model_decomposition_falls_back_to_sentences_when_unreadable(tmp_path: Path) -> None:
    def script(request: GenerateRequest) -> str:
        text = request.messages[-1].content
        if "atomic claims" in text:
            return "- Alpha is first.\n- Beta is second." if "Listed" in text else "no list here"
        return "Evidence: none\n[[NOT_FOUND]]"

    rows = [
        {"id": "listed", "prompt": "Listed?", "response": "Alpha is first and beta second.", "contexts": ["x"]},
        {"id": "fallback", "prompt": "Plain?", "response": "One. Two. Three.", "contexts": ["x"]},
    ]
    out = tmp_path / "r"
    evaluate_rag(
        rows, out=out, model=FakeBackend(script), metrics=["groundedness"], decompose="model", options=NO_CACHE
    )
    verdicts = {v.id: v.strategy or {} for v in read_run(out / "groundedness").verdicts}
    assert [c["claim"] for c in verdicts["listed"]["claims"]] == ["Alpha is first.", "Beta is second."]
    assert verdicts["listed"]["claims_from"] == "model"
    assert len(verdicts["fallback"]["claims"]) == 3 and verdicts["fallback"]["claims_from"].startswith("sentences (")


def test_a_failed_passage_grade_is_counted_and_left_out(tmp_path: Path) -> None:
    def script(request: GenerateRequest) -> str:
        passage = _after(request.messages[-1].content, "# Passage\n", "\n\n")
        return {"good": '{"score": "3"}', "bad": '{"score": "0"}'}.get(passage, "unreadable")

    rows = [{"id": "a", "prompt": "Q?", "response": "A.", "contexts": ["bad", "broken", "good"]}]
    out = tmp_path / "r"
    report = evaluate_rag(rows, out=out, model=FakeBackend(script), metrics=["context_relevance"], options=NO_CACHE)
    c = report.context_relevance
    assert c is not None and (c.passages, c.failed_passages, c.incomplete) == (3, 1, 1)
    assert c.mean == 0.5 and c.mean_average_precision == 0.5  # [bad, good]: precision 1/2, AP = (1/2) / 1
    record = read_run(out / "context_relevance").verdicts[0].strategy or {}
    assert [p["grade"] for p in record["passages"]] == [0, None, 3]


def test_items_without_contexts_are_refused_before_any_call(tmp_path: Path) -> None:
    backend = FakeBackend("[[SUPPORTED]]")
    data = tmp_path / "d.jsonl"
    data.write_text(
        json.dumps({"prompt": "Q", "response": "A.", "context": "c"}) + '\n{"prompt": "Q", "response": "A."}\n'
    )
    with pytest.raises(InputError) as caught:
        evaluate_rag(data, out=tmp_path / "r", model=backend, metrics=["context_relevance"], options=NO_CACHE)
    assert (caught.value.line, caught.value.field) == (2, "contexts") and not backend.requests
    # answer relevance needs none
    report = evaluate_rag(
        data, out=tmp_path / "r", model=FakeBackend('{"score": "4"}'), metrics=["answer_relevance"], options=NO_CACHE
    )
    assert report.answer_relevance is not None and report.answer_relevance.mean == 4.0


# -- items' contexts ------------------------------------------------------------------------------------------------


def test_an_item_without_contexts_keeps_its_hash() -> None:
    item = Item(id="a", prompt="p", response="r")
    old = hashlib.sha256(json.dumps(["p", "r", None, None, None, None]).encode()).hexdigest()[:16]
    assert item.content_hash() == old
    with_contexts = Item(id="a", prompt="p", response="r", contexts=["c"])
    assert with_contexts.content_hash() != old
    assert with_contexts.content_hash() != Item(id="a", prompt="p", response="r", contexts=["d"]).content_hash()


def test_contexts_load_from_a_list_or_one_context_text(tmp_path: Path) -> None:
    data = tmp_path / "d.jsonl"
    rows = [
        {"id": "list", "prompt": "Q", "response": "A", "contexts": ["one", "two"]},
        {"id": "text", "prompt": "Q", "response": "A", "context": "only", "topic": "x"},
        {"id": "none", "prompt": "Q", "response": "A"},
    ]
    data.write_text("".join(json.dumps(r) + "\n" for r in rows))
    items = {i.id: i for i in load_items(data, "pointwise").items}
    assert items["list"].contexts == ["one", "two"] and items["text"].contexts == ["only"]
    assert items["none"].contexts is None and items["text"].metadata == {"topic": "x"}
    csv = tmp_path / "d.csv"
    csv.write_text('prompt,response,contexts\nQ,A,"[""one"", ""two""]"\n')
    assert load_items(csv, "pointwise").items[0].contexts == ["one", "two"]
    renamed = tmp_path / "r.jsonl"
    renamed.write_text(json.dumps({"prompt": "Q", "response": "A", "passages": ["p1", "p2"]}) + "\n")
    item = load_items(renamed, "pointwise", {"contexts": "passages"}).items[0]
    assert item.contexts == ["p1", "p2"] and item.metadata == {}


def test_templates_see_the_contexts(tmp_path: Path) -> None:
    template = tmp_path / "t.toml"
    template.write_text(
        'name = "ctx"\nversion = "1"\nmode = "pointwise"\nuser = """{% for c in contexts %}<{{ c }}>{% endfor %}\n'
        '{{ prompt }} {{ response }} {{ output_format }}"""\n'
    )
    judge = make_judge(FakeBackend("x"), JudgeConfig(mode="pointwise", template=str(template)))
    request = judge.requests(Item(id="a", prompt="Q", response="A", contexts=["one", "two"]))[0]
    assert "<one><two>" in request.messages[-1].content


# -- the command ----------------------------------------------------------------------------------------------------


def _replay(tmp_path: Path) -> Path:
    """Recorded judgments of every bundled claim (found by its text), with our labels."""
    replay = tmp_path / "replay.jsonl"
    replay.write_text(
        "".join(
            json.dumps(
                {"texts": [f"# Claim to check\n{claim}\n"], "completion": f"Evidence: none\n[[{label.upper()}]]"}
            )
            + "\n"
            for claim, label in GOLD.items()
        )
    )
    return replay


def test_the_command_judges_groundedness_of_the_bundled_set(tmp_path: Path) -> None:
    replay = _replay(tmp_path)
    args = [
        str(example_path()),
        "--metrics",
        "groundedness",
        "--model",
        f"replay:{replay}",
        "--out",
        str(tmp_path / "o"),
    ]
    result = CliRunner().invoke(rag_command, args)
    assert result.exit_code == 0, result.output
    labels = [label for row in EXAMPLES for label in row["claim_labels"]]
    s, c, n = (labels.count(x) for x in ("supported", "contradicted", "not_found"))
    assert f"{len(labels)} claims: {s} supported, {c} contradicted, {n} not found, 0 failed" in result.output
    assert f"agrees with the claims' labels on {len(labels)} of {len(labels)}" in result.output
    assert f"{len(labels)} model calls" in result.output
    assert (tmp_path / "o" / "rag.json").is_file() and not (tmp_path / "o" / "answer_relevance").exists()


@pytest.mark.parametrize(
    ("row", "words"),
    [
        ({"response": "A.", "contexts": ["c"]}, ["bad.jsonl:2", "prompt", "missing"]),
        ({"prompt": "Q", "response": "A.", "contexts": "one passage"}, ["bad.jsonl:2", "contexts", "must be a list"]),
        ({"prompt": "Q", "response": "A.", "contexts": [1, 2]}, ["bad.jsonl:2", "contexts", "must be a list"]),
        ({"prompt": "Q", "response": "A.", "context": ["x"]}, ["bad.jsonl:2", "context", "one passage"]),
        ({"prompt": "Q", "response": "A."}, ["bad.jsonl:2", "contexts", "has no contexts"]),
    ],
)
def test_the_command_refuses_bad_items_naming_file_line_and_field(
    tmp_path: Path, row: dict[str, object], words: list[str]
) -> None:
    data = tmp_path / "bad.jsonl"
    data.write_text(json.dumps({"prompt": "Q", "response": "A.", "contexts": ["c"]}) + "\n" + json.dumps(row) + "\n")
    result = CliRunner().invoke(rag_command, [str(data), "--out", str(tmp_path / "o")])
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output and "bad.jsonl" in result.output
    for word in words:
        assert word in result.output


def test_the_command_refuses_an_unknown_metric(tmp_path: Path) -> None:
    args = [str(example_path()), "--metrics", "groundedness,recall", "--out", str(tmp_path / "o")]
    result = CliRunner().invoke(rag_command, args)
    assert result.exit_code == 2 and "unknown metric(s) recall" in result.output
