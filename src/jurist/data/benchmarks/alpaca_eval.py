"""AlpacaEval 2.0 (Dubois et al., 2024): 805 instructions, each model's output compared with the baseline
gpt4_1106_preview's by GPT-4-turbo (`weighted_alpaca_eval_gpt4_turbo`), for win rates, length-controlled win rates
and the length bias of the annotator. The annotations hold no texts; the outputs are joined in by instruction."""

from __future__ import annotations

import csv
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ...errors import ConfigError, InputError
from ...files import open_text
from ..load import LoadedData, items_from_rows
from .sources import Source, dataset_dir, field, is_local, locate, read_json_list

BASELINE = "gpt4_1106_preview"
ANNOTATOR = "weighted_alpaca_eval_gpt4_turbo"
LEADERBOARD = "leaderboards/AE2_weighted_alpaca_eval_gpt4_turbo_leaderboard.csv"


def _remote(relative: str) -> str:
    folder, _, name = relative.partition("/")
    if folder == "annotations":
        return f"results/{name.removesuffix('.json')}/{ANNOTATOR}/annotations.json"
    if folder == "model_outputs":
        return f"results/{name.removesuffix('.json')}/model_outputs.json"
    if relative == LEADERBOARD:
        return f"src/alpaca_eval/leaderboards/data_AlpacaEval_2/{ANNOTATOR}_leaderboard.csv"
    raise KeyError(relative)


SOURCE = Source("alpaca_eval", "tatsu-lab/alpaca_eval", "cd543a149df89434d8a54582c0151c0b945c3d20", _remote)


def preference_label(preference: float) -> str:
    """GPT-4-turbo's preference in [1, 2] (2 = the model's output is better) as a winner: below 1.5 the baseline
    (A) wins, above it the model (B); exactly 1.5, or 0 (how AlpacaEval writes a draw), is a tie."""
    if preference == 0 or preference == 1.5:
        return "tie"
    return "A" if preference < 1.5 else "B"


def preference_probabilities(preference: float) -> dict[str, float] | None:
    """GPT-4-turbo's preference as the probabilities of its two verdicts, which is what it is (the annotator weighs
    its tokens for output_1 and output_2 by their probabilities): P(B) = preference - 1, P(A) = 2 - preference, and
    no tie (the annotator has no tie token). The draw code 0 is 1.5, one half each, as AlpacaEval reads it. None for
    a value that is no preference (outside [1, 2], not a number): AlpacaEval leaves such rows out."""
    if preference == 0:
        preference = 1.5
    if not 1 <= preference <= 2:  # NaN fails this too
        return None
    return {"A": 2 - preference, "B": preference - 1}


def load_alpaca_eval_annotations(model: str, root: str | Path | None = None) -> LoadedData:
    """One model's AlpacaEval 2.0 annotations as pairwise items: prompt = the instruction, A = the baseline's output,
    B = the model's, label from `preference` (see `preference_label`). Metadata: `preference` (the raw float),
    `length_a`/`length_b` (characters, as AlpacaEval counted them), `generator_a`/`generator_b`, `system` = the
    model, `group` = the instruction's position among the 805 (the baseline's order), `dataset` (the instruction's
    source set), `annotator`. Ids are `alpaca_eval-<model>-<group>`, the same instruction number for every model."""
    path = _annotations(model, root)
    baseline = {row["instruction"]: (n, row["output"]) for n, row in enumerate(_outputs(BASELINE, root))}
    outputs = {row["instruction"]: row["output"] for row in _outputs(model, root)}
    rows = []
    for where, record in read_json_list(path):
        instruction = field(record, "instruction", path, where)
        if instruction not in baseline or instruction not in outputs:
            whose = BASELINE if instruction not in baseline else model
            raise InputError(
                f"no output of {whose} for this instruction", file=str(path), line=where, field="instruction"
            )
        number, baseline_output = baseline[instruction]
        preference = float(field(record, "preference", path, where, "number"))
        rows.append(
            (
                where,
                {
                    "id": f"alpaca_eval-{model}-{number}",
                    "prompt": instruction,
                    "response_a": baseline_output,
                    "response_b": outputs[instruction],
                    "label": preference_label(preference),
                    "preference": preference,
                    "length_a": field(record, "len_output_1", path, where, "number"),
                    "length_b": field(record, "len_output_2", path, where, "number"),
                    "generator_a": field(record, "generator_1", path, where),
                    "generator_b": field(record, "generator_2", path, where),
                    "system": model,
                    "group": str(number),
                    "dataset": record.get("dataset"),
                    "annotator": record.get("annotator"),
                },
            )
        )
    return items_from_rows(rows, "pairwise", None, path=str(path), unit="row")


