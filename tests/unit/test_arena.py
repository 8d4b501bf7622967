"""`jurist arena` from Python: input checks, schedules, verdicts to battles, gaming checks and resume, with
scripted judges whose preferences are known."""

from __future__ import annotations

import json
import math
import random
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from jurist import FakeBackend, GenerateRequest, JobOptions, JudgeConfig, Verdict
from jurist.audit.probes import NULL_REFUSAL, VERBOSE_OPENING, pad_verbosely
from jurist.cli import main
from jurist.errors import ConfigError, InputError
from jurist.leaderboard.arena import (
    NULL_MODEL,
    ArenaData,
    ArenaOptions,
    ArenaReport,
    check_arena,
    load_systems,
    load_table,
    parse_system_spec,
    run_arena,
    to_battle,
    with_null_model,
    with_verbose_variant,
)
from jurist.leaderboard.battles import style_features
from jurist.outcomes import Preference
from jurist.types import ErrorInfo, Item

from .helpers import user_text

NO_CACHE = JobOptions(cache=False)
WORDS = ["alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta", "iota", "kappa", "lambda", "mu"]


def _shown(request: GenerateRequest) -> tuple[str, str]:
    """The two answers a pairwise prompt shows, first then second."""
    text = user_text(request)
    first = text.split("# Response A\n", 1)[1].split("\n\n# Response B\n", 1)[0]
    second = text.split("# Response B\n", 1)[1].rsplit("\n\nAnswer with", 1)[0]
    return first, second


def _pairwise_judge(prefers_first: Callable[[str, str], bool]) -> FakeBackend:
    return FakeBackend(lambda r: json.dumps({"winner": "A" if prefers_first(*_shown(r)) else "B"}))


def _data(systems: dict[str, dict[str, str]], prompts: dict[str, str] | None = None) -> ArenaData:
    prompts = prompts or {p: f"Question {p}?" for answers in systems.values() for p in answers}
    return ArenaData(prompts=prompts, outputs=systems, sources=dict.fromkeys(systems, "test"))


def _answers(tag: str, n: int, seed: int) -> dict[str, str]:
    """n answers of 4 to 30 words; `tag` marks whose they are, so a scripted judge can tell."""
    rng = random.Random(seed)
    return {f"q{i}": f"{tag} " + " ".join(rng.choice(WORDS) for _ in range(rng.randint(4, 30))) for i in range(n)}


