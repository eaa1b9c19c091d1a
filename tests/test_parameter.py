"""Parameters: the model owns them in one flat buffer that every optimiser borrows, and
``parameter.value = w`` copies into that buffer, so training never silently stops."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import four_feature_blobs, loss_of

from barenet import BarenetError, ShapeError, mlp
from barenet.losses import CrossEntropy
from barenet.optim import SGD, Adam


def test_two_optimisers_on_one_model_both_train_the_same_weights():
    x, y = four_feature_blobs()
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


# ---- assigning a parameter's value after the model is built -----------------------------------


def test_assigning_a_weight_copies_into_the_models_buffer_and_training_goes_on():
    x, y = four_feature_blobs()
    model = mlp([4, 8, 3], rng=0)
    layer = model.layers[0]
    weight, buffer = layer.weight.value, model.flat.values
    new = np.random.default_rng(5).normal(size=(4, 8)).astype(np.float32)
    layer.weight.value = new
    assert layer.weight.value is weight  # still the view into the model's buffer
    np.testing.assert_array_equal(model.flat.values[: new.size].reshape(4, 8), new)
    assert model.flat.values is buffer
    new[0, 0] = 99.0  # the caller's array was copied, not kept
    assert layer.weight.value[0, 0] != 99.0
    before = model.get_weights()
    model.fit(x, y, epochs=2, lr=0.01, seed=0, verbose=0)
    assert not np.array_equal(layer.weight.value, before[: new.size].reshape(4, 8))
    np.testing.assert_array_equal(model.get_weights()[: new.size].reshape(4, 8), layer.weight.value)


def test_a_weight_of_the_wrong_shape_is_refused_and_the_model_is_untouched():
    model = mlp([4, 8, 3], rng=0)
    before = model.get_weights()
    with pytest.raises(ShapeError, match=r"parameter 'weight' has shape \(4, 8\); cannot assign an array of "
                                         r"shape \(8, 4\)"):
        model.layers[0].weight.value = np.zeros((8, 4), dtype=np.float32)
    with pytest.raises(ShapeError, match="cannot assign an array of shape"):
        model.layers[0].bias.grad = np.zeros(3, dtype=np.float32)
    np.testing.assert_array_equal(model.get_weights(), before)