def _annotations(model: str, root: str | Path | None) -> Path:
    """The path of a model's annotations (downloaded if need be); a ConfigError for a name that is none."""
    if not re.fullmatch(r"[\w.+-]+", model):
        raise ConfigError(f"'{model}' is not an AlpacaEval model name (letters, digits, . _ - + only)")
    relative = f"annotations/{model}.json"
    if is_local(root) and not (dataset_dir(SOURCE, root) / relative).exists():
        raise ConfigError(
            f"no AlpacaEval annotations for model '{model}' in {dataset_dir(SOURCE, root)}; "
            f"annotated models there: {', '.join(alpaca_eval_models(root)) or 'none'}"
        )
    return locate(SOURCE, relative, root)


def load_alpaca_eval_candidates(models: Sequence[str] | None = None, root: str | Path | None = None) -> LoadedData:
    """Best-of-N items: per instruction, the outputs of `models` (default: every annotated model) as the candidate
    `responses`, in the order given, for a selector to choose from. The quality of a pick is GPT-4-turbo's
    recorded win against the same baseline: metadata `wins` (per candidate, P(the model's output beats the
    baseline's) = preference - 1, a draw 0.5; see `preference_probabilities`), `systems` (the models, in the
    candidates' order), `group` (the instruction's position among the 805, the baseline's order) and `dataset`.
    Ids are `alpaca_eval-bon-<group>`. An instruction that some model has no usable annotation of is left out, and
    a warning says how many."""
    models = list(models) if models is not None else alpaca_eval_models(root)
    if len(models) < 2 or len(set(models)) != len(models):
        raise ConfigError(f"best-of-N needs two or more different models, got {models}")
    wins: dict[str, dict[str, float | None]] = {}
    outputs: dict[str, dict[str, str]] = {}
    datasets: dict[str, Any] = {}  # the instruction's source set, as the annotations name it
    for model in models:
        path = _annotations(model, root)
        wins[model] = {}
        for where, record in read_json_list(path):
            probs = preference_probabilities(float(field(record, "preference", path, where, "number")))
            instruction = field(record, "instruction", path, where)
            wins[model][instruction] = None if probs is None else probs["B"]
            datasets.setdefault(instruction, record.get("dataset"))
        outputs[model] = {row["instruction"]: row["output"] for row in _outputs(model, root)}
    rows, left_out = [], 0
    for number, row in enumerate(_outputs(BASELINE, root)):
        instruction = row["instruction"]
        scored = [wins[m].get(instruction) for m in models]
        texts = [outputs[m].get(instruction) for m in models]
        if any(w is None for w in scored) or any(t is None for t in texts):
            left_out += 1
            continue
        rows.append(
            (
                number + 1,
                {
                    "id": f"alpaca_eval-bon-{number}",
                    "prompt": instruction,
                    "responses": texts,
                    "systems": models,
                    "wins": scored,
                    "group": str(number),
                    "dataset": datasets.get(instruction),
                },
            )
        )
    loaded = items_from_rows(rows, "listwise", None, path=str(dataset_dir(SOURCE, root)), unit="row")
    if left_out:
        loaded.warnings.append(f"{left_out} instructions left out: not annotated (or not usably) for every model")
    return loaded


def alpaca_eval_models(root: str | Path | None = None) -> list[str]:
    """The models with annotations in the local copy; where there is none yet (a fresh download cache), the models
    of the published AlpacaEval 2.0 leaderboard, each of which can be loaded (and is then downloaded)."""
    annotations = dataset_dir(SOURCE, root) / "annotations"
    local = sorted(p.stem for p in annotations.glob("*.json"))
    if local:
        return local
    path = locate(SOURCE, LEADERBOARD, root)
    with open_text(path, newline="") as fh:
        return sorted(row[""] for row in csv.DictReader(fh) if row.get(""))


def _outputs(model: str, root: str | Path | None) -> list[dict[str, Any]]:
    """A model's outputs: `model_outputs/<model>.json.gz` where a local copy has compressed them, else the `.json`
    the repository publishes (downloaded if need be). Each row has `instruction` and `output`."""
    compressed = dataset_dir(SOURCE, root) / "model_outputs" / f"{model}.json.gz"
    path = compressed if compressed.exists() else locate(SOURCE, f"model_outputs/{model}.json", root)
    return [
        {"instruction": field(r, "instruction", path, where), "output": field(r, "output", path, where)}
        for where, r in read_json_list(path)
    ]
