"""BatchNorm1D, BatchNorm2D and LayerNorm: gradients with random γ and β, running statistics,
prediction mode, and agreement with PyTorch."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import layer_gradcheck, random_parameters
from hypothesis import given, settings
from hypothesis import strategies as st

from barenet.errors import BarenetError, ShapeError
from barenet.layers import BatchNorm1D, BatchNorm2D, LayerNorm


def scaled(layer):
    """γ well away from 1 and β away from 0, so a wrong γ or β term shows."""
    random_parameters(layer, seed=3)
    layer.weight.value[...] = 1.5 + layer.weight.value
    return layer


@pytest.mark.parametrize("layer, shape", [
    (BatchNorm1D(5, dtype=np.float64), (6, 5)),
    (BatchNorm2D(3, dtype=np.float64), (4, 3, 5, 2)),
    (BatchNorm2D(2, dtype=np.float64), (2, 2, 3, 3)),
])
def test_batch_norm_gradients_in_training_mode(layer, shape):
    x = np.random.default_rng(0).normal(2.0, 3.0, size=shape)
    layer_gradcheck(scaled(layer), x, training=True)


@pytest.mark.parametrize("layer, shape", [
    (BatchNorm1D(5, dtype=np.float64), (6, 5)), (BatchNorm2D(3, dtype=np.float64), (4, 3, 5, 2)),
])
def test_batch_norm_gradients_in_prediction_mode(layer, shape):
    scaled(layer)
    layer.running_mean[...] = np.linspace(-1, 1, layer.num_features)
    layer.running_var[...] = np.linspace(0.5, 2, layer.num_features)
    layer_gradcheck(layer, np.random.default_rng(1).normal(size=shape), training=False)


@pytest.mark.parametrize("shape, normalized", [((4, 6), 6), ((3, 2, 4), (2, 4)), ((2, 3, 2, 3), (2, 3))])
def test_layer_norm_gradients(shape, normalized):
    layer = LayerNorm(normalized, dtype=np.float64)
    random_parameters(layer, seed=4)
    layer_gradcheck(layer, np.random.default_rng(2).normal(1.0, 2.0, size=shape))


@settings(max_examples=20, deadline=None, derandomize=True)
@given(n=st.integers(2, 5), channels=st.integers(1, 4), height=st.integers(1, 4), width=st.integers(1, 4))
def test_batch_norm_2d_gradients_over_shapes(n, channels, height, width):
    layer = scaled(BatchNorm2D(channels, dtype=np.float64))
    x = np.random.default_rng(n * channels + height).normal(size=(n, channels, height, width))
    layer_gradcheck(layer, x, training=True)


def test_training_uses_batch_statistics_and_updates_running_ones_in_place():
    layer = BatchNorm2D(2, momentum=0.1, dtype=np.float64)
    x = np.random.default_rng(5).normal(3.0, 2.0, size=(8, 2, 4, 4))
    running_mean = layer.running_mean
    output, _ = layer.forward_with_cache(x, training=True)
    np.testing.assert_allclose(output.mean(axis=(0, 2, 3)), 0, atol=1e-12)
    np.testing.assert_allclose(output.var(axis=(0, 2, 3)), 1, atol=1e-4)  # biased variance, ε = 1e-5
    batch_mean, unbiased = x.mean(axis=(0, 2, 3)), x.var(axis=(0, 2, 3), ddof=1)
    np.testing.assert_allclose(layer.running_mean, 0.1 * batch_mean)
    np.testing.assert_allclose(layer.running_var, 0.9 + 0.1 * unbiased)
    assert layer.running_mean is running_mean  # updated in place, the same buffer


def test_prediction_uses_the_running_statistics_and_changes_nothing():
    layer = BatchNorm1D(3, dtype=np.float64)
    layer.running_mean[...] = [1.0, -2.0, 0.5]
    layer.running_var[...] = [4.0, 0.25, 1.0]
    layer.weight.value[...] = [2.0, 1.0, -1.0]
    layer.bias.value[...] = [0.0, 1.0, 3.0]
    x = np.random.default_rng(6).normal(size=(5, 3))
    standardized = (x - layer.running_mean) / np.sqrt(layer.running_var + 1e-5)
    expected = standardized * layer.weight.value + layer.bias.value
    before = layer.running_mean.copy(), layer.running_var.copy()
    np.testing.assert_allclose(layer.forward(x), expected)
    np.testing.assert_allclose(layer.forward_with_cache(x, training=False)[0], expected)
    np.testing.assert_allclose(layer.forward(x[:1]), expected[:1])  # one sample predicts fine
    layer.forward(x, training=True)  # batch statistics, still records nothing
    np.testing.assert_array_equal(layer.running_mean, before[0])
    np.testing.assert_array_equal(layer.running_var, before[1])


def test_batch_norm_agrees_with_pytorch_over_several_steps():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(7)
    layer = scaled(BatchNorm2D(3, dtype=np.float64))
    reference = torch.nn.BatchNorm2d(3).double()
    with torch.no_grad():
        reference.weight.copy_(torch.tensor(layer.weight.value))
        reference.bias.copy_(torch.tensor(layer.bias.value))
    for step in range(4):
        x = rng.normal(step, 1 + step, size=(5, 3, 4, 3))
        upstream = rng.normal(size=x.shape)
        output, cache = layer.forward_with_cache(x, training=True)
        grad = layer.backward(upstream, cache)
        tensor = torch.tensor(x, requires_grad=True)
        reference.zero_grad()
        expected = reference.train()(tensor)
        expected.backward(torch.tensor(upstream))
        np.testing.assert_allclose(output, expected.detach().numpy(), atol=1e-10)
        np.testing.assert_allclose(grad, tensor.grad.numpy(), atol=1e-10)
        np.testing.assert_allclose(layer.weight.grad, reference.weight.grad.numpy(), atol=1e-10)
        np.testing.assert_allclose(layer.bias.grad, reference.bias.grad.numpy(), atol=1e-10)
    np.testing.assert_allclose(layer.running_mean, reference.running_mean.numpy(), rtol=1e-12)
    np.testing.assert_allclose(layer.running_var, reference.running_var.numpy(), rtol=1e-12)
    x = rng.normal(size=(2, 3, 4, 3))
    expected = reference.eval()(torch.tensor(x)).detach().numpy()
    np.testing.assert_allclose(layer.forward(x), expected, atol=1e-10)


def test_batch_norm_1d_agrees_with_pytorch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(8)
    layer = scaled(BatchNorm1D(4, momentum=0.2, dtype=np.float64))
    reference = torch.nn.BatchNorm1d(4, momentum=0.2).double()
    with torch.no_grad():
        reference.weight.copy_(torch.tensor(layer.weight.value))
        reference.bias.copy_(torch.tensor(layer.bias.value))
    for _ in range(3):
        x = rng.normal(size=(6, 4))
        expected = reference(torch.tensor(x)).detach().numpy()
        np.testing.assert_allclose(layer.forward_with_cache(x, training=True)[0], expected, atol=1e-10)
    np.testing.assert_allclose(layer.running_var, reference.running_var.numpy(), rtol=1e-12)


def test_layer_norm_agrees_with_pytorch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(9)
    layer = LayerNorm((3, 4), dtype=np.float64)
    random_parameters(layer, seed=10)
    reference = torch.nn.LayerNorm((3, 4)).double()
    with torch.no_grad():
        reference.weight.copy_(torch.tensor(layer.weight.value))
        reference.bias.copy_(torch.tensor(layer.bias.value))
    x = rng.normal(size=(5, 2, 3, 4))
    upstream = rng.normal(size=x.shape)
    output, cache = layer.forward_with_cache(x, training=True)
    grad = layer.backward(upstream, cache)
    tensor = torch.tensor(x, requires_grad=True)
    expected = reference(tensor)
    expected.backward(torch.tensor(upstream))
    np.testing.assert_allclose(output, expected.detach().numpy(), atol=1e-10)
    np.testing.assert_allclose(grad, tensor.grad.numpy(), atol=1e-10)
    np.testing.assert_allclose(layer.weight.grad, reference.weight.grad.numpy(), atol=1e-10)
    np.testing.assert_allclose(layer.bias.grad, reference.bias.grad.numpy(), atol=1e-10)


def test_parameters_buffers_and_config():
    layer = BatchNorm2D(4)
    assert [p.name for p in layer.parameters()] == ["weight", "bias"]
    assert not any(p.decay for p in layer.parameters())
    assert sorted(layer.buffers()) == ["running_mean", "running_var"]
    assert BatchNorm2D(**layer.config()).config() == layer.config()
    norm = LayerNorm([2, 3], eps=1e-6)
    assert LayerNorm(**norm.config()).normalized_shape == (2, 3)


def test_bad_input_is_refused_clearly():
    with pytest.raises(BarenetError, match="more than one value per feature"):
        BatchNorm1D(3).forward_with_cache(np.ones((1, 3), dtype=np.float32), training=True)
    with pytest.raises(ShapeError, match="BatchNorm2D"):
        BatchNorm2D(3).output_shape((4, 5, 5))
    with pytest.raises(ShapeError, match="BatchNorm1D"):
        BatchNorm1D(3).output_shape((3, 2))
    with pytest.raises(ShapeError, match="ending in"):
        LayerNorm(4).output_shape((5,))
    with pytest.raises(BarenetError, match="momentum"):
        BatchNorm1D(3, momentum=1.5)
