"""Layers and activations: each forward pass is its formula, each backward pass its derivative,
and every one keeps the dtype it is given."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from barenet import (
    Dense,
    Dropout,
    Identity,
    LeakyReLU,
    ReLU,
    Rescale,
    Sequential,
    Sigmoid,
    Softmax,
    Standardize,
    Tanh,
)
from barenet.layers import LAYER_TYPES, Layer
from barenet.layers.activations import ACTIVATIONS, log_softmax, sigmoid, softmax
from barenet.losses import MSE
from barenet.parameter import Parameter

FLOATS = [np.float32, np.float64]

# (activation, f(x), f'(x)) written from the textbook definitions, not from the library.
ELEMENTWISE = [
    (ReLU(), lambda x: np.where(x > 0, x, 0.0), lambda x: (x > 0).astype(float)),
    (LeakyReLU(0.1), lambda x: np.where(x > 0, x, 0.1 * x), lambda x: np.where(x > 0, 1.0, 0.1)),
    (Sigmoid(), lambda x: 1 / (1 + np.exp(-x)), lambda x: np.exp(-x) / (1 + np.exp(-x)) ** 2),
    (Tanh(), np.tanh, lambda x: 1 / np.cosh(x) ** 2),
    (Identity(), lambda x: x, np.ones_like),
]
ELEMENTWISE_IDS = [type(layer).__name__ for layer, _, _ in ELEMENTWISE]

moderate = st.floats(-20, 20, allow_nan=False, allow_infinity=False, allow_subnormal=False)
batches = arrays(np.float64, st.tuples(st.integers(1, 6), st.integers(1, 6)), elements=moderate)


def random(shape, seed=0, dtype=np.float64):
    return np.random.default_rng(seed).normal(size=shape).astype(dtype)


# ---- forward passes are their formulas ------------------------------------------------------


def test_dense_forward_is_x_times_w_plus_b():
    layer = Dense(3, 2, rng=0, dtype=np.float64)
    layer.bias.value[:] = [0.5, -1.0]
    x = random((4, 3))
    expected = np.array([[sum(x[n, i] * layer.weight.value[i, j] for i in range(3)) + layer.bias.value[j]
                          for j in range(2)] for n in range(4)])
    np.testing.assert_allclose(layer.forward(x), expected, rtol=1e-12)


def test_dense_backward_gives_dx_dw_db():
    layer = Dense(3, 2, rng=0, dtype=np.float64)
    x, grad_output = random((4, 3), seed=1), random((4, 2), seed=2)
    _, cache = layer.forward_with_cache(x, training=True)
    grad_x = layer.backward(grad_output.copy(), cache)
    np.testing.assert_allclose(grad_x, grad_output @ layer.weight.value.T, rtol=1e-12)
    np.testing.assert_allclose(layer.weight.grad, x.T @ grad_output, rtol=1e-12)
    np.testing.assert_allclose(layer.bias.grad, grad_output.sum(axis=0), rtol=1e-12)


def test_dense_backward_overwrites_gradients_instead_of_accumulating():
    layer = Dense(3, 2, rng=0, dtype=np.float64)
    x, grad_output = random((4, 3)), random((4, 2), seed=1)
    for _ in range(2):
        _, cache = layer.forward_with_cache(x, training=True)
        layer.backward(grad_output.copy(), cache)
    np.testing.assert_allclose(layer.weight.grad, x.T @ grad_output, rtol=1e-12)


@pytest.mark.parametrize(("layer", "function", "derivative"), ELEMENTWISE, ids=ELEMENTWISE_IDS)
@settings(max_examples=25, deadline=None)
@given(x=batches)
def test_elementwise_activation_matches_its_formula_and_derivative(layer, function, derivative, x):
    grad_output = np.linspace(-1, 1, x.size).reshape(x.shape)
    np.testing.assert_allclose(layer.forward(x), function(x), rtol=1e-12, atol=1e-15)
    _, cache = layer.forward_with_cache(x, training=True)
    np.testing.assert_allclose(
        layer.backward(grad_output.copy(), cache), grad_output * derivative(x), rtol=1e-9, atol=1e-15
    )


@settings(max_examples=25, deadline=None)
@given(x=batches)
def test_softmax_rows_are_probabilities_proportional_to_exp(x):
    probabilities = Softmax().forward(x)
    assert np.all(probabilities >= 0)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-12)
    direct = np.exp(x) / np.exp(x).sum(axis=1, keepdims=True)  # safe: |x| <= 20
    np.testing.assert_allclose(probabilities, direct, rtol=1e-12, atol=1e-300)


@settings(max_examples=25, deadline=None)
@given(x=batches)
def test_softmax_backward_is_the_jacobian_product(x):
    layer = Softmax()
    s, cache = layer.forward_with_cache(x, training=True)
    grad_output = np.cos(np.arange(x.size, dtype=float)).reshape(x.shape)
    grad_x = layer.backward(grad_output.copy(), cache)
    for row in range(len(x)):
        jacobian = np.diag(s[row]) - np.outer(s[row], s[row])  # ∂sᵢ/∂xⱼ = sᵢ(δᵢⱼ − sⱼ)
        np.testing.assert_allclose(grad_x[row], jacobian.T @ grad_output[row], rtol=1e-9, atol=1e-15)


def test_log_softmax_equals_log_of_softmax():
    x = random((5, 4)) * 3
    np.testing.assert_allclose(log_softmax(x), np.log(softmax(x)), rtol=1e-12)


def test_rescale_is_affine_and_its_gradient_is_the_scale():
    layer = Rescale(1 / 255, offset=-0.5)
    x = np.array([[0.0, 255.0, 51.0]])
    np.testing.assert_allclose(layer.forward(x), [[-0.5, 0.5, -0.3]], rtol=1e-12)
    _, cache = layer.forward_with_cache(x, training=True)
    np.testing.assert_allclose(layer.backward(np.ones((1, 3)), cache), np.full((1, 3), 1 / 255), rtol=1e-12)


def test_standardize_fit_gives_zero_mean_unit_variance_on_training_data():
    x = random((200, 3)) * [1.0, 5.0, 0.1] + [10.0, -3.0, 0.0]
    layer = Standardize.fit(x, dtype=np.float64)
    z = layer.forward(x)
    np.testing.assert_allclose(z.mean(axis=0), 0.0, atol=1e-12)
    np.testing.assert_allclose(z.std(axis=0), 1.0, rtol=1e-12)
    _, cache = layer.forward_with_cache(x[:1], training=True)
    np.testing.assert_allclose(layer.backward(np.ones((1, 3)), cache), 1 / x.std(axis=0)[None], rtol=1e-12)


def test_standardize_leaves_constant_features_unscaled():
    x = np.array([[1.0, 7.0], [3.0, 7.0]])
    layer = Standardize.fit(x, dtype=np.float64)
    np.testing.assert_array_equal(layer.std, [1.0, 1.0])
    np.testing.assert_array_equal(layer.forward(x)[:, 1], [0.0, 0.0])


def test_dropout_is_the_identity_when_not_training():
    x = random((4, 5))
    assert Dropout(0.5, rng=0).forward(x, training=False) is x


def test_dropout_zeros_a_fraction_p_and_scales_survivors_by_one_over_keep():
    p = 0.3
    x = np.ones((200, 500))
    y = Dropout(p, rng=0).forward(x, training=True)
    assert set(np.unique(y)) == {0.0, 1 / (1 - p)}
    assert abs((y == 0).mean() - p) < 0.01  # 100 000 draws: standard error 0.0015
    assert abs(y.mean() - 1.0) < 0.02  # inverted dropout keeps the expectation


def test_dropout_backward_uses_the_forward_mask():
    layer = Dropout(0.5, rng=0)
    y, mask = layer.forward_with_cache(np.ones((6, 7)), training=True)
    np.testing.assert_array_equal(layer.backward(np.ones((6, 7)), mask), y)


def test_dropout_masks_repeat_for_the_same_seed():
    x = np.ones((3, 8))
    first = Dropout(0.5, rng=42).forward(x, training=True)
    second = Dropout(0.5, rng=42).forward(x, training=True)
    third = Dropout(0.5, rng=43).forward(x, training=True)
    np.testing.assert_array_equal(first, second)
    assert not np.array_equal(first, third)


# ---- extreme inputs -------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", FLOATS)
def test_sigmoid_and_softmax_are_exact_for_logits_of_plus_minus_1e4(dtype):
    z = np.array([[1e4, -1e4], [-1e4, 1e4], [0.0, 0.0]], dtype=dtype)
    with np.errstate(over="raise", invalid="raise", divide="raise"):  # underflow to 0 is exact
        np.testing.assert_array_equal(sigmoid(z), [[1, 0], [0, 1], [0.5, 0.5]])
        np.testing.assert_array_equal(softmax(z), [[1, 0], [0, 1], [0.5, 0.5]])
        np.testing.assert_array_equal(log_softmax(z), [[0, -2e4], [-2e4, 0], [-np.log(dtype(2))] * 2])
        for layer in (Sigmoid(), Softmax()):
            _, cache = layer.forward_with_cache(z, training=True)
            assert np.all(np.isfinite(layer.backward(np.ones_like(z), cache)))


# ---- dtypes: float32 stays float32, float64 stays float64 ----------------------------------

LAYER_FACTORIES = {
    "Dense": lambda dtype: Dense(4, 4, rng=0, dtype=dtype),
    "Dropout": lambda dtype: Dropout(0.5, rng=0),
    "Rescale": lambda dtype: Rescale(0.5, offset=1.0),
    "Standardize": lambda dtype: Standardize(np.arange(4.0), np.arange(1.0, 5.0), dtype=dtype),
    **{name: (lambda dtype, cls=cls: cls()) for name, cls in ACTIVATIONS.items() if name != "linear"},
}


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("name", sorted(LAYER_FACTORIES))
def test_layer_keeps_the_dtype_through_forward_and_backward(name, dtype):
    layer = LAYER_FACTORIES[name](dtype)
    x = random((3, 4), dtype=dtype)
    output, cache = layer.forward_with_cache(x, training=True)
    grad_x = layer.backward(np.ones_like(output), cache)
    assert output.dtype == dtype
    assert grad_x.dtype == dtype
    for parameter in layer.parameters():
        assert parameter.value.dtype == dtype and parameter.grad.dtype == dtype


def test_layers_are_float32_by_default():
    layer = Dense(3, 2, rng=0)
    assert layer.weight.value.dtype == np.float32 and layer.bias.value.dtype == np.float32
    assert Standardize([0.0], [1.0]).mean.dtype == np.float32


# ---- bad arguments ------------------------------------------------------------------------


@pytest.mark.parametrize(("build", "message"), [
    (lambda: Dense(0, 3), "in_features must be a positive integer"),
    (lambda: Dense(3, 2.5), "out_features must be a positive integer"),
    (lambda: Dropout(1.0), r"Dropout p .* in \[0, 1\)"),
    (lambda: LeakyReLU(-0.1), r"alpha must be in \[0, 1\)"),
    (lambda: Standardize([0.0, 1.0], [1.0]), "mean and std must be 1-D of equal length"),
    (lambda: Standardize([0.0], [0.0]), "std must be positive"),
    (lambda: Dense(3, 2, init="hee"), "unknown initialiser 'hee'; valid names are: .*he_normal"),
])
def test_bad_layer_arguments_name_what_was_expected(build, message):
    with pytest.raises(ValueError, match=message):
        build()


# ---- no hidden mutation; a stable sigmoid -------------------------------------------------


LAYERS = {
    "Dense": lambda: Dense(4, 4, rng=0, dtype=np.float64),
    "Dropout": lambda: Dropout(0.5, rng=0),
    "Rescale": lambda: Rescale(0.5, offset=1.0),
    "Standardize": lambda: Standardize(np.arange(4.0), np.arange(1.0, 5.0), dtype=np.float64),
    "ReLU": ReLU, "LeakyReLU": LeakyReLU, "Sigmoid": Sigmoid, "Tanh": Tanh, "Softmax": Softmax,
    "Identity": Identity,
}


def test_every_layer_type_is_covered_here():
    assert set(LAYERS) >= {name for name in LAYER_TYPES if LAYER_TYPES[name].__module__.split(".")[2] in (
        "activations", "dense", "dropout", "preprocessing")}


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_a_layers_backward_leaves_the_callers_arrays_unchanged(name):
    layer = LAYERS[name]()
    rng = np.random.default_rng(0)
    x = rng.standard_normal((5, 4))
    x_before = x.copy()
    output, cache = layer.forward_with_cache(x, training=True)
    grad_output = rng.standard_normal(output.shape)
    grad_before = grad_output.copy()
    grad_input = layer.backward(grad_output, cache)
    np.testing.assert_array_equal(grad_output, grad_before)
    np.testing.assert_array_equal(x, x_before)
    assert grad_input is not grad_output
    np.testing.assert_array_equal(layer.backward(grad_output, cache), grad_input)  # same again


@pytest.mark.parametrize(("dtype", "z"), [(np.float64, 50.0), (np.float32, 20.0)])
def test_sigmoid_is_exact_in_both_tails(dtype, z):
    values = np.array([-z, -z / 2, -1.0, 0.0, 1.0, z / 2, z], dtype=dtype)
    reference = [1 / (1 + math.exp(-float(v))) for v in values]
    result = sigmoid(values)
    assert result.dtype == dtype
    np.testing.assert_allclose(result, reference, rtol=4 * np.finfo(dtype).eps, atol=0)
    assert result[0] > 0  # σ(−50) ≈ 1.9e-22, not 0


# ---- a contract that cannot be tripped --------------------------------------------------------


class Doubler(Layer):
    """A learner's first layer: a forward pass, and the backward pass forgotten."""

    def forward(self, x, *, training=False):
        return 2 * x


