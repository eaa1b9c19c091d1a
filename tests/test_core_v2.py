"""Core v2: every array has one owner. Each test here failed on the core before it.

The model owns its parameters (optimisers borrow them), prediction records nothing, a
backward pass never rewrites its caller's arrays, the sigmoid is exact in both tails, and
per-sample shapes are walked through the layers.
"""

from __future__ import annotations

import math
import pickle
import threading

import numpy as np
import pytest

import barenet
from barenet import BarenetError, Dense, Dropout, Sequential, ShapeError, Trainer, mlp
from barenet.layers import (
    LAYER_TYPES,
    Identity,
    LeakyReLU,
    ReLU,
    Rescale,
    Sigmoid,
    Softmax,
    Standardize,
    Tanh,
)
from barenet.layers.activations import sigmoid
from barenet.losses import MSE, BinaryCrossEntropy, CrossEntropy
from barenet.optim import SGD, Adam, get_optimizer
from barenet.schedules import get_schedule
from barenet.training import load_checkpoint, save_checkpoint


def blobs(n: int = 240, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n)
    x = (rng.standard_normal((n, 4)) + 2.0 * y[:, None]).astype(np.float32)
    return x, y


def loss_of(model: Sequential, x: np.ndarray, y: np.ndarray) -> float:
    return model.evaluate(x, y)["loss"]


# ---- one owner for the parameters ------------------------------------------------------------


def test_two_optimisers_on_one_model_both_train_the_same_weights():
    x, y = blobs()
    model = mlp([4, 8, 3], rng=0)
    first, second = Adam(model.parameters(), lr=0.01), SGD(model.parameters(), lr=0.1)
    assert first.flat is model.flat and second.flat is model.flat
    loss = CrossEntropy()
    before = loss_of(model, x, y)
    for optimizer in (first, second, first, second) * 10:
        output, tape = model.forward_with_cache(x, logits=True, training=True)
        _, loss_cache = loss.forward(output, y)
        model.backward(loss.backward(loss_cache), tape)
        optimizer.step()
    assert loss_of(model, x, y) < 0.5 * before


def test_astype_after_a_trainer_exists_keeps_training_the_model():
    x, y = blobs()
    model = mlp([4, 8, 3], rng=0)
    trainer = Trainer(model, lr=0.01, batch_size=32, seed=0)
    trainer.fit(x, y, epochs=1, verbose=0)
    model.astype(np.float64)
    after_first = loss_of(model, x, y)
    trainer.fit(x, y, epochs=6, verbose=0)
    assert model.dtype == np.float64 and trainer.optimizer.flat is model.flat
    assert trainer.optimizer.first_moment.dtype == np.float64
    assert loss_of(model, x, y) < 0.8 * after_first


def test_fit_twice_continues_from_the_trained_weights():
    x, y = blobs()
    model = mlp([4, 8, 3], rng=0)
    first = model.fit(x, y, epochs=3, lr=0.01, seed=0, verbose=0)
    second = model.fit(x, y, epochs=3, lr=0.01, seed=0, verbose=0)
    assert second.history["loss"][0] < first.history["loss"][0]
    assert second.history["loss"][-1] < first.history["loss"][-1]


def test_trainer_fit_never_trains_zero_epochs_silently():
    x, y = blobs()
    trainer = Trainer(mlp([4, 8, 3], rng=0), seed=0)
    trainer.fit(x, y, epochs=2, verbose=0)
    with pytest.raises(BarenetError, match="completed 2 epochs.*total to reach"):
        trainer.fit(x, y, epochs=2, verbose=0)
    trainer.fit(x, y, epochs=3, verbose=0)
    assert trainer.epoch == 3


def test_an_optimiser_on_part_of_a_models_parameters_is_refused():
    model = mlp([4, 8, 3], rng=0)
    with pytest.raises(BarenetError, match="pass model.parameters"):
        Adam(model.parameters()[:2])


