"""What ``barenet serve`` tells the user: the out-of-distribution warning ``barenet predict``
gives, with advice when a drawing is too small or cut off, and JSON errors in JSON's words."""

from __future__ import annotations

import io
import json
import re

import numpy as np
import pytest
from helpers import shapes_dataset
from PIL import Image, ImageDraw
from serve_helpers import load_served, random_classifier, running_server

from barenet.runs.images import ink_statistics
from barenet.serve.explain import explain, predict
from barenet.serve.inputs import RequestError, digit_from_image, row_from_json
from barenet.serve.served import ServedModel

PYTHON_WORDS = re.compile(r"NoneType|\ban? (int|str|dict|float|bool|tuple)\b|<U\d|\bdtype\b|\(1 numbers\)")


def png(pixels: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(np.asarray(pixels, dtype=np.uint8)).save(buffer, format="PNG")
    return buffer.getvalue()


def canvas(ring_side: int, top_left=(140, 140), side: int = 336) -> np.ndarray:
    """The page's canvas, white, with a ring ``ring_side`` pixels across drawn in black with
    the page's pen (24 pixels wide on the 336-pixel canvas)."""
    paper = Image.new("L", (side, side), 255)
    left, top = top_left
    ImageDraw.Draw(paper).ellipse(
        [(left, top), (left + 0.7 * ring_side, top + ring_side)], outline=0, width=24
    )
    return np.asarray(paper)


@pytest.fixture(scope="module")
def served() -> ServedModel:
    """A model whose training images were drawn shapes; their ink ranges kept as a model file keeps them."""
    x, _ = shapes_dataset(300, np.random.default_rng(0))
    return ServedModel(random_classifier(), "shapes.npz", [str(digit) for digit in range(10)],
                       ink_statistics=ink_statistics(x))


def test_a_small_drawing_gets_the_warning_and_the_advice_to_draw_bigger(served):
    small = digit_from_image(png(canvas(48)))
    answer = explain(served, small.image.reshape(-1), small)
    assert answer["unusual"], answer["warning"]
    assert answer["warning"].startswith("This looks unlike the images the model was trained on: ")
    assert "draw it bigger" in answer["warning"]
    large = digit_from_image(png(canvas(250, top_left=(43, 43))))
    assert predict(served, large.image.reshape(-1), large)["warning"] == ""


def test_a_digit_cut_off_at_the_edge_is_told_to_centre_it(served):
    cut = canvas(200, top_left=(-130, 60))  # all but a thin arc beyond the left edge
    digit = digit_from_image(png(cut))
    assert digit.cut_off
    answer = predict(served, digit.image.reshape(-1), digit)
    assert answer["unusual"] and "centre it" in answer["warning"]


def test_rows_of_pixels_are_checked_too_and_a_model_without_statistics_is_not(served):
    noise = np.random.default_rng(0).uniform(0, 255, 784).astype(np.float32)
    answer = predict(served, noise)
    assert answer["unusual"] and "draw it bigger" not in answer["warning"]
    bare = ServedModel(served.model, "bare.npz", served.class_names)
    assert predict(bare, noise)["unusual"] == [] and predict(bare, noise)["warning"] == ""


def test_load_served_reads_the_ink_statistics_of_the_model_file(tmp_path, served):
    model = random_classifier()
    model.metadata["ink_statistics"] = served.ink_statistics
    model.save(tmp_path / "model.npz")
    assert load_served(tmp_path / "model.npz").ink_statistics == served.ink_statistics


def test_the_warning_reaches_the_client(served):
    with running_server(served) as url:
        import httpx

        answer = httpx.post(f"{url}/api/explain", content=png(canvas(48)),
                            headers={"content-type": "image/png"}, timeout=30).json()
    assert "draw it bigger" in answer["warning"]


BAD_JSON = [  # (body, what the message says)
    (7, "got the single number 7"),
    (None, "got null"),
    ("seven", 'got the text "seven"'),
    (True, "got true"),
    ({"pixels": None}, "got null"),
    ({"pixels": {"a": 1}}, "got an object"),
    ([1], "got a list of 1 number"),
    ([1, 2, 3], "got a list of 3 numbers"),
    ([[1] * 28] * 27, "got 27 lists of 28 numbers"),
    ([[[1]]], "got lists nested 3 deep (1 number)"),
    (["a"] * 784, 'got the text "a" among them'),
    ([0] * 783 + [None], "got null among them"),
    ([True] * 784, "got true among them"),
    ([[0] * 28] * 27 + [[0] * 27 + ["x"]], 'got the text "x" among them'),
]


@pytest.mark.parametrize("body, expected", BAD_JSON, ids=[json.dumps(body)[:30] for body, _ in BAD_JSON])
def test_json_errors_speak_json_not_python(body, expected):
    with pytest.raises(RequestError) as caught:
        row_from_json(json.dumps(body).encode())
    message = str(caught.value)
    assert expected in message
    assert not PYTHON_WORDS.search(message), message
