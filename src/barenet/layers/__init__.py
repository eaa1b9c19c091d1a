"""Layers: each one a forward pass and its backward pass, side by side.

``forward(x)`` maps a batch to a batch and records nothing; ``forward_with_cache(x)`` returns
the output and a cache, and ``backward(grad_output, cache)`` returns ∂loss/∂input while
writing ∂loss/∂parameter into each ``parameter.grad``. See :mod:`barenet.layers.base`.
"""

from .activations import (
    ACTIVATIONS,
    Identity,
    LeakyReLU,
    ReLU,
    Sigmoid,
    Softmax,
    Tanh,
    get_activation,
    sigmoid,
    softmax,
)
from .attention import AttentionCache, MultiHeadAttention
from .base import Layer, Shape, walk_layers
from .convolution import Conv2D
from .dense import Dense
from .dropout import Dropout
from .embedding import Embedding, PositionalEmbedding
from .gated import GRU, LSTM
from .gelu import GELU
from .normalization import BatchNorm1D, BatchNorm2D, LayerNorm
from .pooling import AvgPool2D, GlobalAvgPool2D, MaxPool2D
from .preprocessing import Rescale, Standardize
from .recurrent import RNN
from .reshaping import Flatten, Reshape
from .residual import Residual

LAYER_TYPES: dict[str, type[Layer]] = {
    cls.__name__: cls
    for cls in (Dense, Dropout, Rescale, Standardize, Identity, LeakyReLU, ReLU, Sigmoid, Softmax, Tanh)
    + (Conv2D, MaxPool2D, AvgPool2D, GlobalAvgPool2D, BatchNorm1D, BatchNorm2D, LayerNorm, Flatten, Reshape)
    + (Embedding, PositionalEmbedding, RNN, LSTM, GRU, MultiHeadAttention, GELU, Residual)
}
"""Every layer a model file may name, by class name."""

__all__ = [
    "ACTIVATIONS", "LAYER_TYPES", "Dense", "Dropout", "Identity", "Layer", "LeakyReLU", "ReLU",
    "Rescale", "Shape", "Sigmoid", "Softmax", "Standardize", "Tanh", "get_activation", "sigmoid", "softmax",
    "AvgPool2D", "BatchNorm1D", "BatchNorm2D", "Conv2D", "Flatten", "GlobalAvgPool2D", "LayerNorm",
    "MaxPool2D", "Reshape",
    "GELU", "GRU", "LSTM", "RNN", "AttentionCache", "Embedding", "MultiHeadAttention", "PositionalEmbedding",
    "Residual", "walk_layers",
]
