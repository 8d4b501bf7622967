"""jurist's pytest plugin, run in a pytest inside the test (pytester): assert_judged passing and failing against a
scripted backend given by a fixture, a failed judgment as an error, the summary at the end of the run, the options
and the ini, and nothing at all printed by a run that judges nothing."""

from __future__ import annotations

import pytest

# loaded here, once: the pytest run inside the test (in this process) unloads what it imported, and numpy cannot be
# loaded twice in one process
import jurist.judges
import jurist.outcomes
import jurist.rubrics
import jurist.run.engine  # noqa: F401

pytest_plugins = ["pytester"]

# the scripted judge: 5 for a response that says "excellent", 2 otherwise, and no verdict at all for "garbage"
CONFTEST = """
import pytest
from jurist.backends.fake import FakeBackend

def reply(request):
    text = "\\n".join(m.content for m in request.messages)
    if "garbage" in text:
        return "I would rather not say."
    score = "5" if "excellent" in text else "2"
    return '{"rationale": "RATIONALE-' + score + '", "score": "' + score + '"}'

@pytest.fixture(autouse=True, scope="session")
def scripted_judge(jurist_judge):
    jurist_judge.model = FakeBackend(reply)
"""

TESTS = """
import pytest
from jurist.testing import JudgingFailed, assert_judged

def test_good():
    verdict = assert_judged("an excellent answer", prompt="What is 2+2?", rubric="helpfulness", at_least=4)
    assert verdict.rationale == "RATIONALE-5"

def test_good_again_from_the_cache(jurist_judge):
    jurist_judge.assert_judged("an excellent answer", prompt="What is 2+2?", rubric="helpfulness", at_least=4)

def test_poor():
    assert_judged("a poor <b>answer</b>", prompt="What is 2+2?", rubric="helpfulness", at_least=4)

def test_no_verdict_is_never_a_pass():
    assert_judged("garbage", prompt="What is 2+2?", rubric="helpfulness", at_least=1)
"""


def inner(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    # without pytest-playwright, whose soft-assertion scope does not nest in a pytest run inside a test
    return pytester.runpytest_inprocess("-p", "no:cacheprovider", "-p", "no:playwright", *args)


@pytest.fixture
def judged(pytester: pytest.Pytester) -> pytest.RunResult:
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(test_judged=TESTS)
    return inner(pytester)


def test_a_passing_and_a_failing_assertion(judged: pytest.RunResult) -> None:
    judged.assert_outcomes(passed=2, failed=2)
    text = judged.stdout.str()
    # the failure gives the score, the rubric (its criteria) and the judge's rationale, and the response as data
    assert "AssertionError: judged 2 on 1-5, below at_least=4" in text
    assert "rubric: helpfulness: " in text
    assert "rationale: RATIONALE-2" in text
    assert "response: 'a poor <b>answer</b>'" in text


def test_a_judgment_without_a_verdict_is_an_error(judged: pytest.RunResult) -> None:
    judged.stdout.fnmatch_lines(["*test_no_verdict_is_never_a_pass*", "*JudgingFailed: the judge gave no verdict*"])


def test_the_summary_at_the_end_counts_calls_and_cache_hits(judged: pytest.RunResult) -> None:
    # 4 assertions; the second is the first one again, answered from the shared response cache
    judged.stdout.fnmatch_lines(
        [
            "*- jurist -*",
            "4 judged: 2 passed, 1 failed, 1 errors; 3 model calls, 1 answered from the response cache (judge: fake)",
        ]
    )


def test_a_run_that_judges_nothing_prints_nothing_of_jurist(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_plain():\n    assert 1 + 1 == 2\n")
    result = inner(pytester)
    result.assert_outcomes(passed=1)
    assert "- jurist -" not in result.stdout.str() and "judged:" not in result.stdout.str()


def test_the_model_comes_from_the_option_or_the_ini(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\njurist_model = openai:from-ini\njurist_cache = false\n")
    pytester.makepyfile(
        "def test_model(jurist_judge):\n"
        "    assert jurist_judge.model == 'openai:from-ini'\n"
        "    assert jurist_judge.cache is False\n"
    )
    inner(pytester).assert_outcomes(passed=1)
    pytester.makepyfile(test_option="def test_model(jurist_judge):\n    assert jurist_judge.model == 'openai:cli'\n")
    result = inner(pytester, "--jurist-model", "openai:cli", "test_option.py")
    result.assert_outcomes(passed=1)
