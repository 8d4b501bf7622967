"""Leaderboard ratings from battles: win rate against a baseline, online Elo, Bradley-Terry, the win matrix, and
MT-Bench style mean scores.

Bradley-Terry is jurist.ranking's one model (ranking/bradley_terry.py), fitted by maximum likelihood with a very
weak ridge and one of three ways to treat ties: "davidson", "rao_kupper" or "half". The log-strengths are
reported on an Elo-like scale (400·log10 odds), shifted so that the anchor system, or the mean of all systems,
sits at 1000. Intervals come from a bootstrap over battles (percentile).

Style control (arena-hard): with `features`, each battle also gets, per feature, the difference of the two
answers' feature values normalised as (a - b) / (a + b) and divided by its standard deviation over the battles;
the fit then adds one coefficient per feature, and the scores are the strengths with style held equal.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
from pydantic import BaseModel, ConfigDict

from jurist.errors import ConfigError, InputError
from jurist.extras import require
from jurist.leaderboard.battles import Battle
from jurist.outcomes import winner_share
from jurist.ranking import bradley_terry as bt
from jurist.ranking.bradley_terry import TIE_MODELS, TieModel  # also importable from here, as before

if TYPE_CHECKING:
    import pandas as pd

ELO_PER_LOGIT = 400.0 / math.log(10.0)
ELO_CENTRE = 1000.0
# A very weak Gaussian prior on strengths and feature coefficients (in log-likelihood units): it keeps the fit
# finite when a system has won (or lost) every battle, and is negligible once there are a few dozen battles.
_RIDGE = 1e-3
# The order in which distinct battles are kept (the fit's sums, to the last digit, follow it).
_WINNERS = ("A", "B", "tie")
_VERDICT_OF_A = {"A": "win", "B": "loss", "tie": "tie"}
_VERDICT_OF_B = {"A": "loss", "B": "win", "tie": "tie"}


class WinRate(BaseModel):
    """A system's win rate against the baseline, in percent, ties (or a soft preference) counted as shares."""

    model_config = ConfigDict(extra="forbid")

    model: str
    baseline: str
    win_rate: float
    standard_error: float
    n: int
    wins: int
    losses: int
    ties: int


class BradleyTerry(BaseModel):
    """A Bradley-Terry fit: Elo-scale scores, bootstrap intervals and the ranking (best first).

    `tie_param` is Davidson's ν or Rao-Kupper's θ (None for "half"). `feature_coefs` are the style coefficients,
    in log-odds per standard deviation of the normalised feature difference (empty without features).
    Intervals are (nan, nan) when `n_bootstrap` is 0.
    """

    model_config = ConfigDict(extra="forbid")

    scores: dict[str, float]
    intervals: dict[str, tuple[float, float]]
    ranking: list[str]
    tie_model: TieModel
    n_battles: int
    n_bootstrap: int
    tie_param: float | None
    feature_coefs: dict[str, float] = {}
    anchor: str | None = None
    confidence: float = 0.95


class MeanScore(BaseModel):
    """A system's mean score with a bootstrap interval over prompts (MT-Bench style single-answer grading)."""

    model_config = ConfigDict(extra="forbid")

    system: str
    mean: float
    low: float
    high: float
    n: int
    n_prompts: int


# -- checks -----------------------------------------------------------------------------------------------------


def _systems(battles: Sequence[Battle]) -> list[str]:
    """The systems named in the battles, sorted; at least two, and no battle of a system against itself."""
    for battle in battles:
        if battle.model_a == battle.model_b:  # possible with model_construct, which skips validation
            raise ConfigError(f"battle on prompt '{battle.prompt_id}' names '{battle.model_a}' twice")
    names = sorted({b.model_a for b in battles} | {b.model_b for b in battles})
    if len(names) < 2:
        found = f"only {names[0]!r}" if names else "no battles at all"
        raise ConfigError(f"a leaderboard needs battles between at least 2 systems; found {found}")
    return names


# -- win rate and Elo -------------------------------------------------------------------------------------------