def _write_jsonl(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def _arena(data: ArenaData, out: Path, backend: FakeBackend, **options: Any) -> ArenaReport:
    options.setdefault("n_bootstrap", 20)
    return run_arena(data, out=out, arena=ArenaOptions(**options), model=backend, options=NO_CACHE)


def _row(report: ArenaReport, system: str) -> Any:
    return next(r for r in report.rows if r.system == system)


# -- the gaming checks ------------------------------------------------------------------------------------------


def test_a_length_loving_judge_lifts_the_verbose_copy_in_raw_scores_far_more_than_with_style_control(
    tmp_path: Path,
) -> None:
    # The judge's log-odds for an answer: its system's quality plus 1.5 x log of the length ratio. The verbose copy
    # has plain's quality; only its padding makes it longer.
    quality = {"good": 1.0, "plain": 0.0}

    def prefers_first(first: str, second: str) -> bool:
        def strength(text: str) -> float:
            core = text.split("\n\n")[1] if text.startswith(VERBOSE_OPENING) else text
            return quality[core.split()[0]] + 1.5 * math.log(len(text.split()))

        p_first = 1 / (1 + math.exp(strength(second) - strength(first)))
        # The same draw in both presentation orders, so position does not matter to this judge.
        u = zlib.crc32("|".join(sorted((first, second))).encode()) / 2**32
        return u < p_first if first < second else u >= 1 - p_first

    data = _data({"good": _answers("good", 40, 1), "plain": _answers("plain", 40, 2)})
    data = with_verbose_variant(data, "plain")
    report = _arena(data, tmp_path / "arena", _pairwise_judge(prefers_first))
    assert report.decided == report.scheduled == 3 * 40
    verbose, plain = _row(report, "plain-verbose"), _row(report, "plain")
    raw_gain = verbose.bt_score - plain.bt_score
    controlled_gain = verbose.style_score - plain.style_score
    assert raw_gain > 150
    assert abs(controlled_gain) < raw_gain / 2
    assert report.style_controlled is not None and report.style_controlled.feature_coefs["length"] > 0


def test_the_null_model_answers_every_prompt_alike_and_the_verbose_copy_adds_only_length() -> None:
    data = with_null_model(_data({"x": {"q1": "**Yes.**\n- one"}, "y": {"q1": "No."}}))
    assert data.outputs[NULL_MODEL] == {"q1": NULL_REFUSAL}
    padded = pad_verbosely("**Yes.**\n- one")
    assert "**Yes.**\n- one" in padded
    before, after = style_features("**Yes.**\n- one"), style_features(padded)
    assert after["length"] > before["length"] + 30
    assert {k: after[k] for k in ("headers", "bold", "list_items")} == {
        k: before[k] for k in ("headers", "bold", "list_items")
    }
    with pytest.raises(ConfigError, match="not one of the systems"):
        with_verbose_variant(data, "z")
    with pytest.raises(ConfigError, match="already named"):
        with_null_model(data)


# -- schedules, battles and outputs ----------------------------------------------------------------------------


def test_baseline_schedule_judges_everyone_against_the_baseline_and_writes_the_outputs(tmp_path: Path) -> None:
    # The judge prefers "strong" to anything, and anything to the refusal.
    def prefers_first(first: str, second: str) -> bool:
        rank = {"strong": 2, "base": 1, NULL_REFUSAL.split()[0]: 0}
        return rank[first.split()[0]] > rank[second.split()[0]]

    data = with_null_model(_data({"base": _answers("base", 6, 3), "strong": _answers("strong", 6, 4)}))
    out = tmp_path / "arena"
    report = _arena(data, out, _pairwise_judge(prefers_first), schedule="baseline", baseline="base")
    assert report.scheduled == 2 * 6  # two systems against the baseline on six prompts
    assert [r.system for r in report.rows] == ["strong", "base", NULL_MODEL]
    assert _row(report, "base").bt_score == pytest.approx(1000.0)
    assert _row(report, "strong").win_rate == pytest.approx(100.0)
    assert _row(report, NULL_MODEL).win_rate == pytest.approx(0.0)
    assert _row(report, "strong").battles == 6
    verdicts = [json.loads(line) for line in (out / "battles-run" / "verdicts.jsonl").read_text().splitlines()]
    assert {v["metadata"]["model_a"] for v in verdicts} | {v["metadata"]["model_b"] for v in verdicts} == {
        "base",
        "strong",
        NULL_MODEL,
    }
    one = verdicts[0]
    assert one["id"] == f"{one['metadata']['prompt_id']}:{one['metadata']['model_a']}:{one['metadata']['model_b']}"
    battles = (out / "battles.jsonl").read_text().splitlines()
    assert len(battles) == 12
    assert (out / "leaderboard.csv").read_text().splitlines()[0].startswith("system,rank,bt_score")
    matrix = (out / "win_matrix.csv").read_text().splitlines()
    assert matrix[0] == "model,base,null-model,strong"
    saved = json.loads((out / "arena.json").read_text())  # strict JSON: no NaN
    assert saved["baseline"] == "base" and len(saved["rows"]) == 3


def test_failed_verdicts_are_counted_and_never_become_ties(tmp_path: Path) -> None:
    def script(request: GenerateRequest) -> str:
        first, second = _shown(request)
        if "q0" in user_text(request).split("# Response A")[0]:
            return "I would rather not say."  # no verdict in it: a parse failure
        return json.dumps({"winner": "A" if len(first) > len(second) else "B"})

    prompts = {f"q{i}": f"Question q{i}?" for i in range(4)}
    data = _data({s: _answers(s, 4, k) for k, s in enumerate(("a", "b", "c"))}, prompts)
    out = tmp_path / "arena"
    report = _arena(data, out, FakeBackend(script))
    assert report.failed == {"parse_failure": 3}  # the three pairs on q0
    assert report.decided == report.scheduled - 3 == 9
    battles = [json.loads(line) for line in (out / "battles.jsonl").read_text().splitlines()]
    assert all(b["prompt_id"] != "q0" for b in battles) and all(b["winner"] != "tie" for b in battles)


def test_a_verdict_becomes_a_battle_with_the_probability_that_b_wins() -> None:
    item = Item(
        id="p:x:y",
        prompt="?",
        response_a="short",
        response_b="## Long\n- **yes**",
        metadata={"prompt_id": "p", "model_a": "x", "model_b": "y"},
    )
    verdict = Verdict(
        id="p:x:y", mode="pairwise", outcome=Preference(winner="B", probs={"A": 0.2, "B": 0.7, "tie": 0.1})
    )
    battle = to_battle(item, verdict)
    assert battle is not None
    assert (battle.model_a, battle.model_b, battle.winner) == ("x", "y", "B")
    assert battle.preference == pytest.approx(0.75)  # a tie counts half
    assert battle.features_b["headers"] == 1 and battle.features_b["bold"] == 1
    no_probs = to_battle(item, Verdict(id="p:x:y", mode="pairwise", outcome=Preference(winner="A")))
    assert no_probs is not None and no_probs.preference is None
    failed = Verdict(id="p:x:y", mode="pairwise", error=ErrorInfo(reason="timeout", message="slow"))
    assert to_battle(item, failed) is None
    assert to_battle(item, Verdict(id="p:x:y", mode="pairwise", flagged=True)) is None


def test_a_second_run_resumes_without_a_call(tmp_path: Path) -> None:
    data = _data({s: _answers(s, 3, k) for k, s in enumerate(("a", "b", "c"))})
    out = tmp_path / "arena"
    first = _pairwise_judge(lambda x, y: len(x) > len(y))
    report = _arena(data, out, first)
    assert len(first.requests) == 2 * report.scheduled  # both orders of every battle
    again = _pairwise_judge(lambda x, y: len(x) > len(y))
    resumed = _arena(data, out, again)
    assert again.requests == []
    assert [r.model_dump() for r in resumed.rows] == [r.model_dump() for r in report.rows]


def test_the_adaptive_schedule_stops_once_the_ranking_is_settled_and_resumes(tmp_path: Path) -> None:
    quality = {"a": 2, "b": 1, "c": 0}
    data = _data({s: _answers(s, 12, k) for k, s in enumerate(quality)})

    def prefers_first(first: str, second: str) -> bool:
        return quality[first.split()[0]] > quality[second.split()[0]]

    out = tmp_path / "arena"
    report = _arena(data, out, _pairwise_judge(prefers_first), schedule="adaptive", budget=30, round_size=6)
    # A judge this decisive orders the three systems beyond doubt after one round: the budget is not spent.
    assert report.settled is True and report.rounds == 1 and report.scheduled == 6
    assert [r.system for r in report.rows] == ["a", "b", "c"]
    again = _pairwise_judge(prefers_first)
    resumed = _arena(data, out, again, schedule="adaptive", budget=30, round_size=6)
    assert again.requests == [] and resumed.scheduled == report.scheduled


def test_the_adaptive_schedule_spends_no_more_than_its_budget(tmp_path: Path) -> None:
    # A judge that calls every battle a tie never settles the ranking.
    data = _data({s: _answers(s, 12, k) for k, s in enumerate(("a", "b", "c"))})
    judge = FakeBackend(json.dumps({"winner": "tie"}))
    report = _arena(data, tmp_path / "arena", judge, schedule="adaptive", budget=10, round_size=4)
    assert report.settled is False and report.rounds == 3 and report.scheduled == 10
    assert len(judge.requests) == 2 * 10


def test_overwrite_discards_the_old_run_once_and_keeps_every_round(tmp_path: Path) -> None:
    data = _data({s: _answers(s, 6, k) for k, s in enumerate(("a", "b", "c"))})
    out = tmp_path / "arena"
    _arena(data, out, _pairwise_judge(lambda x, y: len(x) > len(y)))
    job = JobOptions(cache=False, run={"overwrite": True})
    report = run_arena(
        data,
        out=out,
        arena=ArenaOptions(schedule="adaptive", budget=6, round_size=3, n_bootstrap=10),
        config=JudgeConfig(mode="pairwise", swap=False),
        model=_pairwise_judge(lambda x, y: len(x) < len(y)),
        options=job,
    )
    ids = {json.loads(line)["id"] for line in (out / "battles-run" / "verdicts.jsonl").read_text().splitlines()}
    assert report.rounds == 2 and len(ids) == report.scheduled == report.decided == 6


def test_pointwise_mode_ranks_by_mean_score(tmp_path: Path) -> None:
    scores = {"good": "5", "fair": "3", "poor": "1"}

    def script(request: GenerateRequest) -> str:
        answer = user_text(request).split("# Response\n", 1)[1]
        return json.dumps({"score": scores[answer.split()[0]]})

    data = _data({s: _answers(s, 5, k) for k, s in enumerate(scores)})
    report = _arena(data, tmp_path / "arena", FakeBackend(script), mode="pointwise")
    assert [(r.system, r.mean_score) for r in report.rows] == [("good", 5.0), ("fair", 3.0), ("poor", 1.0)]
    assert report.run_dir.endswith("scores-run") and report.scheduled == 15


# -- input checks ------------------------------------------------------------------------------------------------


def test_missing_answers_are_left_out_of_that_systems_battles_and_reported(tmp_path: Path) -> None:
    data = _data({"a": _answers("a", 4, 1), "b": {k: v for k, v in _answers("b", 4, 2).items() if k != "q3"}})
    warnings = check_arena(data, ArenaOptions())
    assert len(warnings) == 1 and "'b' has no answer for 1 of 4 prompts (q3)" in warnings[0]
    report = _arena(data, tmp_path / "arena", _pairwise_judge(lambda x, y: len(x) > len(y)))
    assert report.scheduled == 3 and report.left_out == {"a": 1, "b": 1}
    assert _row(report, "b").missing_prompts == 1 and report.warnings == warnings


@pytest.mark.parametrize(
    ("systems", "options", "message"),
    [
        ({"a": {"q": "x"}}, {}, "at least 2 systems"),
        ({"a": {"q": "x"}, "b": {"q": "y"}}, {"baseline": "c"}, "baseline 'c' is not one of the systems: a, b"),
        ({"a": {"q": "x"}, "b": {"q": "y"}}, {"schedule": "baseline"}, "needs --baseline"),
        ({"a": {"q": "x"}, "b": {"q": "y"}}, {"schedule": "adaptive"}, "needs --budget"),
        ({"a": {"q": "x"}, "b": {"q": "y"}}, {"budget": 5}, "only to --schedule adaptive"),
    ],
)
def test_settings_that_cannot_work_are_refused(systems: Any, options: Any, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        check_arena(_data(systems), ArenaOptions(**options))


def test_system_files_are_checked_row_by_row(tmp_path: Path) -> None:
    good = _write_jsonl(tmp_path / "a.jsonl", [{"id": "q1", "prompt": "Hi?", "output": "Hello."}])
    other = _write_jsonl(tmp_path / "b.jsonl", [{"prompt_id": "q1", "instruction": "Hi?", "response": "Hey."}])
    data = load_systems([("a", good), ("b", other)])
    assert data.prompts == {"q1": "Hi?"} and data.outputs["b"] == {"q1": "Hey."}
    with pytest.raises(ConfigError, match="system 'a' is given twice"):
        load_systems([("a", good), ("a", other)])
    changed = _write_jsonl(tmp_path / "c.jsonl", [{"id": "q1", "prompt": "Bye?", "output": "x"}])
    with pytest.raises(InputError, match="different text") as found:
        load_systems([("a", good), ("c", changed)])
    assert found.value.file == str(changed) and found.value.line == 1
    no_answer = _write_jsonl(
        tmp_path / "d.jsonl", [{"id": "q1", "prompt": "Hi?", "output": "x"}, {"id": "q2", "prompt": "?"}]
    )
    with pytest.raises(InputError, match="no answer for prompt 'q2'") as found:
        load_systems([("d", no_answer)])
    assert found.value.line == 2
    with pytest.raises(ConfigError, match="not NAME=PATH"):
        parse_system_spec("just-a-path.jsonl")


def test_answers_without_ids_are_matched_by_prompt_text(tmp_path: Path) -> None:
    a = _write_jsonl(
        tmp_path / "a.jsonl", [{"instruction": "Hi?", "output": "1"}, {"instruction": "Yo?", "output": "2"}]
    )
    b = _write_jsonl(
        tmp_path / "b.jsonl", [{"instruction": "Yo?", "output": "3"}, {"instruction": "Hi?", "output": "4"}]
    )
    data = load_systems([("a", a), ("b", b)])
    assert len(data.prompts) == 2 and not data.missing()
    hi = next(p for p, text in data.prompts.items() if text == "Hi?")
    assert (data.outputs["a"][hi], data.outputs["b"][hi]) == ("1", "4")


def test_a_long_table_names_the_system_of_each_row(tmp_path: Path) -> None:
    table = tmp_path / "t.csv"
    table.write_text("prompt_id,prompt,system,output\nq1,Hi?,a,Hello\nq1,Hi?,b,Hey\nq2,Yo?,a,Yes\n")
    data = load_table(table)
    assert data.systems == ["a", "b"] and data.missing() == {"b": ["q2"]}
    table.write_text("prompt_id,prompt,system,output\nq1,Hi?,a,Hello\nq1,Hi?,a,Again\n")
    with pytest.raises(InputError, match="answers prompt 'q1' twice") as found:
        load_table(table)
    assert found.value.line == 3
    table.write_text("prompt_id,prompt,output\nq1,Hi?,Hello\n")
    with pytest.raises(InputError, match="no system name"):
        load_table(table)


def test_the_cli_refuses_bad_input_before_any_call(tmp_path: Path) -> None:
    a = _write_jsonl(tmp_path / "a.jsonl", [{"id": "q1", "prompt": "Hi?", "output": "Hello."}])
    offline = ["--model", "openai:x", "--base-url", "http://127.0.0.1:9", "--no-cache", "--out", str(tmp_path / "o")]
    for extra, needle in [
        (["--system", f"a={a}"], "at least 2 systems"),
        (["--system", f"a={a}", "--system", f"a={a}"], "given twice"),
        (["--system", f"a={a}", "--system", f"b={a}", "--baseline", "zz"], "baseline 'zz'"),
        ([], "either as --system"),
    ]:
        result = CliRunner().invoke(main, ["arena", *offline, *extra])
        assert result.exit_code == 2, result.output
        assert needle in result.output and "Traceback" not in result.output
    assert not (tmp_path / "o").exists()


def test_against_a_baseline_the_length_controlled_win_rate_takes_back_what_length_bought(tmp_path: Path) -> None:
    # A judge that prefers the longer answer, whatever it says. `wordy` answers are longer than the baseline's on
    # most prompts but not all, so the length term can be told from the system's own strength: its raw win rate
    # is far from 50%, its length-controlled one much closer.
    def prefers_first(first: str, second: str) -> bool:
        return len(first) > len(second) or (len(first) == len(second) and first < second)

    rng = random.Random(7)
    wordy = {f"q{i}": "wordy " + " ".join(rng.choice(WORDS) for _ in range(rng.randint(12, 40))) for i in range(40)}
    systems = {"base": _answers("base", 40, 3), "wordy": wordy, "other": _answers("other", 40, 5)}
    report = _arena(
        _data(systems), tmp_path / "arena", _pairwise_judge(prefers_first), schedule="baseline", baseline="base"
    )
    row = _row(report, "wordy")
    assert row.win_rate is not None and row.lc_win_rate is not None
    assert row.win_rate > 65
    assert abs(row.lc_win_rate - 50) < (row.win_rate - 50) / 2
    assert _row(report, "base").lc_win_rate is None
