"""The training hot path: float32 end to end, and buffers reused instead of reallocated.

No timing here (the benchmark reports speed): these tests check dtypes, array identity and
memory sharing, and that an optimiser step allocates no parameter-sized array.
"""

import tracemalloc

import numpy as np
import pytest

from barenet import Rescale, mlp
from barenet.datasets.batching import BatchGatherer
from barenet.losses import CrossEntropy
from barenet.optim import get_optimizer
from barenet.training import Trainer

F32 = np.dtype(np.float32)


def pixel_data(n_samples=300, seed=0):
    """uint8 'images' of 784 pixels and ten classes, like MNIST."""
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (n_samples, 784), dtype=np.uint8), rng.integers(0, 10, n_samples)


def small_model(dropout=0.2):
    return mlp([784, 64, 32, 10], dropout=dropout, preprocessing=[Rescale(1 / 255)], rng=0)


class DtypeRecorder:
    """Wraps every layer's forward/backward and the loss, recording the dtype of every array that
    goes in or comes out, and of every array a layer or the loss keeps as an attribute."""

    def __init__(self):
        self.seen: list[tuple[str, np.dtype]] = []

    def record(self, where, value):
        if isinstance(value, np.ndarray):
            self.seen.append((where, value.dtype))
        elif isinstance(value, (tuple, list)):
            for item in value:
                self.record(where, item)

    def record_attributes(self, where, obj):
        for name, value in vars(obj).items():
            if isinstance(value, np.ndarray) and value.dtype.kind == "f":
                self.seen.append((f"{where}.{name}", value.dtype))

    def wrap(self, obj, method, where):
        original = getattr(obj, method)

        def recorded(*args, **kwargs):
            self.record(f"{where}.{method} input", args)
            result = original(*args, **kwargs)
            self.record(f"{where}.{method} output", result)
            self.record_attributes(where, obj)
            return result

        setattr(obj, method, recorded)

    def wrap_model(self, model, loss):
        for index, layer in enumerate(model.layers):
            for method in ("forward", "backward", "backward_parameters"):
                self.wrap(layer, method, f"{index}.{type(layer).__name__}")
        self.wrap(loss, "forward", "loss")
        self.wrap(loss, "backward", "loss")

    def floats_that_are_not_float32(self):
        return [(where, dtype) for where, dtype in self.seen if dtype.kind == "f" and dtype != F32]


def optimiser_arrays(optimizer):
    arrays = {"values": optimizer.flat.values, "grads": optimizer.flat.grads, "scratch": optimizer.scratch}
    arrays.update(optimizer.state())
    return arrays


def test_every_intermediate_of_a_float32_training_epoch_is_float32():
    x, y = pixel_data()
    model = small_model(dropout=0.2)
    trainer = Trainer(model, optimizer="adam", batch_size=64, seed=0)
    recorder = DtypeRecorder()
    recorder.wrap_model(model, trainer.loss)
    trainer.fit(x, y, epochs=1, verbose=0)
    float_arrays = [where for where, dtype in recorder.seen if dtype.kind == "f"]
    assert len(float_arrays) > 100  # the wrapping really saw the forward and backward passes
    assert any(where.startswith("0.Rescale.forward input") for where in float_arrays)  # uint8 → f32
    assert recorder.floats_that_are_not_float32() == []
    for name, array in optimiser_arrays(trainer.optimizer).items():
        assert array.dtype == F32, name
    for parameter in model.parameters():
        assert parameter.value.dtype == F32 and parameter.grad.dtype == F32


@pytest.mark.parametrize("name", ["sgd", "momentum", "nesterov", "rmsprop", "adam", "adamw"])
def test_one_step_keeps_every_array_float32_and_in_its_buffer(name):
    """A forward/backward/step by hand: dtypes, and the same buffers after the step as before."""
    x, y = pixel_data(128)
    model = small_model()
    loss = CrossEntropy()
    options = {"weight_decay": 1e-4} if name not in ("adamw",) else {}
    optimizer = get_optimizer(name, model.parameters(), **options)
    before = {key: (array, array.copy()) for key, array in optimiser_arrays(optimizer).items()}
    recorder = DtypeRecorder()
    recorder.wrap_model(model, loss)
    for _ in range(3):
        model.compute_gradients(x.astype(np.float32), y, loss)
        optimizer.step()
    assert recorder.floats_that_are_not_float32() == []
    for key, array in optimiser_arrays(optimizer).items():
        assert array is before[key][0], f"{key} was replaced by a new array"
        assert array.dtype == F32, key
    assert not np.array_equal(optimizer.flat.values, before["values"][1])  # the steps did move it


