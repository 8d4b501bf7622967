"""`jurist tune export`: a trained model folder to the judge llama.cpp runs.

export_adapter turns MODEL_DIR/adapter (a PEFT LoRA adapter) into MODEL_DIR/adapter.gguf with llama.cpp's own
converter, convert_lora_to_gguf.py, run as a separate process with this Python. The converter ships in
llama-cpp-python's source distribution only (not in the wheel), so it is fetched once with pip, at the version of
the installed llama-cpp-python (the same llama.cpp that loads the adapter), and only its converter scripts and their
`conversion` and `gguf-py` packages are kept, in ~/.cache/jurist/llama.cpp/VERSION ($JURIST_LLAMA_CPP names a
llama.cpp checkout instead, for machines without PyPI). It is never imported into jurist.

(`jurist tune quantize`'s quantizer is backends/quantize.py: the embedded model uses it too.)
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

from ..errors import ConfigError, InputError
from ..extras import require
from ..files import parse_json, read_text, write_through_temporary
from .train import RECORD, TOKENIZER_FILES, read_record

ADAPTER_GGUF = "adapter.gguf"
LLAMA_CPP_ENV = "JURIST_LLAMA_CPP"
CONVERTER = "convert_lora_to_gguf.py"
# what the converter imports besides itself: the model classes and llama.cpp's own gguf package (the one on PyPI
# can lag behind the converter of the same llama.cpp)
CONVERTER_PARTS = (CONVERTER, "convert_hf_to_gguf.py", "conversion/", "gguf-py/")


# -- the converter -------------------------------------------------------------------------------------------------


def converter_dir() -> Path:
    """A folder holding llama.cpp's convert_lora_to_gguf.py and what it imports: $JURIST_LLAMA_CPP, else the
    cached copy for the installed llama-cpp-python, fetched on first use."""
    given = os.environ.get(LLAMA_CPP_ENV)
    if given:
        folder = Path(given).expanduser()
        if not (folder / CONVERTER).is_file():
            raise ConfigError(f"${LLAMA_CPP_ENV} is {folder}, which has no {CONVERTER}: name a llama.cpp checkout")
        return folder
    llama_cpp = require("llama_cpp", "exporting an adapter to llama.cpp")
    version = str(llama_cpp.__version__)
    folder = Path.home() / ".cache" / "jurist" / "llama.cpp" / version
    if not (folder / CONVERTER).is_file():
        _fetch_converter(version, folder)
    return folder


def _fetch_converter(version: str, folder: Path) -> None:
    """pip downloads llama-cpp-python's sdist; its converter files are extracted into `folder`, renamed into place
    only once whole."""
    say = f"jurist: fetching llama.cpp's converter (llama-cpp-python {version}'s source, once) to {folder}"
    print(say, file=sys.stderr)
    folder.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=folder.parent, prefix=".fetch-") as work:
        command = [sys.executable, "-m", "pip", "download", "--no-binary", ":all:", "--no-deps", "--quiet"]
        command += ["--dest", work, f"llama-cpp-python=={version}"]
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        archives = sorted(Path(work).glob("llama_cpp_python-*.tar.gz"))
        if done.returncode != 0 or not archives:
            last = (done.stderr.strip().splitlines() or ["no archive downloaded"])[-1]
            raise ConfigError(
                f"could not download llama-cpp-python {version}'s source for its LoRA converter ({last}); "
                f"offline, set {LLAMA_CPP_ENV} to a llama.cpp checkout of the same version"
            )
        unpacked = Path(work) / "unpacked"
        with tarfile.open(archives[0]) as archive:
            prefix = f"{archive.getnames()[0].split('/')[0]}/vendor/llama.cpp/"
            wanted = [m for m in archive.getmembers() if _wanted(m.name, prefix)]
            for member in wanted:
                member.name = member.name[len(prefix) :]
            archive.extractall(unpacked, members=wanted, filter="data")
        if not (unpacked / CONVERTER).is_file():
            raise ConfigError(f"llama-cpp-python {version}'s source has no vendor/llama.cpp/{CONVERTER}")
        os.replace(unpacked, folder)


def _wanted(name: str, prefix: str) -> bool:
    if not name.startswith(prefix):
        return False
    rest = name[len(prefix) :]
    return any(rest == part or (part.endswith("/") and rest.startswith(part)) for part in CONVERTER_PARTS)


# -- export ----------------------------------------------------------------------------------------------------------


def check_model_dir(model_dir: Path) -> None:
    """What the export needs, each missing piece an InputError naming its file."""
    if not (model_dir / RECORD).is_file():
        raise InputError(
            f"not a trained model folder (no {RECORD}): train one with `jurist tune train`", file=str(model_dir)
        )
    record = read_record(model_dir)
    if record.method == "reward":
        raise InputError(
            "a reward model (a score head) cannot be exported to a llama.cpp judge, which generates its verdict: "
            "export an sft or dpo model, or use the reward model from Python (transformers with peft)",
            file=str(model_dir / RECORD),
            field="method",
        )
    for name in ("adapter_config.json", "adapter_model.safetensors"):
        if not (model_dir / "adapter" / name).is_file():
            raise InputError("the LoRA adapter is missing or incomplete", file=str(model_dir / "adapter" / name))
    base = model_dir / "base"
    if not (base / "config.json").is_file():
        raise InputError("the base model's config is missing", file=str(base / "config.json"))
    if not any((base / name).is_file() for name in TOKENIZER_FILES):
        raise InputError(
            f"the base model's tokenizer is missing (none of {', '.join(TOKENIZER_FILES)})",
            file=str(base),
            hint="train again with `jurist tune train`, which saves it, or save it there with "
            "tokenizer.save_pretrained(MODEL_DIR/base)",
        )


def _clean_base(base: Path, into: Path) -> None:
    """A copy of base/ the converter reads: a config dequantized from a GGUF still names the GGUF quantization
    (which the converter refuses) and may lack `architectures` (which it needs to pick the model class)."""
    shutil.copytree(base, into)
    path = base / "config.json"
    config = parse_json(read_text(path), file=str(path), hint="train again, or save the base's config there")
    if not isinstance(config, dict):
        raise InputError("a model config is a JSON object", file=str(path))
    config.pop("quantization_config", None)
    if not config.get("architectures"):
        auto = require("transformers.models.auto.modeling_auto", "exporting an adapter")
        names = auto.MODEL_FOR_CAUSAL_LM_MAPPING_NAMES
        if config.get("model_type") not in names:
            raise InputError(
                "the config names no architecture, and its model_type is not a causal LM transformers knows",
                file=str(path),
                field="architectures",
            )
        config["architectures"] = [names[config["model_type"]]]
    (into / "config.json").write_text(json.dumps(config, indent=2), encoding="utf-8")


def export_adapter(model_dir: str | Path, *, force: bool = False) -> Path:
    """Write MODEL_DIR/adapter.gguf (a GGUF LoRA adapter, f32) from MODEL_DIR/adapter; one newer than the adapter is
    kept unless `force`. Returns its path."""
    model_dir = Path(model_dir)
    target = model_dir / ADAPTER_GGUF
    check_model_dir(model_dir)
    weights = model_dir / "adapter" / "adapter_model.safetensors"
    if target.is_file() and not force and target.stat().st_mtime_ns >= weights.stat().st_mtime_ns:
        return target  # exported after the adapter was last written (a retrained adapter is exported again)
    for module in ("torch", "transformers", "safetensors"):
        require(module, "exporting an adapter")  # the converter's imports, checked here for a one-line error
    script = converter_dir() / CONVERTER
    with tempfile.TemporaryDirectory(prefix="jurist-export-") as work:
        base = Path(work) / "base"
        _clean_base(model_dir / "base", base)

        def convert(out: Path) -> None:
            command = [sys.executable, str(script), "--base", str(base), "--outfile", str(out), "--outtype", "f32"]
            done = subprocess.run([*command, str(model_dir / "adapter")], capture_output=True, text=True, check=False)
            if done.returncode != 0:
                tail = " | ".join(done.stderr.strip().splitlines()[-3:])
                raise ConfigError(f"llama.cpp's {CONVERTER} failed on {model_dir / 'adapter'}: {tail}")

        write_through_temporary(target, convert)
    return target


def resolve_adapter(path: str | Path) -> Path:
    """A GGUF adapter file as given, or a model folder's adapter.gguf, exported first if it is missing."""
    path = Path(path)
    if path.is_dir():
        return export_adapter(path)
    if not path.is_file():
        raise InputError("no such adapter: give a GGUF LoRA adapter or a `jurist tune train` folder", file=str(path))
    return path
