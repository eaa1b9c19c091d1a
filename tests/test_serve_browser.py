"""``barenet serve`` in a real browser: Debian's Chromium, driven by Playwright for Python with
real pointer events, against a real server serving a model trained here on real MNIST.

Never downloads a browser: it uses /usr/bin/chromium and skips, saying why, without it.
``BARENET_SCREENSHOT=docs/images/serve.png`` also saves the mid-prediction screenshot there
(the README's picture); otherwise it goes to the test's temporary folder.
"""

from __future__ import annotations

import io
import math
import os
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from browser_helpers import BROWSER_MARKS, launched_browser, lit_pixels, open_page
from helpers import DATA_DIR, barenet, cli_environment, mnist_present
from PIL import Image
from serve_helpers import load_served, random_cnn

from barenet.runs.images import grey_pixels

pytestmark = [
    *BROWSER_MARKS,
    pytest.mark.skipif(not mnist_present(), reason=f"the browser tests train on MNIST; not in {DATA_DIR}"),
]


@pytest.fixture(scope="module")
def run_folder(tmp_path_factory):
    """A small MLP trained on 6,000 MNIST digits by ``barenet train`` (about 93 % right)."""
    folder = tmp_path_factory.mktemp("browser") / "run"
    result = barenet(
        "train", "--data-dir", DATA_DIR, "--train-limit", 6000, "--epochs", 3, "--layers", 784, 128, 10,
        "--seed", 0, "--quiet", "--out", folder, cwd=folder.parent, env=cli_environment(folder.parent),
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    return folder


@pytest.fixture(scope="module")
def browser():
    with launched_browser() as browser:
        yield browser


@pytest.fixture(scope="module")
def page(browser, run_folder):
    with open_page(browser, load_served(run_folder, str(DATA_DIR))) as page:
        yield page


def draw(page, *strokes) -> None:
    """Draw strokes (lists of (x, y) on the 336 px canvas) with the mouse, as a person does."""
    box = page.locator("#draw").bounding_box()
    for stroke in strokes:
        page.mouse.move(box["x"] + stroke[0][0], box["y"] + stroke[0][1])
        page.mouse.down()
        for x, y in stroke[1:]:
            page.mouse.move(box["x"] + x, box["y"] + y, steps=3)
        page.mouse.up()


def wait_for_answer(page, count: int) -> str:
    """Wait until the page has had ``count`` answers and asks for no more; the class it shows."""
    page.wait_for_selector(f"body[data-predictions='{count}']")
    page.wait_for_selector("body[data-pending='0']")
    return page.inner_text("#predicted-label")


def wait_for_last_answer(page) -> str:
    """Wait for the answer to the drawing as it is now (earlier ones may come first)."""
    page.wait_for_selector("body[data-pending='0']")
    return page.inner_text("#predicted-label")


def answers(page) -> int:
    return int(page.evaluate("() => Number(document.body.dataset.predictions || 0)"))


SMALL_SEVEN = [[(158, 158), (182, 158), (174, 170), (168, 186)]]  # 30 pixels: a sixth of the square
ONE = [[(176, 60), (168, 290)], [(140, 90), (176, 60)]]
SEVEN = [[(90, 80), (250, 80), (200, 160), (150, 285)]]
ZERO = [[(168 + 70 * math.sin(t), 168 - 110 * math.cos(t)) for t in np.linspace(0, 2 * math.pi, 40)]]


def test_drawn_digits_are_recognised_and_shown_inside_the_network(page, tmp_path):
    for strokes, digit in ((ONE, "1"), (ZERO, "0"), (SEVEN, "7")):
        page.click("#clear")
        before = answers(page)
        assert page.inner_text("#predicted-label") == "?"
        draw(page, *strokes)
        assert wait_for_last_answer(page) == digit
        assert answers(page) > before
        probability = float(page.inner_text("#predicted-probability").split("%")[0])
        assert 10 <= probability <= 100
        assert page.locator("#bars li.top .label").inner_text() == digit
        assert min(lit_pixels(page, "#preview")) > 30  # gray pixels: the antialiased 28x28 digit
        assert min(lit_pixels(page, "#saliency")) > 30
        maps = lit_pixels(page, "#layers canvas.activation")
        assert len(maps) == 1 and min(maps) > 10  # the one hidden layer, 128 units
    screenshot = Path(os.environ.get("BARENET_SCREENSHOT", tmp_path / "serve.png"))
    page.screenshot(path=str(screenshot))
    assert Image.open(screenshot).size == (1500, 1100)


def test_the_drawing_is_sent_as_a_grey_png_read_exactly_as_the_canvas_png(page):
    """png.js's greyscale PNG and the browser's own RGBA PNG of the same canvas give the server
    the same grey levels: for the drawing as sent, and for every colour (an upload drawn over)."""
    page.click("#clear")
    draw(page, *SEVEN)
    wait_for_last_answer(page)
    sent = page.evaluate("async () => [...new Uint8Array(await (await requestBody()).body.arrayBuffer())]")
    assert Image.open(io.BytesIO(bytes(sent))).mode == "L"  # what the page sends (app.js)
    older = page.evaluate("""async () => {  // a browser without CompressionStream sends toBlob's RGBA PNG
        const kept = window.CompressionStream;
        delete window.CompressionStream;
        try { return [...new Uint8Array(await (await requestBody()).body.arrayBuffer())]; }
        finally { window.CompressionStream = kept; }
    }""")
    sent, older = (Image.open(io.BytesIO(bytes(data))) for data in (sent, older))
    assert older.mode == "RGBA" and np.array_equal(grey_pixels(older), grey_pixels(sent))
    pngs = page.evaluate("""async () => {
        const encode = async (blob) => Array.from(new Uint8Array(await blob.arrayBuffer()));
        const small = document.createElement("canvas");
        small.width = small.height = 168;
        small.getContext("2d").drawImage(document.getElementById("draw"), 0, 0, 168, 168);
        const colours = document.createElement("canvas");
        colours.width = colours.height = 256;  // 65,536 colours: every red and green, blue mixed in
        const image = colours.getContext("2d").createImageData(256, 256);
        for (let i = 0; i < 65536; i++) {
          image.data.set([i & 255, (i >> 8) & 255, (i * 97 + 13) & 255, 255], 4 * i);
        }
        colours.getContext("2d").putImageData(image, 0, 0);
        const result = [];
        for (const canvas of [small, colours]) {
          const rgba = await new Promise((resolve) => canvas.toBlob(resolve, "image/png"));
          result.push([await encode(await greyPng(canvas)), await encode(rgba)]);
        }
        return result;
    }""")
    for grey_png, rgba_png in pngs:
        grey, rgba = (Image.open(io.BytesIO(bytes(data))) for data in (grey_png, rgba_png))
        assert (grey.mode, rgba.mode) == ("L", "RGBA")
        assert np.array_equal(grey_pixels(grey), grey_pixels(rgba))
    (drawing, drawing_rgba), (colours, _) = pngs
    assert png_chunks(bytes(drawing)) == ["IHDR", "IDAT", "IEND"]
    assert len(drawing) < len(drawing_rgba) / 2  # and a smaller upload
    assert len(np.unique(grey_pixels(Image.open(io.BytesIO(bytes(colours)))))) > 250  # nearly every level


def png_chunks(data: bytes) -> list[str]:
    """The chunk types of a PNG file, each chunk's CRC-32 checked."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    types, position = [], 8
    while position < len(data):
        (length,) = struct.unpack(">I", data[position : position + 4])
        body = data[position + 4 : position + 8 + length]  # the type and the data
        (crc,) = struct.unpack(">I", data[position + 8 + length : position + 12 + length])
        assert crc == zlib.crc32(body)
        types.append(body[:4].decode())
        position += 12 + length
    return types


def test_clear_resets_and_undo_removes_the_last_stroke(page):
    page.click("#clear")
    draw(page, ONE[0])
    wait_for_last_answer(page)
    after_one = answers(page)
    draw(page, [(60, 300), (300, 300)])  # a line under the 1
    wait_for_last_answer(page)
    after_line = answers(page)
    assert after_line > after_one
    page.click("#undo")  # back to the 1 alone: asked again
    assert wait_for_answer(page, after_line + 1) == "1"
    page.click("#clear")
    assert page.inner_text("#predicted-label") == "?"
    assert page.inner_text("#predicted-probability") == "draw something"
    assert lit_pixels(page, "#preview") == [0] and lit_pixels(page, "#saliency") == [0]
    assert page.locator("#layers canvas").count() == 0
    assert page.evaluate("""() => {
        const canvas = document.getElementById("draw");
        const data = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
        return data.every((value) => value === 255);
    }""")


def test_an_uploaded_photo_is_read_the_mnist_way(page, run_folder, tmp_path):
    from barenet.datasets import load_mnist
    from barenet.runs.images import read_digit_image

    model = load_served(run_folder).model
    (_, _), (x_test, y_test) = load_mnist(DATA_DIR)
    for index in range(50):  # a test "2" as a scan would show it: dark ink on white paper, large
        photo = tmp_path / f"scan{index}.png"
        Image.fromarray(255 - x_test[index]).resize((224, 224), Image.Resampling.BICUBIC).save(photo)
        if y_test[index] == 2 and model.predict(read_digit_image(photo)[None])[0] == 2:
            break
    page.click("#clear")
    before = answers(page)
    page.set_input_files("#upload", str(photo))
    assert wait_for_answer(page, before + 1) == "2"
    assert min(lit_pixels(page, "#preview")) > 30
    page.set_input_files("#upload", str(Path(__file__)))  # not an image: the page says why
    page.wait_for_selector("#status:has-text('not a readable PNG or JPEG')")
    assert page.inner_text("#predicted-label") == "?"  # and keeps no answer beside the error
    assert page.locator("#bars li.top").count() == 0 and lit_pixels(page, "#preview") == [0]
    page.click("#clear")
    assert page.inner_text("#status") == ""


def test_run_folder_curves_and_confusion_cells(page):
    assert page.locator("#run").is_visible()
    title = page.locator("#confusion-title").inner_text()
    assert title.startswith("Confusion matrix: 10,000 mnist test images")
    assert min(lit_pixels(page, "#loss-chart")) > 100 and min(lit_pixels(page, "#accuracy-chart")) > 100
    cell = page.locator("#confusion td[data-true='4'][data-predicted='9']")
    count = int(cell.inner_text())
    cell.click()
    page.wait_for_selector("#cell-title:has-text('true 4, said 9')")
    shown = page.locator("#cell-images canvas").count()
    assert shown == min(count, 60) and shown > 0
    assert min(lit_pixels(page, "#cell-images canvas")) > 10
    assert page.locator("#cell-images figcaption").first.inner_text().startswith("4→9")


def test_a_convolutional_network_shows_its_feature_maps(browser):
    from barenet.serve.served import ServedModel

    served = ServedModel(random_cnn(), "cnn.npz", [str(digit) for digit in range(10)])
    with open_page(browser, served) as cnn_page:
        draw(cnn_page, *SEVEN)
        wait_for_last_answer(cnn_page)
        captions = cnn_page.locator("#layers figcaption").all_inner_texts()
        assert [caption.split(" (")[0] for caption in captions] == [
            "layer 3 · ReLU · 8 feature maps 26×26", "layer 6 · ReLU · 12 feature maps 11×11, first 8 shown"
        ]
        maps = lit_pixels(cnn_page, "#layers canvas.activation")
        assert len(maps) == 16 and sum(count > 0 for count in maps) >= 8
        assert cnn_page.locator("#run").is_hidden()


def test_a_small_drawing_shows_the_warning_and_a_large_one_none(page):
    page.click("#clear")
    draw(page, *SMALL_SEVEN)
    wait_for_last_answer(page)
    warning = page.locator("#warning")
    assert warning.is_visible()
    assert warning.inner_text().startswith("This looks unlike the images the model was trained on")
    assert "draw it bigger" in warning.inner_text()
    page.click("#clear")
    assert warning.is_hidden()
    draw(page, *SEVEN)
    assert wait_for_last_answer(page) == "7" and warning.is_hidden()
    caption = page.inner_text("#saliency-caption")
    assert "gradient × input" in caption and "SmoothGrad" in caption


def test_the_start_page_fits_a_1400_pixel_window(browser, run_folder):
    with open_page(browser, load_served(run_folder, str(DATA_DIR))) as wide_page:
        for width in (1400, 1280, 1024, 800):
            wide_page.set_viewport_size({"width": width, "height": 900})
            assert wide_page.evaluate("document.documentElement.scrollWidth") <= width, width
