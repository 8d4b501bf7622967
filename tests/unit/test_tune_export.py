"""`jurist tune export` and `jurist tune quantize`, and --adapter: the errors, and the plumbing with stubs (llama.cpp's
converter, quantizer and Llama replaced). The real round trip is tests/integration/test_tune_export_roundtrip.py."""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import subprocess
import tarfile
from pathlib import Path
from typing import Any, ClassVar

import pytest
from click.testing import CliRunner

from jurist.backends import BackendOptions, make_backend
from jurist.backends import quantize as quantizer
from jurist.cli import main
from jurist.cli.common import Server
from jurist.errors import ConfigError, InputError
from jurist.tune import export
from jurist.tune.train import TrainOptions, TrainRecord

CONVERTER = """import argparse, json, pathlib, sys
parser = argparse.ArgumentParser()
for flag in ("--base", "--outfile", "--outtype"):
    parser.add_argument(flag)
parser.add_argument("lora_path")
args = parser.parse_args()
if "fail" in args.lora_path:
    sys.exit("ValueError: the converter broke")
config = json.loads((pathlib.Path(args.base) / "config.json").read_text())
pathlib.Path(args.outfile).write_text(json.dumps({"config": config, "outtype": args.outtype, "lora": args.lora_path}))
"""


def model_dir(folder: Path, *, method: str = "sft", config: dict[str, Any] | None = None) -> Path:
    """A `jurist tune train` folder with stand-in files."""
    (folder / "adapter").mkdir(parents=True)
    (folder / "base").mkdir()
    (folder / "adapter" / "adapter_config.json").write_text("{}")
    (folder / "adapter" / "adapter_model.safetensors").write_bytes(b"weights")
    base = {"model_type": "llama", "architectures": ["LlamaForCausalLM"]} if config is None else config
    (folder / "base" / "config.json").write_text(json.dumps(base))
    (folder / "base" / "tokenizer.json").write_text("{}")
    record = TrainRecord(
        method=method,
        base={"kind": "hf", "path": "base"},
        data_dir="data",
        data_card_sha256="",
        rationale="none",
        options=TrainOptions(method=method),
        examples={},
        steps=1,
        train_tokens=1,
        wall_seconds=1.0,
        tokens_per_second=1.0,
        train_loss=None,
        dev_loss=None,
        started="",
        finished="",
        versions={},
    )
    (folder / "jurist-tune.json").write_text(record.model_dump_json())
    return folder


