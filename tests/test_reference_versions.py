"""The fast layers against their plain versions (the loop definitions a learner reads first):
im2col/col2im, Conv2D forward and backward, MaxPool2D forward and backward (ties included),
in float64 over random shapes, strides and padding; pooling also on barenet's own image layout,
in channel blocks."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from barenet.errors import ShapeError
from barenet.layers import AvgPool2D, Conv2D, MaxPool2D, pooling
from barenet.layers.im2col import (
    col2im,
    col2im_loops,
    im2col,
    im2col_loops,
    output_size,
    to_images_layout,
)
from barenet.layers.reference import (
    conv2d_backward_loops,
    conv2d_loops,
    max_pool2d_backward_loops,
    max_pool2d_loops,
)

GEOMETRY = {
    "n": st.integers(1, 3), "channels": st.integers(1, 3), "height": st.integers(1, 9),
    "width": st.integers(1, 9), "kh": st.integers(1, 4), "kw": st.integers(1, 4),
    "sh": st.integers(1, 3), "sw": st.integers(1, 3), "top": st.integers(0, 2), "bottom": st.integers(0, 2),
    "left": st.integers(0, 2), "right": st.integers(0, 2),
}


def fits(height, width, kernel, stride, padding) -> bool:
    return all(output_size(size, k, s, p) >= 1
               for size, k, s, p in zip((height, width), kernel, stride, padding))


@settings(max_examples=60, deadline=None, derandomize=True)
@given(**GEOMETRY)
def test_im2col_and_col2im_equal_their_loop_definitions(n, channels, height, width, kh, kw, sh, sw,
                                                         top, bottom, left, right):
    kernel, stride, padding = (kh, kw), (sh, sw), ((top, bottom), (left, right))
    if not fits(height, width, kernel, stride, padding):
        return
    rng = np.random.default_rng(n + 10 * height + 100 * width)
    x = rng.normal(size=(n, channels, height, width))
    columns = im2col(x, kernel, stride, padding)
    np.testing.assert_array_equal(columns, im2col_loops(x, kernel, stride, padding))
    c = rng.normal(size=columns.shape)
    np.testing.assert_allclose(col2im(c, x.shape, kernel, stride, padding),
                               col2im_loops(c, x.shape, kernel, stride, padding), rtol=1e-12, atol=1e-12)


@settings(max_examples=40, deadline=None, derandomize=True)
@given(n=st.integers(1, 3), channels=st.integers(1, 3), out_channels=st.integers(1, 3),
       height=st.integers(2, 8), width=st.integers(2, 8), kh=st.integers(1, 3), kw=st.integers(1, 3),
       sh=st.integers(1, 2), sw=st.integers(1, 2), ph=st.integers(0, 2), pw=st.integers(0, 2),
       bias=st.booleans())
def test_conv2d_equals_the_loop_convolution_forward_and_backward(n, channels, out_channels, height, width,
                                                                  kh, kw, sh, sw, ph, pw, bias):
    layer = Conv2D(channels, out_channels, (kh, kw), stride=(sh, sw), padding=(ph, pw), bias=bias,
                   dtype=np.float64, rng=0)
    try:
        layer.output_shape((channels, height, width))
    except ShapeError:
        return  # the kernel does not fit: refused up front
    rng = np.random.default_rng(height * 10 + width)
    for parameter in layer.parameters():
        parameter.value[...] = rng.normal(size=parameter.shape)
    x = rng.normal(size=(n, channels, height, width))
    b = layer.bias.value if bias else None
    output, cache = layer.forward_with_cache(x, training=True)
    np.testing.assert_allclose(output, conv2d_loops(x, layer.weight.value, b, layer.stride, layer.pads),
                               rtol=1e-10, atol=1e-12)
    upstream = rng.normal(size=output.shape)
    grad_x, grad_w, grad_b = conv2d_backward_loops(upstream, x, layer.weight.value, layer.stride, layer.pads)
    np.testing.assert_allclose(layer.backward(upstream, cache), grad_x, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(layer.weight.grad, grad_w, rtol=1e-10, atol=1e-12)
    if bias:
        np.testing.assert_allclose(layer.bias.grad, grad_b, rtol=1e-10, atol=1e-12)


@settings(max_examples=60, deadline=None, derandomize=True)
@given(n=st.integers(1, 3), channels=st.integers(1, 3), height=st.integers(1, 9), width=st.integers(1, 9),
       kh=st.integers(1, 4), kw=st.integers(1, 4), sh=st.integers(1, 4), sw=st.integers(1, 4),
       ph=st.integers(0, 2), pw=st.integers(0, 2), levels=st.sampled_from([2, 3, 0]), square=st.booleans())
def test_max_pool_equals_the_loop_max_pool_ties_included(n, channels, height, width, kh, kw, sh, sw, ph, pw,
                                                         levels, square):
    """``levels`` 2 or 3: values drawn from a few integers, so most windows tie (as after a ReLU);
    0: continuous values. ``square``: the common case, stride = kernel (windows apart)."""
    if square:
        sh, sw = kh, kw
    if 2 * ph > kh or 2 * pw > kw:
        return  # refused by the layer (as in PyTorch)
    layer = MaxPool2D((kh, kw), (sh, sw), (ph, pw))
    try:
        layer.output_shape((channels, height, width))
    except ShapeError:
        return
    rng = np.random.default_rng(n + 7 * height + 31 * width)
    shape = (n, channels, height, width)
    x = rng.integers(0, levels, size=shape).astype(np.float64) if levels else rng.normal(size=shape)
    output, cache = layer.forward_with_cache(x, training=True)
    np.testing.assert_array_equal(output, max_pool2d_loops(x, layer.kernel_size, layer.stride, layer.pads))
    np.testing.assert_array_equal(layer.forward(x), output)  # prediction: the same maximum, no argmax
    upstream = rng.normal(size=output.shape)
    expected = max_pool2d_backward_loops(upstream, x, layer.kernel_size, layer.stride, layer.pads)
    if sh >= kh and sw >= kw:  # windows apart: every input gets at most one value, exactly
        np.testing.assert_array_equal(layer.backward(upstream, cache), expected)
    else:  # overlapping windows add up, in another order than the loops
        np.testing.assert_allclose(layer.backward(upstream, cache), expected, rtol=1e-12, atol=1e-15)


def test_the_loop_versions_agree_with_pytorch():
    """The plain versions are themselves right: PyTorch's conv2d and max_pool2d, ties included."""
    torch = pytest.importorskip("torch")
    functional = torch.nn.functional
    rng = np.random.default_rng(3)
    x, weight, bias = rng.normal(size=(2, 3, 7, 6)), rng.normal(size=(4, 3, 3, 2)), rng.normal(size=4)
    tensor, w_tensor, b_tensor = (torch.tensor(a, requires_grad=True) for a in (x, weight, bias))
    expected = functional.conv2d(tensor, w_tensor, b_tensor, stride=(2, 1), padding=(1, 1))
    upstream = rng.normal(size=tuple(expected.shape))
    expected.backward(torch.tensor(upstream))
    padding = ((1, 1), (1, 1))
    np.testing.assert_allclose(conv2d_loops(x, weight, bias, (2, 1), padding), expected.detach().numpy())
    for ours, theirs in zip(conv2d_backward_loops(upstream, x, weight, (2, 1), padding),
                            (tensor.grad, w_tensor.grad, b_tensor.grad)):
        np.testing.assert_allclose(ours, theirs.numpy(), rtol=1e-10, atol=1e-12)
    ties = rng.integers(0, 2, size=(2, 3, 7, 6)).astype(np.float64)
    tensor = torch.tensor(ties, requires_grad=True)
    expected = functional.max_pool2d(tensor, 3, 2, 1)
    upstream = rng.normal(size=tuple(expected.shape))
    expected.backward(torch.tensor(upstream))
    np.testing.assert_array_equal(max_pool2d_loops(ties, (3, 3), (2, 2), padding), expected.detach().numpy())
    np.testing.assert_allclose(max_pool2d_backward_loops(upstream, ties, (3, 3), (2, 2), padding),
                               tensor.grad.numpy(), atol=1e-12)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("values", ["normal", "ties", "relu zeros"])
