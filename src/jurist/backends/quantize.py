"""llama.cpp's quantizer: a GGUF file rewritten in another number format (`jurist tune quantize`, and the embedded
model's f16 copy, which llama.cpp runs faster than the shipped Q4_1 file: docs/benchmarks.md, "Quantizing the
embedded judge")."""

from __future__ import annotations

import ctypes
import logging
import os
from pathlib import Path

from ..errors import ConfigError, InputError
from ..extras import require
from ..files import write_through_temporary

# the quantization types offered: name -> llama.cpp's LLAMA_FTYPE_MOSTLY_<NAME>
QUANT_TYPES = (
    *("f16", "bf16", "q8_0", "q6_k", "q5_k_m", "q5_k_s", "q5_1", "q5_0", "q4_k_m", "q4_k_s", "q4_1", "q4_0"),
    *("q3_k_l", "q3_k_m", "q3_k_s", "q2_k"),
)
UNQUANTIZED = {0: "f32", 1: "f16", 32: "bf16"}  # general.file_type values of unquantized files


def file_type(gguf: Path) -> int:
    """The GGUF's general.file_type (llama.cpp's LLAMA_FTYPE), read with the vocabulary only: no weights, no context."""
    llama_cpp = require("llama_cpp", "quantizing a GGUF")
    _quiet_llama_cpp()
    params = llama_cpp.llama_model_default_params()
    params.vocab_only = True
    model = llama_cpp.llama_model_load_from_file(str(gguf).encode(), params)
    if not model:
        raise InputError("not a GGUF model llama.cpp can load", file=str(gguf))
    try:
        value = ctypes.create_string_buffer(32)
        found = llama_cpp.llama_model_meta_val_str(model, b"general.file_type", value, len(value))
    finally:
        llama_cpp.llama_model_free(model)
    return int(value.value) if found > 0 else 0  # every converter writes it; absent means all f32


def _quiet_llama_cpp() -> None:
    """llama-cpp-python prints llama.cpp's log below this logger's level: its errors only (as Llama(verbose=False))."""
    logging.getLogger("llama-cpp-python").setLevel(logging.ERROR)


def quantize_gguf(
    source: str | Path, out: str | Path, kind: str, *, allow_requantize: bool = False, threads: int | None = None
) -> Path:
    """Write `out`, `source` quantized to `kind` (one of QUANT_TYPES) by llama.cpp. A source that is already
    quantized loses precision twice: that needs `allow_requantize`."""
    source, out = Path(source), Path(out)
    if kind not in QUANT_TYPES:
        raise ConfigError(f"unknown quantization type {kind!r}; use one of {', '.join(QUANT_TYPES)}")
    if not source.is_file():
        raise InputError("no such GGUF file", file=str(source))
    if source.resolve() == out.resolve():
        raise ConfigError("--out must be another file than the source")
    current = file_type(source)
    if current not in UNQUANTIZED and not allow_requantize:
        raise InputError(
            f"the source is already quantized (llama.cpp file type {current}): quantizing it again loses precision "
            "twice; give an f32/f16/bf16 GGUF, or allow it (--allow-requantize)",
            file=str(source),
        )
    llama_cpp = require("llama_cpp", "quantizing a GGUF")
    params = llama_cpp.llama_model_quantize_default_params()
    params.ftype = getattr(llama_cpp, f"LLAMA_FTYPE_MOSTLY_{kind.upper()}")
    params.allow_requantize = allow_requantize
    params.nthread = threads or os.cpu_count() or 1

    def run(path: Path) -> None:
        status = llama_cpp.llama_model_quantize(str(source).encode(), str(path).encode(), ctypes.byref(params))
        if status != 0:
            raise ConfigError(f"llama.cpp could not quantize {source} to {kind} (status {status})")

    write_through_temporary(out, run)
    return out
