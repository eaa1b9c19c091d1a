"""Checkpoints: the whole state of a training run, so it can resume bit for bit.

A checkpoint holds the model's weights, the optimiser's state (moments, step count), every
random generator's state, the epoch and step (and the position inside an interrupted
epoch), and the history so far. It is a ``.npz`` like a model file: no pickle, written
atomically. ``extra`` carries anything the caller needs to rebuild the run (the command
line stores its resolved configuration there).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..errors import ModelFileError
from ..layers import walk_layers
from ..saving.archive import FORMAT_VERSION, read_npz, write_npz_atomic
from ..saving.schema import check_model_description, fail, get, integer, kind_name, number, text
from .history import History

if TYPE_CHECKING:
    from .trainer import Trainer

CHECKPOINT_FORMAT = "barenet-checkpoint"


def save_checkpoint(trainer: Trainer, path: str | Path, extra: dict | None = None) -> Path:
    """Write ``trainer``'s state to ``path``; returns the path written. Weights that are not
    finite are refused (ModelFileError): such a checkpoint is never written."""
    model_info, model_arrays = trainer.model.describe()
    arrays = {f"model.{name}": array for name, array in model_arrays.items()}
    arrays |= {f"optimizer.{name}": array for name, array in trainer.optimizer.state().items()}
    description = {
        "format": CHECKPOINT_FORMAT,
        "version": FORMAT_VERSION,
        "model": model_info,
        "optimizer": {"type": type(trainer.optimizer).__name__, "step_count": trainer.optimizer.step_count,
                      "lr": trainer.optimizer.lr},
        "epoch": trainer.epoch,
        "step": trainer.step,
        "split_seed": trainer.split_seed,
        "resume_point": trainer._resume_point,
        "random": {name: g.bit_generator.state for name, g in trainer.generators().items()},
        "history": trainer.history.to_dict(),
        "extra": extra or {},
    }
    return write_npz_atomic(path, arrays, description)


def read_checkpoint(path: str | Path) -> tuple[dict, dict[str, np.ndarray]]:
    """The checkpoint's description and arrays, checked for format."""
    return read_npz(path, expected_format=CHECKPOINT_FORMAT)


def load_checkpoint(trainer: Trainer, path: str | Path) -> dict:
    """Restore a run into ``trainer``, which must have the same architecture and optimiser:
    the weights and buffers (e.g. a Standardize layer's statistics, batch norm's running
    statistics) into the model, the rest into the trainer.

    Every field of the checkpoint is checked (types, ranges, shapes, finite weights, random
    states for the right generators) before anything in ``trainer`` changes, so a damaged
    file leaves the trainer as it was. Returns the checkpoint's ``extra`` dictionary.
    """
    description, arrays = read_checkpoint(path)
    restore = check_checkpoint(trainer, description, arrays, str(path))
    trainer.model.set_weights(restore.weights)
    layers = dict(walk_layers(trainer.model.layers))
    for (key, name), array in restore.buffers.items():
        layers[key].set_buffer(name, array)
    trainer.optimizer.load_state(restore.optimizer_state, restore.step_count)
    trainer.optimizer.lr = restore.lr
    for name, generator in trainer.generators().items():
        generator.bit_generator.state = restore.random[name]
    trainer.epoch, trainer.step, trainer.split_seed = restore.epoch, restore.step, restore.split_seed
    trainer._resume_point = restore.resume_point
    trainer.history = restore.history
    return restore.extra


@dataclass
class Restore:
    """Everything a checkpoint sets in a trainer, checked."""

    weights: np.ndarray
    buffers: dict[tuple[str, str], np.ndarray]  # (layer key such as "layers.3", buffer name) → array
    optimizer_state: dict[str, np.ndarray]
    step_count: int
    lr: float
    random: dict[str, dict]
    epoch: int
    step: int
    split_seed: int
    resume_point: dict | None
    history: History
    extra: dict


def check_checkpoint(
    trainer: Trainer, description: dict, arrays: dict[str, np.ndarray], source: str
) -> Restore:
    """Check every field of a checkpoint against ``trainer``; touches nothing."""
    model_info = get(description, "model", dict, source, "checkpoint")
    model_arrays = {key[len("model."):]: array for key, array in arrays.items() if key.startswith("model.")}
    check_model_description(model_info, model_arrays, source)
    expected, _ = trainer.model.describe()
    if _architecture(model_info) != _architecture(expected):
        raise ModelFileError(
            f"{source} is a checkpoint of another architecture:\n  checkpoint: "
            f"{_architecture(model_info)}\n  this run:   {_architecture(expected)}"
        )
    optimizer_info = get(description, "optimizer", dict, source, "checkpoint")
    optimizer_type = text(get(optimizer_info, "type", str, source, "optimizer"), source, "optimizer.type")
    if optimizer_type != type(trainer.optimizer).__name__:
        raise ModelFileError(
            f"{source} was trained with {optimizer_type}, this run uses {type(trainer.optimizer).__name__}"
        )
    layers = walk_layers(trainer.model.layers)  # a block's parameters are its layers'
    weights = [
        _take(arrays, f"model.{key}.{parameter.name}", parameter.shape, source).ravel()
        for key, layer in layers if not layer.sublayers()
        for parameter in layer.parameters()
    ]
    buffers = {
        (key, name): _take(arrays, f"model.{key}.{name}", array.shape, source)
        for key, layer in layers
        for name, array in layer.buffers().items()
    }
    optimizer_state = {
        name: _take(arrays, f"optimizer.{name}", array.shape, source)
        for name, array in trainer.optimizer.state().items()
    }
    epoch = integer(get(description, "epoch", int, source, "checkpoint"), source, "epoch", 0, 2**40)
    return Restore(
        weights=np.concatenate(weights) if weights else np.empty(0),
        buffers=buffers,
        optimizer_state=optimizer_state,
        step_count=integer(get(optimizer_info, "step_count", int, source, "optimizer"), source,
                           "optimizer.step_count", 0, 2**62),
        lr=number(get(optimizer_info, "lr", (int, float), source, "optimizer"), source, "optimizer.lr", 0.0),
        random=_check_random(get(description, "random", dict, source, "checkpoint"), trainer, source),
        epoch=epoch,
        step=integer(get(description, "step", int, source, "checkpoint"), source, "step", 0, 2**62),
        split_seed=integer(get(description, "split_seed", int, source, "checkpoint"), source, "split_seed",
                           0, 2**63 - 1),
        resume_point=_check_resume_point(description.get("resume_point"), trainer, source),
        history=_check_history(get(description, "history", dict, source, "checkpoint"), epoch, source),
        extra=get(description, "extra", dict, source, "checkpoint", default={}),
    )


