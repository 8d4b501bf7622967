"""How good a best-of-N selector is, measured against recorded preferences.

Each instruction has N candidate outputs and, for each, a recorded quality in [0, 1] (`wins`: e.g. AlpacaEval's
GPT-4-turbo probability that the output beats a fixed baseline, a draw 0.5). A selector picks one candidate per
instruction; its quality is the mean recorded quality of its picks. The reference points are a random pick (its
expected value, the mean over every candidate), the oracle (the best candidate every time) and the longest output
(the length baseline a judge with a verbosity bias drifts towards).
"""

from __future__ import annotations

from collections.abc import Sequence

from ..errors import ConfigError


def _check(wins: Sequence[Sequence[float]]) -> None:
    if not wins:
        raise ConfigError("no instructions to measure a selector on")
    short = [i for i, row in enumerate(wins) if len(row) < 1]
    if short:
        raise ConfigError(f"instruction {short[0]} has no candidates")


def pick_quality(wins: Sequence[Sequence[float]], picks: Sequence[int]) -> float:
    """The mean recorded quality of the picked candidates (`picks[i]` indexes `wins[i]`)."""
    _check(wins)
    if len(picks) != len(wins):
        raise ConfigError(f"{len(picks)} picks for {len(wins)} instructions")
    return sum(row[pick] for row, pick in zip(wins, picks, strict=True)) / len(wins)


def random_pick_quality(wins: Sequence[Sequence[float]]) -> float:
    """The expected quality of a uniformly random pick: the mean over instructions of each one's mean."""
    _check(wins)
    return sum(sum(row) / len(row) for row in wins) / len(wins)


def oracle_quality(wins: Sequence[Sequence[float]]) -> float:
    """The best any selector can do: the best candidate of every instruction."""
    _check(wins)
    return sum(max(row) for row in wins) / len(wins)


def longest_picks(responses: Sequence[Sequence[str]]) -> list[int]:
    """The longest candidate of each instruction (characters; the first of equally long ones)."""
    return [max(range(len(row)), key=lambda k: (len(row[k]), -k)) for row in responses]
