"""The 2-D convolution layer, as PyTorch's ``nn.Conv2d`` defines it, computed with im2col.

Each output channel is one filter of shape ``(in_channels, kh, kw)`` slid over the input
(strictly a cross-correlation: the kernel is not flipped, as in every deep-learning library).
``im2col`` lays every window out as a column, so the whole layer is one matrix product
``Z = W · columns`` and its backward pass two more (see :mod:`barenet.layers.im2col`).
"""

from __future__ import annotations

import numpy as np

from ..errors import ShapeError
from ..init import Initializer, get_initializer
from ..parameter import Parameter
from ..validation import as_generator, check_float_dtype, check_int, check_pair
from .base import Layer, Shape
from .im2col import col2im, im2col, output_size, resolve_padding


class Conv2D(Layer):
    """2-D convolution: ``y[n, o] = b[o] + Σ_c W[o, c] ⋆ x[n, c]``.

    Args:
        in_channels, out_channels: channels of the input and of the output (filters).
        kernel_size: ``k`` or ``(kh, kw)``.
        stride: ``s`` or ``(sh, sw)``.
        padding: zeros around each image: ``p``, ``(ph, pw)``, ``"valid"`` (none) or ``"same"``
            (output as large as the input; stride 1 only).
        bias: whether to add a learned bias per output channel.
        init: initialiser for the weights; fans are ``in_channels·kh·kw`` and ``out_channels·kh·kw``.
        rng: generator or seed for the initial weights.
        dtype: float32 (default) or float64.

    Shape:
        input ``(n, in_channels, h, w)``, output ``(n, out_channels, oh, ow)`` with
        ``oh = ⌊(h + pad_top + pad_bottom − kh) / sh⌋ + 1`` (likewise ``ow``);
        weight ``(out_channels, in_channels, kh, kw)``, bias ``(out_channels,)``.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int | tuple[int, int],
        stride: int | tuple[int, int] = 1,
        padding: int | tuple[int, int] | str = 0,
        bias: bool = True,
        init: str | Initializer = "he",
        rng: np.random.Generator | int | None = None,
        dtype: np.dtype | type = np.float32,
    ) -> None:
        self.in_channels = check_int("in_channels", in_channels)
        self.out_channels = check_int("out_channels", out_channels)
        self.kernel_size = check_pair("kernel_size", kernel_size)
        self.stride = check_pair("stride", stride)
        self.padding = padding if isinstance(padding, str) else check_pair("padding", padding, low=0)
        self.pads = resolve_padding(padding, self.kernel_size, self.stride)
        self.has_bias = bool(bias)
        dtype = check_float_dtype(dtype)
        rng = as_generator(rng)
        area = self.kernel_size[0] * self.kernel_size[1]
        fans = {"fan_in": self.in_channels * area, "fan_out": self.out_channels * area,
                "rng": rng, "dtype": dtype}
        shape = (self.out_channels, self.in_channels, *self.kernel_size)
        self.weight = Parameter(get_initializer(init)(shape, **fans), "weight", decay=True)
        self.bias = Parameter(np.zeros(self.out_channels, dtype=dtype), "bias", decay=False) if bias else None

    def _output_size(self, height: int, width: int) -> tuple[int, int]:
        return (output_size(height, self.kernel_size[0], self.stride[0], self.pads[0]),
                output_size(width, self.kernel_size[1], self.stride[1], self.pads[1]))

    def forward(self, x: np.ndarray, *, training: bool = False) -> np.ndarray:
        return self.forward_with_cache(x, training=training)[0]

    def forward_with_cache(self, x: np.ndarray, *, training: bool = False) -> tuple[np.ndarray, tuple]:
        self.output_shape(x.shape[1:])
        columns = im2col(x, self.kernel_size, self.stride, self.pads)
        product = self.weight.value.reshape(self.out_channels, -1) @ columns  # Z = W · columns
        if self.bias is not None:
            product += self.bias.value[:, None]  # in place on the product we just allocated
        oh, ow = self._output_size(*x.shape[2:])
        output = product.reshape(self.out_channels, oh, ow, len(x)).transpose(3, 0, 1, 2)  # a view, no copy
        return output, (columns, x.shape)

    def backward_parameters(self, grad_output: np.ndarray, cache: tuple) -> None:
        columns, _ = cache
        grad_matrix = _channels_first(grad_output)
        # dW = dZ · colsᵀ, computed as (cols · dZᵀ)ᵀ: OpenBLAS splits that product better over threads
        self.weight.grad.reshape(self.out_channels, -1)[...] = (columns @ grad_matrix.T).T
        if self.bias is not None:
            grad_matrix.sum(axis=1, out=self.bias.grad)  # db = Σ_(n,y,x) dZ

    def backward_input(self, grad_output: np.ndarray, cache: tuple) -> np.ndarray:
        _, input_shape = cache
        grad_columns = self.weight.value.reshape(self.out_channels, -1).T @ _channels_first(grad_output)
        # dX = col2im(Wᵀ · dZ)
        return col2im(grad_columns, input_shape, self.kernel_size, self.stride, self.pads)

    def parameters(self) -> list[Parameter]:
        return [self.weight] if self.bias is None else [self.weight, self.bias]

    def config(self) -> dict:
        return {
            "in_channels": self.in_channels, "out_channels": self.out_channels,
            "kernel_size": list(self.kernel_size), "stride": list(self.stride),
            "padding": self.padding if isinstance(self.padding, str) else list(self.padding),
            "bias": self.has_bias,
        }

    def output_shape(self, input_shape: Shape) -> Shape:
        if len(input_shape) != 3 or input_shape[0] != self.in_channels:
            raise ShapeError(
                f"Conv2D expects samples of shape ({self.in_channels}, height, width); got "
                f"{tuple(input_shape)} (add Reshape(({self.in_channels}, height, width)) for flat rows)"
            )
        height, width = input_shape[1:]
        oh, ow = self._output_size(height, width)
        if oh < 1 or ow < 1:
            raise ShapeError(
                f"Conv2D kernel {self.kernel_size} does not fit an input of {height}×{width} with "
                f"padding {self.pads}; use a smaller kernel or more padding"
            )
        return (self.out_channels, oh, ow)


def _channels_first(grad_output: np.ndarray) -> np.ndarray:
    """``(N, C, H, W)`` as the matrix ``(C, H·W·N)``; free when laid out ``(C, H, W, N)`` in memory."""
    return grad_output.transpose(1, 2, 3, 0).reshape(grad_output.shape[1], -1)
