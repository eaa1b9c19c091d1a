"""Optimisers: turn gradients into weight updates.

Each optimiser is built on ``model.parameters()`` and updates them in place with
``step()``. Update rules and hyper-parameter names follow PyTorch's documentation.
The model lays its parameters out in one flat buffer (:class:`FlatParameters`) and the
optimiser borrows it, so a step is a few whole-buffer NumPy passes, however many layers the
network has, and any number of optimisers train the same weights.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np

from .errors import BarenetError
from .parameter import Parameter, flat_parameters
from .validation import check_type, resolve

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
        _check_positive("lr", lr)
        if max_grad_norm is not None:
            _check_positive("max_grad_norm", max_grad_norm)
        self.flat = flat_parameters(parameters)  # the model's buffer, borrowed
        self.lr = float(lr)
        self.max_grad_norm = max_grad_norm
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
        super().__init__(parameters, lr, max_grad_norm)
        _check_fraction("momentum", momentum)
        _check_non_negative("weight_decay", weight_decay)
        if nesterov and (momentum <= 0 or dampening != 0):
            raise BarenetError("nesterov momentum needs momentum > 0 and dampening = 0")
        self.momentum, self.dampening = float(momentum), float(dampening)
        self.nesterov, self.weight_decay = bool(nesterov), float(weight_decay)
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
        super().__init__(parameters, lr, max_grad_norm)
        _check_fraction("alpha", alpha)
        _check_positive("eps", eps)
        _check_non_negative("weight_decay", weight_decay)
        self.alpha, self.eps, self.weight_decay = float(alpha), float(eps), float(weight_decay)
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

    m ← β₁m + (1 − β₁)g;  v ← β₂v + (1 − β₂)g²;
    θ ← θ − lr·m̂ / (√v̂ + ε), with m̂ = m/(1 − β₁ᵗ), v̂ = v/(1 − β₂ᵗ).
    ``weight_decay`` adds λθ to the gradient (L2); for decoupled decay use :class:`AdamW`.
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
        super().__init__(parameters, lr, max_grad_norm)
        if len(betas) != 2:
            raise BarenetError(f"betas must be a pair (beta1, beta2); got {betas!r}")
        for index, beta in enumerate(betas, start=1):
            _check_fraction(f"beta{index}", beta)
        _check_positive("eps", eps)
        _check_non_negative("weight_decay", weight_decay)
        self.betas = (float(betas[0]), float(betas[1]))
        self.eps, self.weight_decay = float(eps), float(weight_decay)
        self.first_moment = np.zeros_like(self.flat.values)
        self.second_moment = np.zeros_like(self.flat.values)

    def update(self, values: np.ndarray, gradient: np.ndarray) -> None:
        if self.weight_decay:
            _add_scaled(gradient, values, self.weight_decay, self.scratch)  # g ← g + λθ
        self.adam_step(values, gradient)

    def adam_step(self, values: np.ndarray, gradient: np.ndarray) -> None:
        """Twelve in-place passes over the flat buffers; no array is allocated."""
        beta1, beta2 = self.betas
        m, v, scratch = self.first_moment, self.second_moment, self.scratch
        np.subtract(gradient, m, out=scratch)
        scratch *= 1 - beta1
        m += scratch  # m ← β₁m + (1 − β₁)g, computed as m + (1 − β₁)(g − m)
        np.multiply(gradient, gradient, out=scratch)
        scratch -= v
        scratch *= 1 - beta2
        v += scratch  # v ← β₂v + (1 − β₂)g², computed as v + (1 − β₂)(g² − v)
        # θ ← θ − lr·m̂/(√v̂ + ε), m̂ = m/(1 − β₁ᵗ), v̂ = v/(1 − β₂ᵗ). With c = √(1 − β₂ᵗ) this is
        # θ − m / ((√v + ε·c) · k), k = (1 − β₁ᵗ)/(lr·c): both corrections folded into scalars.
        correction = math.sqrt(1 - beta2**self.step_count)
        np.sqrt(v, out=scratch)
        scratch += self.eps * correction
        scratch *= (1 - beta1**self.step_count) / (self.lr * correction)
        np.divide(m, scratch, out=scratch)
        values -= scratch

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


def _check_positive(name: str, value: float) -> None:
    if not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0):
        raise BarenetError(f"{name} must be a positive number; got {value!r}")


def _check_non_negative(name: str, value: float) -> None:
    if not (isinstance(value, (int, float)) and math.isfinite(value) and value >= 0):
        raise BarenetError(f"{name} must be a number >= 0; got {value!r}")


def _check_fraction(name: str, value: float) -> None:
    if not (isinstance(value, (int, float)) and 0 <= value < 1):
        raise BarenetError(f"{name} must be in [0, 1); got {value!r}")


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
    """Build an optimiser by name (``"adam"``) on ``parameters``; objects pass through."""
    if not isinstance(optimizer, str):
        check_type("optimizer", optimizer, Optimizer, "an optimizer name such as 'adam' or an Optimizer")
    return resolve(optimizer, OPTIMIZERS, "optimizer", parameters=parameters, **settings)
