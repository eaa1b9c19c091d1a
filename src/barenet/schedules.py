"""Learning-rate schedules: the learning rate as a function of time.

A schedule maps the epoch (or, with ``per="step"``, the batch step) counted from 0 to a
learning rate. The trainer sets ``optimizer.lr = schedule(t)`` before each epoch or step.
"""

from __future__ import annotations

import math

from .errors import BarenetError
from .validation import check_choice, check_int, check_number, resolve


class Schedule:
    """Base class. ``lr`` is the initial learning rate; ``per`` is "epoch" or "step"."""

    def __init__(self, lr: float, per: str = "epoch") -> None:
        self.lr = check_number("lr", lr, low=0.0, low_open=True)
        self.per = check_choice("per", per, ("epoch", "step"))

    def __call__(self, t: int) -> float:
        raise NotImplementedError

    def config(self) -> dict:
        return dict(vars(self))

    def __repr__(self) -> str:
        settings = ", ".join(f"{k}={v!r}" for k, v in self.config().items())
        return f"{type(self).__name__}({settings})"


class Constant(Schedule):
    """lr(t) = lr₀."""

    def __call__(self, t: int) -> float:
        return self.lr


class InverseTimeDecay(Schedule):
    """lr(t) = lr₀ / (1 + d·t), the decay of the classic tutorials."""

    def __init__(self, lr: float, decay: float = 0.01, per: str = "epoch") -> None:
        super().__init__(lr, per)
        self.decay = check_number("decay", decay, low=0.0)

    def __call__(self, t: int) -> float:
        return self.lr / (1 + self.decay * t)


class StepDecay(Schedule):
    """lr(t) = lr₀ · γ^⌊t / step_size⌋: drop by a factor γ every ``step_size`` epochs."""

    def __init__(self, lr: float, step_size: int = 10, gamma: float = 0.1, per: str = "epoch"):
        super().__init__(lr, per)
        self.step_size = check_int("step_size", step_size)
        self.gamma = check_number("gamma", gamma, 0.0, 1.0, low_open=True)

    def __call__(self, t: int) -> float:
        return self.lr * self.gamma ** (t // self.step_size)


class ExponentialDecay(Schedule):
    """lr(t) = lr₀ · γᵗ."""

    def __init__(self, lr: float, gamma: float = 0.95, per: str = "epoch") -> None:
        super().__init__(lr, per)
        self.gamma = check_number("gamma", gamma, 0.0, 1.0, low_open=True)

    def __call__(self, t: int) -> float:
        return self.lr * self.gamma**t


class CosineDecay(Schedule):
    """Linear warm-up over ``warmup`` units, then a half cosine from lr₀ down to ``min_lr``
    at t = ``total``: lr(t) = min + ½(lr₀ − min)(1 + cos(π·(t − warmup)/(total − warmup)))."""

    def __init__(
        self, lr: float, total: int, min_lr: float = 0.0, warmup: int = 0, per: str = "epoch"
    ) -> None:
        super().__init__(lr, per)
        self.total = check_int("total", total)
        self.warmup = check_int("warmup", warmup, low=0)
        if self.warmup >= self.total:
            raise BarenetError(f"warmup must be below total ({self.total}); got {self.warmup}")
        self.min_lr = check_number("min_lr", min_lr, 0.0, self.lr)

    def __call__(self, t: int) -> float:
        if t < self.warmup:
            return self.lr * (t + 1) / self.warmup
        progress = min(1.0, (t - self.warmup) / (self.total - self.warmup))
        return self.min_lr + 0.5 * (self.lr - self.min_lr) * (1 + math.cos(math.pi * progress))


SCHEDULES = {
    "constant": Constant,
    "inverse_time": InverseTimeDecay,
    "step": StepDecay,
    "exponential": ExponentialDecay,
    "cosine": CosineDecay,
}


def get_schedule(schedule: str | Schedule, lr: float, **settings) -> Schedule:
    """Build a schedule by name (``"cosine"``, with ``total=`` epochs); a :class:`Schedule`
    passes through, anything else is refused with a ``TypeError`` naming the parameter."""
    return resolve(schedule, SCHEDULES, "learning-rate schedule", Schedule, "schedule", lr=lr, **settings)
