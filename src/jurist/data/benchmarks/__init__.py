"""Loaders for the standard meta-evaluation data sets (how well does a judge agree with humans or gold labels?).

Each loader returns validated `Item`s with labels in jurist's form and what a meta-evaluation needs in metadata
(`group`, `system`, `annotations`, `scores` and `aspect`, `subset`, ...; see each loader). `load_benchmark` takes a
short spec such as `llmbar:Natural`, `summeval:coherence` or `alpaca_eval:claude-2.1`. Where the files come from
(a folder, `$JURIST_DATA_DIR`, or a one-time download into a cache) is described in `sources`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ...errors import ConfigError
from ..load import LoadedData
from . import alpaca_eval, evalbiasbench, faireval, llmbar, mt_bench, pandalm, summeval, unieval
from .alpaca_eval import alpaca_eval_models, load_alpaca_eval_annotations, load_alpaca_eval_candidates
from .evalbiasbench import load_evalbiasbench
from .faireval import load_faireval
from .llmbar import load_llmbar
from .mt_bench import load_mt_bench_questions
from .pandalm import load_pandalm, load_pandalm_predictions
from .sources import DATA_DIR_ENV, DATA_URL_ENV, cache_dir
from .summeval import load_summeval
from .unieval import load_unieval
from .user_files import load_judgebench, load_mt_bench_human, load_rewardbench


@dataclass(frozen=True)
class Benchmark:
    """One entry of the registry: what it is, what the part of the spec after ":" names, and how to load it."""

    description: str
    load: Callable[[str | None, Path | None], LoadedData]  # (option or None, the data set's folder or None)
    folder: str | None  # its folder under a data directory; None for formats read from the user's own file
    option: str = ""  # e.g. "subset: Natural, ..."; empty when the benchmark takes none
    option_required: bool = False


def _unieval(name: str) -> Benchmark:
    _, aspects, default = unieval.SETS[name]
    return Benchmark(
        f"UniEval meta-evaluation set {name} (pointwise, human scores)",
        lambda option, root: load_unieval(name, option, root),
        unieval.SOURCE.folder,
        f"aspect: {', '.join(aspects)} (default {default})",
    )


def _user_file(description: str, load: Callable[[str], LoadedData], option: str = "path: the file") -> Benchmark:
    """A format read from the user's own file, whose path is the option: no folder, nothing downloaded."""
    return Benchmark(description, lambda path, root: load(path or ""), None, option, option_required=True)


BENCHMARKS: dict[str, Benchmark] = {
    "llmbar": Benchmark(
        "LLMBar instruction-following pairs with gold labels (pairwise)",
        lambda option, root: load_llmbar(option or "Natural", root),
        llmbar.SOURCE.folder,
        f"subset: {', '.join(llmbar.SUBSETS)} (default Natural)",
    ),
    "summeval": Benchmark(
        "SummEval summaries with expert scores (pointwise, 100 articles x 16)",
        lambda option, root: load_summeval(option or "coherence", root),
        summeval.SOURCE.folder,
        f"aspect: {', '.join(summeval.ASPECTS)} (default coherence)",
    ),
    **{name: _unieval(name) for name in unieval.SETS},
    "pandalm": Benchmark(
        "PandaLM test set, 3 human annotators, ties (pairwise)",
        lambda option, root: load_pandalm(root),
        pandalm.SOURCE.folder,
    ),
    "faireval": Benchmark(
        "FairEval: 80 questions, ChatGPT vs Vicuna-13B, one human label with ties (pairwise)",
        lambda option, root: load_faireval(option or root),
        faireval.SOURCE.folder,
        "folder: a copy of the i-Eval/FairEval repository (default: downloaded)",
    ),
    "evalbiasbench": Benchmark(
        "EvalBiasBench pairs built to trip 6 judge biases (pairwise)",
        lambda option, root: load_evalbiasbench(root),
        evalbiasbench.SOURCE.folder,
    ),
    "alpaca_eval": Benchmark(
        "AlpacaEval 2.0 GPT-4-turbo annotations, baseline vs a model (pairwise)",
        lambda option, root: load_alpaca_eval_annotations(option or "", root),
        alpaca_eval.SOURCE.folder,
        "model: an annotated model, e.g. claude-2.1",
        option_required=True,
    ),
    "alpaca_eval_best_of_n": Benchmark(
        "AlpacaEval 2.0: several models' outputs per instruction, with GPT-4-turbo's wins (listwise, best-of-N)",
        lambda option, root: load_alpaca_eval_candidates(
            [m.strip() for m in option.split(",")] if option else None, root
        ),
        alpaca_eval.SOURCE.folder,
        "models: comma-separated, e.g. claude-2.1,alpaca-7b (default: every annotated model)",
    ),
    "mt_bench": Benchmark(
        "MT-Bench questions with GPT-4 reference answers (no responses: input for judging new models)",
        lambda option, root: load_mt_bench_questions(root),
        mt_bench.SOURCE.folder,
    ),
    "rewardbench": _user_file(
        "RewardBench chosen/rejected rows from your own file (pairwise, seeded order)", load_rewardbench
    ),
    "mt_bench_human": _user_file(
        "MT-Bench human judgments from your own file (pairwise, expert votes per item, turn 1 and 2)",
        load_mt_bench_human,
        "path: the file (the human split of lmsys/mt_bench_human_judgments)",
    ),
    "judgebench": _user_file("JudgeBench pairs from your own file (pairwise)", load_judgebench),
}


def load_benchmark(spec: str, data_dir: str | Path | None = None) -> LoadedData:
    """Load `NAME` or `NAME:OPTION` (see BENCHMARKS). `data_dir` is a folder holding the data sets' folders (as
    `$JURIST_DATA_DIR` does); without it the environment variable, else the download cache, is used."""
    name, _, option = spec.partition(":")
    benchmark = BENCHMARKS.get(name.strip().lower())
    if benchmark is None:
        raise ConfigError(f"unknown benchmark '{name}'; known benchmarks: {', '.join(BENCHMARKS)}")
    option = option.strip()
    if benchmark.option_required and not option:
        raise ConfigError(f"benchmark '{name}' needs an option: '{name}:<{benchmark.option}>'")
    if option and not benchmark.option:
        raise ConfigError(f"benchmark '{name}' takes no option (got '{option}'); write just '{name}'")
    root = Path(data_dir) / benchmark.folder if data_dir is not None and benchmark.folder else None
    return benchmark.load(option or None, root)


__all__ = [
    "BENCHMARKS",
    "DATA_DIR_ENV",
    "DATA_URL_ENV",
    "Benchmark",
    "alpaca_eval_models",
    "cache_dir",
    "load_alpaca_eval_annotations",
    "load_alpaca_eval_candidates",
    "load_benchmark",
    "load_evalbiasbench",
    "load_faireval",
    "load_judgebench",
    "load_llmbar",
    "load_mt_bench_human",
    "load_mt_bench_questions",
    "load_pandalm",
    "load_pandalm_predictions",
    "load_rewardbench",
    "load_summeval",
    "load_unieval",
]
