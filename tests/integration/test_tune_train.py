"""`jurist tune train` on the embedded model, a step or two per method: the model folder it writes (adapter, base
config and tokenizer, log, record), resuming from a checkpoint, and bad input exiting 2 before any model loads."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

pytest.importorskip("torch", reason="jurist[tune] is not installed: training is untested")
pytest.importorskip("trl", reason="jurist[tune] is not installed: training is untested")
pytestmark = pytest.mark.embedded

from jurist.cli.tune import tune  # noqa: E402
from jurist.tune.data import TuneOptions, build_training_data  # noqa: E402

ROWS = [
    ("What is 2 + 2?", "4", "5", "A"),
    ("Name a primary colour.", "Green.", "Red.", "B"),
    ("Capital of France?", "Paris.", "Lyon.", "A"),
    ("Opposite of hot?", "Warm.", "Cold.", "B"),
    ("Spell 'cat' backwards.", "tac", "act", "A"),
    ("Largest planet?", "Mars.", "Jupiter.", "B"),
]


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("tune")
    source = folder / "pairs.jsonl"
    lines = [
        json.dumps({"id": f"p{k}", "prompt": p, "response_a": a, "response_b": b, "label": label})
        for k, (p, a, b, label) in enumerate(ROWS)
    ]
    source.write_text("\n".join(lines) + "\n", encoding="utf-8")
    build_training_data([str(source)], folder / "data", TuneOptions(length_balance=1, dev_share=0.2, seed=1))
    return folder / "data"


def train(data: Path, out: Path, *args: str) -> Any:
    tiny = ["--max-steps", "1", "--batch-size", "2", "--max-examples", "4", "--save-steps", "1", "--lora-r", "4"]
    return CliRunner().invoke(tune, ["train", str(data), "--out", str(out), *tiny, *args])


def test_bad_input_exits_2_before_loading_a_model(tmp_path: Path, data_dir: Path) -> None:
    result = train(tmp_path, tmp_path / "m")
    assert result.exit_code == 2 and "no data_card.json" in result.output and "jurist tune data" in result.output
    hf = tmp_path / "hf"
    hf.mkdir()
    (hf / "config.json").write_text("{}", encoding="utf-8")
    result = train(data_dir, tmp_path / "m", "--base", str(hf))
    assert result.exit_code == 2 and "has no tokenizer" in result.output
    result = train(data_dir, tmp_path / "m", "--max-length", "20")
    assert result.exit_code == 2 and "longer than --max-length 20 tokens" in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_sft_writes_a_complete_model_folder_and_resumes(tmp_path: Path, data_dir: Path) -> None:
    out = tmp_path / "sft"
    result = train(data_dir, out, "--max-steps", "2")
    assert result.exit_code == 0, result.output
    record = json.loads((out / "jurist-tune.json").read_text(encoding="utf-8"))
    assert record["method"] == "sft" and record["steps"] == 2 and record["base"]["kind"] == "gguf"
    assert record["examples"]["train"] == 4 and record["train_tokens"] > 0 and record["dev_loss"] is not None
    assert len(record["base"]["sha256"]) == 64 and record["rationale"] == "none"
    adapter = json.loads((out / "adapter" / "adapter_config.json").read_text(encoding="utf-8"))
    assert adapter["r"] == 4 and (out / "adapter" / "adapter_model.safetensors").stat().st_size > 0
    assert (out / "base" / "config.json").is_file() and (out / "base" / "tokenizer.json").is_file()
    assert not list((out / "base").glob("*.safetensors"))  # config and tokenizer only
    log = [json.loads(line) for line in (out / "log.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [line["step"] for line in log] == [1, 2] and log[0]["tokens_per_second"] > 0
    assert "step 2/2" in result.output and "tokens/s" in result.output and "ETA" in result.output

    again = train(data_dir, out, "--max-steps", "2")  # finished: refused, not silently retrained
    assert again.exit_code == 2 and "--force" in again.output
    # a crash after the first checkpoint: only checkpoint-1 and the first log line are there -> trains step 2 only
    for name in ("jurist-tune.json", "adapter", "checkpoints/checkpoint-2"):
        shutil.rmtree(out / name) if (out / name).is_dir() else (out / name).unlink()
    (out / "log.jsonl").write_text(json.dumps(log[0]) + "\n", encoding="utf-8")
    resumed = train(data_dir, out, "--max-steps", "2")
    assert resumed.exit_code == 0, resumed.output
    assert "resuming" in resumed.output
    lines = (out / "log.jsonl").read_text(encoding="utf-8").splitlines()
    assert [json.loads(line)["step"] for line in lines] == [1, 2]  # no step trained twice
    assert json.loads((out / "jurist-tune.json").read_text(encoding="utf-8"))["steps"] == 2
    (out / "jurist-tune.json").unlink()
    other = train(data_dir, out, "--max-steps", "2", "--seed", "3")
    assert other.exit_code == 2 and "another configuration" in other.output


@pytest.mark.parametrize("method", ["dpo", "reward"])
def test_dpo_and_reward_train_a_step(tmp_path: Path, data_dir: Path, method: str) -> None:
    out = tmp_path / method
    result = train(data_dir, out, "--method", method)
    assert result.exit_code == 0, result.output
    record = json.loads((out / "jurist-tune.json").read_text(encoding="utf-8"))
    assert record["method"] == method and record["steps"] == 1
    adapter = json.loads((out / "adapter" / "adapter_config.json").read_text(encoding="utf-8"))
    assert adapter["task_type"] == ("SEQ_CLS" if method == "reward" else "CAUSAL_LM")
