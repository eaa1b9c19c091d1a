"""Optimisers: turn gradients into weight updates.

Each optimiser is built on ``model.parameters()`` and updates them in place with
``step()``. Update rules and hyper-parameter names follow PyTorch's documentation.
The model lays its parameters out in one flat buffer (:class:`FlatParameters`) and the
optimiser borrows it, so a step is a few whole-buffer NumPy passes, however many layers the
network has, and any number of optimisers train the same weights.

These classes are written for speed. The same rules written as the textbook writes them,
one parameter at a time, are in :mod:`barenet.optim_plain` (``PlainSGD``, ``PlainAdam``):
read those first; the tests check that both give the same weights.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np

from .blocks import cache_blocks
from .errors import BarenetError
from .parameter import Parameter, flat_parameters
from .validation import check_number, resolve

DEFAULT_LR = {"sgd": 0.01, "momentum": 0.01, "nesterov": 0.01, "rmsprop": 0.01, "adam": 0.001, "adamw": 0.001}
"""The one default learning rate of each optimiser (PyTorch's), read by the Python API, the
command line, its TOML files and the scikit-learn estimators alike."""


class Optimizer:
    """Base class: holds the learning rate ``lr`` and the flat parameter buffers.

    ``max_grad_norm`` clips the global gradient norm ‖g‖₂ to that value before the update.
    """

    def __init__(
        self, parameters: Iterable[Parameter], lr: float, max_grad_norm: float | None = None
    ) -> None:
        self.lr = check_number("lr", lr, low=0.0, low_open=True)
        if max_grad_norm is not None:
            max_grad_norm = check_number("max_grad_norm", max_grad_norm, low=0.0, low_open=True)
        self.max_grad_norm = max_grad_norm
        self.flat = flat_parameters(parameters)  # the model's buffer, borrowed
        self.step_count = 0
        self.scratch = np.empty_like(self.flat.values)

    def zero_grad(self) -> None:
        self.flat.grads.fill(0)

    def step(self) -> None:
        """Apply one update using the gradients now in ``parameter.grad``."""
        if not self.flat.is_current:
            self._follow_model()
        self.step_count += 1
        gradient = self.flat.grads
        if self.max_grad_norm is not None:
            norm = float(np.sqrt(np.dot(gradient, gradient)))
            if norm > self.max_grad_norm:
                gradient *= self.max_grad_norm / norm  # g ← g · c / ‖g‖
        self.update(self.flat.values, gradient)

    def update(self, values: np.ndarray, gradient: np.ndarray) -> None:
        raise NotImplementedError

    def _follow_model(self) -> None:
        """The model laid its parameters out anew (``astype``): borrow the new buffer and
        convert this optimiser's state to its dtype, so training goes on where it was."""
        self.flat = flat_parameters(self.flat.parameters)
        dtype = self.flat.values.dtype
        for name, array in self.state().items():
            setattr(self, name, array.astype(dtype))
        self.scratch = np.empty_like(self.flat.values)

    def state(self) -> dict[str, np.ndarray]:
        """Arrays to save in a checkpoint so training resumes exactly."""
        return {}

    def hyperparameters(self) -> dict:
        return {"lr": self.lr, "max_grad_norm": self.max_grad_norm}

    def load_state(self, arrays: dict[str, np.ndarray], step_count: int) -> None:
        for name, array in arrays.items():
            target = getattr(self, name)
            if target.shape != array.shape:
                raise BarenetError(
                    f"optimiser state {name!r} has shape {array.shape}, expected {target.shape}: "
                    "the checkpoint belongs to a different architecture"
                )
            target[...] = array
        self.step_count = int(step_count)

    def __repr__(self) -> str:
        settings = ", ".join(f"{k}={v!r}" for k, v in self.hyperparameters().items())
        return f"{type(self).__name__}({settings})"


class SGD(Optimizer):
    """Stochastic gradient descent, optionally with (Nesterov) momentum and weight decay.

    g ← g + λθ;  b ← μb + (1 − τ)g (b = g on the first step);
    g ← g + μb if nesterov else b;  θ ← θ − lr·g

    Without momentum and weight decay this is :class:`barenet.optim_plain.PlainSGD`, the
    reference. The speed trick: one pass over the model's whole flat buffer instead of one per
    parameter, through a preallocated ``scratch`` array, so a step allocates nothing.
    """

    def __init__(
        self,
        parameters: Iterable[Parameter],
        lr: float = DEFAULT_LR["sgd"],
        momentum: float = 0.0,
        dampening: float = 0.0,
        nesterov: bool = False,
        weight_decay: float = 0.0,
        max_grad_norm: float | None = None,
    ) -> None:
        self.momentum = check_number("momentum", momentum, 0.0, 1.0, high_open=True)
        self.dampening = check_number("dampening", dampening, 0.0, 1.0)
        self.weight_decay = check_number("weight_decay", weight_decay, low=0.0)
        if nesterov and (self.momentum == 0 or self.dampening != 0):
            raise BarenetError("nesterov momentum needs momentum > 0 and dampening = 0")
        self.nesterov = bool(nesterov)
        super().__init__(parameters, lr, max_grad_norm)
        self.velocity = np.zeros_like(self.flat.values)

    def update(self, values: np.ndarray, gradient: np.ndarray) -> None:
        if self.weight_decay:
            _add_scaled(gradient, values, self.weight_decay, self.scratch)  # g ← g + λθ
        if self.momentum:
            if self.step_count == 1:
                self.velocity[...] = gradient  # b₁ = g
            else:
                self.velocity *= self.momentum  # b ← μb + (1 − τ)g
                _add_scaled(self.velocity, gradient, 1 - self.dampening, self.scratch)
            if self.nesterov:
                _add_scaled(gradient, self.velocity, self.momentum, self.scratch)  # g ← g + μb
            else:
                gradient = self.velocity
        np.multiply(gradient, self.lr, out=self.scratch)
        values -= self.scratch  # θ ← θ − lr·g

    def state(self) -> dict[str, np.ndarray]:
        return {"velocity": self.velocity}

    def hyperparameters(self) -> dict:
        return super().hyperparameters() | {
            "momentum": self.momentum, "dampening": self.dampening,
            "nesterov": self.nesterov, "weight_decay": self.weight_decay,
        }


class RMSProp(Optimizer):
    """RMSProp (Hinton): scale each step by a running root-mean-square of the gradient.

    v ← αv + (1 − α)g²;  θ ← θ − lr·g / (√v + ε)
    """

    def __init__(
        self,
        parameters: Iterable[Parameter],
        lr: float = DEFAULT_LR["rmsprop"],
        alpha: float = 0.99,
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        max_grad_norm: float | None = None,
    ) -> None:
        self.alpha = check_number("alpha", alpha, 0.0, 1.0, high_open=True)
        self.eps = check_number("eps", eps, low=0.0, low_open=True)
        self.weight_decay = check_number("weight_decay", weight_decay, low=0.0)
        super().__init__(parameters, lr, max_grad_norm)
        self.square_average = np.zeros_like(self.flat.values)

    def update(self, values: np.ndarray, gradient: np.ndarray) -> None:
        if self.weight_decay:
            _add_scaled(gradient, values, self.weight_decay, self.scratch)  # g ← g + λθ
        scratch = self.scratch
        np.multiply(gradient, gradient, out=scratch)
        scratch *= 1 - self.alpha
        self.square_average *= self.alpha
        self.square_average += scratch  # v ← αv + (1 − α)g²
        np.sqrt(self.square_average, out=scratch)
        scratch += self.eps
        np.divide(gradient, scratch, out=scratch)
        scratch *= self.lr
        values -= scratch  # θ ← θ − lr·g / (√v + ε)

    def state(self) -> dict[str, np.ndarray]:
        return {"square_average": self.square_average}

    def hyperparameters(self) -> dict:
        return super().hyperparameters() | {
            "alpha": self.alpha, "eps": self.eps, "weight_decay": self.weight_decay,
        }


class Adam(Optimizer):
    """Adam (Kingma & Ba, 2015) with bias correction.

    The algorithm (as PyTorch prints it; λ = ``weight_decay``)::

        input: lr, β₁, β₂ (betas), θ₀ (parameters), f(θ) (objective), λ, ε
        initialise: m₀ ← 0 (first moment), v₀ ← 0 (second moment)
        for t = 1, 2, ...:
            gₜ ← ∇f(θₜ₋₁)
            if λ ≠ 0: gₜ ← gₜ + λθₜ₋₁
            mₜ ← β₁mₜ₋₁ + (1 − β₁)gₜ
            vₜ ← β₂vₜ₋₁ + (1 − β₂)gₜ²
            m̂ₜ ← mₜ / (1 − β₁ᵗ)
            v̂ₜ ← vₜ / (1 − β₂ᵗ)
            θₜ ← θₜ₋₁ − lr·m̂ₜ / (√v̂ₜ + ε)
        return θₜ

    For decoupled weight decay use :class:`AdamW`. The reference, these lines one parameter
    at a time, is :class:`barenet.optim_plain.PlainAdam`. The speed tricks: one flat buffer
    for every parameter; each line done as in-place passes through a preallocated ``scratch``
    array (nothing allocated per step), one cache-sized block of the buffers at a time; the
    two bias corrections folded into scalars, so m̂ and v̂ are never formed (see :meth:`adam_step`).
    """

    def __init__(
        self,
        parameters: Iterable[Parameter],
        lr: float = DEFAULT_LR["adam"],
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        max_grad_norm: float | None = None,
    ) -> None:
        if not isinstance(betas, (tuple, list)) or len(betas) != 2:
            raise BarenetError(f"betas must be a pair (beta1, beta2); got {betas!r}")
        self.betas = tuple(check_number(f"beta{index}", beta, 0.0, 1.0, high_open=True)
                           for index, beta in enumerate(betas, start=1))
        self.eps = check_number("eps", eps, low=0.0, low_open=True)
        self.weight_decay = check_number("weight_decay", weight_decay, low=0.0)
        super().__init__(parameters, lr, max_grad_norm)
        self.first_moment = np.zeros_like(self.flat.values)
        self.second_moment = np.zeros_like(self.flat.values)

    def update(self, values: np.ndarray, gradient: np.ndarray) -> None:
        if self.weight_decay:
            _add_scaled(gradient, values, self.weight_decay, self.scratch)  # g ← g + λθ
        self.adam_step(values, gradient)

    def adam_step(self, values: np.ndarray, gradient: np.ndarray) -> None:
        """Twelve in-place passes, one block of the flat buffers at a time (the five arrays'
        blocks stay in the cache from pass to pass: :mod:`barenet.blocks`); nothing is allocated."""
        beta1, beta2 = self.betas
        # θ ← θ − lr·m̂/(√v̂ + ε), m̂ = m/(1 − β₁ᵗ), v̂ = v/(1 − β₂ᵗ). With c = √(1 − β₂ᵗ) this is
        # θ − m / ((√v + ε·c) · k), k = (1 − β₁ᵗ)/(lr·c): both corrections folded into scalars.
        correction = math.sqrt(1 - beta2**self.step_count)
        scale = (1 - beta1**self.step_count) / (self.lr * correction)
        for block in cache_blocks(values.size):
            theta, g = values[block], gradient[block]
            m, v, scratch = self.first_moment[block], self.second_moment[block], self.scratch[block]
            np.subtract(g, m, out=scratch)
            scratch *= 1 - beta1
            m += scratch  # m ← β₁m + (1 − β₁)g, computed as m + (1 − β₁)(g − m)
            np.multiply(g, g, out=scratch)
            scratch -= v
            scratch *= 1 - beta2
            v += scratch  # v ← β₂v + (1 − β₂)g², computed as v + (1 − β₂)(g² − v)
            np.sqrt(v, out=scratch)
            scratch += self.eps * correction
            scratch *= scale
            np.divide(m, scratch, out=scratch)
            theta -= scratch

    def state(self) -> dict[str, np.ndarray]:
        return {"first_moment": self.first_moment, "second_moment": self.second_moment}

    def hyperparameters(self) -> dict:
        return super().hyperparameters() | {
            "betas": list(self.betas), "eps": self.eps, "weight_decay": self.weight_decay,
        }


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter, 2019):
    θ ← θ − lr·λθ, then the Adam step on the undecayed gradient.

    The decay applies to the parameters whose ``decay`` flag is set — weight matrices,
    convolution kernels and embeddings — never to biases or normalisation scales, as GPT-2
    and nanoGPT train (PyTorch's ``AdamW`` with those two parameter groups)."""

    def __init__(
        self, parameters: Iterable[Parameter], lr: float = DEFAULT_LR["adamw"], weight_decay: float = 0.01,
        **settings,
    ) -> None:
        """The settings of :class:`Adam` (``betas``, ``eps``, ``max_grad_norm``); only the
        default weight decay differs, 0.01 as in PyTorch."""
        super().__init__(parameters, lr, weight_decay=weight_decay, **settings)

    def update(self, values: np.ndarray, gradient: np.ndarray) -> None:
        shrink = 1 - self.lr * self.weight_decay
        for start, stop in self.decayed:
            values[start:stop] *= shrink  # θ ← θ(1 − lr·λ), in place on the model's buffer
        self.adam_step(values, gradient)

    @property
    def decayed(self) -> list[tuple[int, int]]:
        """The stretches ``[start, stop)`` of the flat buffer that hold decayed parameters,
        neighbours merged (a Dense layer's weight, then its bias, then the next weight: two)."""
        if getattr(self, "_decayed_for", None) is not self.flat:
            stretches, start = [], 0
            for parameter in self.flat.parameters:
                stop = start + parameter.size
                if parameter.decay and stretches and stretches[-1][1] == start:
                    stretches[-1] = (stretches[-1][0], stop)
                elif parameter.decay:
                    stretches.append((start, stop))
                start = stop
            self._decayed, self._decayed_for = stretches, self.flat
        return self._decayed


def _add_scaled(target: np.ndarray, source: np.ndarray, factor: float, scratch: np.ndarray) -> None:
    """target += factor·source, through ``scratch`` instead of a temporary array."""
    np.multiply(source, factor, out=scratch)
    target += scratch


OPTIMIZERS = {
    "sgd": SGD,
    "momentum": lambda parameters, **kw: SGD(parameters, **({"momentum": 0.9} | kw)),
    "nesterov": lambda parameters, **kw: SGD(
        parameters, **({"momentum": 0.9, "nesterov": True} | kw)
    ),
    "rmsprop": RMSProp,
    "adam": Adam,
    "adamw": AdamW,
}


def get_optimizer(optimizer: str | Optimizer, parameters: Iterable[Parameter], **settings) -> Optimizer:
    """Build an optimiser by name (``"adam"``) on ``parameters``; an :class:`Optimizer` passes
    through, anything else is refused with a ``TypeError`` naming the parameter."""
    return resolve(
        optimizer, OPTIMIZERS, "optimizer", Optimizer, "optimizer", parameters=parameters, **settings
    )
