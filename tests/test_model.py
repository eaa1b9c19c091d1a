"""Sequential models: the passes compose the layers, bad input is refused at the door with a
message that says what was expected, and the same seed trains bit for bit the same."""

import pickle

import numpy as np
import pytest
from helpers import four_feature_blobs, train_beside_predicting_threads

import barenet
from barenet import (
    BarenetError,
    Dense,
    Dropout,
    LeakyReLU,
    ReLU,
    Rescale,
    Sequential,
    ShapeError,
    Sigmoid,
    Softmax,
    Tanh,
    Trainer,
    mlp,
)
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
    (lambda: mlp([4, 3], task="ranking"), "task must be one of 'classification', 'regression'; got 'rank"),
    (lambda: Sequential(Dense(4, 3), ReLU(), Dense(2, 1)), "layer 2 .*expects 2 inputs but the layer "
                                                          "before it outputs 3"),
    (lambda: Sequential(), "Sequential needs at least one layer"),
    (lambda: Sequential(ReLU()), "needs at least one Dense layer"),
])
def test_bad_model_definitions_say_what_was_expected(build, message):
    with pytest.raises(ValueError, match=message):
        build()


@pytest.mark.parametrize(("settings", "name"), [
    ({"activation": 5}, "activation"), ({"output_activation": 1.0}, "output_activation"),
    ({"init": 3}, "init"), ({"bias_init": True}, "bias_init"),
])
def test_a_wrong_type_for_a_name_is_a_type_error_naming_the_parameter(settings, name):
    with pytest.raises(TypeError, match=rf"^{name} must be a name \(.*\) or an instance of"):
        mlp([4, 3], **settings)


def test_something_that_is_not_a_layer_is_refused_by_position():
    with pytest.raises(TypeError, match="layer 1 is a str, not a barenet Layer"):
        Sequential(Dense(2, 2), "relu")


# ---- stateless prediction, no hidden mutation, shapes walked ---------------------------------


def test_predict_between_forward_and_backward_leaves_the_gradient_unchanged():
    x, y = four_feature_blobs(64)
    model = mlp([4, 16, 3], dropout=0.3, rng=0)
    loss = CrossEntropy()

    def gradients(predict_in_between: bool) -> np.ndarray:
        model.layers[2].rng = np.random.default_rng(5)  # the same dropout mask both times
        output, tape = model.forward_with_cache(x, logits=True, training=True)
        if predict_in_between:
            model.predict(np.random.default_rng(1).standard_normal((500, 4)))
        _, loss_cache = loss.forward(output, y)
        model.backward(loss.backward(loss_cache), tape)
        return model.flat.grads.copy()

    np.testing.assert_array_equal(gradients(False), gradients(True))


def test_eight_threads_predicting_while_another_trains_see_only_finished_weights_and_corrupt_nothing():
    x, y = four_feature_blobs(512)
    probe = np.random.default_rng(2).standard_normal((256, 4)).astype(np.float32)
    frozen = mlp([4, 32, 3], rng=0)
    sequential = frozen.predict_proba(probe)
    errors: list[str] = []

    def predict_many() -> None:
        for _ in range(20):
            if not np.array_equal(frozen.predict_proba(probe), sequential):
                errors.append("a concurrent prediction differed from the sequential one")

    # Training one model while eight threads predict with another copy of the same weights and
    # with the model being trained: the gradients must equal those of a run without threads.
    def train(model: Sequential) -> np.ndarray:
        trainer = Trainer(model, lr=0.01, batch_size=64, seed=0)
        trainer.fit(x, y, epochs=3, verbose=0)
        return model.get_weights()

    train_beside_predicting_threads(lambda: mlp([4, 32, 3], rng=1), train, probe, predict_many, threads=8)
    assert not errors