def _architecture(model_info: dict) -> list:
    return [(layer["type"], layer.get("config", {})) for layer in model_info["layers"]]


def _take(arrays: dict[str, np.ndarray], key: str, shape: tuple[int, ...], source: str) -> np.ndarray:
    if key not in arrays or arrays[key].shape != shape:
        found = arrays[key].shape if key in arrays else "nothing"
        raise ModelFileError(f"{source}: expected array {key!r} of shape {shape}, found {found}")
    array = arrays[key]
    if array.dtype.kind != "f" or not np.isfinite(array).all():
        found = "non-finite values" if array.dtype.kind == "f" else f"{array.dtype} values"
        raise ModelFileError(
            f"{source}: array {key!r} holds {found}; a checkpoint holds finite floating-point "
            "weights only (the file is damaged)"
        )
    return array


def _check_random(states: dict, trainer: Trainer, source: str) -> dict[str, dict]:
    generators = trainer.generators()
    if set(generators) != set(states):
        raise ModelFileError(
            f"{source} holds random states for {sorted(states)} but this run has "
            f"{sorted(generators)}; resume with the same options (augmentation, dropout)"
        )
    for name, generator in generators.items():
        _check_generator_state(states[name], generator, source, f"random.{name}")
    return states


def _check_generator_state(state: object, generator: np.random.Generator, source: str, where: str) -> dict:
    """``state`` if a generator of ``generator``'s kind accepts it (tried on a fresh one)."""
    kind = type(generator.bit_generator)
    if not isinstance(state, dict) or state.get("bit_generator") != kind.__name__:
        found = state.get("bit_generator") if isinstance(state, dict) else kind_name(state)
        raise fail(source, where, f"must be the state of a {kind.__name__} generator, not {found!r}")
    try:
        kind().state = state
    except (ValueError, TypeError, KeyError, OverflowError) as error:
        raise fail(source, where, f"is not a valid {kind.__name__} state ({error})") from None
    return state


TOTALS = ("loss", "correct", "squared", "absolute", "seen")


def _check_resume_point(point: object, trainer: Trainer, source: str) -> dict | None:
    """None, or where an interrupted epoch stopped: its shuffle state, running totals, next batch."""
    if point is None:
        return None
    if not isinstance(point, dict):
        raise fail(source, "resume_point", f"must be an object or null, not {kind_name(point)}")
    _check_generator_state(get(point, "rng", dict, source, "resume_point"), trainer.rng, source,
                           "resume_point.rng")
    totals = get(point, "totals", dict, source, "resume_point")
    if sorted(totals) != sorted(TOTALS):
        raise fail(source, "resume_point.totals", f"must hold exactly {', '.join(TOTALS)}")
    for key in TOTALS:
        number(totals[key], source, f"resume_point.totals.{key}", 0.0 if key != "loss" else -math.inf)
    batch = integer(get(point, "batch", int, source, "resume_point"), source, "resume_point.batch", 0, 2**40)
    if batch > 0 and not totals["seen"] > 0:
        raise fail(source, "resume_point", "says batches were done but counts no samples seen")
    return {"rng": point["rng"], "totals": {key: float(totals[key]) for key in TOTALS}, "batch": batch}


def _check_history(data: dict, epoch: int, source: str) -> History:
    epochs = get(data, "epochs", list, source, "history")
    for index, value in enumerate(epochs):
        integer(value, source, f"history.epochs[{index}]", 0, max(epoch - 1, 0))
    if len(epochs) > epoch or any(later <= earlier for earlier, later in zip(epochs, epochs[1:])):
        raise fail(source, "history.epochs", f"must be increasing epoch numbers below epoch {epoch}")
    metrics = get(data, "history", dict, source, "history")
    for name, values in metrics.items():
        if not isinstance(values, list) or len(values) > len(epochs):
            raise fail(source, f"history.history.{name}", "must be a list with one number per epoch")
        for value in values:
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise fail(source, f"history.history.{name}", f"holds {kind_name(value)}, not a number")
    warnings = get(data, "warnings", list, source, "history", default=[])
    if not all(isinstance(warning, str) for warning in warnings):
        raise fail(source, "history.warnings", "must be a list of strings")
    stop_reason = get(data, "stop_reason", (str, type(None)), source, "history", default=None)
    return History.from_dict({"epochs": epochs, "history": metrics, "warnings": warnings,
                              "stop_reason": stop_reason})
