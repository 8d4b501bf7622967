"""A pairwise judge made of a reward model that `jurist tune train --method reward` trained (a LoRA adapter of
AutoModelForSequenceClassification with one label, its `score` head saved in the adapter).

Each response is scored alone after its prompt, as the reward data shows it (the earlier turns, the user's prompt,
then the response as the assistant's answer); the higher score wins, equal scores tie. P(A wins) is the
Bradley-Terry probability sigmoid(score_A - score_B) the head was trained on. A response's score does not depend on
the order the pair is shown in, so both orders always agree: position consistency is not measured (None).
torch, transformers and peft (`jurist[tune]`) are imported only when the model is loaded.
"""

from __future__ import annotations

import asyncio
import hashlib
import math
import sys
import threading
from pathlib import Path
from typing import Any

from ..errors import InputError
from ..extras import require
from ..judges.base import JudgeSpec
from ..outcomes import Preference, Winner
from ..types import Item, Verdict
from .train import TrainRecord, hf_folder, load_model, load_tokenizer

ADAPTER = "adapter"  # the PEFT adapter's folder in a model dir
WEIGHTS = "adapter_model.safetensors"


def _adapter_sha256(model_dir: Path) -> str:
    path = model_dir / ADAPTER / WEIGHTS
    if not path.is_file():
        raise InputError(
            "the reward model's adapter is missing", file=str(path), hint="train it with `jurist tune train`"
        )
    return hashlib.sha256(path.read_bytes()).hexdigest()


class RewardModelJudge:
    """Judges a pair by the reward model's two scores (see the module's notes); loads the model on first use."""

    def __init__(self, model_dir: str | Path, record: TrainRecord) -> None:
        self.model_dir = Path(model_dir)
        self.record = record
        identity = {
            "kind": "reward-model",
            "base": record.base.model_dump(),
            "adapter_sha256": _adapter_sha256(self.model_dir),  # the weights decide the scores, not the folder
        }
        self._spec = JudgeSpec(mode="pairwise", identity=identity)
        self._loaded: tuple[Any, Any] | None = None
        self._lock = threading.Lock()

    @property
    def spec(self) -> JudgeSpec:
        return self._spec

    def load(self) -> tuple[Any, Any]:
        """The tokenizer and the model with its adapter, loaded once."""
        with self._lock:
            if self._loaded is None:
                peft = require("peft", "evaluating a tuned reward model")
                # its progress line goes to stderr: stdout carries the command's table
                folder = hf_folder(self.record.base, lambda line: print(line, file=sys.stderr))
                tokenizer = load_tokenizer(folder)
                model = load_model(folder, "reward")
                model.config.pad_token_id = tokenizer.pad_token_id
                model = peft.PeftModel.from_pretrained(model, str(self.model_dir / ADAPTER))
                model.eval()
                self._loaded = (tokenizer, model)
            return self._loaded

    def scores(self, item: Item) -> tuple[float, float]:
        """The reward of response A and of response B, each after the item's conversation and prompt."""
        torch = require("torch", "evaluating a tuned reward model")
        tokenizer, model = self.load()
        prompt = [{"role": t.role, "content": t.content} for t in item.turns or []]
        prompt.append({"role": "user", "content": item.prompt})
        out = []
        for response in (item.response_a or "", item.response_b or ""):
            conversation = [*prompt, {"role": "assistant", "content": response}]
            ids = tokenizer.apply_chat_template(conversation, tokenize=True, return_dict=True, return_tensors="pt")
            with torch.no_grad():
                out.append(float(model(**ids).logits[0, 0]))
        return out[0], out[1]

    async def __call__(self, item: Item) -> Verdict:
        a, b = await asyncio.to_thread(self.scores, item)
        winner: Winner = "A" if a > b else "B" if b > a else "tie"
        p_a = 1 / (1 + math.exp(max(-50.0, min(50.0, b - a))))
        return Verdict(
            id=item.id,
            mode="pairwise",
            outcome=Preference(winner=winner, probs={"A": p_a, "B": 1 - p_a}),
            raw=[f"reward A {a:.4f}, reward B {b:.4f}"],
        )
