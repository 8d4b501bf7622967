"""The engine's one call (`jurist.run.engine.run`) and the small judge protocol: a judge is a spec and an async call;
the engine stamps every verdict, checks the data, chooses the concurrency and records the backends' fallbacks. The
fingerprints are the ones judges had before the protocol (pinned here), so old runs resume; the sync twins take
every argument of their async originals; the old `options=` spellings of the arena and the audit still work."""

from __future__ import annotations

import hashlib
import inspect
import json
import warnings
from pathlib import Path
from typing import Any

import pytest

import jurist
from jurist import ConfigError, FakeBackend, GenerateRequest, Item, JobOptions, JudgeConfig, Verdict, make_judge
from jurist._version import __version__
from jurist.audit import AuditOptions, aaudit, audit
from jurist.data.load import LoadedData
from jurist.judges.base import Judge, JudgeSpec, LLMJudge, Preflight, judge_item
from jurist.leaderboard.arena import ArenaData, ArenaOptions, arun_arena, run_arena
from jurist.outcomes import Score
from jurist.run.engine import Backends, run
from jurist.run.log import read_run, read_sessions
from jurist.strategies import Cascade, Jury, SelfConsistency

from .helpers import first_shown
from .helpers import run as run_coro

NO_CACHE = JobOptions(cache=False)
ROWS = [
    {"id": f"q{i}", "prompt": f"question {i}", "response": f"answer {i}", "label": 4, "group": "g"} for i in range(3)
]


def _point() -> LLMJudge:
    config = JudgeConfig(mode="pointwise", rubric="helpfulness", temperature=0.5, seed=3)
    return make_judge(FakeBackend("x", name="fake"), config)


def _pair(name: str = "fake", **config: Any) -> LLMJudge:
    return make_judge(FakeBackend("x", name=name), JudgeConfig(mode="pairwise", **config))


def _nested() -> Cascade:
    jury = Jury([_pair(rationale="before", allow_tie=False), _pair("other")], vote="majority")
    return Cascade(jury, _pair(rationale="before", allow_tie=False), threshold=0.6)