class Scale(Layer):
    """A layer with a parameter that implements only part of its backward pass."""

    def __init__(self) -> None:
        self.scale = Parameter(np.ones(3), "scale")

    def parameters(self):
        return [self.scale]

    def forward(self, x, *, training=False):
        return x * self.scale.value


def test_a_parameterless_layer_without_backward_names_backward_instead_of_recursing():
    layer, x = Doubler(), np.ones((2, 3))
    output, cache = layer.forward_with_cache(x)
    for method in (layer.backward, layer.backward_input):
        with pytest.raises(NotImplementedError, match=r"Doubler must implement backward\(grad_output, c"):
            method(np.ones_like(output), cache)
    model = Sequential(Dense(3, 3, rng=0), Doubler(), input_shape=(3,))
    with pytest.raises(NotImplementedError, match="Doubler must implement backward"):
        model.compute_gradients(x, np.zeros((2, 3)), MSE())


def test_a_layer_with_parameters_names_the_half_of_backward_it_lacks():
    layer = Scale()
    output, cache = layer.forward_with_cache(np.ones((2, 3)))
    with pytest.raises(NotImplementedError, match=r"Scale must implement backward_parameters\(grad_out"):
        layer.backward(np.ones_like(output), cache)
    layer.backward_parameters = lambda grad_output, cache: None  # written: now the other half is named
    with pytest.raises(NotImplementedError, match=r"Scale must implement backward_input\(grad_output"):
        layer.backward(np.ones_like(output), cache)


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_a_layers_training_flag_is_keyword_only(name):
    layer, x = LAYERS[name](), np.ones((2, 4))
    with pytest.raises(TypeError, match="positional argument"):
        layer.forward(x, True)
    with pytest.raises(TypeError, match="positional argument"):
        layer.forward_with_cache(x, True)
