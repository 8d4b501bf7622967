"""Reading verdicts out of judge text, and label probabilities out of token logprobs."""

from __future__ import annotations

import math

import pytest

from jurist import FakeBackend, GenerateResponse, Item, ParseError
from jurist.backends.base import TokenLogprob
from jurist.formats import PAIRWISE_PATTERNS as PAIR_PATTERNS
from jurist.formats import POINTWISE_PATTERNS as POINT_PATTERNS
from jurist.formats import ListwiseFormat, read_winner, strength_of
from jurist.parse import extract, label_probabilities

from .helpers import first_shown, make, run, with_logprobs

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
    ranking, offset, _ = ListwiseFormat(3).read(text)
    assert ranking == expected
    assert offset is not None and text[offset] == str(expected[0])


def test_ranking_rationale_from_json():
    _, _, rationale = ListwiseFormat(3).read('{"ranking": [3, 2, 1], "rationale": "3 is complete"}')
    assert rationale == "3 is complete"


@pytest.mark.parametrize("text", ["[[1, 1, 3]]", "[[1, 2]]", "1 > 2 > 4", "no idea", '{"ranking": [1, 2'])
def test_incomplete_or_invalid_ranking_raises(text):
    with pytest.raises(ParseError) as info:
        ListwiseFormat(3).read(text)
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


# -- published judges' verdict conventions ---------------------------------------------------------------------
# Each completion is written the way that judge prints it: a few sentences of rationale, then its verdict line.

ARENA_HARD = (
    "My own answer: to reverse a list in place use `items.reverse()`; `items[::-1]` returns a reversed copy.\n\n"
    "Assistant A explains both the in-place method and the slicing idiom, and says which one copies. Assistant B "
    "only mentions `reversed()` and claims it returns a list, which is wrong: it returns an iterator.\n\n"
    "Assistant A is accurate and complete; Assistant B contains a factual error.\n\n"
    "My final verdict is {verdict}"
)


@pytest.mark.parametrize(
    ("verdict", "labels", "label", "strength"),
    [
        ("Assistant A is significantly better: [[A>>B]]", PAIR, "A", "strong"),
        ("Assistant A is slightly better: [[A>B]]", PAIR, "A", "weak"),
        ("Tie, relatively the same: [[A=B]]", PAIR, "tie", None),
        ("Tie, relatively the same: [[A=B]]", MT_PAIR, "C", None),  # a template whose tie label is C
        ("Assistant B is slightly better: [[B>A]]", PAIR, "B", "weak"),
        ("Assistant B is significantly better: [[B>>A]]", PAIR, "B", "strong"),
    ],
)
def test_arena_hard_verdicts_keep_their_strength(verdict, labels, label, strength):
    found = read_winner(ARENA_HARD.format(verdict=verdict), labels)
    assert found.value == label
    assert strength_of(found.token) == strength


def test_arena_hard_last_bracketed_verdict_wins_and_a_self_comparison_is_no_verdict():
    text = "At first I leaned to [[A>B]], but B's code runs and A's does not.\n\nMy final verdict is [[B>>A]]"
    assert read_winner(text, PAIR).value == "B"
    with pytest.raises(ParseError):
        read_winner("My final verdict is [[A>A]]", PAIR)
    with pytest.raises(ParseError):  # ties not allowed: [[A=B]] is not among the labels
        read_winner(ARENA_HARD.format(verdict="[[A=B]]"), ["A", "B"])


@pytest.mark.parametrize(
    ("text", "labels", "expected"),
    [
        (
            "Assistant A gives the correct derivative and shows each step, while Assistant B drops the chain rule "
            "factor.\n\n[[A]]",
            MT_PAIR,
            "A",
        ),
        ("Both assistants give the same correct date and a short explanation.\n\n[[C]]", MT_PAIR, "C"),
        # MT-Bench's C is a tie whatever the template calls a tie (replayed MT-Bench judgments)
        ("Both assistants give the same correct date and a short explanation.\n\n[[C]]", PAIR, "tie"),
    ],
)
def test_mt_bench_verdicts(text, labels, expected):
    assert read_winner(text, labels).value == expected


PROMETHEUS_PAIR = (
    "Feedback: While Response A is better formatted, with headings and a bulleted list, it recommends a dosage "
    "without asking about the patient's age. Response B asks for the missing information before advising, which "
    "is what the rubric rewards for relevance and usefulness. [RESULT] B"
)


def test_prometheus_pairwise_result():
    # "Response A is better formatted" in the feedback is not the verdict: [RESULT] is
    assert read_winner(PROMETHEUS_PAIR, PAIR).value == "B"


def test_prometheus_pointwise_result():
    text = (
        "Feedback: The response explains photosynthesis correctly and names chlorophyll, but it leaves out the role "
        "of carbon dioxide, which Score 5 of the rubric requires. It is otherwise clear and well organised. "
        "[RESULT] 4"
    )
    assert extract(text, "score", SCORES_5, POINT_PATTERNS).value == "4"


@pytest.mark.parametrize(
    ("first_line", "labels", "expected"),
    [("8 6", PAIR, "A"), ("7 9", PAIR, "B"), ("8 8", PAIR, "tie"), ("9.5 7", PAIR, "A"), ("8 8", MT_PAIR, "C")],
)
def test_judgelm_score_pair(first_line, labels, expected):
    text = (
        f"{first_line}\n"
        "Assistant 1 gave a complete recipe with quantities and the baking time. Assistant 2 listed the "
        "ingredients but skipped the oven temperature, so it is less helpful, though both answers are relevant."
    )
    assert read_winner(text, labels).value == expected


