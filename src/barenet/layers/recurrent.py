"""Recurrent layers: one set of weights applied at every step of a sequence, and
backpropagation through time (BPTT).

Every recurrent layer here has PyTorch's four parameters with PyTorch's names and shapes,
``weight_ih_l0 (G·h, f)``, ``weight_hh_l0 (G·h, h)``, ``bias_ih_l0 (G·h)``, ``bias_hh_l0 (G·h)``
for G gates, so ``layer.weight_ih_l0.value = torch_layer.weight_ih_l0`` (and so on for the
other three) copies a trained PyTorch layer across. Each step computes its pre-activations

    Aₛ = Xₛ·W_ihᵀ + b_ih + Hₛ₋₁·W_hhᵀ + b_hh

and the part that does not depend on the previous state, ``Xₛ·W_ihᵀ + b_ih``, is one matrix
product for all steps at once before the loop. The backward pass walks the steps in reverse,
carrying ∂loss/∂H (and ∂loss/∂C for an LSTM) from each step to the one before, and collects
each step's ∂loss/∂A; the weight gradients are then again one product over all steps:
``dW_ih = Σₛ dAₛᵀ·Xₛ``, ``dW_hh = Σₛ dAₛᵀ·Hₛ₋₁``, ``dX = dA·W_ih``.

Inside, sequences are time-major, ``(t, n, ·)``, so that each step is a contiguous block.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..errors import BarenetError, ShapeError
from ..init import Uniform
from ..parameter import Parameter
from ..validation import as_generator, check_float_dtype, check_int
from .base import Layer, Shape

NONLINEARITIES = ("tanh", "relu")


class Recurrent(Layer):
    """What RNN, LSTM and GRU share: parameters, the input projection, the bulk gradients.

    Subclasses set ``gates`` and write the two loops, ``_steps_forward`` and ``_steps_backward``.
    """

    gates = 1
    takes_sequences = True

    def __init__(self, input_size: int, hidden_size: int, return_sequences: bool = True,
                 rng: np.random.Generator | int | None = None, dtype: np.dtype | type = np.float32) -> None:
        self.input_size = check_int("input_size", input_size)
        self.hidden_size = check_int("hidden_size", hidden_size)
        if not isinstance(return_sequences, bool):
            raise TypeError(f"return_sequences must be True or False; got {return_sequences!r}")
        self.return_sequences = return_sequences
        rng, dtype = as_generator(rng), check_float_dtype(dtype)
        bound = 1 / math.sqrt(self.hidden_size)  # PyTorch's U(−1/√h, 1/√h) for all four
        draw = Uniform(-bound, bound)
        rows = self.gates * self.hidden_size
        shapes = {"weight_ih_l0": (rows, self.input_size), "weight_hh_l0": (rows, self.hidden_size),
                  "bias_ih_l0": (rows,), "bias_hh_l0": (rows,)}
        for name, shape in shapes.items():
            value = draw(shape, self.input_size, rows, rng, dtype)
            setattr(self, name, Parameter(value, name, decay=name.startswith("weight")))

    # ---- forward ----------------------------------------------------------------------------

    def forward(self, x: np.ndarray, *, training: bool = False, initial_state: Any = None) -> np.ndarray:
        return self.forward_with_cache(x, training=training, initial_state=initial_state)[0]

    def forward_with_cache(self, x: np.ndarray, *, training: bool = False,
                           initial_state: Any = None) -> tuple[np.ndarray, tuple]:
        """``initial_state``: H₀ of shape ``(n, hidden_size)`` (an LSTM takes ``(H₀, C₀)``);
        zeros when omitted."""
        n, t = self._check_input(x)
        xs = np.ascontiguousarray(x.transpose(1, 0, 2))  # (t, n, f): time-major
        projected = xs.reshape(t * n, self.input_size) @ self.weight_ih_l0.value.T
        projected += self.bias_ih_l0.value  # Xₛ·W_ihᵀ + b_ih for every step in one product
        state = self._initial_state(initial_state, n, projected.dtype)
        hs, steps = self._steps_forward(projected.reshape(t, n, -1), state)
        output = hs[1:].transpose(1, 0, 2) if self.return_sequences else hs[-1]
        return np.ascontiguousarray(output), (xs, hs, steps)

    def _initial_state(self, given: Any, n: int, dtype: np.dtype) -> Any:
        if given is None:
            return np.zeros((n, self.hidden_size), dtype=dtype)
        return self._check_state("initial_state", given, n)

    def final_state(self, cache: tuple) -> Any:
        """The state after the last step of the call that made ``cache``: hand it to the next
        call as ``initial_state`` to carry on where the sequence stopped (e.g. to generate text
        one character at a time)."""
        return cache[1][-1]

    def _check_state(self, name: str, array: Any, n: int) -> np.ndarray:
        array = np.asarray(array)
        if array.shape != (n, self.hidden_size):
            raise ShapeError(f"{name} of {type(self).__name__} must have shape (n, hidden_size) = "
                             f"{(n, self.hidden_size)}; got {array.shape}")
        return array

    def _check_input(self, x: np.ndarray) -> tuple[int, int]:
        if x.ndim != 3 or x.shape[2] != self.input_size or x.shape[1] == 0:
            raise ShapeError(f"{type(self).__name__} expects batch-first sequences (n, t, {self.input_size}) "
                             f"with t ≥ 1; got shape {x.shape}")
        return x.shape[0], x.shape[1]

    # ---- backward ---------------------------------------------------------------------------

    def backward_with_state(self, grad_output: np.ndarray, cache: tuple) -> tuple[np.ndarray, Any]:
        """``(dX, d(initial state))``, writing every parameter's gradient."""
        xs, hs, _ = cache
        grad_in, grad_hidden, grad_state = self._through_time(grad_output, cache)
        self._write_gradients(xs, hs, grad_in, grad_hidden)
        return self._input_gradient(grad_in), grad_state

    def backward(self, grad_output: np.ndarray, cache: tuple) -> np.ndarray:
        return self.backward_with_state(grad_output, cache)[0]  # one walk through time for both

    def backward_parameters(self, grad_output: np.ndarray, cache: tuple) -> None:
        xs, hs, _ = cache
        grad_in, grad_hidden, _ = self._through_time(grad_output, cache)
        self._write_gradients(xs, hs, grad_in, grad_hidden)

    def backward_input(self, grad_output: np.ndarray, cache: tuple) -> np.ndarray:
        return self._input_gradient(self._through_time(grad_output, cache)[0])

    def _through_time(self, grad_output: np.ndarray, cache: tuple) -> tuple:
        xs, hs, steps = cache
        grad_hs = np.zeros_like(hs[1:])  # ∂loss/∂Hₛ from the layers above, (t, n, h)
        if self.return_sequences:
            grad_hs[...] = grad_output.transpose(1, 0, 2)
        else:
            grad_hs[-1] = grad_output  # only the last state was used
        return self._steps_backward(grad_hs, hs, steps)

    def _write_gradients(self, xs: np.ndarray, hs: np.ndarray, grad_in: np.ndarray,
                         grad_hidden: np.ndarray) -> None:
        rows = grad_in.shape[-1]
        flat_in, flat_hidden = grad_in.reshape(-1, rows), grad_hidden.reshape(-1, rows)
        np.matmul(flat_in.T, xs.reshape(-1, self.input_size),
                  out=self.weight_ih_l0.grad)  # dW_ih = Σₛ dAₛᵀ·Xₛ
        np.matmul(flat_hidden.T, hs[:-1].reshape(-1, self.hidden_size),
                  out=self.weight_hh_l0.grad)  # dW_hh = Σₛ dAₛᵀ·Hₛ₋₁
        flat_in.sum(axis=0, out=self.bias_ih_l0.grad)  # db_ih = Σₛ Σₙ dAₛ
        flat_hidden.sum(axis=0, out=self.bias_hh_l0.grad)  # db_hh = Σₛ Σₙ dAₛ

    def _input_gradient(self, grad_in: np.ndarray) -> np.ndarray:
        t, n, rows = grad_in.shape
        grad_x = grad_in.reshape(t * n, rows) @ self.weight_ih_l0.value  # dX = dA·W_ih
        return np.ascontiguousarray(grad_x.reshape(t, n, self.input_size).transpose(1, 0, 2))

    def _steps_forward(self, projected: np.ndarray, state: Any) -> tuple[np.ndarray, Any]:
        raise NotImplementedError

    def _steps_backward(self, grad_hs: np.ndarray, hs: np.ndarray, steps: Any) -> tuple:
        """``(dA on the input side, dA on the hidden side, d(initial state))``, each dA (t, n, G·h)."""
        raise NotImplementedError

    # ---- description ------------------------------------------------------------------------

    def parameters(self) -> list[Parameter]:
        return [self.weight_ih_l0, self.weight_hh_l0, self.bias_ih_l0, self.bias_hh_l0]

    def config(self) -> dict:
        return {"input_size": self.input_size, "hidden_size": self.hidden_size,
                "return_sequences": self.return_sequences}

    def output_shape(self, input_shape: Shape) -> Shape:
        shape = tuple(input_shape)
        if len(shape) != 2 or shape[1] != self.input_size:
            raise ShapeError(f"{type(self).__name__} expects samples (t, {self.input_size}); got {shape}")
        return (shape[0], self.hidden_size) if self.return_sequences else (self.hidden_size,)


