"""LLMBar (Zeng et al., 2024): instruction-following pairs with an objectively better output. Every set of the
paper's repository loads: LLMBar itself (Natural, and Adversarial Neighbor, GPTInst, GPTOut, Manual), the case-study
sets of its section 4.6 (Constraint, Negation, Normal, Base_9, Base_10), and its processed copies of other
meta-evaluation sets (FairEval, LLMEval^2, MT-Bench: ties removed, LLMEval^2 and MT-Bench sampled to 200 pairs)."""

from __future__ import annotations

from pathlib import Path

from ...errors import InputError
from ..load import LoadedData, items_from_rows
from .sources import Source, choose, field, locate, read_json_list, under

SOURCE = Source("llmbar", "princeton-nlp/LLMBar", "900616bff90b6c6c8e1681f7d079250637c55992", under("Dataset"))

# subset -> its file under the dataset folder (the repository's Dataset/ folder)
SUBSETS = {
    "Natural": "LLMBar/Natural/dataset.json",
    "Neighbor": "LLMBar/Adversarial/Neighbor/dataset.json",
    "GPTInst": "LLMBar/Adversarial/GPTInst/dataset.json",
    "GPTOut": "LLMBar/Adversarial/GPTOut/dataset.json",
    "Manual": "LLMBar/Adversarial/Manual/dataset.json",
    "Constraint": "CaseStudy/Constraint/dataset.json",
    "Negation": "CaseStudy/Negation/dataset.json",
    "Normal": "CaseStudy/Normal/dataset.json",
    "Base_9": "CaseStudy/Base_9/dataset.json",
    "Base_10": "CaseStudy/Base_10/dataset.json",
    "FairEval": "Processed/FairEval/dataset.json",
    "LLMEval^2": "Processed/LLMEval^2/dataset.json",
    "MT-Bench": "Processed/MT-Bench/dataset.json",
}
# other spellings accepted (the ^ is awkward to type; the first commit spelt the case-study sets with a dash)
ALIASES = {"llmeval2": "LLMEval^2", "base-9": "Base_9", "base-10": "Base_10"}
# LLMBar's label is the better output's number; it has no ties
LABELS = {"1": "A", "2": "B"}


def load_llmbar(subset: str = "Natural", root: str | Path | None = None) -> LoadedData:
    """One LLMBar subset (see SUBSETS; names are case-insensitive) as pairwise items: prompt = `input`, A =
    `output_1`, B = `output_2`, label 1 -> "A", 2 -> "B" (LLMBar has no ties). Metadata `subset` is the set's name.
    Ids are `llmbar-<subset>-<n>`, n the position in the file from 0."""
    name = choose(subset, {**{s.lower(): s for s in SUBSETS}, **ALIASES}, "LLMBar subset", "Natural")
    path = locate(SOURCE, SUBSETS[name], root)
    rows = []
    for where, record in read_json_list(path):
        prompt, first, second = (field(record, key, path, where) for key in ("input", "output_1", "output_2"))
        label = field(record, "label", path, where, "number")
        if label not in (1, 2):
            raise InputError(f"label {label!r} is not 1 or 2", file=str(path), line=where, field="label")
        rows.append(
            (
                where,
                {
                    "id": f"llmbar-{name.lower()}-{where - 1}",
                    "prompt": prompt,
                    "response_a": first,
                    "response_b": second,
                    "label": label,
                    "subset": name,
                },
            )
        )
    return items_from_rows(rows, "pairwise", None, path=str(path), unit="row", label_map=LABELS)
