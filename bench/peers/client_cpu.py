"""CPU time of jurist's per-item client work on the HTTP path, without the network or the engine around it.

Each item goes through what a pointwise judgment does in the client: the judge renders the prompt and builds the
request, the resilient backend looks it up in (and then writes it to) a fresh response cache, the OpenAI backend
builds the body, serialises it, reads the canned chat-completion reply of the fake server (computed beforehand,
outside the timing) and parses it, and the judge reads the score and its probabilities; `judge_item` stamps the
verdict. The transport (aiohttp, sockets), the engine's scheduling and the run log are not included: see
bench/peers/run.py for whole processes.

The measure is process CPU time (time.process_time), the best of --repeats: other load on the machine slows the
wall clock far more than it changes the CPU time a loop needs. Compare two versions of the code by running this
on each in turn on the same machine.

Run: .venv/bin/python bench/peers/client_cpu.py --items 2000 --repeats 5 [--parts] [--no-gc]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import shutil
import sys
import tempfile
import time
import timeit
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # bench/ is not a package
from jurist import JudgeConfig, make_judge
from jurist.backends.http import HttpClient
from jurist.backends.openai_compat import ChatCompletionReply, OpenAIBackend
from jurist.judges.base import judge_item
from jurist.run.cache import ResponseCache
from jurist.run.resilience import ResilientBackend, _scrubbed
from jurist.testing.fake_openai_server import _prompt_of, completion_json
from jurist.types import Item, ItemTexts
from throughput import make_items


class CannedHttp(HttpClient):
    """Answers each body with the fake server's reply to it, looked up rather than computed."""

    replies: ClassVar[dict[str, bytes]] = {}

    async def fetch(self, method: str, path: str, data: Any = None, **_: Any) -> bytes:
        reply = self.replies.get(data)
        if reply is None:  # the warm-up pass: compute and keep it
            body = json.loads(data)
            reply = self.replies[data] = completion_json(body, _prompt_of(body["messages"]))
        return reply


async def judge_all(items: list[Item], cache_dir: Path) -> float:
    backend = OpenAIBackend("fake-model", base_url="http://127.0.0.1:9/v1")
    backend._http.__class__ = CannedHttp
    cache = ResponseCache(cache_dir / "responses.sqlite")
    judge = make_judge(ResilientBackend(backend, cache=cache), JudgeConfig(mode="pointwise"))  # type: ignore[arg-type]
    _ = judge.spec.fingerprint  # worked out once per run, not per item
    start = time.process_time()
    verdicts = [await judge_item(judge, item) for item in items]
    cache.commit()
    spent = time.process_time() - start
    cache.close()
    failed = sum(v.error is not None for v in verdicts)
    if failed:
        raise RuntimeError(f"{failed} of {len(items)} judgments failed")
    return spent


def parts(item: Item, number: int) -> None:
    """CPU microseconds of each piece of one judgment's client work, alone (the best of 5 loops of `number`)."""
    backend = OpenAIBackend("fake-model", base_url="http://127.0.0.1:9/v1")
    judge = make_judge(backend, JudgeConfig(mode="pointwise"))
    request = judge.request_for(item)  # type: ignore[attr-defined]
    body = backend.body(request)
    raw = completion_json(body, _prompt_of(body["messages"]))
    reply = ChatCompletionReply.model_validate_json(raw)
    response = backend.parse(reply, 0.1)
    found = judge.scale.read(response.text)  # type: ignore[attr-defined]
    identity = backend.cache_identity
    tmp = Path(tempfile.mkdtemp(prefix="jurist-cpu-"))
    cache = ResponseCache(tmp / "responses.sqlite")
    keys = iter(range(10**9))

    async def cache_get_put() -> None:  # inside a loop, as in a run: writes grouped into transactions
        for _ in range(number):
            key = f"{next(keys):064d}"
            cache.get(key)
            cache.put(key, response)

    pieces: dict[str, Callable[[], object]] = {
        "render the prompt and build the request (request_for)": lambda: judge.request_for(item),  # type: ignore
        "cache key (GenerateRequest.cache_key)": lambda: request.cache_key(identity),
        "request body to JSON (json.dumps)": lambda: json.dumps(body),
        "reply from JSON (ChatCompletionReply.model_validate_json)": lambda: ChatCompletionReply.model_validate_json(
            raw
        ),
        "reply to response (OpenAIBackend.parse, with logprobs)": lambda: backend.parse(reply, 0.1),
        "secrets scrubbed from the response (resilience._scrubbed)": lambda: _scrubbed(response),
        "score read from the text (Scale.read)": lambda: judge.scale.read(response.text),  # type: ignore
        "score and its probabilities (score_of)": lambda: judge.score_of(found, response),  # type: ignore
        "stamp: item hash and texts (content_hash, ItemTexts.of)": lambda: (item.content_hash(), ItemTexts.of(item)),
    }
    try:
        import orjson  # not a jurist dependency: shown only where installed, for comparison

        pieces["request body to JSON (orjson.dumps, for comparison)"] = lambda: orjson.dumps(body)
    except ImportError:
        pass
    for name, piece in pieces.items():
        best = min(timeit.repeat(piece, number=number, repeat=5, timer=time.process_time))
        print(f"| {name} | {1e6 * best / number:.1f} |")
    best = min(timeit.repeat(lambda: asyncio.run(cache_get_put()), number=1, repeat=5, timer=time.process_time))
    print(f"| response cache: a miss, then the write (ResponseCache.get, put) | {1e6 * best / number:.1f} |")
    cache.close()
    shutil.rmtree(tmp, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--items", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--parts", action="store_true", help="also time each piece alone (CPU us per judgment)")
    parser.add_argument("--no-gc", action="store_true", help="the cyclic garbage collector off for the whole run")
    args = parser.parse_args()
    if args.no_gc:
        gc.disable()
    items = [Item(**it) for it in make_items(args.items)]
    if args.parts:
        print("| piece of one judgment | CPU us |")
        print("|---|---:|")
        parts(items[0], 2000)
    times = []
    with tempfile.TemporaryDirectory(prefix="jurist-cpu-") as tmp:
        for run in range(args.repeats + 1):  # the first run computes the canned replies and is not counted
            spent = asyncio.run(judge_all(items, Path(tmp) / f"cache-{run}"))
            if run:
                times.append(spent)
    best = min(times)
    print(
        f"{args.items} items, best of {args.repeats}: {1e6 * best / args.items:.0f} us CPU per judgment "
        f"(all: {', '.join(f'{1e6 * t / args.items:.0f}' for t in times)}); 0 failed"
    )


if __name__ == "__main__":
    main()
