"""Few-shot demonstrations: labelled examples shown to the judge before the item, chosen from a pool.

Selection: `fixed` (the first k of the pool), `random` (k per item, seeded by the run seed and the item id, so a
re-run picks the same ones), `bm25` (the k whose request is most similar to the item's, by BM25 over words), or
`embedding` (the k nearest by cosine similarity of embeddings from a local model, see jurist.embeddings).
An example never shows the item being judged (same id or same request).
"""

from __future__ import annotations

import hashlib
import random
import re
from collections.abc import Callable
from pathlib import Path
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from .data.load import load_items
from .embeddings import Embedder, make_embedder
from .errors import ConfigError, InputError
from .types import Item, Mode

_WORD = re.compile(r"\w+")


class DemoConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    pool: str = Field(description="labelled data file with the same fields as the items (canonical names)")
    k: int = Field(2, ge=1, le=32)
    select: Literal["fixed", "random", "bm25", "embedding"] = "fixed"
    embed_model: str = Field("local", description="select=embedding: `local` (the embedded model) or gguf:PATH")


class DemoPool:
    def __init__(
        self, config: DemoConfig, mode: Mode, *, seed: int | None = 0, embedder: Embedder | None = None
    ) -> None:
        path = Path(config.pool)
        try:
            data = load_items(path, mode)
        except InputError as exc:
            raise ConfigError(f"few-shot pool {path} does not hold {mode} items: {exc}") from None
        self.items = [it for it in data.items if it.label is not None]
        if len(self.items) < config.k + 1:
            raise ConfigError(
                f"few-shot pool {path} has {len(self.items)} labelled {mode} items; k={config.k} needs at least "
                f"{config.k + 1} (one more, since an item is never its own example)"
            )
        self.config = config
        self.seed = seed or 0
        self.content_hash = hashlib.sha256(path.read_bytes()).hexdigest()[:12] if path.is_file() else "folder"
        self._bm25 = None
        # One selection per item: a judge renders its prompt several times per item (both orders, the record).
        self._chosen: dict[tuple[str, str], list[Item]] = {}
        if config.select == "bm25":
            from rank_bm25 import BM25Okapi

            self._bm25 = BM25Okapi([_words(it.prompt) for it in self.items])
        self._embedder = embedder
        if config.select == "embedding" and embedder is None:
            self._embedder = make_embedder(config.embed_model)  # checks the spec now; loads the model on first use
        self._pool_vectors: np.ndarray | None = None

    def describe(self) -> dict[str, object]:
        described: dict[str, object] = {**self.config.model_dump(), "pool_hash": self.content_hash}
        if self.config.select != "embedding":
            described.pop("embed_model")  # keeps the fingerprints of runs made before embeddings existed
        return described

    def select(self, item: Item, usable: Callable[[Item], bool] = lambda _: True) -> list[Item]:
        """The item's examples; `usable` drops pool items the judge cannot show (a tie when ties are off).
        A pool belongs to one judge, so `usable` is the same on every call and the choice can be remembered."""
        key = (item.id, item.prompt)
        if key not in self._chosen:
            self._chosen[key] = self._select(item, usable)
        return self._chosen[key]

    def _select(self, item: Item, usable: Callable[[Item], bool]) -> list[Item]:
        allowed = [i for i, d in enumerate(self.items) if d.id != item.id and d.prompt != item.prompt and usable(d)]
        k = self.config.k
        if self.config.select == "fixed":
            chosen = allowed[:k]
        elif self.config.select == "random":
            rng = random.Random(f"{self.seed}:{item.id}")
            chosen = rng.sample(allowed, min(k, len(allowed)))
        elif self.config.select == "bm25":
            assert self._bm25 is not None
            scores = self._bm25.get_scores(_words(item.prompt))
            chosen = sorted(allowed, key=lambda i: (-scores[i], i))[:k]
        else:
            assert self._embedder is not None
            if self._pool_vectors is None:  # embedded once, on the first item
                self._pool_vectors = self._embedder.embed([it.prompt for it in self.items])
            similarity = self._pool_vectors @ self._embedder.embed([item.prompt])[0]
            chosen = sorted(allowed, key=lambda i: (-float(similarity[i]), i))[:k]
        return [self.items[i] for i in chosen]


def _words(text: str) -> list[str]:
    return _WORD.findall(text.lower()) or [""]
