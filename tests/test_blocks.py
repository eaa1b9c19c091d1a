"""Element-wise work done block by block (barenet.blocks) gives the values of the whole-array
formulas: bit for bit in the layers (GELU, and batch norm by groups of channels), to round-off
against the paper's Adam; on arrays that span several blocks and end in a partial one (the
GELU and Adam tests set a block of SMALL_BLOCK elements, whatever the default)."""

from __future__ import annotations

import math

import numpy as np
import pytest

import barenet
import barenet.blocks
from barenet.blocks import BLOCK_SIZE, cache_blocks, channel_blocks
from barenet.gradcheck import gradcheck
from barenet.layers import GELU, BatchNorm2D
from barenet.layers.im2col import empty_images
from barenet.optim import Adam
from barenet.optim_plain import PlainAdam
from barenet.parameter import Parameter

SMALL_BLOCK = 32_768
SEVERAL_BLOCKS = (5, 7, 3001)  # 105,035 elements: three whole small blocks and a partial one


@pytest.fixture
def small_blocks(monkeypatch):
    monkeypatch.setattr(barenet.blocks, "BLOCK_SIZE", SMALL_BLOCK)


@pytest.mark.parametrize("size", [0, 1, BLOCK_SIZE - 1, BLOCK_SIZE, BLOCK_SIZE + 1, 3 * BLOCK_SIZE + 5])
def test_the_blocks_cover_every_index_once_in_order(size: int) -> None:
    blocks = list(cache_blocks(size))
    covered = [index for block in blocks for index in range(size)[block]]
    assert covered == list(range(size))
    assert all(block.stop - block.start == BLOCK_SIZE for block in blocks[:-1])
    assert all(0 < block.stop - block.start <= BLOCK_SIZE for block in blocks)


@pytest.mark.parametrize("approximate", ["none", "tanh"])
def test_gelu_by_blocks_is_the_whole_array_formula_bit_for_bit(small_blocks, approximate: str) -> None:
    rng = np.random.default_rng(0)
    x = (rng.standard_normal(SEVERAL_BLOCKS) * 3).astype(np.float32)
    assert len(list(cache_blocks(x.size))) == 4
    grad_output = rng.standard_normal(SEVERAL_BLOCKS).astype(np.float32)
    gelu = GELU(approximate)
    output, cache = gelu.forward_with_cache(x)
    phi = gelu.normal_cdf(x)  # Φ on the whole array at once
    assert np.array_equal(cache[1], phi)
    assert np.array_equal(output, x * phi)  # Y = X ⊙ Φ(X)
    assert np.array_equal(gelu.backward(grad_output, cache), gelu.slope(x, phi) * grad_output)


def test_exact_gelu_by_blocks_in_float64_is_x_times_the_normal_cdf(small_blocks) -> None:
    x = np.random.default_rng(1).standard_normal(SEVERAL_BLOCKS) * 3
    assert len(list(cache_blocks(x.size))) == 4
    expected = np.array([value * 0.5 * (1 + math.erf(value / math.sqrt(2))) for value in x.ravel()])
    np.testing.assert_allclose(GELU().forward(x).ravel(), expected, rtol=1e-14, atol=1e-15)


def test_adam_by_blocks_gives_the_weights_of_the_papers_adam(small_blocks) -> None:
    rng = np.random.default_rng(2)
    shapes = [(300, 250), (7,), (2, 3, 4000)]  # 99,007 parameters in one flat buffer: four blocks
    assert len(list(cache_blocks(sum(math.prod(shape) for shape in shapes)))) == 4
    values = [rng.standard_normal(shape) for shape in shapes]
    fast_parameters = [Parameter(value.copy(), f"p{i}") for i, value in enumerate(values)]
    plain_parameters = [Parameter(value.copy(), f"p{i}") for i, value in enumerate(values)]
    fast, plain = Adam(fast_parameters, lr=0.01), PlainAdam(plain_parameters, lr=0.01)
    for _ in range(5):
        for index, shape in enumerate(shapes):
            gradient = rng.standard_normal(shape)
            fast_parameters[index].grad[...] = gradient
            plain_parameters[index].grad[...] = gradient
        fast.step()
        plain.step()
    for a, b in zip(fast_parameters, plain_parameters):
        np.testing.assert_allclose(a.value, b.value, rtol=1e-11, atol=1e-12)
    assert not np.allclose(fast_parameters[0].value, values[0])


def batch_norm_pass(x: np.ndarray, grad_output: np.ndarray) -> list[np.ndarray]:
    """What a training pass of a BatchNorm2D on ``x`` gives: output, x̂, running statistics,
    input gradient, parameter gradients."""
    layer = BatchNorm2D(x.shape[1])
    layer.weight.value[...] = np.linspace(0.5, 2.0, x.shape[1])
    layer.bias.value[...] = np.linspace(-1.0, 1.0, x.shape[1])
    output, cache = layer.forward_with_cache(x, training=True)
    grad_input = layer.backward(grad_output, cache)
    return [output, cache[0], layer.running_mean, layer.running_var, grad_input,
            layer.weight.grad.copy(), layer.bias.grad.copy()]


@pytest.mark.parametrize("channels", [12, 13])  # groups of 5 channels: the last one whole or partial
def test_batch_norm_by_groups_of_channels_is_bit_for_bit_the_whole_batch_norm(monkeypatch, channels):
    shape = (64, channels, 9, 9)  # 5,184 values per channel
    rng = np.random.default_rng(3)
    x, grad_output = empty_images(shape, np.float32), empty_images(shape, np.float32)
    x[...] = rng.normal(1.0, 3.0, shape)  # laid out (C, H, W, N), as barenet's convolutions give
    grad_output[...] = rng.standard_normal(shape)
    monkeypatch.setattr(barenet.blocks, "BLOCK_SIZE", 5 * 5184)
    assert len(channel_blocks(x)) == -(-channels // 5)
    grouped = batch_norm_pass(x, grad_output)
    monkeypatch.setattr(barenet.blocks, "BLOCK_SIZE", 1 << 62)
    assert len(channel_blocks(x)) == 1
    for by_groups, whole in zip(grouped, batch_norm_pass(x, grad_output)):
        assert np.array_equal(by_groups, whole)


def test_a_network_with_batch_norm_by_single_channels_passes_the_gradient_check(monkeypatch):
    monkeypatch.setattr(barenet.blocks, "BLOCK_SIZE", 1)  # every channel a group of its own
    model = barenet.Sequential(
        barenet.Reshape((1, 6, 6)), barenet.Conv2D(1, 3, 3, bias=False, rng=0), barenet.BatchNorm2D(3),
        barenet.ReLU(), barenet.Flatten(), barenet.Dense(48, 3, rng=1),
    )
    rng = np.random.default_rng(4)
    x, y = rng.standard_normal((10, 36)), rng.integers(0, 3, 10)
    convolved = model.layers[1].forward(x.reshape(10, 1, 6, 6))  # what the batch norm receives
    assert len(channel_blocks(convolved)) == 3
    result = gradcheck(model, "cross_entropy", x, y, training=True)
    assert result.passed, result.table()
