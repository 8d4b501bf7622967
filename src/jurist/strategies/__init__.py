"""Judging strategies: wrappers that take judges and give a judge, so they stack (a jury of self-consistent
judges, a cascade whose strong judge is a jury...). Each is a `jurist.judges.base.Judge` the engine accepts.

Each strategy declares its settings as one pydantic model (`Params`) and its judges' places (`slots`); registry.py
maps a strategy file's kinds to the classes, and the file's nodes, the CLI's choices and the docs table follow."""

from .augment import GeneratedMetrics, Revision, SelfReference
from .base import Strategy
from .build import StrategySpec, build_judge
from .cascade import CONDITIONS, Cascade, cascade_report
from .debate import Debate
from .discussion import PeerDiscussion
from .interview import Interview
from .jury import Jury
from .params import Slot, StrategyParams
from .program import ProgramJudge
from .ranking import PairwiseRanking
from .registry import STRATEGIES, register
from .self_consistency import SelfConsistency
from .tree import StrategyTree, build_tree, load_strategy, parse_strategy
from .vote import VOTE_RULES

__all__ = [
    "CONDITIONS",
    "STRATEGIES",
    "VOTE_RULES",
    "Cascade",
    "Debate",
    "GeneratedMetrics",
    "Interview",
    "Jury",
    "PairwiseRanking",
    "PeerDiscussion",
    "ProgramJudge",
    "Revision",
    "SelfConsistency",
    "SelfReference",
    "Slot",
    "Strategy",
    "StrategyParams",
    "StrategySpec",
    "StrategyTree",
    "build_judge",
    "build_tree",
    "cascade_report",
    "load_strategy",
    "parse_strategy",
    "register",
]
