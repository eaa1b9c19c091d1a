"""Request bodies to the 28x28 image the network sees, with a clear error for anything else.

An image (PNG or JPEG: a drawing, a photo of a digit on paper) goes through barenet's own
MNIST recipe, :func:`barenet.runs.images.read_digit` (as ``barenet predict``): grayscale, ink
made bright, cropped, fitted into 20x20, centred by mass in 28x28; the digit's size and place
in the image are kept for the advice a warning gives. That recipe is why a drawing is
recognised as well as a test digit; a plain downscale is not. A JSON list of 784 numbers
(0-255) is taken as an image already prepared that way, as an MNIST test row is.

Every refusal is a :class:`RequestError` that carries its HTTP status; its message speaks of
JSON values (null, a string, a list of 3 numbers), never of Python types.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator

import numpy as np
from PIL import Image, UnidentifiedImageError

from ..errors import BarenetError, ImageReadError
from ..runs.images import WORK_SIDE, Digit, grey_pixels, read_digit
from .served import IMAGE_SIDE, IMAGE_SIZE

MAX_BODY_BYTES = 8 * 1024 * 1024  # a large phone photo; a drawing from the page is ~10 KB
MAX_IMAGE_PIXELS = 4096 * 4096  # decoded size limit, checked from the header before decoding
IMAGE_FORMATS = ("PNG", "JPEG")
ACCEPTED = "a PNG or JPEG image (as the body, or one file in a multipart form) or a JSON list of 784 numbers"


class RequestError(BarenetError):
    """A request the server refuses: ``status`` is the HTTP status, the message says why."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def digit_from_image(data: bytes) -> Digit:
    """A PNG or JPEG file's bytes read as a digit: ``.image`` is the 28x28 the network sees."""
    if not data:
        raise RequestError(400, f"the image is empty (0 bytes); send {ACCEPTED}")
    try:
        with Image.open(io.BytesIO(data)) as image:
            if image.format not in IMAGE_FORMATS:
                raise RequestError(415, f"the image is {image.format}; send a PNG or JPEG image")
            width, height = image.size
            if width * height > MAX_IMAGE_PIXELS:
                raise RequestError(
                    413, f"the image is {width}x{height} pixels; the limit is {MAX_IMAGE_PIXELS:,} pixels "
                    "(4096x4096): send a smaller image"
                )
            image.draft("L", (2 * WORK_SIDE, 2 * WORK_SIDE))  # a JPEG decodes at a reduced size
            pixels = grey_pixels(image)  # what `barenet predict` reads from a file, alpha composited
    except RequestError:
        raise
    except ValueError as error:  # e.g. fully transparent
        raise RequestError(422, f"the image holds no digit ({error}): draw a digit first") from None
    except (UnidentifiedImageError, OSError, SyntaxError, Image.DecompressionBombError) as error:
        unknown = isinstance(error, UnidentifiedImageError)
        reason = "not an image format Pillow knows" if unknown else str(error)
        raise RequestError(400, f"the body is not a readable PNG or JPEG image ({reason}); send {ACCEPTED}") \
            from None
    try:
        return read_digit(pixels, source="the image")
    except ImageReadError:
        raise RequestError(422, "the canvas is empty (the image is one flat colour): draw a digit first") \
            from None


def row_from_json(data: bytes) -> np.ndarray:
    """A JSON body, ``[784 numbers]``, ``[[28 numbers] x 28]`` or ``{"pixels": ...}``, as 784 pixels."""
    try:
        value = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as error:
        raise RequestError(400, f"the body is not valid JSON ({error}); send {ACCEPTED}") from None
    if isinstance(value, dict):
        if set(value) != {"pixels"}:
            raise RequestError(
                422, f"a JSON object must have exactly one key, 'pixels'; got keys {sorted(value)}"
            )
        value = value["pixels"]
    if not isinstance(value, list):
        raise RequestError(422, f"expected a JSON list of {IMAGE_SIZE} numbers; got {json_kind(value)}")
    try:
        pixels = np.asarray(value)
    except (ValueError, TypeError):
        raise RequestError(
            422, f"the pixels must be a flat list of {IMAGE_SIZE} numbers or {IMAGE_SIDE} lists of "
            f"{IMAGE_SIDE}; the lists given have different lengths"
        ) from None
    if pixels.dtype.kind not in "iuf":
        odd = next(item for item in leaves(value) if not is_number(item))
        raise RequestError(422, f"the pixels must all be numbers; got {json_kind(odd)} among them")
    if pixels.shape not in ((IMAGE_SIZE,), (IMAGE_SIDE, IMAGE_SIDE)):
        raise RequestError(
            422, f"expected {IMAGE_SIZE} numbers (a 28x28 image, row by row) or {IMAGE_SIDE} lists of "
            f"{IMAGE_SIDE}; got {shape_words(pixels.shape)}"
        )
    pixels = pixels.astype(np.float64).reshape(-1)
    if not np.isfinite(pixels).all() or pixels.min() < 0 or pixels.max() > 255:
        raise RequestError(422, "the pixels must be finite numbers from 0 (black) to 255 (white)")
    if pixels.min() == pixels.max():
        raise RequestError(422, "the image is blank (every pixel has the same value): draw a digit first")
    return pixels.astype(np.float32)


def leaves(value: list) -> Iterator[object]:
    """The values of nested JSON lists, in order."""
    for item in value:
        if isinstance(item, list):
            yield from leaves(item)
        else:
            yield item


def is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def json_kind(value: object) -> str:
    """What a JSON value is, in JSON's words: null, true, a string, an object, ..."""
    if value is None or isinstance(value, bool):
        return json.dumps(value)
    if is_number(value):
        return f"the single number {value}"
    if isinstance(value, str):
        return f"the text {json.dumps(value[:20])}"
    return "an object" if isinstance(value, dict) else "a list"


def shape_words(shape: tuple[int, ...]) -> str:
    """``(3,)`` -> "a list of 3 numbers", ``(27, 28)`` -> "27 lists of 28 numbers"."""
    def count(n: int, thing: str) -> str:
        return f"{n} {thing}{'' if n == 1 else 's'}"

    if len(shape) == 1:
        return f"a list of {count(shape[0], 'number')}"
    if len(shape) == 2:
        return f"{count(shape[0], 'list')} of {count(shape[1], 'number')}"
    return f"lists nested {len(shape)} deep ({count(int(np.prod(shape)), 'number')})"
