"""What a training run reports: each step's result, the per-epoch metrics, and the ways it
can stop early."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np


class BatchResult(NamedTuple):
    """What one forward and backward pass produced."""

    loss: float
    output: np.ndarray
    input_grad: np.ndarray | None


class History:
    """Per-epoch metrics: ``history.history["val_accuracy"][epoch]``, as in Keras."""

    def __init__(self) -> None:
        self.history: dict[str, list[float]] = {}
        self.epochs: list[int] = []
        self.warnings: list[str] = []
        self.stop_reason: str | None = None

    def append(self, epoch: int, logs: dict[str, float]) -> None:
        self.epochs.append(epoch)
        for name, value in logs.items():
            self.history.setdefault(name, []).append(float(value))

    def to_dict(self) -> dict:
        return {"epochs": self.epochs, "history": self.history, "warnings": self.warnings,
                "stop_reason": self.stop_reason}

    @classmethod
    def from_dict(cls, data: dict) -> History:
        history = cls()
        history.epochs = list(data["epochs"])
        history.history = {name: list(values) for name, values in data["history"].items()}
        history.warnings = list(data.get("warnings", []))
        history.stop_reason = data.get("stop_reason")
        return history

    def __repr__(self) -> str:
        return f"History(epochs={len(self.epochs)}, metrics={list(self.history)})"


class TrainingInterrupted(KeyboardInterrupt):
    """Ctrl-C during training; ``checkpoint`` is where the state was saved (or None)."""

    def __init__(self, message: str, history: History, checkpoint: str | None) -> None:
        super().__init__(message)
        self.history, self.checkpoint = history, checkpoint


class TrainingWarning(UserWarning):
    """Training ran with finite numbers but something is clearly wrong (e.g. one class for all)."""
