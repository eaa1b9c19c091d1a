"""The interface every layer implements: a forward pass and the backward pass beside it."""

from __future__ import annotations

import numpy as np

from .parameter import Parameter


class Layer:
    """Base class. Subclasses implement ``forward`` and ``backward``."""

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        raise NotImplementedError

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def parameters(self) -> list[Parameter]:
        """The layer's learnable parameters (none for most layers)."""
        return []

    def buffers(self) -> dict[str, np.ndarray]:
        """Fixed arrays that are part of the layer but not learned (saved with the model)."""
        return {}

    def config(self) -> dict:
        """The constructor arguments that rebuild this layer (JSON-serialisable)."""
        return {}

    def input_features(self) -> int | None:
        """The input width this layer requires, or None if it takes any width."""
        return None

    def output_features(self, in_features: int) -> int:
        """Width of the output for an input of width ``in_features``."""
        return in_features

    def backward_parameters(self, grad_output: np.ndarray) -> None:
        """Fill the parameter gradients only; a layer may skip computing dX here."""
        self.backward(grad_output)

    def astype(self, dtype: np.dtype | type) -> None:
        """Convert parameters and buffers to ``dtype`` in place (e.g. float64 for gradcheck)."""
        for parameter in self.parameters():
            parameter.value = parameter.value.astype(dtype)
            parameter.grad = parameter.grad.astype(dtype)
        for name, array in self.buffers().items():
            setattr(self, name, array.astype(dtype))

    def __repr__(self) -> str:
        arguments = ", ".join(f"{key}={value!r}" for key, value in self.config().items())
        return f"{type(self).__name__}({arguments})"
