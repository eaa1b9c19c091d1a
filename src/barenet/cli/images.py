"""Reading a photo or drawing of a digit the way MNIST was made.

MNIST digits are white on black, fitted into a 20x20 box (keeping their proportions) and
placed in a 28x28 image so that their centre of mass sits at the centre. A model trained on
MNIST only recognises digits prepared the same way, so :func:`read_digit_image` repeats
those steps for any PNG or JPEG: grayscale, invert if dark-on-light, subtract the
background, crop to the digit, scale into 20x20, centre by mass, stretch to 0-255.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from ..errors import ImageReadError

SIZE = 28  # MNIST image side
BOX = 20  # the digit is scaled to fit a BOX x BOX square
INK_THRESHOLD = 0.2  # fraction of the brightest value above which a pixel counts as ink




def read_digit_image(path: str | Path) -> np.ndarray:
    """The image at ``path`` as one MNIST-style row: float32 ``(784,)``, values 0-255."""
    path = Path(path)
    try:
        with Image.open(path) as image:
            pixels = np.asarray(image.convert("L"), dtype=np.float32)
    except FileNotFoundError:
        raise ImageReadError(f"no image file at {path}") from None
    except (UnidentifiedImageError, OSError) as error:
        raise ImageReadError(f"{path} is not a readable PNG or JPEG image: {error}") from None
    return mnist_style(pixels, source=str(path)).reshape(-1)


def mnist_style(pixels: np.ndarray, source: str = "image") -> np.ndarray:
    """A grayscale image ``(height, width)`` of any size as a 28x28 MNIST-style digit."""
    border = np.concatenate([pixels[0], pixels[-1], pixels[:, 0], pixels[:, -1]])
    background = float(np.median(border))
    if background > 127:  # dark ink on light paper: make the ink bright
        pixels, background = 255 - pixels, 255 - background
    ink = np.clip(pixels - background, 0, None)
    if ink.max() <= 0:
        raise ImageReadError(f"{source}: no digit found, the image is one flat colour")
    rows, columns = np.nonzero(ink > INK_THRESHOLD * ink.max())
    digit = ink[rows.min() : rows.max() + 1, columns.min() : columns.max() + 1]
    digit = _fit_in_box(digit)
    return _centre_by_mass(digit) * (255 / digit.max())


def _fit_in_box(digit: np.ndarray) -> np.ndarray:
    """Scale so the longer side is BOX pixels, keeping the proportions (antialiased)."""
    height, width = digit.shape
    scale = BOX / max(height, width)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    resized = Image.fromarray(digit.astype(np.float32)).resize(size, Image.Resampling.LANCZOS)
    return np.clip(np.asarray(resized), 0, None)


def _centre_by_mass(digit: np.ndarray) -> np.ndarray:
    """Place ``digit`` in a SIZE x SIZE image with its centre of mass at the centre."""
    height, width = digit.shape
    total = digit.sum()
    centre_row = (digit.sum(axis=1) @ np.arange(height)) / total
    centre_column = (digit.sum(axis=0) @ np.arange(width)) / total
    top = int(np.clip(round((SIZE - 1) / 2 - centre_row), 0, SIZE - height))
    left = int(np.clip(round((SIZE - 1) / 2 - centre_column), 0, SIZE - width))
    image = np.zeros((SIZE, SIZE), dtype=np.float32)
    image[top : top + height, left : left + width] = digit
    return image
