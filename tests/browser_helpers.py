"""What the browser tests of ``barenet serve`` share: Debian's Chromium driven by Playwright for
Python (never a downloaded browser; skipped, saying why, without one), a page of a running
server that fails its test on any JavaScript error, and a count of the pixels a canvas has drawn."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from serve_helpers import running_server

from barenet.serve.served import ServedModel

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run",
]
VIEWPORT = {"width": 1500, "height": 1100}

playwright_api = pytest.importorskip("playwright.sync_api", reason="the browser tests need playwright (pip)")
BROWSER_MARKS = [
    pytest.mark.slow,
    pytest.mark.skipif(not CHROMIUM.is_file(), reason="no /usr/bin/chromium: apt-get install chromium"),
]


@contextlib.contextmanager
def launched_browser() -> Iterator:
    """Headless Chromium, closed after."""
    with playwright_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@contextlib.contextmanager
def open_page(browser, served: ServedModel) -> Iterator:
    """The page of a server serving ``served``, loaded; fails on any JavaScript error."""
    with running_server(served) as url:
        page = browser.new_page(viewport=VIEWPORT)
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        try:
            page.goto(url)
            page.wait_for_selector("body[data-ready='1']")
            yield page
        finally:
            page.close()
        assert errors == []


def lit_pixels(page, selector: str) -> list[int]:
    """For each canvas matching ``selector``: how many of its pixels are not black or white."""
    return page.evaluate(
        """(selector) => [...document.querySelectorAll(selector)].map((canvas) => {
            const data = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
            let lit = 0;
            for (let i = 0; i < data.length; i += 4) {
                const sum = data[i] + data[i + 1] + data[i + 2];
                if (sum > 30 && sum < 735) lit++;
            }
            return lit;
        })""",
        selector,
    )