class RNN(Recurrent):
    """The plain (Elman) recurrent layer, PyTorch's ``nn.RNN(batch_first=True)``, one layer:

        Hₛ = tanh(Xₛ·W_ihᵀ + b_ih + Hₛ₋₁·W_hhᵀ + b_hh)     (or relu)

    Args:
        input_size, hidden_size: f and h.
        nonlinearity: "tanh" (default) or "relu".
        return_sequences: True (default) returns every step's H, as PyTorch's ``output``;
            False returns the last step's H only (PyTorch's ``h_n[0]``), one vector per
            sequence for a classifier.

    Parameters (PyTorch's names and shapes): ``weight_ih_l0 (h, f)``, ``weight_hh_l0 (h, h)``,
    ``bias_ih_l0 (h,)``, ``bias_hh_l0 (h,)``, all drawn from U(−1/√h, 1/√h).

    Shape:
        input ``(n, t, f)``; output ``(n, t, h)``, or ``(n, h)`` with ``return_sequences=False``;
        ``initial_state`` H₀ ``(n, h)``.
    """

    def __init__(self, input_size: int, hidden_size: int, nonlinearity: str = "tanh",
                 return_sequences: bool = True, rng: np.random.Generator | int | None = None,
                 dtype: np.dtype | type = np.float32) -> None:
        if nonlinearity not in NONLINEARITIES:
            raise BarenetError(f"nonlinearity must be one of {NONLINEARITIES}; got {nonlinearity!r}")
        self.nonlinearity = nonlinearity
        super().__init__(input_size, hidden_size, return_sequences, rng, dtype)

    def _steps_forward(self, projected: np.ndarray, state: np.ndarray) -> tuple[np.ndarray, None]:
        t, n, _ = projected.shape
        hs = np.empty((t + 1, n, self.hidden_size), dtype=projected.dtype)
        hs[0] = state
        w_hh, b_hh = self.weight_hh_l0.value, self.bias_hh_l0.value
        for s in range(t):
            a = projected[s] + hs[s] @ w_hh.T  # Aₛ = Xₛ·W_ihᵀ + b_ih + Hₛ₋₁·W_hhᵀ + b_hh
            a += b_hh
            if self.nonlinearity == "tanh":
                np.tanh(a, out=hs[s + 1])  # Hₛ = tanh(Aₛ)
            else:
                np.maximum(a, 0, out=hs[s + 1])  # Hₛ = max(0, Aₛ)
        return hs, None

    def _steps_backward(self, grad_hs: np.ndarray, hs: np.ndarray, steps: None) -> tuple:
        grad_a = np.empty_like(grad_hs)
        grad_h = np.zeros_like(hs[0])  # ∂loss/∂Hₛ through the later steps; none after the last
        w_hh = self.weight_hh_l0.value
        for s in range(len(grad_hs) - 1, -1, -1):
            grad_h += grad_hs[s]  # dHₛ = dYₛ + (what step s+1 sent back)
            if self.nonlinearity == "tanh":
                np.multiply(grad_h, 1 - hs[s + 1] ** 2, out=grad_a[s])  # dAₛ = dHₛ ⊙ (1 − Hₛ²)
            else:
                np.multiply(grad_h, hs[s + 1] > 0, out=grad_a[s])  # dAₛ = dHₛ ⊙ [Hₛ > 0]
            grad_h = grad_a[s] @ w_hh  # dHₛ₋₁ = dAₛ·W_hh
        return grad_a, grad_a, grad_h

    def config(self) -> dict:
        return super().config() | {"nonlinearity": self.nonlinearity}
