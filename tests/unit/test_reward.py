"""Rewards for N candidates (jurist.areward / jurist reward) against the scripted fake backend: each mode, the
normalisations and the length penalty by hand, failures kept as failures, resume after an interrupt, N < 2; and the
best-of-N selector metrics on a hand-made set."""

from __future__ import annotations

import json
import math
import re

import pytest
from click.testing import CliRunner

import jurist
from jurist import BackendError, ConfigError, FakeBackend, InputError, JobOptions, JudgeConfig, RunOptions
from jurist.alignment.reward import RewardSettings, knockout_groups, shape
from jurist.alignment.selection import longest_picks, oracle_quality, pick_quality, random_pick_quality
from jurist.cli import main
from jurist.data.load import LoadedData
from jurist.types import Item

from .helpers import logprob_capable, run, user_text, with_logprobs

NO_CACHE = JobOptions(cache=False)
# the quality of a candidate is written in its text: "q7 ..." is worth 7
ITEMS = [
    {"id": "a", "prompt": "first question", "responses": ["q2 ok", "q5 a longer answer", "q3 mid"], "reference": "q4"},
    {"id": "b", "prompt": "second question", "responses": ["q1 no", "q4 yes"], "reference": "q4"},
]


def quality(text: str) -> int:
    return int(re.search(r"q(\d)", text).group(1))  # type: ignore[union-attr]


def score_script(request):
    response = user_text(request).split("# Response\n", 1)[1]
    return json.dumps({"score": str(quality(response))})


def shown(request) -> tuple[str, str]:
    """The texts shown as A and B (the quality markers, in order of appearance after the question)."""
    text = user_text(request)
    found = re.findall(r"q\d[^\n]*", text)
    return found[0], found[1]


def pair_script(request):
    """Prefers the higher quality; equal quality is a tie."""
    a, b = shown(request)
    winner = "A" if quality(a) > quality(b) else "B" if quality(b) > quality(a) else "tie"
    return json.dumps({"winner": winner})


def rows_of(result) -> dict[tuple[str, int], jurist.alignment.reward.RewardRow]:
    return {(r.id, r.candidate): r for r in result.rows}


# -- modes -----------------------------------------------------------------------------------------------------------


def test_score_mode_rewards_each_candidate_by_its_score(tmp_path):
    result = jurist.reward(ITEMS, out=tmp_path / "run", model=FakeBackend(score_script), options=NO_CACHE)
    rows = rows_of(result)
    assert [rows["a", k].raw for k in range(3)] == [2.0, 5.0, 3.0]
    assert [rows["a", k].rank for k in range(3)] == [3, 1, 2]
    assert [rows["a", k].best for k in range(3)] == [False, True, False]
    assert result.best() == {"a": 1, "b": 1}
    assert result.calls == 5 and result.calls_per_item == 2.5 and result.failed == 0
    table = [json.loads(line) for line in (tmp_path / "run" / "rewards.jsonl").read_text().splitlines()]
    assert [(r["id"], r["candidate"], r["reward"]) for r in table] == [
        ("a", 0, 2.0),
        ("a", 1, 5.0),
        ("a", 2, 3.0),
        ("b", 0, 1.0),
        ("b", 1, 4.0),
    ]
    assert table[1]["response"] == "q5 a longer answer" and table[1]["length"] == len("q5 a longer answer")
    config = json.loads((tmp_path / "run" / "config.json").read_text())
    assert config["reward"]["mode"] == "score" and config["judge"]["config"]["mode"] == "pointwise"
    assert sorted(v.id for v in jurist.open_run(tmp_path / "run").verdicts()) == ["a#0", "a#1", "a#2", "b#0", "b#1"]


def test_score_mode_takes_the_expected_score_where_there_are_logprobs(tmp_path):
    text = '{"score": "4", "rationale": "fine"}'
    backend = FakeBackend(
        [with_logprobs(text, "4", {"3": 0.5, "4": 0.5})], capabilities=logprob_capable(max_concurrency=1)
    )
    result = jurist.reward([ITEMS[1]], out=tmp_path / "run", model=backend, options=NO_CACHE)
    assert [r.raw for r in result.rows] == [pytest.approx(3.5), pytest.approx(3.5)]


