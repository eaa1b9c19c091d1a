"""Element-wise work done block by block (barenet.blocks) gives the values of the whole-array
formulas: bit for bit in the layers, to round-off against the paper's Adam; on arrays that
span several blocks and end in a partial one."""

from __future__ import annotations

import math

import numpy as np
import pytest

from barenet.blocks import BLOCK_SIZE, cache_blocks
from barenet.layers import GELU
from barenet.optim import Adam
from barenet.optim_plain import PlainAdam
from barenet.parameter import Parameter

SEVERAL_BLOCKS = (5, 7, 3001)  # 105,035 elements: three whole blocks and a partial one


@pytest.mark.parametrize("size", [0, 1, BLOCK_SIZE - 1, BLOCK_SIZE, BLOCK_SIZE + 1, 3 * BLOCK_SIZE + 5])
def test_the_blocks_cover_every_index_once_in_order(size: int) -> None:
    blocks = list(cache_blocks(size))
    covered = [index for block in blocks for index in range(size)[block]]
    assert covered == list(range(size))
    assert all(block.stop - block.start == BLOCK_SIZE for block in blocks[:-1])
    assert all(0 < block.stop - block.start <= BLOCK_SIZE for block in blocks)


@pytest.mark.parametrize("approximate", ["none", "tanh"])
def test_gelu_by_blocks_is_the_whole_array_formula_bit_for_bit(approximate: str) -> None:
    rng = np.random.default_rng(0)
    x = (rng.standard_normal(SEVERAL_BLOCKS) * 3).astype(np.float32)
    grad_output = rng.standard_normal(SEVERAL_BLOCKS).astype(np.float32)
    gelu = GELU(approximate)
    output, cache = gelu.forward_with_cache(x)
    phi = gelu.normal_cdf(x)  # Φ on the whole array at once
    assert np.array_equal(cache[1], phi)
    assert np.array_equal(output, x * phi)  # Y = X ⊙ Φ(X)
    assert np.array_equal(gelu.backward(grad_output, cache), gelu.slope(x, phi) * grad_output)


def test_exact_gelu_by_blocks_in_float64_is_x_times_the_normal_cdf() -> None:
    x = np.random.default_rng(1).standard_normal(SEVERAL_BLOCKS) * 3
    expected = np.array([value * 0.5 * (1 + math.erf(value / math.sqrt(2))) for value in x.ravel()])
    np.testing.assert_allclose(GELU().forward(x).ravel(), expected, rtol=1e-14, atol=1e-15)


def test_adam_by_blocks_gives_the_weights_of_the_papers_adam() -> None:
    rng = np.random.default_rng(2)
    shapes = [(300, 250), (7,), (2, 3, 4000)]  # 99,007 parameters in one flat buffer: four blocks
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
