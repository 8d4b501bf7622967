"""Judging strategies: wrappers that take judges and give a judge, so they stack (a jury of self-consistent
judges, a cascade whose strong judge is a jury...). Each is a `jurist.judges.base.Judge` the runner accepts."""

from .augment import GeneratedMetrics, Revision, SelfReference
from .base import CombinedBackend, Strategy
from .build import StrategySpec, build_judge
from .cascade import CONDITIONS, Cascade, cascade_report
from .debate import Debate
from .discussion import PeerDiscussion
from .interview import Interview
from .jury import Jury
from .self_consistency import SelfConsistency
from .vote import VOTE_RULES

__all__ = [
    "CONDITIONS",
    "VOTE_RULES",
    "Cascade",
    "CombinedBackend",
    "Debate",
    "GeneratedMetrics",
    "Interview",
    "Jury",
    "PeerDiscussion",
    "Revision",
    "SelfConsistency",
    "SelfReference",
    "Strategy",
    "StrategySpec",
    "build_judge",
    "cascade_report",
]