def test_get_and_set_weights_go_through_the_model():
    model = mlp([4, 8, 3], rng=0)
    weights = model.get_weights()
    assert weights.shape == (4 * 8 + 8 + 8 * 3 + 3,)
    weights[0] = 123.0  # a copy: the model is untouched
    assert model.layers[0].weight.value[0, 0] != 123.0
    model.set_weights(weights)
    assert model.layers[0].weight.value[0, 0] == 123.0
    with pytest.raises(ShapeError, match="1-D array of 67 values"):
        model.set_weights(np.zeros(3))
    with pytest.raises(BarenetError, match="finite"):
        model.set_weights(np.full(67, np.nan))


# ---- stateless prediction ---------------------------------------------------------------------


def test_predict_between_forward_and_backward_leaves_the_gradient_unchanged():
    x, y = blobs(64)
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
    x, y = blobs(512)
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

    alone = train(mlp([4, 32, 3], rng=1))
    busy = mlp([4, 32, 3], rng=1)
    threads = [threading.Thread(target=predict_many) for _ in range(8)]
    threads += [threading.Thread(target=lambda: [busy.predict(probe) for _ in range(40)])]
    for thread in threads:
        thread.start()
    with_threads = train(busy)
    for thread in threads:
        thread.join()
    assert not errors
    np.testing.assert_array_equal(alone, with_threads)


def test_a_models_pickle_does_not_grow_after_predict():
    model = mlp([784, 64, 10], dropout=0.2, rng=0)
    before = len(pickle.dumps(model))
    model.predict(np.random.default_rng(0).random((5000, 784), dtype=np.float32))
    model.predict_proba(np.random.default_rng(1).random((100, 784), dtype=np.float32))
    model.evaluate(np.zeros((100, 784), np.float32), np.zeros(100, int))
    assert len(pickle.dumps(model)) == before


def test_an_unpickled_model_still_trains_with_its_optimiser():
    x, y = blobs()
    model = mlp([4, 8, 3], rng=0)
    trainer = Trainer(model, lr=0.01, seed=0)
    trainer.fit(x, y, epochs=1, verbose=0)
    copy = pickle.loads(pickle.dumps(trainer))
    before = loss_of(copy.model, x, y)
    copy.fit(x, y, epochs=5, verbose=0)
    assert loss_of(copy.model, x, y) < before
    assert copy.optimizer.flat is copy.model.flat


# ---- no hidden mutation -----------------------------------------------------------------------

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


def test_the_models_backward_leaves_the_callers_gradient_unchanged():
    x, y = blobs(32)
    model = mlp([4, 8, 8, 3], activation="tanh", preprocessing=[Rescale(0.5)], rng=0)
    output, tape = model.forward_with_cache(x, logits=True, training=True)
    loss = CrossEntropy()
    _, loss_cache = loss.forward(output, y)
    grad = loss.backward(loss_cache)
    before = grad.copy()
    grad_x = model.backward(grad, tape, input_grad=True)
    np.testing.assert_array_equal(grad, before)
    np.testing.assert_array_equal(model.backward(grad, tape, input_grad=True), grad_x)


@pytest.mark.parametrize("loss", [CrossEntropy(), BinaryCrossEntropy(), MSE()], ids=repr)
def test_loss_backward_twice_returns_the_same_gradient(loss):
    rng = np.random.default_rng(0)
    output = rng.standard_normal((6, 3))
    target = rng.integers(0, 3, 6) if isinstance(loss, CrossEntropy) else rng.random((6, 3)).round()
    _, cache = loss.forward(output, target)
    first = loss.backward(cache)
    second = loss.backward(cache)
    np.testing.assert_array_equal(first, second)
    if isinstance(loss, CrossEntropy):
        np.testing.assert_allclose(first.sum(axis=1), 0.0, atol=1e-15)


# ---- a stable sigmoid -------------------------------------------------------------------------