def test_a_models_pickle_does_not_grow_after_predict():
    model = mlp([784, 64, 10], dropout=0.2, rng=0)
    before = len(pickle.dumps(model))
    model.predict(np.random.default_rng(0).random((5000, 784), dtype=np.float32))
    model.predict_proba(np.random.default_rng(1).random((100, 784), dtype=np.float32))
    model.evaluate(np.zeros((100, 784), np.float32), np.zeros(100, int))
    assert len(pickle.dumps(model)) == before


def test_the_models_backward_leaves_the_callers_gradient_unchanged():
    x, y = four_feature_blobs(32)
    model = mlp([4, 8, 8, 3], activation="tanh", preprocessing=[Rescale(0.5)], rng=0)
    output, tape = model.forward_with_cache(x, logits=True, training=True)
    loss = CrossEntropy()
    _, loss_cache = loss.forward(output, y)
    grad = loss.backward(loss_cache)
    before = grad.copy()
    grad_x = model.backward(grad, tape, input_grad=True)
    np.testing.assert_array_equal(grad, before)
    np.testing.assert_array_equal(model.backward(grad, tape, input_grad=True), grad_x)


def test_sequential_walks_and_prints_the_shape_after_every_layer():
    layers = [Rescale(1 / 255), Dense(6, 5, rng=0), ReLU(), Dropout(0.1), Dense(5, 2, rng=1), Softmax()]
    model = Sequential(layers)
    assert model.input_shape == (6,) and model.output_shape == (2,)
    assert model.shapes == [(6,), (5,), (5,), (5,), (2,), (2,)]
    assert (model.in_features, model.out_features) == (6, 2)
    summary = model.summary()
    assert "(n, 6)" in summary and "(n, 5)" in summary and "(n, 2)" in summary


def test_a_layer_that_does_not_fit_is_named():
    with pytest.raises(ShapeError, match=r"layer 2 \(Dense\) expects 4 inputs but the layer before it"):
        Sequential(Dense(3, 5), ReLU(), Dense(4, 2))
    assert Dense(3, 5).output_shape((3,)) == (5,)
    with pytest.raises(ShapeError, match="Dense expects samples of shape"):
        Dense(3, 5).output_shape((4,))


def test_a_model_ending_in_sigmoid_asks_for_its_task():
    with pytest.raises(BarenetError, match="task='classification' or task='regression'"):
        Sequential(Dense(2, 1), Sigmoid())
    assert Sequential(Dense(2, 1), Sigmoid(), task="classification").task == "classification"
    assert mlp([2, 1]).task == "classification"


def test_a_model_that_starts_with_any_size_layers_keeps_its_stated_input_shape(tmp_path):
    from barenet.layers import Conv2D, Flatten

    layers = [Rescale(1 / 255), Conv2D(1, 2, 3, rng=0), ReLU(), Flatten(), Dense(32, 3, rng=1), Softmax()]
    model = Sequential(layers, input_shape=(1, 6, 6))
    assert model.shapes[0] == (1, 6, 6) and model.shapes[3] == (32,)
    x = np.random.default_rng(0).random((4, 1, 6, 6), dtype=np.float32) * 255
    loaded = barenet.load(model.save(tmp_path / "cnn.npz"))
    assert loaded.input_shape == (1, 6, 6)
    np.testing.assert_array_equal(loaded.predict_proba(x), model.predict_proba(x))
    with pytest.raises(ShapeError, match="give input_shape"):  # the Dense's (32,) is not the model's input
        Sequential(Rescale(1 / 255), Conv2D(1, 2, 3, rng=0), Flatten(), Dense(32, 3, rng=1), Softmax())


def test_the_models_flags_are_keyword_only():
    x, y = four_feature_blobs(8)
    model = mlp([4, 5, 3], rng=0)
    output, tape = model.forward_with_cache(x, training=True, logits=True)
    calls = [
        lambda: model.forward(x, True),
        lambda: model.forward(x, False, True),
        lambda: model.forward_with_cache(x, True),
        lambda: model.backward(np.ones_like(output), tape, True),
        lambda: model.compute_gradients(x, y, CrossEntropy(), None),
    ]
    for call in calls:
        with pytest.raises(TypeError, match="positional argument"):
            call()
