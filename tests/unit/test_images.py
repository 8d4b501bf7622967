"""Items with images: loading (paths, URLs, data URLs), the item hash and the cache key by the images' sha256, the
refusal of a backend without vision before any call, and a run directory that keeps hashes, never bytes."""

from __future__ import annotations

import base64
import hashlib
import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from jurist.api import judge
from jurist.backends import registry
from jurist.backends.base import Capabilities, Message
from jurist.backends.fake import FakeBackend
from jurist.cli import main
from jurist.data.load import items_from_rows, load_items
from jurist.errors import InputError
from jurist.judges import JudgeConfig, LLMJudge, make_judge
from jurist.types import Item, ItemTexts

PNG = b"\x89PNG\r\n\x1a\n" + b"first image"
VISION = Capabilities(max_concurrency=2, vision=True)


def _png(folder: Path, name: str = "chart.png", data: bytes = PNG) -> Path:
    path = folder / name
    path.write_bytes(data)
    return path


def _data_url(data: bytes = PNG) -> str:
    return "data:image/png;base64," + base64.b64encode(data).decode()


def _jsonl(folder: Path, *records: dict[str, object]) -> Path:
    path = folder / "data.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


def test_an_item_without_images_keeps_its_hash_and_record() -> None:
    item = Item(id="1", prompt="p", response="r")
    # the hash every item had before images existed (the payload of the six text fields)
    payload = json.dumps(["p", "r", None, None, None, None]).encode()
    assert item.content_hash() == hashlib.sha256(payload).hexdigest()[:16]
    assert "image" not in ItemTexts.of(item).model_dump_json()


def test_the_item_hash_follows_the_image_bytes_not_the_path(tmp_path: Path) -> None:
    path = _png(tmp_path)
    item = Item(id="1", prompt="p", response="r", images=[str(path)])
    before = item.content_hash()
    assert before != Item(id="1", prompt="p", response="r").content_hash()
    path.write_bytes(PNG + b" edited")
    os.utime(path, ns=(1, 1))  # a new version of the file, whatever the clock's resolution
    assert item.content_hash() != before
    moved = _png(tmp_path, "elsewhere.png", PNG)
    same_bytes = Item(id="1", prompt="p", response="r", images=[_data_url(PNG)])
    assert Item(id="1", prompt="p", response="r", images=[str(moved)]).content_hash() == before
    assert same_bytes.content_hash() == before  # a data URL counts by its decoded bytes


def test_the_cache_key_follows_the_image_bytes(tmp_path: Path) -> None:
    judge_ = make_judge(FakeBackend("x", capabilities=VISION), JudgeConfig(mode="pointwise"))
    text_only = Item(id="1", prompt="p", response="r")
    first = judge_.requests(Item(id="1", prompt="p", response="r", images=[_data_url(PNG)]))[0]
    second = judge_.requests(Item(id="1", prompt="p", response="r", images=[_data_url(PNG + b"!")]))[0]
    plain = judge_.requests(text_only)[0]
    assert len({first.cache_key("m"), second.cache_key("m"), plain.cache_key("m")}) == 3
    # the key holds the hash, never the bytes; a text-only request is dumped exactly as before images existed
    dumped = json.dumps(first.model_dump())
    assert hashlib.sha256(PNG).hexdigest() in dumped and base64.b64encode(PNG).decode() not in dumped
    assert "images" not in json.dumps(plain.model_dump())
    assert Message(role="user", content="x").model_dump() == {"role": "user", "content": "x"}


def test_images_go_after_the_text_of_the_user_message_with_captions(tmp_path: Path) -> None:
    judge_ = make_judge(FakeBackend("x", capabilities=VISION), JudgeConfig(mode="pairwise"))
    item = Item(
        id="1", prompt="p", response_a="a", response_b="b", images=["https://x.test/q.png"],
        response_a_images=[_data_url(b"A")], response_b_images=[_data_url(b"B"), _data_url(b"B2")],
    )  # fmt: skip
    ab, ba = judge_.requests(item)
    assert [m.images for m in ab.messages[:-1]] == [()]  # the system message has none
    captions = [(p.caption, p.data) for p in ab.messages[-1].images]
    assert captions == [
        ("[Image 1 of the prompt]", None),
        ("[Image 1 of Response A]", base64.b64encode(b"A").decode()),
        ("[Image 1 of Response B]", base64.b64encode(b"B").decode()),
        ("[Image 2 of Response B]", base64.b64encode(b"B2").decode()),
    ]
    # swapped, each response's images follow it to the place it is shown in
    swapped = [(p.caption, p.data) for p in ba.messages[-1].images]
    assert swapped[1:] == [
        ("[Image 1 of Response A]", base64.b64encode(b"B").decode()),
        ("[Image 2 of Response A]", base64.b64encode(b"B2").decode()),
        ("[Image 1 of Response B]", base64.b64encode(b"A").decode()),
    ]


def test_loading_resolves_paths_against_the_data_file(tmp_path: Path) -> None:
    _png(tmp_path)
    data = _jsonl(
        tmp_path,
        {"id": "a", "prompt": "p", "response": "r", "images": "chart.png", "response_images": ["https://x.test/r.png"]},
        {"id": "b", "prompt": "p", "response": "r", "extra": 1},
    )
    items = load_items(data, "pointwise").items
    assert items[0].images == [str((tmp_path / "chart.png").resolve())]
    assert items[0].response_images == ["https://x.test/r.png"]
    assert items[0].metadata == {} and items[1].images is None


