"""Parameters: the arrays a network learns, each with the gradient of the loss beside it."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .errors import BarenetError, ShapeError


class Parameter:
    """A learnable array and its gradient.

    ``value`` holds the current weights; backward passes *overwrite* ``grad`` with
    ∂loss/∂value for the last batch (they never accumulate across batches). An optimiser
    reads ``grad`` and updates ``value`` in place, so it never needs to know which layer
    a parameter belongs to. ``flat`` is the :class:`FlatParameters` buffer the value and
    gradient live in, once the model has laid its parameters out (None before). From then on
    ``parameter.value = w`` copies ``w`` into that buffer (same shape), so the optimiser keeps
    training the array the model uses.

    ``decay`` says whether L2 regularisation applies: True for weights, False for biases,
    the classic choice.
    """

    def __init__(self, value: np.ndarray, name: str, decay: bool = True) -> None:
        self.flat: FlatParameters | None = None
        self.name = name
        self.decay = decay
        self.value = value
        self.grad = np.zeros_like(value)

    @property
    def value(self) -> np.ndarray:
        return self._value

    @value.setter
    def value(self, new: np.ndarray) -> None:
        self._value = self._assigned("value", new, self._value if self.flat is not None else None)

    @property
    def grad(self) -> np.ndarray:
        return self._grad

    @grad.setter
    def grad(self, new: np.ndarray) -> None:
        self._grad = self._assigned("grad", new, self._grad if self.flat is not None else None)

    def _assigned(self, what: str, new: np.ndarray, current: np.ndarray | None) -> np.ndarray:
        """What ``self.value = new`` stores. Once the model has laid the parameter out in its
        flat buffer, assignment *copies into* the buffer: the optimiser steps that buffer, so
        replacing the array would silently stop training."""
        if current is None:
            return new
        new = np.asarray(new)
        if new.shape != current.shape:
            raise ShapeError(
                f"parameter {self.name!r} has shape {current.shape}; cannot assign an array of shape "
                f"{new.shape} to its {what} (build a new layer for a new shape)"
            )
        np.copyto(current, new, casting="same_kind")
        return current

    def astype(self, dtype: np.dtype) -> None:
        """Convert value and grad to ``dtype`` as new arrays outside any buffer; the owner lays
        its parameters out again afterwards (``Sequential.astype``)."""
        value, grad = self._value.astype(dtype), self._grad.astype(dtype)
        self.flat = None
        self.value, self.grad = value, grad

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
    handful of whole-buffer NumPy passes instead of one set of passes per array. The
    model builds this once (and again after ``astype``); optimisers borrow it.
    """

    def __init__(self, parameters: Sequence[Parameter]) -> None:
        if not parameters:
            raise BarenetError("there are no parameters to lay out: the model has no trainable layer")
        dtypes = {p.value.dtype for p in parameters}
        if len(dtypes) != 1:
            raise BarenetError(f"parameters mix dtypes {sorted(map(str, dtypes))}; use one dtype")
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
            p._value = self.values[start:stop].reshape(p.shape)  # from now on, views into the buffer
            p._grad = self.grads[start:stop].reshape(p.shape)
            p.flat = self
            start = stop

    @property
    def is_current(self) -> bool:
        """False once the owner has laid its parameters out anew (e.g. after ``astype``)."""
        return all(p.flat is self for p in self.parameters)


def flat_parameters(parameters: Sequence[Parameter]) -> FlatParameters:
    """The flat buffer ``parameters`` live in; laid out now if they live in none yet.

    A model lays out its parameters when it is built, so ``model.parameters()`` always
    finds the model's own buffer, however many optimisers borrow it.
    """
    parameters = list(parameters)
    for index, parameter in enumerate(parameters):
        if not isinstance(parameter, Parameter):
            raise TypeError(
                f"parameters[{index}] is a {type(parameter).__name__}, not a barenet Parameter; "
                "pass model.parameters()"
            )
    owners = {id(p.flat): p.flat for p in parameters}
    if len(owners) == 1:
        (flat,) = owners.values()
        if flat is None:
            return FlatParameters(parameters)
        if flat.parameters == parameters:
            return flat
    if not parameters:
        raise BarenetError("parameters is empty: pass model.parameters() of a model with trainable layers")
    raise BarenetError(
        "these parameters are part of a larger set laid out by a model; an optimiser trains all "
        "of a model's parameters: pass model.parameters()"
    )
