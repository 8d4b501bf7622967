"""A real browser for the tests of what a person looks at (the HTML report, the review app): Playwright driving
Debian's chromium (`apt-get install chromium`, which `make test` does), never a browser download.

`page` fails the test on any console error or uncaught page error, and on any request that leaves the machine.
`screenshot(page, name)` saves a PNG under the test's tmp dir and, when JURIST_SCREENSHOTS names a folder (the
docs' images: `JURIST_SCREENSHOTS=docs/images pytest tests/browser`), there too.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest

CHROMIUM_CANDIDATES = ("chromium", "chromium-browser", "google-chrome")


def chromium_path() -> str:
    wanted = os.environ.get("JURIST_CHROMIUM")
    if wanted:
        return wanted
    for name in CHROMIUM_CANDIDATES:
        found = shutil.which(name)
        if found:
            return found
    pytest.fail("no chromium found: install it (apt-get install chromium; make test does) or set JURIST_CHROMIUM")


# per module, not per session: Playwright's sync API keeps an event loop running in this thread while it is open,
# and every later test that calls asyncio.run would fail
@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=chromium_path(), args=["--no-sandbox"])
        yield launched
        launched.close()


class PageProblems:
    """What went wrong on a page: console errors, uncaught exceptions, dialogs (an alert() is an XSS probe firing)
    and requests to anything but the local machine."""

    def __init__(self) -> None:
        self.console_errors: list[str] = []
        self.page_errors: list[str] = []
        self.dialogs: list[str] = []
        self.outside_requests: list[str] = []

    def all(self) -> list[str]:
        return [*self.console_errors, *self.page_errors, *self.dialogs, *self.outside_requests]


LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1", ""}


@pytest.fixture
def page_problems() -> PageProblems:
    return PageProblems()


@pytest.fixture
def page(browser: Any, page_problems: PageProblems) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    opened = context.new_page()
    opened.on(
        "console",
        lambda msg: (
            page_problems.console_errors.append(f"console {msg.type}: {msg.text}") if msg.type == "error" else None
        ),
    )
    opened.on("pageerror", lambda exc: page_problems.page_errors.append(f"page error: {exc}"))

    def on_dialog(dialog: Any) -> None:
        page_problems.dialogs.append(f"dialog {dialog.type}: {dialog.message}")
        dialog.dismiss()

    opened.on("dialog", on_dialog)

    def on_request(request: Any) -> None:
        url = urlparse(request.url)
        if url.scheme in ("http", "https", "ws", "wss") and (url.hostname or "") not in LOCAL_HOSTS:
            page_problems.outside_requests.append(f"request to {request.url}")

    opened.on("request", on_request)
    yield opened
    context.close()
    assert not page_problems.all(), page_problems.all()


@pytest.fixture
def screenshot(tmp_path: Path) -> Any:
    def take(page: Any, name: str, *, full_page: bool = False) -> Path:
        path = tmp_path / f"{name}.png"
        page.screenshot(path=str(path), full_page=full_page)
        assert path.stat().st_size > 1000  # a real image, not an empty file
        folder = os.environ.get("JURIST_SCREENSHOTS")
        if folder:
            Path(folder).mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, Path(folder) / path.name)
        return path

    return take
