"""llama.cpp in-process: the embedded default judge (SmolLM2-135M-Instruct) and any local GGUF file.

Speed comes from computing fewer tokens, never from cutting the text being judged:
- only the last position's logits are computed (logits_all=False); logprobs are read from them;
- the KV cache of the longest shared prefix with the previous prompt is kept, so the judge's instructions
  are computed once per run, and the request text once for both orders of a pair;
- all cores are used for prompt processing and generation.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import math
import os
import time
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ConfigError, ContextOverflowError
from ..extras import require
from ..types import Usage
from .base import Capabilities, GenerateRequest, GenerateResponse, Message, TokenLogprob
from .embedded import embedded_model_path as embedded_model_path  # re-exported: where callers have found it

DEFAULT_N_CTX = 8192


class LlamaCppBackend:
    def __init__(
        self,
        model_path: str,
        *,
        name: str,
        n_ctx: int | None = None,
        n_threads: int | None = None,
        adapter: str | None = None,
    ) -> None:
        if not Path(model_path).is_file():
            raise ConfigError(f"GGUF file not found: {model_path}")
        adapter_sha256 = _adapter_sha256(adapter) if adapter else None
        require("llama_cpp", "a local model")
        from llama_cpp import Llama
        from llama_cpp.llama_chat_format import Jinja2ChatFormatter

        threads = n_threads or os.cpu_count() or 1
        # A LoRA adapter makes another judge: its hash is in the name (so in every judge's fingerprint) and in the
        # cache identity, so that a tuned judge never reuses the untuned one's verdicts or answers.
        self.name = f"{name}+lora:{adapter_sha256[:12]}" if adapter_sha256 else name
        self.model_path = model_path
        # The file's path, size and time stand for its content in cache keys: cheap, unlike hashing the file.
        stat = Path(model_path).stat()
        self.cache_identity = json.dumps(
            {
                "provider": "llama.cpp",
                "file": str(Path(model_path).resolve()),
                "size": stat.st_size,
                "mtime_ns": stat.st_mtime_ns,
                **({"adapter_sha256": adapter_sha256} if adapter_sha256 else {}),
            }
        )
        try:
            self._llm = Llama(
                model_path=model_path,
                n_ctx=n_ctx or DEFAULT_N_CTX,
                n_threads=threads,
                n_threads_batch=threads,
                n_batch=512,
                logits_all=False,
                verbose=False,
                lora_path=adapter,
            )
        except (ValueError, RuntimeError) as exc:
            if adapter is None:
                raise
            # llama.cpp refuses an adapter of another architecture or shape with a bare "Failed to load"
            raise ConfigError(f"llama.cpp could not apply the adapter {adapter} to {model_path}: {exc}") from None
        self._n_ctx = self._llm.n_ctx()
        template = self._llm.metadata.get("tokenizer.chat_template")
        if not template:
            raise ConfigError(f"{model_path} has no chat template in its metadata")
        eos = self._llm._model.token_get_text(self._llm.token_eos())
        bos_id = self._llm.token_bos()
        bos = self._llm._model.token_get_text(bos_id) if bos_id >= 0 else ""
        self._formatter = Jinja2ChatFormatter(template=template, eos_token=eos, bos_token=bos)
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="llama")
        self.capabilities = Capabilities(
            logprobs=True,
            json_schema=True,
            grammar=True,
            prefill=True,
            context_length=self._n_ctx,
            max_concurrency=1,
            default_max_tokens=64,
        )

    # -- prompt ------------------------------------------------------------------------------------------
    def _prompt_tokens(self, messages: tuple[Message, ...]) -> list[int]:
        chat: Any = [{"role": m.role, "content": m.content} for m in messages]
        formatted = self._formatter(messages=chat)
        return self._llm.tokenize(formatted.prompt.encode("utf-8"), add_bos=False, special=True)

    def count_tokens(self, messages: tuple[Message, ...]) -> int | None:
        return len(self._prompt_tokens(messages))

    # -- generation --------------------------------------------------------------------------------------
    async def generate(self, request: GenerateRequest) -> GenerateResponse:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, self._generate, request)

    def _reuse_prefix(self, tokens: list[int]) -> int:
        """Keep the KV cache of the longest common prefix with what was last evaluated."""
        llm = self._llm
        cached = llm.input_ids[: llm.n_tokens]
        keep = 0
        for a, b in zip(cached, tokens, strict=False):
            if a != b:
                break
            keep += 1
        keep = min(keep, len(tokens) - 1)  # at least one token is evaluated, to have fresh logits
        llm.n_tokens = keep  # eval() drops the KV cells after n_tokens
        return keep

    def _generate(self, request: GenerateRequest) -> GenerateResponse:
        start = time.perf_counter()
        import llama_cpp

        llm = self._llm
        tokens = self._prompt_tokens(request.messages)
        prefill = self._llm.tokenize(request.prefill.encode("utf-8"), add_bos=False, special=False)
        tokens += prefill
        if len(tokens) + request.max_tokens > self._n_ctx:
            raise ContextOverflowError(
                f"prompt of {len(tokens)} tokens plus {request.max_tokens} for the answer exceeds "
                f"the context of {self._n_ctx}"
            )
        reused = self._reuse_prefix(tokens)
        llm.eval(tokens[reused:])
        if request.temperature > 0 and request.seed is not None:
            llm.set_seed(request.seed)
        grammar = _grammar(json.dumps(request.json_schema, sort_keys=False)) if request.json_schema else None
        sampler = llm._init_sampler(temp=request.temperature, repeat_penalty=1.0, grammar=grammar)
        for token in prefill:  # the grammar reads the prefilled opening as if it had been generated
            sampler.accept(token)
        out_bytes = request.prefill.encode("utf-8")
        decoded = request.prefill
        # The prefill stands first among the logprobs (with no alternatives), so text offsets line up.
        logprobs: list[TokenLogprob] = [TokenLogprob(token=request.prefill, logprob=0.0)] if prefill else []
        generated = 0
        finish = "length"
        n_vocab = llm.n_vocab()
        for _ in range(request.max_tokens):
            logits = np.ctypeslib.as_array(llm._ctx.get_logits_ith(-1), shape=(n_vocab,))
            token = sampler.sample(llm._ctx, -1)
            if llama_cpp.llama_vocab_is_eog(llm._model.vocab, token):
                finish = "stop"
                break
            out_bytes += llm.detokenize([token], special=False)
            text_now = out_bytes.decode("utf-8", errors="ignore")
            piece, decoded = text_now[len(decoded) :], text_now
            generated += 1
            if request.top_logprobs:
                logprobs.append(self._token_logprobs(logits, token, piece, request.top_logprobs))
            if grammar is not None and piece.endswith("}") and _is_json_object(decoded):
                finish = "stop"  # the schema is satisfied: skip the forward pass that would only yield end-of-text
                break
            llm.eval([token])
        text = out_bytes.decode("utf-8", errors="ignore")
        usage = Usage(
            prompt_tokens=len(tokens),
            completion_tokens=generated,
            cached_tokens=reused,
            calls=1,
        )
        return GenerateResponse(
            text=text,
            logprobs=logprobs or None,
            usage=usage,
            latency_s=time.perf_counter() - start,
            finish_reason=finish,
        )

    def _token_logprobs(self, logits: np.ndarray[Any, Any], token: int, piece: str, k: int) -> TokenLogprob:
        """Log-softmax over the raw logits (before any grammar), the chosen token and the top k."""
        shifted = logits - logits.max()
        log_z = math.log(float(np.exp(shifted).sum()))
        top_ids = np.argpartition(-logits, k)[:k]
        top: dict[str, float] = {}
        for tid in top_ids:
            text = self._llm.detokenize([int(tid)], special=False).decode("utf-8", errors="ignore")
            lp = float(shifted[tid]) - log_z
            top[text] = max(top.get(text, -math.inf), lp)
        return TokenLogprob(token=piece, logprob=float(shifted[token]) - log_z, top=top)

    async def aclose(self) -> None:
        return None


def _adapter_sha256(adapter: str) -> str:
    """The adapter file's sha256 (a few MB: hashing it is cheap, and its content is what changes the answers)."""
    path = Path(adapter)
    if not path.is_file():
        raise ConfigError(f"adapter not found: {adapter} (a GGUF LoRA adapter: `jurist tune export MODEL_DIR`)")
    kind = gguf_general_type(path)
    if kind != "adapter":  # llama.cpp crashes (SIGSEGV) on a model file given as an adapter: check first
        what = f"general.type is {kind!r}" if kind else "no GGUF general.type"
        raise ConfigError(f"{adapter} is not a GGUF LoRA adapter ({what}): `jurist tune export MODEL_DIR` writes one")
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


