"""Reading verdicts out of judge text, and label probabilities out of token logprobs."""

from __future__ import annotations

import math

import pytest

from jurist import GenerateResponse, ParseError
from jurist.backends.base import TokenLogprob
from jurist.judges.pairwise import TEXT_PATTERNS as PAIR_PATTERNS
from jurist.judges.pointwise import TEXT_PATTERNS as POINT_PATTERNS
from jurist.parse import extract, extract_ranking, label_probabilities

from .helpers import with_logprobs

PAIR = ["A", "B", "tie"]
MT_PAIR = ["A", "B", "C"]
SCORES_10 = [str(i) for i in range(1, 11)]
SCORES_5 = [str(i) for i in range(1, 6)]


def test_json_verdict_with_rationale():
    text = '{"winner": "B", "rationale": "B follows the instruction."}'
    found = extract(text, "winner", PAIR, PAIR_PATTERNS)
    assert found.value == "B"
    assert found.rationale == "B follows the instruction."
    assert text[found.offset : found.offset + 1] == "B"


def test_json_verdict_inside_prose_and_case_insensitive_label():
    text = 'Here is my answer:\n```json\n{"rationale": "equal", "winner": "TIE"}\n```'
    found = extract(text, "winner", PAIR, PAIR_PATTERNS)
    assert found.value == "tie"
    assert found.rationale == "equal"


def test_json_numeric_score():
    found = extract('{"score": 4, "rationale": "minor gaps"}', "score", SCORES_5, POINT_PATTERNS)
    assert found.value == "4"
    assert found.rationale == "minor gaps"


def test_json_with_label_outside_the_allowed_set_is_not_accepted():
    with pytest.raises(ParseError):
        extract('{"winner": "D"}', "winner", PAIR, PAIR_PATTERNS)


def test_truncated_json_after_the_verdict():
    text = '{"winner": "A", "rationale": "A answers the question while B drifts off and then'
    found = extract(text, "winner", PAIR, PAIR_PATTERNS)
    assert found.value == "A"
    assert found.rationale is not None and found.rationale.startswith("A answers the question")


def test_truncated_json_score():
    found = extract('{"score": "3", "rationale": "It is', "score", SCORES_5, POINT_PATTERNS)
    assert found.value == "3"


@pytest.mark.parametrize(
    ("text", "labels", "expected"),
    [
        ("Both are fine, but the second is more precise. [[B]]", PAIR, "B"),
        ("Assistant A is clearly better.\n\n[[A]]", MT_PAIR, "A"),
        ("They are equally good. [[C]]", MT_PAIR, "C"),
        ("After weighing both, the winner: B", PAIR, "B"),
        ("Verdict: A", PAIR, "A"),
        ("Response B is better because it is concise.", PAIR, "B"),
        ("I considered [[B]] at first, but the final answer is [[A]]", PAIR, "A"),
    ],
)
def test_free_text_pairwise_patterns(text, labels, expected):
    assert extract(text, "winner", labels, PAIR_PATTERNS).value == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("The answer is accurate and well organised. Rating: [[7]]", "7"),
        ("Rating: [[10]]", "10"),
        ("score: 3", "3"),
        ("8/10", "8"),
        ("Good answer.\nRating: 9", "9"),
    ],
)
def test_free_text_score_patterns(text, expected):
    assert extract(text, "score", SCORES_10, POINT_PATTERNS).value == expected


def test_free_text_rationale_is_the_text_without_the_verdict():
    found = extract("Response A ignores the word limit.\n[[B]]", "winner", PAIR, PAIR_PATTERNS)
    assert found.rationale == "Response A ignores the word limit."
    found = extract("Response A ignores the word limit. [[B]]", "winner", PAIR, PAIR_PATTERNS)
    assert found.rationale == "Response A ignores the word limit."


