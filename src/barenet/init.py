"""Weight initialisation: where gradient descent starts, and why the scale matters.

Each initialiser is a small callable object::

    weights = HeNormal()(shape=(784, 128), fan_in=784, fan_out=128, rng=rng)

Choose by name (``init="he"``) or pass an object (``init=Normal(std=0.01)``).
Xavier/Glorot keeps the variance of activations steady through tanh and sigmoid layers;
He/Kaiming doubles it to make up for the half of the units that ReLU switches off.
"""

from __future__ import annotations

import math

import numpy as np

from .errors import BarenetError
from .validation import check_number, resolve


class Initializer:
    """Base class: draw an array of ``shape`` for a layer with ``fan_in`` inputs, ``fan_out`` outputs."""

    def __call__(
        self,
        shape: tuple[int, ...],
        fan_in: int,
        fan_out: int,
        rng: np.random.Generator,
        dtype: np.dtype | type = np.float32,
    ) -> np.ndarray:
        return self.draw(shape, fan_in, fan_out, rng).astype(dtype, copy=False)

    def draw(self, shape, fan_in: int, fan_out: int, rng: np.random.Generator) -> np.ndarray:
        raise NotImplementedError

    def __repr__(self) -> str:
        fields = ", ".join(f"{key}={value!r}" for key, value in vars(self).items())
        return f"{type(self).__name__}({fields})"


class Normal(Initializer):
    """N(mean, std²); the classic ``0.01 * randn`` is ``Normal(std=0.01)``."""

    def __init__(self, std: float = 0.01, mean: float = 0.0) -> None:
        self.std = check_number("std", std, low=0.0)
        self.mean = check_number("mean", mean)

    def draw(self, shape, fan_in, fan_out, rng):
        return rng.normal(self.mean, self.std, size=shape)


class Uniform(Initializer):
    """U(low, high)."""

    def __init__(self, low: float = -0.05, high: float = 0.05) -> None:
        low, high = check_number("low", low), check_number("high", high)
        if not low < high:
            raise BarenetError(f"Uniform needs low < high; got low={low}, high={high}")
        self.low, self.high = low, high

    def draw(self, shape, fan_in, fan_out, rng):
        return rng.uniform(self.low, self.high, size=shape)


class XavierNormal(Initializer):
    """Glorot & Bengio (2010): N(0, 2 / (fan_in + fan_out))."""

    def draw(self, shape, fan_in, fan_out, rng):
        return rng.normal(0.0, math.sqrt(2.0 / (fan_in + fan_out)), size=shape)


class XavierUniform(Initializer):
    """Glorot & Bengio (2010): U(−a, a) with a = √(6 / (fan_in + fan_out))."""

    def draw(self, shape, fan_in, fan_out, rng):
        limit = math.sqrt(6.0 / (fan_in + fan_out))
        return rng.uniform(-limit, limit, size=shape)


class HeNormal(Initializer):
    """He et al. (2015): N(0, 2 / fan_in), for ReLU layers."""

    def draw(self, shape, fan_in, fan_out, rng):
        return rng.normal(0.0, math.sqrt(2.0 / fan_in), size=shape)


class HeUniform(Initializer):
    """He et al. (2015): U(−a, a) with a = √(6 / fan_in)."""

    def draw(self, shape, fan_in, fan_out, rng):
        limit = math.sqrt(6.0 / fan_in)
        return rng.uniform(-limit, limit, size=shape)


class LeCunNormal(Initializer):
    """LeCun (1998): N(0, 1 / fan_in)."""

    def draw(self, shape, fan_in, fan_out, rng):
        return rng.normal(0.0, math.sqrt(1.0 / fan_in), size=shape)


class LeCunUniform(Initializer):
    """LeCun (1998): U(−a, a) with a = √(3 / fan_in), the uniform law of variance 1 / fan_in."""

    def draw(self, shape, fan_in, fan_out, rng):
        limit = math.sqrt(3.0 / fan_in)
        return rng.uniform(-limit, limit, size=shape)


class Constant(Initializer):
    """Every entry equal to ``value``."""

    def __init__(self, value: float = 0.0) -> None:
        self.value = check_number("value", value)

    def draw(self, shape, fan_in, fan_out, rng):
        return np.full(shape, self.value)


class Zeros(Constant):
    """All zeros: the usual bias initialisation."""

    def __init__(self) -> None:
        super().__init__(0.0)


INITIALIZERS = {
    "normal": Normal,
    "uniform": Uniform,
    "xavier": XavierUniform,
    "xavier_normal": XavierNormal,
    "xavier_uniform": XavierUniform,
    "glorot": XavierUniform,
    "glorot_normal": XavierNormal,
    "glorot_uniform": XavierUniform,
    "he": HeNormal,
    "he_normal": HeNormal,
    "he_uniform": HeUniform,
    "kaiming": HeNormal,
    "kaiming_normal": HeNormal,
    "kaiming_uniform": HeUniform,
    "lecun": LeCunNormal,
    "lecun_normal": LeCunNormal,
    "lecun_uniform": LeCunUniform,
    "zeros": Zeros,
    "constant": Constant,
}


def get_initializer(init: str | Initializer, name: str = "init") -> Initializer:
    """``"he"`` → ``HeNormal()``; an ``Initializer`` object is returned as it is, anything else
    is refused with a ``TypeError`` naming the parameter ``name``."""
    return resolve(init, INITIALIZERS, "initialiser", Initializer, name)
