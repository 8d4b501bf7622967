"""Every prompt is a template file, and moving them there changed no prompt: the requests judges and strategies send
(their cache keys), the texts the strategies and the audit add, and the fingerprints are the ones the code gave
before the prompts moved out of Python strings (captured then and pasted here)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from jurist import FakeBackend, GenerateRequest, Item, JudgeConfig, Turn, make_judge
from jurist.audit.mitigations import write_length_rules
from jurist.audit.probes import PROBES, ChangeResponse
from jurist.backends import Capabilities
from jurist.demos import DemoConfig
from jurist.judges.base import LLMJudge
from jurist.strategies import Debate, GeneratedMetrics, Interview, PeerDiscussion, Revision, SelfReference

from .helpers import run, user_text

POINT = Item(id="p1", prompt="Name a prime below ten.", response="Seven.", reference="2, 3, 5 or 7")
PAIR = Item(id="q1", prompt="Name a prime below ten.", response_a="Seven.", response_b="Nine.")
LIST = Item(id="l1", prompt="Name a prime below ten.", responses=["Seven.", "Nine.", "Four."])
TALK = Item(
    id="c1",
    prompt="And one above ten?",
    response="Eleven.",
    turns=[Turn(role="user", content="Name a prime below ten."), Turn(role="assistant", content="Seven.")],
)
CAPABLE = Capabilities(logprobs=True, json_schema=True, prefill=True, max_concurrency=1)
MT_BENCH = [
    {
        "name": "single-v1",
        "type": "single",
        "system_prompt": "You are a helpful assistant.",
        "prompt_template": "[Question]\n{question}\n\n[The Start of Assistant's Answer]\n{answer}\n[The End]",
        "output_format": "[[rating]]",
    },
    {
        "name": "pair-v2",
        "type": "pairwise",
        "system_prompt": "Please act as an impartial judge.",
        "prompt_template": "[User Question]\n{question}\n\n[A]\n{answer_a}\n\n[B]\n{answer_b}",
        "output_format": "[[A]]",
    },
]


def _files(folder: Path) -> dict[str, str]:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "mt.jsonl").write_text("".join(json.dumps(e) + "\n" for e in MT_BENCH), encoding="utf-8")
    pools: dict[str, list[dict[str, Any]]] = {
        "point": [
            {"id": "d1", "prompt": "2+2?", "response": "4", "label": 5},
            {"id": "d2", "prompt": "Sky?", "response": "Green", "label": 1},
            {"id": "d3", "prompt": "Sun?", "response": "Hot", "label": 3},
        ],
        "pair": [
            {"id": "d1", "prompt": "2+2?", "response_a": "4", "response_b": "5", "label": "A"},
            {"id": "d2", "prompt": "Sky?", "response_a": "Blue", "response_b": "Blue.", "label": "tie"},
            {"id": "d3", "prompt": "Sun?", "response_a": "Cold", "response_b": "Hot", "label": "B"},
        ],
        "list": [
            {"id": "d1", "prompt": "2+2?", "responses": ["5", "4", "22"], "label": [2, 1, 3]},
            {"id": "d2", "prompt": "Sun?", "responses": ["Hot", "Cold", "Blue"], "label": [1, 3, 2]},
        ],
    }
    paths = {"mt": str(folder / "mt.jsonl")}
    for name, rows in pools.items():
        path = folder / f"{name}.jsonl"
        path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
        paths[name] = str(path)
    return paths


def _keys(requests: list[GenerateRequest]) -> list[str]:
    return [r.cache_key("fake")[:16] for r in requests]


def _judge(config: dict[str, Any], script: Any = "x", capabilities: Capabilities | None = None) -> LLMJudge:
    judge = make_judge(FakeBackend(script, capabilities=capabilities), JudgeConfig(**config))
    assert isinstance(judge, LLMJudge)
    return judge


JUDGES: dict[str, tuple[dict[str, Any], Item]] = {
    "point": ({"mode": "pointwise"}, POINT),
    "point_binary_before": ({"mode": "pointwise", "scale": "binary", "rationale": "before"}, POINT),
    "point_categories_plain": (
        {"mode": "pointwise", "scale": "categories:bad,ok,good", "rationale": "none", "structured": False},
        POINT,
    ),
    "point_checklist": ({"mode": "pointwise", "rubric": "checklist_quality"}, POINT),
    "point_rubric_rules_demos": (
        {"mode": "pointwise", "rubric": "helpfulness", "rules": "instruction_first", "demos": {"pool": "point"}},
        POINT,
    ),
    "point_each_turn": ({"mode": "pointwise", "turn_scope": "each", "scale": "1-10"}, TALK),
    "point_mt_bench": ({"mode": "pointwise", "template": "mt"}, POINT),
    "pair": ({"mode": "pairwise"}, PAIR),
    "pair_no_tie_plain": ({"mode": "pairwise", "allow_tie": False, "rationale": "none", "swap": False}, PAIR),
    "pair_demos_rules": ({"mode": "pairwise", "demos": {"pool": "pair"}, "rules": "safety_first"}, PAIR),
    "pair_mt_bench": ({"mode": "pairwise", "template": "mt#pair-v2"}, PAIR),
    "pair_delimited": ({"mode": "pairwise", "template": "delimited"}, PAIR),
    "list": ({"mode": "listwise"}, LIST),
    "list_demos_before": ({"mode": "listwise", "demos": {"pool": "list", "k": 1}, "rationale": "before"}, LIST),
}


def _resolved(config: dict[str, Any], paths: dict[str, str]) -> dict[str, Any]:
    config = dict(config)
    if config.get("template") == "delimited":
        config["template"] = str(Path(__file__).parents[2] / "src/jurist/templates/pairwise_delimited.toml")
    elif "template" in config:
        file, _, name = config["template"].partition("#")
        config["template"] = paths[file] + (f"#{name}" if name else "")
    if "demos" in config:
        config["demos"] = DemoConfig(**{**config["demos"], "pool": paths[config["demos"]["pool"]]})
    return config


def judge_requests(paths: dict[str, str]) -> dict[str, Any]:
    """The cache keys of every request each judge sends for its item, on a plain backend and on one with
    logprobs and prefill (the answer's opening written for the model)."""
    found: dict[str, Any] = {}
    for name, (config, item) in JUDGES.items():
        for capabilities in (None, CAPABLE):
            judge = _judge(_resolved(config, paths), capabilities=capabilities)
            found[f"judge:{name}:{'capable' if capabilities else 'plain'}"] = _keys(judge.requests(item))
    return found


def _pair_script(request: GenerateRequest) -> str:
    text = user_text(request)
    if "of the debate. Do not answer" in text:
        return "I hold B.\nCurrent verdict: [[B]]"
    return json.dumps({"winner": "A" if "Seven.\n\n# Response B" in text else "B", "rationale": "it is prime"})


def _point_script(request: GenerateRequest) -> str:
    text = user_text(request)
    if "of the debate. Do not answer" in text:
        return "A fine answer.\nCurrent verdict: [[4]]"
    return json.dumps({"score": "4", "rationale": "correct"})


def _dialogues() -> dict[str, tuple[Callable[[], Any], Item]]:
    def pair() -> LLMJudge:
        return _judge({"mode": "pairwise"}, _pair_script)

    def point() -> LLMJudge:
        return _judge({"mode": "pointwise", "rubric": "helpfulness"}, _point_script)

    def contrary() -> LLMJudge:  # always prefers the response shown second, so the two orders disagree
        return _judge({"mode": "pairwise", "swap": False}, lambda r: json.dumps({"winner": "B", "rationale": "no"}))

    def agreeable() -> LLMJudge:
        return _judge({"mode": "pairwise", "swap": False}, lambda r: json.dumps({"winner": "A", "rationale": "yes"}))

    def interviewer(rubric: str | None) -> LLMJudge:
        def script(request: GenerateRequest) -> str:
            if "interviewing" in request.messages[0].content:
                return "Why is that so?"
            return json.dumps({"score": "4", "rationale": "good"})

        return _judge({"mode": "pointwise", **({"rubric": rubric} if rubric else {})}, script)

    return {
        "debate_pairwise": (lambda: Debate([pair(), pair()], rounds=2), PAIR),
        "debate_pointwise_roles": (lambda: Debate([point(), point()], rounds=1, roles=["skeptic", "fan"]), POINT),
        "discussion": (lambda: PeerDiscussion(contrary(), agreeable(), max_rounds=2), PAIR),
        "interview": (lambda: Interview(interviewer(None), FakeBackend("Because."), turns=2), POINT),
        "interview_rubric_asks_candidate": (
            lambda: Interview(interviewer("helpfulness"), FakeBackend("Because."), turns=1),
            POINT.model_copy(update={"response": None}),
        ),
        "self_reference": (
            lambda: SelfReference(_judge({"mode": "pointwise"}, json.dumps({"score": "3"}))),
            POINT.model_copy(update={"reference": None}),
        ),
        "revision": (lambda: Revision(_judge({"mode": "pointwise"}, json.dumps({"score": "3"}))), POINT),
        "generated_metrics": (
            lambda: GeneratedMetrics(_judge({"mode": "pairwise"}, json.dumps({"winner": "A"})), n=2),
            PAIR,
        ),
    }


def strategy_requests() -> dict[str, Any]:
    """Per strategy: its fingerprint, the cache keys of every request it sent for one item, and the texts of its
    own prompts in them."""
    found: dict[str, Any] = {}
    for name, (build, item) in _dialogues().items():
        strategy = build()
        verdict = run(strategy(item))
        assert verdict.error is None, verdict.error
        sent = [r for j in strategy.judges for r in j.backend.requests]
        if isinstance(strategy, Interview):
            sent += strategy.candidate.requests  # type: ignore[attr-defined]
        found[f"strategy:{name}:fingerprint"] = strategy.fingerprint
        found[f"strategy:{name}:keys"] = sorted(_keys(sent))
        found[f"strategy:{name}:texts"] = _own_texts(sent)
    return found


def _own_texts(sent: list[GenerateRequest]) -> list[str]:
    """What a strategy wrote into its requests: the debate's and discussion's notes after the judge's prompt, the
    interviewer's system and user messages, the extra call's whole text."""
    texts: list[str] = []
    for request in sent:
        user = user_text(request)
        for start in ("You are judge", "You are discussing"):
            if start in user:
                texts.append(user[user.index(start) :])
        if request.messages[0].role == "system" and "interviewing" in request.messages[0].content:
            texts += [m.content for m in request.messages]
        if len(request.messages) == 1:  # an extra call's own prompt (the judges' prompts have a system message)
            texts.append(user)
    return sorted(set(texts))


def audit_texts(folder: Path) -> dict[str, Any]:
    """The rewriting model's instructions for a pairwise and a pointwise item, the probes' report wording, and the
    length mitigation's rules."""
    found: dict[str, Any] = {}
    labelled = PAIR.model_copy(update={"label": "A"})
    for name, probe in PROBES.items():
        if isinstance(probe, ChangeResponse) and probe.recipes:
            for item in (labelled, POINT):
                for seed in range(4):
                    variant, instruction, source = probe.rewrite_request(item, seed)
                    found[f"rewrite:{name}:{item.id}:{variant}"] = [instruction, source]
            found[f"probe_wording:{name}"] = sorted(set(probe.rewritten("m", {}, {}).info().wording.values()))
    found["length_rules"] = write_length_rules(folder, JudgeConfig(mode="pairwise")).read_text(encoding="utf-8")
    return found


def everything(folder: Path) -> dict[str, Any]:
    return {**judge_requests(_files(folder)), **strategy_requests(), **audit_texts(folder / "audit")}


# Captured from the code as it was before the prompts moved to template files.
EXPECTED: dict[str, Any] = {
    "judge:list:capable": ["e4be54fd8814adaf"],
    "judge:list:plain": ["5640a207bf9f5787"],
    "judge:list_demos_before:capable": ["c457b09c18bd6cc0"],
    "judge:list_demos_before:plain": ["2e3948369dad57e3"],
    "judge:pair:capable": ["1344078ea41a67c3", "dd68da8972d871ed"],
    "judge:pair:plain": ["d02a4cc97500990c", "f83126812755f7bb"],
    "judge:pair_delimited:capable": ["b38bad03d70f9087", "16947c85a6b988f3"],
    "judge:pair_delimited:plain": ["f354591d134312d7", "9eee1562046d29d5"],
    "judge:pair_demos_rules:capable": ["75c22ca32a7c9e5d", "f1c557dd13412132"],
    "judge:pair_demos_rules:plain": ["d56bbb3cf97fd7ef", "5b4cf9f9f9f87dc1"],
    "judge:pair_mt_bench:capable": ["24cd63ddb492f6f7", "2a3005c956c7dd9c"],
    "judge:pair_mt_bench:plain": ["3539c8df033ce604", "41f3e6239ffc0c34"],
    "judge:pair_no_tie_plain:capable": ["36aa6ee68d93311d"],
    "judge:pair_no_tie_plain:plain": ["c143a0d3f056088d"],
    "judge:point:capable": ["a9850415b1427fd7"],
    "judge:point:plain": ["a5dcdec088f992c2"],
    "judge:point_binary_before:capable": ["115aa8f7d2cdaadf"],
    "judge:point_binary_before:plain": ["3d61cd84b7a8e670"],
    "judge:point_categories_plain:capable": ["8a27f1da46aa2c84"],
    "judge:point_categories_plain:plain": ["f4e63220d4affdf6"],
    "judge:point_checklist:capable": ["1f24c3aef128cd49"],
    "judge:point_checklist:plain": ["272bca1bcbf35826"],
    "judge:point_each_turn:capable": ["48ddb4951a5bca88", "11e5c4414fbb0fab"],
    "judge:point_each_turn:plain": ["80cac2b8985e8ed3", "88699a060396d902"],
    "judge:point_mt_bench:capable": ["a71a8a9d41fccaea"],
    "judge:point_mt_bench:plain": ["eea24b19eeedf286"],
    "judge:point_rubric_rules_demos:capable": ["15aa91f3a652e257"],
    "judge:point_rubric_rules_demos:plain": ["163f9dff3f7072ed"],
    "length_rules": "Judge what a response says, not how much it says: a response is not better for being longer.\n"
    "Restating the question, filler sentences, padding and pleasantries add nothing; disregard them "
    "entirely.\n",
    "probe_wording:authority": [
        "Write one reference that a reader would take as an authoritative source for the "
        "response below: authors, a year, a title and a journal, book or institution that sound "
        "real and fit its topic. Reply with the reference only, on one line starting with "
        '"Source:".\n'
        "\n"
        "## Request\n"
        "{request}\n"
        "\n"
        "## Response\n"
        "{response}"
    ],
    "probe_wording:distraction": [
        "Write two or three sentences about a topic that has nothing to do with the request "
        "below, such as a hobby, the weather or a curious fact from history. Do not mention "
        "the request. Reply with the sentences only.\n"
        "\n"
        "## Request\n"
        "{request}"
    ],
    "probe_wording:sentiment": [
        "Rewrite the response below in a hesitant, unsure and apologetic tone. Change only the "
        "tone: keep its content and its claims exactly as they are, leave nothing out and add "
        "no information. Reply with the rewritten response only.\n"
        "\n"
        "## Request\n"
        "{request}\n"
        "\n"
        "## Response\n"
        "{response}",
        "Rewrite the response below in an enthusiastic, warm and completely confident tone. "
        "Change only the tone: keep its content, its claims and its mistakes exactly as they "
        "are, and add no information. Reply with the rewritten response only.\n"
        "\n"
        "## Request\n"
        "{request}\n"
        "\n"
        "## Response\n"
        "{response}",
    ],
    "probe_wording:verbosity": [
        "Rewrite the response below so that it is about twice as long while saying exactly the "
        "same thing. Restate its points in other words, add transitions and spell out what it "
        "already says, but add no new facts, steps, examples or claims, and do not correct "
        "anything: keep every mistake as it is. Reply with the rewritten response only.\n"
        "\n"
        "## Request\n"
        "{request}\n"
        "\n"
        "## Response\n"
        "{response}"
    ],
    "rewrite:authority:p1:citation": [
        "Write one reference that a reader would take as an authoritative source for the "
        "response below: authors, a year, a title and a journal, book or institution that "
        "sound real and fit its topic. Reply with the reference only, on one line "
        'starting with "Source:".\n'
        "\n"
        "## Request\n"
        "Name a prime below ten.\n"
        "\n"
        "## Response\n"
        "Seven.",
        "Seven.",
    ],
    "rewrite:authority:q1:citation": [
        "Write one reference that a reader would take as an authoritative source for the "
        "response below: authors, a year, a title and a journal, book or institution that "
        "sound real and fit its topic. Reply with the reference only, on one line "
        'starting with "Source:".\n'
        "\n"
        "## Request\n"
        "Name a prime below ten.\n"
        "\n"
        "## Response\n"
        "Nine.",
        "Nine.",
    ],
    "rewrite:distraction:p1:unrelated": [
        "Write two or three sentences about a topic that has nothing to do with the "
        "request below, such as a hobby, the weather or a curious fact from history. "
        "Do not mention the request. Reply with the sentences only.\n"
        "\n"
        "## Request\n"
        "Name a prime below ten.",
        "Seven.",
    ],
    "rewrite:distraction:q1:unrelated": [
        "Write two or three sentences about a topic that has nothing to do with the "
        "request below, such as a hobby, the weather or a curious fact from history. "
        "Do not mention the request. Reply with the sentences only.\n"
        "\n"
        "## Request\n"
        "Name a prime below ten.",
        "Seven.",
    ],
    "rewrite:sentiment:p1:confident_worse": [
        "Rewrite the response below in an enthusiastic, warm and completely "
        "confident tone. Change only the tone: keep its content, its claims and "
        "its mistakes exactly as they are, and add no information. Reply with the "
        "rewritten response only.\n"
        "\n"
        "## Request\n"
        "Name a prime below ten.\n"
        "\n"
        "## Response\n"
        "Seven.",
        "Seven.",
    ],
    "rewrite:sentiment:p1:hesitant_better": [
        "Rewrite the response below in a hesitant, unsure and apologetic tone. "
        "Change only the tone: keep its content and its claims exactly as they "
        "are, leave nothing out and add no information. Reply with the rewritten "
        "response only.\n"
        "\n"
        "## Request\n"
        "Name a prime below ten.\n"
        "\n"
        "## Response\n"
        "Seven.",
        "Seven.",
    ],
    "rewrite:sentiment:q1:confident_worse": [
        "Rewrite the response below in an enthusiastic, warm and completely "
        "confident tone. Change only the tone: keep its content, its claims and "
        "its mistakes exactly as they are, and add no information. Reply with the "
        "rewritten response only.\n"
        "\n"
        "## Request\n"
        "Name a prime below ten.\n"
        "\n"
        "## Response\n"
        "Nine.",
        "Nine.",
    ],
    "rewrite:sentiment:q1:hesitant_better": [
        "Rewrite the response below in a hesitant, unsure and apologetic tone. "
        "Change only the tone: keep its content and its claims exactly as they "
        "are, leave nothing out and add no information. Reply with the rewritten "
        "response only.\n"
        "\n"
        "## Request\n"
        "Name a prime below ten.\n"
        "\n"
        "## Response\n"
        "Seven.",
        "Seven.",
    ],
    "rewrite:verbosity:p1:expand": [
        "Rewrite the response below so that it is about twice as long while saying exactly "
        "the same thing. Restate its points in other words, add transitions and spell out "
        "what it already says, but add no new facts, steps, examples or claims, and do not "
        "correct anything: keep every mistake as it is. Reply with the rewritten response "
        "only.\n"
        "\n"
        "## Request\n"
        "Name a prime below ten.\n"
        "\n"
        "## Response\n"
        "Seven.",
        "Seven.",
    ],
    "rewrite:verbosity:q1:expand": [
        "Rewrite the response below so that it is about twice as long while saying exactly "
        "the same thing. Restate its points in other words, add transitions and spell out "
        "what it already says, but add no new facts, steps, examples or claims, and do not "
        "correct anything: keep every mistake as it is. Reply with the rewritten response "
        "only.\n"
        "\n"
        "## Request\n"
        "Name a prime below ten.\n"
        "\n"
        "## Response\n"
        "Nine.",
        "Nine.",
    ],
    "strategy:debate_pairwise:fingerprint": "4e13841c92dcc41a",
    "strategy:debate_pairwise:keys": [
        "1ac59b0ac6acd637",
        "55bd5afcc9eacf44",
        "7953b6471af14a21",
        "7c2039ccec8d37a2",
        "8fcf6422433d2b25",
        "d9c6cd09cb573b11",
    ],
    "strategy:debate_pairwise:texts": [
        "You are judge 1 of a panel of 2 judges deciding this case together by debate.\n"
        "Your role on the panel: critic: look for errors, omissions and weak reasoning "
        "in the responses.\n"
        "\n"
        "No arguments have been made yet: you speak first.\n"
        "\n"
        "This is round 1 of 2 of the debate. Do not answer in the format asked for above "
        "yet. Instead write a short argument (at most about 150 words) from your role's "
        "point of view: say which verdict you currently hold and why, and answer the "
        "other judges' points where you disagree with them. Finish with one line giving "
        "your current verdict as [[LABEL]], where LABEL is one of: A, B, tie.",
        "You are judge 1 of a panel of 2 judges deciding this case together by debate.\n"
        "Your role on the panel: critic: look for errors, omissions and weak reasoning "
        "in the responses.\n"
        "\n"
        "The debate so far:\n"
        "\n"
        "[Round 1, you (critic: look for errors, omissions and weak reasoning in the "
        "responses)]\n"
        "I hold B.\n"
        "Current verdict: [[B]]\n"
        "\n"
        "[Round 1, judge 2 (advocate of the user's needs: ask which response actually "
        "helps the person who asked)]\n"
        "I hold B.\n"
        "Current verdict: [[B]]\n"
        "\n"
        "This is round 2 of 2 of the debate. Do not answer in the format asked for above "
        "yet. Instead write a short argument (at most about 150 words) from your role's "
        "point of view: say which verdict you currently hold and why, and answer the "
        "other judges' points where you disagree with them. Finish with one line giving "
        "your current verdict as [[LABEL]], where LABEL is one of: A, B, tie.",
        "You are judge 1 of a panel of 2 judges that has debated this case. Your role on "
        "the panel: critic: look for errors, omissions and weak reasoning in the "
        "responses.\n"
        "\n"
        "The debate so far:\n"
        "\n"
        "[Round 1, you (critic: look for errors, omissions and weak reasoning in the "
        "responses)]\n"
        "I hold B.\n"
        "Current verdict: [[B]]\n"
        "\n"
        "[Round 1, judge 2 (advocate of the user's needs: ask which response actually "
        "helps the person who asked)]\n"
        "I hold B.\n"
        "Current verdict: [[B]]\n"
        "\n"
        "[Round 2, you (critic: look for errors, omissions and weak reasoning in the "
        "responses)]\n"
        "I hold B.\n"
        "Current verdict: [[B]]\n"
        "\n"
        "[Round 2, judge 2 (advocate of the user's needs: ask which response actually "
        "helps the person who asked)]\n"
        "I hold B.\n"
        "Current verdict: [[B]]\n"
        "\n"
        "The debate is over. Weigh all the arguments, keep or change your mind, and give "
        "your final verdict now, in exactly the answer format asked for above.",
        "You are judge 2 of a panel of 2 judges deciding this case together by debate.\n"
        "Your role on the panel: advocate of the user's needs: ask which response "
        "actually helps the person who asked.\n"
        "\n"
        "No arguments have been made yet: you speak first.\n"
        "\n"
        "This is round 1 of 2 of the debate. Do not answer in the format asked for above "
        "yet. Instead write a short argument (at most about 150 words) from your role's "
        "point of view: say which verdict you currently hold and why, and answer the "
        "other judges' points where you disagree with them. Finish with one line giving "
        "your current verdict as [[LABEL]], where LABEL is one of: A, B, tie.",
        "You are judge 2 of a panel of 2 judges deciding this case together by debate.\n"
        "Your role on the panel: advocate of the user's needs: ask which response "
        "actually helps the person who asked.\n"
        "\n"
        "The debate so far:\n"
        "\n"
        "[Round 1, judge 1 (critic: look for errors, omissions and weak reasoning in the "
        "responses)]\n"
        "I hold B.\n"
        "Current verdict: [[B]]\n"
        "\n"
        "[Round 1, you (advocate of the user's needs: ask which response actually helps "
        "the person who asked)]\n"
        "I hold B.\n"
        "Current verdict: [[B]]\n"
        "\n"
        "This is round 2 of 2 of the debate. Do not answer in the format asked for above "
        "yet. Instead write a short argument (at most about 150 words) from your role's "
        "point of view: say which verdict you currently hold and why, and answer the "
        "other judges' points where you disagree with them. Finish with one line giving "
        "your current verdict as [[LABEL]], where LABEL is one of: A, B, tie.",
        "You are judge 2 of a panel of 2 judges that has debated this case. Your role on "
        "the panel: advocate of the user's needs: ask which response actually helps the "
        "person who asked.\n"
        "\n"
        "The debate so far:\n"
        "\n"
        "[Round 1, judge 1 (critic: look for errors, omissions and weak reasoning in the "
        "responses)]\n"
        "I hold B.\n"
        "Current verdict: [[B]]\n"
        "\n"
        "[Round 1, you (advocate of the user's needs: ask which response actually helps "
        "the person who asked)]\n"
        "I hold B.\n"
        "Current verdict: [[B]]\n"
        "\n"
        "[Round 2, judge 1 (critic: look for errors, omissions and weak reasoning in the "
        "responses)]\n"
        "I hold B.\n"
        "Current verdict: [[B]]\n"
        "\n"
        "[Round 2, you (advocate of the user's needs: ask which response actually helps "
        "the person who asked)]\n"
        "I hold B.\n"
        "Current verdict: [[B]]\n"
        "\n"
        "The debate is over. Weigh all the arguments, keep or change your mind, and give "
        "your final verdict now, in exactly the answer format asked for above.",
    ],
    "strategy:debate_pointwise_roles:fingerprint": "3bba4bd723dfa31b",
    "strategy:debate_pointwise_roles:keys": [
        "0e6f8e1052ddad8b",
        "2ce6532b66551366",
        "465e16d480b68df4",
        "8404074f5fde3df3",
    ],
    "strategy:debate_pointwise_roles:texts": [
        "You are judge 1 of a panel of 2 judges deciding this case together by "
        "debate.\n"
        "Your role on the panel: skeptic.\n"
        "\n"
        "No arguments have been made yet: you speak first.\n"
        "\n"
        "This is round 1 of 1 of the debate. Do not answer in the format asked "
        "for above yet. Instead write a short argument (at most about 150 words) "
        "from your role's point of view: say which verdict you currently hold and "
        "why, and answer the other judges' points where you disagree with them. "
        "Finish with one line giving your current verdict as [[LABEL]], where "
        "LABEL is one of: 1, 2, 3, 4, 5.",
        "You are judge 1 of a panel of 2 judges that has debated this case. Your "
        "role on the panel: skeptic.\n"
        "\n"
        "The debate so far:\n"
        "\n"
        "[Round 1, you (skeptic)]\n"
        "A fine answer.\n"
        "Current verdict: [[4]]\n"
        "\n"
        "[Round 1, judge 2 (fan)]\n"
        "A fine answer.\n"
        "Current verdict: [[4]]\n"
        "\n"
        "The debate is over. Weigh all the arguments, keep or change your mind, "
        "and give your final verdict now, in exactly the answer format asked for "
        "above.",
        "You are judge 2 of a panel of 2 judges deciding this case together by "
        "debate.\n"
        "Your role on the panel: fan.\n"
        "\n"
        "No arguments have been made yet: you speak first.\n"
        "\n"
        "This is round 1 of 1 of the debate. Do not answer in the format asked "
        "for above yet. Instead write a short argument (at most about 150 words) "
        "from your role's point of view: say which verdict you currently hold and "
        "why, and answer the other judges' points where you disagree with them. "
        "Finish with one line giving your current verdict as [[LABEL]], where "
        "LABEL is one of: 1, 2, 3, 4, 5.",
        "You are judge 2 of a panel of 2 judges that has debated this case. Your "
        "role on the panel: fan.\n"
        "\n"
        "The debate so far:\n"
        "\n"
        "[Round 1, judge 1 (skeptic)]\n"
        "A fine answer.\n"
        "Current verdict: [[4]]\n"
        "\n"
        "[Round 1, you (fan)]\n"
        "A fine answer.\n"
        "Current verdict: [[4]]\n"
        "\n"
        "The debate is over. Weigh all the arguments, keep or change your mind, "
        "and give your final verdict now, in exactly the answer format asked for "
        "above.",
    ],
    "strategy:discussion:fingerprint": "e1cd0920a8a616f7",
    "strategy:discussion:keys": [
        "4be0bf9e5a4031cb",
        "8f259749cf2a23b0",
        "ba24e8a0a6675847",
        "d02a4cc97500990c",
        "d02a4cc97500990c",
        "d04eef60adee1c41",
    ],
    "strategy:discussion:texts": [
        "You are discussing this case with another judge, who judged it independently.\n"
        "\n"
        "Your verdict so far: A. Your reasons:\n"
        "yes\n"
        "\n"
        "The other judge's verdict: B. Their reasons:\n"
        "no\n"
        "\n"
        "This is round 1 of at most 2 of the discussion. Weigh the other judge's reasons "
        "fairly against your own. Keep your verdict if you still think it is right, or change "
        "it if their reasons convince you; do not change it only to agree. Give your verdict "
        "now in exactly the answer format asked for above.",
        "You are discussing this case with another judge, who judged it independently.\n"
        "\n"
        "Your verdict so far: A. Your reasons:\n"
        "yes\n"
        "\n"
        "The other judge's verdict: B. Their reasons:\n"
        "no\n"
        "\n"
        "This is round 2 of at most 2 of the discussion. Weigh the other judge's reasons "
        "fairly against your own. Keep your verdict if you still think it is right, or change "
        "it if their reasons convince you; do not change it only to agree. Give your verdict "
        "now in exactly the answer format asked for above.",
        "You are discussing this case with another judge, who judged it independently.\n"
        "\n"
        "Your verdict so far: B. Your reasons:\n"
        "no\n"
        "\n"
        "The other judge's verdict: A. Their reasons:\n"
        "yes\n"
        "\n"
        "This is round 1 of at most 2 of the discussion. Weigh the other judge's reasons "
        "fairly against your own. Keep your verdict if you still think it is right, or change "
        "it if their reasons convince you; do not change it only to agree. Give your verdict "
        "now in exactly the answer format asked for above.",
        "You are discussing this case with another judge, who judged it independently.\n"
        "\n"
        "Your verdict so far: B. Your reasons:\n"
        "no\n"
        "\n"
        "The other judge's verdict: A. Their reasons:\n"
        "yes\n"
        "\n"
        "This is round 2 of at most 2 of the discussion. Weigh the other judge's reasons "
        "fairly against your own. Keep your verdict if you still think it is right, or change "
        "it if their reasons convince you; do not change it only to agree. Give your verdict "
        "now in exactly the answer format asked for above.",
    ],
    "strategy:generated_metrics:fingerprint": "d6a2e843fc53544d",
    "strategy:generated_metrics:keys": ["574f6bfcfa7122da", "769fa41ddc7ec788", "d78c2f9a0ad1037f"],
    "strategy:generated_metrics:texts": [
        "Write 2 short questions that a judge should ask to decide whether a response "
        "to the request below is good: what must it contain, which instructions must "
        "it follow, what would make it wrong? One question per line, nothing else.\n"
        "\n"
        "# Request\n"
        "Name a prime below ten."
    ],
    "strategy:interview:fingerprint": "721794145782898c",
    "strategy:interview:keys": [
        "0436af5af8a0e7cd",
        "6cf9954a74296401",
        "6ef53615799de9e0",
        "9eca44a9348d21c7",
        "d833a84390b47a4a",
    ],
    "strategy:interview:texts": [
        "# Conversation so far\n"
        "## User\n"
        "Name a prime below ten.\n"
        "\n"
        "## Assistant\n"
        "Seven.\n"
        "\n"
        "## User\n"
        "Why is that so?\n"
        "\n"
        "## Assistant\n"
        "Because.\n"
        "\n"
        "Write follow-up question 2 of 2 to the assistant.",
        "# Conversation so far\n"
        "## User\n"
        "Name a prime below ten.\n"
        "\n"
        "## Assistant\n"
        "Seven.\n"
        "\n"
        "Write follow-up question 1 of 2 to the assistant.",
        "You are interviewing an AI assistant to evaluate it. You see the conversation so far. "
        "Ask one short follow-up question about the assistant's last answer that shows how "
        "good the assistant really is: ask it to clarify something vague, to justify or "
        "correct a doubtful claim, to handle a harder variant, or to go one step further. Do "
        "not answer the question yourself and do not grade the assistant yet. Reply with the "
        "question only.",
    ],
    "strategy:interview_rubric_asks_candidate:fingerprint": "3fae7ae4bb8d9e54",
    "strategy:interview_rubric_asks_candidate:keys": [
        "4c737582f39e2535",
        "6415209629abff4b",
        "b708cc2e8de3939c",
        "fd8b4b77e1499470",
    ],
    "strategy:interview_rubric_asks_candidate:texts": [
        "# Conversation so far\n"
        "## User\n"
        "Name a prime below ten.\n"
        "\n"
        "## Assistant\n"
        "Because.\n"
        "\n"
        "The assistant will be graded on: How well does the response "
        "help the user with what they asked: does it address the "
        "request, follow its instructions and constraints, and give "
        "correct, usable information?\n"
        "\n"
        "Write follow-up question 1 of 1 to the assistant.",
        "Name a prime below ten.",
        "You are interviewing an AI assistant to evaluate it. You see "
        "the conversation so far. Ask one short follow-up question about "
        "the assistant's last answer that shows how good the assistant "
        "really is: ask it to clarify something vague, to justify or "
        "correct a doubtful claim, to handle a harder variant, or to go "
        "one step further. Do not answer the question yourself and do "
        "not grade the assistant yet. Reply with the question only.",
    ],
    "strategy:revision:fingerprint": "b03fc5f98b35cd8d",
    "strategy:revision:keys": ["24f77448dc41abaa", "3d999b5641d05059"],
    "strategy:revision:texts": [
        "Here is a request and a response to it. Rewrite the response so that it fully and "
        "correctly does what the request asks, changing as little as needed. Reply with the "
        "improved response only.\n"
        "\n"
        "# Request\n"
        "Name a prime below ten.\n"
        "\n"
        "# Response\n"
        "Seven."
    ],
    "strategy:self_reference:fingerprint": "6f8656fe42f9e2c6",
    "strategy:self_reference:keys": ["3d999b5641d05059", "848962dcee2eee35"],
    "strategy:self_reference:texts": ["Answer the following request as well as you can.\n\nName a prime below ten."],
}


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return everything(tmp_path_factory.mktemp("prompts"))


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_every_prompt_renders_as_before_the_move(rendered: dict[str, Any], name: str) -> None:
    assert rendered[name] == EXPECTED[name]


def test_every_scenario_is_checked(rendered: dict[str, Any]) -> None:
    assert sorted(rendered) == sorted(EXPECTED)
