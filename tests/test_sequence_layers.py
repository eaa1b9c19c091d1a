"""Every sequence layer's backward pass against central finite differences in float64, alone
(with random parameters and a non-uniform upstream gradient) and in small stacks."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from barenet import Sequential, gradcheck
from barenet.errors import BarenetError, ShapeError
from barenet.layers import (
    GELU,
    GRU,
    LSTM,
    RNN,
    Dense,
    Embedding,
    Layer,
    LayerNorm,
    MultiHeadAttention,
    PositionalEmbedding,
    Residual,
    Softmax,
)

F64 = np.float64
EPSILON = 1e-4
TOLERANCE = 1e-6


def loss_of(layer: Layer, x: np.ndarray, upstream: np.ndarray) -> float:
    return float((layer.forward(x) * upstream).sum())  # L = Σ Y ⊙ G: dL/dY = G, not uniform


def numeric_gradient(values: np.ndarray, loss) -> np.ndarray:
    grad = np.zeros_like(values)
    flat, out = values.reshape(-1), grad.reshape(-1)
    for entry in range(flat.size):
        original, losses = flat[entry], []
        for step in (2 * EPSILON, EPSILON, -EPSILON, -2 * EPSILON):
            flat[entry] = original + step
            losses.append(loss())
        flat[entry] = original
        plus_two, plus_one, minus_one, minus_two = losses  # five points: error O(ε⁴)
        out[entry] = (8 * (plus_one - minus_one) - (plus_two - minus_two)) / (12 * EPSILON)
    return grad


def relative_error(analytic: np.ndarray, numeric: np.ndarray) -> float:
    scale = np.maximum(np.maximum(np.abs(analytic), np.abs(numeric)), 1e-3)
    return float((np.abs(analytic - numeric) / scale).max(initial=0.0))


def check_layer(layer: Layer, x: np.ndarray, *, input_grad: bool = True, seed: int = 0) -> None:
    """Backpropagation equals finite differences for every parameter and (floats) the input."""
    rng = np.random.default_rng(seed)
    for parameter in layer.parameters():  # random parameters: no unit γ, no zero bias
        parameter.value = rng.standard_normal(parameter.shape) * 0.5
    output, cache = layer.forward_with_cache(x)
    upstream = rng.standard_normal(output.shape)
    grad_x = layer.backward(upstream, cache) if input_grad else None
    if not input_grad:
        layer.backward_parameters(upstream, cache)
    for parameter in layer.parameters():
        numeric = numeric_gradient(parameter.value, lambda: loss_of(layer, x, upstream))
        assert relative_error(parameter.grad, numeric) < TOLERANCE, parameter.name
    if input_grad:
        numeric = numeric_gradient(x, lambda: loss_of(layer, x, upstream))
        assert relative_error(grad_x, numeric) < TOLERANCE, "input"
        np.testing.assert_allclose(layer.backward_input(upstream, cache), grad_x, rtol=1e-12, atol=1e-14)


SHAPES = [(1, 1), (1, 4), (3, 1), (3, 4)]  # (n, t): batch 1 and several, one step and several


@pytest.mark.parametrize("n, t", SHAPES)
@pytest.mark.parametrize("build", [
    lambda: RNN(3, 4, dtype=F64),
    lambda: RNN(3, 4, nonlinearity="relu", dtype=F64),
    lambda: LSTM(3, 4, dtype=F64),
    lambda: GRU(3, 4, dtype=F64),
    lambda: LSTM(3, 4, return_sequences=False, dtype=F64),
    lambda: GRU(3, 4, return_sequences=False, dtype=F64),
], ids=["rnn-tanh", "rnn-relu", "lstm", "gru", "lstm-last", "gru-last"])
def test_recurrent_layers_backpropagate_through_time_exactly(build, n, t):
    layer = build()
    check_layer(layer, np.random.default_rng(t).standard_normal((n, t, 3)), seed=n)


@pytest.mark.parametrize("n, t", SHAPES)
@pytest.mark.parametrize("causal", [False, True])
def test_attention_backpropagates_exactly_with_and_without_the_causal_mask(n, t, causal):
    layer = MultiHeadAttention(6, 2, causal=causal, dtype=F64)
    check_layer(layer, np.random.default_rng(t).standard_normal((n, t, 6)), seed=t)


@pytest.mark.parametrize("layer", [
    GELU(), GELU("tanh"), Dense(5, 3, dtype=F64), LayerNorm(5, dtype=F64),
    PositionalEmbedding(6, 5, dtype=F64),
    Residual(LayerNorm(5, dtype=F64), Dense(5, 5, dtype=F64), GELU()),
], ids=["gelu", "gelu-tanh", "dense", "layernorm", "positions", "residual"])
@pytest.mark.parametrize("n, t", SHAPES)
def test_position_wise_layers_backpropagate_exactly_over_sequences(layer, n, t):
    check_layer(layer, np.random.default_rng(n + t).standard_normal((n, t, 5)))


@pytest.mark.parametrize("ids", [[[0]], [[2, 2, 2]], [[1, 4, 1], [4, 4, 0]]])
def test_embedding_gradients_add_up_rows_of_repeated_ids(ids):
    layer = Embedding(5, 3, dtype=F64)
    check_layer(layer, np.array(ids), input_grad=False)


def test_embedding_backward_equals_the_plain_loop_it_replaces():
    rng = np.random.default_rng(0)
    layer = Embedding(10, 4, dtype=F64)
    ids = rng.integers(0, 10, size=(6, 9))
    upstream = rng.standard_normal((6, 9, 4))
    layer.backward_parameters(upstream, layer.forward_with_cache(ids)[1])
    expected = np.zeros((10, 4))
    for position, token in enumerate(ids.ravel()):  # dE[e] += dY[position], one position at a time
        expected[token] += upstream.reshape(-1, 4)[position]
    np.testing.assert_allclose(layer.weight.grad, expected, rtol=1e-13)


def char_lstm(vocabulary: int = 7) -> Sequential:
    return Sequential(Embedding(vocabulary, 4, dtype=F64, rng=0), LSTM(4, 5, dtype=F64, rng=1),
                      Dense(5, vocabulary, dtype=F64, rng=2), Softmax(), input_shape=(3,))


def tiny_transformer(vocabulary: int = 7, width: int = 8) -> Sequential:
    return Sequential(
        Embedding(vocabulary, width, dtype=F64, rng=0), PositionalEmbedding(4, width, dtype=F64, rng=1),
        Residual(LayerNorm(width, dtype=F64), MultiHeadAttention(width, 2, causal=True, dtype=F64, rng=2)),
        Residual(LayerNorm(width, dtype=F64), Dense(width, 2 * width, dtype=F64, rng=3), GELU(),
                 Dense(2 * width, width, dtype=F64, rng=4)),
        LayerNorm(width, dtype=F64), Dense(width, vocabulary, dtype=F64, rng=5), Softmax(),
        input_shape=(4,),
    )


def randomise(model: Sequential, seed: int) -> Sequential:
    model.set_weights(np.random.default_rng(seed).standard_normal(model.get_weights().size) * 0.5)
    return model


@pytest.mark.parametrize("build", [char_lstm, tiny_transformer], ids=["embedding-lstm-dense", "transformer"])
@pytest.mark.parametrize("n, t", SHAPES)
def test_small_sequence_stacks_pass_the_gradient_check(build, n, t):
    model = randomise(build(), seed=n * 7 + t)
    rng = np.random.default_rng(t)
    ids, targets = rng.integers(0, 7, size=(n, t)), rng.integers(0, 7, size=(n, t))
    result = gradcheck(model, "cross_entropy", ids, targets, tolerance=1e-6)
    assert result.passed, result.table()
    assert len(result.parameters) == len(model.parameters())  # names inside blocks do not collide


def test_a_block_names_its_parameters_by_position():
    names = tiny_transformer().parameter_names()
    assert "2.0.LayerNorm.weight" in names and "2.1.MultiHeadAttention.in_proj_weight" in names
    assert len(set(names)) == len(names)


@settings(max_examples=12, deadline=None)
@given(n=st.integers(1, 3), t=st.integers(1, 5), features=st.integers(1, 4), hidden=st.integers(1, 4),
       kind=st.sampled_from([RNN, LSTM, GRU]), last=st.booleans())
def test_recurrent_shapes_hold_for_any_sizes(n, t, features, hidden, kind, last):
    layer = kind(features, hidden, return_sequences=not last, dtype=F64, rng=0)
    x = np.random.default_rng(0).standard_normal((n, t, features))
    output, cache = layer.forward_with_cache(x)
    assert output.shape == ((n, hidden) if last else (n, t, hidden))
    assert output.shape[1:] == layer.output_shape((t, features))
    assert layer.backward(np.ones_like(output), cache).shape == x.shape
    np.testing.assert_array_equal(layer.forward(x), output)


@settings(max_examples=12, deadline=None)
@given(n=st.integers(1, 3), t=st.integers(1, 6), heads=st.sampled_from([1, 2, 4]), causal=st.booleans())
def test_attention_weights_are_distributions_that_never_look_ahead(n, t, heads, causal):
    layer = MultiHeadAttention(4 * heads, heads, causal=causal, rng=0)
    weights = layer.attention_weights(np.random.default_rng(t).standard_normal((n, t, 4 * heads)))
    assert weights.shape == (n, heads, t, t)
    np.testing.assert_allclose(weights.sum(axis=-1), 1, rtol=1e-5)
    if causal:
        assert not np.triu(weights, 1).any()


def test_the_future_does_not_change_the_past_under_a_causal_mask():
    model = tiny_transformer()
    ids = np.array([[1, 2, 3, 4]])
    changed = np.array([[1, 2, 3, 0]])
    np.testing.assert_array_equal(model.forward(ids)[:, :3], model.forward(changed)[:, :3])


@pytest.mark.parametrize("build, message", [
    (lambda: MultiHeadAttention(6, 4), "num_heads \\(4\\) must divide embed_dim \\(6\\)"),
    (lambda: RNN(3, 4, nonlinearity="sigmoid"), "nonlinearity must be one of"),
    (lambda: GELU("erf"), "approximate must be one of"),
    (lambda: Residual(), "Residual needs at least one layer"),
    (lambda: Sequential(Residual(Dense(4, 3)), input_shape=(4,)), "must keep the shape"),
    (lambda: Sequential(Embedding(5, 3), LSTM(3, 2)), "input_shape=\\(\\.\\.\\.\\)"),
])
def test_bad_sequence_models_say_what_was_expected(build, message):
    with pytest.raises((BarenetError, ShapeError), match=message):
        build()


@pytest.mark.parametrize("ids, message", [
    (np.array([[0, 5]]), "outside \\[0, 5\\)"),
    (np.array([[-1, 2]]), "outside \\[0, 5\\)"),
    (np.array([[0.5, 2]]), "whole-number"),
    (np.array([["a", "b"]]), "integer token ids"),
])
def test_embedding_refuses_ids_it_has_no_row_for(ids, message):
    with pytest.raises(BarenetError, match=message):
        Embedding(5, 3).forward(ids)


def test_positions_past_the_table_are_refused_with_the_fix():
    layer = PositionalEmbedding(4, 3)
    with pytest.raises(ShapeError, match="1 ≤ t ≤ 4.*raise max_length"):
        layer.forward(np.zeros((1, 5, 3), np.float32))


def test_sequence_models_take_sequences_of_any_length_and_predict_per_position():
    model = char_lstm()
    for t in (1, 3, 9):
        assert model.predict(np.zeros((2, t), dtype=np.int64)).shape == (2, t)
        np.testing.assert_allclose(model.predict_proba(np.zeros((2, t), dtype=np.int64)).sum(axis=-1), 1)
    with pytest.raises(ShapeError, match="x must have shape \\(n_samples, t\\)"):
        model.predict(np.zeros(3, dtype=np.int64))


def test_float32_stays_float32_through_every_sequence_layer():
    model = Sequential(Embedding(7, 8, rng=0), PositionalEmbedding(4, 8, rng=0),
                       Residual(LayerNorm(8), MultiHeadAttention(8, 2, causal=True, rng=0)),
                       Residual(LayerNorm(8), Dense(8, 16, rng=0), GELU(), Dense(16, 8, rng=0)),
                       GRU(8, 8, rng=0), LSTM(8, 8, rng=0), RNN(8, 8, rng=0), Dense(8, 7, rng=0),
                       input_shape=(4,))
    ids = np.random.default_rng(0).integers(0, 7, size=(2, 4))
    output, tape = model.forward_with_cache(ids)
    assert output.dtype == np.float32
    model.backward(np.ones_like(output), tape)
    assert all(p.grad.dtype == np.float32 for p in model.parameters())
    assert model.flat.grads.any()
