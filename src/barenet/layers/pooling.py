"""Pooling: summarise each window of each channel by its maximum or its mean.

Both window poolings visit the ``kh·kw`` positions inside a window one at a time, each as a
strided slice covering every window of every image at once — no loop over images or window
positions. Their backward passes send the gradient back through the same slices.

Two things keep these passes fast on barenet's images, laid out ``(C, H, W, N)`` in memory
(see :mod:`barenet.layers.im2col`), where each slice moves runs of ``N`` contiguous values:

- channels go a block at a time (about ``BLOCK_BYTES`` of output each), so the ``kh·kw``
  passes over a block's running maximum (or sum) find it in the CPU's cache, not in memory;
- the backward pass first brings the incoming gradient into the layout of what it is read
  with when it arrives in another (after ``Flatten`` it comes sample by sample): one gather,
  instead of ``kh·kw`` passes that each gather it.
"""

from __future__ import annotations

import numpy as np

from ..blocks import channel_blocks
from ..errors import ShapeError
from ..validation import check_pair
from .base import Layer, Shape
from .im2col import empty_images, new_images, output_size, pad_images, resolve_padding, window_offsets

BLOCK_BYTES = 1 << 18
"""Output bytes per block of channels (256 KiB): a block's passes stay in a core's L2 cache."""


def _in_layout(array: np.ndarray, empty: np.ndarray) -> np.ndarray:
    """``array`` if laid out in memory as ``empty`` (a new array of its shape) is, else ``empty``
    filled with it: one gather, where the backward's ``kh·kw`` passes would each gather."""
    if array.strides == empty.strides:
        return array
    empty[...] = array  # our own new array
    return empty


