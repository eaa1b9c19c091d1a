"""The reference optimisers: SGD and Adam as the textbook and the paper write them.

One parameter at a time, one line per equation, nothing folded, nothing in place that does
not have to be. They train a model like the optimisers of :mod:`barenet.optim`::

    optimizer = PlainAdam(model.parameters(), lr=0.001)
    ...                                  # forward, loss, backward: parameter.grad is filled
    optimizer.step()

:class:`barenet.optim.SGD` and :class:`barenet.optim.Adam` compute the same updates faster
(one flat buffer, in-place passes, folded bias corrections); the tests check, in float64
over many steps and random shapes, that they give the same weights as these.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from .optim import DEFAULT_LR
from .parameter import Parameter
from .validation import check_number


class PlainSGD:
    """Stochastic gradient descent: θ ← θ − lr·g for every parameter θ with gradient g."""

    def __init__(self, parameters: Iterable[Parameter], lr: float = DEFAULT_LR["sgd"]) -> None:
        self.parameters = list(parameters)
        self.lr = check_number("lr", lr, low=0.0, low_open=True)

    def step(self) -> None:
        for parameter in self.parameters:
            parameter.value -= self.lr * parameter.grad  # θ ← θ − lr·g


class PlainAdam:
    """Adam (Kingma & Ba, 2015, Algorithm 1), line by line.

    m ← β₁m + (1 − β₁)g;  v ← β₂v + (1 − β₂)g²;  m̂ = m/(1 − β₁ᵗ);  v̂ = v/(1 − β₂ᵗ);
    θ ← θ − lr·m̂/(√v̂ + ε)
    """

    def __init__(
        self, parameters: Iterable[Parameter], lr: float = DEFAULT_LR["adam"],
        betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
    ) -> None:
        self.parameters = list(parameters)
        self.lr = check_number("lr", lr, low=0.0, low_open=True)
        self.beta1 = check_number("beta1", betas[0], 0.0, 1.0, high_open=True)
        self.beta2 = check_number("beta2", betas[1], 0.0, 1.0, high_open=True)
        self.eps = check_number("eps", eps, low=0.0, low_open=True)
        self.m = [np.zeros_like(parameter.value) for parameter in self.parameters]  # first moments
        self.v = [np.zeros_like(parameter.value) for parameter in self.parameters]  # second moments
        self.t = 0  # steps taken

    def step(self) -> None:
        self.t += 1
        for i, parameter in enumerate(self.parameters):
            g = parameter.grad
            self.m[i] = self.beta1 * self.m[i] + (1 - self.beta1) * g  # m ← β₁m + (1 − β₁)g
            self.v[i] = self.beta2 * self.v[i] + (1 - self.beta2) * g**2  # v ← β₂v + (1 − β₂)g²
            m_hat = self.m[i] / (1 - self.beta1**self.t)  # m̂ = m/(1 − β₁ᵗ)
            v_hat = self.v[i] / (1 - self.beta2**self.t)  # v̂ = v/(1 − β₂ᵗ)
            parameter.value -= self.lr * m_hat / (np.sqrt(v_hat) + self.eps)  # θ ← θ − lr·m̂/(√v̂ + ε)
