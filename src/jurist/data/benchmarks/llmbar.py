"""LLMBar (Zeng et al., 2024): instruction-following pairs with an objectively better output, and the paper's
processed 200-pair copy of MT-Bench human judgments (majority of expert votes, ties removed)."""

from __future__ import annotations

from pathlib import Path

from ..load import LoadedData, items_from_rows
from .sources import Source, choose, field, locate, read_json_list, under

SOURCE = Source("llmbar", "princeton-nlp/LLMBar", "900616bff90b6c6c8e1681f7d079250637c55992", under("Dataset"))

# subset -> its file under the dataset folder
SUBSETS = {
    "Natural": "LLMBar/Natural/dataset.json",
    "Neighbor": "LLMBar/Adversarial/Neighbor/dataset.json",
    "GPTInst": "LLMBar/Adversarial/GPTInst/dataset.json",
    "GPTOut": "LLMBar/Adversarial/GPTOut/dataset.json",
    "Manual": "LLMBar/Adversarial/Manual/dataset.json",
    "MT-Bench": "Processed/MT-Bench/dataset.json",
}


def load_llmbar(subset: str = "Natural", root: str | Path | None = None) -> LoadedData:
    """One LLMBar subset as pairwise items: prompt = `input`, A = `output_1`, B = `output_2`, label 1 -> "A",
    2 -> "B" (LLMBar has no ties). Ids are `llmbar-<subset>-<n>`, n the position in the file from 0."""
    name = choose(subset, {s.lower(): s for s in SUBSETS}, "LLMBar subset", "Natural")
    path = locate(SOURCE, SUBSETS[name], root)
    rows = []
    for where, record in read_json_list(path):
        number = where - 1
        rows.append(
            (
                where,
                {
                    "id": f"llmbar-{name.lower()}-{number}",
                    "prompt": field(record, "input", path, where),
                    "response_a": field(record, "output_1", path, where),
                    "response_b": field(record, "output_2", path, where),
                    "label": field(record, "label", path, where, "number"),
                    "subset": name,
                },
            )
        )
    return items_from_rows(rows, "pairwise", None, path=str(path), unit="row")
