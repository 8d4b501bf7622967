"""Directories for the report's tests: a pairwise run whose responses are XSS probes (some items failed, some
disagreeing with their label, probabilities for calibration), and an arena with a hostile system name."""

from __future__ import annotations

import json
import re
from pathlib import Path

from jurist import FakeBackend, GenerateRequest, GenerateResponse, JobOptions, JudgeConfig
from jurist.api import judge
from jurist.leaderboard.arena import ArenaData, ArenaOptions, run_arena

from .helpers import logprob_capable, user_text, with_logprobs

NO_CACHE = JobOptions(cache=False)
PROBES = (
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    '<a href="javascript:alert(1)">click me</a>',
    "javascript:alert(1)",
    "</script><script>alert(1)</script>",
    "line\u2028separator\u2029and <!-- comment",
)
N_ITEMS = 24
_QUESTION = re.compile(r"Question (\d+):")


def failing(i: int) -> bool:
    return i % 8 == 7  # 3 of 24 items: the judge's text cannot be read


def xss_items() -> list[dict[str, str]]:
    """The good response is A on even items, B on odd ones; every label says A, so odd items disagree."""
    items: list[dict[str, str]] = []
    for i in range(N_ITEMS):
        probe = PROBES[i % len(PROBES)]
        good, bad = f"good answer {i} {probe}", f"bad answer {i} {probe}"
        a, b = (good, bad) if i % 2 == 0 else (bad, good)
        prompt = f"Question {i}: what does </script> do? {probe}" + (" and more" * 40 if i == 0 else "")
        items.append({"id": f"x{i:02d}", "prompt": prompt, "response_a": a, "response_b": b, "label": "A"})
    return items


def _judge_reply(request: GenerateRequest) -> GenerateResponse | str:
    text = user_text(request)
    match = _QUESTION.search(text)
    assert match is not None
    i = int(match.group(1))
    if failing(i):
        return "I cannot decide <script>alert(2)</script>"
    first = text.split("# Response A", 1)[1].split("# Response B", 1)[0]
    winner = "A" if "good answer" in first else "B"
    sure = 0.55 + 0.4 * (i % 5) / 4
    probs = {winner: sure, "B" if winner == "A" else "A": (1 - sure) * 0.8, "tie": (1 - sure) * 0.2}
    reply = json.dumps({"rationale": f"the good one wins {PROBES[i % len(PROBES)]}", "winner": winner})
    return with_logprobs(reply, winner, probs)


def xss_run(out: Path) -> Path:
    backend = FakeBackend(_judge_reply, capabilities=logprob_capable())
    config = JudgeConfig(mode="pairwise", rationale="before")
    judge(xss_items(), out=out, config=config, model=backend, options=NO_CACHE)
    return out


def xss_arena(out: Path) -> Path:
    systems = {
        "<img src=x onerror=alert(1)>": {f"q{i}": f"strong {i}" for i in range(6)},
        "steady": {f"q{i}": f"medium {i}" for i in range(6)},
        "weak": {f"q{i}": f"weak {i}" for i in range(6)},
    }
    strength = {"strong": 3, "medium": 2, "weak": 1}

    def reply(request: GenerateRequest) -> str:
        text = user_text(request)
        first = text.split("# Response A", 1)[1].split("# Response B", 1)[0]
        second = text.split("# Response B", 1)[1]
        score = {k: (k in first) - (k in second) for k in strength}
        lead = sum(strength[k] * v for k, v in score.items())
        return json.dumps({"winner": "A" if lead > 0 else "B"})

    data = ArenaData(
        prompts={f"q{i}": f"Question {i}?" for i in range(6)}, outputs=systems, sources=dict.fromkeys(systems, "test")
    )
    run_arena(data, out=out, arena=ArenaOptions(n_bootstrap=20), model=FakeBackend(reply), options=NO_CACHE)
    return out
