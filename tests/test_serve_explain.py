"""The explanation ``barenet serve`` shows is right: the gradient under its saliency picture
equals a finite-difference estimate of ∂score/∂pixel, for an MLP and a CNN; the picture is that
gradient, averaged over noisy copies, times the input; the hidden layers are the ones meant."""

from __future__ import annotations

import numpy as np
import pytest
from serve_helpers import digit_images, random_classifier, random_cnn

import barenet
from barenet.serve.explain import explain, grid_shape, hidden_layers, saliency
from barenet.serve.served import ServedModel


@pytest.mark.parametrize("network", ["mlp tanh", "mlp sigmoid", "cnn tanh"])
def test_saliency_equals_finite_differences_of_the_score(network):
    """∂score/∂pixel from the API's saliency, against central differences of the top class's
    logit (float64, random weights, a random non-blank input)."""
    kind, activation = network.split()
    if kind == "mlp":
        model = random_classifier(np.float64, activation)
    else:
        model = random_cnn(np.float64, barenet.Tanh, flat=False)  # takes (1, 28, 28) images
    row = digit_images(1, seed=1)[0][0].astype(np.float64) + np.random.default_rng(1).uniform(0, 30, 784)
    served = load_served_model(model)
    top = explain(served, row)["predicted"]["index"]
    exact = saliency(model, served.as_model_input(row[None]), top).reshape(-1)

    def score(pixels: np.ndarray) -> float:
        return float(model.forward(served.as_model_input(pixels[None]), logits=True)[0, top])

    step = 1e-3
    for pixel in np.random.default_rng(2).choice(784, 6, replace=False):
        plus, minus = row.copy(), row.copy()
        plus[pixel] += step
        minus[pixel] -= step
        estimate = (score(plus) - score(minus)) / (2 * step)
        assert exact[pixel] == pytest.approx(estimate, rel=1e-6, abs=1e-12 * np.abs(exact).max())


def test_the_saliency_picture_is_the_smoothed_gradient_times_the_ink():
    """Zero where there is no ink; on the ink, the pixel times the mean gradient over 16 noisy
    copies (seeded: the same input always gives the same picture)."""
    model = random_classifier(np.float64, "tanh")
    row = digit_images(1, seed=1)[0][0].astype(np.float64)
    served = load_served_model(model)
    answer = explain(served, row)
    picture = np.asarray(answer["saliency"]["values"]).reshape(-1)
    top = answer["predicted"]["index"]
    assert np.all(picture[row == 0] == 0) and np.count_nonzero(picture[row > 0]) > 0.9 * np.sum(row > 0)
    noise = np.random.default_rng(0).normal(0, 0.15 * (row.max() - row.min()), (16, 784))
    mean_gradient = saliency(model, row[None] + noise, top).mean(axis=0)
    assert np.allclose(picture, row * mean_gradient, atol=1e-3 * np.abs(row * mean_gradient).max())
    assert explain(served, row)["saliency"] == answer["saliency"]


def test_saliency_of_a_single_sigmoid_output_scores_each_class():
    model = barenet.mlp([784, 8, 1], activation="tanh", rng=3, dtype=np.float64)
    x = digit_images(1)[0].astype(np.float64) / 255
    logit_gradient = model.input_gradient(x, np.ones((1, 1)), logits=True)
    assert np.allclose(saliency(model, x, 1), logit_gradient[0])
    assert np.allclose(saliency(model, x, 0), -logit_gradient[0])


def load_served_model(model: barenet.Sequential) -> ServedModel:
    return ServedModel(model, "test", [str(digit) for digit in range(10)])


def test_hidden_layers_and_grids():
    assert hidden_layers(random_classifier()) == [2, 4]
    linear = barenet.Sequential(barenet.Dense(784, 20), barenet.Dense(20, 10), barenet.Softmax())
    assert hidden_layers(linear) == [0]
    assert [grid_shape(size) for size in (256, 128, 100, 64, 10, 97)] == [
        (16, 16), (8, 16), (10, 10), (8, 8), (3, 4), (10, 10)
    ]