def test_baseline_mode_rewards_p_candidate_beats_the_baseline(tmp_path):
    result = jurist.reward(
        ITEMS, out=tmp_path / "run", mode="baseline", model=FakeBackend(pair_script), options=NO_CACHE
    )
    rows = rows_of(result)
    # against q4: q2 loses (0), q5 wins (1), q3 loses; q1 loses, q4 ties (1/2)
    assert [rows["a", k].raw for k in range(3)] == [0.0, 1.0, 0.0]
    assert [rows["b", k].raw for k in range(2)] == [0.0, 0.5]
    assert [rows["a", k].rank for k in range(3)] == [2, 1, 2]  # equal rewards share a rank
    assert result.calls == 10  # both orders of each of the 5 candidates
    (verdict,) = [v for v in jurist.open_run(tmp_path / "run").verdicts() if v.id == "a#1"]
    assert verdict.item.response_a == "q5 a longer answer" and verdict.item.response_b == "q4"
    assert verdict.item.reference is None  # the baseline is the opponent, not a reference answer


def test_baseline_mode_needs_a_baseline_and_names_the_line(tmp_path):
    data = tmp_path / "c.jsonl"
    data.write_text("".join(json.dumps({k: v for k, v in it.items() if k != "reference"}) + "\n" for it in ITEMS))
    with pytest.raises(InputError, match="no baseline response") as caught:
        jurist.reward(data, out=tmp_path / "run", mode="baseline", model=FakeBackend(pair_script), options=NO_CACHE)
    assert caught.value.line == 1 and caught.value.field == "reference"


@pytest.mark.parametrize("swap", [True, False])
def test_tournament_knockout_finds_the_best_with_fewer_than_n_squared_calls(tmp_path, swap):
    responses = [f"q{q} candidate {k}" for k, q in enumerate([3, 7, 1, 5, 2])]
    backend = FakeBackend(pair_script)
    result = jurist.reward(
        [{"id": "x", "prompt": "pick one", "responses": responses}],
        out=tmp_path / "run",
        mode="tournament",
        config=JudgeConfig(mode="pairwise", swap=swap),
        model=backend,
        options=NO_CACHE,
    )
    rows = rows_of(result)
    assert result.best() == {"x": 1}
    # 5 candidates: the winner, the final's loser, the loser of round 2, then round 1's two losers (tied)
    assert knockout_groups(5) == [1, 1, 1, 2]
    # bracket (0 v 1, 2 v 3, 4 a bye), (1 v 3, 4 a bye), (1 v 4): q2 reaches the final on byes; knockout finds the
    # best for sure and places the rest only by the round they lost in
    assert [rows["x", k].raw for k in range(5)] == [0.25, 1.0, 0.25, 0.5, 0.75]
    assert sorted(r.raw for r in result.rows) == [0.25, 0.25, 0.5, 0.75, 1.0]
    assert sorted(r.rank for r in result.rows) == [1, 2, 3, 4, 4]
    assert len(backend.requests) == result.calls < 5 * 5
    assert len(backend.requests) == 4 * (2 if swap else 1)  # N - 1 matches, none close enough to ask again


def test_tournament_adaptive_and_sort_give_every_place_its_reward(tmp_path):
    responses = ["q2 a", "q6 b", "q4 c", "q8 d"]
    for method in ("sort", "adaptive"):
        result = jurist.reward(
            [{"id": "x", "prompt": "order these", "responses": responses}],
            out=tmp_path / method,
            mode="tournament",
            rank_by=method,
            model=FakeBackend(pair_script),
            options=NO_CACHE,
        )
        assert [r.raw for r in result.rows] == pytest.approx([0.0, 2 / 3, 1 / 3, 1.0]), method
        assert [r.rank for r in result.rows] == [4, 2, 3, 1]


def test_knockout_groups() -> None:
    assert knockout_groups(2) == [1, 1]
    assert knockout_groups(4) == [1, 1, 2]
    assert knockout_groups(8) == [1, 1, 2, 4]
    assert knockout_groups(6) == [1, 1, 1, 3]  # 6 -> 3 (3 out) -> 2 (1 out, a bye) -> 1
    assert sum(knockout_groups(13)) == 13


# -- shaping: normalisation and the length penalty ---------------------------------------------------------------


