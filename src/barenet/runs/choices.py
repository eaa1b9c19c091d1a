"""The names and defaults a run configuration takes from the library, never typed twice.

The valid optimisers, losses, activations, initialisers and schedules are those of the
library's registries (:data:`barenet.optim.OPTIMIZERS`, :data:`barenet.losses.LOSSES`,
:data:`barenet.layers.ACTIVATIONS`, :data:`barenet.init.INITIALIZERS`,
:data:`barenet.schedules.SCHEDULES`), under their first name (later names of the same entry
are aliases). The defaults (learning rate, momentum, weight decay, a schedule's decay) are
those of the optimiser and schedule constructors, read by building them. The configuration's
checks, the command line's choices and its ``--help`` all come from here.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Mapping

import numpy as np

from ..errors import BarenetError
from ..init import INITIALIZERS
from ..layers import ACTIVATIONS
from ..losses import LOSSES
from ..optim import OPTIMIZERS, get_optimizer
from ..parameter import Parameter
from ..schedules import SCHEDULES, get_schedule

OPTIMIZER_KEYS = ("lr", "momentum", "betas", "weight_decay", "max_grad_norm")  # handed to the optimiser
DECAY_PARAMETER = {"inverse_time": "decay", "exponential": "gamma", "step": "gamma"}  # what lr_decay sets
OUTPUT_ACTIVATION = {"cross_entropy": "softmax", "binary_cross_entropy": "sigmoid", "mse": "identity"}


def names(registry: Mapping[str, object]) -> tuple[str, ...]:
    """The first name of each entry of ``registry`` (the others are its aliases)."""
    first: dict[int, str] = {}
    for name, entry in registry.items():
        first.setdefault(id(entry), name)
    return tuple(first.values())


CHOICES: dict[str, tuple[str, ...]] = {
    # a softmax normalises a whole layer: an output activation, never a hidden one
    "activation": tuple(name for name in names(ACTIVATIONS) if name != "softmax"),
    "output_activation": tuple(OUTPUT_ACTIVATION.values()),  # the one each loss reads
    "loss": names(LOSSES),
    "init": names(INITIALIZERS),
    "bias_init": names(INITIALIZERS),
    "optimizer": names(OPTIMIZERS),
    "lr_schedule": names(SCHEDULES),
}


def probe() -> list[Parameter]:
    """One parameter to build an optimiser on, only to read its defaults or check settings."""
    return [Parameter(np.zeros(1), "probe")]


@functools.cache
def optimizer_defaults(optimizer: str) -> dict[str, object]:
    """The hyper-parameters an optimiser gets when none is given (``{"lr": 0.001, ...}``)."""
    return get_optimizer(optimizer, probe()).hyperparameters()


def takes_momentum(optimizer: str) -> bool:
    return "momentum" in optimizer_defaults(optimizer)


def takes_betas(optimizer: str) -> bool:
    return "betas" in optimizer_defaults(optimizer)


def default_lr_decay(schedule: str) -> float | None:
    """The default of the schedule's decay (``lr_decay``), None for a schedule without one."""
    if schedule not in DECAY_PARAMETER:
        return None
    return inspect.signature(SCHEDULES[schedule]).parameters[DECAY_PARAMETER[schedule]].default


def schedule_options(settings: Mapping[str, object]) -> dict[str, object]:
    """The settings of a learning-rate schedule that come from the configuration: a run of
    ``epochs`` sets it per epoch, a text run of ``steps`` per optimiser step."""
    schedule, lr_decay, steps = settings["lr_schedule"], settings.get("lr_decay"), settings.get("steps")
    length = max(steps or settings.get("epochs") or 1, 1)
    options: dict[str, object] = {"per": "step"} if steps else {}
    if schedule == "cosine":
        options["total"] = length
        options |= {key: settings[key] for key in ("warmup", "min_lr") if settings.get(key) is not None}
    if schedule == "step":
        options["step_size"] = max(1, length // 3)
    if schedule in DECAY_PARAMETER and lr_decay is not None:
        options[DECAY_PARAMETER[schedule]] = lr_decay
    return options


def library_refusal(settings: Mapping[str, object]) -> tuple[str, str, BarenetError] | None:
    """The first setting the optimiser or the schedule refuses, which of them refused it, and
    its error; None if they accept every one. Each is built as a run builds it, on a probe
    parameter: first with one setting at a time (to name the key), then with all of them."""
    optimizer, schedule = settings["optimizer"], settings["lr_schedule"]
    given = {key: settings[key] for key in OPTIMIZER_KEYS if settings.get(key) is not None}
    for key, value in [*given.items(), ("optimizer", None)]:
        try:
            get_optimizer(optimizer, probe(), **({key: value} if key in given else given))
        except BarenetError as error:
            return key, f"the {optimizer} optimizer", error
    lr = given.get("lr", optimizer_defaults(optimizer)["lr"])
    try:
        get_schedule(schedule, lr, **schedule_options(settings))
    except BarenetError as error:
        given = [key for key in ("warmup", "min_lr", "lr_decay") if settings.get(key) is not None]
        return (given or ["lr_schedule"])[0], f"the {schedule} schedule", error
    return None
