"""Judges: one per input format. A judge is an async callable Item -> Verdict."""

from ..backends.base import Backend
from ..types import Mode
from .base import Judge, JudgeConfig, LLMJudge
from .listwise import ListwiseJudge
from .pairwise import PairwiseJudge
from .pointwise import PointwiseJudge

__all__ = ["Judge", "JudgeConfig", "LLMJudge", "ListwiseJudge", "PairwiseJudge", "PointwiseJudge", "make_judge"]


def make_judge(backend: Backend, config: JudgeConfig) -> LLMJudge:
    judges: dict[Mode, type[LLMJudge]] = {
        "pointwise": PointwiseJudge,
        "pairwise": PairwiseJudge,
        "listwise": ListwiseJudge,
    }
    return judges[config.mode](backend, config)
