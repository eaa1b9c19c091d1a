"""Preprocessing as layers, so a saved model carries it and takes raw inputs."""

from __future__ import annotations

import numpy as np

from ..errors import BarenetError
from ..validation import check_float_dtype, check_number
from .base import Layer, Shape


class Rescale(Layer):
    """Fixed affine preprocessing ``y = x·scale + offset``, e.g. ``Rescale(1/255)`` for pixels.

    Shape: any; the output has the input's shape.
    """

    def __init__(self, scale: float, offset: float = 0.0) -> None:
        self.scale = check_number("scale", scale)
        self.offset = check_number("offset", offset)

    def forward(self, x: np.ndarray, *, training: bool = False) -> np.ndarray:
        output = x * self.scale  # Y = s·X + o
        if self.offset:
            output += self.offset  # in place on the product we just allocated
        return output

    def forward_with_cache(self, x: np.ndarray, *, training: bool = False) -> tuple[np.ndarray, None]:
        return self.forward(x), None

    def backward(self, grad_output: np.ndarray, cache: None) -> np.ndarray:
        return grad_output * self.scale  # dX = s·dY

    def config(self) -> dict:
        return {"scale": self.scale, "offset": self.offset}

    def __repr__(self) -> str:
        """``Rescale(scale=1/255)``: the summary's line (the offset only when it is not 0)."""
        shown = f"scale={readable(self.scale)}"
        return f"Rescale({shown}, offset={readable(self.offset)})" if self.offset else f"Rescale({shown})"


def readable(value: float) -> str:
    """``1/255`` for the reciprocal of a whole number, else 6 significant digits."""
    if 0 < abs(value) < 1:
        inverse = 1 / abs(value)
        if abs(inverse - round(inverse)) < 1e-9 * inverse:
            return f"{'-' if value < 0 else ''}1/{round(inverse)}"
    return f"{value:.6g}"


class Standardize(Layer):
    """Fixed preprocessing ``y = (x − mean) / std`` with per-feature statistics.

    Build it from the training split with :meth:`fit`, so the model carries its own
    preprocessing and takes raw inputs. Features with zero spread keep ``std = 1``.

    Shape: input ``(n, features)``, output the same.
    """

    def __init__(self, mean: np.ndarray, std: np.ndarray, dtype: np.dtype | type = np.float32):
        dtype = check_float_dtype(dtype)
        mean, std = np.asarray(mean, dtype=dtype), np.asarray(std, dtype=dtype)
        if mean.ndim != 1 or mean.shape != std.shape:
            raise BarenetError(f"mean and std must be 1-D of equal length; got {mean.shape}, {std.shape}")
        if np.any(std <= 0) or not np.all(np.isfinite(std)) or not np.all(np.isfinite(mean)):
            raise BarenetError("std must be positive and finite, mean finite")
        self.mean, self.std = mean, std

    @classmethod
    def fit(cls, x: np.ndarray, dtype: np.dtype | type = np.float32) -> Standardize:
        """Statistics of ``x`` of shape (n_samples, n_features), from the training split only."""
        x = np.asarray(x, dtype=np.float64)
        std = x.std(axis=0)
        std[std < 1e-8] = 1.0
        return cls(x.mean(axis=0), std, dtype=dtype)

    def forward(self, x: np.ndarray, *, training: bool = False) -> np.ndarray:
        return (x - self.mean) / self.std  # Y = (X − μ) / σ

    def forward_with_cache(self, x: np.ndarray, *, training: bool = False) -> tuple[np.ndarray, None]:
        return self.forward(x), None

    def backward(self, grad_output: np.ndarray, cache: None) -> np.ndarray:
        return grad_output / self.std  # dX = dY / σ

    def buffers(self) -> dict[str, np.ndarray]:
        return {"mean": self.mean, "std": self.std}

    def input_shape(self) -> Shape:
        return self.mean.shape
