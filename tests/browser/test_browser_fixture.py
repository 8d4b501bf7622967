"""The browser fixture itself catches what it promises to catch (so a quiet browser test means something)."""

from __future__ import annotations

from typing import Any

from .conftest import PageProblems


def test_an_alert_is_caught(page: Any, page_problems: PageProblems) -> None:
    page.set_content("<button onclick=\"alert('x')\">go</button>")
    page.click("button")
    assert page_problems.dialogs == ["dialog alert: x"]
    page_problems.dialogs.clear()  # expected here; any other problem still fails the test


def test_a_console_error_is_caught(page: Any, page_problems: PageProblems) -> None:
    page.set_content("<script>console.error('broken')</script>")
    assert page_problems.console_errors == ["console error: broken"]
    page_problems.console_errors.clear()


def test_a_screenshot_is_a_real_image(page: Any, screenshot: Any) -> None:
    page.set_content("<h1>jurist</h1>")
    assert screenshot(page, "fixture-check").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
