"""`jurist align`: the search finds the better prompt, never sees the test split, keeps to its budget, and writes a
strategy file that `jurist judge --strategy` uses. The fake judge's answers depend on the prompt: with the
instruction_first rules (or, pointwise, our "strict" instruction) it answers right, otherwise it picks the first
response shown (pairwise) or says 3 (pointwise)."""

from __future__ import annotations

import json
import sys
import types
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from jurist import FakeBackend, GenerateRequest, JobOptions, JudgeConfig, judge
from jurist.align import AlignOptions, align
from jurist.align.runner import REPORT_FILE, STRATEGY_FILE
from jurist.align.search import Evaluation, greedy_search
from jurist.align.space import Space
from jurist.align.splits import parse_fractions, split_items
from jurist.cli.align import align as align_command
from jurist.cli.judge import judge as judge_command
from jurist.errors import ConfigError, InputError
from jurist.run import engine
from jurist.types import Item

from .helpers import run

RULE = "Following the instruction matters more"  # a sentence of rules/instruction_first.toml
STRICT = "strict judge of instruction following"  # a sentence of templates/align.toml's `instructions` variants
NO_CACHE = JobOptions(cache=False)


def pairs(n: int = 24) -> list[dict[str, Any]]:
    rows = []
    for i in range(n):
        good_first = i % 3 != 0  # two thirds A: a judge that always says A is right 2/3 of the time
        a, b = (f"good answer {i}", f"bad answer {i}") if good_first else (f"bad answer {i}", f"good answer {i}")
        rows.append({"id": f"p{i:02d}", "prompt": f"question number {i}", "response_a": a, "response_b": b})
        rows[-1]["label"] = "A" if good_first else "B"
    return rows


def pairwise_script(request: GenerateRequest) -> str:
    text = "\n".join(m.content for m in request.messages)
    user = [m.content for m in request.messages if m.role == "user"][-1]
    if "broken" in user:
        return "I cannot say."
    # the judged pair comes last (few-shot examples come before it)
    first = user[user.rfind("# Response A") : user.rfind("# Response B")]
    first_good = "good answer" in first
    if RULE in text:
        return json.dumps({"winner": "A" if first_good else "B"})
    return json.dumps({"winner": "A"})


def pointwise_script(request: GenerateRequest) -> str:
    text = "\n".join(m.content for m in request.messages)
    user = [m.content for m in request.messages if m.role == "user"][-1]
    judged = user[user.rfind("# Response") :]
    if STRICT in text:
        return json.dumps({"score": "5" if "good answer" in judged else "1"})
    return json.dumps({"score": "3"})


def make_run(tmp_path: Path, rows: list[dict[str, Any]], mode: str = "pairwise", **config: Any) -> Path:
    out = tmp_path / "run"
    script = pairwise_script if mode == "pairwise" else pointwise_script
    judge(rows, out=out, config=JudgeConfig(mode=mode, rationale="none", **config), model=FakeBackend(script))  # type: ignore[arg-type]
    return out


def test_the_search_finds_the_better_candidate_and_reports_it(tmp_path: Path) -> None:
    the_run = make_run(tmp_path, pairs())
    report = align(the_run, tmp_path / "aligned", model=FakeBackend(pairwise_script), options=AlignOptions())
    assert report.before.rules == "own" and report.after.rules == "instruction_first"
    test = report.row("test")
    assert test.after.value == 1.0 and test.before.value < 1.0
    for row in report.rows:
        # the arithmetic: agreement = (n - disagreements) / n, on every split, before and after
        assert row.before.value == pytest.approx((row.n - row.disagreements_before) / row.n)
        assert row.after.value == pytest.approx((row.n - row.disagreements_after) / row.n)
        assert row.before.low <= row.before.value <= row.before.high
    assert sum(report.sizes.values()) == 24 and report.sizes == {"train": 12, "dev": 6, "test": 6}
    saved = json.loads((tmp_path / "aligned" / REPORT_FILE).read_text())
    assert saved["after"]["rules"] == "instruction_first" and saved["calls_search"] == report.calls_search
    assert 'rules = "instruction_first"' in (tmp_path / "aligned" / STRATEGY_FILE).read_text()
    assert "test" in report.render() and "instruction_first" in report.render()


