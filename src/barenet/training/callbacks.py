"""Callbacks: small objects the trainer calls at the start, after each epoch, and at the end."""

from __future__ import annotations

import csv
import io
import json
import math
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import BarenetError
from ..saving.atomic import write_atomic
from .checkpoints import save_checkpoint

if TYPE_CHECKING:
    from .trainer import Trainer


class Callback:
    """Override any of the three hooks. Set ``trainer.stop_training = True`` to stop.

    Read and write the weights through the model (``trainer.model.get_weights()``,
    ``set_weights``), as Keras's callbacks do; they belong to the model, not to the optimiser.
    """

    def on_train_begin(self, trainer: Trainer) -> None:
        pass

    def on_epoch_end(self, trainer: Trainer, epoch: int, logs: dict[str, float]) -> None:
        pass

    def on_train_end(self, trainer: Trainer) -> None:
        pass


class EarlyStopping(Callback):
    """Stop when ``monitor`` has not improved by more than ``min_delta`` for ``patience`` epochs.

    ``mode`` is "min" (losses), "max" (accuracy, r2) or "auto" (max for accuracy and r2).
    With ``restore_best_weights`` the model ends with the weights of its best epoch.
    """

    def __init__(
        self,
        monitor: str = "val_loss",
        patience: int = 5,
        min_delta: float = 0.0,
        mode: str = "auto",
        restore_best_weights: bool = True,
    ) -> None:
        if patience < 1 or min_delta < 0:
            raise BarenetError(f"need patience >= 1 and min_delta >= 0; got {patience}, {min_delta}")
        if mode == "auto":
            mode = "max" if monitor.endswith(("accuracy", "r2")) else "min"
        if mode not in ("min", "max"):
            raise BarenetError(f"mode must be 'min', 'max' or 'auto'; got {mode!r}")
        self.monitor, self.patience, self.min_delta = monitor, patience, min_delta
        self.mode, self.restore_best_weights = mode, restore_best_weights

    def on_train_begin(self, trainer: Trainer) -> None:
        self.best = math.inf if self.mode == "min" else -math.inf
        self.best_epoch: int | None = None
        self.best_values = None
        self.epochs_without_improvement = 0
        # A resumed run replays the epochs it already has, so that it stops where the
        # uninterrupted run would; weights of a best epoch before the resume are not kept.
        for epoch, value in zip(trainer.history.epochs, trainer.history.history.get(self.monitor, [])):
            self._record(value, epoch)

    def on_epoch_end(self, trainer: Trainer, epoch: int, logs: dict[str, float]) -> None:
        if self.monitor not in logs:
            raise BarenetError(
                f"EarlyStopping monitors {self.monitor!r} but the epoch logs hold {sorted(logs)}; "
                "give validation data to monitor a val_ metric"
            )
        if self._record(logs[self.monitor], epoch):
            if self.restore_best_weights:
                self.best_values = trainer.model.get_weights()
        elif self.epochs_without_improvement >= self.patience:
            trainer.stop_training = True
            trainer.history.stop_reason = (
                f"early stopping after epoch {epoch + 1}: {self.monitor} has not improved for "
                f"{self.patience} epochs (best {self.best:.4f} at epoch {self.best_epoch + 1})"
            )

    def _record(self, value: float, epoch: int) -> bool:
        """Note one epoch's value; True when it is an improvement."""
        if self.mode == "min":
            improved = value < self.best - self.min_delta
        else:
            improved = value > self.best + self.min_delta
        if improved:
            self.best, self.best_epoch = value, epoch
            self.epochs_without_improvement = 0
        else:
            self.epochs_without_improvement += 1
        return improved

    def on_train_end(self, trainer: Trainer) -> None:
        if self.best_values is not None:
            trainer.model.set_weights(self.best_values)


class ModelCheckpoint(Callback):
    """Save the full training state every ``every`` epochs (atomically), for ``--resume``.

    ``path`` may contain ``{epoch}`` to keep one file per save; otherwise it is overwritten.
    """

    def __init__(self, path: str | Path, every: int = 1, extra: dict | None = None) -> None:
        if every < 1:
            raise BarenetError(f"every must be >= 1; got {every}")
        self.path, self.every, self.extra = str(path), every, extra

    def on_epoch_end(self, trainer: Trainer, epoch: int, logs: dict[str, float]) -> None:
        if (epoch + 1) % self.every == 0:
            save_checkpoint(trainer, self.path.format(epoch=epoch + 1), extra=self.extra)


class HistoryLogger(Callback):
    """Write the history after every epoch to a ``.csv`` (one row per epoch) or ``.json`` file."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        if self.path.suffix not in (".csv", ".json"):
            raise BarenetError(f"HistoryLogger writes .csv or .json files; got {self.path.name!r}")

    def on_epoch_end(self, trainer: Trainer, epoch: int, logs: dict[str, float]) -> None:
        write_atomic(self.path, history_text(trainer.history, self.path.suffix))


def history_text(history, suffix: str) -> str:
    """The history as CSV (columns: epoch and each metric) or JSON text."""
    if suffix == ".json":
        return json.dumps(history.to_dict(), indent=2)
    names = list(history.history)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["epoch", *names])
    for row, epoch in enumerate(history.epochs):
        values = [history.history[name][row] if row < len(history.history[name]) else "" for name in names]
        writer.writerow([epoch + 1, *values])
    return out.getvalue()


def read_history_csv(path: str | Path) -> dict[str, list[float]]:
    """The per-epoch metrics of a history ``.csv`` written by :class:`HistoryLogger`."""
    try:
        with Path(path).open(newline="", encoding="utf-8") as file:
            rows = list(csv.DictReader(file))
    except (UnicodeDecodeError, csv.Error) as error:
        raise BarenetError(f"{path} is not a barenet history file ({error})") from None
    if not rows or "epoch" not in rows[0]:
        raise BarenetError(f"{path} is not a barenet history file (no 'epoch' column or no rows)")
    names = [name for name in rows[0] if name != "epoch"]
    try:
        return {name: [float(row[name]) for row in rows if row[name] != ""] for name in names}
    except (TypeError, ValueError):  # a cell that is not a number, or a row longer than the header
        raise BarenetError(f"{path} is not a barenet history file: a row holds more than numbers") from None