def test_judgelm_equal_scores_without_ties_is_a_parse_error():
    with pytest.raises(ParseError):
        read_winner("8 8\nBoth assistants answered correctly and concisely.", ["A", "B"])


@pytest.mark.parametrize(("first_line", "expected"), [("1", "A"), ("2", "B"), ("Tie", "tie")])
def test_pandalm_first_line(first_line, expected):
    text = (
        f"{first_line}\n\n"
        "### Reason: Response 2 is better because it keeps the original meaning and is more concise.\n\n"
        "### Reference: If you have any questions, please let me know."
    )
    # the reason's "Response 2 is better" never overrides the first line
    assert read_winner(text, PAIR).value == expected


@pytest.mark.parametrize(("decision", "expected"), [("Response 1", "A"), ("Response 2", "B"), ("Tie", "tie")])
def test_auto_j_final_decision(decision, expected):
    text = (
        "1. The key factors to distinguish these two responses:\n"
        "- accuracy: Response 1 names all three causes of the war, Response 2 only two.\n"
        "- clarity: Response 2 is easier to follow.\n\n"
        "2. The final decision:\n\n"
        f"So, the final decision is {decision}. Taking accuracy as the most important factor, the comparison above "
        "supports it."
    )
    assert read_winner(text, PAIR).value == expected


def test_auto_j_pointwise_rating():
    text = (
        "The response answers the query directly and gives a working example, but it does not explain why the "
        "example works.\n\nRating: [[6]]"
    )
    assert extract(text, "score", SCORES_10, POINT_PATTERNS).value == "6"


@pytest.mark.parametrize(
    ("text", "expected"),
    [("Output (a)", "A"), ("Output (b)", "B"), ("Response B", "B"), ("  Output (b)\n", "B")],
)
def test_named_choice_as_the_whole_answer(text, expected):
    assert read_winner(text, PAIR).value == expected


@pytest.mark.parametrize(
    "text",
    [
        # rationales that mention "response 1" in passing, in formats whose verdict needs its own line
        "Response 1 is more detailed than response 2, but both answers miss the question's point about taxes.",
        "1. Response 1 covers the history.\n2. Response 2 covers the economics.\nI cannot say which matters more.",
        "Response 2 is shorter. My decision depends on whether the user wants detail, which the question does not say.",
        # a first line of three numbers is not JudgeLM's score pair
        "1 2 3\nThe steps above are what both assistants list.",
        # a named choice inside a longer answer is a heading, not a verdict
        "Response B\nThis one lists the steps but never runs them. Neither is clearly better.",
    ],
)
def test_passing_mentions_are_not_verdicts(text):
    with pytest.raises(ParseError):
        read_winner(text, PAIR)


def test_a_translated_token_has_no_logprob_offset():
    # "1" stands for A but is not the label's token: its probabilities say nothing about A
    found = read_winner("1\n\n### Reason: Response 1 is better.", PAIR)
    assert found.value == "A" and found.offset is None
    found = read_winner("Clearly better. [[B]]", PAIR)
    assert found.offset is not None and "Clearly better. [[B]]"[found.offset] == "B"


# -- a pairwise judge keeps Arena-Hard's strength, mapped back through the swap ----------------------------------

GOOD_BAD = Item(id="s1", prompt="Reverse a list.", response_a="items.reverse()", response_b="items.sort()", label="A")


def test_strength_is_mapped_back_when_the_order_is_swapped():
    def script(request):
        # "good" is shown second in order BA: [[B>A]] then names the original A, weakly
        shown_first_is_good = first_shown(request, "items.reverse()", "items.sort()") == "items.reverse()"
        return "A reverses the list; B sorts it.\n\n" + ("[[A>>B]]" if shown_first_is_good else "[[B>A]]")

    verdict = run(make(FakeBackend(script), mode="pairwise")(GOOD_BAD))
    assert verdict.outcome.winner == "A" and verdict.outcome.consistent
    assert [(o.order, o.winner, o.strength) for o in verdict.outcome.orders or []] == [
        ("AB", "A", "strong"),
        ("BA", "A", "weak"),
    ]
    assert verdict.outcome.strength == "weak"  # strong only when every order says so


def test_the_same_bracket_in_both_orders_is_a_strong_win_for_each_side():
    # [[A>>B]] in order BA means the response shown first, the original B, wins strongly
    verdict = run(make(FakeBackend("My final verdict is [[A>>B]]"), mode="pairwise", on_inconsistent="flag")(GOOD_BAD))
    assert [(o.winner, o.strength) for o in verdict.outcome.orders or []] == [("A", "strong"), ("B", "strong")]
    assert verdict.outcome.consistent is False and verdict.outcome.strength is None


def test_strength_without_swap_and_formats_without_strength():
    verdict = run(make(FakeBackend("[[B>>A]]"), mode="pairwise", swap=False)(GOOD_BAD))
    assert (verdict.outcome.winner, verdict.outcome.strength) == ("B", "strong")
    verdict = run(make(FakeBackend("[[B]]"), mode="pairwise", swap=False)(GOOD_BAD))
    assert (verdict.outcome.winner, verdict.outcome.strength) == ("B", None)


def test_strength_is_exported(tmp_path):
    import jurist
    from jurist.export import to_dataframe

    items = [GOOD_BAD.model_dump(exclude_none=True)]
    out = tmp_path / "run"
    config = jurist.JudgeConfig(mode="pairwise", swap=False)
    jurist.judge(items, out=out, config=config, model=FakeBackend("[[B>>A]]"), options=jurist.JobOptions(cache=False))
    frame = to_dataframe(out)
    assert frame.loc[0, "winner"] == "B" and frame.loc[0, "strength"] == "strong"
