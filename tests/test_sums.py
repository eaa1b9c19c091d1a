"""Sums as products with a vector of ones (barenet.sums) give NumPy's sums, to round-off in
float32 and float64, for every layout the layers hand them; and the layers that use them
(LayerNorm, attention, the position embedding) still backpropagate exactly."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import layer_gradcheck, random_parameters

from barenet.layers import LayerNorm, MultiHeadAttention, PositionalEmbedding
from barenet.sums import mean_over, ones, sum_over, sum_rows

SHAPES_AND_AXES = [
    ((768, 128), (1,)),  # a transformer's rows: the last axis
    ((12, 64, 128), (-1,)),
    ((12, 64, 128), (1, 2)),  # several last axes
    ((128, 256), (0,)),  # other axes: NumPy's own sum
    ((12, 64, 128), (0, 1)),
    ((4, 3, 5, 6), (0, 2, 3)),
    ((7,), (0,)),
]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(("shape", "axes"), SHAPES_AND_AXES)
def test_sum_over_and_mean_over_are_numpys_sum_and_mean(shape, axes, dtype) -> None:
    x = np.random.default_rng(0).standard_normal(shape).astype(dtype) + 3  # not centred: round-off shows
    tolerance = {"rtol": 1e-5, "atol": 1e-4} if dtype == np.float32 else {"rtol": 1e-12, "atol": 1e-10}
    total, mean = sum_over(x, axes), mean_over(x, axes)
    assert total.dtype == mean.dtype == dtype
    np.testing.assert_allclose(total, x.sum(axis=axes, keepdims=True), **tolerance)
    np.testing.assert_allclose(mean, x.mean(axis=axes, keepdims=True), **tolerance)


@pytest.mark.parametrize("order", ["C", "F", "strided"])
def test_any_memory_layout_gives_the_same_sums(order: str) -> None:
    base = np.random.default_rng(1).standard_normal((40, 2 * 30)).astype(np.float32)
    x = base[:, ::2] if order == "strided" else np.asarray(base[:, :30], order=order)
    for axes in [(0,), (1,)]:
        np.testing.assert_allclose(sum_over(x, axes), x.sum(axis=axes, keepdims=True), rtol=1e-5, atol=1e-5)
    out = np.empty(30, dtype=np.float32)
    assert sum_rows(x, out=out) is out
    np.testing.assert_allclose(out, x.sum(axis=0), rtol=1e-5, atol=1e-5)


def test_the_same_sums_come_back_bit_for_bit_call_after_call() -> None:
    x = np.random.default_rng(2).standard_normal((768, 512)).astype(np.float32)
    assert np.array_equal(sum_rows(x), sum_rows(x.copy()))
    assert np.array_equal(sum_over(x, (1,)), sum_over(x.copy(), (1,)))


def test_empty_and_integer_arrays_go_to_numpy() -> None:
    empty = np.zeros((0, 5), dtype=np.float32)
    assert sum_over(empty, (0,)).tolist() == [[0.0] * 5]
    assert sum_rows(empty).tolist() == [0.0] * 5
    counts = np.arange(12).reshape(3, 4)
    assert sum_over(counts, (1,)).tolist() == [[6], [22], [38]]
    assert mean_over(counts, (1,)).tolist() == [[1.5], [5.5], [9.5]]


def test_the_vector_of_ones_is_shared_and_read_only() -> None:
    vector = ones(5, np.dtype(np.float32))
    assert vector is ones(5, np.dtype(np.float32))
    with pytest.raises(ValueError):
        vector[0] = 2


@pytest.mark.parametrize(("build", "shape"), [
    (lambda: LayerNorm(6, dtype=np.float64), (5, 6)),
    (lambda: LayerNorm((3, 6), dtype=np.float64), (5, 3, 6)),
    (lambda: MultiHeadAttention(6, 2, causal=True, rng=0, dtype=np.float64), (3, 4, 6)),
    (lambda: PositionalEmbedding(5, 6, rng=0, dtype=np.float64), (3, 4, 6)),
], ids=["LayerNorm", "LayerNorm-2-axes", "MultiHeadAttention", "PositionalEmbedding"])
def test_the_layers_summing_by_products_still_backpropagate_exactly(build, shape) -> None:
    layer = build()
    random_parameters(layer, seed=3)
    layer_gradcheck(layer, np.random.default_rng(4).normal(1.0, 2.0, size=shape), training=True)
