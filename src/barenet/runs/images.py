"""Reading a photo or drawing of a digit the way MNIST was made.

MNIST digits are white on black, fitted into a 20x20 box (keeping their proportions) and
placed in a 28x28 image so that their centre of mass sits at the centre. A model trained on
MNIST only recognises digits prepared the same way, so :func:`read_digit_image` repeats
those steps for any image Pillow reads (PNG, JPEG, WebP, TIFF, BMP, GIF, ...):

1. grayscale; a transparent background is composited onto a colour opposite to the ink;
2. which is ink: dark ink on light paper or light on dark (the side with the long tail of
   the brightness distribution, once a large blur is subtracted, is the ink);
3. the paper estimated *locally*, by a morphological closing (a maximum then a minimum
   filter over a window wider than a pen stroke; for light ink an opening), and the ink
   measured against it: dark ink as ``1 − pixel / paper`` (light falls on ink and paper
   alike, so a lighting gradient or a shadow divides out), light ink as ``pixel −
   background``; what stays below three noise levels (the median absolute deviation of the
   result) is dropped, and a noisy image is first smoothed a little, so grey noise is not ink;
4. cropped to the ink (all but 0.2 % of it at each side), scaled into 20x20, centred by
   mass, stretched to 0-255.

:func:`ink_statistics` and :func:`unusual_ink` are the out-of-distribution check: see there.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from PIL import Image

from ..errors import ImageReadError

SIZE = 28  # MNIST image side
BOX = 20  # the digit is scaled to fit a BOX x BOX square
INK_THRESHOLD = 0.2  # fraction of the brightest ink above which a pixel counts for the crop
MAX_PIXELS = 40_000_000  # larger images are refused before they are decoded (Pillow's limit is 89 M)
WORK_SIDE = 256  # larger images are reduced to this longer side first (the result is 28x28)
NOISY = 2.0  # grey levels of pixel-to-pixel noise above which the image is smoothed a little first
NOISE_LEVELS = 3.0  # ink below this many noise levels above the background is dropped
CROP_TAIL = 0.002  # the crop leaves out this share of the strong ink at each side


def read_digit_image(path: str | Path) -> np.ndarray:
    """The image at ``path`` as one MNIST-style row: float32 ``(784,)``, values 0-255."""
    path = Path(path)
    if not path.is_file():
        raise ImageReadError(f"no image file at {path}")
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            with Image.open(path) as image:
                if image.width * image.height > MAX_PIXELS:  # known from the header, before decoding
                    raise Image.DecompressionBombError(
                        f"{image.width}x{image.height} pixels, more than {MAX_PIXELS:,}"
                    )
                image.draft("L", (WORK_SIDE * 2, WORK_SIDE * 2))  # JPEG: decode at a reduced size
                pixels = grey_pixels(image)
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
            raise ImageReadError(
                f"{path} is too large to be a digit ({error}); crop or shrink it first"
            ) from None
        except Exception as error:  # noqa: BLE001 - any decoder failure means "not a readable image"
            raise ImageReadError(
                f"{path} is not a readable PNG or JPEG image (nor WebP, TIFF, BMP, GIF, ...): "
                f"{type(error).__name__}: {error}"
            ) from None
    return mnist_style(pixels, source=str(path)).reshape(-1)


def grey_pixels(image: Image.Image) -> np.ndarray:
    """The first frame as float32 grey levels 0-255, reduced to WORK_SIDE, alpha composited."""
    image.seek(0)
    image.load()
    if max(image.size) > WORK_SIDE:
        scale = WORK_SIDE / max(image.size)
        size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
        image = image.convert("RGBA" if has_alpha(image) else "RGB").resize(size, Image.Resampling.BOX)
    if image.mode in ("I", "F") or image.mode.startswith("I;"):
        values = np.asarray(image, dtype=np.float64)
        low, high = float(values.min()), float(values.max())
        return ((values - low) * (255 / (high - low) if high > low else 0.0)).astype(np.float32)
    if not has_alpha(image):
        return np.asarray(image.convert("L"), dtype=np.float32)
    rgba = image.convert("RGBA")
    alpha = np.asarray(rgba.getchannel("A"), dtype=np.float32) / 255
    grey = np.asarray(rgba.convert("RGB").convert("L"), dtype=np.float32)
    if alpha.min() >= 1:
        return grey
    if alpha.sum() == 0:
        raise ValueError("the image is fully transparent")
    ink = float((grey * alpha).sum() / alpha.sum())  # the opaque part is the drawing
    background = 0.0 if ink > 127 else 255.0
    return grey * alpha + background * (1 - alpha)  # composite onto the contrasting colour


def has_alpha(image: Image.Image) -> bool:
    return "A" in image.getbands() or "transparency" in image.info


def mnist_style(pixels: np.ndarray, source: str = "image") -> np.ndarray:
    """A grayscale image ``(height, width)`` of any size as a 28x28 MNIST-style digit."""
    grey = np.asarray(pixels, dtype=np.float64)
    if grey.ndim != 2 or min(grey.shape) < 1 or not np.isfinite(grey).all():
        raise ImageReadError(f"{source}: expected a 2-D image of finite grey levels; got shape {grey.shape}")
    side = max(grey.shape)
    residual = grey - box_blur(grey, max(2, side // 8))
    dark_ink = -np.percentile(residual, 1) > np.percentile(residual, 99)  # a long dark tail
    high_frequencies = grey - box_blur(grey, 1)
    noisy = 1.4826 * np.median(np.abs(high_frequencies)) > NOISY  # most pixels differ from their neighbours
    smooth = box_blur(grey, side // 100) if noisy else grey  # a little: noise averages out, strokes stay
    window = max(9, side // 5) | 1  # wider than a pen stroke
    if dark_ink:  # paper = closing (max, then min); ink = how much darker than the paper, relatively
        paper = box_blur(min_filter(max_filter(smooth, window), window), window // 2)
        ink = np.clip(1 - smooth / np.maximum(paper, 1.0), 0, None) * 255  # light falls on both alike
    else:  # background = opening (min, then max); ink = how much brighter
        background = box_blur(max_filter(min_filter(smooth, window), window), window // 2)
        ink = np.clip(smooth - background, 0, None)
    noise = 1.4826 * np.median(np.abs(ink - np.median(ink)))
    ink = np.clip(ink - NOISE_LEVELS * noise, 0, None)
    if ink.max() <= 1e-3 * max(1.0, float(np.abs(grey).max())):
        raise ImageReadError(f"{source}: no digit found, the image is one flat colour (or only noise)")
    strong = np.where(ink > INK_THRESHOLD * ink.max(), ink, 0)
    (top, bottom), (left, right) = _span(strong.sum(axis=1)), _span(strong.sum(axis=0))
    digit = ink[top : bottom + 1, left : right + 1]
    digit = _fit_in_box(digit)
    return _centre_by_mass(digit) * (255 / digit.max())


# ---- filters, in NumPy --------------------------------------------------------------------------


def box_blur(image: np.ndarray, radius: int) -> np.ndarray:
    """The mean over a (2·radius+1)² window (summed-area table), the image extended beyond
    its edges by point reflection (``2·edge − mirror``: exact for a lighting gradient)."""
    if radius < 1:
        return image
    padded = extend(image, radius + 1, radius + 1)
    table = padded.cumsum(axis=0).cumsum(axis=1)
    width, (height, breadth) = 2 * radius + 1, image.shape
    top, left = slice(0, height), slice(0, breadth)
    bottom, right = slice(width, width + height), slice(width, width + breadth)
    total = table[bottom, right] - table[top, right] - table[bottom, left] + table[top, left]
    return total / width**2


def min_filter(image: np.ndarray, window: int) -> np.ndarray:
    """The minimum over a window x window square (separable: rows, then columns)."""
    return _separable(image, window, np.min)


def max_filter(image: np.ndarray, window: int) -> np.ndarray:
    return _separable(image, window, np.max)


def _separable(image: np.ndarray, window: int, reduce) -> np.ndarray:
    half = window // 2
    rows = reduce(sliding_window_view(extend(image, half, 0), window, axis=0), axis=-1)
    return reduce(sliding_window_view(extend(rows, 0, half), window, axis=1), axis=-1)


def extend(image: np.ndarray, rows: int, columns: int) -> np.ndarray:
    """``image`` padded by point reflection; a pad wider than the image repeats the edge."""
    width = ((min(rows, image.shape[0] - 1),) * 2, (min(columns, image.shape[1] - 1),) * 2)
    padded = np.pad(image, width, mode="reflect", reflect_type="odd")
    rest = ((rows - width[0][0],) * 2, (columns - width[1][0],) * 2)
    return np.pad(padded, rest, mode="edge") if any(any(pair) for pair in rest) else padded


def _span(mass: np.ndarray) -> tuple[int, int]:
    """The shortest run of indices holding all but CROP_TAIL of ``mass`` at each end (a speck
    of noise far from the digit does not widen the crop)."""
    cumulative = np.cumsum(mass) / mass.sum()
    first = int(np.searchsorted(cumulative, CROP_TAIL, side="right"))
    last = int(np.searchsorted(cumulative, 1 - CROP_TAIL, side="left"))
    return first, max(first, min(last, len(mass) - 1))


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


# ---- the out-of-distribution check --------------------------------------------------------------

INK_MEASURES = ("ink", "coverage", "roughness")
QUANTILES = (0.001, 0.999)  # the training range of each measure
MARGIN = 0.25  # an input may lie this fraction of the range beyond it


def ink_measures(rows: np.ndarray) -> dict[str, np.ndarray]:
    """Per 28x28 image (rows of 784 values 0-255): ``ink`` the mean brightness (0-1),
    ``coverage`` the share of pixels above half brightness, ``roughness`` the summed
    brightness steps between neighbouring pixels per unit of ink (noise is rough)."""
    images = np.asarray(rows, dtype=np.float32).reshape(-1, SIZE, SIZE) / 255
    total = images.sum(axis=(1, 2))
    steps = np.abs(np.diff(images, axis=1)).sum(axis=(1, 2)) + np.abs(np.diff(images, axis=2)).sum(
        axis=(1, 2)
    )
    return {
        "ink": total / SIZE**2,
        "coverage": (images > 0.5).mean(axis=(1, 2)),
        "roughness": steps / np.maximum(total, 1e-6),
    }


def ink_statistics(rows: np.ndarray, chunk: int = 10_000) -> dict[str, list[float]]:
    """The training range ``[q0.1 %, q99.9 %]`` of each of :func:`ink_measures`, kept in the
    model file."""
    parts = [ink_measures(rows[start : start + chunk]) for start in range(0, len(rows), chunk)]
    return {
        name: [float(value) for value in np.quantile(np.concatenate([p[name] for p in parts]), QUANTILES)]
        for name in INK_MEASURES
    }


def unusual_ink(row: np.ndarray, statistics: dict) -> list[str]:
    """The rule: an input is unlike the training images when any measure lies outside the
    training range widened by MARGIN of its width on each side. Returns the reasons."""
    measured = ink_measures(row)
    reasons = []
    for name in INK_MEASURES:
        low, high = statistics[name]
        value = float(measured[name][0])
        slack = MARGIN * (high - low)
        if not low - slack <= value <= high + slack:
            reasons.append(f"{name} {value:.3g} (training images {low:.3g} to {high:.3g})")
    return reasons
