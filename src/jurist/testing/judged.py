"""`assert_judged`: an assertion that a model's response is good enough, by a pointwise judge, for tests (the CI gate
of issue 19). Judgments run in a JudgeSession: one backend per model and one response cache for the whole test
session (the pytest plugin's `jurist_judge`), deterministic by default (temperature 0, seed 0, the cache on).

A failed model call is an error (JudgingFailed), never a pass. Kept light to import: the engine and the judges load
on the first judgment, so that the pytest plugin costs nothing to a test session that judges nothing.
"""

from __future__ import annotations

from collections.abc import Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    import asyncio
    import threading

    from ..backends import Backend
    from ..run.engine import Backends
    from ..types import Verdict

T = TypeVar("T")
# shown in a failed assertion: enough of the response to recognise it
SHOWN_CHARS = 300


class JudgingFailed(RuntimeError):
    """The judge gave no usable verdict (a failed call, an unreadable answer): the assertion cannot be decided."""


@dataclass
class JudgeStats:
    """What a session judged: assertions passed and failed, judgments that failed (errors), model calls and cache
    hits (requests answered from the response cache, not counted in `calls`)."""

    judged: int = 0
    passed: int = 0
    failed: int = 0
    errors: int = 0
    calls: int = 0
    cache_hits: int = 0

    def line(self) -> str:
        return (
            f"{self.judged} judged: {self.passed} passed, {self.failed} failed, {self.errors} errors; "
            f"{self.calls} model calls, {self.cache_hits} answered from the response cache"
        )


class JudgeSession:
    """One backend per model and one response cache shared by every judgment, on one event loop of its own (in a
    background thread, so that sync and async tests alike can call it). `model` is a spec ("local",
    "openai:gpt-4o"...) or a Backend (a FakeBackend in tests); set `model` before the first judgment to change it."""

    def __init__(
        self,
        model: str | Backend = "local",
        *,
        cache: bool = True,
        cache_path: Path | None = None,
        temperature: float = 0.0,
    ) -> None:
        self.model = model
        self.cache, self.cache_path, self.temperature = cache, cache_path, temperature
        self.stats = JudgeStats()
        self._backends: Backends | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    # -- the session's own loop ----------------------------------------------------------------------------------

    def _run(self, work: Coroutine[Any, Any, T]) -> T:
        # imported here: a test session that judges nothing does not load asyncio for the plugin
        import asyncio
        import threading

        if self._loop is None:
            self._loop = asyncio.new_event_loop()
            self._thread = threading.Thread(target=self._loop.run_forever, name="jurist-judge", daemon=True)
            self._thread.start()
        return asyncio.run_coroutine_threadsafe(work, self._loop).result()

    def close(self) -> None:
        """Close the backends and the cache, and stop the loop (the plugin does it at the end of the session)."""
        if self._loop is None:
            return
        if self._backends is not None:
            self._run(self._backends.aclose())
            self._backends = None
        self._loop.call_soon_threadsafe(self._loop.stop)
        if self._thread is not None:
            self._thread.join(10)
        self._loop.close()
        self._loop, self._thread = None, None

    # -- judging -------------------------------------------------------------------------------------------------

    async def _ajudge(self, item: Any, config: Any, model: str | Backend) -> Verdict:
        from ..judges import make_judge
        from ..judges.base import judge_item
        from ..run.engine import Backends, JobOptions

        if self._backends is None:
            self._backends = Backends(JobOptions(cache=self.cache, cache_path=self.cache_path))
        backend = self._backends.get(model)
        hits = backend.cache_hits
        verdict = await judge_item(make_judge(backend, config), item)
        hits = backend.cache_hits - hits
        self.stats.cache_hits += hits
        # a cached answer keeps its usage: the calls made now are the others
        self.stats.calls += max(0, verdict.usage.calls - hits)
        return verdict

    def judge(
        self,
        response: str,
        *,
        prompt: str | None = None,
        rubric: str | None = None,
        scale: str | None = None,
        reference: str | None = None,
        model: str | Backend | None = None,
    ) -> Verdict:
        """The pointwise verdict on `response` (to `prompt`, if any) under `rubric` (a built-in name or a file), on
        `scale` (default: the rubric's, else 1-5)."""
        from ..judges import JudgeConfig
        from ..types import Item

        item = Item(id="assert_judged", prompt=prompt or "", response=response, reference=reference)
        config = JudgeConfig(
            mode="pointwise", rubric=rubric, scale=scale, temperature=self.temperature, rationale="before"
        )
        return self._run(self._ajudge(item, config, self.model if model is None else model))

    def assert_judged(
        self,
        response: str,
        *,
        prompt: str | None = None,
        rubric: str | None = None,
        at_least: float = 4,
        scale: str | None = None,
        reference: str | None = None,
        model: str | Backend | None = None,
    ) -> Verdict:
        """Assert that the judge scores `response` at least `at_least`; see `assert_judged`."""
        self.stats.judged += 1
        try:
            verdict = self.judge(response, prompt=prompt, rubric=rubric, scale=scale, reference=reference, model=model)
        except Exception:
            self.stats.errors += 1
            raise
        if verdict.error is not None:
            self.stats.errors += 1
            raise JudgingFailed(f"the judge gave no verdict ({verdict.error.reason}): {verdict.error.message}")
        from ..outcomes import Score

        score = verdict.outcome_as(Score).score
        if score is None:
            self.stats.errors += 1
            raise JudgingFailed(f"the judge gave no numeric score (choice: {verdict.decision()}): use a numeric scale")
        if score < at_least:
            self.stats.failed += 1
            raise AssertionError(_failure(response, score, at_least, scale, rubric, verdict.rationale))
        self.stats.passed += 1
        return verdict