def win_rate_vs_baseline(battles: Sequence[Battle], baseline: str) -> list[WinRate]:
    """Each system's win rate (percent) against `baseline`, best first.

    Only battles involving the baseline count. A battle's outcome is the system's preference when the judge gave
    one (AlpacaEval's soft win rate), else 1 for a win, 0 for a loss and 1/2 for a tie. The standard error is
    that of the mean outcome (sample standard deviation / sqrt(n)); NaN for a single battle. `wins`, `losses`
    and `ties` count the discrete verdicts.
    """
    systems = _systems(battles)
    if baseline not in systems:
        raise ConfigError(f"baseline '{baseline}' is in none of the battles; systems seen: {', '.join(systems)}")
    outcomes: dict[str, list[float]] = defaultdict(list)
    verdicts: dict[str, Counter[str]] = defaultdict(Counter)
    for battle in battles:
        if baseline not in (battle.model_a, battle.model_b):
            continue
        share_a = 1.0 - battle.p_second()
        if battle.model_b == baseline:
            model, share, verdict = battle.model_a, share_a, _VERDICT_OF_A[battle.winner]
        else:
            model, share, verdict = battle.model_b, 1.0 - share_a, _VERDICT_OF_B[battle.winner]
        outcomes[model].append(share)
        verdicts[model][verdict] += 1
    rates = []
    for model, shares in outcomes.items():
        values = np.asarray(shares)
        error = float(values.std(ddof=1) / math.sqrt(values.size)) if values.size > 1 else math.nan
        rates.append(
            WinRate(
                model=model,
                baseline=baseline,
                win_rate=100.0 * float(values.mean()),
                standard_error=100.0 * error,
                n=int(values.size),
                wins=verdicts[model]["win"],
                losses=verdicts[model]["loss"],
                ties=verdicts[model]["tie"],
            )
        )
    return sorted(rates, key=lambda r: (-r.win_rate, r.model))


def elo_ratings(
    battles: Sequence[Battle], k: float = 4.0, scale: float = 400.0, base: float = 10.0, initial: float = 1000.0
) -> dict[str, float]:
    """Online Elo ratings, updating after each battle in the order given.

    The result depends on that order (shuffle the same battles and the ratings change); it is kept because it is
    what people expect from "Elo". For a rating that does not depend on order, use `bradley_terry`.
    A tie counts as half a win; `preference` is not used.
    """
    _systems(battles)
    ratings: dict[str, float] = defaultdict(lambda: initial)
    for battle in battles:
        a, b = battle.model_a, battle.model_b
        expected_a = 1.0 / (1.0 + base ** ((ratings[b] - ratings[a]) / scale))
        actual_a = winner_share(battle.winner)
        ratings[a] += k * (actual_a - expected_a)
        ratings[b] -= k * (actual_a - expected_a)
    return dict(ratings)


# -- Bradley-Terry ----------------------------------------------------------------------------------------------


class _Design:
    """Battles as jurist.ranking comparisons: the two systems' indices, A's share (1, 0 or 1/2 for a tie) and the
    style covariates.

    Identical battles (same systems, outcome and covariates) are stored once; `counts` says how often each
    occurs and `inverse` maps every battle to its row, so a bootstrap resample only reweights the rows.
    """

    def __init__(self, battles: Sequence[Battle], systems: list[str], features: list[str]) -> None:
        index = {name: i for i, name in enumerate(systems)}
        keys = np.array([(index[b.model_a], index[b.model_b], _WINNERS.index(b.winner)) for b in battles], dtype=float)
        table = np.column_stack([keys, _style_covariates(battles, features)])
        unique, inverse = np.unique(table, axis=0, return_inverse=True)
        self.inverse = inverse.ravel()
        self.counts = np.bincount(self.inverse, minlength=len(unique)).astype(float)
        self.comparisons = bt.Comparisons(
            n=len(systems),
            first=unique[:, 0].astype(int),
            second=unique[:, 1].astype(int),
            outcome=np.array([winner_share(_WINNERS[int(code)]) for code in unique[:, 2]]),
            covariates=unique[:, 3:],
        )

    def row_weights(self, battle_counts: np.ndarray) -> np.ndarray:
        """Weights of the unique rows, given how many times each battle was drawn."""
        return np.bincount(self.inverse, battle_counts, minlength=len(self.counts))


