"""Judges: one per input format. A judge is a spec (`JudgeSpec`) and an async call Item -> Verdict (`Judge`)."""

from ..backends.base import Backend
from ..types import Mode
from .base import Judge, JudgeConfig, JudgeSpec, LLMJudge, Preflight, judge_item
from .listwise import ListwiseJudge
from .pairwise import PairwiseJudge
from .pointwise import PointwiseJudge

__all__ = [
    "Judge",
    "JudgeConfig",
    "JudgeSpec",
    "LLMJudge",
    "ListwiseJudge",
    "PairwiseJudge",
    "PointwiseJudge",
    "Preflight",
    "judge_item",
    "make_judge",
]


def make_judge(backend: Backend, config: JudgeConfig) -> LLMJudge:
    judges: dict[Mode, type[LLMJudge]] = {
        "pointwise": PointwiseJudge,
        "pairwise": PairwiseJudge,
        "listwise": ListwiseJudge,
    }
    return judges[config.mode](backend, config)
