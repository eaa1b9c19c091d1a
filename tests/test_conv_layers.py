"""Conv2D, the poolings, Flatten and Reshape: gradients by finite differences (float64), the
geometry, PyTorch agreement, ties, and errors."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import layer_gradcheck, random_parameters
from hypothesis import given, settings
from hypothesis import strategies as st

import barenet
from barenet.errors import BarenetError, ShapeError
from barenet.layers import AvgPool2D, Conv2D, Flatten, GlobalAvgPool2D, MaxPool2D, Reshape

CONVOLUTIONS = [  # (in, out, kernel, stride, padding, input h×w)
    (1, 2, 3, 1, 0, (5, 5)),
    (2, 3, 3, 2, 1, (6, 7)),
    (3, 2, (3, 2), 1, "same", (5, 4)),
    (2, 2, (2, 4), 1, "same", (4, 6)),
    (2, 4, (2, 3), (2, 1), (1, 0), (7, 5)),
    (3, 1, 1, 2, 0, (4, 4)),
    (2, 2, 4, 3, 2, (8, 6)),
]


@pytest.mark.parametrize("in_channels, out_channels, kernel, stride, padding, size", CONVOLUTIONS)
def test_conv2d_gradients(in_channels, out_channels, kernel, stride, padding, size):
    layer = Conv2D(in_channels, out_channels, kernel, stride=stride, padding=padding, dtype=np.float64, rng=0)
    random_parameters(layer)
    x = np.random.default_rng(1).normal(size=(2, in_channels, *size))
    layer_gradcheck(layer, x)
    assert layer.forward(x).shape[1:] == layer.output_shape(x.shape[1:])


def test_conv2d_without_bias_has_only_a_weight():
    layer = Conv2D(2, 3, 3, bias=False, dtype=np.float64, rng=0)
    assert [p.name for p in layer.parameters()] == ["weight"]
    layer_gradcheck(layer, np.random.default_rng(0).normal(size=(2, 2, 5, 4)))


def test_conv2d_weight_shape_and_he_fans():
    layer = Conv2D(16, 64, (3, 5), rng=0)
    assert layer.weight.shape == (64, 16, 3, 5) and layer.bias.shape == (64,)
    assert layer.weight.value.dtype == np.float32
    assert layer.weight.value.std() == pytest.approx(np.sqrt(2 / (16 * 15)), rel=0.05)  # He: fan_in = C·kh·kw
    assert not layer.bias.decay and layer.weight.decay


@pytest.mark.parametrize("layer", [MaxPool2D(2), MaxPool2D(3, stride=2, padding=1), MaxPool2D((2, 3), (1, 2)),
                                   AvgPool2D(2), AvgPool2D(3, stride=2, padding=1), AvgPool2D((3, 2), 1)])
def test_pooling_gradients_without_ties(layer):
    x = np.random.default_rng(2).normal(size=(2, 3, 7, 6))  # continuous values: no ties
    layer_gradcheck(layer, x)


def test_global_average_pooling_gradient_and_shape():
    layer = GlobalAvgPool2D()
    x = np.random.default_rng(3).normal(size=(3, 4, 5, 2))
    layer_gradcheck(layer, x)
    assert layer.output_shape((4, 5, 2)) == (4,)


@pytest.mark.parametrize("layer", [MaxPool2D(2), MaxPool2D(3, stride=1)])
def test_max_pooling_ties_send_the_gradient_to_one_input_the_first(layer):
    x = np.zeros((1, 1, 4, 4))  # every window a tie
    output, cache = layer.forward_with_cache(x, training=True)
    grad = layer.backward(np.ones_like(output), cache)
    # exactly one input per window gets the gradient: the first maximum in row-major order
    assert grad.sum() == output.size
    assert grad[0, 0, 0, 0] == 1 and grad[0, 0, 0, 1] == (1 if layer.stride == (1, 1) else 0)
    if layer.stride == (2, 2):
        expected = np.zeros((4, 4))
        expected[::2, ::2] = 1
        np.testing.assert_array_equal(grad[0, 0], expected)


def test_max_pooling_ties_agree_with_pytorch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(4)
    x = rng.integers(0, 3, size=(2, 3, 6, 6)).astype(np.float64)  # many ties
    for layer, reference in ((MaxPool2D(2), torch.nn.MaxPool2d(2)),
                             (MaxPool2D(3, 2, 1), torch.nn.MaxPool2d(3, 2, 1))):
        output, cache = layer.forward_with_cache(x, training=True)
        upstream = rng.normal(size=output.shape)
        tensor = torch.tensor(x, requires_grad=True)
        reference(tensor).backward(torch.tensor(upstream))
        np.testing.assert_array_equal(output, reference(torch.tensor(x)).numpy())
        np.testing.assert_allclose(layer.backward(upstream, cache), tensor.grad.numpy(), atol=1e-12)


@pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel")  # PyTorch's own note
@pytest.mark.parametrize("stride, padding, kernel",
                         [(1, 0, 3), (2, 1, (3, 2)), (1, "same", 3), (1, "same", (2, 4))])
def test_conv2d_agrees_with_pytorch(stride, padding, kernel):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(5)
    layer = Conv2D(3, 4, kernel, stride=stride, padding=padding, dtype=np.float64, rng=0)
    random_parameters(layer)
    reference = torch.nn.Conv2d(3, 4, kernel, stride=stride, padding=padding).double()
    with torch.no_grad():
        reference.weight.copy_(torch.tensor(layer.weight.value))
        reference.bias.copy_(torch.tensor(layer.bias.value))
    x = rng.normal(size=(2, 3, 7, 6))
    output, cache = layer.forward_with_cache(x, training=True)
    tensor = torch.tensor(x, requires_grad=True)
    expected = reference(tensor)
    upstream = rng.normal(size=output.shape)
    expected.backward(torch.tensor(upstream))
    np.testing.assert_allclose(output, expected.detach().numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(layer.backward(upstream, cache), tensor.grad.numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(layer.weight.grad, reference.weight.grad.numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(layer.bias.grad, reference.bias.grad.numpy(), rtol=1e-10, atol=1e-12)


def test_average_pooling_agrees_with_pytorch():
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(6).normal(size=(2, 3, 7, 6))
    pairs = ((AvgPool2D(2), torch.nn.AvgPool2d(2)), (AvgPool2D(3, 2, 1), torch.nn.AvgPool2d(3, 2, 1)))
    for layer, reference in pairs:
        tensor = torch.tensor(x, requires_grad=True)
        expected = reference(tensor)
        output, cache = layer.forward_with_cache(x, training=True)
        upstream = np.random.default_rng(7).normal(size=output.shape)
        expected.backward(torch.tensor(upstream))
        np.testing.assert_allclose(output, expected.detach().numpy(), atol=1e-12)
        np.testing.assert_allclose(layer.backward(upstream, cache), tensor.grad.numpy(), atol=1e-12)


@settings(max_examples=25, deadline=None, derandomize=True)
@given(
    channels=st.integers(1, 3), out_channels=st.integers(1, 3), height=st.integers(2, 7),
    width=st.integers(2, 7), kh=st.integers(1, 3), kw=st.integers(1, 3), stride=st.integers(1, 2),
    padding=st.integers(0, 1),
)
def test_conv2d_gradients_over_shapes(channels, out_channels, height, width, kh, kw, stride, padding):
    layer = Conv2D(channels, out_channels, (kh, kw), stride=stride, padding=padding, dtype=np.float64, rng=1)
    try:
        expected = layer.output_shape((channels, height, width))
    except ShapeError:
        return  # the kernel does not fit: refused up front, checked elsewhere
    random_parameters(layer, seed=height * 10 + width)
    x = np.random.default_rng(channels + height).normal(size=(2, channels, height, width))
    assert layer.forward(x).shape == (2, *expected)
    layer_gradcheck(layer, x)


@settings(max_examples=25, deadline=None, derandomize=True)
@given(height=st.integers(2, 8), width=st.integers(2, 8), kernel=st.integers(1, 3), stride=st.integers(1, 3),
       maximum=st.booleans())
def test_pooling_gradients_over_shapes(height, width, kernel, stride, maximum):
    layer = (MaxPool2D if maximum else AvgPool2D)(kernel, stride)
    try:
        expected = layer.output_shape((2, height, width))
    except ShapeError:
        return
    x = np.random.default_rng(height * width).normal(size=(2, 2, height, width))
    assert layer.forward(x).shape == (2, *expected)
    layer_gradcheck(layer, x)


def test_flatten_and_reshape_round_trip():
    x = np.arange(2 * 12, dtype=np.float64).reshape(2, 12)
    reshape, flatten = Reshape((3, 2, 2)), Flatten()
    images, cache = reshape.forward_with_cache(x, training=True)
    assert images.shape == (2, 3, 2, 2) and reshape.input_shape() == (12,)
    rows, flat_cache = flatten.forward_with_cache(images, training=True)
    np.testing.assert_array_equal(rows, x)
    np.testing.assert_array_equal(reshape.backward(flatten.backward(rows, flat_cache), cache), x)
    with pytest.raises(ShapeError, match="12 values"):
        reshape.output_shape((13,))
    with pytest.raises(BarenetError, match="per-sample shape"):
        Reshape(12)


def test_shape_errors_say_what_was_expected():
    with pytest.raises(ShapeError, match=r"\(3, height, width\)"):
        Conv2D(3, 8, 3).output_shape((1, 28, 28))
    with pytest.raises(ShapeError, match="does not fit"):
        Conv2D(1, 8, 5).output_shape((1, 3, 3))
    with pytest.raises(ShapeError, match="does not fit"):
        MaxPool2D(4).output_shape((1, 3, 3))
    with pytest.raises(BarenetError, match="stride 1"):
        Conv2D(1, 8, 3, stride=2, padding="same")
    with pytest.raises(ShapeError, match="half the kernel"):
        MaxPool2D(2, padding=2)
    with pytest.raises(ShapeError, match="layer 1"):
        barenet.Sequential(Reshape((1, 28, 28)), Conv2D(3, 4, 3))
    with pytest.raises(ShapeError):
        Conv2D(1, 2, 3).forward(np.zeros((2, 3, 8, 8), dtype=np.float32))


@pytest.mark.parametrize("kernel, stride, padding", [(3, 1, 1), ((3, 2), 2, 0), ((2, 3), 1, "same")])
def test_small_stack_gradcheck_and_summary(kernel, stride, padding):
    """Conv → BatchNorm2D → ReLU → MaxPool → Flatten → Dense, through barenet.gradcheck."""
    body = [Reshape((2, 6, 5)), Conv2D(2, 3, kernel, stride=stride, padding=padding, rng=0),
            barenet.BatchNorm2D(3), barenet.ReLU(), MaxPool2D(2), Flatten()]
    features = barenet.Sequential(*body).out_features
    model = barenet.Sequential(*body, barenet.Dense(features, 4, rng=1), barenet.Softmax()).astype(np.float64)
    for index, parameter in enumerate(model.parameters()):
        offset = 1.0 if parameter.name == "weight" else 0.0  # γ away from 0
        parameter.value[...] = np.random.default_rng(index).normal(size=parameter.shape) + offset
    rng = np.random.default_rng(8)
    x, y = rng.normal(size=(6, 60)), rng.integers(0, 4, 6)
    result = barenet.gradcheck(model, "cross_entropy", x, y, training=True)
    assert result.passed, result.table()
    conv_shape = model.shapes[1]
    assert f"(n, {', '.join(map(str, conv_shape))})" in model.summary() and "Conv2D" in model.summary()
