"""Few-shot demonstrations: chosen from a labelled pool, shown in the prompt, recorded on the verdict."""

from __future__ import annotations

import asyncio
import json
import zlib
from pathlib import Path

import numpy as np
import pytest

from jurist import ConfigError, FakeBackend, JudgeConfig, make_judge
from jurist.demos import DemoConfig
from jurist.types import Item

POOL = [
    {"id": "d1", "prompt": "Name a prime number.", "response_a": "7", "response_b": "8", "label": "A"},
    {"id": "d2", "prompt": "Spell cat backwards.", "response_a": "tac", "response_b": "cat", "label": 1},
    {"id": "d3", "prompt": "What colour is the sky at noon?", "response_a": "green", "response_b": "blue", "label": 2},
    {"id": "d4", "prompt": "Is 2 + 2 equal to 4?", "response_a": "yes", "response_b": "yes!", "label": "tie"},
]


def _pool(tmp_path: Path, rows: list[dict[str, object]] = POOL) -> str:
    path = tmp_path / "pool.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return str(path)


def _judge(tmp_path: Path, **demos: object):  # type: ignore[no-untyped-def]
    backend = FakeBackend(['{"winner": "B"}'])
    config = JudgeConfig(mode="pairwise", swap=False, demos=DemoConfig(pool=_pool(tmp_path), **demos))
    return backend, make_judge(backend, config)


def test_fixed_demos_are_shown_with_their_answers_and_recorded(tmp_path: Path) -> None:
    backend, judge = _judge(tmp_path, k=2, select="fixed")
    verdict = asyncio.run(
        judge(Item(id="x", prompt="Which planet is largest?", response_a="Mars", response_b="Jupiter"))
    )
    prompt = backend.requests[0].messages[-1].content
    assert verdict.demos == ["d1", "d2"]
    assert prompt.index("Name a prime number.") < prompt.index("Spell cat backwards.") < prompt.index("largest")
    assert '{"winner": "A"}' in prompt and "# Example 2" in prompt and "# Example 3" not in prompt


def test_an_item_is_never_its_own_example(tmp_path: Path) -> None:
    _, judge = _judge(tmp_path, k=2, select="fixed")
    verdict = asyncio.run(judge(Item(id="d1", prompt="Name a prime number.", response_a="7", response_b="8")))
    assert verdict.demos == ["d2", "d3"]


def test_bm25_picks_the_most_similar_requests(tmp_path: Path) -> None:
    _, judge = _judge(tmp_path, k=1, select="bm25")
    item = Item(id="x", prompt="What colour is the sea at noon?", response_a="a", response_b="b")
    assert judge.demos_for(item)[0].id == "d3"


def test_random_demos_are_seeded_per_item(tmp_path: Path) -> None:
    _, judge = _judge(tmp_path, k=2, select="random")
    item = Item(id="x", prompt="p", response_a="a", response_b="b")
    first = [d.id for d in judge.demos_for(item)]
    assert first == [d.id for d in judge.demos_for(item)] and len(set(first)) == 2


def test_ties_are_not_shown_when_ties_are_off(tmp_path: Path) -> None:
    backend = FakeBackend(['{"winner": "B"}'])
    config = JudgeConfig(mode="pairwise", allow_tie=False, demos=DemoConfig(pool=_pool(tmp_path), k=3))
    judge = make_judge(backend, config)
    ids = [d.id for d in judge.demos_for(Item(id="x", prompt="p", response_a="a", response_b="b"))]
    assert "d4" not in ids and len(ids) == 3


def test_the_pool_is_part_of_the_fingerprint(tmp_path: Path) -> None:
    _, with_demos = _judge(tmp_path, k=1)
    plain = make_judge(FakeBackend(["x"]), JudgeConfig(mode="pairwise", swap=False))
    assert with_demos.fingerprint != plain.fingerprint


