"""Gated recurrent layers: the LSTM and the GRU, PyTorch's equations and gate order.

Gates are rows of one stacked weight matrix, in PyTorch's order (LSTM: i, f, g, o; GRU: r, z, n),
so each step is one matrix product ``Hₛ₋₁·W_hhᵀ`` split into blocks of ``hidden_size``
columns. See :mod:`barenet.layers.recurrent` for what all recurrent layers share.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .activations import sigmoid
from .recurrent import Recurrent


class LSTM(Recurrent):
    """Long short-term memory, PyTorch's ``nn.LSTM(batch_first=True)``, one layer. Per step::

        [Aᵢ A_f A_g A_o] = Xₛ·W_ihᵀ + b_ih + Hₛ₋₁·W_hhᵀ + b_hh
        i = σ(Aᵢ), f = σ(A_f), g = tanh(A_g), o = σ(A_o)
        Cₛ = f ⊙ Cₛ₋₁ + i ⊙ g
        Hₛ = o ⊙ tanh(Cₛ)

    Args:
        input_size, hidden_size: f and h.
        return_sequences: True (default) returns every Hₛ (PyTorch's ``output``); False the
            last one only (``h_n[0]``).

    Parameters (PyTorch's names and shapes, the gate blocks in the order i, f, g, o):
    ``weight_ih_l0 (4h, f)``, ``weight_hh_l0 (4h, h)``, ``bias_ih_l0 (4h,)``, ``bias_hh_l0 (4h,)``,
    all drawn from U(−1/√h, 1/√h).

    Shape:
        input ``(n, t, f)``; output ``(n, t, h)``, or ``(n, h)`` with ``return_sequences=False``;
        ``initial_state`` a pair ``(H₀, C₀)``, each ``(n, h)``.
    """

    gates = 4

    def _initial_state(self, given: Any, n: int, dtype: np.dtype) -> Any:
        if given is None:
            zeros = np.zeros((n, self.hidden_size), dtype=dtype)
            return zeros, zeros
        if not isinstance(given, (tuple, list)) or len(given) != 2:
            raise TypeError("initial_state of an LSTM is a pair (H₀, C₀), each of shape (n, hidden_size)")
        return self._check_state("H₀", given[0], n), self._check_state("C₀", given[1], n)

    def final_state(self, cache: tuple) -> tuple[np.ndarray, np.ndarray]:
        """``(H, C)`` after the last step: the next call's ``initial_state``."""
        _, hs, (cs, _, _) = cache
        return hs[-1], cs[-1]

    def _steps_forward(self, projected: np.ndarray, state: Any) -> tuple[np.ndarray, Any]:
        t, n, _ = projected.shape
        h = self.hidden_size
        hs = np.empty((t + 1, n, h), dtype=projected.dtype)
        cs = np.empty_like(hs)
        hs[0], cs[0] = state
        gates = np.empty_like(projected)  # i, f, g, o after their nonlinearities, (t, n, 4h)
        tanh_cs = np.empty_like(hs[1:])
        w_hh, b_hh = self.weight_hh_l0.value, self.bias_hh_l0.value
        for s in range(t):
            a = projected[s] + hs[s] @ w_hh.T  # A = Xₛ·W_ihᵀ + b_ih + Hₛ₋₁·W_hhᵀ + b_hh
            a += b_hh
            gate = gates[s]
            a[:, : 2 * h] *= 0.5
            a[:, 3 * h :] *= 0.5
            np.tanh(a, out=gate)  # g = tanh(A_g), and i, f, o = σ(A) = ½ tanh(A/2) + ½:
            for block in (gate[:, : 2 * h], gate[:, 3 * h :]):  # one pass of tanh for all four
                block *= 0.5
                block += 0.5
            i, f, g, o = gate[:, :h], gate[:, h : 2 * h], gate[:, 2 * h : 3 * h], gate[:, 3 * h :]
            np.multiply(f, cs[s], out=cs[s + 1])
            cs[s + 1] += i * g  # Cₛ = f ⊙ Cₛ₋₁ + i ⊙ g
            np.tanh(cs[s + 1], out=tanh_cs[s])
            np.multiply(o, tanh_cs[s], out=hs[s + 1])  # Hₛ = o ⊙ tanh(Cₛ)
        return hs, (cs, gates, tanh_cs)

    def _steps_backward(self, grad_hs: np.ndarray, hs: np.ndarray, steps: Any) -> tuple:
        cs, gates, tanh_cs = steps
        h = self.hidden_size
        grad_a = np.empty_like(gates)
        grad_h = np.zeros_like(hs[0])  # ∂loss/∂Hₛ and ∂loss/∂Cₛ from the later steps
        grad_c = np.zeros_like(hs[0])
        w_hh = self.weight_hh_l0.value
        for s in range(len(grad_hs) - 1, -1, -1):
            grad_h += grad_hs[s]  # dHₛ = dYₛ + what step s+1 sent back
            gate, da = gates[s], grad_a[s]
            i, f, g, o = gate[:, :h], gate[:, h : 2 * h], gate[:, 2 * h : 3 * h], gate[:, 3 * h :]
            tanh_c = tanh_cs[s]
            grad_c += grad_h * o * (1 - tanh_c**2)  # dCₛ += dHₛ ⊙ o ⊙ (1 − tanh²Cₛ)
            np.multiply(grad_c * g, i * (1 - i), out=da[:, :h])  # dAᵢ = dCₛ ⊙ g ⊙ i(1 − i)
            np.multiply(grad_c * cs[s], f * (1 - f), out=da[:, h : 2 * h])  # dA_f = dCₛ ⊙ Cₛ₋₁ ⊙ f(1 − f)
            np.multiply(grad_c * i, 1 - g**2, out=da[:, 2 * h : 3 * h])  # dA_g = dCₛ ⊙ i ⊙ (1 − g²)
            np.multiply(grad_h * tanh_c, o * (1 - o), out=da[:, 3 * h :])  # dA_o = dHₛ ⊙ tanh Cₛ ⊙ o(1 − o)
            grad_c *= f  # dCₛ₋₁ = dCₛ ⊙ f
            grad_h = da @ w_hh  # dHₛ₋₁ = dA·W_hh
        return grad_a, grad_a, (grad_h, grad_c)


class GRU(Recurrent):
    """Gated recurrent unit, PyTorch's ``nn.GRU(batch_first=True)``, one layer. Per step::

        r = σ(X·W_irᵀ + b_ir + Hₛ₋₁·W_hrᵀ + b_hr)
        z = σ(X·W_izᵀ + b_iz + Hₛ₋₁·W_hzᵀ + b_hz)
        n = tanh(X·W_inᵀ + b_in + r ⊙ (Hₛ₋₁·W_hnᵀ + b_hn))
        Hₛ = (1 − z) ⊙ n + z ⊙ Hₛ₋₁

    The reset gate multiplies ``Hₛ₋₁·W_hnᵀ + b_hn`` after the product, as PyTorch (and cuDNN)
    do; the original paper applies it to Hₛ₋₁ before.

    Args:
        input_size, hidden_size: f and h.
        return_sequences: True (default) returns every Hₛ; False the last one only.

    Parameters (PyTorch's names and shapes, the gate blocks in the order r, z, n):
    ``weight_ih_l0 (3h, f)``, ``weight_hh_l0 (3h, h)``, ``bias_ih_l0 (3h,)``, ``bias_hh_l0 (3h,)``,
    all drawn from U(−1/√h, 1/√h).

    Shape:
        input ``(n, t, f)``; output ``(n, t, h)``, or ``(n, h)`` with ``return_sequences=False``;
        ``initial_state`` H₀ ``(n, h)``.
    """

    gates = 3

    def _steps_forward(self, projected: np.ndarray, state: np.ndarray) -> tuple[np.ndarray, Any]:
        t, n, _ = projected.shape
        h = self.hidden_size
        hs = np.empty((t + 1, n, h), dtype=projected.dtype)
        hs[0] = state
        gates = np.empty_like(projected)  # r, z, n after their nonlinearities, (t, n, 3h)
        hidden_n = np.empty_like(hs[1:])  # Hₛ₋₁·W_hnᵀ + b_hn, which r multiplies
        w_hh, b_hh = self.weight_hh_l0.value, self.bias_hh_l0.value
        for s in range(t):
            from_h = hs[s] @ w_hh.T  # Hₛ₋₁·W_hhᵀ + b_hh, all three blocks
            from_h += b_hh
            gate, x_side = gates[s], projected[s]
            gate[:, : 2 * h] = sigmoid(x_side[:, : 2 * h] + from_h[:, : 2 * h])  # r, z
            r, z = gate[:, :h], gate[:, h : 2 * h]
            hidden_n[s] = from_h[:, 2 * h :]
            # n = tanh(Xₛ·W_inᵀ + b_in + r ⊙ (Hₛ₋₁·W_hnᵀ + b_hn))
            np.tanh(x_side[:, 2 * h :] + r * hidden_n[s], out=gate[:, 2 * h :])
            candidate = gate[:, 2 * h :]
            hs[s + 1] = candidate + z * (hs[s] - candidate)  # Hₛ = (1 − z) ⊙ n + z ⊙ Hₛ₋₁
        return hs, (gates, hidden_n)

    def _steps_backward(self, grad_hs: np.ndarray, hs: np.ndarray, steps: Any) -> tuple:
        gates, hidden_n = steps
        h = self.hidden_size
        grad_in = np.empty_like(gates)  # dA on the input side: [dA_r, dA_z, dA_n]
        grad_hidden = np.empty_like(gates)  # on the hidden side: [dA_r, dA_z, r ⊙ dA_n]
        grad_h = np.zeros_like(hs[0])
        w_hh = self.weight_hh_l0.value
        for s in range(len(grad_hs) - 1, -1, -1):
            grad_h += grad_hs[s]  # dHₛ = dYₛ + what step s+1 sent back
            gate, d_in, d_hidden = gates[s], grad_in[s], grad_hidden[s]
            r, z, candidate = gate[:, :h], gate[:, h : 2 * h], gate[:, 2 * h :]
            # dA_n = dHₛ ⊙ (1 − z) ⊙ (1 − n²)
            np.multiply(grad_h * (1 - z), 1 - candidate**2, out=d_in[:, 2 * h :])
            grad_n = d_in[:, 2 * h :]
            # dA_r = dA_n ⊙ (Hₛ₋₁·W_hnᵀ + b_hn) ⊙ r(1 − r)
            np.multiply(grad_n * hidden_n[s], r * (1 - r), out=d_in[:, :h])
            # dA_z = dHₛ ⊙ (Hₛ₋₁ − n) ⊙ z(1 − z)
            np.multiply(grad_h * (hs[s] - candidate), z * (1 - z), out=d_in[:, h : 2 * h])
            d_hidden[:, : 2 * h] = d_in[:, : 2 * h]
            np.multiply(grad_n, r, out=d_hidden[:, 2 * h :])  # ∂/∂(H·W_hnᵀ + b_hn) = r ⊙ dA_n
            grad_h = grad_h * z + d_hidden @ w_hh  # dHₛ₋₁ = dHₛ ⊙ z + dA_hidden·W_hh
        return grad_in, grad_hidden, grad_h