def _failure(
    response: str, score: float, at_least: float, scale: str | None, rubric: str | None, rationale: str | None
) -> str:
    shown = response if len(response) <= SHOWN_CHARS else response[:SHOWN_CHARS] + "..."
    return (
        f"judged {score:g} on {_scale_text(scale, rubric)}, below at_least={at_least:g}\n"
        f"  rubric: {_rubric_text(rubric)}\n"
        f"  rationale: {rationale or '(none given)'}\n"
        f"  response: {shown!r}"
    )


def _scale_text(scale: str | None, rubric: str | None) -> str:
    """The scale the judge used: the one given, else the rubric's, else 1-5 (as PointwiseJudge chooses)."""
    if scale:
        return scale
    if rubric is None:
        return "1-5"
    from ..errors import JuristError
    from ..rubrics import load_rubric

    try:
        return load_rubric(rubric).scale
    except JuristError:
        return "the rubric's scale"


def _rubric_text(rubric: str | None) -> str:
    if rubric is None:
        return "(none: the default pointwise criteria)"
    from ..errors import JuristError
    from ..rubrics import load_rubric

    try:
        return f"{rubric}: {load_rubric(rubric).criteria.strip()}"
    except JuristError:
        return rubric


# the session assert_judged uses: the pytest plugin's while a test session runs, else one made on first use
_current: JudgeSession | None = None


def current_session(*, create: bool = True) -> JudgeSession | None:
    """The session assert_judged uses; without `create`, None when there is none yet."""
    global _current
    if _current is None and create:
        _current = JudgeSession()
    return _current


def use_session(session: JudgeSession | None) -> None:
    """Make `session` the one assert_judged uses (None: a fresh default one on next use)."""
    global _current
    _current = session


def assert_judged(
    response: str,
    *,
    prompt: str | None = None,
    rubric: str | None = None,
    at_least: float = 4,
    scale: str | None = None,
    reference: str | None = None,
    model: str | Backend | None = None,
) -> Verdict:
    """Assert that a pointwise judge scores `response` (to `prompt`) at least `at_least` under `rubric` (a built-in
    rubric such as "helpfulness", or a rubric file), on `scale` (default: the rubric's, else 1-5). Returns the
    verdict. On a low score, raises AssertionError with the score, the judge's rationale and the rubric; when the
    judge gives no verdict (the model call failed, the answer could not be read), raises JudgingFailed: an error,
    never a pass. `model` (a spec or a Backend) overrides the session's (`--jurist-model`). Runs in the current
    JudgeSession: the pytest plugin's during a test session (one backend and response cache for all tests),
    deterministic (temperature 0, cache on).
    """
    session = current_session()
    assert session is not None
    return session.assert_judged(
        response, prompt=prompt, rubric=rubric, at_least=at_least, scale=scale, reference=reference, model=model
    )