def test_no_verdict_raises_parse_error_with_raw_text():
    text = "Both responses have merits and I cannot decide."
    with pytest.raises(ParseError) as info:
        extract(text, "winner", PAIR, PAIR_PATTERNS)
    assert info.value.raw == text
    assert "winner" in str(info.value)


def test_score_out_of_scale_is_a_parse_error():
    with pytest.raises(ParseError) as info:
        extract("Rating: [[12]]", "score", SCORES_10, POINT_PATTERNS)
    assert info.value.raw == "Rating: [[12]]"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("My ranking: [[2, 1, 3]]", [2, 1, 3]),
        ("[3,1,2]", [3, 1, 2]),
        ("Overall 2 > 1 > 3 in quality.", [2, 1, 3]),
        ('{"ranking": [3, 2, 1], "rationale": "3 is complete"}', [3, 2, 1]),
    ],
)
def test_rankings(text, expected):
    ranking, offset, _ = extract_ranking(text, 3)
    assert ranking == expected
    assert offset is not None and text[offset] == str(expected[0])


def test_ranking_rationale_from_json():
    _, _, rationale = extract_ranking('{"ranking": [3, 2, 1], "rationale": "3 is complete"}', 3)
    assert rationale == "3 is complete"


@pytest.mark.parametrize("text", ["[[1, 1, 3]]", "[[1, 2]]", "1 > 2 > 4", "no idea", '{"ranking": [1, 2'])
def test_incomplete_or_invalid_ranking_raises(text):
    with pytest.raises(ParseError) as info:
        extract_ranking(text, 3)
    assert info.value.raw == text


# -- label probabilities -------------------------------------------------------------------------------


def test_label_probabilities_renormalised_over_labels():
    text = '{"winner": "A"}'
    response = with_logprobs(text, "A", {"A": 0.6, "B": 0.2, "x": 0.2})
    found = extract(text, "winner", PAIR, PAIR_PATTERNS)
    probs = label_probabilities(response, found.offset, PAIR)
    assert probs is not None
    assert probs["A"] == pytest.approx(0.75)
    assert probs["B"] == pytest.approx(0.25)
    assert probs["tie"] == 0.0
    assert math.fsum(probs.values()) == pytest.approx(1.0)


def test_label_probabilities_merge_spellings_of_one_label():
    # " A" and "A" are the same label; "ti" starts only "tie".
    text = '{"winner": "tie"}'
    response = with_logprobs(text, "tie", {"tie": 0.3, "ti": 0.1, "A": 0.2, " A": 0.2, "B": 0.2})
    found = extract(text, "winner", PAIR, PAIR_PATTERNS)
    probs = label_probabilities(response, found.offset, PAIR)
    assert probs == pytest.approx({"A": 0.4, "B": 0.2, "tie": 0.4})


def test_label_probabilities_include_the_chosen_token_when_not_in_top():
    text = "[[B]]"
    response = GenerateResponse(
        text=text,
        logprobs=[
            TokenLogprob(token="[[", logprob=0.0),
            TokenLogprob(token="B", logprob=math.log(0.5), top={"A": math.log(0.5)}),
            TokenLogprob(token="]]", logprob=0.0),
        ],
    )
    probs = label_probabilities(response, 2, ["A", "B"])
    assert probs == pytest.approx({"A": 0.5, "B": 0.5})


def test_label_probabilities_none_without_logprobs_or_offset():
    assert label_probabilities(GenerateResponse(text='{"winner": "A"}'), 12, PAIR) is None
    response = with_logprobs('{"winner": "A"}', "A", {"A": 0.9, "B": 0.1})
    assert label_probabilities(response, None, PAIR) is None
    # An offset past the generated tokens.
    assert label_probabilities(response, 500, PAIR) is None


def test_label_probabilities_none_when_no_alternative_is_a_label():
    response = with_logprobs("[[A]]", "A", {"A": 0.9})
    # Ask at the "]]" token: none of its alternatives names a label.
    assert label_probabilities(response, 3, PAIR) is None
