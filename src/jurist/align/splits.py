"""Train / dev / test splits of the labelled items: seeded, and stratified by label so that a rare label reaches
every split where it can."""

from __future__ import annotations

import random
from collections import defaultdict

from pydantic import BaseModel, ConfigDict

from ..errors import ConfigError, InputError
from ..types import Item

MIN_PER_SPLIT = 2  # one item gives no interval and no dev signal


class Splits(BaseModel):
    model_config = ConfigDict(frozen=True)

    train: list[Item]
    dev: list[Item]
    test: list[Item]

    def parts(self) -> dict[str, list[Item]]:
        return {"train": self.train, "dev": self.dev, "test": self.test}

    def sizes(self) -> dict[str, int]:
        return {name: len(part) for name, part in self.parts().items()}


def parse_fractions(text: str) -> tuple[float, float, float]:
    """`0.5,0.25,0.25` -> three fractions summing to 1 (train, dev, test)."""
    try:
        parts = tuple(float(p) for p in text.split(","))
    except ValueError:
        raise ConfigError(f"--splits '{text}': give three numbers, train,dev,test (e.g. 0.5,0.25,0.25)") from None
    if len(parts) != 3 or any(p <= 0 for p in parts) or abs(sum(parts) - 1) > 1e-6:
        raise ConfigError(f"--splits '{text}': give three positive fractions that sum to 1 (e.g. 0.5,0.25,0.25)")
    return parts[0], parts[1], parts[2]


def split_items(items: list[Item], fractions: tuple[float, float, float], seed: int, source: str) -> Splits:
    """Deal each label's items, in a seeded order, into train/dev/test by the fractions. The order of `items`
    does not matter: they are sorted by id first, so the same labelled items always give the same splits."""
    strata: dict[str, list[Item]] = defaultdict(list)
    for item in sorted(items, key=lambda it: it.id):
        strata[str(item.label)].append(item)
    train: list[Item] = []
    dev: list[Item] = []
    test: list[Item] = []
    _, f_dev, f_test = fractions
    for label in sorted(strata):
        group = strata[label]
        random.Random(f"{seed}:{label}").shuffle(group)
        n_test, n_dev = round(len(group) * f_test), round(len(group) * f_dev)
        test += group[:n_test]
        dev += group[n_test : n_test + n_dev]
        train += group[n_test + n_dev :]
    splits = Splits(train=train, dev=dev, test=test)
    short = {name: n for name, n in splits.sizes().items() if n < MIN_PER_SPLIT}
    if short:
        raise InputError(
            f"{len(items)} labelled items are too few for three splits: "
            + ", ".join(f"{name} would get {n}" for name, n in short.items())
            + f" (each needs at least {MIN_PER_SPLIT})",
            file=source,
            hint="label more items, or give --splits with a larger share for the short split",
        )
    return splits
