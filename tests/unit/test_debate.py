"""Multi-agent strategies (debate, peer discussion) driven by scripted backends: the turns each judge sees, the
transcript, the vote, agreement after discussion, failures, configuration errors, fingerprints and a full run."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

import jurist
from jurist import BackendError, ConfigError, FakeBackend, GenerateRequest, Item, JudgeConfig, make_judge
from jurist.judges.base import LLMJudge, judge_item
from jurist.strategies import Debate, Jury, PeerDiscussion

from .helpers import first_shown, run, user_text

PAIR = Item(id="q1", prompt="Name a prime.", response_a="Seven.", response_b="Nine.", label="A")
POINT = Item(id="p1", prompt="Name a prime.", response="Seven.", label=4)
NO_CACHE = jurist.JobOptions(cache=False)
ITEM_TEXT = {"A": "Seven.", "B": "Nine."}


def kind(request: GenerateRequest) -> str:
    """Which turn a request is: an argument, a final debate verdict, a discussion turn, or a first verdict."""
    text = user_text(request)
    if "of the debate. Do not answer" in text:
        return "argue"
    if "The debate is over" in text:
        return "final"
    if "discussing this case with another judge" in text:
        return "discuss"
    return "initial"


def pair_answer(request: GenerateRequest, winner: str, why: str) -> str:
    """A JSON answer preferring item response `winner` (A/B of the item, whatever order the prompt shows)."""
    if winner in ("A", "B") and kind(request) == "initial":
        shown = first_shown(request, "Seven.", "Nine.")
        winner = "A" if shown == ITEM_TEXT[winner] else "B"
    return json.dumps({"winner": winner, "rationale": why})


def debater(argue: list[str], final: str, **config: object) -> LLMJudge:
    """A pairwise debater: its argument in round r ends with [[argue[r-1]]]; its final answer is `final`."""
    said = iter(argue)

    def script(request: GenerateRequest) -> str:
        if kind(request) == "argue":
            return f"Argument for {(stance := next(said))}.\nCurrent verdict: [[{stance}]]"
        return pair_answer(request, final, f"final {final}")

    return make_judge(FakeBackend(script), JudgeConfig(mode="pairwise", **config))  # type: ignore[arg-type]


def peer(initial: str, discussed: list[str] | None = None, mode: str = "pairwise", **config: object) -> LLMJudge:
    """A judge answering `initial` at first and the next of `discussed` at each discussion turn."""
    later = iter(discussed or [])
    field = "winner" if mode == "pairwise" else "score"

    def script(request: GenerateRequest) -> str:
        if kind(request) == "discuss":
            answer = next(later)
            return json.dumps({field: answer, "rationale": f"on reflection {answer}"})
        if mode == "pairwise":
            return pair_answer(request, initial, f"first {initial}")
        return json.dumps({field: initial, "rationale": f"first {initial}"})

    return make_judge(FakeBackend(script), JudgeConfig(mode=mode, **config))  # type: ignore[arg-type]


def requests_of(judge: LLMJudge) -> list[GenerateRequest]:
    backend = judge.backend
    assert isinstance(backend, FakeBackend)
    return backend.requests


# -- debate -------------------------------------------------------------------------------------------------------


def test_debate_rounds_share_the_arguments_and_the_final_verdicts_are_voted():
    judges = [
        debater(["A", "A"], "A", temperature=0.3, seed=7),
        debater(["B", "A"], "A"),
        debater(["B", "B"], "B"),
    ]
    debate = Debate(judges, rounds=2)
    verdict = run(judge_item(debate, PAIR))  # stamped, as the engine stamps it

    assert verdict.ok and verdict.outcome.winner == "A"
    s = verdict.strategy
    assert s is not None and s["name"] == "debate" and s["rounds"] == 2 and s["vote"] == "majority"
    assert s["votes"] == {"A": 2.0, "B": 1.0} and s["agreement"] == pytest.approx(2 / 3)
    assert s["failed"] == []
    # the transcript: every debater each round, in order, with its role and the verdict its argument ended with
    assert [(t["round"], t["debater"], t["verdict"]) for t in s["transcript"]] == [
        (1, 0, "A"),
        (1, 1, "B"),
        (1, 2, "B"),
        (2, 0, "A"),
        (2, 1, "A"),
        (2, 2, "B"),
    ]
    assert [t["role"] for t in s["transcript"][:3]] == debate.roles
    assert debate.roles[0].startswith("critic") and debate.roles[2].startswith("fact checker")
    assert [d["winner"] for d in s["debaters"]] == ["A", "A", "B"]
    assert [d["role"] for d in s["debaters"]] == debate.roles
    # two argument calls and one final call per debater; usage and raw texts summed over all nine
    assert verdict.usage.calls == 9 and len(verdict.raw) == 9
    assert verdict.judge_fingerprint == debate.fingerprint and verdict.label == "A"

    first = requests_of(judges[0])
    assert len(first) == 3
    round1, round2, final = (user_text(r) for r in first)
    # each starts from the judge's own prompt (the item in order A, B) with the judge's decoding settings
    assert all("Seven." in t and t.index("Seven.") < t.index("Nine.") for t in (round1, round2, final))
    assert all(r.temperature == 0.3 and r.seed == 7 for r in first)
    assert "you speak first" in round1 and "round 1 of 2" in round1 and debate.roles[0] in round1
    # round 2 shows every round-1 argument, the debater's own marked as its own, and no round-2 argument
    assert "round 2 of 2" in round2 and "[Round 1, you (critic" in round2
    assert "[Round 1, judge 2 (advocate" in round2 and "[Round 1, judge 3 (fact checker" in round2
    assert "[Round 2" not in round2
    assert "[Round 2, judge 3 (fact checker" in final
    # arguments are prose (no schema); the final answer keeps the judge's answer format
    assert first[0].json_schema is None and first[1].json_schema is None
    assert first[2].json_schema is not None and first[2].json_schema["properties"]["winner"]["enum"] == [
        "A",
        "B",
        "tie",
    ]


def test_debate_custom_roles_reach_the_prompts_and_a_split_vote_is_a_tie_or_flagged():
    roles = ["a pedant about arithmetic", "a busy reader"]
    debate = Debate([debater(["A"], "A"), debater(["B"], "B")], rounds=1, roles=roles)
    verdict = run(debate(PAIR))
    assert verdict.outcome.winner == "tie" and verdict.strategy is not None and verdict.strategy["tie"] is True
    assert "Your role on the panel: a pedant about arithmetic" in user_text(requests_of(debate.debaters[0])[0])
    assert "Your role on the panel: a busy reader" in user_text(requests_of(debate.debaters[1])[0])
    assert verdict.strategy["roles"] == roles

    strict = Debate([debater(["A"], "A", allow_tie=False), debater(["B"], "B", allow_tie=False)], rounds=1)
    split = run(strict(PAIR))
    assert split.ok and split.flagged and split.outcome.winner is None


def test_debate_pointwise_with_mean_vote():
    def scorer(score: str) -> LLMJudge:
        def script(request: GenerateRequest) -> str:
            if kind(request) == "argue":
                return f"I would give it {score}. [[{score}]]"
            return json.dumps({"score": score, "rationale": f"worth {score}"})

        return make_judge(FakeBackend(script), JudgeConfig(mode="pointwise"))

    debate = Debate([scorer("4"), scorer("2"), scorer("4")], rounds=1, vote="mean")
    verdict = run(debate(POINT))
    assert verdict.ok and verdict.outcome.score == pytest.approx(10 / 3)
    s = verdict.strategy
    assert s is not None and [t["verdict"] for t in s["transcript"]] == ["4", "2", "4"]
    assert [d["score"] for d in s["debaters"]] == [4.0, 2.0, 4.0]
    assert "LABEL is one of: 1, 2, 3, 4, 5" in user_text(requests_of(debate.debaters[0])[0])


def test_a_failing_debater_is_left_out_and_all_failing_is_an_error():
    down = BackendError("server down", retryable=True, reason="retries_exhausted")
    calls = {"n": 0}

    def flaky(request: GenerateRequest) -> str | Exception:
        calls["n"] += 1
        return "I hold B. [[B]]" if calls["n"] == 1 else down  # fails from round 2 on

    failing = make_judge(FakeBackend(flaky, name="flaky"), JudgeConfig(mode="pairwise"))
    unreadable = make_judge(
        FakeBackend(lambda r: "I hold B. [[B]]" if kind(r) == "argue" else "no idea"), JudgeConfig(mode="pairwise")
    )
    debate = Debate([debater(["A", "A"], "A"), failing, unreadable, debater(["A", "A"], "A")], rounds=2)
    verdict = run(debate(PAIR))
    assert verdict.ok and verdict.outcome.winner == "A"
    s = verdict.strategy
    assert s is not None and s["failed"] == [1, 2] and s["votes"] == {"A": 2.0}
    assert s["debaters"][1]["error"] == "retries_exhausted" and s["debaters"][2]["error"] == "parse_failure"
    # the failed debater's round-1 argument stays in the transcript; it is not asked again after failing
    assert [(t["round"], t["debater"]) for t in s["transcript"] if t["debater"] == 1] == [(1, 1)]
    assert len(requests_of(failing)) == 2
    # the unreadable final answer is kept with the raw texts
    assert "no idea" in verdict.raw

    dead = [make_judge(FakeBackend([down]), JudgeConfig(mode="pairwise")) for _ in range(2)]
    failed = run(Debate(dead, rounds=3)(PAIR))
    assert not failed.ok and failed.error is not None
    assert failed.error.reason == "retries_exhausted" and failed.error.retryable
    assert failed.strategy is not None and failed.strategy["failed"] == [0, 1] and failed.strategy["transcript"] == []
    assert all(len(requests_of(j)) == 1 for j in dead)


def test_a_fatal_backend_error_stops_the_debate():
    fatal = make_judge(FakeBackend([BackendError("bad key", fatal=True)]), JudgeConfig(mode="pairwise"))
    with pytest.raises(BackendError, match="bad key"):
        run(Debate([debater(["A"], "A"), fatal], rounds=1)(PAIR))


# -- peer discussion ----------------------------------------------------------------------------------------------


def test_peers_who_agree_at_once_do_not_discuss():
    first, second = peer("A"), peer("A")
    discussion = PeerDiscussion(first, second)
    verdict = run(judge_item(discussion, PAIR))  # stamped, as the engine stamps it
    assert verdict.ok and verdict.outcome.winner == "A" and not verdict.flagged and verdict.outcome.consistent is True
    s = verdict.strategy
    assert s is not None and s["name"] == "peer_discussion" and s["agreed"] is True and s["rounds"] == 0
    assert s["exchange"] == [] and s["max_rounds"] == 3
    assert len(requests_of(first)) == 2 and len(requests_of(second)) == 2  # both orders each, nothing more
    assert verdict.usage.calls == 4 and verdict.judge_fingerprint == discussion.fingerprint


def test_peers_agree_after_a_discussion_round():
    first, second = peer("A", ["A"]), peer("B", ["A"])
    verdict = run(PeerDiscussion(first, second, max_rounds=3)(PAIR))
    assert verdict.ok and verdict.outcome.winner == "A" and not verdict.flagged
    s = verdict.strategy
    assert s is not None and s["agreed"] is True and s["rounds"] == 1
    assert [i["winner"] for i in s["initial"]] == ["A", "B"]
    assert [(e["round"], e["judge"], e["verdict"]) for e in s["exchange"]] == [(1, 0, "A"), (1, 1, "A")]
    assert [j["winner"] for j in s["judges"]] == ["A", "A"] and s["agreement"] == 1.0
    # each sees its own verdict and reasons and the other's, in its normal answer format (the item in order A, B)
    turn = requests_of(second)[-1]
    text = user_text(turn)
    assert "Your verdict so far: B. Your reasons:\nfirst B" in text
    assert "The other judge's verdict: A. Their reasons:\nfirst A" in text
    assert "round 1 of at most 3" in text and text.index("Seven.") < text.index("Nine.")
    assert turn.json_schema is not None
    assert verdict.usage.calls == 6 and len(verdict.raw) == 6


def test_peers_who_never_agree_give_a_tie_or_a_flag():
    first, second = peer("A", ["A", "A"]), peer("B", ["B", "B"])
    verdict = run(PeerDiscussion(first, second, max_rounds=2)(PAIR))
    assert verdict.ok and verdict.outcome.winner == "tie" and not verdict.flagged
    s = verdict.strategy
    assert s is not None and s["agreed"] is False and s["rounds"] == 2 and len(s["exchange"]) == 4
    assert len(requests_of(first)) == 4  # two orders, then one turn per round

    strict = PeerDiscussion(peer("A", ["A"], allow_tie=False), peer("B", ["B"], allow_tie=False), max_rounds=1)
    flagged = run(strict(PAIR))
    assert flagged.ok and flagged.flagged and flagged.outcome.winner is None

    scores = PeerDiscussion(peer("2", ["2"], mode="pointwise"), peer("5", ["4"], mode="pointwise"), max_rounds=1)
    mean = run(scores(POINT))
    assert mean.ok and mean.flagged and mean.outcome.score == pytest.approx(3.0) and mean.outcome.choice is None
    assert mean.strategy is not None and [e["verdict"] for e in mean.strategy["exchange"]] == ["2", "4"]


def test_pointwise_peers_can_converge():
    scores = PeerDiscussion(peer("3", ["3"], mode="pointwise"), peer("5", ["3"], mode="pointwise"))
    verdict = run(scores(POINT))
    assert verdict.ok and not verdict.flagged and verdict.outcome.choice == "3" and verdict.outcome.score == 3.0
    assert verdict.strategy is not None and verdict.strategy["rounds"] == 1 and verdict.strategy["agreed"] is True


def test_peer_failures():
    down = BackendError("server down", retryable=True, reason="retries_exhausted")
    dead = make_judge(FakeBackend([down]), JudgeConfig(mode="pairwise"))
    alone = run(PeerDiscussion(peer("B"), dead)(PAIR))
    assert alone.ok and alone.outcome.winner == "B"
    assert alone.strategy is not None and alone.strategy["failed"] == [1] and alone.strategy["rounds"] == 0

    both = run(PeerDiscussion(dead, make_judge(FakeBackend([down]), JudgeConfig(mode="pairwise")))(PAIR))
    assert not both.ok and both.error is not None and both.error.reason == "retries_exhausted"

    # a turn that fails leaves the judge's previous verdict standing
    def stubborn(request: GenerateRequest) -> str | Exception:
        return pair_answer(request, "B", "first B") if kind(request) == "initial" else down

    wobbly = make_judge(FakeBackend(stubborn), JudgeConfig(mode="pairwise", allow_tie=False))
    verdict = run(PeerDiscussion(peer("A", ["A"], allow_tie=False), wobbly, max_rounds=1)(PAIR))
    assert verdict.ok and verdict.flagged and verdict.outcome.winner is None
    s = verdict.strategy
    assert s is not None and s["exchange"][1]["error"].startswith("retries_exhausted")
    assert [j["winner"] for j in s["judges"]] == ["A", "B"]


# -- configuration and identity -----------------------------------------------------------------------------------


def _point() -> LLMJudge:
    return make_judge(FakeBackend("x"), JudgeConfig(mode="pointwise"))


def _pair(**config: object) -> LLMJudge:
    return make_judge(FakeBackend("x"), JudgeConfig(mode="pairwise", **config))  # type: ignore[arg-type]


def _listwise() -> LLMJudge:
    return make_judge(FakeBackend("x"), JudgeConfig(mode="listwise"))


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: Debate([]), "at least 2 debaters, got 0"),
        (lambda: Debate([_pair()]), "at least 2 debaters, got 1"),
        (lambda: Debate([_pair(), _pair()], rounds=0), "rounds >= 1"),
        (lambda: Debate([_pair(), _pair()], roles=["critic"]), "1 roles for 2 judges"),
        (lambda: Debate([_pair(), _pair()], roles="critic"), "one string for 2 judges"),
        (lambda: Debate([_pair(), _pair()], roles=["critic", " "]), "non-empty"),
        (lambda: Debate([_pair(), _point()]), "same mode"),
        (lambda: Debate([_listwise(), _listwise()]), "pairwise and pointwise judges, not listwise"),
        (lambda: Debate([_pair(), Jury([_pair(), _pair()])]), "must be a model judge"),
        (lambda: Debate([_pair(), _pair()], vote="mean"), "needs scores"),
        (lambda: Debate([_point(), _point()], vote="weighted"), "unsupported vote rule 'weighted'"),
        (
            lambda: Debate([_point(), make_judge(FakeBackend("x"), JudgeConfig(mode="pointwise", scale="1-10"))]),
            "share one scale",
        ),
        (lambda: PeerDiscussion(_pair(), _pair(), max_rounds=0), "max_rounds >= 1"),
        (lambda: PeerDiscussion(_pair(), _point()), "same mode"),
        (lambda: PeerDiscussion(_listwise(), _listwise()), "not listwise"),
        (lambda: PeerDiscussion(_pair(), Jury([_pair(), _pair()])), "must be a model judge"),
    ],
)
def test_bad_configurations(build: Callable[[], object], message: str):
    with pytest.raises(ConfigError, match=message):
        build()


def test_judges_of_every_turn_are_refused():
    if "turn_scope" not in JudgeConfig.model_fields:
        pytest.skip("this checkout's judges have no turn_scope")
    each = make_judge(FakeBackend("x"), JudgeConfig(mode="pointwise", turn_scope="each"))
    with pytest.raises(ConfigError, match="turn_scope 'final' only"):
        Debate([_point(), each])
    with pytest.raises(ConfigError, match="turn_scope 'final' only"):
        PeerDiscussion(each, _point())


def test_fingerprints_change_with_rounds_roles_and_inner_judges():
    def debate(rounds: int = 2, roles: list[str] | None = None, seed: int = 0) -> Debate:
        return Debate([_pair(seed=seed), _pair()], rounds=rounds, roles=roles)

    base = debate().fingerprint
    assert debate().fingerprint == base
    assert debate(rounds=3).fingerprint != base
    assert debate(roles=["critic", "fan"]).fingerprint != base
    assert debate(roles=["fan", "critic"]).fingerprint != debate(roles=["critic", "fan"]).fingerprint
    assert debate(seed=1).fingerprint != base
    assert Debate([_point(), _point()], vote="mean").fingerprint != Debate([_point(), _point()]).fingerprint

    discussion = PeerDiscussion(_pair(), _pair()).fingerprint
    assert PeerDiscussion(_pair(), _pair()).fingerprint == discussion
    assert PeerDiscussion(_pair(), _pair(), max_rounds=2).fingerprint != discussion
    assert PeerDiscussion(_pair(), _pair(allow_tie=False)).fingerprint != discussion
    renamed = make_judge(FakeBackend("x", name="other"), JudgeConfig(mode="pairwise"))
    assert PeerDiscussion(_pair(), renamed).fingerprint != discussion
    assert Debate([_pair(), _pair()]).fingerprint != discussion

    described = Debate([_pair(), _pair()], rounds=1).spec.identity
    assert described["strategy"] == "debate" and described["settings"]["rounds"] == 1
    assert json.dumps(described)


def test_debate_and_discussion_run_end_to_end(tmp_path: Path):
    rows = [
        {"id": f"q{i}", "prompt": "Name a prime.", "response_a": "Seven.", "response_b": "Nine.", "label": "A"}
        for i in range(3)
    ]

    def scripted(final: str) -> LLMJudge:
        return make_judge(
            FakeBackend(lambda r: f"[[{final}]]" if kind(r) == "argue" else pair_answer(r, final, "why")),
            JudgeConfig(mode="pairwise"),
        )

    debate = Debate([scripted("A"), scripted("A"), scripted("B")], rounds=1)
    result = jurist.judge(rows, out=tmp_path / "debate", judge=debate, options=NO_CACHE)
    verdicts = result.verdicts()
    assert len(verdicts) == 3 and all(v.outcome.winner == "A" for v in verdicts)
    assert all(v.strategy is not None and len(v.strategy["transcript"]) == 3 for v in verdicts)
    assert all(v.judge_fingerprint == debate.fingerprint for v in verdicts)
    config = json.loads((tmp_path / "debate" / "config.json").read_text())
    assert config["judge"]["strategy"] == "debate" and config["fingerprint"] == debate.fingerprint
    assert result.summary().accuracy == 1.0

    discussion = PeerDiscussion(scripted("A"), scripted("A"))
    outcome = jurist.judge(rows, out=tmp_path / "discussion", judge=discussion, options=NO_CACHE)
    assert [v.outcome.winner for v in outcome.verdicts()] == ["A", "A", "A"]
    assert all(v.strategy is not None and v.strategy["agreed"] for v in outcome.verdicts())
