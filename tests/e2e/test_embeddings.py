"""Embeddings from the real embedded model (mean-pooled SmolLM2), as few-shot retrieval uses them."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("llama_cpp")
pytestmark = pytest.mark.embedded


def test_the_local_model_embeds_paraphrases_nearer_than_other_requests() -> None:
    from jurist.embeddings import make_embedder

    vectors = make_embedder("local").embed(
        ["Write a poem about the sea.", "Compose verses about the ocean.", "What is 2 + 2? Give the sum."]
    )
    assert vectors.shape[0] == 3 and vectors.shape[1] > 100
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)
    similarity = vectors @ vectors.T
    assert similarity[0, 1] > similarity[0, 2]
