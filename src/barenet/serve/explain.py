"""Inside the network: what each hidden layer does with one image, and which pixels decide.

Both come from barenet's own passes and record nothing, so any number of requests may run
them at once on one model:

- activations: the layers' ``forward`` run one after another, keeping the output of every
  hidden layer, meaning every nonlinearity (ReLU, tanh, ...) before the output layer. A 1-D
  output (a dense layer's units) is laid out as a near-square grid; a 3-D output
  ``(channels, height, width)`` (a convolution's feature maps) is shown as its first few
  channels. A network without nonlinearities shows its hidden parameter layers instead.
- saliency: gradient × input. The gradient ∂score/∂pixel of the top class's score (its
  logit, before the softmax) with respect to the 28x28 input comes from
  :meth:`Sequential.input_gradient`; alone it is speckle over the whole square (it says how
  the score *would* change, also where there is no ink) and a checkerboard for a network
  with pooling. So the page shows it averaged over SMOOTHING_SAMPLES noisy copies of the
  input (SmoothGrad: Smilkov et al., 2017) and multiplied by the pixel's own ink: each
  stroke pixel's share in the score, zero where there is no ink. Red pushed the top class
  up, blue pushed it down.
"""

from __future__ import annotations

import math

import numpy as np

from ..layers import ACTIVATIONS, Identity, Layer, Sigmoid, Softmax
from ..model import Sequential
from ..runs.images import Digit, drawing_advice, unusual_ink
from .served import IMAGE_SIDE, ServedModel

MAX_CHANNELS = 8  # feature maps shown per convolutional layer
SMOOTHING_SAMPLES = 16  # noisy copies of the input whose gradients are averaged for the saliency
SMOOTHING_NOISE = 0.15  # their noise's standard deviation, as a share of the input's range
SALIENCY_METHOD = "gradient × input, the gradient averaged over 16 noisy copies (SmoothGrad)"
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


def predict(served: ServedModel, row: np.ndarray, digit: Digit | None = None) -> dict:
    """The prediction for one 784-pixel row, and the 28x28 image the network saw; ``digit``,
    when the row was read from an image, says where the digit was in it (for the advice)."""
    logits = served.model.forward(served.as_model_input(row[None]), logits=True)
    return prediction_json(served, row, probabilities_from_logits(served.model, logits)[0], digit)


def prediction_json(
    served: ServedModel, row: np.ndarray, probabilities: np.ndarray, digit: Digit | None
) -> dict:
    top = int(np.argmax(probabilities))
    predicted = {"index": top, "label": served.class_names[top], "probability": float(probabilities[top])}
    reasons = unusual_ink(row[None], served.ink_statistics) if served.ink_statistics else []
    return {
        "predicted": predicted,
        "class_names": served.class_names,
        "probabilities": [round(float(p), 6) for p in probabilities],
        "image": np.round(row.reshape(IMAGE_SIDE, IMAGE_SIDE), 2).tolist(),
        "unusual": reasons,
        "warning": warning(reasons, digit),
    }


def warning(reasons: list[str], digit: Digit | None) -> str:
    """The sentence the page shows when the input's ink is unlike the training images' (the
    check ``barenet predict`` makes), with what to change in a drawing when its size or place
    is the likely cause; empty when the input looks like the training images."""
    if not reasons:
        return ""
    text = (
        f"This looks unlike the images the model was trained on: {'; '.join(reasons)}. "
        "The answer may mean nothing."
    )
    advice = drawing_advice(digit) if digit is not None else ""
    return f"{text} {advice[0].upper()}{advice[1:]}." if advice else text


def explain(served: ServedModel, row: np.ndarray, digit: Digit | None = None) -> dict:
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
    result = prediction_json(served, row, probabilities, digit)
    top = int(np.argmax(probabilities))
    picture = gradient_times_input(model, x, top)
    result["layers"] = layers
    result["saliency"] = {
        "class": top,
        "label": served.class_names[top],
        "method": SALIENCY_METHOD,
        "values": rounded(picture.reshape(IMAGE_SIDE, IMAGE_SIDE)).tolist(),
        "max_abs": float(np.abs(picture).max()),
    }
    return result


def gradient_times_input(model: Sequential, x: np.ndarray, class_index: int) -> np.ndarray:
    """The saliency picture of one sample ``x`` ``(1, *input_shape)`` (module docstring):
    ``x ⊙ mean over noisy copies x + ε of ∂score/∂x``, ε ~ N(0, (SMOOTHING_NOISE·range)²),
    seeded, so the same input always gives the same picture."""
    spread = SMOOTHING_NOISE * max(float(x.max() - x.min()), 1e-12)
    noise = np.random.default_rng(0).normal(0.0, spread, (SMOOTHING_SAMPLES, *x.shape[1:]))
    gradients = saliency(model, (x + noise).astype(x.dtype), class_index)
    return x[0] * gradients.mean(axis=0)


def saliency(model: Sequential, x: np.ndarray, class_index: int) -> np.ndarray:
    """∂(score of ``class_index``)/∂x for each sample of ``x`` ``(n, *input_shape)``, in pixel
    units. The score is the class's logit; a single sigmoid output's logit scores class 1, and
    its negative class 0."""
    width = model.out_features
    one_hot = np.zeros((len(x), width), dtype=model.dtype)
    one_hot[:, 0 if width == 1 else class_index] = -1.0 if width == 1 and class_index == 0 else 1.0
    return model.input_gradient(x, one_hot.reshape(len(x), *model.output_shape), logits=True)


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
