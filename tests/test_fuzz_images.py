"""Fuzzing the image reader: images of any size, mode and format, and damaged image bytes,
end in an MNIST row or an ImageReadError, never another exception; memory stays bounded."""

from __future__ import annotations

import io
import resource

import numpy as np
import pytest
from fuzz_outcomes import examples, outcome, write_report
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from barenet.runs.images import read_digit_image

FUZZ = settings(
    max_examples=examples(120),
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
FORMATS = {
    "PNG": ".png",
    "JPEG": ".jpg",
    "GIF": ".gif",
    "BMP": ".bmp",
    "TIFF": ".tiff",
    "WEBP": ".webp",
    "PPM": ".ppm",
}
MODES = ["1", "L", "LA", "P", "RGB", "RGBA", "I;16", "I", "F", "CMYK"]
PEAK_LIMIT_KB = 2 * 2**20  # the process's peak resident memory after fuzzing: 2 GiB


@pytest.fixture(scope="module", autouse=True)
def report():
    yield
    write_report()
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss < PEAK_LIMIT_KB


def encode(pixels: np.ndarray, mode: str, image_format: str) -> bytes | None:
    """The image in ``image_format``, or None when Pillow cannot write that mode there."""
    image = Image.fromarray(pixels.astype(np.uint8), "L")
    if mode in ("I;16", "I", "F"):
        image = Image.fromarray(
            (pixels * (257 if mode == "I;16" else 1)).astype(
                {"I;16": np.uint16, "I": np.int32, "F": np.float32}[mode]
            )
        )
    else:
        image = image.convert(mode)
    buffer = io.BytesIO()
    try:
        image.save(buffer, format=image_format)
    except (OSError, ValueError, KeyError):
        return None
    return buffer.getvalue()


@st.composite
def images(draw) -> tuple[bytes, str] | None:
    height, width = draw(st.integers(1, 48)), draw(st.integers(1, 48))
    kind = draw(st.sampled_from(["noise", "flat", "stroke"]))
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    pixels = (
        rng.integers(0, 256, (height, width)).astype(float)
        if kind == "noise"
        else np.full((height, width), draw(st.integers(0, 255)), float)
    )
    if kind == "stroke":
        pixels[height // 3 : max(height // 3 + 1, height // 2), :] = 255 - pixels[0, 0]
    image_format = draw(st.sampled_from(sorted(FORMATS)))
    data = encode(pixels, draw(st.sampled_from(MODES)), image_format)
    return (data, FORMATS[image_format]) if data else None


@FUZZ
@given(image=images())
def test_images_of_any_size_mode_and_format(tmp_path, image):
    if image is None:
        return
    data, suffix = image
    path = tmp_path / f"fuzz{suffix}"
    path.write_bytes(data)
    if outcome("images", read_digit_image, path) == "success":
        row = read_digit_image(path)
        assert row.shape == (784,) and np.isfinite(row).all() and 0 <= row.min() <= row.max() <= 255.01


@FUZZ
@given(
    image=images(),
    edits=st.lists(st.tuples(st.integers(0, 10**5), st.integers(0, 255)), min_size=1, max_size=8),
    cut=st.one_of(st.none(), st.integers(0, 10**5)),
)
def test_damaged_image_bytes(tmp_path, image, edits, cut):
    """A good image file with bytes overwritten (headers, sizes, chunks) or cut short."""
    if image is None:
        return
    data, suffix = bytearray(image[0]), image[1]
    for position, value in edits:
        data[position % len(data)] = value
    if cut is not None:
        data = data[: cut % len(data)]
    path = tmp_path / f"fuzz{suffix}"
    path.write_bytes(bytes(data))
    outcome("images", read_digit_image, path)