def test_the_test_split_never_reaches_the_search(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    rows = pairs()
    the_run = make_run(tmp_path, rows)
    backend = FakeBackend(pairwise_script)
    seen_in_search: list[str] = []
    import jurist.align.runner as runner

    async def watched(*args: Any, **kwargs: Any) -> Any:
        result = await greedy_search(*args, **kwargs)
        seen_in_search.extend("\n".join(m.content for m in r.messages) for r in backend.requests)
        return result

    monkeypatch.setattr(runner, "greedy_search", watched)
    report = align(the_run, tmp_path / "aligned", model=backend, options=AlignOptions(), job=NO_CACHE)
    saved = json.loads((tmp_path / "aligned" / REPORT_FILE).read_text())
    test_prompts = {f"question number {int(i[1:])}\n" for i in saved["split_ids"]["test"]}
    train_prompts = {f"question number {int(i[1:])}\n" for i in saved["split_ids"]["train"]}
    assert len(test_prompts) == report.sizes["test"] and seen_in_search
    assert not any(p in text for text in seen_in_search for p in test_prompts)
    assert any(p in text for text in seen_in_search for p in train_prompts)  # the check can see a prompt
    # and the test split was judged afterwards, for the report
    later = ["\n".join(m.content for m in r.messages) for r in backend.requests[len(seen_in_search) :]]
    assert any(p in text for text in later for p in test_prompts)


def test_demos_come_from_the_train_split_only(tmp_path: Path) -> None:
    space = Space(JudgeConfig(mode="pairwise"), [Item(**r) for r in pairs()[:8]], seed=0)
    demo_options = space.options("demos", space.baseline(), wrong={"p03"})
    ids = {i for c in demo_options for i in (c.demos or ())}
    assert ids and ids <= {f"p{i:02d}" for i in range(8)}
    errors = [c for c in demo_options if c.demo_pick == "errors"]
    assert errors and all(c.demos and "p03" in c.demos for c in errors)
    # the shown examples take the labels in turn
    balanced = next(c for c in demo_options if c.demo_pick == "balanced" and c.demos and len(c.demos) == 3)
    labels = {r["id"]: r["label"] for r in pairs()}
    assert {labels[i] for i in (balanced.demos or ())[:2]} == {"A", "B"}


def test_greedy_search_is_handed_no_test_items() -> None:
    """The search's evaluate takes a split name, train or dev: nothing else is ever asked for."""
    items = [Item(**r) for r in pairs(12)]
    space = Space(JudgeConfig(mode="pairwise"), items[:6], seed=0)
    asked: list[str] = []

    async def evaluate(candidate: Any, split: str) -> Evaluation:
        asked.append(split)
        good = candidate.rules == "safety_first"
        return Evaluation(split=split, correct={it.id: good or i == 0 for i, it in enumerate(items[:6])})

    result = run(greedy_search(space, evaluate))
    assert set(asked) == {"train", "dev"}
    assert result.best.rules == "safety_first" and result.stopped == "converged"


def test_the_budget_is_respected(tmp_path: Path) -> None:
    the_run = make_run(tmp_path, pairs())
    backend = FakeBackend(pairwise_script)
    # measuring the run's own judge on train+dev (18 items x 2 orders) and two judges on test (2 x 6 x 2): 60
    options = AlignOptions(budget=100)
    report = align(the_run, tmp_path / "aligned", model=backend, options=options, job=NO_CACHE)
    assert report.stopped == "budget"
    assert len(backend.requests) == report.calls <= 100
    assert report.calls_search <= 100 - 24  # the test's share was kept back
    with pytest.raises(ConfigError, match="too small"):
        align(the_run, tmp_path / "other", model=backend, options=AlignOptions(budget=59), job=NO_CACHE)


def test_repeats_are_free_through_the_response_cache(tmp_path: Path) -> None:
    the_run = make_run(tmp_path, pairs())
    first = align(the_run, tmp_path / "a1", model=FakeBackend(pairwise_script))
    backend = FakeBackend(pairwise_script)
    again = align(the_run, tmp_path / "a2", model=backend)
    assert first.calls > 0 and again.calls == 0 and backend.requests == []
    assert again.after == first.after


def test_failures_are_counted_and_count_as_disagreements(tmp_path: Path) -> None:
    rows = pairs()
    for row in rows[:6]:
        row["prompt"] += " broken"
    the_run = make_run(tmp_path, rows)
    report = align(the_run, tmp_path / "aligned", model=FakeBackend(pairwise_script))
    assert sum(r.failed_before for r in report.rows) == 6 == sum(r.failed_after for r in report.rows)
    for row in report.rows:
        assert row.disagreements_after >= row.failed_after
    assert "failed" in report.render()


def test_pointwise_finds_the_instruction(tmp_path: Path) -> None:
    rows = [
        {
            "id": f"s{i:02d}",
            "prompt": f"q{i}",
            "response": f"{'good' if i % 2 else 'bad'} answer",
            "label": 5 if i % 2 else 1,
        }
        for i in range(16)
    ]
    the_run = make_run(tmp_path, rows, mode="pointwise")
    report = align(the_run, tmp_path / "aligned", model=FakeBackend(pointwise_script))
    assert report.after.instruction == "instructions"
    assert report.row("test").after.value == 1.0 and report.row("test").before.value == 0.0
    strategy = (tmp_path / "aligned" / STRATEGY_FILE).read_text()
    template = (tmp_path / "aligned" / "template.toml").resolve()
    assert f'template = "{template}"' in strategy and STRICT in template.read_text()
    # aligned again into the same folder, by a judge no prompt helps: the run's own judge, no stale template left
    again = align(the_run, tmp_path / "aligned", model=FakeBackend(json.dumps({"score": "3"}), name="flat"))
    assert again.after == again.before and not template.exists()
    assert "template" not in (tmp_path / "aligned" / STRATEGY_FILE).read_text().split("kind")[1]


@pytest.fixture
def fake_models(monkeypatch: pytest.MonkeyPatch) -> list[FakeBackend]:
    """Every model spec the CLI names becomes a fresh scripted pairwise judge."""
    made: list[FakeBackend] = []

    def make_backend(spec: str, options: Any = None) -> FakeBackend:
        made.append(FakeBackend(pairwise_script, name=f"fake-{spec}"))
        return made[-1]

    monkeypatch.setattr(engine, "make_backend", make_backend)
    return made


def test_cli_output_is_used_by_jurist_judge(tmp_path: Path, fake_models: list[FakeBackend]) -> None:
    data = tmp_path / "pairs.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in pairs()))
    cli = CliRunner()
    made = cli.invoke(
        judge_command, [str(data), "--mode", "pairwise", "--rationale", "none", "--out", str(tmp_path / "run")]
    )
    assert made.exit_code == 0, made.output
    aligned = tmp_path / "aligned"
    result = cli.invoke(align_command, [str(tmp_path / "run"), "--labels", "data", "--out", str(aligned)])
    assert result.exit_code == 0, result.output
    assert "agreement before" in result.output and "test" in result.output
    again = cli.invoke(
        judge_command,
        [
            str(data),
            "--mode",
            "pairwise",
            "--strategy",
            str(aligned / STRATEGY_FILE),
            "--out",
            str(tmp_path / "new"),
            "--no-cache",
        ],
    )
    assert again.exit_code == 0, again.output
    verdicts = [json.loads(line) for line in (tmp_path / "new" / "verdicts.jsonl").read_text().splitlines()]
    assert len(verdicts) == 24 and all(v["outcome"]["winner"] == v["label"] for v in verdicts)
    assert RULE in "\n".join(m.content for m in fake_models[-1].requests[0].messages)


def test_labels_from_review(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """--labels review reads jurist.review.review_labels(run_dir, reviewer=...): here a stand-in."""
    the_run = make_run(tmp_path, [{k: v for k, v in r.items() if k != "label"} for r in pairs()])
    asked: list[Any] = []

    def review_labels(run_dir: Path, reviewer: str | None = None) -> dict[str, str]:
        asked.append((Path(run_dir), reviewer))
        return {r["id"]: r["label"] for r in pairs()}

    monkeypatch.setitem(sys.modules, "jurist.review", types.SimpleNamespace(review_labels=review_labels))
    options = AlignOptions(labels="review", reviewer="ann")
    report = align(the_run, tmp_path / "aligned", model=FakeBackend(pairwise_script), options=options)
    assert asked == [(the_run, "ann")] and report.labels == "review"
    assert report.after.rules == "instruction_first"
    with pytest.raises(InputError, match="none of the run's items has a label"):
        align(the_run, tmp_path / "data", model=FakeBackend(pairwise_script))  # the items themselves have none


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--labels", "data"], "none of the run's items has a label"),
        (["--labels", "votes"], "Invalid value for '--labels'"),
        (["--labels", "data", "--splits", "0.5,0.5"], "three positive fractions"),
    ],
)
def test_cli_bad_input_exits_2(tmp_path: Path, fake_models: list[FakeBackend], args: list[str], message: str) -> None:
    the_run = make_run(tmp_path, [{k: v for k, v in r.items() if k != "label"} for r in pairs()])
    result = CliRunner().invoke(align_command, [str(the_run), "--out", str(tmp_path / "a"), *args])
    assert result.exit_code == 2 and message in result.output, result.output
    assert "Traceback" not in result.output and fake_models == []


