"""barenet: neural networks in bare NumPy, every forward and backward pass written by hand."""

from .gradcheck import GradcheckResult, gradcheck
from .layers import (
    Dense,
    Dropout,
    Identity,
    LeakyReLU,
    ReLU,
    Rescale,
    Sigmoid,
    Softmax,
    Standardize,
    Tanh,
)
from .model import Sequential, mlp
from .saving import ModelFileError, load

__version__ = "0.1.0"

__all__ = [
    "Dense", "Dropout", "GradcheckResult", "Identity", "LeakyReLU", "ModelFileError", "ReLU",
    "Rescale", "Sequential", "Sigmoid", "Softmax", "Standardize", "Tanh", "gradcheck", "load", "mlp",
]