def test_zscore_and_rank_normalisation_by_hand():
    raw, lengths = [2.0, 5.0, 3.0], [10, 10, 10]
    mean, sd = 10 / 3, math.sqrt(((2 - 10 / 3) ** 2 + (5 - 10 / 3) ** 2 + (3 - 10 / 3) ** 2) / 3)
    z = shape(raw, lengths, RewardSettings(normalise="zscore"))
    assert z == pytest.approx([(2 - mean) / sd, (5 - mean) / sd, (3 - mean) / sd])
    assert z == pytest.approx([-1.0690450, 1.3363062, -0.2672612])  # sd = sqrt(42 / 27)
    assert shape(raw, lengths, RewardSettings(normalise="rank")) == pytest.approx([0.0, 1.0, 0.5])
    # ties share their mean place: [1, 1, 0] has places 1.5, 1.5, 3 of 3
    assert shape([1.0, 1.0, 0.0], lengths, RewardSettings(normalise="rank")) == pytest.approx([0.75, 0.75, 0.0])
    assert shape([4.0, 4.0], [1, 1], RewardSettings(normalise="zscore")) == [0.0, 0.0]  # no spread: no signal
    assert shape([4.0], [1], RewardSettings(normalise="rank")) == [0.5]
    assert shape(raw, lengths, RewardSettings()) == raw


def test_length_penalty_by_hand():
    # lengths 10, 20, 30: standardised -1.2247, 0, 1.2247 (population sd 8.165)
    penalised = shape([1.0, 1.0, 1.0], [10, 20, 30], RewardSettings(length_penalty=0.5))
    assert penalised == pytest.approx([1 + 0.5 * 1.2247449, 1.0, 1 - 0.5 * 1.2247449])
    # the penalty comes before normalising: the shortest now ranks first
    ranked = shape([1.0, 1.0, 1.0], [10, 20, 30], RewardSettings(length_penalty=0.5, normalise="rank"))
    assert ranked == pytest.approx([1.0, 0.5, 0.0])


def test_normalisation_through_a_run(tmp_path):
    result = jurist.reward(
        ITEMS, out=tmp_path / "run", model=FakeBackend(score_script), normalise="rank", options=NO_CACHE
    )
    rows = rows_of(result)
    assert [rows["a", k].reward for k in range(3)] == [0.0, 1.0, 0.5]
    assert [rows["a", k].raw for k in range(3)] == [2.0, 5.0, 3.0]
    assert json.loads((tmp_path / "run" / "config.json").read_text())["reward"]["normalise"] == "rank"


# -- failures ----------------------------------------------------------------------------------------------------


def test_a_failed_candidate_has_no_reward_and_is_left_out_of_its_prompt(tmp_path):
    def script(request):
        if "q5" in user_text(request):
            return "I will not rate this."
        return score_script(request)

    result = jurist.reward(ITEMS, out=tmp_path / "run", model=FakeBackend(script), normalise="zscore", options=NO_CACHE)
    rows = rows_of(result)
    failed = rows["a", 1]
    assert failed.reward is None and failed.raw is None and failed.rank is None and not failed.best
    assert failed.error is not None and failed.error.startswith("parse_failure")
    assert [rows["a", 0].reward, rows["a", 2].reward] == pytest.approx([-1.0, 1.0])  # z over the two judged
    assert result.best()["a"] == 2 and result.failed == 1
    line = json.loads((tmp_path / "run" / "rewards.jsonl").read_text().splitlines()[1])
    assert line["reward"] is None and line["error"]


def test_resume_after_an_interrupt_judges_only_what_is_missing(tmp_path):
    out = tmp_path / "run"
    options = JobOptions(cache=False, run=RunOptions(concurrency=1))

    def dies_at_b(request):
        if "q1 no" in user_text(request):
            return BackendError("HTTP 401: bad key", status=401, fatal=True, reason="auth")
        return score_script(request)

    with pytest.raises(BackendError):
        jurist.reward(ITEMS, out=out, model=FakeBackend(dies_at_b), options=options)
    assert not (out / "rewards.jsonl").exists()
    again = FakeBackend(score_script)
    result = jurist.reward(ITEMS, out=out, model=again, options=options)
    assert len(again.requests) == 2  # b's two candidates; a's three were judged before the interrupt
    assert result.run is not None and result.run.skipped == 3
    assert [r.raw for r in result.rows] == [2.0, 5.0, 3.0, 1.0, 4.0]
    assert result.calls == 5  # every session's calls behind the table