def _blocks(array: np.ndarray) -> list[slice]:
    """Blocks of the channels of ``array`` ``(n, c, oh, ow)``: about ``BLOCK_BYTES`` each (at least
    one channel) when the batch is its innermost axis, as in barenet's images, where a block
    of channels is one stretch of memory; otherwise all the channels at once."""
    return channel_blocks(array, block_size=max(1, BLOCK_BYTES // array.itemsize))


class _WindowPool(Layer):
    """What max and average pooling share: the window geometry and the shape checks."""

    padding_value = 0.0

    def __init__(self, kernel_size: int | tuple[int, int], stride: int | tuple[int, int] | None = None,
                 padding: int | tuple[int, int] = 0) -> None:
        self.kernel_size = check_pair("kernel_size", kernel_size)
        self.stride = self.kernel_size if stride is None else check_pair("stride", stride)
        self.padding = check_pair("padding", padding, low=0)
        if any(2 * p > k for p, k in zip(self.padding, self.kernel_size)):
            raise ShapeError(
                f"{type(self).__name__} padding {self.padding} must be at most half the kernel "
                f"{self.kernel_size} (as in PyTorch), or some windows would hold only padding"
            )
        self.pads = resolve_padding(self.padding, self.kernel_size, self.stride)

    def _out_size(self, height: int, width: int) -> tuple[int, int]:
        return (output_size(height, self.kernel_size[0], self.stride[0], self.pads[0]),
                output_size(width, self.kernel_size[1], self.stride[1], self.pads[1]))

    def _windows(self, x: np.ndarray):
        """For each window position k: k and the pixels at that position of every window (a view)."""
        padded = pad_images(x, self.pads, self.padding_value)
        out_size = self._out_size(*x.shape[2:])
        return [(k, padded[:, :, rows, cols]) for k, rows, cols in
                window_offsets(self.kernel_size, self.stride, out_size)]

    def _scatter(self, piece, blocks: list[slice], input_shape: tuple[int, ...],
                 dtype: np.dtype) -> np.ndarray:
        """The adjoint of ``_windows``: ``piece(k, block, out)`` is what goes to window position k
        of every window of the channels ``block`` (one of ``blocks``); where windows overlap, the
        pieces add up.

        Windows apart (stride ≥ kernel), each piece is written straight into its slice of the
        result (``out``, no temporary array); when they also tile the padded image (stride =
        kernel) only the rows and columns past the last window are zero-filled."""
        n, channels, height, width = input_shape
        (top, bottom), (left, right) = self.pads
        out_size = self._out_size(height, width)
        padded_size = (height + top + bottom, width + left + right)
        overlapping = any(s < k for s, k in zip(self.stride, self.kernel_size))
        tiled = self.stride == self.kernel_size
        padded = (empty_images if tiled else new_images)((n, channels, *padded_size), dtype)
        if tiled:  # what no window covers: the rows below the last window, the columns right of it
            covered = [o * s for o, s in zip(out_size, self.stride)]
            padded[:, :, covered[0]:] = 0
            padded[:, :, : covered[0], covered[1]:] = 0
        for block in blocks:
            for k, rows, cols in window_offsets(self.kernel_size, self.stride, out_size):
                if overlapping:  # in place on our own zeros: overlaps add up
                    padded[:, block, rows, cols] += piece(k, block, None)
                else:  # windows apart: each pixel written at most once
                    piece(k, block, padded[:, block, rows, cols])
        return padded[:, :, top : top + height, left : left + width]

    def config(self) -> dict:
        return {"kernel_size": list(self.kernel_size), "stride": list(self.stride),
                "padding": list(self.padding)}

    def output_shape(self, input_shape: Shape) -> Shape:
        if len(input_shape) != 3:
            raise ShapeError(
                f"{type(self).__name__} expects samples of shape (channels, height, width); "
                f"got {tuple(input_shape)}"
            )
        oh, ow = self._out_size(*input_shape[1:])
        if oh < 1 or ow < 1:
            raise ShapeError(
                f"{type(self).__name__} window {self.kernel_size} does not fit an input of "
                f"{input_shape[1]}×{input_shape[2]}; use a smaller window"
            )
        return (input_shape[0], oh, ow)


class MaxPool2D(_WindowPool):
    """The maximum of each ``kh × kw`` window (PyTorch's ``nn.MaxPool2d``; padding is −∞).

    Ties: the gradient goes to ONE maximum of a window, the first in row-major order within
    the window, as PyTorch does (never to every tied input, which would multiply it).

    The plain version, one window at a time, is :func:`~barenet.layers.reference.max_pool2d_loops`
    (and its backward); the tests hold this layer to it. The speed trick: the loop runs over
    the ``kh·kw`` positions inside a window, each a strided slice covering every window of
    every image; prediction (``forward``) keeps only the running maximum, the training pass
    also the position it came from (one byte per output).

    Shape:
        input ``(n, c, h, w)``, output ``(n, c, oh, ow)``, ``oh = ⌊(h + 2·ph − kh) / sh⌋ + 1``.
    """

    padding_value = -np.inf

    def forward(self, x: np.ndarray, *, training: bool = False) -> np.ndarray:
        self.output_shape(x.shape[1:])
        (_, first), *others = self._windows(x)
        best = np.empty_like(first)  # laid out as the input
        for block in _blocks(best):
            running = best[:, block]
            np.copyto(running, first[:, block])  # Y = max over the window, position by position
            for _, candidate in others:
                np.maximum(running, candidate[:, block], out=running)  # in place on our own array
        return best

    def forward_with_cache(self, x: np.ndarray, *, training: bool = False) -> tuple[np.ndarray, tuple]:
        self.output_shape(x.shape[1:])
        (_, first), *others = self._windows(x)
        best = np.empty_like(first)  # laid out as the input
        argmax = np.zeros_like(best, dtype=np.uint8)
        for block in _blocks(best):
            running, position = best[:, block], argmax[:, block]
            np.copyto(running, first[:, block])  # Y = max over the window, starting at position 0
            for k, candidate in others:
                candidate = candidate[:, block]
                greater = candidate > running  # strictly: on a tie the earlier position keeps the maximum
                np.maximum(running, candidate, out=running)  # in place on our own array
                # the positions only grow, so "k where greater, else unchanged" is a maximum too
                np.maximum(position, np.multiply(greater, k, dtype=np.uint8), out=position)
        return best, (argmax, x.shape)

    def backward(self, grad_output: np.ndarray, cache: tuple) -> np.ndarray:
        argmax, input_shape = cache
        grad = _in_layout(grad_output, np.empty_like(argmax, dtype=grad_output.dtype))

        def piece(k: int, block: slice, out: np.ndarray) -> np.ndarray:
            return np.multiply(grad[:, block], argmax[:, block] == k, out=out)  # dX = dY at argmax, else 0

        return self._scatter(piece, _blocks(argmax), input_shape, grad_output.dtype)


class AvgPool2D(_WindowPool):
    """The mean of each ``kh × kw`` window (PyTorch's ``nn.AvgPool2d``; zero padding counts
    in the mean, PyTorch's ``count_include_pad=True``).

    Shape:
        input ``(n, c, h, w)``, output ``(n, c, oh, ow)``, ``oh = ⌊(h + 2·ph − kh) / sh⌋ + 1``.
    """

    def forward(self, x: np.ndarray, *, training: bool = False) -> np.ndarray:
        self.output_shape(x.shape[1:])
        (_, first), *others = self._windows(x)
        total = np.empty_like(first)  # laid out as the input
        for block in _blocks(total):
            running = total[:, block]
            np.copyto(running, first[:, block])
            for _, piece in others:
                running += piece[:, block]  # in place on our own array
            running *= 1.0 / (self.kernel_size[0] * self.kernel_size[1])  # Y = Σ_window X / (kh·kw)
        return total

    def forward_with_cache(self, x: np.ndarray, *, training: bool = False) -> tuple[np.ndarray, tuple]:
        return self.forward(x), x.shape

    def backward(self, grad_output: np.ndarray, input_shape: tuple) -> np.ndarray:
        share = 1.0 / (self.kernel_size[0] * self.kernel_size[1])
        grad = _in_layout(grad_output, empty_images(grad_output.shape, grad_output.dtype))  # as dX's layout
        # dX = dY / (kh·kw), onto every pixel of the window
        return self._scatter(lambda k, block, out: np.multiply(grad[:, block], share, out=out), _blocks(grad),
                             input_shape, grad_output.dtype)


class GlobalAvgPool2D(Layer):
    """The mean of each channel over the whole image: ``(n, c, h, w) → (n, c)``.

    Shape:
        input ``(n, c, h, w)``, output ``(n, c)``.
    """

    def forward(self, x: np.ndarray, *, training: bool = False) -> np.ndarray:
        return x.mean(axis=(2, 3))  # Y[n, c] = Σ_(y,x) X[n, c, y, x] / (h·w)

    def forward_with_cache(self, x: np.ndarray, *, training: bool = False) -> tuple[np.ndarray, tuple]:
        return self.forward(x), x.shape

    def backward(self, grad_output: np.ndarray, input_shape: tuple) -> np.ndarray:
        height, width = input_shape[2:]
        share = grad_output[:, :, None, None] * (1.0 / (height * width))  # dX = dY / (h·w), everywhere
        return np.broadcast_to(share, input_shape).copy()

    def output_shape(self, input_shape: Shape) -> Shape:
        if len(input_shape) != 3:
            raise ShapeError(
                f"GlobalAvgPool2D expects samples (channels, height, width); got {tuple(input_shape)}"
            )
        return (input_shape[0],)
