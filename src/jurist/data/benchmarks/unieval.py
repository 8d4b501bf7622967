"""The human-scored sets UniEval (Zhong et al., 2022) was meta-evaluated on: Topical-Chat (dialogue responses, 60
dialogues x 6 systems, 3 annotators' means), QAGS-CNNDM and QAGS-XSum (factual consistency of summaries, in [0, 1])
and SFRES / SFHOT (data-to-text: restaurant and hotel dialogue acts rendered as sentences)."""

from __future__ import annotations

from pathlib import Path

from ..load import LoadedData, items_from_rows
from .sources import Source, choose, field, locate, read_json_list

# set -> (path in the UniEval repository, its human score dimensions, the default one)
SETS: dict[str, tuple[str, tuple[str, ...], str]] = {
    "topical_chat": (
        "reproduce/data/dialogue/topical_chat.json",
        ("understandability", "naturalness", "coherence", "engagingness", "groundedness", "overall"),
        "overall",
    ),
    "qags_cnndm": ("reproduce/data/fact/qags_cnndm.json", ("consistency",), "consistency"),
    "qags_xsum": ("reproduce/data/fact/qags_xsum.json", ("consistency",), "consistency"),
    "sfres": ("reproduce/data/data2text/sfres.json", ("informativeness", "naturalness", "overall"), "overall"),
    "sfhot": ("reproduce/data/data2text/sfhot.json", ("informativeness", "naturalness", "overall"), "overall"),
}
_REMOTE = {f"{name}.json": remote for name, (remote, _, _) in SETS.items()}
SOURCE = Source("unieval_meta", "maszhongming/UniEval", "main", lambda relative: _REMOTE[relative])


def load_unieval(name: str = "topical_chat", aspect: str | None = None, root: str | Path | None = None) -> LoadedData:
    """One UniEval meta-evaluation set as pointwise items, label = the chosen human score (default: overall for
    Topical-Chat and SF, consistency for QAGS).

    prompt = `source` (the dialogue so far, the document, or the dialogue act); for Topical-Chat the knowledge fact
    the reply should draw on (the record's `context`, kept as metadata `fact`) follows under "Fact:", since
    groundedness is judged against it.
    reference = the human reference sentence where the set has one (SF); QAGS's `reference` field repeats the
    document, so it is left out. Metadata: `group` = the position of the item's source among the set's distinct
    sources (items sharing a dialogue or dialogue act share it), `system` where the set names one, `scores` = all
    score dimensions, `aspect` = the one in the label, `subset` = the set name.
    """
    chosen_set = choose(name, {n: n for n in SETS}, "UniEval set", "topical_chat")
    _, aspects, default = SETS[chosen_set]
    chosen = choose(aspect, {a: a for a in aspects}, f"{chosen_set} aspect", default)
    path = locate(SOURCE, f"{chosen_set}.json", root)
    groups: dict[str, int] = {}
    rows = []
    for where, record in read_json_list(path):
        source = field(record, "source", path, where)
        scores_field = field(record, "scores", path, where, "object")
        scores = {a: float(field(scores_field, a, path, where, "number")) for a in aspects}
        row = {
            "id": f"{chosen_set}-{where - 1}",
            "prompt": source,
            "response": field(record, "system_output", path, where),
            "label": scores[chosen],
            "group": str(groups.setdefault(source, len(groups))),
            "scores": scores,
            "aspect": chosen,
            "subset": chosen_set,
        }
        if record.get("context") is not None:
            context = field(record, "context", path, where)
            row["prompt"] = f"{source.rstrip()}\n\nFact: {context}"
            row["fact"] = context  # not `context`, which the loader reads as the item's retrieved passage
        reference = record.get("reference")
        if reference is not None and reference != source:
            row["reference"] = field(record, "reference", path, where)
        if record.get("system_id") is not None:
            row["system"] = str(record["system_id"])
        rows.append((where, row))
    return items_from_rows(rows, "pointwise", None, path=str(path), unit="row")
