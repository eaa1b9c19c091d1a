"""Sequential models: the passes compose the layers, bad input is refused at the door with a
message that says what was expected, and the same seed trains bit for bit the same."""

import numpy as np
import pytest

from barenet import Dense, Dropout, LeakyReLU, ReLU, Sequential, Sigmoid, Softmax, Tanh, mlp
from barenet.losses import MSE, CrossEntropy, L2Penalty
from barenet.optim import SGD, Adam
from barenet.validation import check_same_length


def blobs(n_samples=96, n_features=4, n_classes=3, seed=0, dtype=np.float32):
    """Three well separated Gaussian blobs."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, n_classes, size=n_samples)
    centres = rng.normal(scale=3.0, size=(n_classes, n_features))
    return (centres[y] + rng.normal(size=(n_samples, n_features))).astype(dtype), y


# ---- the two passes -------------------------------------------------------------------------


def test_forward_applies_the_layers_in_order():
    first, second = Dense(3, 4, rng=0, dtype=np.float64), Dense(4, 2, rng=1, dtype=np.float64)
    model = Sequential(first, Tanh(), second, Softmax())
    x = np.random.default_rng(0).normal(size=(5, 3))
    hidden = np.tanh(x @ first.weight.value + first.bias.value)
    scores = hidden @ second.weight.value + second.bias.value
    np.testing.assert_allclose(model.forward(x, logits=True), scores, rtol=1e-12)
    np.testing.assert_allclose(
        model.forward(x), np.exp(scores) / np.exp(scores).sum(axis=1, keepdims=True), rtol=1e-12
    )


def test_cross_entropy_trains_on_the_logits_before_a_trailing_softmax():
    model = mlp([3, 4, 3], rng=0, dtype=np.float64)
    x, y = np.random.default_rng(0).normal(size=(5, 3)), np.array([0, 1, 2, 1, 0])
    value = model.compute_gradients(x, y, CrossEntropy()).loss
    probabilities = model.forward(x)
    assert value == pytest.approx(-np.mean(np.log(probabilities[np.arange(5), y])), rel=1e-12)


def test_backward_returns_the_input_gradient_only_when_asked():
    model = Sequential(Dense(3, 2, rng=0, dtype=np.float64), task="regression")
    x, target = np.random.default_rng(0).normal(size=(4, 3)), np.zeros((4, 2))
    assert model.compute_gradients(x, target, MSE()).input_grad is None
    grad_x = model.compute_gradients(x, target, MSE(), input_grad=True).input_grad
    output = model.forward(x)
    weight = model.layers[0].weight.value
    np.testing.assert_allclose(grad_x, (2 * output / output.size) @ weight.T, rtol=1e-12)


def test_compute_gradients_adds_the_l2_penalty_to_value_and_weight_gradients():
    model = mlp([3, 4, 2], task="regression", rng=0, dtype=np.float64)
    x, target = np.random.default_rng(0).normal(size=(5, 3)), np.zeros((5, 2))
    plain = model.compute_gradients(x, target, MSE()).loss
    plain_grads = [p.grad.copy() for p in model.parameters()]
    penalised = model.compute_gradients(x, target, MSE(), l2=L2Penalty(0.4)).loss
    weights = [p.value for p in model.parameters() if p.decay]
    assert penalised == pytest.approx(plain + 0.4 / (2 * 5) * sum(np.sum(w**2) for w in weights), rel=1e-12)
    for parameter, grad in zip(model.parameters(), plain_grads):
        extra = 0.4 / 5 * parameter.value if parameter.decay else 0.0
        np.testing.assert_allclose(parameter.grad, grad + extra, rtol=1e-12)


# ---- building ---------------------------------------------------------------------------------


def test_mlp_builds_dense_layers_with_activations_dropout_and_an_output_activation():
    model = mlp([5, 8, 6, 3], activation="leaky_relu", dropout=0.2, rng=0)
    kinds = [type(layer) for layer in model.layers]
    assert kinds == [Dense, LeakyReLU, Dropout, Dense, LeakyReLU, Dropout, Dense, Softmax]
    assert (model.in_features, model.out_features, model.task) == (5, 3, "classification")
    assert model.parameter_names()[:2] == ["0.Dense.weight", "0.Dense.bias"]
    assert f"total parameters: {5 * 8 + 8 + 8 * 6 + 6 + 6 * 3 + 3:,}" in model.summary()


def test_mlp_output_activation_follows_the_task():
    assert isinstance(mlp([2, 1], rng=0).layers[-1], Sigmoid)
    assert isinstance(mlp([2, 3], rng=0).layers[-1], Softmax)
    assert isinstance(mlp([2, 3], task="regression", rng=0).layers[-1], Dense)


def test_models_are_float32_by_default_and_float64_on_request():
    x, _ = blobs(8)
    default = mlp([4, 5, 3], rng=0)
    double = mlp([4, 5, 3], rng=0, dtype=np.float64)
    assert all(p.value.dtype == np.float32 for p in default.parameters())
    assert default.predict_proba(x).dtype == np.float32
    assert all(p.value.dtype == np.float64 for p in double.parameters())
    assert double.predict_proba(x).dtype == np.float64
    np.testing.assert_allclose(default.predict_proba(x), double.predict_proba(x), rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_training_pass_keeps_the_dtype(dtype):
    model = mlp([4, 5, 5, 3], dropout=0.1, rng=0, dtype=dtype)
    x, y = blobs(8, dtype=dtype)
    grad_x = model.compute_gradients(x, y, CrossEntropy(), l2=L2Penalty(0.1), input_grad=True).input_grad
    assert grad_x.dtype == dtype
    assert all(p.grad.dtype == dtype for p in model.parameters())


def test_predictions_are_argmax_of_probabilities():
    x, _ = blobs(20)
    model = mlp([4, 6, 3], rng=0)
    probabilities = model.predict_proba(x)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-6)
    np.testing.assert_array_equal(model.predict(x), probabilities.argmax(axis=1))


def test_a_binary_classifier_predicts_class_one_when_the_probability_exceeds_a_half():
    x, _ = blobs(20)
    model = mlp([4, 6, 1], rng=0)
    probabilities = model.predict_proba(x)
    assert probabilities.shape == (20, 2)
    np.testing.assert_array_equal(model.predict(x), (probabilities[:, 1] > 0.5).astype(int))


# ---- training ---------------------------------------------------------------------------------


def train(seed, optimizer="adam", epochs=2, batch_size=16):
    """A hand-written training loop: shuffled mini-batches, compute_gradients, step."""
    x, y = blobs()
    model = mlp([4, 8, 8, 3], dropout=0.2, rng=seed)
    if optimizer == "adam":
        step = Adam(model.parameters(), lr=0.01, weight_decay=1e-4, max_grad_norm=5.0)
    else:
        step = SGD(model.parameters(), lr=0.05, momentum=0.9, nesterov=True)
    loss, l2, order = CrossEntropy(), L2Penalty(0.01), np.random.default_rng(seed)
    losses = []
    for _ in range(epochs):
        permutation = order.permutation(len(x))
        for start in range(0, len(x), batch_size):
            batch = permutation[start : start + batch_size]
            losses.append(model.compute_gradients(x[batch], y[batch], loss, l2=l2).loss)
            step.step()
    return model, losses


@pytest.mark.parametrize("optimizer", ["adam", "sgd"])
def test_the_same_seed_trains_bit_identically(optimizer):
    first, first_losses = train(seed=3, optimizer=optimizer)
    second, second_losses = train(seed=3, optimizer=optimizer)
    assert first_losses == second_losses
    for a, b in zip(first.parameters(), second.parameters()):
        assert np.array_equal(a.value, b.value)


def test_a_different_seed_trains_differently():
    first, _ = train(seed=3)
    other, _ = train(seed=4)
    assert not np.array_equal(first.parameters()[0].value, other.parameters()[0].value)


def test_a_few_epochs_of_training_fit_separable_blobs():
    model, losses = train(seed=0, epochs=15)
    x, y = blobs()
    assert np.mean(losses[-6:]) < 0.5 * np.mean(losses[:6])
    assert (model.predict(x) == y).mean() > 0.9


# ---- bad input: clear errors at the door --------------------------------------------------


@pytest.fixture(scope="module")
def classifier():
    return mlp([4, 5, 3], rng=0)


@pytest.mark.parametrize(("x", "message"), [
    (np.zeros((3, 5)), r"x must have shape \(n_samples, 4\); got \(3, 5\).*expects 4 features"),
    (np.zeros(4), r"x must have 2 dimensions \(n_samples, n_features\); got shape \(4,\).*reshape"),
    (np.zeros((2, 2, 4)), r"x must have 2 dimensions .* got shape \(2, 2, 4\)"),
    (np.array([[0.0, np.nan, 1.0, 2.0]]), "x contains 1 NaN or infinite values"),
    (np.array([[0.0, np.inf, -np.inf, 2.0]]), "x contains 2 NaN or infinite values"),
    ([["a", "b", "c", "d"]], "x must be numeric array-like"),
])
@pytest.mark.parametrize("method", ["predict", "predict_proba", "predict_scores"])
def test_bad_inputs_to_prediction_say_what_was_expected(classifier, method, x, message):
    with pytest.raises(ValueError, match=message):
        getattr(classifier, method)(x)


def test_a_wrong_width_in_training_names_the_expected_width(classifier):
    with pytest.raises(ValueError, match=r"x must have shape \(n_samples, 4\); got \(6, 3\)"):
        classifier.compute_gradients(np.zeros((6, 3), np.float32), np.zeros(6, int), CrossEntropy())


def test_labels_outside_the_classes_name_the_valid_range(classifier):
    x, _ = blobs(6)
    with pytest.raises(ValueError, match=r"labels outside \[0, 3\).*max 3.*relabel the classes as 0..2"):
        classifier.compute_gradients(x, np.array([0, 1, 2, 3, 0, 1]), CrossEntropy())


def test_x_and_y_of_different_lengths_are_refused(classifier):
    x, y = blobs(6)
    with pytest.raises(ValueError, match="target has 5 samples but the output has 6"):
        classifier.compute_gradients(x, y[:5], CrossEntropy())
    with pytest.raises(ValueError, match="x and y must have the same number of samples; got 6 and 5"):
        check_same_length(x, y[:5])


def test_predict_proba_on_a_regressor_explains_why_not():
    with pytest.raises(ValueError, match="predict_proba needs a classifier ending in a Softmax or Sigmoid"):
        mlp([4, 2], task="regression", rng=0).predict_proba(np.zeros((1, 4)))


@pytest.mark.parametrize(("build", "message"), [
    (lambda: mlp([4, 3], activation="relu6"), "unknown activation 'relu6'; valid names are: gelu, identity, "
                                             "leaky_relu, linear, relu, sigmoid, softmax, tanh"),
    (lambda: mlp([4, 3], init="he_norm"), "unknown initialiser 'he_norm'; valid names are: .*he_normal"),
    (lambda: mlp([4]), "layer_sizes needs at least two positive sizes"),
    (lambda: mlp([4, 3], task="ranking"), r"task must be one of \('classification', 'regression'\)"),
    (lambda: Sequential(Dense(4, 3), ReLU(), Dense(2, 1)), "layer 2 .*expects 2 inputs but the layer "
                                                          "before it outputs 3"),
    (lambda: Sequential(), "Sequential needs at least one layer"),
    (lambda: Sequential(ReLU()), "needs at least one Dense layer"),
])
def test_bad_model_definitions_say_what_was_expected(build, message):
    with pytest.raises(ValueError, match=message):
        build()


def test_something_that_is_not_a_layer_is_refused_by_position():
    with pytest.raises(TypeError, match="layer 1 is a str, not a barenet Layer"):
        Sequential(Dense(2, 2), "relu")
