"""`jurist tune train`: LoRA fine-tuning of a judge on the data `jurist tune data` built, with TRL.

Three methods over the same data folder: `sft` teaches the verdict (the judge's own prompt -> its JSON answer, the
loss on the answer only), `dpo` prefers the right verdict to the swapped one (the reference model is the base with
the adapter switched off), `reward` trains a Bradley-Terry head that scores a response (a sequence classifier with
one label). The base is the embedded model's GGUF (transformers dequantizes it) or any Hugging Face causal LM folder.

A model folder holds: `adapter/` (the PEFT adapter), `base/` (the base's config and tokenizer, no weights: what
llama.cpp's converter needs), `train-config.json` (written first: a re-run with the same config resumes from the
newest checkpoint in `checkpoints/`), `log.jsonl` (one line per logged step) and, once done, `jurist-tune.json`.
torch, transformers, peft and trl are the extra `jurist[tune]`, imported only here.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field, ValidationError

from ..errors import ConfigError, InputError
from ..extras import require
from ..files import write_atomic
from .data import CARD_JSON, DataCard

Method = Literal["sft", "dpo", "reward"]
RECORD = "jurist-tune.json"
CONFIG = "train-config.json"
LOG = "log.jsonl"
# the data format each method reads (jurist tune data writes all three)
FORMAT: dict[str, str] = {"sft": "sft", "dpo": "preference", "reward": "reward"}
TOKENIZER_FILES = ("tokenizer.json", "tokenizer.model", "vocab.json")


class TrainOptions(BaseModel):
    """How a judge is fine-tuned; all of it is recorded with the model (train-config.json, jurist-tune.json)."""

    method: Method = "sft"
    base: str | None = None  # a GGUF file or a Hugging Face model folder; None = the embedded model's GGUF
    epochs: float = Field(1.0, gt=0)
    max_steps: int | None = Field(None, gt=0)  # stop after this many optimizer steps (overrides epochs)
    batch_size: int = Field(8, gt=0)
    grad_accum: int = Field(1, gt=0)
    learning_rate: float | None = Field(None, gt=0)  # None: 2e-4 for sft and reward, 5e-6 for dpo
    lora_r: int = Field(16, gt=0)
    lora_alpha: int = Field(32, gt=0)
    lora_dropout: float = Field(0.05, ge=0, lt=1)
    max_length: int = Field(768, gt=16)  # longer examples are left out (counted), never truncated: that would cut
    # the answer the judge learns
    max_examples: int | None = Field(None, gt=0)  # the first N training examples (after the length filter)
    beta: float = Field(0.1, gt=0)  # DPO's temperature
    seed: int = 0
    save_steps: int = Field(25, gt=0)
    threads: int | None = Field(None, gt=0)  # torch's threads; None = every core
    bf16: bool = False  # bfloat16 weights: faster only on CPUs with bf16 instructions (docs/guide.md)

    def lr(self) -> float:
        return self.learning_rate or (5e-6 if self.method == "dpo" else 2e-4)


class BaseInfo(BaseModel):
    kind: Literal["gguf", "hf"]
    path: str
    sha256: str | None = None  # of a GGUF file (a folder's identity is its path)


class TrainRecord(BaseModel):
    """What `jurist tune train` did: written last, so its presence means the adapter is complete."""

    method: Method
    base: BaseInfo
    data_dir: str
    data_card_sha256: str
    rationale: str  # the judge's answer format the data used ("none": the verdict alone; "after": then a rationale)
    options: TrainOptions
    examples: dict[str, int]  # train/dev used, and left out for length
    steps: int
    train_tokens: int
    wall_seconds: float  # of this process's training (a resumed run counts its last leg)
    tokens_per_second: float
    train_loss: float | None
    dev_loss: float | None
    started: str
    finished: str
    versions: dict[str, str]


Progress = Callable[[str], None]


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def resolve_base(base: str | None) -> BaseInfo:
    """The base model: a GGUF file, or a Hugging Face folder with its config and tokenizer (checked here, before
    any weights are loaded)."""
    if base is None:
        from ..backends.embedded import shipped_model_path  # the file as shipped: its hash is the known one

        path = Path(shipped_model_path())
        return BaseInfo(kind="gguf", path=str(path), sha256=_sha256(path))
    path = Path(base)
    if path.is_file() and path.suffix.lower() == ".gguf":
        return BaseInfo(kind="gguf", path=str(path.resolve()), sha256=_sha256(path))
    if not path.is_dir():
        raise InputError("no such model: give a GGUF file or a Hugging Face model folder", file=str(path))
    if not (path / "config.json").is_file():
        raise InputError("not a Hugging Face model folder: it has no config.json", file=str(path))
    if not any((path / name).is_file() for name in TOKENIZER_FILES):
        raise InputError(
            "the model folder has no tokenizer (tokenizer.json, tokenizer.model or vocab.json)",
            file=str(path),
            hint="save the tokenizer beside the model (tokenizer.save_pretrained(folder))",
        )
    return BaseInfo(kind="hf", path=str(path.resolve()))


def hf_folder(base: BaseInfo, say: Progress = print) -> Path:
    """The base as a Hugging Face folder. A GGUF file is dequantized once (transformers reads it; a model loaded
    from a GGUF counts as quantized and cannot be trained) into jurist's model folder, keyed by the file's hash."""
    if base.kind == "hf":
        return Path(base.path)
    from ..backends.embedded import models_dir

    assert base.sha256 is not None
    folder = models_dir() / "hf" / base.sha256[:16]
    if (folder / "config.json").is_file():
        return folder
    transformers = require("transformers", "fine-tuning a judge")
    path = Path(base.path)
    say(f"dequantizing {path.name} into {folder} (once)")
    tokenizer = transformers.AutoTokenizer.from_pretrained(str(path.parent), gguf_file=path.name)
    model = transformers.AutoModelForCausalLM.from_pretrained(str(path.parent), gguf_file=path.name)
    model.hf_quantizer = None
    model.is_quantized = False
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    partial = folder.with_name(folder.name + ".partial")
    model.save_pretrained(str(partial))
    tokenizer.save_pretrained(str(partial))
    partial.replace(folder)  # whole or absent: a crash mid-save leaves only the .partial folder
    return folder


def load_tokenizer(folder: Path) -> Any:
    transformers = require("transformers", "fine-tuning a judge")
    tokenizer = transformers.AutoTokenizer.from_pretrained(str(folder))
    if tokenizer.chat_template is None:
        raise InputError(
            "the base model's tokenizer has no chat template: a judge is prompted as a chat", file=str(folder)
        )
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer


def load_model(folder: Path, method: Method, *, bf16: bool = False) -> Any:
    torch = require("torch", "fine-tuning a judge")
    transformers = require("transformers", "fine-tuning a judge")
    dtype = torch.bfloat16 if bf16 else torch.float32
    if method == "reward":
        return transformers.AutoModelForSequenceClassification.from_pretrained(str(folder), num_labels=1, dtype=dtype)
    return transformers.AutoModelForCausalLM.from_pretrained(str(folder), dtype=dtype)


def _read_rows(path: Path) -> list[dict[str, Any]]:
    if not path.is_file():
        raise InputError("missing training data file: build it with `jurist tune data`", file=str(path))
    rows = []
    with path.open(encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            if line.strip():
                try:
                    rows.append(json.loads(line))
                except json.JSONDecodeError as exc:
                    raise InputError(f"not JSON: {exc.msg}", file=str(path), line=number) from None
    return rows


def _length(tokenizer: Any, method: Method, row: dict[str, Any]) -> int:
    """The tokens of the longest sequence the method builds from a row."""
    if method == "sft":
        conversation = row["messages"]
    else:
        conversation = row["prompt"] + max(row["chosen"], row["rejected"], key=lambda m: len(m[0]["content"]))
    ids = tokenizer.apply_chat_template(conversation, tokenize=True, return_dict=True)["input_ids"]
    return len(ids)


def _to_prompt_completion(row: dict[str, Any]) -> dict[str, Any]:
    """TRL computes the SFT loss on the completion alone in the prompt-completion format."""
    messages = row["messages"]
    return {"prompt": messages[:-1], "completion": messages[-1:]}


def load_examples(
    data_dir: Path, method: Method, tokenizer: Any, options: TrainOptions
) -> tuple[dict[str, list[dict[str, Any]]], dict[str, int], int]:
    """Train and dev rows of the method's format, without those longer than max_length; the counts; the tokens of
    the train rows."""
    fmt = FORMAT[method]
    splits: dict[str, list[dict[str, Any]]] = {}
    counts: dict[str, int] = {}
    train_tokens = 0
    for split in ("train", "dev"):
        rows = _read_rows(data_dir / fmt / f"{split}.jsonl")
        if split == "train" and not rows:
            raise InputError("no training examples", file=str(data_dir / fmt / "train.jsonl"))
        lengths = [_length(tokenizer, method, row) for row in rows]
        kept = [(row, n) for row, n in zip(rows, lengths, strict=True) if n <= options.max_length]
        counts[f"{split} longer than {options.max_length} tokens"] = len(rows) - len(kept)
        if split == "train":
            kept = kept[: options.max_examples]
            train_tokens = sum(n for _, n in kept)
        counts[split] = len(kept)
        splits[split] = [_to_prompt_completion(r) if method == "sft" else r for r, _ in kept]
    if not splits["train"]:
        raise InputError(
            f"every training example is longer than --max-length {options.max_length} tokens",
            file=str(data_dir / fmt / "train.jsonl"),
            hint="raise --max-length, or build shorter data (jurist tune data --max-chars)",
        )
    return splits, counts, train_tokens


def read_card(data_dir: Path) -> tuple[DataCard, str]:
    path = data_dir / CARD_JSON
    if not path.is_file():
        raise InputError(
            "not a training data folder (no data_card.json): build one with `jurist tune data`", file=str(data_dir)
        )
    text = path.read_text(encoding="utf-8")
    return DataCard.model_validate_json(text), hashlib.sha256(text.encode()).hexdigest()


def _progress_callback(transformers: Any, out: Path, say: Progress, tokens_per_step: float, started: float) -> Any:
    """One line per logged step (and in log.jsonl): step/total, loss, tokens/s, ETA. tokens/s counts the examples'
    real tokens (no padding)."""

    class ProgressCallback(transformers.TrainerCallback):
        def __init__(self) -> None:
            self.first_step: int | None = None

        def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            if self.first_step is None:
                self.first_step = state.global_step - 1  # a resumed run starts past step 0

        def on_log(self, args: Any, state: Any, control: Any, logs: dict[str, Any] | None = None, **kw: Any) -> None:
            if not logs or "loss" not in logs or self.first_step is None:
                return
            done = state.global_step - self.first_step
            elapsed = time.monotonic() - started
            rate = done * tokens_per_step / elapsed if elapsed > 0 else 0.0
            left = (state.max_steps - state.global_step) * elapsed / done if done else 0.0
            line = {
                "step": state.global_step,
                "of": state.max_steps,
                "epoch": round(state.epoch or 0, 3),
                "loss": logs["loss"],
                "learning_rate": logs.get("learning_rate"),
                "tokens_per_second": round(rate, 1),
                "elapsed_seconds": round(elapsed, 1),
                "eta_seconds": round(left, 1),
            }
            with (out / LOG).open("a", encoding="utf-8") as f:
                f.write(json.dumps(line) + "\n")
            say(
                f"step {state.global_step}/{state.max_steps}  loss {logs['loss']:.4f}  {rate:.0f} tokens/s  "
                f"elapsed {elapsed / 60:.1f} min  ETA {left / 60:.1f} min"
            )

    return ProgressCallback()


def _trainer(
    method: Method,
    model: Any,
    tokenizer: Any,
    splits: dict[str, list[dict[str, Any]]],
    options: TrainOptions,
    out: Path,
) -> Any:
    datasets = require("datasets", "fine-tuning a judge")
    peft = require("peft", "fine-tuning a judge")
    trl = require("trl", "fine-tuning a judge")
    train = datasets.Dataset.from_list(splits["train"])
    common: dict[str, Any] = {
        "output_dir": str(out / "checkpoints"),
        "per_device_train_batch_size": options.batch_size,
        "per_device_eval_batch_size": options.batch_size,
        "gradient_accumulation_steps": options.grad_accum,
        "learning_rate": options.lr(),
        "num_train_epochs": options.epochs,
        "max_steps": options.max_steps or -1,
        "lr_scheduler_type": "cosine",
        "warmup_steps": 0.05,
        "logging_steps": 1,
        "save_strategy": "steps",
        "save_steps": options.save_steps,
        "save_total_limit": 2,
        "eval_strategy": "no",
        "report_to": "none",
        "disable_tqdm": True,
        "use_cpu": True,
        "bf16": options.bf16,
        "seed": options.seed,
        "data_seed": options.seed,
        "max_length": options.max_length,
        "dataloader_num_workers": 0,
        # a 135M model fits in memory as it is: recomputing activations would only cost time
        "gradient_checkpointing": False,
    }
    lora = {"r": options.lora_r, "lora_alpha": options.lora_alpha, "lora_dropout": options.lora_dropout}
    targets = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
    if method == "sft":
        config = trl.SFTConfig(**common, completion_only_loss=True, packing=False)
        peft_config = peft.LoraConfig(task_type="CAUSAL_LM", target_modules=targets, **lora)
        return trl.SFTTrainer(
            model=model, args=config, train_dataset=train, processing_class=tokenizer, peft_config=peft_config
        )
    if method == "dpo":
        config = trl.DPOConfig(**common, beta=options.beta)
        peft_config = peft.LoraConfig(task_type="CAUSAL_LM", target_modules=targets, **lora)
        return trl.DPOTrainer(
            model=model, args=config, train_dataset=train, processing_class=tokenizer, peft_config=peft_config
        )
    model.config.pad_token_id = tokenizer.pad_token_id
    config = trl.RewardConfig(**common)
    peft_config = peft.LoraConfig(task_type="SEQ_CLS", target_modules=targets, modules_to_save=["score"], **lora)
    return trl.RewardTrainer(
        model=model, args=config, train_dataset=train, processing_class=tokenizer, peft_config=peft_config
    )


def _versions() -> dict[str, str]:
    import importlib.metadata as metadata

    return {name: metadata.version(name) for name in ("torch", "transformers", "peft", "trl")}


def train(
    data_dir: str | Path,
    out: str | Path,
    options: TrainOptions | None = None,
    *,
    force: bool = False,
    say: Progress = print,
) -> TrainRecord:
    """Fine-tune a judge on `data_dir` (from `jurist tune data`) into the model folder `out`; resumes from the
    newest checkpoint when `out` holds an unfinished run with the same config."""
    options = options or TrainOptions()
    data_dir, out = Path(data_dir), Path(out)
    card, card_sha = read_card(data_dir)
    if options.method == "dpo" and card.options.ties == "keep":
        say("note: tied pairs have no rejected answer: DPO trains on the decided pairs only")
    base = resolve_base(options.base)
    config = {"data_dir": str(data_dir.resolve()), "data_card_sha256": card_sha, "base": base.model_dump()}
    config["options"] = options.model_dump()
    resume = False
    if (out / RECORD).exists() and not force:
        raise ConfigError(f"{out} holds a trained model already: choose another --out, or --force to replace it")
    if (out / CONFIG).exists() and not force:
        previous = json.loads((out / CONFIG).read_text(encoding="utf-8"))
        if previous != config:
            raise ConfigError(
                f"{out} holds an unfinished run with another configuration ({out / CONFIG}): give the same options "
                "to resume it, another --out, or --force to start over"
            )
        resume = any((out / "checkpoints").glob("checkpoint-*"))
    if force and out.exists():
        import shutil

        shutil.rmtree(out)
    out.mkdir(parents=True, exist_ok=True)
    write_atomic(out / CONFIG, json.dumps(config, indent=2) + "\n")

    torch = require("torch", "fine-tuning a judge")
    transformers = require("transformers", "fine-tuning a judge")
    torch.set_num_threads(options.threads or os.cpu_count() or 1)
    transformers.set_seed(options.seed)
    transformers.logging.set_verbosity_error()
    started_at = datetime.now(UTC).isoformat(timespec="seconds")

    datasets = require("datasets", "fine-tuning a judge")
    datasets.disable_progress_bars()
    transformers.utils.logging.disable_progress_bar()
    folder = hf_folder(base, say)
    say(f"loading {folder}")
    tokenizer = load_tokenizer(folder)
    splits, counts, train_tokens = load_examples(data_dir, options.method, tokenizer, options)
    say(
        f"{counts['train']} training examples ({train_tokens} tokens), {counts['dev']} dev; left out for length: "
        + ", ".join(f"{counts[k]} {k.split(' ', 1)[0]}" for k in counts if "longer" in k)
    )
    model = load_model(folder, options.method, bf16=options.bf16)
    trainer = _trainer(options.method, model, tokenizer, splits, options, out)
    steps_per_epoch = math.ceil(counts["train"] / (options.batch_size * options.grad_accum))
    total_steps = options.max_steps or math.ceil(steps_per_epoch * options.epochs)
    tokens_per_step = train_tokens / max(counts["train"], 1) * options.batch_size * options.grad_accum
    started = time.monotonic()
    trainer.add_callback(_progress_callback(transformers, out, say, tokens_per_step, started))
    say(f"{options.method}: {total_steps} steps" + (" (resuming from the newest checkpoint)" if resume else ""))
    result = trainer.train(resume_from_checkpoint=True if resume else None)
    wall = time.monotonic() - started

    dev_loss = None
    if splits["dev"]:
        metrics = trainer.evaluate(eval_dataset=datasets.Dataset.from_list(splits["dev"]))
        dev_loss = metrics.get("eval_loss")
    trainer.model.save_pretrained(str(out / "adapter"))
    save_base(folder, out / "base")
    steps_run = trainer.state.global_step
    tokens_run = tokens_per_step * steps_run
    record = TrainRecord(
        method=options.method,
        base=base,
        data_dir=str(data_dir.resolve()),
        data_card_sha256=card_sha,
        rationale=card.options.rationale,
        options=options,
        examples=counts,
        steps=steps_run,
        train_tokens=int(tokens_run),
        wall_seconds=round(wall, 1),
        tokens_per_second=round(tokens_run / wall, 1) if wall > 0 else 0.0,
        train_loss=getattr(result, "training_loss", None),
        dev_loss=dev_loss,
        started=started_at,
        finished=datetime.now(UTC).isoformat(timespec="seconds"),
        versions=_versions(),
    )
    write_atomic(out / RECORD, record.model_dump_json(indent=2) + "\n")
    say(f"wrote {out} ({steps_run} steps in {wall / 60:.1f} min, dev loss {dev_loss})")
    return record


def save_base(folder: Path, target: Path) -> None:
    """The base's config, generation config and tokenizer (no weights): llama.cpp's LoRA converter reads them."""
    import shutil

    target.mkdir(parents=True, exist_ok=True)
    for path in folder.iterdir():
        if path.is_file() and not path.name.endswith((".safetensors", ".bin", ".pt")):
            shutil.copy2(path, target / path.name)


def read_record(model_dir: str | Path) -> TrainRecord:
    """The training record of a finished model folder, or a clear error."""
    path = Path(model_dir) / RECORD
    if not path.is_file():
        raise InputError(
            "not a finished model folder (no jurist-tune.json): train one with `jurist tune train`",
            file=str(model_dir),
        )
    try:
        return TrainRecord.model_validate_json(path.read_text(encoding="utf-8"))
    except ValidationError as exc:
        where = ".".join(str(part) for part in exc.errors()[0]["loc"]) or None
        raise InputError(
            f"not a training record jurist can read: {exc.errors()[0]['msg']}",
            file=str(path),
            field=where,
            hint="train the model again (jurist tune train ... --force)",
        ) from None