def _hash(identity: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()[:16]


# -- identity: the values judges gave before the protocol, so that their runs resume ------------------------------


def test_fingerprints_and_identities_are_the_ones_before_the_judge_protocol() -> None:
    # computed with `describe()` and the old `fingerprint` properties, before `spec` existed
    point, pair, nested = _point(), _pair(rationale="before", allow_tie=False), _nested()
    assert point.spec.fingerprint == "782b6fab9d0d6fb0" and _hash(point.spec.identity) == "782b6fab9d0d6fb0"
    assert pair.spec.fingerprint == "e8b7606725dd8f6d" and _hash(pair.spec.identity) == "e8b7606725dd8f6d"
    assert nested.spec.fingerprint == "c152149cd23a6ac0" and _hash(nested.spec.identity) == "2cb3186a292d102c"
    assert nested.spec.backend == "fake+other+fake"  # a strategy's models, as its runs' headers named them
    assert nested.fingerprint == nested.spec.fingerprint and nested.spec.mode == "pairwise"


def test_the_run_header_records_the_version_and_the_identity(tmp_path: Path) -> None:
    judge = _nested()
    data = LoadedData(path="<python>", items=[])
    run_coro(run(judge, data, tmp_path / "run", NO_CACHE))
    header = read_run(tmp_path / "run").header
    assert header.judge == {"jurist_version": __version__, **judge.spec.identity}
    assert header.fingerprint == "c152149cd23a6ac0" and header.backend == "fake+other+fake"


# -- a judge is a spec and an async call -------------------------------------------------------------------------


class Constant:
    """A judge of one's own: only the protocol's two members, no Preflight."""

    def __init__(self, score: float) -> None:
        self.spec = JudgeSpec(mode="pointwise", identity={"constant": score})
        self.score = score
        self.seen: list[Item] = []

    async def __call__(self, item: Item) -> Verdict:
        self.seen.append(item)
        return Verdict(id=item.id, mode="pointwise", outcome=Score(score=self.score))


def test_a_judge_of_ones_own_is_run_and_every_verdict_stamped_by_the_engine(tmp_path: Path) -> None:
    judge = Constant(4.0)
    assert isinstance(judge, Judge) and not isinstance(judge, Preflight)
    unstamped = run_coro(judge(Item(id="x", prompt="p", response="r")))
    assert unstamped.judge_fingerprint == "" and unstamped.item_hash == ""  # a judge does not stamp its verdicts
    result = jurist.judge(ROWS, out=tmp_path / "run", judge=judge, options=NO_CACHE)
    items = {it.id: it for it in judge.seen}
    for verdict in result.verdicts():
        item = items[verdict.id]
        assert verdict.judge_fingerprint == judge.spec.fingerprint and verdict.label == 4.0
        assert verdict.item_hash == item.content_hash() and verdict.latency_s >= 0.0
        assert verdict.metadata == {"group": "g"} and verdict.item is not None and verdict.item.prompt == item.prompt
    # no Preflight and no backends made by the engine: one item at a time
    assert read_sessions(tmp_path / "run")[-1].concurrency == 1


class Closing(FakeBackend):
    """A scripted backend that remembers being closed."""

    closed = False

    async def aclose(self) -> None:
        self.closed = True


def test_a_factory_gets_the_engines_backends_their_concurrency_and_their_fallbacks(tmp_path: Path) -> None:
    backend = Closing('{"score": "3"}', capabilities=jurist.Capabilities(max_concurrency=3))
    backend.fallbacks = ["logprobs -> none (HTTP 400)"]  # type: ignore[attr-defined]

    def build(backends: Backends) -> Judge:
        return _Plain(make_judge(backends.get(backend), JudgeConfig(mode="pointwise")))

    data = jurist.load_items(_write(tmp_path, ROWS), "pointwise")
    outcome = run_coro(run(build, data, tmp_path / "run", NO_CACHE))
    assert outcome.judged == 3 and len(backend.requests) == 3
    assert read_sessions(tmp_path / "run")[-1].concurrency == 3  # what the engine's backend takes
    assert read_run(tmp_path / "run").header.fallbacks == ["logprobs -> none (HTTP 400)"]
    assert backend.closed  # the run made its backends, and closed them at the end


class _Plain:
    """An LLM judge seen only through the protocol (no Preflight): the engine knows its backends, not it."""

    def __init__(self, inner: LLMJudge) -> None:
        self.inner = inner
        self.spec = inner.spec

    async def __call__(self, item: Item) -> Verdict:
        return await self.inner(item)


def _write(tmp_path: Path, rows: list[dict[str, Any]]) -> Path:
    path = tmp_path / "data.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def test_preflight_checks_the_data_before_any_call(tmp_path: Path) -> None:
    backend = FakeBackend('{"score": "3"}')
    data = jurist.load_items(_write(tmp_path, [{**ROWS[0], "label": 50}]), "pointwise")
    with pytest.raises(jurist.InputError, match="50"):
        run_coro(run(make_judge(backend, JudgeConfig(mode="pointwise")), data, tmp_path / "run", NO_CACHE))
    assert backend.requests == [] and not (tmp_path / "run").exists()


def test_a_strategys_concurrency_is_its_models_shared_among_the_calls_of_one_item() -> None:
    def sampling(max_concurrency: int) -> LLMJudge:
        capabilities = jurist.Capabilities(max_concurrency=max_concurrency)
        return make_judge(FakeBackend("x", capabilities=capabilities), JudgeConfig(mode="pointwise", temperature=0.5))

    assert SelfConsistency(sampling(8), k=3).concurrency() == 2
    five = SelfConsistency(sampling(8), k=5)
    assert five.concurrency() == 1 and five.serial  # as CombinedBackend had it: 8 // 5 leaves one at a time
    assert Cascade(Jury([sampling(16), sampling(16)]), sampling(4)).concurrency() == 4


def test_inner_verdicts_are_stamped_with_their_own_fingerprints() -> None:
    jurors = [make_judge(FakeBackend(_pick_good, name=name), JudgeConfig(mode="pairwise")) for name in ("a", "b")]
    jury = Jury(jurors)
    verdict = run_coro(judge_item(jury, Item(id="i", prompt="p", response_a="good", response_b="bad")))
    assert verdict.strategy is not None
    assert [j["fingerprint"] for j in verdict.strategy["judges"]] == [j.spec.fingerprint for j in jurors]
    assert verdict.judge_fingerprint == jury.spec.fingerprint


# -- the sync twins ----------------------------------------------------------------------------------------------


def test_the_sync_twins_have_their_originals_parameters() -> None:
    for sync, original in ((jurist.judge, jurist.ajudge), (audit, aaudit), (run_arena, arun_arena)):
        assert inspect.signature(sync) == inspect.signature(original)
        assert sync.__name__ == original.__name__[1:] and not inspect.iscoroutinefunction(sync)
        assert sync.__doc__ is not None and f"Synchronous `{original.__name__}`" in sync.__doc__


def test_the_sync_judge_hands_the_callbacks_through(tmp_path: Path) -> None:
    started: list[tuple[int, int]] = []
    judged: list[str] = []
    jurist.judge(
        ROWS,
        out=tmp_path / "run",
        config="pointwise",
        model=FakeBackend('{"score": "4"}'),
        options=NO_CACHE,
        on_start=lambda total, skipped: started.append((total, skipped)),
        on_verdict=lambda verdict: judged.append(verdict.id),
    )
    assert started == [(3, 0)] and sorted(judged) == ["q0", "q1", "q2"]


# -- options= is the job's everywhere; the old spellings still work ----------------------------------------------


def _systems() -> ArenaData:
    return ArenaData(
        prompts={"p1": "Question one?", "p2": "Question two?"},
        outputs={"good": {"p1": "good", "p2": "good"}, "bad": {"p1": "bad", "p2": "bad"}},
        sources={"good": "test", "bad": "test"},
    )


def _pick_good(request: GenerateRequest) -> str:
    return json.dumps({"winner": "A" if first_shown(request, "good", "bad") == "good" else "B"})


def test_the_arenas_old_options_and_job_keywords_warn_and_still_work(tmp_path: Path) -> None:
    with pytest.warns(DeprecationWarning) as caught:
        report = run_arena(
            _systems(),
            out=tmp_path / "old",
            options=ArenaOptions(n_bootstrap=10),  # type: ignore[arg-type]
            model=FakeBackend(_pick_good),
            job=NO_CACHE,
        )
    messages = " ".join(str(w.message) for w in caught)
    assert "arena=" in messages and "arun_arena(job=...)" in messages
    assert [row.system for row in report.rows] == ["good", "bad"]
    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)  # the new spelling gives none
        new = run_arena(
            _systems(),
            out=tmp_path / "new",
            arena=ArenaOptions(n_bootstrap=10),
            model=FakeBackend(_pick_good),
            options=NO_CACHE,
        )
    assert [row.system for row in new.rows] == ["good", "bad"]
    with pytest.warns(DeprecationWarning), pytest.raises(ConfigError, match="once"):
        run_arena(_systems(), out=tmp_path / "both", options=NO_CACHE, job=NO_CACHE)


