"""Text embeddings from a local GGUF model, for choosing few-shot examples by meaning (demos `select="embedding"`).

`local` is the embedded SmolLM2-135M-Instruct with its hidden states mean-pooled: a chat model, not an embedding
model, so its similarities are coarse; `gguf:PATH` takes any embedding model in GGUF form (e.g. a BGE or
nomic-embed conversion) for better retrieval. Vectors are L2-normalised, so a dot product is the cosine.
"""

from __future__ import annotations

import threading
from functools import lru_cache
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np

from .errors import ConfigError
from .extras import locate


@runtime_checkable
class Embedder(Protocol):
    name: str

    def embed(self, texts: list[str]) -> np.ndarray:
        """One L2-normalised row per text."""
        ...


class LlamaEmbedder:
    """Mean-pooled embeddings from a GGUF model run in-process by llama.cpp (loaded on first use)."""

    def __init__(self, model_path: str, *, name: str, n_ctx: int = 2048) -> None:
        if not Path(model_path).is_file():
            raise ConfigError(f"embedding model: GGUF file not found: {model_path}")
        locate("llama_cpp", "embeddings from a GGUF model")  # now, not at the first item: imported on first use
        self.model_path = model_path
        self.name = name
        self.n_ctx = n_ctx
        self._llm: Any = None
        self._lock = threading.Lock()  # llama.cpp contexts are not thread-safe

    def _model(self) -> Any:
        if self._llm is None:
            import llama_cpp

            self._llm = llama_cpp.Llama(
                model_path=self.model_path,
                embedding=True,
                n_ctx=self.n_ctx,
                pooling_type=llama_cpp.LLAMA_POOLING_TYPE_MEAN,
                verbose=False,
            )
        return self._llm

    def embed(self, texts: list[str]) -> np.ndarray:
        with self._lock:
            llm = self._model()
            rows = []
            for text in texts:
                # A text longer than the context is embedded from its start: this picks examples, it judges nothing.
                tokens = llm.tokenize(text.encode("utf-8"), add_bos=True)[: self.n_ctx]
                rows.append(llm.embed(llm.detokenize(tokens).decode("utf-8", "ignore") or " ", normalize=True))
        return np.asarray(rows, dtype=np.float32)


@lru_cache(maxsize=4)
def make_embedder(spec: str = "local") -> Embedder:
    """`local` (the embedded model) or `gguf:PATH`. One instance per spec, shared by every judge of a run."""
    if spec == "local":
        from .backends.llama_cpp import embedded_model_path

        return LlamaEmbedder(embedded_model_path(), name="local")
    if spec.startswith("gguf:"):
        path = spec.removeprefix("gguf:")
        return LlamaEmbedder(path, name=f"gguf:{Path(path).name}")
    raise ConfigError(f"unknown embedding model {spec!r}: use `local` or gguf:PATH (a GGUF embedding model)")
