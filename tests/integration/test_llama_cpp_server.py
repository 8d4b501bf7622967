"""jurist against a real OpenAI-compatible server: llama-cpp-python's own, serving the embedded SmolLM2 model.

That server rejects `response_format: {"type": "json_schema"}` with HTTP 500 (its request validation knows only
"text" and "json_object"), so jurist must step down to json_object on the first answer, record it, and judge
every item. It does give logprobs on chat completions (its default logits_all=True), so verdicts carry
probabilities.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from jurist.backends.llama_cpp import embedded_model_path

from .support import cli_env, make_items, records, run_cli, write_jsonl

pytest.importorskip(
    "llama_cpp.server.app", reason="llama-cpp-python's server extra is not installed (it is in the dev extra)"
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def llama_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The server on 127.0.0.1 on a free port; its base URL (…/v1)."""
    port = _free_port()
    log = tmp_path_factory.mktemp("llama-server") / "server.log"
    args = [sys.executable, "-m", "llama_cpp.server", "--model", embedded_model_path()]
    args += ["--host", "127.0.0.1", "--port", str(port), "--n_ctx", "2048", "--n_threads", "2"]
    with log.open("wb") as sink:
        proc = subprocess.Popen(args, stdout=sink, stderr=subprocess.STDOUT)
        url = f"http://127.0.0.1:{port}/v1"
        try:
            deadline = time.monotonic() + 120
            while True:
                try:
                    with urllib.request.urlopen(f"{url}/models", timeout=2):
                        break
                except OSError:
                    if proc.poll() is not None or time.monotonic() > deadline:
                        pytest.fail(f"llama-cpp-python's server did not start:\n{log.read_text()[-3000:]}")
                    time.sleep(0.5)
            yield url
        finally:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def _judge(url: str, mode: str, tmp_path: Path, cache_dir: Path) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    data = write_jsonl(tmp_path / f"{mode}.jsonl", make_items(mode, 3))
    out = tmp_path / mode
    args = [sys.executable, "-m", "jurist.cli", "judge", str(data), "--mode", mode, "--model", "openai:smol"]
    args += ["--base-url", url, "--out", str(out), "--max-tokens", "48", "--concurrency", "1"]
    # Without a rationale the answer is short enough that SmolLM2, held to JSON but to no schema, puts the
    # verdict in it (with one, it mostly writes JSON about something else: parse failures, which are allowed).
    args += ["--rationale", "none"]
    proc = run_cli(args, cli_env(cache_dir), timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    return records(out), json.loads((out / "config.json").read_text())


@pytest.mark.parametrize("mode", ["pointwise", "pairwise"])
def test_items_get_verdicts_after_falling_back_from_json_schema(
    llama_server: str, tmp_path: Path, cache_dir: Path, mode: str
) -> None:
    verdicts, config = _judge(llama_server, mode, tmp_path, cache_dir)

    assert len(verdicts) == 3
    for verdict in verdicts:
        # A verdict, or the model's own unreadable answer; never a failed call.
        for failure in (verdict["error"], verdict.get("incomplete")):
            assert failure is None or failure["reason"] == "parse_failure", verdict
    assert [f.split(" (")[0] for f in config["fallbacks"]] == ["response_format json_schema -> json_object"]
    assert "HTTP 500" in config["fallbacks"][0]
    judged = [v for v in verdicts if v["error"] is None]
    assert judged, "the model gave no readable verdict at all"
    # The server gives logprobs, so a verdict read from the text has probabilities (no logprobs fallback).
    assert all(v["outcome"]["probs"] for v in judged), judged
