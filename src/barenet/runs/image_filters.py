"""The image filters that reading a digit needs, in NumPy: a box blur, a running minimum and
maximum, and the point-reflected border they all extend an image by.

Each keeps the dtype it is given (a photo is read as float32); sums that must stay exact in
any dtype, the summed-area table of a wide blur, are taken in float64.
"""

from __future__ import annotations

import numpy as np

SMALL_BLUR = 2  # box blurs up to this radius add shifted copies; larger ones a summed-area table


def box_blur(image: np.ndarray, radius: int) -> np.ndarray:
    """The mean over a (2·radius+1)² window, the image extended beyond its edges by point
    reflection (``2·edge − mirror``: exact for a lighting gradient). A small window adds up
    its shifted copies, row then column (separable); a large one reads a summed-area table,
    at a cost independent of the window. Both add whole grey levels exactly."""
    if radius < 1:
        return image
    width, (height, breadth) = 2 * radius + 1, image.shape
    if radius <= SMALL_BLUR:
        padded = extend(image, radius, radius)
        rows = padded[:height] + padded[1 : 1 + height]  # Σ over the window's rows, in place after
        for k in range(2, width):
            rows += padded[k : k + height]
        total = rows[:, :breadth] + rows[:, 1 : 1 + breadth]  # then over its columns
        for k in range(2, width):
            total += rows[:, k : k + breadth]
        total /= width**2
        return total
    padded = extend(image, radius + 1, radius + 1)
    table = padded.cumsum(axis=0, dtype=np.float64).cumsum(axis=1)  # exact for whole grey levels
    top, left = slice(0, height), slice(0, breadth)
    bottom, right = slice(width, width + height), slice(width, width + breadth)
    total = table[bottom, right] - table[top, right] - table[bottom, left] + table[top, left]
    return (total / width**2).astype(image.dtype, copy=False)


def min_filter(image: np.ndarray, window: int) -> np.ndarray:
    """The minimum over a window x window square (separable: columns, then rows)."""
    return _running(_running(image, window, np.minimum).T, window, np.minimum).T


def max_filter(image: np.ndarray, window: int) -> np.ndarray:
    return _running(_running(image, window, np.maximum).T, window, np.maximum).T


def _running(image: np.ndarray, window: int, pick: np.ufunc) -> np.ndarray:
    """``pick`` (np.minimum or np.maximum) over ``window`` rows centred on each row, at a cost
    independent of the window (van Herk / Gil-Werman): the rows are cut into blocks of
    ``window``; each output combines a running result from the end of one block (backwards)
    with one from the start of the next (forwards)."""
    half, height = window // 2, image.shape[0]
    padded = extend(image, half, 0)
    blocks = -(-len(padded) // window)
    filler = np.inf if pick is np.minimum else -np.inf
    rows = np.full((blocks * window, *image.shape[1:]), filler, dtype=image.dtype)
    rows[: len(padded)] = padded
    rows = rows.reshape(blocks, window, *image.shape[1:])
    forwards = pick.accumulate(rows, axis=1).reshape(blocks * window, -1)
    backwards = pick.accumulate(rows[:, ::-1], axis=1)[:, ::-1].reshape(blocks * window, -1)
    return pick(backwards[:height], forwards[window - 1 : window - 1 + height]).reshape(image.shape)


def extend(image: np.ndarray, rows: int, columns: int) -> np.ndarray:
    """``image`` padded by point reflection; a pad wider than the image repeats the edge."""
    height, breadth = image.shape
    if 0 < rows < height and 0 < columns < breadth:  # np.pad's formula, written into one array
        padded = np.empty((height + 2 * rows, breadth + 2 * columns), dtype=image.dtype)
        tall = padded[:, columns : columns + breadth]
        tall[rows : rows + height] = image
        np.subtract(2 * image[:1], image[rows:0:-1], out=tall[:rows])  # 2·edge − mirror
        np.subtract(2 * image[-1:], image[-2 : -rows - 2 : -1], out=tall[rows + height :])
        np.subtract(2 * tall[:, :1], tall[:, columns:0:-1], out=padded[:, :columns])
        np.subtract(2 * tall[:, -1:], tall[:, -2 : -columns - 2 : -1], out=padded[:, columns + breadth :])
        return padded
    width = ((min(rows, height - 1),) * 2, (min(columns, breadth - 1),) * 2)
    padded = np.pad(image, width, mode="reflect", reflect_type="odd")
    rest = ((rows - width[0][0],) * 2, (columns - width[1][0],) * 2)
    return np.pad(padded, rest, mode="edge") if any(any(pair) for pair in rest) else padded
