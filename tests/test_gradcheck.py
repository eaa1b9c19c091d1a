"""Backpropagation agrees with finite differences (worst relative error < 1e-6, float64) for every
layer, activation and loss alone, and for deeper models mixing them, with L2 and with dropout."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

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
    gradcheck,
    mlp,
)
from barenet.init import Uniform
from barenet.losses import MSE, BinaryCrossEntropy, CrossEntropy

TOLERANCE = 1e-6


def batch(n_samples, n_features, seed=0):
    return np.random.default_rng(seed).normal(size=(n_samples, n_features))


def labels(n_samples, n_classes, seed=0):
    return np.random.default_rng(seed).integers(0, n_classes, size=n_samples)


def assert_gradients_correct(model, loss, x, y, **options):
    result = gradcheck(model, loss, x, y, **options)
    assert result.worst < TOLERANCE, "\n" + result.table()
    return result


# ---- each layer and activation alone ----------------------------------------------------

SINGLE_LAYERS = {
    "ReLU": ReLU,
    "LeakyReLU": lambda: LeakyReLU(0.2),
    "Sigmoid": Sigmoid,
    "Tanh": Tanh,
    "Identity": Identity,
    "Softmax": Softmax,  # under MSE, so its own Jacobian backward runs
    "Rescale": lambda: Rescale(0.5, offset=0.25),
    "Dropout": lambda: Dropout(0.4, rng=1),
}


@pytest.mark.parametrize("name", sorted(SINGLE_LAYERS))
def test_layer_after_dense_under_mse(name):
    model = Sequential(Dense(4, 3, rng=0), SINGLE_LAYERS[name](), task="regression")
    result = assert_gradients_correct(model, MSE(), batch(5, 4), batch(5, 3, seed=1), training=True)
    assert set(result.parameters) == {"0.Dense.weight", "0.Dense.bias"}


@pytest.mark.parametrize("name", ["Rescale", "Standardize"])
def test_preprocessing_layer_before_dense_passes_the_input_gradient(name):
    first = Rescale(2.0, offset=-1.0) if name == "Rescale" else Standardize([1.0, -2.0, 0.5], [2.0, 0.5, 3.0])
    model = Sequential(first, Dense(3, 2, rng=0), task="regression")
    assert_gradients_correct(model, MSE(), batch(4, 3), batch(4, 2, seed=1))


def test_dense_alone_under_each_loss_including_the_input_gradient():
    x = batch(6, 4)
    for loss, y in [
        (MSE(), batch(6, 3, seed=1)),
        (MSE(half=True), batch(6, 3, seed=1)),
        (CrossEntropy(), labels(6, 3)),  # the Dense outputs are the logits
        (BinaryCrossEntropy(), np.random.default_rng(2).integers(0, 2, size=(6, 3))),
    ]:
        result = assert_gradients_correct(Sequential(Dense(4, 3, rng=0)), loss, x, y)
        assert result.input > 0 or np.allclose(x, 0)  # the input was really checked


# ---- each loss alone --------------------------------------------------------------------


def test_cross_entropy_fused_with_a_trailing_softmax():
    model = Sequential(Dense(4, 3, rng=0), Softmax())
    assert_gradients_correct(model, CrossEntropy(), batch(6, 4), labels(6, 3))


def test_cross_entropy_with_one_hot_targets():
    model = Sequential(Dense(4, 3, rng=0), Softmax())
    assert_gradients_correct(model, CrossEntropy(), batch(6, 4), np.eye(3)[labels(6, 3)])


def test_binary_cross_entropy_fused_with_a_trailing_sigmoid():
    model = Sequential(Dense(4, 1, rng=0), Sigmoid(), task="classification")
    y = np.random.default_rng(1).integers(0, 2, size=6)
    assert_gradients_correct(model, BinaryCrossEntropy(), batch(6, 4), y)


def test_binary_cross_entropy_with_soft_targets():
    model = Sequential(Dense(4, 2, rng=0), Sigmoid(), task="classification")
    y = np.random.default_rng(1).uniform(size=(6, 2))
    assert_gradients_correct(model, BinaryCrossEntropy(), batch(6, 4), y)


@pytest.mark.parametrize("half", [False, True])
def test_mse_through_a_sigmoid_output(half):
    model = Sequential(Dense(4, 2, rng=0), Sigmoid(), task="regression")
    assert_gradients_correct(model, MSE(half=half), batch(6, 4), batch(6, 2, seed=1))


# ---- deeper models ----------------------------------------------------------------------


def mixed_classifier(dropout=0.0):
    layers = [
        Standardize([0.5, -1.0, 0.0, 2.0], [1.5, 0.5, 1.0, 2.0]),
        Dense(4, 6, rng=1), Tanh(),
        Dense(6, 5, rng=2), LeakyReLU(0.1),
        Dense(5, 5, rng=3), Sigmoid(),
        Dense(5, 3, rng=4), Softmax(),
    ]
    if dropout:
        layers.insert(3, Dropout(dropout, rng=5))
        layers.insert(6, Dropout(dropout, rng=6))
    return Sequential(layers)


def test_four_layer_classifier_mixing_activations():
    result = assert_gradients_correct(mixed_classifier(), "cross_entropy", batch(7, 4), labels(7, 3))
    assert len(result.parameters) == 8


def test_four_layer_classifier_with_l2():
    assert_gradients_correct(mixed_classifier(), "cross_entropy", batch(7, 4), labels(7, 3), l2=0.3)


def test_four_layer_classifier_with_dropout_under_a_fixed_mask():
    assert_gradients_correct(
        mixed_classifier(dropout=0.3), "cross_entropy", batch(7, 4), labels(7, 3), l2=0.1, training=True
    )


def test_three_layer_relu_regressor_with_l2_and_dropout():
    # Positive biases: a unit whose inputs are all dropped must not sit exactly on ReLU's kink at 0,
    # where the function has no derivative for finite differences to agree with.
    model = mlp([3, 5, 4, 2], activation="relu", task="regression", dropout=0.25,
                bias_init=Uniform(0.1, 0.2), rng=0)
    assert_gradients_correct(model, MSE(), batch(8, 3), batch(8, 2, seed=1), l2=0.5, training=True)


def test_three_layer_binary_classifier():
    model = mlp([3, 4, 4, 1], activation="tanh", rng=0)
    y = np.random.default_rng(1).integers(0, 2, size=8)
    assert_gradients_correct(model, "bce", batch(8, 3), y, l2=0.05)


@settings(max_examples=15, deadline=None)
@given(
    sizes=st.lists(st.integers(1, 5), min_size=3, max_size=5),
    n_samples=st.integers(1, 6),
    activation=st.sampled_from(["tanh", "sigmoid", "identity"]),
    l2=st.sampled_from([0.0, 0.1]),
    seed=st.integers(0, 2**16),
)
def test_random_smooth_classifiers_of_random_shapes(sizes, n_samples, activation, l2, seed):
    sizes[-1] = max(sizes[-1], 2)
    model = mlp(sizes, activation=activation, rng=seed)
    x = batch(n_samples, sizes[0], seed=seed)
    y = labels(n_samples, sizes[-1], seed=seed + 1)
    assert_gradients_correct(model, "cross_entropy", x, y, l2=l2)


# ---- the checker itself -----------------------------------------------------------------


class WrongTanh(Tanh):
    """tanh with a derivative that is off by a factor of 1.001."""

    def backward(self, grad_output, output):
        return super().backward(grad_output, output) * 1.001


def test_gradcheck_catches_a_slightly_wrong_backward_pass():
    model = Sequential(Dense(3, 3, rng=0), WrongTanh(), Dense(3, 2, rng=1), task="regression")
    result = gradcheck(model, MSE(), batch(4, 3), batch(4, 2, seed=1))
    assert not result.passed
    assert result.parameters["0.Dense.weight"] > 1e-4
    assert result.parameters["2.Dense.weight"] < TOLERANCE  # after the bug: unaffected
    assert "FAIL" in result.table()


def test_gradcheck_works_on_a_float64_copy_and_leaves_the_model_untouched():
    model = mlp([3, 4, 2], rng=0)
    before = [p.value.copy() for p in model.parameters()]
    assert_gradients_correct(model, "cross_entropy", batch(5, 3), labels(5, 2), max_entries=5)
    for parameter, value in zip(model.parameters(), before):
        assert parameter.value.dtype == np.float32
        np.testing.assert_array_equal(parameter.value, value)