def test_cli_too_few_labelled_items_and_not_a_run(tmp_path: Path, fake_models: list[FakeBackend]) -> None:
    the_run = make_run(tmp_path, pairs(5))
    cli = CliRunner()
    result = cli.invoke(align_command, [str(the_run), "--labels", "data", "--out", str(tmp_path / "a")])
    assert result.exit_code == 2 and "too few for three splits" in result.output, result.output
    result = cli.invoke(align_command, [str(tmp_path), "--labels", "data", "--out", str(tmp_path / "a")])
    assert result.exit_code == 2 and "error" in result.output and "Traceback" not in result.output


def test_splits_are_seeded_disjoint_and_stratified() -> None:
    items = [Item(**r) for r in pairs(40)]
    one = split_items(items, (0.5, 0.25, 0.25), 0, "x")
    assert one == split_items(list(reversed(items)), (0.5, 0.25, 0.25), 0, "x")
    assert one != split_items(items, (0.5, 0.25, 0.25), 1, "x")
    ids = [it.id for part in (one.train, one.dev, one.test) for it in part]
    assert sorted(ids) == sorted(it.id for it in items) and len(set(ids)) == 40
    for part in (one.train, one.dev, one.test):
        assert {it.label for it in part} == {"A", "B"}
    assert parse_fractions("0.6,0.2,0.2") == (0.6, 0.2, 0.2)
    with pytest.raises(ConfigError):
        parse_fractions("0.6,0.2,0.3")


def test_a_listwise_run_is_refused() -> None:
    with pytest.raises(ConfigError, match="pairwise and pointwise"):
        Space(JudgeConfig(mode="listwise"), [], seed=0)


def test_a_candidate_refused_before_any_call_is_skipped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A candidate the judge refuses (here a rubric that does not exist) agrees with nobody; the search goes on."""
    import jurist.align.space as space_module

    monkeypatch.setattr(space_module, "RUBRICS", ("no_such_rubric",))
    steps: list[str] = []
    the_run = make_run(tmp_path, pairs())
    report = align(the_run, tmp_path / "aligned", model=FakeBackend(pairwise_script), on_step=steps.append)
    refused = [s for s in steps if "refused" in s]
    assert refused and all("no_such_rubric" in s for s in refused)
    assert report.after.rules == "instruction_first" and report.after.rubric == "own"
