"""Reading a photo or drawing of a digit the way MNIST was made.

MNIST digits are white on black, fitted into a 20x20 box (keeping their proportions) and
placed in a 28x28 image so that their centre of mass sits at the centre, (14, 14) to within
half a pixel. A model trained on MNIST only recognises digits prepared the same way, so
:func:`read_digit_image` repeats those steps for any image Pillow reads (PNG, JPEG, WebP,
TIFF, BMP, GIF, ...):

1. grayscale; a transparent background is composited onto a colour opposite to the ink; an
   image longer than WORK_SIDE is shrunk by a whole factor (block means);
2. which is ink: the background is the median of the image's outer ring of pixels, and the
   ink lies on the far side of it: dark ink when the background is nearer the brightest
   pixel than the darkest (a digit covering under 1 % of the image is still ink);
3. the paper: one level when the outer ring is evenly lit (a drawing, a scan, MNIST itself),
   else estimated *locally*, by a morphological closing (a maximum then a minimum filter
   over a window wider than a pen stroke; for light ink an opening); and the ink
   measured against it: dark ink as ``1 − pixel / paper`` (light falls on ink and paper
   alike, so a lighting gradient or a shadow divides out), light ink as ``pixel −
   background``; what stays below three noise levels (the median absolute deviation of the
   result) is dropped, and a noisy image is first smoothed a little, so grey noise is not ink;
4. the digit's extent measured on its ink above 20 % of the brightest (all but 0.2 % of it
   at each side, so a far speck does not count); the ink, with a margin for its faint edges,
   scaled by ``20 / extent``, or by exactly 1/k (k whole, 1 included) when that makes the
   digit at most a pixel larger or smaller (MNIST's own digits measure 19 to 21 pixels there;
   block means: a digit enlarged k times comes back to its own pixels); placed with its
   centre of mass at (14, 14) by whole pixels; stretched to 0-255.

An image that is already an MNIST digit (28x28, white on black) therefore comes back as it
is, and the same digit inverted or enlarged pixel by pixel comes back the same; smoothly
enlarged, very nearly so.

:func:`ink_statistics` and :func:`unusual_ink` are the out-of-distribution check: see there;
:func:`drawing_advice` says when a drawing's size or place is the likely cause.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from ..errors import ImageReadError
from .image_filters import box_blur, max_filter, min_filter

SIZE = 28  # MNIST image side
BOX = 20  # the digit is scaled to fit a BOX x BOX square
CENTRE = SIZE / 2  # where MNIST puts the centre of mass (it lies within half a pixel of it)
INK_THRESHOLD = 0.2  # fraction of the brightest ink above which a pixel counts for the extent
MAX_PIXELS = 40_000_000  # larger images are refused before they are decoded (Pillow's limit is 89 M)
WORK_SIDE = 256  # larger images are shrunk by a whole factor to at most this longer side first
FLAT = 8.0  # grey levels: a background ring varying less than this is one level of paper
NOISY = 2.0  # grey levels of pixel-to-pixel noise above which the image is smoothed a little first
NOISE_LEVELS = 3.0  # ink below this many noise levels above the background is dropped
CROP_TAIL = 0.002  # the extent leaves out this share of the ink at each side
FAINT_EDGE = 0.25  # of the extent, kept around it (faint edges) when the digit is cut out
SMALL_DRAWING = 0.35  # a digit whose longer side is under this share of the image's is small


@dataclass(frozen=True)
class Digit:
    """A digit read the MNIST way, and where it was in the image it came from."""

    image: np.ndarray  # float32 (28, 28), 0-255, white ink on black
    extent: float  # the ink's longer side as a share of the image's longer side
    cut_off: bool  # the ink reaches the image's edge: part of the digit may be missing


def read_digit_image(path: str | Path) -> np.ndarray:
    """The image at ``path`` as one MNIST-style row: float32 ``(784,)``, values 0-255."""
    return read_digit_file(path).image.reshape(-1)


def read_digit_file(path: str | Path) -> Digit:
    """The image at ``path`` read as an MNIST digit, with where the digit was in it (for
    :func:`drawing_advice`)."""
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
    return read_digit(pixels, source=str(path))


def grey_pixels(image: Image.Image) -> np.ndarray:
    """The first frame as float32 grey levels 0-255, shrunk to WORK_SIDE by a whole factor,
    alpha composited."""
    image.seek(0)
    image.load()
    factor = math.ceil(max(image.size) / WORK_SIDE)
    if factor > 1:  # block means over factor x factor pixels
        image = image.convert("RGBA" if has_alpha(image) else "RGB").reduce(factor)
    if image.mode in ("I", "F") or image.mode.startswith("I;"):
        values = np.asarray(image, dtype=np.float64)
        low, high = float(values.min()), float(values.max())
        return ((values - low) * (255 / (high - low) if high > low else 0.0)).astype(np.float32)
    if not has_alpha(image):
        return np.asarray(image.convert("L"), dtype=np.float32)
    rgba = image if image.mode == "RGBA" else image.convert("RGBA")
    grey = np.asarray(rgba.convert("L"), dtype=np.float32)  # 0.299 R + 0.587 G + 0.114 B, alpha aside
    opacity = np.asarray(rgba.getchannel("A"))
    if opacity.min() == 255:  # opaque, as a browser's canvas is
        return grey
    alpha = opacity.astype(np.float32) / 255
    if alpha.sum() == 0:
        raise ValueError("the image is fully transparent")
    ink = float((grey * alpha).sum() / alpha.sum())  # the opaque part is the drawing
    background = 0.0 if ink > 127 else 255.0
    return grey * alpha + background * (1 - alpha)  # composite onto the contrasting colour


def has_alpha(image: Image.Image) -> bool:
    return "A" in image.getbands() or "transparency" in image.info


def mnist_style(pixels: np.ndarray, source: str = "image") -> np.ndarray:
    """A grayscale image ``(height, width)`` of any size as a 28x28 MNIST-style digit."""
    return read_digit(pixels, source).image


def read_digit(pixels: np.ndarray, source: str = "image") -> Digit:
    """A grayscale image ``(height, width)`` of any size read as an MNIST digit (module docstring)."""
    grey = np.asarray(pixels, dtype=np.float32)  # whole grey levels are exact in float32
    if grey.ndim != 2 or min(grey.shape) < 1 or not np.isfinite(grey).all():
        raise ImageReadError(f"{source}: expected a 2-D image of finite grey levels; got shape {grey.shape}")
    ink = ink_map(grey)
    most = float(ink.max())
    if most <= 1e-3 * max(1.0, float(np.abs(grey).max())):
        raise ImageReadError(f"{source}: no digit found, the image is one flat colour (or only noise)")
    counted = ink * (ink > INK_THRESHOLD * most)  # the ink above 20 % of the brightest, the rest 0
    rows, columns = _span(counted.sum(axis=1)), _span(counted.sum(axis=0))
    length = max(rows[1] - rows[0], columns[1] - columns[0]) + 1
    digit, core = _cut_out(ink, rows, columns, scale=BOX / length)
    image = _centre_by_mass(digit, core)
    height, width = ink.shape
    cut_off = rows[0] == 0 or columns[0] == 0 or rows[1] == height - 1 or columns[1] == width - 1
    return Digit(image * np.float32(255 / image.max()), length / max(height, width), bool(cut_off))


def ink_map(grey: np.ndarray) -> np.ndarray:
    """How much ink each pixel holds (bright = ink, 0 = paper), in grey levels, same shape."""
    side = max(grey.shape)
    deviation = box_blur(grey, 1)  # a new array: made the distance from the neighbours' mean in place
    np.abs(np.subtract(grey, deviation, out=deviation), out=deviation)
    noisy = median_exceeds(deviation, NOISY / 1.4826)  # pixels differ from their neighbours
    smooth = box_blur(grey, side // 100) if noisy else grey  # a little: noise averages out, strokes stay
    border = outer_ring(smooth)
    lowest, highest = float(border.min()), float(border.max())
    level = lowest if lowest == highest else float(np.median(border))
    dark = level - float(smooth.min()) > float(smooth.max()) - level  # the ink is the farther extreme
    window = max(9, side // 5) | 1  # wider than a pen stroke
    if lowest == highest or np.percentile(border, 90) - np.percentile(border, 10) <= FLAT:  # evenly lit
        paper = smooth.dtype.type(level)
    elif dark:  # paper = closing (max, then min)
        paper = box_blur(min_filter(max_filter(smooth, window), window), window // 2)
    else:  # background = opening (min, then max)
        paper = box_blur(max_filter(min_filter(smooth, window), window), window // 2)
    if dark:  # how much darker than the paper, relatively: light falls on ink and paper alike
        ink = smooth / np.maximum(paper, 1.0)  # a new array, turned into ink = max(1 − smooth/paper, 0)·255
        np.maximum(np.subtract(1, ink, out=ink), 0, out=ink)
        ink *= 255
    else:  # how much brighter than the background: ink = max(smooth − paper, 0)
        ink = np.maximum(smooth - paper, 0)
    middle = median_of_nonnegative(ink)
    noise = 1.4826 * median_of_nonnegative(np.abs(ink - middle)) if middle else 0.0  # median |ink − 0| = 0
    if noise:  # ink ← max(ink − 3·noise, 0); a clean drawing has none
        np.maximum(np.subtract(ink, NOISE_LEVELS * noise, out=ink), 0, out=ink)
    return ink


def median_exceeds(values: np.ndarray, threshold: float) -> bool:
    """``np.median(values) > threshold``, mostly by counting: the median exceeds the
    threshold when more than half the values do, and does not when fewer than half do."""
    above = 2 * np.count_nonzero(values > threshold)
    return above > values.size if above != values.size else float(np.median(values)) > threshold


def median_of_nonnegative(values: np.ndarray) -> float:
    """``np.median(values)`` for values ≥ 0: 0 at once when more than half of them are 0 (a
    drawing's ink, mostly paper)."""
    above_zero = np.count_nonzero(values > 0)  # counting a mask is faster than counting floats
    return 0.0 if 2 * above_zero < values.size else float(np.median(values))


def outer_ring(grey: np.ndarray) -> np.ndarray:
    """The pixels of the image's outer ring (1/28 of the shorter side wide): its background."""
    ring = max(1, min(grey.shape) // SIZE)
    return np.concatenate(
        [grey[:ring].ravel(), grey[-ring:].ravel(), grey[:, :ring].ravel(), grey[:, -ring:].ravel()]
    )


def drawing_advice(digit: Digit) -> str:
    """What to change in a drawing whose ink looks unusual, when its place or size is the
    likely cause; otherwise an empty string."""
    if digit.cut_off:
        return (
            "the digit touches the edge of the image, so part of it may be cut off; centre it, "
            "inside the edges"
        )
    if digit.extent < SMALL_DRAWING:
        return (
            f"the digit fills only {digit.extent:.0%} of the image's height or width: the strokes come out "
            "much thicker than MNIST's once it is enlarged; draw it bigger, filling most of the square"
        )
    return ""


def _span(mass: np.ndarray) -> tuple[int, int]:
    """The shortest run of indices holding all but CROP_TAIL of ``mass`` at each end (a speck
    of noise far from the digit does not widen it)."""
    cumulative = np.cumsum(mass) / mass.sum()
    first = int(np.searchsorted(cumulative, CROP_TAIL, side="right"))
    last = int(np.searchsorted(cumulative, 1 - CROP_TAIL, side="left"))
    return first, max(first, min(last, len(mass) - 1))


def _cut_out(
    ink: np.ndarray, rows: tuple[int, int], columns: tuple[int, int], scale: float
) -> tuple[np.ndarray, tuple[slice, slice]]:
    """The ink inside the span (widened by FAINT_EDGE for faint edges) scaled by ``scale``, and
    where the span itself lies in the result. A scale near 1/k (k whole) is taken as 1/k and
    the cut follows the image's own k-pixel grid, so the result is exact block means."""
    step = max(1, round(1 / scale))
    if abs(step * scale - 1) * BOX <= 1:  # a whole factor is a pixel or less off: exactly that
        # factor, on the image's own grid (MNIST's own digits measure 19 to 21 pixels here)
        scale = 1 / step
    else:  # the cut starts at the digit's own edge (the same digit, any size, sampled alike)
        step = 1
    reach = math.ceil(FAINT_EDGE * BOX / scale)
    (top, bottom), (left, right) = _window(*rows, ink.shape[0], reach, step), _window(
        *columns, ink.shape[1], reach, step
    )
    crop = ink[top:bottom, left:right]
    size = (max(1, round(crop.shape[1] * scale)), max(1, round(crop.shape[0] * scale)))
    if size != crop.shape[::-1]:
        kind = Image.Resampling.BOX if scale < 1 else Image.Resampling.LANCZOS
        crop = np.maximum(np.asarray(Image.fromarray(crop.astype(np.float32)).resize(size, kind)), 0)
    core = tuple(
        slice(max(0, math.floor((first - start) * scale)), math.ceil((last + 1 - start) * scale))
        for (first, last), start in ((rows, top), (columns, left))
    )
    return np.asarray(crop, dtype=np.float32), core


def _window(first: int, last: int, size: int, reach: int, step: int) -> tuple[int, int]:
    """``first..last`` widened by ``reach`` on each side, in whole steps from a multiple of
    ``step``, within ``0..size``."""
    start = max(0, first - reach) // step * step
    stop = start + -(-(min(size, last + 1 + reach) - start) // step) * step
    return start, stop if stop <= size or stop - step <= start else stop - step


def _centre_by_mass(digit: np.ndarray, core: tuple[slice, slice]) -> np.ndarray:
    """``digit`` in a SIZE x SIZE image, its centre of mass moved to (CENTRE, CENTRE) by a
    whole number of pixels, but never so far that its ``core`` leaves the image; whatever of
    the faint margin falls outside is cut."""
    total = digit.sum()
    placed = []
    for axis, part in ((0, core[0]), (1, core[1])):
        mass = digit.sum(axis=1 - axis)
        shift = round(float(CENTRE - (mass @ np.arange(len(mass))) / total))  # half to even, as np.round
        placed.append(min(max(shift, -part.start), SIZE - part.stop))
    image = np.zeros((SIZE, SIZE), dtype=np.float32)
    (down, across), (height, width) = placed, digit.shape
    rows = slice(max(0, down), min(SIZE, down + height))
    columns = slice(max(0, across), min(SIZE, across + width))
    image[rows, columns] = digit[
        rows.start - down : rows.stop - down, columns.start - across : columns.stop - across
    ]
    return image


# ---- the out-of-distribution check --------------------------------------------------------------

INK_MEASURES = ("ink", "coverage", "roughness")
QUANTILES = (0.001, 0.999)  # the training range of each measure
SLACK = 1.25  # an input may lie this factor below or above the training range


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
    """The rule: an input is unlike the training images when any measure lies below the low
    end of the training range divided by SLACK, or above its high end times SLACK (the
    measures are positive: a factor treats too thin and too thick alike; a share of the range
    would never flag the thick strokes of a digit drawn small). Returns the reasons."""
    measured = ink_measures(row)
    reasons = []
    for name in INK_MEASURES:
        low, high = statistics[name]
        value = float(measured[name][0])
        if not low / SLACK <= value <= high * SLACK:
            reasons.append(f"{name} {value:.3g} (training images {low:.3g} to {high:.3g})")
    return reasons
