"""Every kind of node a strategy file may use (besides `judge`, one model judge) and the strategy class it builds.

A new strategy is its class (its `Params`, its `slots`, its constructor) and one line here; another package adds
one with `register`. The strategy-file tree, its error messages and the docs table follow from this mapping.
"""

from __future__ import annotations

from ..errors import ConfigError
from .augment import GeneratedMetrics, Revision, SelfReference
from .base import Strategy
from .cascade import Cascade
from .debate import Debate
from .discussion import PeerDiscussion
from .interview import Interview
from .jury import Jury
from .program import ProgramJudge
from .ranking import PairwiseRanking
from .self_consistency import SelfConsistency

LEAF = "judge"  # the kind of a leaf: one model judge

# In this order in messages and the docs.
STRATEGIES: dict[str, type[Strategy]] = {
    "self_consistency": SelfConsistency,
    "self_reference": SelfReference,
    "revision": Revision,
    "generated_metrics": GeneratedMetrics,
    "jury": Jury,
    "cascade": Cascade,
    "debate": Debate,
    "discussion": PeerDiscussion,
    "program": ProgramJudge,
    "interview": Interview,
    "ranking": PairwiseRanking,
}


def register(kind: str, strategy: type[Strategy]) -> None:
    """Let strategy files use `kind: KIND` for `strategy` (a Strategy subclass with its Params and slots)."""
    if kind == LEAF or STRATEGIES.get(kind, strategy) is not strategy:
        raise ConfigError(f"strategy kind {kind!r} is taken")
    if not (isinstance(strategy, type) and issubclass(strategy, Strategy)):
        raise ConfigError(f"strategy kind {kind!r}: {strategy!r} is not a Strategy class")
    STRATEGIES[kind] = strategy


def kinds() -> list[str]:
    """Every kind a node may have, the leaf first."""
    return [LEAF, *STRATEGIES]