def test_another_reward_mode_in_the_same_directory_is_refused(tmp_path):
    jurist.reward(ITEMS, out=tmp_path / "run", model=FakeBackend(score_script), options=NO_CACHE)
    with pytest.raises(ConfigError, match="other settings"):
        jurist.reward(ITEMS, out=tmp_path / "run", mode="baseline", model=FakeBackend(pair_script), options=NO_CACHE)


# -- bad input ---------------------------------------------------------------------------------------------------


def test_fewer_than_two_candidates_is_an_error_naming_the_item(tmp_path):
    data = tmp_path / "c.jsonl"
    data.write_text(json.dumps(ITEMS[0]) + "\n" + json.dumps({"id": "c", "prompt": "p", "responses": ["one"]}) + "\n")
    with pytest.raises(InputError, match="at least two") as caught:
        jurist.reward(data, out=tmp_path / "run", model=FakeBackend(score_script), options=NO_CACHE)
    assert caught.value.line == 2
    # data loaded elsewhere (not through the listwise loader) gets the same check
    loaded = LoadedData(path="mine.jsonl", items=[Item(id="c", prompt="p", responses=["one"])], lines={"c": 7})
    with pytest.raises(InputError, match="item 'c' has 1 candidate") as caught:
        jurist.reward(loaded, out=tmp_path / "run", model=FakeBackend(score_script), options=NO_CACHE)
    assert caught.value.line == 7 and caught.value.field == "responses"
    assert not (tmp_path / "run").exists()


def test_the_cli_refuses_fewer_than_two_candidates_with_exit_2(tmp_path):
    data = tmp_path / "c.jsonl"
    data.write_text(json.dumps({"id": "c", "prompt": "p", "responses": ["one"]}) + "\n")
    result = CliRunner().invoke(main, ["reward", str(data), "--out", str(tmp_path / "run")])
    assert result.exit_code == 2
    assert "c.jsonl:1" in result.output and "responses" in result.output and "Traceback" not in result.output


def test_options_that_do_not_fit_the_mode_are_refused(tmp_path):
    with pytest.raises(ConfigError, match="mode='tournament'"):
        jurist.reward(ITEMS, out=tmp_path / "r", rank_by="sort", model=FakeBackend(score_script), options=NO_CACHE)
    with pytest.raises(ConfigError, match="judges pointwise"):
        jurist.reward(
            ITEMS, out=tmp_path / "r", config=JudgeConfig(mode="pairwise"), model=FakeBackend("x"), options=NO_CACHE
        )
    result = CliRunner().invoke(main, ["reward", "x.jsonl", "--out", str(tmp_path / "r"), "--rank-by", "sort"])
    assert result.exit_code == 2 and "--rank-by is ignored without --reward-mode tournament" in result.output


def test_the_async_twin(tmp_path):
    result = run(jurist.areward(ITEMS, out=tmp_path / "run", model=FakeBackend(score_script), options=NO_CACHE))
    assert result.best() == {"a": 1, "b": 1}


# -- best-of-N selector metrics, by hand ---------------------------------------------------------------------------

# three instructions, recorded qualities of their candidates
WINS = [[0.0, 1.0, 0.5], [0.2, 0.2, 0.8], [1.0, 0.0, 0.0]]
TEXTS = [["a", "bbb", "cc"], ["dddd", "e", "ff"], ["g", "hh", "ii"]]


def test_selector_metrics_on_a_hand_made_set():
    # random: mean of (0.5, 0.4, 1/3) = 1.2333.../3
    assert random_pick_quality(WINS) == pytest.approx((0.5 + 0.4 + 1 / 3) / 3)
    assert oracle_quality(WINS) == pytest.approx((1.0 + 0.8 + 1.0) / 3)
    # the longest: bbb (1.0), dddd (0.2), hh before the equally long ii (0.0)
    picks = longest_picks(TEXTS)
    assert picks == [1, 0, 1]
    assert pick_quality(WINS, picks) == pytest.approx(1.2 / 3)
    assert pick_quality(WINS, [2, 2, 0]) == pytest.approx((0.5 + 0.8 + 1.0) / 3)
    with pytest.raises(ConfigError):
        pick_quality(WINS, [0, 0])