def _style_covariates(battles: Sequence[Battle], features: list[str]) -> np.ndarray:
    """Per battle and feature: (a - b) / (a + b) (0 when both are 0), divided by its std over the battles."""
    columns = []
    for name in features:
        values = np.empty((len(battles), 2))
        for row, battle in enumerate(battles):
            for side, found in enumerate((battle.features_a, battle.features_b)):
                if name not in found:
                    raise InputError(
                        f"style feature '{name}' is missing from model_{'ab'[side]}'s features",
                        line=row + 1,
                        field=f"features_{'ab'[side]}",
                        hint="compute jurist.leaderboard.style_features(answer) for both answers of every battle",
                    )
                values[row, side] = found[name]
        if (values < 0).any() or not np.isfinite(values).all():
            raise InputError(f"style feature '{name}' must be a finite count >= 0", field=name)
        total = values.sum(axis=1)
        diff = np.divide(values[:, 0] - values[:, 1], total, out=np.zeros(len(battles)), where=total > 0)
        spread = diff.std()
        columns.append(diff / spread if spread > 0 else diff)
    return np.column_stack(columns) if columns else np.zeros((len(battles), 0))


def _connected(battles: Sequence[Battle], systems: list[str]) -> None:
    """Raise unless every system is linked to every other through a chain of battles."""
    index = {name: i for i, name in enumerate(systems)}
    first = np.array([index[b.model_a] for b in battles], dtype=int)
    second = np.array([index[b.model_b] for b in battles], dtype=int)
    found = bt.groups(len(systems), first, second)
    if len(found) > 1:
        named = [[systems[i] for i in group] for group in found]
        raise ConfigError(
            f"the battles fall into {len(found)} groups of systems never compared with each other, so their scores "
            f"cannot be put on one scale: {named}; add battles between the groups"
        )


def bradley_terry(
    battles: Sequence[Battle],
    tie_model: TieModel = "davidson",
    n_bootstrap: int = 200,
    seed: int = 0,
    anchor: str | None = None,
    features: list[str] | None = None,
    confidence: float = 0.95,
) -> BradleyTerry:
    """Fit Bradley-Terry strengths (with ties, optionally with style control) and bootstrap their intervals.

    Scores are 400·log10 of the strengths (the Elo scale), shifted so that `anchor` (or, without one, the mean
    of all systems) is 1000. Each bootstrap resample redraws the battles with replacement and refits; the interval
    is the percentile interval of each system's anchored score. The judge's `preference` is not used: the model
    is for discrete outcomes (win, loss, tie).
    """
    if tie_model not in TIE_MODELS:
        raise ConfigError(f"unknown tie model '{tie_model}'; choose one of {', '.join(TIE_MODELS)}")
    if n_bootstrap < 0:
        raise ConfigError(f"n_bootstrap must be 0 or more, got {n_bootstrap}")
    if not 0 < confidence < 1:
        raise ConfigError(f"confidence must be between 0 and 1 (exclusive), got {confidence}")
    systems = _systems(battles)
    if anchor is not None and anchor not in systems:
        raise ConfigError(f"anchor '{anchor}' is in none of the battles; systems seen: {', '.join(systems)}")
    _connected(battles, systems)
    features = list(features or [])
    design = _Design(battles, systems, features)
    n = len(battles)

    def anchored_scores(strengths: np.ndarray) -> np.ndarray:
        elo = ELO_PER_LOGIT * strengths
        zero = elo[systems.index(anchor)] if anchor is not None else elo.mean()
        return elo - zero + ELO_CENTRE

    fitted = bt.fit(design.comparisons, design.counts, tie_model, ridge=_RIDGE)
    rng = np.random.default_rng(seed)
    resampled = np.empty((n_bootstrap, len(systems)))
    for r in range(n_bootstrap):
        drawn = rng.multinomial(n, np.full(n, 1.0 / n)).astype(float)
        refit = bt.fit(design.comparisons, design.row_weights(drawn), tie_model, ridge=_RIDGE, start=fitted.params)
        resampled[r] = anchored_scores(refit.strengths)
    scores = anchored_scores(fitted.strengths)
    if n_bootstrap:
        tail = (1 - confidence) / 2 * 100
        low, high = np.percentile(resampled, [tail, 100 - tail], axis=0)
        intervals = {name: (float(low[i]), float(high[i])) for i, name in enumerate(systems)}
    else:
        intervals = {name: (math.nan, math.nan) for name in systems}

    return BradleyTerry(
        scores={name: float(scores[i]) for i, name in enumerate(systems)},
        intervals=intervals,
        ranking=sorted(systems, key=lambda name: -scores[systems.index(name)]),
        tie_model=tie_model,
        n_battles=n,
        n_bootstrap=n_bootstrap,
        tie_param=fitted.tie_param,
        feature_coefs={name: float(c) for name, c in zip(features, fitted.coefs, strict=True)},
        anchor=anchor,
        confidence=confidence,
    )


