"""The audit's injection detector on real responses: how many genuine responses it flags (false positives), and
how many outputs of AlpacaEval's published cheating null model it catches.

    .venv/bin/python bench/detector_false_positives.py

Genuine responses: both responses of every LLMBar pair (Natural, the four Adversarial sets, Processed MT-Bench),
EvalBiasBench and PandaLM, and the outputs of the eight real AlpacaEval systems. The null model is AlpacaEval's
`NullModel` (a structured constant answer built to game the judge).
"""

from __future__ import annotations

import gzip
import json
import os
from pathlib import Path

from jurist.audit.mitigations import detect
from jurist.data.benchmarks import load_evalbiasbench, load_llmbar, load_pandalm

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def main() -> None:
    os.environ.setdefault("JURIST_DATA_DIR", str(DATA))
    texts: dict[str, list[str]] = {}
    for subset in ("Natural", "Neighbor", "GPTInst", "GPTOut", "Manual", "MT-Bench"):
        texts[f"LLMBar {subset}"] = [r for it in load_llmbar(subset).items for r in (it.response_a, it.response_b) if r]
    for name, loaded in (("EvalBiasBench", load_evalbiasbench()), ("PandaLM", load_pandalm())):
        texts[name] = [r for it in loaded.items for r in (it.response_a, it.response_b) if r is not None]
    outputs = DATA / "alpaca_eval" / "model_outputs"
    null = []
    for path in sorted(outputs.glob("*.json.gz")):
        rows = json.loads(gzip.decompress(path.read_bytes()))
        answers = [str(r["output"]) for r in rows]
        if path.name.startswith("NullModel"):
            null = answers
        else:
            texts[f"AlpacaEval {path.name.removesuffix('.json.gz')}"] = answers
    print("| responses | genuine | flagged |")
    print("|---|---:|---:|")
    for name, group in texts.items():
        print(f"| {name} | {len(group)} | {sum(bool(detect(t)) for t in group)} |")
    total = sum(len(g) for g in texts.values())
    flagged = sum(bool(detect(t)) for g in texts.values() for t in g)
    print(f"| all genuine | {total} | {flagged} ({flagged / total:.2%}) |")
    print(f"\nAlpacaEval NullModel: {sum(bool(detect(t)) for t in null)} of {len(null)} outputs flagged")


if __name__ == "__main__":
    main()
