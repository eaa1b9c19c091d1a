"""The documentation site, built as the README says, then read as a visitor reads it.

The site is built once per test session into a temporary folder with warnings as errors
(its executed pages reuse the cache of an earlier build in docs/_build). Then: every internal
link and image of every page resolves, nothing is fetched from elsewhere, no page names a
machine path or an issue, and in headless Chromium (Debian's, driven by Playwright, as the
tests of ``barenet serve`` do) the index and five step pages load with no console error,
their math is typeset, their images load, and the search page finds "backpropagation".

``BARENET_DOCS_SCREENSHOTS=FOLDER`` saves a screenshot of each page looked at there.
"""

from __future__ import annotations

import contextlib
import functools
import http.server
import importlib.util
import os
import re
import subprocess
import sys
import threading
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
from helpers import DATA_DIR

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-sync",
                 "--no-first-run", "--disable-component-update"]
# the MNIST the pages train on: $BARENET_DATA_DIR, else the shared data beside the repository
SITE_DATA = Path(os.environ.get("BARENET_DATA_DIR") or DATA_DIR)  # holds mnist/
STEP_PAGES = ["learn/02_activations.html", "learn/04_backpropagation.html", "learn/06_initialisation.html",
              "learn/12_recurrent.html", "learn/12_attention.html"]

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not all(importlib.util.find_spec(name) for name in ("sphinx", "myst_nb", "furo", "sphinxarg")),
        reason="building the site needs the docs extra: pip install -e '.[docs]'",
    ),
    pytest.mark.skipif(not any((SITE_DATA / "mnist").glob("*-ubyte*")),
                       reason=f"the site's pages train on MNIST; not in {SITE_DATA}"),
]


@pytest.fixture(scope="session")
def site(tmp_path_factory) -> Path:
    """The site, built by the README's command (into a temporary folder); fails on any warning."""
    output = tmp_path_factory.mktemp("site") / "html"
    environment = os.environ | {"BARENET_DATA_DIR": str(SITE_DATA)}
    result = subprocess.run(
        [sys.executable, "-m", "sphinx", "-W", "-q", "-b", "html", "-d", str(output.parent / "doctrees"),
         "docs", str(output)],
        cwd=ROOT, env=environment, capture_output=True, text=True, timeout=1200,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-5000:]
    return output


class Links(HTMLParser):
    """The href and src of every element of a page, and its ids."""

    def __init__(self) -> None:
        super().__init__()
        self.links: list[tuple[str, str, str]] = []  # (tag, attribute, value)
        self.ids: set[str] = set()

    def handle_starttag(self, tag, attrs) -> None:
        for name, value in attrs:
            if name == "id" and value:
                self.ids.add(value)
            if name in ("href", "src") and value:
                self.links.append((tag, name, value))


def parse(page: Path) -> Links:
    links = Links()
    links.feed(page.read_text(encoding="utf-8"))
    return links


def test_every_internal_link_and_image_of_the_site_resolves(site):
    pages = sorted(site.rglob("*.html"))
    assert len(pages) > 30, "the site has too few pages; was it built?"
    ids = {page: parse(page).ids for page in pages}
    broken, checked = [], 0
    for page in pages:
        for tag, attribute, value in parse(page).links:
            parts = urlsplit(value)
            if parts.scheme or value.startswith("//"):
                continue
            target = (page.parent / unquote(parts.path)).resolve() if parts.path else page
            if target.is_dir():
                target = target / "index.html"
            checked += 1
            if not target.is_file():
                broken.append(f"{page.relative_to(site)}: <{tag} {attribute}={value!r}> (no such file)")
            elif parts.fragment and target.suffix == ".html" and unquote(parts.fragment) not in ids[target]:
                broken.append(f"{page.relative_to(site)}: {value!r} (no id {parts.fragment!r} there)")
    assert checked > 1000
    assert broken == []


def test_the_site_loads_nothing_from_elsewhere(site):
    """Scripts, stylesheets and images all come with the site: MathJax too (no CDN)."""
    remote = []
    for page in site.rglob("*.html"):
        for tag, attribute, value in parse(page).links:
            if tag in ("script", "link", "img") and (urlsplit(value).scheme or value.startswith("//")):
                remote.append(f"{page.relative_to(site)}: <{tag} {attribute}={value!r}>")
    assert remote == []
    assert list(site.rglob("tex-chtml*.js")), "MathJax is not shipped with the site"


