"""``barenet serve`` on a text model in a real browser (Debian's Chromium, driven by Playwright,
as test_serve_browser.py): type a prompt, generate, watch the characters arrive, point at one
and see what the model expected next and every attention head drawn.

``BARENET_SCREENSHOT=docs/images/serve_text.png`` also saves the screenshot there (the docs'
picture); otherwise it goes to the test's temporary folder.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from browser_helpers import BROWSER_MARKS, launched_browser, lit_pixels, open_page
from PIL import Image
from serve_helpers import load_served, tiny_gpt

pytestmark = BROWSER_MARKS
PROMPT = "JULIET:\nO Romeo"


@pytest.fixture(scope="module")
def model_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("text-browser") / "gpt.npz"
    tiny_gpt(steps=150).save(path)
    return path


@pytest.fixture(scope="module")
def browser():
    with launched_browser() as browser:
        yield browser


@pytest.fixture(scope="module")
def page(browser, model_file):
    with open_page(browser, load_served(model_file)) as page:
        yield page


def generate(page, prompt: str, length: int, seed: str = "0") -> str:
    page.fill("#prompt", prompt)
    page.fill("#length", str(length))
    page.fill("#seed", seed)
    page.click("#generate")
    page.wait_for_selector("body[data-generating='0']")
    return text_of(page)


def text_of(page) -> str:
    """The text on the page, prompt and generated (a newline is shown as ↵ and a line break)."""
    return page.evaluate("""() => [...document.querySelectorAll('#output span')]
        .map((span) => span.textContent === '↵\\n' ? '\\n' : span.textContent).join('')""")


def shown_count(page) -> int:
    return int(page.evaluate("Number(document.body.dataset.shown || 0)"))


def test_type_generate_and_look_inside(page, tmp_path):
    assert page.input_value("#prompt") == "ROMEO:"  # every character of it is in the vocabulary
    text = generate(page, PROMPT, 160)
    assert text.startswith(PROMPT) and len(text) == len(PROMPT) + 160
    assert page.evaluate("document.body.dataset.generated") == "160"
    assert page.locator("#output span.prompt").count() == len(PROMPT)
    assert page.inner_text("#status") == ""
    before = shown_count(page)
    index = len(PROMPT) + 40  # a generated character, its whole context (32) inside the text
    page.click(f"#output span[data-index='{index}']")
    page.wait_for_function("(before) => Number(document.body.dataset.shown) > before", arg=before)
    page.wait_for_selector("body[data-pending='0']")
    assert page.locator("#output span.selected").get_attribute("data-index") == str(index)
    assert page.locator("#output span.context").count() == 32
    assert page.locator(".attention-grid .layer-label").all_inner_texts() == ["layer 1", "layer 2"]
    assert page.locator(".attention-grid .head-label").all_inner_texts() == ["head 1", "head 2"]
    heads = lit_pixels(page, ".attention-grid canvas")
    assert len(heads) == 4 and min(heads) > 200  # 32x32 weights drawn 4x: lit where heads looked
    bars = page.locator("#bars li")
    assert bars.count() == 10
    widths = page.evaluate("[...document.querySelectorAll('#bars .fill')]"
                           ".map((fill) => parseFloat(fill.style.width))")
    assert widths == sorted(widths, reverse=True) and widths[0] > 10
    assert page.locator("#bars li.actual").count() <= 1
    assert page.inner_text("#next-after").startswith("after “…")
    assert page.inner_text("#next-note").startswith("What came next: ")
    assert page.evaluate("document.documentElement.scrollHeight") <= 1100  # all of it in one screen
    page.hover(".attention-grid canvas >> nth=3")  # a head colours the text by its attention
    tinted = page.evaluate("[...document.querySelectorAll('#output span')]"
                           ".filter((span) => span.style.backgroundColor).length")
    assert 0 < tinted <= 32
    screenshot = Path(os.environ.get("BARENET_SCREENSHOT", tmp_path / "serve_text.png"))
    page.screenshot(path=str(screenshot))
    assert Image.open(screenshot).size == (1500, 1100)


def test_the_pointer_previews_until_a_click_holds_a_character(page):
    generate(page, PROMPT, 60)
    page.click(f"#output span[data-index='{len(PROMPT) + 10}']")
    page.hover(f"#output span[data-index='{len(PROMPT) + 20}']")  # held: pointing elsewhere changes nothing
    page.wait_for_selector("body[data-pending='0']")
    assert page.locator("#output span.selected").get_attribute("data-index") == str(len(PROMPT) + 10)
    page.click(f"#output span[data-index='{len(PROMPT) + 10}']")  # let go
    page.hover("#output span[data-index='3']")
    page.wait_for_selector("#output span.selected[data-index='3']")
    page.wait_for_selector("body[data-pending='0']")
    assert page.inner_text("#next-after") == "after “JULI”"
    assert page.inner_text("#next-note") == "What came next: E (you wrote it)."
    assert min(lit_pixels(page, ".attention-grid canvas")) > 0


def test_bad_prompts_are_explained_on_the_page(page):
    generate(page, "Romeo & Juliet", 10)
    assert "outside the model's vocabulary: '&'" in page.inner_text("#status")
    generate(page, "", 10)
    assert "the prompt is empty" in page.inner_text("#status")
    generate(page, "O", 999999)
    assert "length must be a whole number from 1 to 2,000; got 999999" in page.inner_text("#status")
    generate(page, "O", 5)
    assert page.inner_text("#status") == "" and len(text_of(page)) == 6


def test_stop_ends_a_long_generation(page):
    page.fill("#prompt", "O")
    page.fill("#length", "2000")
    page.click("#generate")
    page.wait_for_function("""() => {  // press Stop as soon as 5 characters are in (a tiny model is quick)
        if (Number(document.body.dataset.generated) < 5) return false;
        document.getElementById("stop").click();
        return true;
    }""")
    page.wait_for_selector("body[data-generating='0']")
    assert 5 <= len(text_of(page)) - 1 < 2000 and page.inner_text("#status") == ""


def test_the_page_fits_narrow_windows(page):
    for width in (1400, 1024, 800):
        page.set_viewport_size({"width": width, "height": 900})
        assert page.evaluate("document.documentElement.scrollWidth") <= width, width
    page.set_viewport_size({"width": 1500, "height": 1100})
