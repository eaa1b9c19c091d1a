"""Gradient checking: compare backpropagation with central finite differences, in float64."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field

import numpy as np

from .layers import walk_layers
from .losses import L2Penalty, Loss, get_loss
from .model import Sequential
from .validation import check_int, check_number


@dataclass
class GradcheckResult:
    """Worst relative error |analytic − numeric| / max(|analytic|, |numeric|, floor)
    for each parameter (by name) and for the input."""

    parameters: dict[str, float] = field(default_factory=dict)
    input: float = 0.0
    tolerance: float = 1e-6

    @property
    def worst(self) -> float:
        return max([self.input, *self.parameters.values()])

    @property
    def passed(self) -> bool:
        return self.worst < self.tolerance

    def table(self) -> str:
        rows = [*self.parameters.items(), ("input", self.input)]
        width = max(len(name) for name, _ in rows)
        lines = [f"{'parameter'.ljust(width)}  worst relative error"]
        lines += [
            f"{name.ljust(width)}  {error:.2e}  {'ok' if error < self.tolerance else 'FAIL'}"
            for name, error in rows
        ]
        return "\n".join(lines)


def gradcheck(
    model: Sequential,
    loss: str | Loss,
    x: np.ndarray,
    y: np.ndarray,
    l2: float = 0.0,
    training: bool = False,
    epsilon: float = 1e-5,
    floor: float = 1e-3,
    max_entries: int | None = None,
    tolerance: float = 1e-6,
    rng: np.random.Generator | int | None = 0,
) -> GradcheckResult:
    """Check every gradient of ``model`` under ``loss`` on the batch (x, y).

    Works on a float64 copy of the model; the model itself is untouched. Each entry θ is
    nudged to θ ± ε and θ ± 2ε and the numeric gradient, the five-point central difference
    [8(L(θ+ε) − L(θ−ε)) − (L(θ+2ε) − L(θ−2ε))] / 12ε, is compared with backpropagation.
    Gradients smaller than ``floor`` are compared against ``floor``, so finite-difference
    round-off cannot pass for an error. With ``training=True``
    dropout is on, with the same mask in every evaluation (each layer's random
    generator is rewound). ``max_entries`` samples that many entries per parameter. Integer
    token ids (a model that starts with an Embedding) are passed as they are, and only the
    parameters are checked.
    """
    epsilon = check_number("epsilon", epsilon, low=0.0, low_open=True)
    floor = check_number("floor", floor, low=0.0, low_open=True)
    tolerance = check_number("tolerance", tolerance, low=0.0, low_open=True)
    if max_entries is not None:
        max_entries = check_int("max_entries", max_entries)
    model = copy.deepcopy(model).astype(np.float64)
    loss = get_loss(loss)  # losses keep nothing between calls: the caller's object is safe to use
    penalty = L2Penalty(l2)
    ids = np.asarray(x).dtype.kind in "iu"  # token ids: no gradient to check
    x = np.array(x, dtype=np.int64 if ids else np.float64)
    generators = [layer.rng for _, layer in walk_layers(model.layers) if hasattr(layer, "rng")]
    saved_states = [copy.deepcopy(g.bit_generator.state) for g in generators]

    def rewind() -> None:
        for generator, state in zip(generators, saved_states):
            generator.bit_generator.state = copy.deepcopy(state)

    def loss_at() -> float:
        rewind()
        return model.loss_value(x, y, loss, l2=penalty, training=training)

    rewind()
    analytic_input = model.compute_gradients(
        x, y, loss, l2=penalty, training=training, input_grad=not ids
    ).input_grad
    result = GradcheckResult(tolerance=tolerance)
    picker = np.random.default_rng(rng)
    for name, parameter in zip(model.parameter_names(), model.parameters()):
        analytic = parameter.grad.copy()
        result.parameters[name] = _worst_error(
            parameter.value, analytic, loss_at, epsilon, floor, max_entries, picker
        )
    if not ids:
        result.input = _worst_error(x, analytic_input, loss_at, epsilon, floor, max_entries, picker)
    return result


def _worst_error(values, analytic, loss_at, epsilon, floor, max_entries, picker) -> float:
    flat_values, flat_analytic = values.reshape(-1), analytic.reshape(-1)
    entries = np.arange(flat_values.size)
    if max_entries is not None and entries.size > max_entries:
        entries = picker.choice(entries, size=max_entries, replace=False)
    worst = 0.0
    for entry in entries:
        original = flat_values[entry]
        losses = []
        for step in (2 * epsilon, epsilon, -epsilon, -2 * epsilon):
            flat_values[entry] = original + step
            losses.append(loss_at())
        flat_values[entry] = original
        plus_two, plus_one, minus_one, minus_two = losses
        # five-point central difference: error O(ε⁴) instead of O(ε²)
        numeric = (8 * (plus_one - minus_one) - (plus_two - minus_two)) / (12 * epsilon)
        exact = flat_analytic[entry]
        error = abs(exact - numeric) / max(abs(exact), abs(numeric), floor)
        worst = max(worst, error)
    return worst
