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
from .ranking import PairwiseRanking
from .self_consistency import SelfConsistency
from .tree import StrategyTree, build_tree, load_strategy, parse_strategy
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
    "PairwiseRanking",
    "PeerDiscussion",
    "Revision",
    "SelfConsistency",
    "SelfReference",
    "Strategy",
    "StrategySpec",
    "StrategyTree",
    "build_judge",
    "build_tree",
    "cascade_report",
    "load_strategy",
    "parse_strategy",
]
