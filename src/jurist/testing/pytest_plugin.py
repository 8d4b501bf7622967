"""jurist's pytest plugin (entry point `pytest11`): the `jurist_judge` fixture, the judging session that
`jurist.testing.assert_judged` runs in, and a summary line at the end of a run that judged something.

A test session that judges nothing pays nothing: no model, backend or cache is made before the first judgment, and
nothing is printed. Options: --jurist-model SPEC (ini `jurist_model`, default local), --jurist-no-cache (ini
`jurist_cache = false`).
"""

from __future__ import annotations

import pytest

from .judged import JudgeSession, current_session, use_session

_SESSION = pytest.StashKey[JudgeSession]()
# the session that was current before this run's (a pytest run inside a test, as pytester's, restores its caller's)
_BEFORE = pytest.StashKey[JudgeSession | None]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("jurist", "jurist (assert_judged, the jurist_judge fixture)")
    group.addoption(
        "--jurist-model",
        default=None,
        metavar="SPEC",
        help="the judge of assert_judged: local | gguf:PATH | openai:MODEL | anthropic:MODEL (ini: jurist_model)",
    )
    group.addoption(
        "--jurist-no-cache",
        action="store_true",
        default=False,
        help="do not read or write jurist's response cache (ini: jurist_cache = false)",
    )
    parser.addini("jurist_model", "the judge of assert_judged (a model spec)", default="local")
    parser.addini("jurist_cache", "jurist's response cache on (true) or off", type="bool", default=True)


def pytest_configure(config: pytest.Config) -> None:
    model = config.getoption("jurist_model") or config.getini("jurist_model")
    cache = bool(config.getini("jurist_cache")) and not config.getoption("jurist_no_cache")
    session = JudgeSession(model, cache=cache)  # lazy: builds nothing until the first judgment
    config.stash[_SESSION] = session
    config.stash[_BEFORE] = current_session(create=False)
    use_session(session)


def pytest_unconfigure(config: pytest.Config) -> None:
    session = config.stash.get(_SESSION, None)
    if session is None:
        return
    session.close()
    if current_session(create=False) is session:
        use_session(config.stash.get(_BEFORE, None))


@pytest.fixture(scope="session")
def jurist_judge(pytestconfig: pytest.Config) -> JudgeSession:
    """The test session's JudgeSession: `jurist_judge.assert_judged(...)`, `jurist_judge.judge(...)`; set
    `jurist_judge.model` (a spec or a Backend) to change the judge of every assertion that names none."""
    return pytestconfig.stash[_SESSION]


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, config: pytest.Config) -> None:
    session = config.stash.get(_SESSION, None)
    if session is None or not session.stats.judged:
        return
    terminalreporter.write_sep("-", "jurist")
    model = session.model if isinstance(session.model, str) else getattr(session.model, "name", "a backend")
    terminalreporter.write_line(f"{session.stats.line()} (judge: {model})")