def test_parameters_stay_views_of_the_flat_buffer_through_training():
    x, y = pixel_data()
    model = small_model()
    trainer = Trainer(model, optimizer="adam", batch_size=64, seed=0)
    flat = trainer.optimizer.flat
    values, grads = flat.values, flat.grads
    moments = trainer.optimizer.first_moment, trainer.optimizer.second_moment
    trainer.fit(x, y, epochs=2, verbose=0)
    assert flat.values is values and flat.grads is grads
    assert trainer.optimizer.first_moment is moments[0] and trainer.optimizer.second_moment is moments[1]
    for parameter in model.parameters():
        assert np.shares_memory(parameter.value, values)
        assert np.shares_memory(parameter.grad, grads)


@pytest.mark.parametrize("name", ["sgd", "momentum", "nesterov", "rmsprop", "adam", "adamw"])
def test_an_optimiser_step_allocates_no_parameter_sized_array(name):
    model = mlp([784, 256, 128, 10], rng=0)
    options = {"weight_decay": 1e-4, "max_grad_norm": 1e-3} if name != "adamw" else {"max_grad_norm": 1e-3}
    optimizer = get_optimizer(name, model.parameters(), **options)
    optimizer.flat.grads[...] = np.random.default_rng(0).standard_normal(optimizer.flat.grads.shape)
    optimizer.step()  # the first step (SGD momentum's b₁ = g) is a case of its own
    tracemalloc.start()
    try:
        for _ in range(3):
            optimizer.step()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < optimizer.flat.values.nbytes // 10, f"{name}: {peak} bytes allocated during step()"


def test_the_gatherer_reuses_its_buffers_and_converts_to_float32():
    x, y = pixel_data(100)
    gather = BatchGatherer(x, y, batch_size=32, dtype=np.float32)
    order = np.random.default_rng(0).permutation(len(x))
    batches = [gather(order[start : start + 32]) for start in range(0, len(x), 32)]
    for x_batch, y_batch in batches:
        assert x_batch.dtype == F32 and y_batch.dtype == y.dtype
        assert np.shares_memory(x_batch, gather.x_converted) and np.shares_memory(y_batch, gather.y_rows)
    # the values are right (checked on the last batch, the only one still intact: a short one)
    rows = order[96:]
    np.testing.assert_array_equal(batches[-1][0], x[rows].astype(np.float32))
    np.testing.assert_array_equal(batches[-1][1], y[rows])
    assert len(batches[-1][0]) == 4


def test_the_gatherer_passes_float32_data_through_without_a_conversion_buffer():
    x = np.random.default_rng(0).random((50, 3), dtype=np.float32)
    gather = BatchGatherer(x, np.arange(50), batch_size=10, dtype=np.float32)
    assert gather.x_converted is None
    x_batch, _ = gather(np.arange(10, 20))
    assert np.shares_memory(x_batch, gather.x_rows)
    np.testing.assert_array_equal(x_batch, x[10:20])


def test_training_feeds_every_batch_through_one_reused_buffer():
    x, y = pixel_data()
    model = small_model()
    inputs = []
    rescale = model.layers[0]
    original = rescale.forward

    def keep_input(batch, *, training=False):
        inputs.append(batch)
        return original(batch, training=training)

    rescale.forward = keep_input
    Trainer(model, optimizer="adam", batch_size=64, seed=0).fit(x, y, epochs=1, verbose=0)
    training_inputs = inputs[:5]  # 300 samples, batch 64: five batches (later calls: checks)
    assert all(batch.dtype == F32 for batch in training_inputs)
    assert all(np.shares_memory(batch, training_inputs[0]) for batch in training_inputs)
