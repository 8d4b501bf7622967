"""Leaderboards of systems from judged battles: win rates, Elo, Bradley-Terry (ties, style control),
AlpacaEval's length-controlled win rate, and the scheduling of which battles to run next."""

from jurist.leaderboard.battles import STYLE_FEATURES, Battle, style_features
from jurist.leaderboard.length_control import DIFFICULTIES, Difficulty, LCWinRate, length_controlled_win_rate
from jurist.leaderboard.ratings import (
    TIE_MODELS,
    BradleyTerry,
    MeanScore,
    TieModel,
    WinRate,
    bradley_terry,
    elo_ratings,
    mean_scores,
    win_matrix,
    win_rate_vs_baseline,
)
from jurist.leaderboard.schedule import Match, all_pairs_schedule, baseline_schedule, next_battles, settled

__all__ = [
    "DIFFICULTIES",
    "STYLE_FEATURES",
    "TIE_MODELS",
    "Battle",
    "BradleyTerry",
    "Difficulty",
    "LCWinRate",
    "Match",
    "MeanScore",
    "TieModel",
    "WinRate",
    "all_pairs_schedule",
    "baseline_schedule",
    "bradley_terry",
    "elo_ratings",
    "length_controlled_win_rate",
    "mean_scores",
    "next_battles",
    "settled",
    "style_features",
    "win_matrix",
    "win_rate_vs_baseline",
]