def test_max_pool_in_channel_blocks_on_barenet_images_equals_the_loops(monkeypatch, dtype, values):
    """What a CNN hands the layer: images laid out (C, H, W, N), sizes that leave a last row
    and column out (11 → 5), the gradient sample by sample (as Flatten gives it), and channel
    blocks of one or two channels; ties from few integers and from a ReLU's zeros."""
    monkeypatch.setattr(pooling, "BLOCK_BYTES", 1)  # one channel per block: every block boundary crossed
    rng = np.random.default_rng(8)
    shape = (5, 3, 11, 10)
    x = {"normal": rng.normal(size=shape), "ties": rng.integers(0, 4, size=shape),
         "relu zeros": np.maximum(rng.normal(size=shape) - 0.5, 0)}[values].astype(dtype)
    images = to_images_layout(x)
    for layer in (MaxPool2D(2), MaxPool2D(3), MaxPool2D((2, 3), (3, 4), 1)):  # windows apart: exact gradients
        output, cache = layer.forward_with_cache(images, training=True)
        expected = max_pool2d_loops(x, layer.kernel_size, layer.stride, layer.pads)
        np.testing.assert_array_equal(output, expected)
        np.testing.assert_array_equal(layer.forward(images), expected)
        upstream = rng.normal(size=output.shape).astype(dtype)  # C-ordered: sample by sample
        grad = layer.backward(upstream, cache)
        np.testing.assert_array_equal(grad, max_pool2d_backward_loops(upstream, x, layer.kernel_size,
                                                                      layer.stride, layer.pads))
        assert grad.dtype == dtype and grad.strides[0] == grad.itemsize  # barenet's layout: batch innermost


def test_average_pooling_in_channel_blocks_is_bit_identical(monkeypatch):
    rng = np.random.default_rng(9)
    images = to_images_layout(rng.normal(size=(4, 5, 9, 7)).astype(np.float32))
    upstream = rng.normal(size=(4, 5, 4, 3)).astype(np.float32)
    layer = AvgPool2D(2)
    whole = layer.forward(images), layer.backward(upstream, images.shape)
    monkeypatch.setattr(pooling, "BLOCK_BYTES", 1)
    for blocked, one_block in zip((layer.forward(images), layer.backward(upstream, images.shape)), whole):
        np.testing.assert_array_equal(blocked, one_block)
