"""im2col and col2im: a convolution turned into one matrix product, and back.

A convolution slides a ``kh × kw`` window over every channel of every image. ``im2col``
copies each window position into one *column* of a matrix: the column of image ``n`` at
output position ``(y, x)`` holds the ``C·kh·kw`` input values the kernel sees there,
ordered channel by channel and, within a channel, row by row of the window::

    columns[(c, i, j), (y, x, n)] = padded[n, c, y·sh + i, x·sw + j]

so ``columns`` has shape ``(C·kh·kw, oh·ow·N)``: one row per weight of a filter, one column
per place a filter is applied (the images of the batch side by side, innermost). A
convolution with all its filters is then a single GEMM,
``W(out, C·kh·kw) · columns`` (the batch laid out as columns).

``col2im`` is the *adjoint* (transpose) of ``im2col``: it sends every entry of a column back
to the input pixel it was copied from, adding up where windows overlap, so that
``⟨im2col(x), c⟩ = ⟨x, col2im(c)⟩`` for every ``x`` and ``c``. That is exactly the backward
pass of the copy: ``dX = col2im(dColumns)``. It is kh·kw strided slice-adds, one for each
position ``(i, j)`` inside the window; there is no loop over images, positions or channels.

Memory layout: the images these functions make are laid out ``(C, H, W, N)`` in memory —
channel first, batch innermost — and handed out as ``(N, C, H, W)`` views (a transpose, no
copy), because that is the order the GEMM ``W · columns`` produces and consumes, and because
every strided slice then moves whole runs of ``ow·N`` contiguous values. NumPy's
element-wise operations keep the layout of their inputs, so it survives from layer to layer.

Read :func:`im2col_loops` and :func:`col2im_loops` first: the same two maps written as their
definitions, one window at a time. :func:`im2col` and :func:`col2im` compute exactly the
same values (the tests hold them to it); only the way they move memory differs.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from ..errors import BarenetError
from ..validation import check_pair

Pair = tuple[int, int]
Padding = tuple[Pair, Pair]
"""``((top, bottom), (left, right))`` zero rows and columns added around each image."""


def output_size(size: int, kernel: int, stride: int, padding: Pair) -> int:
    """Positions a window of ``kernel`` fits along an axis of ``size`` padded by ``padding``:
    ``⌊(size + before + after − kernel) / stride⌋ + 1`` (0 when it does not fit at all)."""
    padded = size + padding[0] + padding[1]
    return max((padded - kernel) // stride + 1, 0)


def pad_images(images: np.ndarray, padding: Padding, value: float = 0.0) -> np.ndarray:
    """``images`` ``(N, C, H, W)`` with ``value`` added around each, in the layout of :func:`new_images`.

    Returns ``(N, C, H + top + bottom, W + left + right)``; without padding, the input itself."""
    (top, bottom), (left, right) = padding
    if top == bottom == left == right == 0:
        return images
    n, channels, height, width = images.shape
    padded = new_images((n, channels, height + top + bottom, width + left + right), images.dtype, value)
    padded[:, :, top : top + height, left : left + width] = images  # into our own new array
    return padded


def new_images(shape: tuple[int, int, int, int], dtype: np.dtype, value: float = 0.0) -> np.ndarray:
    """A new array of ``shape = (N, C, H, W)`` filled with ``value``, laid out ``(C, H, W, N)``."""
    n, channels, height, width = shape
    return np.full((channels, height, width, n), value, dtype=dtype).transpose(3, 0, 1, 2)


def empty_images(shape: tuple[int, int, int, int], dtype: np.dtype) -> np.ndarray:
    """:func:`new_images` left unfilled, for a caller that writes every value."""
    n, channels, height, width = shape
    return np.empty((channels, height, width, n), dtype=dtype).transpose(3, 0, 1, 2)


def to_images_layout(images: np.ndarray) -> np.ndarray:
    """A copy of ``images`` ``(N, C, H, W)`` laid out ``(C, H, W, N)``, as :func:`new_images` makes them."""
    copy = empty_images(images.shape, images.dtype)
    copy[...] = images
    return copy


def window_offsets(kernel_size: Pair, stride: Pair, out_size: Pair) -> Iterator[tuple[int, slice, slice]]:
    """For each position ``(i, j)`` of a window, in row-major order: its index ``i·kw + j``
    and the slices that pick, from a padded image, the pixel at that position of every window."""
    (kh, kw), (sh, sw), (oh, ow) = kernel_size, stride, out_size
    for i in range(kh):
        for j in range(kw):
            yield i * kw + j, slice(i, i + sh * oh, sh), slice(j, j + sw * ow, sw)


def im2col_loops(images: np.ndarray, kernel_size: Pair, stride: Pair = (1, 1),
                 padding: Padding = ((0, 0), (0, 0))) -> np.ndarray:
    """The plain version of :func:`im2col`, a loop over windows: what a learner reads first.

    The window of image ``n`` at output position ``(y, x)``, flattened channel by channel and
    row by row, becomes column ``(y·ow + x)·N + n``.

    Shape:
        images ``(N, C, H, W)`` → columns ``(C·kh·kw, oh·ow·N)``.
    """
    (kh, kw), (sh, sw) = kernel_size, stride
    padded = np.pad(images, ((0, 0), (0, 0), *padding))
    n, channels, height, width = padded.shape
    oh, ow = (height - kh) // sh + 1, (width - kw) // sw + 1
    columns = np.zeros((channels * kh * kw, oh * ow * n), dtype=images.dtype)
    for y in range(oh):
        for x in range(ow):
            for image in range(n):
                window = padded[image, :, y * sh : y * sh + kh, x * sw : x * sw + kw]  # (C, kh, kw)
                columns[:, (y * ow + x) * n + image] = window.reshape(-1)
    return columns


def col2im_loops(columns: np.ndarray, image_shape: tuple[int, int, int, int], kernel_size: Pair,
                 stride: Pair = (1, 1), padding: Padding = ((0, 0), (0, 0))) -> np.ndarray:
    """The plain version of :func:`col2im`: each column added back onto the window it came from.

    Shape:
        columns ``(C·kh·kw, oh·ow·N)`` → images ``image_shape = (N, C, H, W)``.
    """
    n, channels, height, width = image_shape
    (kh, kw), (sh, sw), ((top, bottom), (left, right)) = kernel_size, stride, padding
    padded = np.zeros((n, channels, height + top + bottom, width + left + right), dtype=columns.dtype)
    oh, ow = (padded.shape[2] - kh) // sh + 1, (padded.shape[3] - kw) // sw + 1
    for y in range(oh):
        for x in range(ow):
            for image in range(n):
                window = columns[:, (y * ow + x) * n + image].reshape(channels, kh, kw)
                padded[image, :, y * sh : y * sh + kh, x * sw : x * sw + kw] += window  # overlaps add up
    return padded[:, :, top : top + height, left : left + width]


def im2col(images: np.ndarray, kernel_size: Pair, stride: Pair = (1, 1),
           padding: Padding = ((0, 0), (0, 0))) -> np.ndarray:
    """Every window of ``images`` as a column (see the module docstring); the values of
    :func:`im2col_loops`.

    The speed trick: no Python loop at all. ``sliding_window_view`` describes every window as
    a strided view of the padded images (nothing copied), and one ``copyto`` moves it, in the
    order the columns need, into a new array. Images in another layout than ``(C, H, W, N)``
    (the first layer's input, straight from the data) are copied into it first: a small copy
    that turns the big one's reads into contiguous runs.

    Shape:
        images ``(N, C, H, W)`` → columns ``(C·kh·kw, oh·ow·N)``.
    """
    n, channels = images.shape[:2]
    (kh, kw), (sh, sw) = kernel_size, stride
    oh, ow = (output_size(images.shape[2 + axis], kernel_size[axis], stride[axis], padding[axis])
              for axis in (0, 1))
    padded = pad_images(images, padding)  # in the (C, H, W, N) layout when there is padding
    if padded.strides[0] != padded.itemsize:  # another layout, e.g. a batch of rows from the data:
        padded = to_images_layout(padded)  # one copy, and every window row is a contiguous run of N
    # windows[n, c, y, x, i, j] = padded[n, c, y·sh + i, x·sw + j]: a strided view, nothing copied yet
    windows = sliding_window_view(padded, (kh, kw), axis=(2, 3))[:, :, ::sh, ::sw][:, :, :oh, :ow]
    columns = np.empty((channels, kh, kw, oh, ow, n), dtype=images.dtype)
    np.copyto(columns, windows.transpose(1, 4, 5, 2, 3, 0))  # the one copy: into our own buffer
    return columns.reshape(channels * kh * kw, oh * ow * n)


def col2im(columns: np.ndarray, image_shape: tuple[int, int, int, int], kernel_size: Pair,
           stride: Pair = (1, 1), padding: Padding = ((0, 0), (0, 0))) -> np.ndarray:
    """The adjoint of :func:`im2col`: add every column entry back onto the pixel it came from;
    the values of :func:`col2im_loops`.

    The speed trick: the loop runs over the ``kh·kw`` positions inside a window, not over the
    windows; each position is one strided slice-add covering every window of every image.

    Shape:
        columns ``(C·kh·kw, oh·ow·N)`` → images ``image_shape = (N, C, H, W)``.
    """
    n, channels, height, width = image_shape
    (top, bottom), (left, right) = padding
    out_size = (output_size(height, kernel_size[0], stride[0], padding[0]),
                output_size(width, kernel_size[1], stride[1], padding[1]))
    pieces = columns.reshape(channels, kernel_size[0] * kernel_size[1], *out_size, n)
    padded = new_images((n, channels, height + top + bottom, width + left + right), columns.dtype)
    for index, rows, cols in window_offsets(kernel_size, stride, out_size):
        # in place on our own zeros, where overlapping windows add up
        padded[:, :, rows, cols] += pieces[:, index].transpose(3, 0, 1, 2)
    return padded[:, :, top : top + height, left : left + width]


def resolve_padding(padding: object, kernel_size: Pair, stride: Pair) -> Padding:
    """``0``, ``(1, 2)``, ``"valid"`` or ``"same"`` as ``((top, bottom), (left, right))``.

    ``"same"`` keeps the size (stride 1 only) and, for an even kernel, puts the extra row or
    column at the bottom or right, as PyTorch does."""
    if isinstance(padding, str):
        if padding == "valid":
            return (0, 0), (0, 0)
        if padding != "same":
            raise BarenetError(f"padding must be an int, a pair, 'same' or 'valid'; got {padding!r}")
        if stride != (1, 1):
            raise BarenetError(
                f"padding='same' needs stride 1 (with stride {stride} the output cannot keep the "
                "input's size); give the padding as a number instead, e.g. padding=1"
            )
        return tuple(((k - 1) // 2, k - 1 - (k - 1) // 2) for k in kernel_size)  # type: ignore[return-value]
    height, width = check_pair("padding", padding, low=0)
    return (height, height), (width, width)
