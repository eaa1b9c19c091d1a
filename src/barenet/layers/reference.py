"""The plain versions of convolution and max-pooling: their definitions, written as loops.

What a learner reads first. Each function is the textbook formula, one output position (or
one window) at a time, with no layout tricks; :class:`~barenet.layers.Conv2D` and
:class:`~barenet.layers.MaxPool2D` compute the same values much faster, and the tests hold
them to these (float64, random shapes, strides and padding). The loop definitions of
im2col and col2im sit beside the fast ones, in :mod:`barenet.layers.im2col`.

Conventions as in the layers: images ``(N, C, H, W)``, ``padding`` as
``((top, bottom), (left, right))``, and ``stride`` as ``(sh, sw)``.
"""

from __future__ import annotations

import numpy as np

from .im2col import Padding, Pair


def conv2d_loops(x: np.ndarray, weight: np.ndarray, bias: np.ndarray | None, stride: Pair = (1, 1),
                 padding: Padding = ((0, 0), (0, 0))) -> np.ndarray:
    """``y[n, o, r, s] = b[o] + Σ_(c,i,j) W[o, c, i, j] · x_padded[n, c, r·sh + i, s·sw + j]``.

    Shape:
        x ``(N, C, H, W)``, weight ``(O, C, kh, kw)``, bias ``(O,)`` or None →
        y ``(N, O, oh, ow)``, ``oh = ⌊(H + top + bottom − kh) / sh⌋ + 1``.
    """
    (sh, sw), (_, _, kh, kw) = stride, weight.shape
    padded = np.pad(x, ((0, 0), (0, 0), *padding))
    oh, ow = (padded.shape[2] - kh) // sh + 1, (padded.shape[3] - kw) // sw + 1
    y = np.zeros((len(x), len(weight), oh, ow), dtype=x.dtype)
    for r in range(oh):
        for s in range(ow):
            window = padded[:, :, r * sh : r * sh + kh, s * sw : s * sw + kw]  # (N, C, kh, kw)
            y[:, :, r, s] = np.tensordot(window, weight, axes=([1, 2, 3], [1, 2, 3]))  # Σ over c, i, j
    if bias is not None:
        y += bias[:, None, None]
    return y


def conv2d_backward_loops(grad_output: np.ndarray, x: np.ndarray, weight: np.ndarray, stride: Pair = (1, 1),
                          padding: Padding = ((0, 0), (0, 0))) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(dX, dW, db)`` of :func:`conv2d_loops` for the upstream gradient ``dY``, window by window:

    ``dW[o, c, i, j] = Σ_(n,r,s) dY[n, o, r, s] · x_padded[n, c, r·sh + i, s·sw + j]``,
    ``dX_padded[n, c, r·sh + i, s·sw + j] += Σ_o dY[n, o, r, s] · W[o, c, i, j]``,
    ``db[o] = Σ_(n,r,s) dY[n, o, r, s]``.
    """
    (sh, sw), ((top, bottom), (left, right)), (_, _, kh, kw) = stride, padding, weight.shape
    padded = np.pad(x, ((0, 0), (0, 0), (top, bottom), (left, right)))
    grad_padded, grad_weight = np.zeros_like(padded), np.zeros_like(weight)
    for r in range(grad_output.shape[2]):
        for s in range(grad_output.shape[3]):
            rows, cols = slice(r * sh, r * sh + kh), slice(s * sw, s * sw + kw)
            upstream = grad_output[:, :, r, s]  # (N, O)
            grad_weight += np.tensordot(upstream, padded[:, :, rows, cols], axes=([0], [0]))
            grad_padded[:, :, rows, cols] += np.tensordot(upstream, weight, axes=([1], [0]))  # overlaps add
    height, width = x.shape[2:]
    grad_x = grad_padded[:, :, top : top + height, left : left + width]
    return grad_x, grad_weight, grad_output.sum(axis=(0, 2, 3))


def max_pool2d_loops(x: np.ndarray, kernel_size: Pair, stride: Pair,
                     padding: Padding = ((0, 0), (0, 0))) -> np.ndarray:
    """``y[n, c, r, s] = max_(i,j) x_padded[n, c, r·sh + i, s·sw + j]``, padding with −∞.

    Shape:
        x ``(N, C, H, W)`` → y ``(N, C, oh, ow)``, ``oh = ⌊(H + top + bottom − kh) / sh⌋ + 1``.
    """
    (kh, kw), (sh, sw) = kernel_size, stride
    padded = np.pad(x, ((0, 0), (0, 0), *padding), constant_values=-np.inf)
    oh, ow = (padded.shape[2] - kh) // sh + 1, (padded.shape[3] - kw) // sw + 1
    y = np.empty((*x.shape[:2], oh, ow), dtype=x.dtype)
    for r in range(oh):
        for s in range(ow):
            y[:, :, r, s] = padded[:, :, r * sh : r * sh + kh, s * sw : s * sw + kw].max(axis=(2, 3))
    return y


def max_pool2d_backward_loops(grad_output: np.ndarray, x: np.ndarray, kernel_size: Pair, stride: Pair,
                              padding: Padding = ((0, 0), (0, 0))) -> np.ndarray:
    """dX of :func:`max_pool2d_loops`: each ``dY[n, c, r, s]`` goes to the one input that was
    the window's maximum, the first in row-major order when several tie (as in PyTorch)."""
    (kh, kw), (sh, sw), ((top, bottom), (left, right)) = kernel_size, stride, padding
    padded = np.pad(x, ((0, 0), (0, 0), (top, bottom), (left, right)), constant_values=-np.inf)
    grad_padded = np.zeros_like(padded)
    for n, c, r, s in np.ndindex(grad_output.shape):
        window = padded[n, c, r * sh : r * sh + kh, s * sw : s * sw + kw]
        i, j = np.unravel_index(np.argmax(window), window.shape)  # argmax: the first maximum
        grad_padded[n, c, r * sh + i, s * sw + j] += grad_output[n, c, r, s]
    height, width = x.shape[2:]
    return grad_padded[:, :, top : top + height, left : left + width]