@pytest.mark.parametrize(("dtype", "z"), [(np.float64, 50.0), (np.float32, 20.0)])
def test_sigmoid_is_exact_in_both_tails(dtype, z):
    values = np.array([-z, -z / 2, -1.0, 0.0, 1.0, z / 2, z], dtype=dtype)
    reference = [1 / (1 + math.exp(-float(v))) for v in values]
    result = sigmoid(values)
    assert result.dtype == dtype
    np.testing.assert_allclose(result, reference, rtol=4 * np.finfo(dtype).eps, atol=0)
    assert result[0] > 0  # σ(−50) ≈ 1.9e-22, not 0


# ---- shapes -----------------------------------------------------------------------------------


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


def test_old_model_files_still_load(tmp_path):
    """A version-1 file (no input_shape in its description) is read by this version."""
    model = mlp([4, 6, 3], rng=0)
    description, arrays = model.describe()
    description["version"] = 1
    del description["input_shape"]
    from barenet.saving import write_npz_atomic

    path = write_npz_atomic(tmp_path / "old.npz", arrays, description)
    x = blobs(10)[0]
    np.testing.assert_array_equal(barenet.load(path).predict_proba(x), model.predict_proba(x))


# ---- one default per setting; errors from one family ------------------------------------------


def test_rmsprop_has_one_default_learning_rate_everywhere():
    from barenet.optim import DEFAULT_LR
    from barenet.runs.config import build_config, resolve_for_data

    model = mlp([2, 2], rng=0)
    for name, lr in DEFAULT_LR.items():
        assert get_optimizer(name, model.parameters()).lr == lr  # the Python API
        config = build_config({"optimizer": name})  # the command line and its TOML files
        assert resolve_for_data(config, 2, 2, "classification", n_train=100).lr == lr


def test_lr_and_a_schedule_object_together_are_refused():
    model = mlp([2, 2], rng=0)
    with pytest.raises(BarenetError, match="give lr or a Schedule object, not both"):
        Trainer(model, lr=0.1, lr_schedule=get_schedule("cosine", 0.01, total=10))


@pytest.mark.parametrize(("argument", "name"), [({"loss": 5}, "loss"), ({"optimizer": 5}, "optimizer")])
def test_objects_of_the_wrong_type_get_a_type_error_naming_the_parameter(argument, name):
    with pytest.raises(TypeError, match=f"^{name} must be"):
        Trainer(mlp([2, 2], rng=0), **argument)


def test_the_same_check_raises_the_same_error_family():
    from barenet.datasets import DatasetError
    from barenet.errors import ConfigError, ImageReadError, ModelFileError

    family = (DatasetError, ConfigError, ImageReadError, ModelFileError, ShapeError, barenet.DivergenceError)
    for error in family:
        assert issubclass(error, BarenetError) and issubclass(error, ValueError)
    with pytest.raises(BarenetError, match="dtype must be float32 or float64"):
        mlp([2, 2], dtype=int)
    with pytest.raises(BarenetError, match=r"layer_sizes\[1\] must be a positive integer; got 2.7"):
        mlp([4, 2.7, 2])


def test_load_checkpoint_restores_buffers_and_checks_their_shape(tmp_path):
    x, y = blobs()
    model = mlp([4, 8, 3], preprocessing=[Standardize.fit(x)], rng=0)
    trainer = Trainer(model, seed=0)
    trainer.fit(x, y, epochs=1, verbose=0)
    save_checkpoint(trainer, tmp_path / "state.npz")
    other = mlp([4, 8, 3], preprocessing=[Standardize(np.zeros(4), np.ones(4))], rng=0)
    resumed = Trainer(other, seed=0)
    load_checkpoint(resumed, tmp_path / "state.npz")
    np.testing.assert_array_equal(other.layers[0].mean, model.layers[0].mean)
    np.testing.assert_array_equal(other.layers[0].std, model.layers[0].std)
    np.testing.assert_array_equal(other.get_weights(), model.get_weights())


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