# -- win matrix and mean scores ---------------------------------------------------------------------------------


def win_matrix(battles: Sequence[Battle]) -> pd.DataFrame:
    """`win_shares` as a DataFrame (pandas: jurist[tables]), the row system's share against the column system."""
    pd = require("pandas", "win_matrix")
    systems, shares = win_shares(battles)
    return pd.DataFrame(shares, index=pd.Index(systems, name="model"), columns=pd.Index(systems, name="opponent"))


def win_shares(battles: Sequence[Battle]) -> tuple[list[str], list[list[float]]]:
    """The systems, and for each, its share of wins against each of them (ties as half; NaN where they never
    met): the win matrix in plain lists."""
    systems = _systems(battles)
    won: dict[tuple[str, str], float] = defaultdict(float)
    played: Counter[tuple[str, str]] = Counter()
    for battle in battles:
        share_a = winner_share(battle.winner)
        a, b = battle.model_a, battle.model_b
        won[a, b] += share_a
        won[b, a] += 1.0 - share_a
        played[a, b] += 1
        played[b, a] += 1
    return systems, [[won[r, c] / played[r, c] if played[r, c] else math.nan for c in systems] for r in systems]


def mean_scores(rows: Sequence[tuple[str, str, float]], n_bootstrap: int = 1000, seed: int = 0) -> list[MeanScore]:
    """Each system's mean score, best first, with a 95% bootstrap interval that resamples whole prompts.

    `rows` are (system, prompt_id, score). Several scores of one system on one prompt (e.g. the two turns of an
    MT-Bench question) stay together when prompts are resampled. One prompt gives no interval (NaN).
    """
    from jurist.stats.bootstrap import bootstrap_ci

    by_system: dict[str, tuple[list[str], list[float]]] = defaultdict(lambda: ([], []))
    for line, (system, prompt_id, score) in enumerate(rows, start=1):
        if not isinstance(score, int | float) or not math.isfinite(score):
            raise InputError(f"score {score!r} of system '{system}' is not a finite number", line=line, field="score")
        by_system[system][0].append(prompt_id)
        by_system[system][1].append(float(score))
    if not by_system:
        raise ConfigError("mean_scores got no rows; give (system, prompt_id, score) tuples")
    results = []
    for system, (prompts, scores) in by_system.items():
        estimate = bootstrap_ci(np.mean, scores, groups=prompts, n_resamples=n_bootstrap, seed=seed)
        results.append(
            MeanScore(
                system=system,
                mean=estimate.value,
                low=estimate.low,
                high=estimate.high,
                n=len(scores),
                n_prompts=len(set(prompts)),
            )
        )
    return sorted(results, key=lambda s: (-s.mean, s.system))
