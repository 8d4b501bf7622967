"""Ranking from pairwise comparisons: comparators, the ranking methods (merge sort, knockout, adaptive, all
pairs), the one Bradley-Terry model, the one pair planner, and (from jurist.outcomes, where it is defined) the one
convention for P(first wins).

It takes plain indices and arrays and imports only jurist's core types, numpy and scipy; the listwise strategy,
the arena (leaderboard/) and reranking build on it.
"""

from ..outcomes import TIES, Ties, p_first, winner_share
from .bradley_terry import TIE_MODELS, TieModel
from .compare import Compare, JudgeComparator, PairJudge, pairwise_comparator, verdict_probability
from .methods import (
    METHODS,
    Method,
    RankResult,
    StopReason,
    adaptive_rank,
    all_pairs_rank,
    knockout_best,
    merge_sort_max_calls,
    rank_responses,
    rank_with,
    sort_rank,
)
from .schedule import PairPlanner

__all__ = [
    "METHODS",
    "TIES",
    "TIE_MODELS",
    "Compare",
    "JudgeComparator",
    "Method",
    "PairJudge",
    "PairPlanner",
    "RankResult",
    "StopReason",
    "TieModel",
    "Ties",
    "adaptive_rank",
    "all_pairs_rank",
    "knockout_best",
    "merge_sort_max_calls",
    "p_first",
    "pairwise_comparator",
    "rank_responses",
    "rank_with",
    "sort_rank",
    "verdict_probability",
    "winner_share",
]
