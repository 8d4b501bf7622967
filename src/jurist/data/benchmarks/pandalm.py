"""PandaLM's human-annotated test set (Wang et al., 2024): 999 instruction-following pairs, each labelled by three
annotators (0 = tie, 1 = response 1 better, 2 = response 2 better), and the verdicts of two judges on it."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from ...errors import InputError
from ...outcomes import Winner
from ..load import LoadedData, items_from_rows
from .sources import Source, choose, field, locate, read_json_list, under

SOURCE = Source("pandalm_testset", "WeOpenML/PandaLM", "main", under("data"))
FILE = "testset-v1.json"
ANNOTATORS = ("annotator1", "annotator2", "annotator3")
# judge -> (its prediction file, the field with its verdict)
PREDICTIONS = {
    "gpt-3.5-turbo": ("gpt-3.5-turbo-testset-v1.json", "gpt_result"),
    "pandalm-7b": ("pandalm-7b-testset-v1.json", "pandalm_result"),
}
# The codes both the annotators and the prediction files use; "garbage" (GPT-3.5 gave no usable answer) is absent.
CODES: dict[str, Winner] = {"0": "tie", "tie": "tie", "1": "A", "2": "B"}


def item_id(idx: int) -> str:
    return f"pandalm-{idx}"


def majority(labels: list[Winner]) -> Winner:
    """The label at least two of the three annotators gave; a three-way split (A, B, tie) counts as a tie, since
    the annotators, taken together, prefer neither response. (The published set has no such split.)"""
    label, count = Counter(labels).most_common(1)[0]
    return label if count * 2 > len(labels) else "tie"


def load_pandalm(root: str | Path | None = None) -> LoadedData:
    """The PandaLM test set as pairwise items: prompt = `instruction`, then `input` after a blank line when there
    is one; A = `response1`, B = `response2`; label = the annotators' majority (see `majority`). Metadata:
    `annotations` = the three labels as "A"/"B"/"tie", `systems` = the two models compared (from `cmp_key`, in
    A, B order), `motivation_app`. Ids are `pandalm-<idx>`."""
    path = locate(SOURCE, FILE, root)
    rows = []
    for where, record in read_json_list(path):
        idx = field(record, "idx", path, where, "number")
        annotations = [_code(field(record, key, path, where, "scalar"), path, where, key) for key in ANNOTATORS]
        instruction = field(record, "instruction", path, where)
        extra = record.get("input")
        rows.append(
            (
                where,
                {
                    "id": item_id(int(idx)),
                    "prompt": f"{instruction}\n\n{extra}" if extra else instruction,
                    "response_a": field(record, "response1", path, where),
                    "response_b": field(record, "response2", path, where),
                    "label": majority(annotations),
                    "annotations": annotations,
                    "systems": str(field(record, "cmp_key", path, where)).split("_"),
                    "motivation_app": record.get("motivation_app"),
                },
            )
        )
    return items_from_rows(rows, "pairwise", None, path=str(path), unit="row")


def load_pandalm_predictions(judge: str = "pandalm-7b", root: str | Path | None = None) -> dict[str, Winner]:
    """A published judge's verdict per PandaLM item id ("A", "B" or "tie"); judge is "gpt-3.5-turbo" or
    "pandalm-7b". Items where the judge gave no usable answer (GPT-3.5's "garbage", 25 of 999) are left out:
    count them as failures when scoring."""
    name = choose(judge, {j: j for j in PREDICTIONS}, "PandaLM judge", "pandalm-7b")
    file, key = PREDICTIONS[name]
    path = locate(SOURCE, file, root)
    verdicts: dict[str, Winner] = {}
    for where, record in read_json_list(path):
        value = field(record, key, path, where, "scalar")
        if str(value).strip().lower() == "garbage":
            continue
        verdicts[item_id(int(field(record, "idx", path, where, "number")))] = _code(value, path, where, key)
    return verdicts


def _code(value: object, path: Path, where: int, key: str) -> Winner:
    winner = CODES.get(str(value).strip().lower())
    if winner is None:
        raise InputError(
            f"unknown verdict {value!r}; expected 0 (tie), 1 or 2",
            file=str(path),
            line=where,
            field=key,
            hint="the file does not have the published layout; fetch it again from the dataset's repository",
        )
    return winner
