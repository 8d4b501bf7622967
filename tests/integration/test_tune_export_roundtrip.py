"""The exported adapter judges in llama.cpp as the PyTorch model does: a LoRA adapter with random (non-zero) weights
on the embedded model, saved as a `jurist tune train` folder, exported to GGUF and loaded with --adapter.

Both sides see the same tokens: the prompt as llama.cpp's backend formats it (the GGUF's chat template) and the
answer's opening up to the label; both read the verdict with jurist's own reading of label probabilities."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("llama_cpp")
torch = pytest.importorskip("torch")
peft = pytest.importorskip("peft")
pytestmark = pytest.mark.embedded

from jurist.backends import BackendOptions, make_backend  # noqa: E402
from jurist.backends.base import GenerateResponse, TokenLogprob  # noqa: E402
from jurist.errors import ConfigError  # noqa: E402
from jurist.judges import JudgeConfig, make_judge  # noqa: E402
from jurist.judges.pairwise import PairwiseJudge  # noqa: E402
from jurist.parse import label_probabilities  # noqa: E402
from jurist.tune.export import converter_dir, export_adapter  # noqa: E402
from jurist.tune.train import TrainOptions, TrainRecord, hf_folder, load_model, resolve_base, save_base  # noqa: E402
from jurist.types import Item, Usage  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
ITEMS = [
    Item.model_validate(json.loads(line)) for line in (ROOT / "examples" / "pairs.jsonl").read_text().splitlines()[:4]
]


def write_model_dir(folder: Path) -> Any:
    """A model folder as `jurist tune train` writes it (its record written here), and the PyTorch model in it."""
    base = resolve_base(None)  # the embedded model's GGUF
    weights = hf_folder(base)  # dequantized by transformers, once
    model = load_model(weights, "sft")
    save_base(weights, folder / "base")
    torch.manual_seed(0)
    config = peft.LoraConfig(r=8, lora_alpha=16, lora_dropout=0.0, target_modules=["q_proj", "v_proj", "o_proj"])
    tuned = peft.get_peft_model(model, config)
    with torch.no_grad():
        for name, weight in tuned.named_parameters():
            if "lora_B" in name:  # peft starts B at zero (no change): random B makes the adapter change verdicts
                weight.normal_(0.0, 0.2)
    tuned.save_pretrained(str(folder / "adapter"))
    record = TrainRecord(
        method="sft",
        base=base,
        data_dir="",
        data_card_sha256="",
        rationale="none",
        options=TrainOptions(),
        examples={},
        steps=0,
        train_tokens=0,
        wall_seconds=0.0,
        tokens_per_second=0.0,
        train_loss=None,
        dev_loss=None,
        started="",
        finished="",
        versions={},
    )
    (folder / "jurist-tune.json").write_text(record.model_dump_json())
    return tuned.eval()


def llama_cpp_verdicts(judge: PairwiseJudge) -> list[tuple[str, float, str]]:
    """(winner, its probability, the answer's text up to the label) per item, one order."""
    out = []
    for item in ITEMS:
        (request,) = judge.requests(item)
        response = asyncio.run(judge.backend.generate(request))
        found = judge.answer_format.read(response.text)
        probs = label_probabilities(response, found.offset, judge.answer_format.logprob_tokens)
        assert probs is not None and found.offset is not None, response.text
        winner = max(probs, key=lambda label: probs[label])
        out.append((winner, probs[winner], response.text[: found.offset]))
    return out


def torch_verdict(model: Any, judge: PairwiseJudge, item: Item, opening: str) -> tuple[str, float]:
    """The PyTorch model's verdict on the same tokens, read as jurist reads llama.cpp's top logprobs."""
    backend: Any = judge.backend
    (request,) = judge.requests(item)
    tokens = backend._prompt_tokens(request.messages)
    tokens += backend._llm.tokenize(opening.encode(), add_bos=False, special=False)
    with torch.no_grad():
        logits = model(input_ids=torch.tensor([tokens])).logits[0, -1]
    logprobs = torch.log_softmax(logits.double(), dim=-1)
    top = torch.topk(logprobs, request.top_logprobs)
    pieces = {backend._llm.detokenize([int(i)]).decode(errors="ignore"): float(v) for v, i in zip(*top, strict=True)}
    best = max(pieces, key=lambda piece: pieces[piece])
    response = GenerateResponse(
        text=best, logprobs=[TokenLogprob(token=best, logprob=pieces[best], top=pieces)], usage=Usage()
    )
    probs = label_probabilities(response, 0, judge.answer_format.logprob_tokens)
    assert probs is not None
    winner = max(probs, key=lambda label: probs[label])
    return winner, probs[winner]


def judge_of(options: BackendOptions) -> PairwiseJudge:
    judge = make_judge(make_backend("local", options), JudgeConfig(mode="pairwise", swap=False, rationale="none"))
    assert isinstance(judge, PairwiseJudge)
    return judge


def test_exported_adapter_gives_the_pytorch_verdicts(tmp_path: Path) -> None:
    try:
        converter_dir()  # fetched once from PyPI (llama-cpp-python's source)
    except ConfigError as exc:
        pytest.skip(f"llama.cpp's converter is not available here: {exc}")
    model_dir = tmp_path / "model"
    model = write_model_dir(model_dir)
    exported = export_adapter(model_dir)
    assert exported == model_dir / "adapter.gguf"

    tuned = judge_of(BackendOptions(adapter=model_dir))  # the folder: its adapter.gguf
    untuned = judge_of(BackendOptions())
    assert tuned.spec.fingerprint != untuned.spec.fingerprint
    assert tuned.backend.cache_identity != untuned.backend.cache_identity  # type: ignore[attr-defined]

    adapted = llama_cpp_verdicts(tuned)
    plain = llama_cpp_verdicts(untuned)
    # the adapter matters: without it llama.cpp's verdicts differ
    assert any(a[0] != p[0] or abs(a[1] - p[1]) > 0.05 for a, p in zip(adapted, plain, strict=True)), (adapted, plain)

    for item, (winner, probability, opening) in zip(ITEMS, adapted, strict=True):
        torch_winner, torch_probability = torch_verdict(model, tuned, item, opening)
        seen = (item.id, winner, probability, torch_winner, torch_probability)
        assert torch_winner == winner, seen
        assert torch_probability == pytest.approx(probability, abs=0.03), seen
