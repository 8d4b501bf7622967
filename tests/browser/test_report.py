"""The HTML report in a real chromium: it runs with no console error, no dialog and no request (the `page` fixture
fails the test on any), the XSS probes in the responses stay text, the filters, search and sorting change the
rows as they should, the item view opens, and a phone-width screen does not scroll sideways."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from jurist.report import collect, write_report
from jurist.report.collect import RunView
from unit.report_helpers import N_ITEMS, PROBES, failing, xss_arena, xss_run


@pytest.fixture(scope="module")
def report_file(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, RunView]:
    root = tmp_path_factory.mktemp("report")
    run, arena = xss_run(root / "run"), xss_arena(root / "arena")
    view = collect(run, n_resamples=50)
    assert isinstance(view, RunView)
    return write_report([run, arena], root / "report.html", n_resamples=50), view


def _open(page: Any, path: Path) -> None:
    page.goto(path.as_uri())
    page.wait_for_selector("table.verdicts tbody tr")


def _rows(page: Any) -> int:
    return int(page.locator("section.run table.verdicts tbody tr").count())


def _ids(page: Any) -> list[str]:
    return list(page.locator("section.run table.verdicts tbody tr td:first-child").all_text_contents())


def test_the_filters_and_search_show_the_rows_they_should(
    page: Any, report_file: tuple[Path, RunView], screenshot: Any
) -> None:
    path, view = report_file
    _open(page, path)
    assert _rows(page) == N_ITEMS
    assert page.locator("section.run .shown").text_content() == f"{N_ITEMS} of {N_ITEMS} items shown"
    expected = {s: sum(s in item.status for item in view.items) for s in ("failed", "disagrees", "inconsistent")}
    assert expected["failed"] == sum(failing(i) for i in range(N_ITEMS)) == 3
    assert expected["disagrees"] == 9
    for status, count in expected.items():
        page.select_option("section.run select.filter", status)
        assert _rows(page) == count, status
    page.select_option("section.run select.filter", "failed")
    assert _ids(page) == [f"x{i:02d}" for i in range(N_ITEMS) if failing(i)]
    page.select_option("section.run select.filter", "all")
    page.fill("section.run input.search", "onerror")  # in the responses of the items with the <img> probe
    assert _rows(page) == sum(1 for i in range(N_ITEMS) if "onerror" in PROBES[i % len(PROBES)])
    page.fill("section.run input.search", "")
    assert _rows(page) == N_ITEMS
    screenshot(page, "report-run")


def test_sorting_orders_the_rows_both_ways(page: Any, report_file: tuple[Path, RunView]) -> None:
    path, view = report_file
    _open(page, path)
    page.click("section.run th button[data-sort='confidence']")
    known = sorted((item.confidence, item.id) for item in view.items if item.confidence is not None)
    ids = _ids(page)
    assert ids[: len(known)] == [i for _, i in known]  # ascending, stable, the unknown ones last
    assert set(ids[len(known) :]) == {item.id for item in view.items if item.confidence is None}
    assert page.locator("th[aria-sort='ascending'] button").text_content() == "confidence"
    page.click("section.run th button[data-sort='id']")
    page.click("section.run th button[data-sort='id']")
    assert _ids(page) == sorted((item.id for item in view.items), reverse=True)


def test_the_item_view_shows_the_probes_as_text(page: Any, report_file: tuple[Path, RunView], screenshot: Any) -> None:
    path, _ = report_file
    _open(page, path)
    page.fill("section.run input.search", "x02")  # the item whose responses hold the javascript: link
    page.locator("section.run table.verdicts tbody tr").first.click()
    dialog = page.locator("dialog#item-view")
    assert dialog.is_visible()
    text = dialog.text_content()
    assert PROBES[2] in text and "good answer 2" in text and "bad answer 2" in text
    assert "both orders" in text and "model output, order AB" in text and "model output, order BA" in text
    assert dialog.locator("a, img, script, iframe").count() == 0  # the probes are text, not elements
    assert page.locator("img").count() == 0
    dialog.locator(".response .text").first.click()  # a click on the probe's text does nothing
    assert page.url == path.as_uri()
    screenshot(page, "report-item")
    page.click("dialog#item-view button.close")
    assert not dialog.is_visible()
    page.keyboard.press("Tab")  # rows are reachable and open with the keyboard too
    page.locator("section.run table.verdicts tbody tr").first.focus()
    page.keyboard.press("Enter")
    assert dialog.is_visible()


def test_the_arena_charts_and_a_phone_width_screen(
    page: Any, report_file: tuple[Path, RunView], screenshot: Any
) -> None:
    path, _ = report_file
    _open(page, path)
    arena = page.locator("section.arena")
    assert arena.locator("svg.chart").count() == 2
    assert "<img src=x onerror=alert(1)>" in arena.locator("table.leaderboard").text_content()
    arena.scroll_into_view_if_needed()
    screenshot(page, "report-arena")
    page.set_viewport_size({"width": 375, "height": 800})
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0, f"the page scrolls sideways by {overflow}px at phone width"
    page.locator("section.run table.verdicts tbody tr").first.click()
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0