def test_a_pool_of_the_wrong_mode_fails_at_construction(tmp_path: Path) -> None:
    rows = [{"id": str(i), "prompt": "p", "response": "r", "label": 3} for i in range(4)]
    config = JudgeConfig(mode="pairwise", demos=DemoConfig(pool=_pool(tmp_path, rows), k=2))
    with pytest.raises(ConfigError, match="does not hold pairwise items"):
        make_judge(FakeBackend(["x"]), config)


def test_a_pool_too_small_or_a_template_without_demos_fails(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="needs at least"):
        make_judge(FakeBackend(["x"]), JudgeConfig(mode="pairwise", demos=DemoConfig(pool=_pool(tmp_path), k=4)))
    template = tmp_path / "t.toml"
    template.write_text('name = "t"\nmode = "pairwise"\nuser = "{{ prompt }} {{ response_a }} {{ response_b }}"\n')
    config = JudgeConfig(mode="pairwise", template=str(template), demos=DemoConfig(pool=_pool(tmp_path), k=1))
    with pytest.raises(ConfigError, match="no place for demos"):
        make_judge(FakeBackend(["x"]), config)


def test_pointwise_demos_show_the_scale_label(tmp_path: Path) -> None:
    rows = [{"id": f"p{i}", "prompt": f"q{i}", "response": "r", "label": i} for i in (1, 4, 9)]
    backend = FakeBackend(['{"score": "3"}'])
    config = JudgeConfig(mode="pointwise", demos=DemoConfig(pool=_pool(tmp_path, rows), k=2))
    judge = make_judge(backend, config)
    verdict = asyncio.run(judge(Item(id="x", prompt="q", response="r")))
    assert verdict.demos == ["p1", "p4"]  # 9 is not on the 1-5 scale
    assert '{"score": "4"}' in backend.requests[0].messages[-1].content


class WordHashEmbedder:
    """A stand-in embedding model: normalised counts of hashed words (similar wording -> similar vectors)."""

    name = "word-hash"

    def __init__(self) -> None:
        self.calls: list[int] = []

    def embed(self, texts: list[str]) -> np.ndarray:
        self.calls.append(len(texts))
        rows = np.zeros((len(texts), 64))
        for row, text in zip(rows, texts, strict=True):
            for word in text.lower().replace("?", " ").replace(".", " ").split():
                row[zlib.crc32(word.encode()) % 64] += 1
        return rows / np.linalg.norm(rows, axis=1, keepdims=True)


def test_embedding_picks_the_nearest_requests_and_embeds_the_pool_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    embedder = WordHashEmbedder()
    monkeypatch.setattr("jurist.demos.make_embedder", lambda spec: embedder)
    _, judge = _judge(tmp_path, k=1, select="embedding")
    near_sky = Item(id="x", prompt="What colour is the sea at noon?", response_a="a", response_b="b")
    near_cat = Item(id="y", prompt="Spell dog backwards.", response_a="a", response_b="b")
    assert judge.demos_for(near_sky)[0].id == "d3"
    assert judge.demos_for(near_cat)[0].id == "d2"
    assert embedder.calls == [4, 1, 1]  # the pool once, then each item's request


def test_an_unknown_embedding_model_fails_when_the_judge_is_made(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="embedding model"):
        _judge(tmp_path, select="embedding", embed_model="bert-base")
    with pytest.raises(ConfigError, match="not found"):
        _judge(tmp_path, select="embedding", embed_model="gguf:/no/such/file.gguf")


def test_the_embedding_model_enters_the_fingerprint_only_when_used(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("jurist.demos.make_embedder", lambda spec: WordHashEmbedder())
    bm25 = [_judge(tmp_path, select="bm25", embed_model=m)[1].fingerprint for m in ("local", "gguf:/x.gguf")]
    assert bm25[0] == bm25[1]
    used = [_judge(tmp_path, select="embedding", embed_model=m)[1].fingerprint for m in ("local", "gguf:/x.gguf")]
    assert used[0] != used[1]
