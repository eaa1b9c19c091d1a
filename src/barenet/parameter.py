"""Parameters: the arrays a network learns, each with the gradient of the loss beside it."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


class Parameter:
    """A learnable array and its gradient.

    ``value`` holds the current weights; ``backward`` passes *overwrite* ``grad`` with
    ∂loss/∂value for the last batch (they never accumulate across batches). An optimiser
    reads ``grad`` and updates ``value`` in place, so it never needs to know which layer
    a parameter belongs to.

    ``decay`` says whether L2 regularisation applies: True for weights, False for biases,
    the classic choice.
    """

    def __init__(self, value: np.ndarray, name: str, decay: bool = True) -> None:
        self.value = value
        self.grad = np.zeros_like(value)
        self.name = name
        self.decay = decay

    @property
    def shape(self) -> tuple[int, ...]:
        return self.value.shape

    @property
    def size(self) -> int:
        return self.value.size

    def __repr__(self) -> str:
        return f"Parameter({self.name}, shape={self.shape}, dtype={self.value.dtype})"


class FlatParameters:
    """All of a model's parameters laid end to end in one contiguous buffer.

    Every ``Parameter.value`` (and ``.grad``) becomes a view into ``self.values``
    (and ``self.grads``), so an optimiser can update every weight of the network with a
    handful of whole-buffer NumPy passes instead of one set of passes per array.
    Layers always read ``parameter.value`` afresh, so rebinding them here is safe.
    """

    def __init__(self, parameters: Sequence[Parameter]) -> None:
        if not parameters:
            raise ValueError("parameters is empty: pass model.parameters() of a model with layers")
        dtypes = {p.value.dtype for p in parameters}
        if len(dtypes) != 1:
            raise ValueError(f"parameters mix dtypes {sorted(map(str, dtypes))}; use one dtype")
        (dtype,) = dtypes
        self.parameters = list(parameters)
        total = sum(p.size for p in self.parameters)
        self.values = np.empty(total, dtype=dtype)
        self.grads = np.zeros(total, dtype=dtype)
        start = 0
        for p in self.parameters:
            stop = start + p.size
            self.values[start:stop] = p.value.ravel()
            self.grads[start:stop] = p.grad.ravel()
            p.value = self.values[start:stop].reshape(p.shape)
            p.grad = self.grads[start:stop].reshape(p.shape)
            start = stop
