"""Dropout: randomly silence units while training, so no unit can rely on another."""

from __future__ import annotations

import numpy as np

from ..validation import as_generator, check_number
from .base import Layer


class Dropout(Layer):
    """Inverted dropout: while training, zero each unit with probability ``p`` and scale the
    survivors by 1/(1 − p), so nothing changes at prediction time.

    Shape: any; the output has the input's shape.
    """

    def __init__(self, p: float = 0.5, rng: np.random.Generator | int | None = None) -> None:
        self.p = check_number("Dropout p (the probability of dropping a unit)", p, 0.0, 1.0, high_open=True)
        self.rng = as_generator(rng)

    def forward(self, x: np.ndarray, *, training: bool = False) -> np.ndarray:
        return self.forward_with_cache(x, training=True)[0] if training else x

    def forward_with_cache(
        self, x: np.ndarray, *, training: bool = False
    ) -> tuple[np.ndarray, np.ndarray | None]:
        if not training or self.p == 0.0:
            return x, None
        keep = 1.0 - self.p
        mask = self.rng.random(x.shape, dtype=x.dtype)  # U ~ uniform[0, 1)
        np.less(mask, keep, out=mask)  # in place on our own draw: 1 where U < keep, else 0
        mask *= 1.0 / keep  # M ∈ {0, 1/keep}
        return x * mask, mask  # Y = X ⊙ M

    def backward(self, grad_output: np.ndarray, mask: np.ndarray | None) -> np.ndarray:
        if mask is None:
            return grad_output.copy()
        return grad_output * mask  # dX = dY ⊙ M

    def config(self) -> dict:
        return {"p": self.p}
