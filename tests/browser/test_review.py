"""`jurist review` in a real browser: the server started as a process, three items labelled with the keyboard, the
server stopped and started again, the labels and the progress still there; XSS probes in the texts do not fire."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import jurist
from jurist import FakeBackend, GenerateRequest, GenerateResponse, JudgeConfig
from jurist.review import ReviewStore, review_labels

PROBES = (
    "<script>alert('script')</script>",
    "<img src=x onerror=\"alert('img')\">",
    "<a href=\"javascript:alert('link')\">click me</a>",
)


def xss_run(tmp_path: Path, n: int = 5) -> Path:
    """A pairwise run whose texts carry XSS probes; the judge prefers the response that says "good"."""
    items = [
        {
            "id": f"q{i}",
            "prompt": f"Question {i}: which answer is better? {PROBES[i % 3]}",
            "response_a": f"good answer {i} {PROBES[(i + 1) % 3]}" if i % 2 else f"bad answer {i}",
            "response_b": f"bad answer {i}" if i % 2 else f"good answer {i} {PROBES[(i + 2) % 3]}",
            "label": "A" if i % 2 else "B",
        }
        for i in range(n)
    ]

    def script(request: GenerateRequest) -> GenerateResponse:
        text = "\n".join(m.content for m in request.messages if m.role == "user")
        winner = "A" if text.index("good answer") < text.index("bad answer") else "B"
        rationale = f"the good one is better {PROBES[1]}"
        return GenerateResponse(text=json.dumps({"rationale": rationale, "winner": winner}))

    out = tmp_path / "run"
    config = JudgeConfig(mode="pairwise", rationale="before")
    jurist.judge(items, out=out, config=config, model=FakeBackend(script), options=jurist.JobOptions(cache=False))
    return out


@contextmanager
def review_server(run: Path, *who: str) -> Iterator[str]:
    """`jurist review RUN --no-browser --port 0 ...` as a process; yields the URL it prints."""
    command = "from jurist.cli.review import review; review()"
    args = [sys.executable, "-c", command, str(run), "--no-browser", "--port", "0", "--queue", "all", *who]
    process = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        url = process.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:"), (url, process.stderr.read() if process.stderr else "")
        yield url
    finally:
        process.terminate()  # SIGTERM: no clean shutdown, as a crash; every answer is committed already
        process.wait(timeout=10)
        for stream in (process.stdout, process.stderr):
            if stream is not None:
                stream.close()


def wait_ready(page: Any, url: str) -> None:
    page.goto(url)
    page.wait_for_selector("body[data-ready='1']")


def test_label_three_items_with_the_keyboard_restart_and_find_them(tmp_path: Path, page: Any, screenshot: Any) -> None:
    from playwright.sync_api import expect

    run = xss_run(tmp_path)
    with ReviewStore.of_run(run) as store:  # a second reviewer, for the reviewers' agreement
        store.register("bob")
        for i, label in enumerate(["B", "A", "A"]):
            store.claim_next("bob", "bob-tab-1", [f"q{i}"])
            store.answer("bob", "bob-tab-1", f"q{i}", label)

    with review_server(run, "--reviewer", "alice") as url:
        wait_ready(page, url)
        expect(page.locator("#progress")).to_have_text("0 labelled, 0 skipped, 5 left of 5")
        # the probes are shown as text, never run
        expect(page.locator("#prompt")).to_contain_text("<script>alert('script')</script>")
        assert page.locator("#item a, #item img, #item script").count() == 0
        assert page.locator("#verdict").is_hidden()  # the verdict waits for the answer

        # three items: the response saying "good", wherever it is shown; a note on the second
        for n in range(3):
            left = page.locator("#responses .text").first.inner_text()
            if n == 1:
                page.keyboard.press("n")
                page.keyboard.type("close call")
                page.keyboard.press("Escape")
            page.keyboard.press("a" if left.startswith("good") else "b")
            expect(page.locator("#progress")).to_have_text(f"{n + 1} labelled, 0 skipped, {4 - n} left of 5")
            if n == 0:
                expect(page.locator("#previous")).to_contain_text("The judge decided")
                expect(page.locator("#agreement tbody tr")).to_have_count(3)  # judge-alice, judge-bob, alice-bob
                screenshot(page, "review-item")
        expect(page.locator("#previous")).to_contain_text(f"the good one is better {PROBES[1]}")
        first_row = page.locator("#agreement tbody tr").first.locator("td")
        expect(first_row).to_have_text(["judge", "alice", "3", "1.00 [1.00, 1.00]", "1.00 [1.00, 1.00]"])
        page.locator("#agreement-box").scroll_into_view_if_needed()
        screenshot(page, "review-agreement")
        assert page.locator("#previous img, #previous a").count() == 0
        # a reload frees the page's item (pagehide) and the new page gets it back, not the one after it
        expect(page.locator("#item-id")).to_have_text("q3")
        wait_ready(page, page.url)
        expect(page.locator("#item-id")).to_have_text("q3")

    with review_server(run, "--resume-as", "alice") as url:  # a new server, a new token
        wait_ready(page, url)
        expect(page.locator("#progress")).to_have_text("3 labelled, 0 skipped, 2 left of 5")
        expect(page.locator("#item-id")).to_have_text("q3")

    assert review_labels(run, "alice") == {"q0": "B", "q1": "A", "q2": "B"}  # the good ones, in the items' terms
    with ReviewStore.of_run(run) as store:
        assert [a.note for a in store.labels("alice")] == [None, "close call", None]
