"""EvalBiasBench (Park et al., 2024, OffsetBias): 80 pairs in 6 bias types, each built so that a judge with that
bias (length, concreteness, empty reference, content continuation, nested instruction, familiar knowledge) picks
the worse response. Scored as correct in both presentation orders."""

from __future__ import annotations

import re
from pathlib import Path

from ...errors import InputError
from ..load import LoadedData, items_from_rows
from .sources import Source, field, locate, read_json, seeded_pair, under

SOURCE = Source("evalbiasbench", "ncsoft/offsetbias", "main", under("data/evalbiasbench"))
FILE = "biasbench.json"


def load_evalbiasbench(root: str | Path | None = None, seed: int = 0) -> LoadedData:
    """EvalBiasBench as pairwise items. The published file always lists the better response first, so the two are
    placed in a seeded order per item (see `shuffled_order`) and the label says where the better one landed;
    metadata `swapped` records whether the published order (response1, response2) was reversed. Metadata `bias` =
    the bias type, `subset` = the same. Ids are `evalbiasbench-<bias>-<n>`, n the position within its bias type
    from 0."""
    path = locate(SOURCE, FILE, root)
    data = read_json(path)
    if not isinstance(data, dict):
        raise InputError(
            f"expected an object keyed by bias type, got {type(data).__name__}",
            file=str(path),
            hint="the file does not have the published layout; fetch it again from the dataset's repository",
        )
    rows = []
    where = 0
    for bias, records in data.items():
        if not isinstance(records, list):
            raise InputError(f"bias type '{bias}' must hold a list of pairs", file=str(path), field=bias)
        slug = re.sub(r"[^a-z0-9]+", "_", bias.lower()).strip("_")
        for number, record in enumerate(records):
            where += 1  # errors report the pair's position in the whole file, from 1
            item_id = f"evalbiasbench-{slug}-{number}"
            better = field(record, "label", path, where, "number")
            if better not in (1, 2):
                raise InputError(f"label {better!r} is not 1 or 2", file=str(path), line=where, field="label")
            first, second = field(record, "response1", path, where), field(record, "response2", path, where)
            good, bad = (first, second) if better == 1 else (second, first)
            pair, swapped = seeded_pair(item_id, seed, good, bad)
            rows.append(
                (
                    where,
                    {
                        "id": item_id,
                        "prompt": field(record, "instruction", path, where),
                        **pair,
                        "bias": bias,
                        "subset": bias,
                        "swapped": swapped != (better == 2),
                    },
                )
            )
    return items_from_rows(rows, "pairwise", None, path=str(path), unit="row")