def test_the_audits_old_options_keyword_and_job_field_warn_and_still_work(tmp_path: Path) -> None:
    items = [
        {"id": f"s{i}", "prompt": f"Q{i}?", "response_a": "good", "response_b": "bad", "label": "A"} for i in range(3)
    ]
    old = AuditOptions(probes=["position"], n_resamples=20, job=NO_CACHE)
    with pytest.warns(DeprecationWarning) as caught:
        report = audit(items, out=tmp_path / "old", model=FakeBackend(_pick_good), options=old)  # type: ignore[arg-type]
    messages = " ".join(str(w.message) for w in caught)
    assert "audit=" in messages and "AuditOptions(job=...)" in messages
    assert report.result("position").n == 3
    with pytest.warns(DeprecationWarning), pytest.raises(ConfigError, match="once"):
        audit(items, out=tmp_path / "both", model=FakeBackend(_pick_good), audit=old, options=NO_CACHE)


def test_one_spec_at_two_servers_gets_two_backends_and_one_server_one_backend() -> None:
    import asyncio

    from jurist.backends import BackendOptions

    job = JobOptions(backend=BackendOptions(base_url="http://127.0.0.1:9/v1"), cache=False)

    async def made() -> None:
        async with Backends(job) as backends:
            judge = backends.get("openai:m")
            assert backends.get("openai:m") is judge
            assert backends.get("openai:m", backend_options=job.backend) is judge  # the job's own server: the same
            policy = backends.get("openai:m", backend_options=BackendOptions(base_url="http://127.0.0.1:10/v1"))
            assert policy is not judge
            assert policy.inner.base_url != judge.inner.base_url  # type: ignore[attr-defined]

    asyncio.run(made())
