"""Learning-rate schedules: the learning rate as a function of time.

A schedule maps the epoch (or, with ``per="step"``, the batch step) counted from 0 to a
learning rate. The trainer sets ``optimizer.lr = schedule(t)`` before each epoch or step.
"""

from __future__ import annotations

import math

from .errors import BarenetError
from .validation import resolve


class Schedule:
    """Base class. ``lr`` is the initial learning rate; ``per`` is "epoch" or "step"."""

    def __init__(self, lr: float, per: str = "epoch") -> None:
        if not (isinstance(lr, (int, float)) and math.isfinite(lr) and lr > 0):
            raise BarenetError(f"lr must be a positive number; got {lr!r}")
        if per not in ("epoch", "step"):
            raise BarenetError(f"per must be 'epoch' or 'step'; got {per!r}")
        self.lr, self.per = float(lr), per

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
        if decay < 0:
            raise BarenetError(f"decay must be >= 0; got {decay}")
        self.decay = float(decay)

    def __call__(self, t: int) -> float:
        return self.lr / (1 + self.decay * t)


class StepDecay(Schedule):
    """lr(t) = lr₀ · γ^⌊t / step_size⌋: drop by a factor γ every ``step_size`` epochs."""

    def __init__(self, lr: float, step_size: int = 10, gamma: float = 0.1, per: str = "epoch"):
        super().__init__(lr, per)
        if step_size < 1 or not 0 < gamma <= 1:
            raise BarenetError(f"need step_size >= 1 and 0 < gamma <= 1; got {step_size}, {gamma}")
        self.step_size, self.gamma = int(step_size), float(gamma)

    def __call__(self, t: int) -> float:
        return self.lr * self.gamma ** (t // self.step_size)


class ExponentialDecay(Schedule):
    """lr(t) = lr₀ · γᵗ."""

    def __init__(self, lr: float, gamma: float = 0.95, per: str = "epoch") -> None:
        super().__init__(lr, per)
        if not 0 < gamma <= 1:
            raise BarenetError(f"gamma must be in (0, 1]; got {gamma}")
        self.gamma = float(gamma)

    def __call__(self, t: int) -> float:
        return self.lr * self.gamma**t


class CosineDecay(Schedule):
    """Linear warm-up over ``warmup`` units, then a half cosine from lr₀ down to ``min_lr``
    at t = ``total``: lr(t) = min + ½(lr₀ − min)(1 + cos(π·(t − warmup)/(total − warmup)))."""

    def __init__(
        self, lr: float, total: int, min_lr: float = 0.0, warmup: int = 0, per: str = "epoch"
    ) -> None:
        super().__init__(lr, per)
        if total < 1 or not 0 <= warmup < total or not 0 <= min_lr <= lr:
            raise BarenetError(
                f"need total >= 1, 0 <= warmup < total, 0 <= min_lr <= lr; "
                f"got total={total}, warmup={warmup}, min_lr={min_lr}"
            )
        self.total, self.min_lr, self.warmup = int(total), float(min_lr), int(warmup)

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
    """Build a schedule by name (``"cosine"``, with ``total=`` epochs); objects pass through."""
    return resolve(schedule, SCHEDULES, "learning-rate schedule", lr=lr, **settings)
