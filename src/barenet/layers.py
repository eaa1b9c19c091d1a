"""Layers: each one a forward pass and its backward pass, side by side.

Every layer maps a batch ``x`` of shape ``(n_samples, in_features)`` to
``(n_samples, out_features)``. ``forward`` remembers what ``backward`` will need;
``backward(grad_output)`` receives ∂loss/∂output and returns ∂loss/∂input, writing the
gradients of the layer's own parameters into ``parameter.grad`` (overwriting them).
``backward`` may reuse ``grad_output``'s memory for its result, so do not keep it.

The activation functions are layers too; they live in :mod:`barenet.activations`
and are re-exported here.
"""

from __future__ import annotations

import numpy as np

from .activations import Identity, LeakyReLU, ReLU, Sigmoid, Softmax, Tanh
from .init import Initializer, get_initializer
from .layer import Layer
from .parameter import Parameter
from .validation import as_generator


class Dense(Layer):
    """Fully connected layer: ``y = x·W + b``, with W of shape ``(in_features, out_features)``.

    Args:
        in_features, out_features: the layer's input and output widths.
        init, bias_init: initialiser name (see :mod:`barenet.init`) or object.
        rng: generator or seed for the initial weights.
        dtype: float32 (default) or float64.
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        init: str | Initializer = "xavier_uniform",
        bias_init: str | Initializer = "zeros",
        rng: np.random.Generator | int | None = None,
        dtype: np.dtype | type = np.float32,
    ) -> None:
        for name, value in (("in_features", in_features), ("out_features", out_features)):
            if not isinstance(value, (int, np.integer)) or value < 1:
                raise ValueError(f"{name} must be a positive integer; got {value!r}")
        self.in_features, self.out_features = int(in_features), int(out_features)
        rng = as_generator(rng)
        shape = (self.in_features, self.out_features)
        fans = {"fan_in": self.in_features, "fan_out": self.out_features, "rng": rng, "dtype": dtype}
        self.weight = Parameter(get_initializer(init)(shape, **fans), "weight", decay=True)
        self.bias = Parameter(get_initializer(bias_init)((self.out_features,), **fans), "bias", decay=False)
        self.input: np.ndarray | None = None

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        self.input = x
        output = x @ self.weight.value  # Z = X·W + b
        output += self.bias.value
        return output

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        self.backward_parameters(grad_output)
        return grad_output @ self.weight.value.T  # dX = dZ·Wᵀ

    def backward_parameters(self, grad_output: np.ndarray) -> None:
        """Only the parameter gradients: the first layer of a network needs no dX."""
        np.matmul(self.input.T, grad_output, out=self.weight.grad)  # dW = Xᵀ·dZ
        grad_output.sum(axis=0, out=self.bias.grad)  # db = Σₙ dZ

    def parameters(self) -> list[Parameter]:
        return [self.weight, self.bias]

    def config(self) -> dict:
        return {"in_features": self.in_features, "out_features": self.out_features}

    def input_features(self) -> int:
        return self.in_features

    def output_features(self, in_features: int) -> int:
        return self.out_features


class Dropout(Layer):
    """Inverted dropout: while training, zero each unit with probability ``p`` and scale the
    survivors by 1/(1 − p), so nothing changes at prediction time."""

    def __init__(self, p: float = 0.5, rng: np.random.Generator | int | None = None) -> None:
        if not 0.0 <= p < 1.0:
            raise ValueError(f"Dropout p is the probability of dropping a unit, in [0, 1); got {p}")
        self.p = float(p)
        self.rng = as_generator(rng)
        self.mask: np.ndarray | None = None

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        if not training or self.p == 0.0:
            self.mask = None
            return x
        keep = 1.0 - self.p
        mask = self.rng.random(x.shape, dtype=x.dtype)  # U ~ uniform[0, 1)
        np.less(mask, keep, out=mask)  # 1 where U < keep, else 0, written over U
        mask *= 1.0 / keep  # M ∈ {0, 1/keep}
        self.mask = mask
        return x * mask  # Y = X ⊙ M

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        if self.mask is None:
            return grad_output
        grad_output *= self.mask  # dX = dY ⊙ M
        return grad_output

    def config(self) -> dict:
        return {"p": self.p}


class Rescale(Layer):
    """Fixed affine preprocessing ``y = x·scale + offset``, e.g. ``Rescale(1/255)`` for pixels."""

    def __init__(self, scale: float, offset: float = 0.0) -> None:
        self.scale, self.offset = float(scale), float(offset)

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        output = x * self.scale  # Y = s·X + o
        if self.offset:
            output += self.offset
        return output

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        grad_output *= self.scale  # dX = s·dY
        return grad_output

    def config(self) -> dict:
        return {"scale": self.scale, "offset": self.offset}


class Standardize(Layer):
    """Fixed preprocessing ``y = (x − mean) / std`` with per-feature statistics.

    Build it from the training split with :meth:`fit`, so the model carries its own
    preprocessing and takes raw inputs. Features with zero spread keep ``std = 1``.
    """

    def __init__(self, mean: np.ndarray, std: np.ndarray, dtype: np.dtype | type = np.float32):
        mean, std = np.asarray(mean, dtype=dtype), np.asarray(std, dtype=dtype)
        if mean.ndim != 1 or mean.shape != std.shape:
            raise ValueError(f"mean and std must be 1-D of equal length; got {mean.shape}, {std.shape}")
        if np.any(std <= 0) or not np.all(np.isfinite(std)) or not np.all(np.isfinite(mean)):
            raise ValueError("std must be positive and finite, mean finite")
        self.mean, self.std = mean, std

    @classmethod
    def fit(cls, x: np.ndarray, dtype: np.dtype | type = np.float32) -> Standardize:
        """Statistics of ``x`` of shape (n_samples, n_features), from the training split only."""
        x = np.asarray(x, dtype=np.float64)
        std = x.std(axis=0)
        std[std < 1e-8] = 1.0
        return cls(x.mean(axis=0), std, dtype=dtype)

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        return (x - self.mean) / self.std  # Y = (X − μ) / σ

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        grad_output /= self.std  # dX = dY / σ
        return grad_output

    def buffers(self) -> dict[str, np.ndarray]:
        return {"mean": self.mean, "std": self.std}

    def input_features(self) -> int:
        return self.mean.shape[0]


LAYER_TYPES: dict[str, type[Layer]] = {
    cls.__name__: cls
    for cls in (Dense, Dropout, Rescale, Standardize, Identity, LeakyReLU, ReLU, Sigmoid, Softmax, Tanh)
}

__all__ = [
    "Layer", "Dense", "Dropout", "Rescale", "Standardize",
    "Identity", "LeakyReLU", "ReLU", "Sigmoid", "Softmax", "Tanh", "LAYER_TYPES", "as_generator",
]
