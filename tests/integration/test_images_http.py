"""Images as content parts, checked in the JSON each API receives: the OpenAI-compatible fake server (through the
CLI, with the response cache) and a Messages-API stand-in for Anthropic."""

from __future__ import annotations

import asyncio
import base64
import json
import socket
from pathlib import Path
from typing import Any

from aiohttp import web
from click.testing import CliRunner

from jurist.backends import BackendOptions, make_backend
from jurist.cli import main
from jurist.judges import JudgeConfig, make_judge
from jurist.testing import FakeOpenAIServer
from jurist.types import Item

PNG = b"\x89PNG\r\n\x1a\n" + b"pixels"


class RecordingServer(FakeOpenAIServer):
    """The fake server, keeping every chat-completions body it was sent."""

    def __init__(self) -> None:
        super().__init__()
        self.bodies: list[dict[str, Any]] = []

    def build_app(self) -> web.Application:
        app = super().build_app()

        @web.middleware
        async def record(request: web.Request, handler: Any) -> web.StreamResponse:
            if request.path.endswith("/chat/completions"):
                self.bodies.append(json.loads(await request.read()))
            return await handler(request)

        app.middlewares.append(record)
        return app


def _judge_cli(data: Path, out: Path, url: str) -> str:
    args = ["judge", str(data), "--mode", "pointwise", "--out", str(out), "--model", "openai:fake-vision"]
    result = CliRunner().invoke(main, [*args, "--base-url", url, "--max-retries", "0"])
    assert result.exit_code == 0, result.output
    return result.output


def test_openai_content_parts_and_the_cache(tmp_path: Path) -> None:
    image = tmp_path / "plot.png"
    image.write_bytes(PNG)
    record = {"id": "1", "prompt": "What does the plot show?", "response": "A rising line.", "images": ["plot.png"]}
    data = tmp_path / "data.jsonl"
    data.write_text(json.dumps({**record, "response_images": ["https://img.test/answer.jpg"]}) + "\n")
    server = RecordingServer()
    with server:
        _judge_cli(data, tmp_path / "run1", server.url)
        (body,) = server.bodies
        system, user = body["messages"]
        assert isinstance(system["content"], str)  # only the user's message carries parts
        text, *images = user["content"]
        assert text["type"] == "text" and "What does the plot show?" in text["text"]
        assert images == [
            {"type": "text", "text": "[Image 1 of the prompt]"},
            {"type": "image_url", "image_url": {"url": "data:image/png;base64," + base64.b64encode(PNG).decode()}},
            {"type": "text", "text": "[Image 1 of the response]"},
            {"type": "image_url", "image_url": {"url": "https://img.test/answer.jpg"}},
        ]
        # the same image again: answered from the response cache; new bytes under the same name: a new call
        _judge_cli(data, tmp_path / "run2", server.url)
        assert len(server.bodies) == 1
        image.write_bytes(PNG + b" redrawn")
        _judge_cli(data, tmp_path / "run3", server.url)
        assert len(server.bodies) == 2
        assert base64.b64encode(PNG + b" redrawn").decode() in json.dumps(server.bodies[1])
    first = json.loads((tmp_path / "run1" / "verdicts.jsonl").read_text())
    third = json.loads((tmp_path / "run3" / "verdicts.jsonl").read_text())
    assert first["item_hash"] != third["item_hash"]
    assert first["item"]["images"] == [str(image.resolve())]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_anthropic_content_blocks() -> None:
    seen: list[dict[str, Any]] = []

    async def handler(request: web.Request) -> web.Response:
        seen.append(await request.json())
        reply = {"content": [{"type": "text", "text": '{"winner": "A"}'}], "usage": {"input_tokens": 9}}
        return web.json_response(reply)

    async def main_() -> None:
        app = web.Application()
        app.router.add_post("/v1/messages", handler)
        runner = web.AppRunner(app)
        await runner.setup()
        port = _free_port()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        try:
            backend = make_backend("anthropic:claude-test", BackendOptions(base_url=f"http://127.0.0.1:{port}"))
            judge = make_judge(backend, JudgeConfig(mode="pairwise", swap=False))
            item = Item(
                id="1",
                prompt="Which caption fits?",
                response_a="A cat.",
                response_b="A dog.",
                images=["data:image/gif;base64," + base64.b64encode(b"GIF89a").decode()],
                response_b_images=["https://img.test/b.webp"],
            )
            verdict = await judge(item)
            await backend.aclose()
            assert verdict.error is None, verdict.error
        finally:
            await runner.cleanup()

    asyncio.run(main_())
    (body,) = seen
    (user,) = body["messages"]
    text, *blocks = user["content"]
    assert text["type"] == "text" and "A cat." in text["text"] and isinstance(body["system"], str)
    assert blocks == [
        {"type": "text", "text": "[Image 1 of the prompt]"},
        {
            "type": "image",
            "source": {"type": "base64", "media_type": "image/gif", "data": base64.b64encode(b"GIF89a").decode()},
        },
        {"type": "text", "text": "[Image 1 of Response B]"},
        {"type": "image", "source": {"type": "url", "url": "https://img.test/b.webp"}},
    ]
