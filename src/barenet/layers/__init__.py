"""Layers: each one a forward pass and its backward pass, side by side.

``forward(x)`` maps a batch to a batch and records nothing; ``forward_train(x)`` returns
the output and a cache, and ``backward(grad_output, cache)`` returns ∂loss/∂input while
writing ∂loss/∂parameter into each ``parameter.grad``. See :mod:`barenet.layers.base`.
"""

from .activations import ACTIVATIONS, Identity, LeakyReLU, ReLU, Sigmoid, Softmax, Tanh, sigmoid, softmax
from .base import Layer, Shape
from .dense import Dense
from .dropout import Dropout
from .preprocessing import Rescale, Standardize

LAYER_TYPES: dict[str, type[Layer]] = {
    cls.__name__: cls
    for cls in (Dense, Dropout, Rescale, Standardize, Identity, LeakyReLU, ReLU, Sigmoid, Softmax, Tanh)
}
"""Every layer a model file may name, by class name."""

__all__ = [
    "ACTIVATIONS", "LAYER_TYPES", "Dense", "Dropout", "Identity", "Layer", "LeakyReLU", "ReLU",
    "Rescale", "Shape", "Sigmoid", "Softmax", "Standardize", "Tanh", "sigmoid", "softmax",
]
