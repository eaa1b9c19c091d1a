"""GELU, the activation of BERT and GPT: ``x·Φ(x)``, the input weighted by how likely a
standard normal variable is to fall below it (Hendrycks & Gimpel, 2016).

NumPy has no ``erf``, so :func:`erf` is written here: exact (the C library's, one element at
a time) for float64, where the gradient checks and the comparisons with PyTorch run; for
float32, the training hot path, the rational approximation that Eigen and XLA use, whose error
(below 2·10⁻⁷) is float32's own rounding.
"""

from __future__ import annotations

import math

import numpy as np

from ..blocks import cache_blocks
from ..errors import BarenetError
from .base import Layer

APPROXIMATIONS = ("none", "tanh")
ERF_NUMERATOR = (-2.72614225801306e-10, 2.77068142495902e-08, -2.10102402082508e-06,
                 -5.69250639462346e-05, -7.34990630326855e-04, -2.95459980854025e-03,
                 -1.60960333262415e-02)
"""P's coefficients, highest first, for erf(x) ≈ x·P(x²)/Q(x²) on [−4, 4] (±1 to float32 precision beyond)."""
ERF_DENOMINATOR = (-1.45660718464996e-05, -2.13374055278905e-04, -1.68282697438203e-03,
                   -7.37332916720468e-03, -1.42647390514189e-02)
"""Q's coefficients, highest first."""
_exact_erf = np.vectorize(math.erf, otypes=[np.float64])
SQRT_HALF = math.sqrt(0.5)
SQRT_2_OVER_PI = math.sqrt(2 / math.pi)
TANH_CUBIC = 0.044715


def polynomial(coefficients: tuple[float, ...], x: np.ndarray) -> np.ndarray:
    """c₀xᵏ + c₁xᵏ⁻¹ + … + cₖ in float32 by Horner's rule, ((c₀x + c₁)x + …)x + cₖ, in place
    on one new array."""
    result = x * np.float32(coefficients[0])
    for coefficient in coefficients[1:-1]:
        result += np.float32(coefficient)
        result *= x
    result += np.float32(coefficients[-1])
    return result


def erf(x: np.ndarray) -> np.ndarray:
    """The error function 2/√π ∫₀ˣ e^(−s²) ds, element-wise, in ``x``'s precision."""
    x = np.asarray(x)
    if x.dtype != np.float32:
        return _exact_erf(x)
    clipped = np.clip(x, -4, 4)
    squared = clipped * clipped
    numerator, denominator = polynomial(ERF_NUMERATOR, squared), polynomial(ERF_DENOMINATOR, squared)
    numerator *= clipped
    numerator /= denominator
    return numerator


class GELU(Layer):
    """GELU(x) = x·Φ(x) with Φ(x) = ½(1 + erf(x/√2)), element-wise; PyTorch's ``nn.GELU``.

    ``approximate="tanh"`` uses ``Φ(x) ≈ ½(1 + tanh(√(2/π)(x + 0.044715x³)))``, as GPT-2's
    original code (and PyTorch's ``GELU(approximate="tanh")``) does.

    Shape:
        any; output the shape of the input.
    """

    def __init__(self, approximate: str = "none") -> None:
        if approximate not in APPROXIMATIONS:
            raise BarenetError(f"approximate must be one of {APPROXIMATIONS}; got {approximate!r}")
        self.approximate = approximate

    def forward(self, x: np.ndarray, *, training: bool = False) -> np.ndarray:
        return self.forward_with_cache(x)[0]

    def forward_with_cache(self, x: np.ndarray, *, training: bool = False) -> tuple[np.ndarray, tuple]:
        """Block by block (:mod:`barenet.blocks`): Φ's two dozen passes run in the cache."""
        flat = x.reshape(-1)
        output, phi = np.empty_like(flat), np.empty_like(flat)
        for block in cache_blocks(flat.size):
            phi[block] = self.normal_cdf(flat[block])
            np.multiply(flat[block], phi[block], out=output[block])  # Y = X ⊙ Φ(X)
        return output.reshape(x.shape), (x, phi.reshape(x.shape))

    def normal_cdf(self, x: np.ndarray) -> np.ndarray:
        """Φ(x), exactly or by the tanh formula (``approximate``), as a new array."""
        if self.approximate == "none":
            phi = erf(x * x.dtype.type(SQRT_HALF))  # Φ(X) = ½(1 + erf(X/√2))
        else:
            phi = x * x
            phi *= SQRT_2_OVER_PI * TANH_CUBIC
            phi += SQRT_2_OVER_PI
            phi *= x
            np.tanh(phi, out=phi)  # Φ(X) ≈ ½(1 + tanh U), U = √(2/π)(X + 0.044715X³)
        phi += 1
        phi *= 0.5
        return phi

    def backward(self, grad_output: np.ndarray, cache: tuple) -> np.ndarray:
        x, phi = cache
        flat_x, flat_phi, flat_grad = x.reshape(-1), phi.reshape(-1), grad_output.reshape(-1)
        grad_input = np.empty_like(flat_grad)
        for block in cache_blocks(flat_x.size):
            slope = self.slope(flat_x[block], flat_phi[block])
            np.multiply(slope, flat_grad[block], out=grad_input[block])  # dX = dY ⊙ dY/dX
        return grad_input.reshape(grad_output.shape)

    def slope(self, x: np.ndarray, phi: np.ndarray) -> np.ndarray:
        """dY/dX = Φ(X) + X ⊙ dΦ/dX, element-wise, as a new array."""
        if self.approximate == "none":
            slope = x * x
            slope *= -0.5
            np.exp(slope, out=slope)
            slope *= x
            slope *= 1 / math.sqrt(2 * math.pi)  # X ⊙ φ(X), the standard normal density φ
        else:  # ½(1 − tanh²U) = 2Φ(1 − Φ), so X·dΦ/dX = 2Φ(1 − Φ) ⊙ X ⊙ dU/dX
            slope = x * x
            slope *= 2 * SQRT_2_OVER_PI * 3 * TANH_CUBIC
            slope += 2 * SQRT_2_OVER_PI
            slope *= x  # 2X ⊙ dU/dX = 2√(2/π)(X + 3·0.044715X³)
            spread = np.subtract(1, phi)
            spread *= phi
            slope *= spread
        slope += phi
        return slope

    def config(self) -> dict:
        return {"approximate": self.approximate}