@pytest.fixture
def converter(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A stand-in llama.cpp checkout whose converter writes its arguments and the config it read."""
    folder = tmp_path / "llama.cpp"
    folder.mkdir()
    (folder / "convert_lora_to_gguf.py").write_text(CONVERTER)
    monkeypatch.setenv("JURIST_LLAMA_CPP", str(folder))
    return folder


# -- export --------------------------------------------------------------------------------------------------------


def test_export_writes_adapter_gguf_from_a_cleaned_base_config(tmp_path: Path, converter: Path) -> None:
    config = {"model_type": "llama", "quantization_config": {"quant_method": "gguf"}}  # as dequantized from a GGUF
    folder = model_dir(tmp_path / "model", config=config)
    path = export.export_adapter(folder)
    assert path == folder / "adapter.gguf"
    written = json.loads(path.read_text())
    assert written["config"] == {"model_type": "llama", "architectures": ["LlamaForCausalLM"]}
    assert written["outtype"] == "f32" and written["lora"] == str(folder / "adapter")
    assert json.loads((folder / "base" / "config.json").read_text()) == config  # the folder itself is left alone


def test_export_keeps_an_exported_adapter_unless_forced_or_stale(tmp_path: Path, converter: Path) -> None:
    folder = model_dir(tmp_path / "model")
    (folder / "adapter.gguf").write_text("kept")
    assert export.export_adapter(folder).read_text() == "kept"
    assert export.export_adapter(folder, force=True).read_text() != "kept"
    (folder / "adapter.gguf").write_text("kept")
    weights = folder / "adapter" / "adapter_model.safetensors"
    later = (folder / "adapter.gguf").stat().st_mtime_ns + 10**9
    os.utime(weights, ns=(later, later))  # trained again after the export
    assert export.export_adapter(folder).read_text() != "kept"


def test_a_failing_converter_is_one_error_and_leaves_no_file(tmp_path: Path, converter: Path) -> None:
    folder = model_dir(tmp_path / "fail")
    with pytest.raises(ConfigError, match=r"convert_lora_to_gguf.py failed .*the converter broke"):
        export.export_adapter(folder)
    assert sorted(p.name for p in folder.iterdir()) == ["adapter", "base", "jurist-tune.json"]


@pytest.mark.parametrize(
    ("remove", "message"),
    [
        ("jurist-tune.json", "no jurist-tune.json"),
        ("adapter/adapter_model.safetensors", "adapter_model.safetensors: the LoRA adapter is missing"),
        ("adapter/adapter_config.json", "adapter_config.json: the LoRA adapter is missing"),
        ("base/config.json", "config.json: the base model's config is missing"),
        ("base/tokenizer.json", "base: the base model's tokenizer is missing"),
    ],
)
def test_an_incomplete_model_folder_names_the_missing_file(
    tmp_path: Path, converter: Path, remove: str, message: str
) -> None:
    folder = model_dir(tmp_path / "model")
    (folder / remove).unlink()
    with pytest.raises(InputError, match=message):
        export.export_adapter(folder)


def test_a_reward_model_cannot_be_exported(tmp_path: Path, converter: Path) -> None:
    folder = model_dir(tmp_path / "model", method="reward")
    with pytest.raises(InputError, match=r"field 'method': a reward model .* cannot be exported"):
        export.export_adapter(folder)


def test_a_config_without_architecture_of_an_unknown_type_is_refused(tmp_path: Path, converter: Path) -> None:
    folder = model_dir(tmp_path / "model", config={"model_type": "no-such-model"})
    with pytest.raises(InputError, match=r"field 'architectures'"):
        export.export_adapter(folder)


def test_a_broken_base_config_is_located(tmp_path: Path, converter: Path) -> None:
    folder = model_dir(tmp_path / "model")
    (folder / "base" / "config.json").write_text('{"model_type": ')
    with pytest.raises(InputError, match=r"base/config.json:1: malformed JSON"):
        export.export_adapter(folder)


def test_a_llama_cpp_folder_without_the_converter_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JURIST_LLAMA_CPP", str(tmp_path))
    with pytest.raises(ConfigError, match=r"has no convert_lora_to_gguf.py"):
        export.converter_dir()


def test_the_converter_is_fetched_once_with_only_its_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """pip download (stubbed) yields the sdist; only the converter, its packages and gguf-py are kept."""
    monkeypatch.delenv("JURIST_LLAMA_CPP", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    calls: list[list[str]] = []

    def pip(command: list[str], **_: Any) -> subprocess.CompletedProcess[str]:
        calls.append(command)
        dest = Path(command[command.index("--dest") + 1])
        with tarfile.open(dest / "llama_cpp_python-9.9.9.tar.gz", "w:gz") as archive:
            for name in (
                "vendor/llama.cpp/convert_lora_to_gguf.py",
                "vendor/llama.cpp/conversion/base.py",
                "vendor/llama.cpp/gguf-py/gguf/__init__.py",
                "vendor/llama.cpp/src/llama.cpp",
                "llama_cpp/llama.py",
            ):
                data = name.encode()
                info = tarfile.TarInfo(f"llama_cpp_python-9.9.9/{name}")
                info.size = len(data)
                archive.addfile(info, io.BytesIO(data))
        return subprocess.CompletedProcess(command, 0, "", "")

    monkeypatch.setattr(export.subprocess, "run", pip)
    monkeypatch.setattr(pytest.importorskip("llama_cpp"), "__version__", "9.9.9")
    folder = export.converter_dir()
    assert folder == tmp_path / ".cache" / "jurist" / "llama.cpp" / "9.9.9"
    kept = sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())
    assert kept == ["conversion/base.py", "convert_lora_to_gguf.py", "gguf-py/gguf/__init__.py"]
    assert calls[0][-1] == "llama-cpp-python==9.9.9" and "--no-binary" in calls[0]
    assert export.converter_dir() == folder and len(calls) == 1


def test_a_failed_download_says_what_to_do(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("JURIST_LLAMA_CPP", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    failed = subprocess.CompletedProcess([], 1, "", "ERROR: No matching distribution found")
    monkeypatch.setattr(export.subprocess, "run", lambda *a, **k: failed)
    with pytest.raises(ConfigError, match=r"No matching distribution found.*set JURIST_LLAMA_CPP"):
        export.converter_dir()


def test_cli_export_errors_are_one_line(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["tune", "export", str(tmp_path)])
    assert result.exit_code == 2
    assert "no jurist-tune.json" in result.output and "Traceback" not in result.output


# -- --adapter -----------------------------------------------------------------------------------------------------


def gguf_header(general_type: str) -> bytes:
    """A GGUF file's header with one key, general.type (what the backend checks before llama.cpp reads it)."""
    key, value = b"general.type", general_type.encode()
    counts = (3).to_bytes(4, "little") + (0).to_bytes(8, "little") + (1).to_bytes(8, "little")
    entry = len(key).to_bytes(8, "little") + key + (8).to_bytes(4, "little") + len(value).to_bytes(8, "little") + value
    return b"GGUF" + counts + entry


class StubLlama:
    """What LlamaCppBackend uses of llama_cpp.Llama, recording its arguments."""

    made: ClassVar[list[dict[str, Any]]] = []

    def __init__(self, **kwargs: Any) -> None:
        StubLlama.made.append(kwargs)
        self.metadata = {"tokenizer.chat_template": "{{ messages }}"}
        self._model = self

    def n_ctx(self) -> int:
        return 512

    def token_eos(self) -> int:
        return 0

    def token_bos(self) -> int:
        return -1

    def token_get_text(self, token: int) -> str:
        return "</s>"


@pytest.fixture
def stub_llama(monkeypatch: pytest.MonkeyPatch) -> type[StubLlama]:
    llama_cpp = pytest.importorskip("llama_cpp")
    StubLlama.made = []
    monkeypatch.setattr(llama_cpp, "Llama", StubLlama)
    return StubLlama


def test_an_adapter_is_loaded_and_changes_the_judge_identity(tmp_path: Path, stub_llama: type[StubLlama]) -> None:
    model = tmp_path / "m.gguf"
    model.write_bytes(b"model")
    adapter = tmp_path / "a.gguf"
    adapter.write_bytes(gguf_header("adapter"))
    plain: Any = make_backend(f"gguf:{model}")
    tuned: Any = make_backend(f"gguf:{model}", BackendOptions(adapter=adapter))
    assert stub_llama.made[0]["lora_path"] is None and stub_llama.made[1]["lora_path"] == str(adapter)
    sha = hashlib.sha256(gguf_header("adapter")).hexdigest()
    assert tuned.name == f"gguf:{model}+lora:{sha[:12]}" and plain.name == f"gguf:{model}"
    assert json.loads(tuned.cache_identity)["adapter_sha256"] == sha
    assert "adapter_sha256" not in json.loads(plain.cache_identity)  # untuned cache keys as before


def test_a_model_folder_as_adapter_uses_its_adapter_gguf(tmp_path: Path, stub_llama: type[StubLlama]) -> None:
    model = tmp_path / "m.gguf"
    model.write_bytes(b"model")
    folder = tmp_path / "tuned"
    folder.mkdir()
    with pytest.raises(ConfigError, match=r"has no adapter.gguf: export it first with `jurist tune export"):
        make_backend(f"gguf:{model}", BackendOptions(adapter=folder))
    (folder / "adapter.gguf").write_bytes(gguf_header("adapter"))
    make_backend(f"gguf:{model}", BackendOptions(adapter=folder))
    assert stub_llama.made[-1]["lora_path"] == str(folder / "adapter.gguf")


def test_a_missing_adapter_file_is_an_error(tmp_path: Path, stub_llama: type[StubLlama]) -> None:
    model = tmp_path / "m.gguf"
    model.write_bytes(b"model")
    with pytest.raises(ConfigError, match=r"adapter not found"):
        make_backend(f"gguf:{model}", BackendOptions(adapter=tmp_path / "none.gguf"))


@pytest.mark.parametrize(
    ("content", "said"),
    [(gguf_header("model"), "general.type is 'model'"), (b"GGUF\x03", "no GGUF general.type"), (b"{}", "no GGUF")],
)
def test_a_file_that_is_not_an_adapter_is_refused_before_llama_cpp_reads_it(
    tmp_path: Path, stub_llama: type[StubLlama], content: bytes, said: str
) -> None:
    """llama.cpp crashes the process on a model file given as an adapter."""
    model = tmp_path / "m.gguf"
    model.write_bytes(b"model")
    (tmp_path / "a.gguf").write_bytes(content)
    with pytest.raises(ConfigError, match=re.escape(f"is not a GGUF LoRA adapter ({said}")):
        make_backend(f"gguf:{model}", BackendOptions(adapter=tmp_path / "a.gguf"))
    assert stub_llama.made == []


@pytest.mark.parametrize("spec", ["openai:gpt-4o-mini", "anthropic:claude", "replay:x.jsonl"])
def test_an_adapter_with_a_model_llama_cpp_does_not_run_is_refused(spec: str, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"an adapter applies to llama.cpp models only"):
        make_backend(spec, BackendOptions(adapter=tmp_path / "a.gguf"))


def server(model: str, adapter: Path | None) -> Server:
    return Server(
        model=model, base_url=None, api_key_env=None, concurrency=None, timeout=60, max_retries=0, adapter=adapter
    )


def test_the_cli_exports_a_model_folder_given_as_adapter(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    exported: list[Path] = []

    def fake_export(folder: Path) -> Path:
        exported.append(folder)
        return folder / "adapter.gguf"

    monkeypatch.setattr(export, "export_adapter", fake_export)
    assert server("local", tmp_path).job(cache=False).backend.adapter == tmp_path / "adapter.gguf"
    assert exported == [tmp_path]
    assert server("local", None).job(cache=False).backend.adapter is None


def test_the_cli_refuses_an_adapter_for_an_api_model(tmp_path: Path) -> None:
    data = tmp_path / "pairs.jsonl"
    data.write_text('{"id": "1", "prompt": "p", "response_a": "a", "response_b": "b"}\n')
    args = ["judge", str(data), "--mode", "pairwise", "--model", "openai:m", "--adapter", str(tmp_path / "a.gguf")]
    result = CliRunner().invoke(main, [*args, "--out", str(tmp_path / "run")])
    assert result.exit_code == 2, result.output
    assert "--adapter applies to llama.cpp models" in result.output and "Traceback" not in result.output


# -- quantize ------------------------------------------------------------------------------------------------------


def test_quantize_passes_the_type_and_requantize_to_llama_cpp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    llama_cpp = pytest.importorskip("llama_cpp")
    source = tmp_path / "model.gguf"
    source.write_bytes(b"f16 weights")
    seen: list[Any] = []

    def quantize(inp: bytes, out: bytes, params: Any) -> int:
        p = params._obj
        seen.append((inp, p.ftype, p.allow_requantize, p.nthread))
        Path(out.decode()).write_bytes(b"quantized")
        return 0

    monkeypatch.setattr(llama_cpp, "llama_model_quantize", quantize)
    monkeypatch.setattr(quantizer, "file_type", lambda path: 1)  # f16
    out = quantizer.quantize_gguf(source, tmp_path / "q.gguf", "q4_k_m", threads=2)
    assert out.read_bytes() == b"quantized"
    assert seen == [(str(source).encode(), llama_cpp.LLAMA_FTYPE_MOSTLY_Q4_K_M, False, 2)]

    monkeypatch.setattr(quantizer, "file_type", lambda path: 3)  # Q4_1: already quantized
    with pytest.raises(InputError, match=r"already quantized .*--allow-requantize"):
        quantizer.quantize_gguf(source, tmp_path / "q8.gguf", "q8_0")
    quantizer.quantize_gguf(source, tmp_path / "q8.gguf", "q8_0", allow_requantize=True)
    assert seen[-1][1:3] == (llama_cpp.LLAMA_FTYPE_MOSTLY_Q8_0, True)


def test_a_failed_quantization_leaves_no_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    llama_cpp = pytest.importorskip("llama_cpp")
    source = tmp_path / "model.gguf"
    source.write_bytes(b"f16 weights")
    monkeypatch.setattr(llama_cpp, "llama_model_quantize", lambda *args: 1)
    monkeypatch.setattr(quantizer, "file_type", lambda path: 1)
    with pytest.raises(ConfigError, match=r"could not quantize"):
        quantizer.quantize_gguf(source, tmp_path / "q.gguf", "q8_0")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.gguf"]


def test_quantize_input_errors(tmp_path: Path) -> None:
    pytest.importorskip("llama_cpp")
    source = tmp_path / "model.gguf"
    with pytest.raises(InputError, match=r"no such GGUF file"):
        quantizer.quantize_gguf(source, tmp_path / "q.gguf", "q8_0")
    source.write_text("not a gguf")
    with pytest.raises(ConfigError, match="another file than the source"):
        quantizer.quantize_gguf(source, source, "q8_0")
    with pytest.raises(InputError, match=r"not a GGUF model llama.cpp can load"):
        quantizer.quantize_gguf(source, tmp_path / "q.gguf", "q8_0")
    with pytest.raises(ConfigError, match="unknown quantization type 'q9'"):
        quantizer.quantize_gguf(source, tmp_path / "q.gguf", "q9")


def test_cli_quantize_offers_the_types(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["tune", "quantize", str(tmp_path / "x.gguf"), "--type", "q9", "--out", "y"])
    assert result.exit_code == 2 and "q4_k_m" in result.output