def test_no_page_names_an_issue_or_a_machine_path(site):
    forbidden = re.compile(r"\bissues? \d|/work/|/tmp/|/root/|/home/|\bload average")
    found = []
    for page in site.rglob("*.html"):
        text = re.sub(r"<[^>]+>", " ", page.read_text(encoding="utf-8"))
        found += [f"{page.relative_to(site)}: {match.group(0)!r}" for match in forbidden.finditer(text)]
    assert found == []


# ---- in a real browser ----------------------------------------------------------------------


@contextlib.contextmanager
def served(folder: Path):
    """``folder`` over HTTP on a free 127.0.0.1 port, in a thread; yields the base URL."""
    handler = functools.partial(QuietHandler, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args) -> None:  # noqa: A002 (the standard library's name)
        pass


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.is_file():
        pytest.skip("no /usr/bin/chromium: apt-get install chromium")
    playwright_api = pytest.importorskip("playwright.sync_api", reason="the browser tests need playwright")
    with playwright_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture(scope="module")
def base_url(site):
    with served(site) as url:
        yield url


@contextlib.contextmanager
def visit(browser, url: str):
    """A page at ``url``, loaded; fails on any console error, uncaught error or request that
    leaves this machine."""
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("requestfailed", lambda request: errors.append(f"failed: {request.url}"))
    page.route(re.compile(r"^(?!http://127\.0\.0\.1:)"), lambda route: (errors.append(route.request.url),
                                                                         route.abort()))
    try:
        page.goto(url, wait_until="load")
        yield page
    finally:
        page.close()
    assert errors == []


def screenshot(page, name: str) -> None:
    folder = os.environ.get("BARENET_DOCS_SCREENSHOTS")
    if folder:
        page.screenshot(path=str(Path(folder) / f"{name}.png"), full_page=False)


def typeset_math(page) -> int:
    """Wait for MathJax to typeset the page; the number of formulas it rendered."""
    page.wait_for_function("() => window.MathJax && MathJax.startup && MathJax.startup.promise")
    page.evaluate("() => MathJax.startup.promise")
    return page.locator("mjx-container").count()


def broken_images(page) -> list[str]:
    page.wait_for_function("() => [...document.images].every((image) => image.complete)")
    return page.evaluate("() => [...document.images].filter((i) => i.naturalWidth === 0).map((i) => i.src)")


def test_the_index_loads_with_its_picture(browser, base_url):
    with visit(browser, base_url + "index.html") as page:
        assert "barenet" in page.title()
        assert page.locator("img").count() >= 1
        assert broken_images(page) == []
        assert page.get_by_role("link", name="the learner’s path").count() + page.locator(
            "a[href='learn/index.html']").count() >= 1
        screenshot(page, "index")


@pytest.mark.parametrize("path", STEP_PAGES)
def test_a_step_page_loads_with_its_math_typeset_and_its_figures(browser, base_url, path):
    with visit(browser, base_url + path) as page:
        formulas = typeset_math(page)
        assert formulas >= 2, "no math was typeset"
        text = page.inner_text("article")
        assert "$$" not in text and "\\[" not in text and "\\begin{" not in text, "raw TeX left on the page"
        assert page.locator(".cell_output").count() >= 2, "the page shows no computed output"
        assert broken_images(page) == []
        screenshot(page, Path(path).stem)


@pytest.mark.parametrize("path", ["learn/06_initialisation.html", "learn/12_attention.html"])
def test_a_step_page_with_figures_shows_them(browser, base_url, path):
    with visit(browser, base_url + path) as page:
        figures = page.locator(".cell_output img")
        assert figures.count() >= 1
        alts = [figures.nth(index).get_attribute("alt") for index in range(figures.count())]
        assert all(alts), "an image has no alt text"
        assert broken_images(page) == []


def test_the_search_page_finds_backpropagation(browser, base_url):
    with visit(browser, base_url + "search.html?q=backpropagation") as page:
        results = page.locator("#search-results ul.search li a")
        results.first.wait_for(timeout=20_000)
        found = [results.nth(index).get_attribute("href") for index in range(results.count())]
        assert any("04_backpropagation" in href for href in found), found
        screenshot(page, "search")
