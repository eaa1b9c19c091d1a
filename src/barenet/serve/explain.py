"""Inside the network: what each hidden layer does with one image, and which pixels decide.

Both come from barenet's own passes and record nothing, so any number of requests may run
them at once on one model:

- activations: the layers' ``forward`` run one after another, keeping the output of every
  hidden layer, meaning every nonlinearity (ReLU, tanh, ...) before the output layer. A 1-D
  output (a dense layer's units) is laid out as a near-square grid; a 3-D output
  ``(channels, height, width)`` (a convolution's feature maps) is shown as its first few
  channels. A network without nonlinearities shows its hidden parameter layers instead.
- saliency: ∂score/∂pixel, the gradient of the top class's score (its logit, before the
  softmax) with respect to the 28x28 input, from :meth:`Sequential.input_gradient`.
  Positive pixels pushed the top class up, negative ones pushed it down.
"""

from __future__ import annotations

import math

import numpy as np

from ..layers import ACTIVATIONS, Identity, Layer, Sigmoid, Softmax
from ..model import Sequential
from .served import IMAGE_SIDE, ServedModel

MAX_CHANNELS = 8  # feature maps shown per convolutional layer
SIGNIFICANT_DIGITS = 4  # of the numbers sent to the page, relative to the largest
NONLINEARITIES = tuple(kind for kind in set(ACTIVATIONS.values()) if kind not in (Identity, Softmax))


def hidden_layers(model: Sequential) -> list[int]:
    """Indices of the layers whose outputs the page shows (see the module docstring)."""
    with_parameters = [index for index, layer in enumerate(model.layers) if layer.parameters()]
    output_layer = with_parameters[-1] if with_parameters else len(model.layers)
    shown = [index for index in range(output_layer) if isinstance(model.layers[index], NONLINEARITIES)]
    return shown or with_parameters[:-1]


def probabilities_from_logits(model: Sequential, logits: np.ndarray) -> np.ndarray:
    """Class probabilities ``(n, n_classes)``; a single sigmoid output is two classes."""
    activation: Layer | None = model.output_activation
    probabilities = activation.forward(logits) if activation is not None else logits
    if probabilities.shape[1] == 1 and isinstance(activation, Sigmoid):
        return np.hstack([1 - probabilities, probabilities])
    return probabilities


def predict(served: ServedModel, row: np.ndarray) -> dict:
    """The prediction for one 784-pixel row, and the 28x28 image the network saw."""
    logits = served.model.forward(served.as_model_input(row[None]), logits=True)
    return prediction_json(served, row, probabilities_from_logits(served.model, logits)[0])


def prediction_json(served: ServedModel, row: np.ndarray, probabilities: np.ndarray) -> dict:
    top = int(np.argmax(probabilities))
    predicted = {"index": top, "label": served.class_names[top], "probability": float(probabilities[top])}
    return {
        "predicted": predicted,
        "class_names": served.class_names,
        "probabilities": [round(float(p), 6) for p in probabilities],
        "image": np.round(row.reshape(IMAGE_SIDE, IMAGE_SIDE), 2).tolist(),
    }


def explain(served: ServedModel, row: np.ndarray) -> dict:
    """The prediction, every hidden layer's activations and the saliency map of one row."""
    model = served.model
    shown = set(hidden_layers(model))
    x = served.as_model_input(row[None])
    body = model.layers[:-1] if model.output_activation is not None else model.layers
    layers, output = [], x
    for index, layer in enumerate(body):
        output = layer.forward(output)
        if index in shown:
            layers.append(activation_json(index, layer, output[0]))
    probabilities = probabilities_from_logits(model, output)[0]
    result = prediction_json(served, row, probabilities)
    top = int(np.argmax(probabilities))
    gradient = saliency(model, x, top)
    result["layers"] = layers
    result["saliency"] = {
        "class": top,
        "label": served.class_names[top],
        "values": rounded(gradient.reshape(IMAGE_SIDE, IMAGE_SIDE)).tolist(),
        "max_abs": float(np.abs(gradient).max()),
    }
    return result


def saliency(model: Sequential, x: np.ndarray, class_index: int) -> np.ndarray:
    """∂(score of ``class_index``)/∂x for one sample ``x`` ``(1, *input_shape)``, in pixel units.

    The score is the class's logit; a single sigmoid output's logit scores class 1, and its
    negative class 0."""
    width = model.out_features
    one_hot = np.zeros((1, width), dtype=model.dtype)
    if width == 1:
        one_hot[0, 0] = 1.0 if class_index == 1 else -1.0
    else:
        one_hot[0, class_index] = 1.0
    return model.input_gradient(x, one_hot.reshape(1, *model.output_shape), logits=True)[0]


def activation_json(index: int, layer: Layer, output: np.ndarray) -> dict:
    """One layer's output for one sample as the page draws it: a grid of units or feature maps."""
    entry = {"index": index, "type": type(layer).__name__, "shape": list(output.shape)}
    if output.ndim == 3:
        channels = output[:MAX_CHANNELS]
        entry |= {"kind": "maps", "maps": rounded(channels).tolist(), "channels": int(output.shape[0])}
    else:
        values = output.reshape(-1)
        rows, columns = grid_shape(values.size)
        entry |= {"kind": "units", "grid": [rows, columns], "values": rounded(values).tolist()}
    entry["min"], entry["max"] = float(output.min()), float(output.max())
    return entry


def grid_shape(size: int) -> tuple[int, int]:
    """A near-square ``(rows, columns)`` holding ``size`` cells: an exact fit if one exists
    no more than twice as wide as high (256 -> 16x16, 128 -> 8x16), else a padded square."""
    side = math.ceil(math.sqrt(size))
    for columns in range(side, 2 * side + 1):
        if size % columns == 0 and size // columns * 2 >= columns:
            return size // columns, columns
    return math.ceil(size / side), side


def rounded(values: np.ndarray) -> np.ndarray:
    """``values`` as float64 rounded to SIGNIFICANT_DIGITS of the largest magnitude (short JSON)."""
    values = values.astype(np.float64)
    largest = float(np.abs(values).max()) if values.size else 0.0
    if largest == 0 or not math.isfinite(largest):
        return values
    return np.round(values, SIGNIFICANT_DIGITS - 1 - math.floor(math.log10(largest)))
