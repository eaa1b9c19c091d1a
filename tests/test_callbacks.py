"""Callbacks: early stopping, checkpoints every N epochs (atomic), history logger."""

from __future__ import annotations

import json
import os
from types import SimpleNamespace

import numpy as np
import pytest

from barenet import Callback, EarlyStopping, HistoryLogger, ModelCheckpoint, Trainer, mlp
from barenet.training import History
from barenet.training.callbacks import read_history_csv
from barenet.training.checkpoints import read_checkpoint


class StubModel:
    """What the callbacks touch of a model: its weights, through get_weights/set_weights."""

    def __init__(self) -> None:
        self.values = np.zeros(3)

    def get_weights(self) -> np.ndarray:
        return self.values.copy()

    def set_weights(self, values: np.ndarray) -> None:
        self.values[...] = values


def stub_trainer() -> SimpleNamespace:
    """What the callbacks touch of a Trainer: the model's weights, the history, stop_training."""
    return SimpleNamespace(model=StubModel(), history=History(), stop_training=False)


def run_epochs(callback: Callback, values: list[float], monitor: str = "val_loss") -> SimpleNamespace:
    """Feed ``values`` as the monitored metric, one per epoch; weights are set to the epoch."""
    trainer = stub_trainer()
    callback.on_train_begin(trainer)
    for epoch, value in enumerate(values):
        trainer.model.values[...] = epoch
        trainer.history.append(epoch, {monitor: value})
        callback.on_epoch_end(trainer, epoch, {monitor: value})
        if trainer.stop_training:
            break
    callback.on_train_end(trainer)
    trainer.stopped_after = epoch
    return trainer


def test_early_stopping_waits_patience_epochs_and_restores_the_best():
    trainer = run_epochs(EarlyStopping(patience=2), [1.0, 0.5, 0.6, 0.55, 0.4, 0.3])
    assert trainer.stopped_after == 3
    assert np.array_equal(trainer.model.values, np.ones(3))  # the best epoch was epoch 1
    assert "early stopping after epoch 4" in trainer.history.stop_reason
    assert "best 0.5000 at epoch 2" in trainer.history.stop_reason


def test_early_stopping_min_delta_mode_and_no_restore():
    trainer = run_epochs(EarlyStopping(patience=2, min_delta=0.1), [1.0, 0.95, 0.92, 0.5])
    assert trainer.stopped_after == 2  # improvements smaller than min_delta do not count
    trainer = run_epochs(EarlyStopping("val_accuracy", patience=1), [0.5, 0.7, 0.6, 0.9], "val_accuracy")
    assert trainer.stopped_after == 2 and np.array_equal(trainer.model.values, np.ones(3))
    trainer = run_epochs(EarlyStopping(patience=1, restore_best_weights=False), [1.0, 2.0, 3.0])
    assert trainer.stopped_after == 1 and np.array_equal(trainer.model.values, np.ones(3))
    with pytest.raises(ValueError, match="patience >= 1"):
        EarlyStopping(patience=0)
    with pytest.raises(ValueError, match="give validation data"):
        run_epochs(EarlyStopping("val_loss"), [1.0], monitor="loss")


def test_early_stopping_in_fit_ends_with_the_best_epochs_weights():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((200, 2)).astype(np.float32)
    y = (x[:, 0] * x[:, 1] > 0).astype(int)
    model = mlp([2, 32, 2], rng=0)

    class Recorder(Callback):
        def on_epoch_end(self, trainer, epoch, logs):
            snapshots.append(trainer.model.get_weights())

    snapshots: list[np.ndarray] = []
    trainer = Trainer(model, lr=0.05, batch_size=16, seed=0)
    history = trainer.fit(
        x, y, epochs=200, validation_split=0.5, callbacks=[Recorder(), EarlyStopping(patience=3)], verbose=0
    )
    losses = history.history["val_loss"]
    assert len(losses) < 200 and history.stop_reason.startswith("early stopping")
    best = int(np.argmin(losses))
    assert best == len(losses) - 4  # three epochs without improvement after the best
    assert np.array_equal(trainer.model.get_weights(), snapshots[best])


def test_model_checkpoint_every_n_epochs(tmp_path):
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((64, 2)).astype(np.float32), rng.integers(0, 2, 64)
    trainer = Trainer(mlp([2, 4, 2], rng=0), seed=0)
    callback = ModelCheckpoint(tmp_path / "state-{epoch}.npz", every=2, extra={"run": 7})
    trainer.fit(x, y, epochs=5, callbacks=[callback], verbose=0)
    assert sorted(path.name for path in tmp_path.iterdir()) == ["state-2.npz", "state-4.npz"]
    description, arrays = read_checkpoint(tmp_path / "state-4.npz")
    assert description["epoch"] == 4 and description["extra"] == {"run": 7}
    assert len(description["history"]["epochs"]) == 4
    with pytest.raises(ValueError, match="every must be >= 1"):
        ModelCheckpoint(tmp_path / "x.npz", every=0)


def test_checkpoint_writes_are_atomic(tmp_path, monkeypatch):
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((64, 2)).astype(np.float32), rng.integers(0, 2, 64)
    trainer = Trainer(mlp([2, 4, 2], rng=0), seed=0)
    path = tmp_path / "state.npz"
    trainer.fit(x, y, epochs=1, callbacks=[ModelCheckpoint(path)], verbose=0)
    before = path.read_bytes()

    def failing_replace(source, target):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", failing_replace)
    with pytest.raises(OSError, match="disk full"):
        trainer.fit(x, y, epochs=2, callbacks=[ModelCheckpoint(path)], verbose=0)
    assert path.read_bytes() == before  # the old checkpoint is whole
    assert [p.name for p in tmp_path.iterdir()] == ["state.npz"]  # no temporary file left behind


def test_history_logger_csv_and_json(tmp_path):
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((80, 2)).astype(np.float32), rng.integers(0, 3, 80)
    trainer = Trainer(mlp([2, 4, 3], rng=0), seed=0)
    loggers = [HistoryLogger(tmp_path / "history.csv"), HistoryLogger(tmp_path / "history.json")]
    history = trainer.fit(x, y, epochs=3, validation_split=0.25, callbacks=loggers, verbose=0)
    assert read_history_csv(tmp_path / "history.csv") == history.history
    assert (tmp_path / "history.csv").read_text().splitlines()[
        0
    ] == "epoch,loss,accuracy,val_loss,val_accuracy,lr"
    assert json.loads((tmp_path / "history.json").read_text()) == history.to_dict()
    with pytest.raises(ValueError, match=r"\.csv or \.json"):
        HistoryLogger(tmp_path / "history.txt")
    (tmp_path / "other.csv").write_text("a,b\n1,2\n")
    with pytest.raises(ValueError, match="not a barenet history file"):
        read_history_csv(tmp_path / "other.csv")