# GGUF metadata value types: fixed sizes by type number (8 = string, 9 = array)
_GGUF_SIZES = {0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8}


def gguf_general_type(path: Path) -> str | None:
    """A GGUF file's `general.type` ("model", "adapter"...), read from its header; None if it is not a GGUF file or
    has none. Reads key by key and stops at that key, which converters write among the first."""

    def read(f: Any, n: int) -> bytes:
        data = f.read(n)
        if len(data) != n:
            raise ValueError("truncated")
        return data

    def number(f: Any, size: int) -> int:
        return int.from_bytes(read(f, size), "little")

    def skip(f: Any, kind: int) -> None:
        if kind == 8:
            f.seek(number(f, 8), 1)
        elif kind == 9:
            inner, count = number(f, 4), number(f, 8)
            if inner in _GGUF_SIZES:
                f.seek(_GGUF_SIZES[inner] * count, 1)
            else:
                for _ in range(count):
                    skip(f, inner)
        elif kind in _GGUF_SIZES:
            f.seek(_GGUF_SIZES[kind], 1)
        else:
            raise ValueError(f"unknown value type {kind}")

    try:
        with path.open("rb") as f:
            if read(f, 4) != b"GGUF":
                return None
            number(f, 4)  # version
            number(f, 8)  # tensors
            for _ in range(number(f, 8)):
                key = read(f, number(f, 8))
                kind = number(f, 4)
                if key == b"general.type" and kind == 8:
                    return read(f, number(f, 8)).decode("utf-8", errors="replace")
                skip(f, kind)
    except (OSError, ValueError):
        return None
    return None


def _is_json_object(text: str) -> bool:
    try:
        return isinstance(json.loads(text), dict)
    except ValueError:
        return False


@lru_cache(maxsize=32)
def _grammar(schema_json: str) -> Any:
    from llama_cpp import LlamaGrammar

    return LlamaGrammar.from_json_schema(schema_json, verbose=False)