@pytest.mark.parametrize(
    ("record", "needles"),
    [
        ({"images": ["missing.png"]}, ["data.jsonl:1", "images", "missing.png does not exist"]),
        ({"response_images": [_data_url(PNG)[:-3] + "!!!"]}, ["response_images", "not valid base64"]),
        ({"images": ["notes.txt"]}, ["images", "text/plain"]),
        ({"images": [3]}, ["images", "must be a list of image paths or URLs"]),
        ({"response_a_images": ["https://x.test/a.png"]}, ["response_a_images", "pointwise judging does not show"]),
    ],
)
def test_bad_images_stop_the_load_naming_file_line_and_field(
    tmp_path: Path, record: dict[str, object], needles: list[str]
) -> None:
    (tmp_path / "notes.txt").write_text("x")
    data = _jsonl(tmp_path, {"prompt": "p", "response": "r", **record})
    with pytest.raises(InputError) as caught:
        load_items(data, "pointwise")
    message = str(caught.value)
    for needle in needles:
        assert needle in message, message


def test_records_from_a_request_may_not_name_local_files(tmp_path: Path) -> None:
    """A `jurist serve` client must not make the server read (or probe) its files."""
    secret = _png(tmp_path, "secret.png")
    rows: list[tuple[int, object]] = [(1, {"prompt": "p", "response": "r", "images": [str(secret)]})]
    with pytest.raises(InputError, match="names a local file"):
        items_from_rows(rows, "pointwise", None, path="request item", unit="item")
    rows = [(1, {"prompt": "p", "response": "r", "images": [_data_url()]})]
    assert items_from_rows(rows, "pointwise", None, path="request item", unit="item").items[0].images == [_data_url()]


def test_a_backend_without_vision_refuses_before_any_call(tmp_path: Path) -> None:
    _png(tmp_path)
    data = _jsonl(
        tmp_path,
        {"id": "plain", "prompt": "p", "response": "r"},
        {"id": "pictured", "prompt": "p", "response": "r", "response_images": ["chart.png"]},
    )
    backend = FakeBackend('{"score": "3"}')  # declares no vision, as the embedded model does
    with pytest.raises(InputError) as caught:
        judge(data, out=tmp_path / "run", model=backend, config=JudgeConfig(mode="pointwise"))
    assert "item 'pictured' has images" in str(caught.value) and "data.jsonl:2" in str(caught.value)
    assert backend.requests == []


def test_the_cli_refuses_with_exit_2_naming_the_item(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JURIST_CACHE_DIR", str(tmp_path / "cache"))
    blind = FakeBackend('{"score": "3"}', name="blind")  # like the embedded model: no vision
    monkeypatch.setitem(registry._BUILTIN, "blind", ("blind", lambda rest, options: blind))
    data = _jsonl(tmp_path, {"id": "q1", "prompt": "p", "response": "r", "images": ["https://x.test/a.png"]})
    out = tmp_path / "run"
    args = ["judge", str(data), "--mode", "pointwise", "--model", "blind", "--out", str(out), "--no-cache"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2, result.output
    assert result.output.lstrip().startswith("error: ") and "Traceback" not in result.output
    assert "item 'q1' has images" in result.output and f"{data}:1" in result.output
    assert blind.requests == [] and not (out / "verdicts.jsonl").exists()


def test_recorded_answers_pass_with_images(tmp_path: Path) -> None:
    """The model that wrote a replayed answer saw the images: replay is not refused."""
    replay = tmp_path / "replay.jsonl"
    replay.write_text(json.dumps({"texts": ["a question"], "completion": '{"score": "3"}'}) + "\n")
    items = [Item(id="1", prompt="a question", response="r", images=["https://x.test/a.png"])]
    result = judge(items, out=tmp_path / "run", model=f"replay:{replay}", config=JudgeConfig(mode="pointwise"))
    assert [v.decision() for v in result.verdicts()] == ["3"]


def test_the_run_directory_keeps_hashes_and_paths_never_bytes(tmp_path: Path) -> None:
    path = _png(tmp_path)
    inline = _data_url(PNG + b" inline")
    items = [Item(id="1", prompt="p", response="r", images=[str(path)], response_images=[inline])]
    backend = FakeBackend('{"score": "4"}', capabilities=VISION)
    result = judge(items, out=tmp_path / "run", model=backend, config=JudgeConfig(mode="pointwise"))
    assert result.verdicts()[0].outcome is not None
    sent = backend.requests[0].messages[-1].images
    assert [p.data for p in sent] == [base64.b64encode(PNG).decode(), base64.b64encode(PNG + b" inline").decode()]
    written = (tmp_path / "run" / "verdicts.jsonl").read_text()
    assert base64.b64encode(PNG).decode() not in written and inline.split(",")[1] not in written
    record = json.loads(written.splitlines()[0])["item"]
    digest = hashlib.sha256(PNG + b" inline").hexdigest()
    assert record["images"] == [str(path)]
    assert record["response_images"] == [f"data:image/png;sha256,{digest}"]
    assert record["image_sha256"] == {"images": [hashlib.sha256(PNG).hexdigest()], "response_images": [digest]}


def test_strategies_with_prompts_of_their_own_refuse_images() -> None:
    from jurist.strategies.debate import Debate
    from jurist.strategies.jury import Jury

    def pairwise() -> LLMJudge:
        return make_judge(FakeBackend('{"winner": "A"}', capabilities=VISION), JudgeConfig(mode="pairwise"))

    record = {"id": "x", "prompt": "p", "response_a": "a", "response_b": "b", "images": ["https://x.test/q.png"]}
    data = items_from_rows([(1, record)], "pairwise", None, path="<python>", unit="item")
    with pytest.raises(InputError, match="item 'x' has images, but strategy debate writes prompts of its own"):
        Debate([pairwise(), pairwise()], rounds=1).check_data(data)
    Jury([pairwise(), pairwise()]).check_data(data)  # a jury sends its judges' own requests, images included
