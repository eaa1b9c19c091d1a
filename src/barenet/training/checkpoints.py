"""Checkpoints: the whole state of a training run, so it can resume bit for bit.

A checkpoint holds the model's weights, the optimiser's state (moments, step count), every
random generator's state, the epoch and step (and the position inside an interrupted
epoch), and the history so far. It is a ``.npz`` like a model file: no pickle, written
atomically. ``extra`` carries anything the caller needs to rebuild the run (the command
line stores its resolved configuration there).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..errors import ModelFileError
from ..saving.archive import FORMAT_VERSION, read_npz, write_npz_atomic
from .history import History

if TYPE_CHECKING:
    from .trainer import Trainer

CHECKPOINT_FORMAT = "barenet-checkpoint"


def save_checkpoint(trainer: Trainer, path: str | Path, extra: dict | None = None) -> Path:
    """Write ``trainer``'s state to ``path``; returns the path written."""
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

    Returns the checkpoint's ``extra`` dictionary.
    """
    description, arrays = read_checkpoint(path)
    source = str(path)
    expected, _ = trainer.model.describe()
    if _architecture(description["model"]) != _architecture(expected):
        raise ModelFileError(
            f"{source} is a checkpoint of another architecture:\n  checkpoint: "
            f"{_architecture(description['model'])}\n  this run:   {_architecture(expected)}"
        )
    optimizer_info = description["optimizer"]
    if optimizer_info["type"] != type(trainer.optimizer).__name__:
        raise ModelFileError(
            f"{source} was trained with {optimizer_info['type']}, this run uses "
            f"{type(trainer.optimizer).__name__}"
        )
    weights = [
        _take(arrays, f"model.layers.{index}.{parameter.name}", parameter.shape, source).ravel()
        for index, layer in enumerate(trainer.model.layers)
        for parameter in layer.parameters()
    ]
    buffers = {
        (index, name): _take(arrays, f"model.layers.{index}.{name}", array.shape, source)
        for index, layer in enumerate(trainer.model.layers)
        for name, array in layer.buffers().items()
    }
    for array in [*weights, *buffers.values()]:
        if array.dtype.kind != "f" or not np.isfinite(array).all():
            raise ModelFileError(f"{source}: the checkpoint holds non-float or non-finite weights")
    trainer.model.set_weights(np.concatenate(weights) if weights else np.empty(0))
    for (index, name), array in buffers.items():
        trainer.model.layers[index].set_buffer(name, array)
    state = {name: arrays[f"optimizer.{name}"] for name in trainer.optimizer.state()}
    trainer.optimizer.load_state(state, optimizer_info["step_count"])
    trainer.optimizer.lr = optimizer_info["lr"]
    generators = trainer.generators()
    if set(generators) != set(description["random"]):
        raise ModelFileError(
            f"{source} holds random states for {sorted(description['random'])} but this run has "
            f"{sorted(generators)}; resume with the same options (augmentation, dropout)"
        )
    for name, generator in generators.items():
        generator.bit_generator.state = description["random"][name]
    trainer.epoch, trainer.step = description["epoch"], description["step"]
    trainer.split_seed = description["split_seed"]
    trainer._resume_point = description["resume_point"]
    trainer.history = History.from_dict(description["history"])
    return description["extra"]


def _architecture(model_info: dict) -> list:
    return [(layer["type"], layer["config"]) for layer in model_info["layers"]]


def _take(arrays: dict[str, np.ndarray], key: str, shape: tuple[int, ...], source: str) -> np.ndarray:
    if key not in arrays or arrays[key].shape != shape:
        found = arrays[key].shape if key in arrays else "nothing"
        raise ModelFileError(f"{source}: expected array {key!r} of shape {shape}, found {found}")
    return arrays[key]
