"""The training loop: mini-batches, epochs, validation, schedules, and stopping safely.

``Trainer`` owns one training run: the model, the loss, the optimiser, the schedule and
the random generators. ``fit`` (also ``model.fit``) is the one-call version.
Training that diverges stops with a :class:`DivergenceError` that says why, leaving the
model with its last finite weights; Ctrl-C finishes the batch, writes a checkpoint (when
a ``checkpoint_path`` is set) and raises :class:`TrainingInterrupted`.
"""

from __future__ import annotations

import math
import signal
import threading
import time
import warnings
from collections.abc import Callable, Sequence

import numpy as np

from .callbacks import Callback
from .datasets.batching import BatchGatherer
from .layers import Dropout, Rescale, Standardize
from .losses import L2Penalty, Loss, get_loss
from .metrics import accuracy, mean_absolute_error, mean_squared_error, r2_score
from .model import Sequential
from .optim import Optimizer, get_optimizer
from .progress import Progress
from .schedules import Schedule, get_schedule
from .validation import check_array, check_class_labels, check_same_length


class DivergenceError(RuntimeError):
    """Training produced a non-finite loss or weight; the model keeps its last finite weights."""

    def __init__(self, message: str, history: History) -> None:
        super().__init__(message)
        self.history = history


class TrainingInterrupted(KeyboardInterrupt):
    """Ctrl-C during training; ``checkpoint`` is where the state was saved (or None)."""

    def __init__(self, message: str, history: History, checkpoint: str | None) -> None:
        super().__init__(message)
        self.history, self.checkpoint = history, checkpoint


class TrainingWarning(UserWarning):
    """Training ran with finite numbers but something is clearly wrong (e.g. one class for all)."""


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


def evaluate(
    model: Sequential, x, y, loss: str | Loss | None = None, batch_size: int = 8192
) -> dict[str, float]:
    """Loss and metrics of ``model`` on (x, y), in evaluation mode (no dropout).

    Classification: ``loss`` and ``accuracy``. Regression: ``loss``, ``mse``, ``mae``, ``r2``.
    """
    loss = get_loss(loss if loss is not None else default_loss(model))
    x, y = check_data(model, x, y)
    outputs = model.predict_scores(x, batch_size, logits=loss.from_logits)
    results = {"loss": loss.forward(outputs, y)}
    if model.task == "classification":
        results["accuracy"] = accuracy(y, class_ids(outputs))
    else:
        predictions = outputs if not loss.from_logits else model.predict(x)
        y_matrix = y.reshape(predictions.shape)
        results["mse"] = mean_squared_error(y_matrix, predictions)
        results["mae"] = mean_absolute_error(y_matrix, predictions)
        results["r2"] = r2_score(y_matrix, predictions)
    return results


def class_ids(scores: np.ndarray) -> np.ndarray:
    """Predicted classes from logits or probabilities of shape (n, n_classes), or (n, 1) binary."""
    return (scores[:, 0] > 0).astype(np.int64) if scores.shape[1] == 1 else scores.argmax(axis=1)


def default_loss(model: Sequential) -> str:
    if model.task == "regression":
        return "mse"
    return "binary_cross_entropy" if model.out_features == 1 else "cross_entropy"


def check_data(model: Sequential, x, y) -> tuple[np.ndarray, np.ndarray]:
    """Validate (x, y) once, at the door. ``x`` keeps a compact dtype (e.g. uint8 pixels):
    batches are converted to the model's dtype as they are drawn."""
    x = np.asarray(x)
    dtype = x.dtype if x.dtype.kind in "uif" else model.dtype
    x = check_array(x, "x", dtype)
    if x.shape[1] != model.in_features:
        raise ValueError(
            f"x has {x.shape[1]} features per sample but the model's first layer expects "
            f"{model.in_features}; reshape the data or change the input size of the first layer"
        )
    if model.task == "classification":
        n_classes = max(model.out_features, 2)
        y = check_class_labels(y, n_classes)
    else:
        y = check_array(y, "y", model.dtype, ndim=None)
        if y.ndim == 1:
            y = y[:, None]
        if y.shape[1:] != (model.out_features,):
            raise ValueError(
                f"y must have shape (n_samples, {model.out_features}) for this regression model; "
                f"got {y.shape}"
            )
    check_same_length(x, y)
    return x, y


class Trainer:
    """One training run.

    Args:
        model: the network to train (updated in place).
        loss: name or object; default cross-entropy for classifiers, MSE for regression.
        optimizer: name ("sgd", "momentum", "nesterov", "rmsprop", "adam", "adamw") or object.
        lr: learning rate (default: the optimiser's own default).
        lr_schedule: name ("constant", "inverse_time", "step", "exponential", "cosine") or a
            :class:`Schedule`; ``schedule_options`` are passed to it (e.g. ``decay=0.01``).
        batch_size: samples per step; ``None`` or ``"full"`` means full-batch gradient descent.
        l2: classic L2 strength λ, the penalty λ/(2m)·Σ‖W‖² (biases excluded).
        optimizer_options: extra optimiser settings (``momentum``, ``weight_decay``, ...).
        augment: a callable applied to each training batch of x (e.g. ``RandomShift``).
        seed: seeds the shuffling and the validation split; the same seed and model give
            bit-identical training.
        checkpoint_path: where Ctrl-C saves the run's state.
        checkpoint_extra: stored in that checkpoint's ``extra`` (e.g. the run's configuration).
    """

    def __init__(
        self,
        model: Sequential,
        loss: str | Loss | None = None,
        optimizer: str | Optimizer = "adam",
        lr: float | None = None,
        lr_schedule: str | Schedule | None = None,
        schedule_options: dict | None = None,
        batch_size: int | str | None = 32,
        l2: float = 0.0,
        optimizer_options: dict | None = None,
        augment: Callable[[np.ndarray], np.ndarray] | None = None,
        seed: int | np.random.Generator | None = None,
        checkpoint_path: str | None = None,
        checkpoint_extra: dict | None = None,
    ) -> None:
        if not isinstance(model, Sequential):
            raise TypeError(f"model must be a barenet Sequential; got {type(model).__name__}")
        self.model = model
        self.loss = get_loss(loss if loss is not None else default_loss(model))
        self._check_loss_fits_model()
        settings = dict(optimizer_options or {})
        if lr is not None:
            settings["lr"] = lr
        self.optimizer = get_optimizer(optimizer, model.parameters(), **settings)
        if isinstance(lr_schedule, Schedule):
            self.schedule = lr_schedule
        else:
            options = schedule_options or {}
            self.schedule = get_schedule(lr_schedule or "constant", self.optimizer.lr, **options)
        if batch_size == "full":
            batch_size = None
        if batch_size is not None and (not isinstance(batch_size, (int, np.integer)) or batch_size < 1):
            raise ValueError(f"batch_size must be a positive integer, None or 'full'; got {batch_size!r}")
        self.batch_size = batch_size
        self.l2 = L2Penalty(l2)
        self.augment = augment
        self.rng = np.random.default_rng(seed)
        # The validation split draws from its own generator, seeded once, so that every call
        # of fit (and a resumed run) holds out the same samples.
        self.split_seed = int(self.rng.integers(2**63))
        self.checkpoint_path, self.checkpoint_extra = checkpoint_path, checkpoint_extra
        self.history = History()
        self.epoch = 0  # epochs completed
        self.step = 0  # optimiser steps taken
        self.stop_training = False
        self._interrupt_requested = False
        self._resume_point: dict | None = None
        self._warned: set[str] = set()

    def _check_loss_fits_model(self) -> None:
        head = type(self.model.output_activation).__name__ if self.model.output_activation else None
        wanted = {"cross_entropy": "Softmax", "binary_cross_entropy": "Sigmoid"}.get(self.loss.name)
        if wanted and head not in (None, wanted):
            raise ValueError(
                f"{type(self.loss).__name__} needs a model ending in {wanted} (or in plain logits), "
                f"but this model ends in {head}"
            )
        if self.model.task == "regression" and self.loss.name == "cross_entropy":
            raise ValueError("cross_entropy is a classification loss but the model's task is regression")

    # ---- random generators, for exact resume ----------------------------------------------

    def generators(self) -> dict[str, np.random.Generator]:
        """Every random generator the run draws from, by a stable name."""
        found = {"shuffle": self.rng}
        if self.augment is not None and isinstance(getattr(self.augment, "rng", None), np.random.Generator):
            found["augment"] = self.augment.rng
        for index, layer in enumerate(self.model.layers):
            if isinstance(layer, Dropout):
                found[f"layers.{index}.dropout"] = layer.rng
        return found

    # ---- the loop -------------------------------------------------------------------------

    def fit(
        self,
        x,
        y,
        epochs: int = 10,
        validation_data: tuple | None = None,
        validation_split: float = 0.0,
        callbacks: Sequence[Callback] = (),
        verbose: int = 1,
        verbose_every: int = 1,
    ) -> History:
        """Train until ``epochs`` epochs have been completed in total (a resumed run continues
        its count). Returns the :class:`History`."""
        if not isinstance(epochs, (int, np.integer)) or epochs < 0:
            raise ValueError(f"epochs must be a whole number >= 0; got {epochs!r}")
        x, y = check_data(self.model, x, y)
        if validation_data is not None and validation_split:
            raise ValueError("give validation_data or validation_split, not both")
        if validation_split:
            x, y, validation_data = self._split_validation(x, y, validation_split)
        if validation_data is not None:
            if len(validation_data) != 2:
                raise ValueError("validation_data must be a pair (x_validation, y_validation)")
            validation_data = check_data(self.model, *validation_data)
        self._check_input_scale(x)
        progress = Progress(verbose, verbose_every)
        self.stop_training = False
        for callback in callbacks:
            callback.on_train_begin(self)
        previous_handler = self._catch_interrupts()
        try:
            while self.epoch < epochs and not self.stop_training:
                started = time.perf_counter()
                # Overflow is reported as a DivergenceError, not as NumPy's RuntimeWarnings.
                with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
                    logs = self._train_epoch(x, y, epochs, progress)
                    if validation_data is not None:
                        validation = evaluate(self.model, *validation_data, loss=self.loss)
                        logs.update({f"val_{name}": value for name, value in validation.items()})
                logs["lr"] = self.optimizer.lr
                self.history.append(self.epoch, logs)
                progress.end_epoch(self.epoch, epochs, logs, time.perf_counter() - started)
                self.epoch += 1
                for callback in callbacks:
                    callback.on_epoch_end(self, self.epoch - 1, logs)
        finally:
            progress.close()
            if previous_handler is not None:
                signal.signal(signal.SIGINT, previous_handler)
        for callback in callbacks:
            callback.on_train_end(self)
        return self.history

    def _split_validation(self, x, y, fraction: float):
        from .datasets import train_validation_split

        if not 0 < fraction < 1:
            raise ValueError(f"validation_split must be in (0, 1); got {fraction}")
        stratify = self.model.task == "classification"
        (x_train, y_train), validation = train_validation_split(
            x, y, fraction, stratify=stratify, rng=self.split_seed
        )
        return x_train, y_train, validation

    def _train_epoch(
        self, x: np.ndarray, y: np.ndarray, epochs: int, progress: Progress
    ) -> dict[str, float]:
        n_samples = len(x)
        batch_size = self.batch_size or n_samples
        n_batches = math.ceil(n_samples / batch_size)
        resume, self._resume_point = self._resume_point, None
        if resume is None:
            epoch_start_state = self.rng.bit_generator.state
            totals = {"loss": 0.0, "correct": 0.0, "squared": 0.0, "absolute": 0.0, "seen": 0.0}
            first_batch = 0
        else:  # continue a run that was interrupted mid-epoch: redraw the same permutation
            epoch_start_state, totals, first_batch = resume["rng"], resume["totals"], resume["batch"]
            self.rng.bit_generator.state = epoch_start_state
        full_batch = batch_size >= n_samples
        order = None if full_batch else self.rng.permutation(n_samples)
        gather = None if full_batch else BatchGatherer(x, y, batch_size, self.model.dtype)
        x_full = x.astype(self.model.dtype, copy=False) if full_batch else None  # cast once, not per step
        if self.schedule.per == "epoch":
            self.optimizer.lr = self.schedule(self.epoch)
        values = self.optimizer.flat.values
        before_step = values.copy()  # the weights before the latest step, to undo a step that diverged
        progress.start_epoch(self.epoch, epochs, n_batches)
        for batch in range(first_batch, n_batches):
            if full_batch:
                x_batch, y_batch = x_full, y
            else:  # the gatherer already casts into its reused buffer
                x_batch, y_batch = gather(order[batch * batch_size : (batch + 1) * batch_size])
            if self.augment is not None:
                x_batch = self.augment(x_batch)
            if self.schedule.per == "step":
                self.optimizer.lr = self.schedule(self.step)
            result = self.model.compute_gradients(x_batch, y_batch, self.loss, self.l2)
            if not math.isfinite(result.loss):
                self._diverged(f"the loss became {result.loss}", batch, before_step)
            np.copyto(before_step, values)
            self.optimizer.step()
            self.step += 1
            self._accumulate(totals, result, y_batch)
            progress.update_batch(totals["loss"] / totals["seen"], self._running_accuracy(totals))
            if self._interrupt_requested:
                self._interrupted(epoch_start_state, totals, batch + 1)
        if not np.isfinite(values).all():
            self._diverged("a weight became non-finite", n_batches - 1, before_step)
        self._check_collapse(x, y)
        return self._epoch_logs(totals, y)

    def _accumulate(self, totals, result, y_batch) -> None:
        size = len(y_batch)
        totals["seen"] += size
        totals["loss"] += result.loss * size
        if self.model.task == "classification":
            predicted = class_ids(result.output)
            totals["correct"] += int(np.count_nonzero(predicted == y_batch))
        elif not self.loss.from_logits:
            error = result.output - y_batch
            totals["squared"] += float(np.sum(error**2))
            totals["absolute"] += float(np.sum(np.abs(error)))

    def _running_accuracy(self, totals) -> float | None:
        return totals["correct"] / totals["seen"] if self.model.task == "classification" else None

    def _epoch_logs(self, totals, y: np.ndarray) -> dict[str, float]:
        seen = totals["seen"]
        logs = {"loss": totals["loss"] / seen}
        if self.model.task == "classification":
            logs["accuracy"] = totals["correct"] / seen
        elif not self.loss.from_logits:
            logs["mse"] = totals["squared"] / y.size
            logs["mae"] = totals["absolute"] / y.size
            spread = float(np.sum((y - y.mean(axis=0)) ** 2))
            logs["r2"] = 1 - totals["squared"] / spread if spread > 0 else float("nan")
        return logs

    # ---- things going wrong ---------------------------------------------------------------

    def _diverged(self, what: str, batch: int, before_step: np.ndarray) -> None:
        """Stop with a DivergenceError, undoing the step that made a weight non-finite so the
        model keeps its last finite weights."""
        values = self.optimizer.flat.values
        if not np.isfinite(values).all():
            values[...] = before_step
            kept = "its last finite weights (from before the step that made them non-finite)"
        else:
            kept = "its last (finite) weights"
        reason = (
            f"training diverged at epoch {self.epoch + 1}, batch {batch + 1}: {what}. "
            f"This usually means the learning rate ({self.optimizer.lr:g}) is too high or the inputs "
            f"are not scaled; try a smaller learning rate, scale the inputs to [0, 1] or standardise "
            f"them, or clip gradients (max_grad_norm, --max-grad-norm). The model keeps {kept}."
        )
        self.history.stop_reason = reason
        raise DivergenceError(reason, self.history)

    def _warn(self, key: str, message: str) -> None:
        if key not in self._warned:
            self._warned.add(key)
            self.history.warnings.append(message)
            warnings.warn(message, TrainingWarning, stacklevel=4)

    def _check_input_scale(self, x: np.ndarray) -> None:
        """Warn about inputs far from unit scale (e.g. 0-255 pixels) that no layer rescales."""
        if any(isinstance(layer, (Rescale, Standardize)) for layer in self.model.layers) or not x.size:
            return
        sample = x[:1000]  # enough to tell 0-255 pixels from scaled data, without a pass over all
        typical = float(np.sqrt(np.mean(np.square(sample, dtype=np.float64))))  # root mean square
        if typical > 10:
            largest = max(float(sample.max()), -float(sample.min()))
            self._warn(
                "scale",
                f"the inputs are not scaled: values reach {largest:g} (root mean square "
                f"{typical:.3g}). Large inputs saturate "
                "units and make training fail; scale them to [0, 1] (e.g. divide pixels by 255), "
                "standardise them, or put a Rescale/Standardize layer first.",
            )

    def _check_collapse(
        self, x: np.ndarray, y: np.ndarray, n_samples: int = 2000, min_steps: int = 50
    ) -> None:
        """Finite numbers can still be a failed run: a classifier that, at the end of an epoch,
        predicts one class for (nearly) all of the first ``n_samples`` training samples. Checked
        from ``min_steps`` optimiser steps on: a network only just started may do so too."""
        if self.model.task != "classification" or len(y) < 100 or self.step < min_steps:
            return
        predicted_counts = np.bincount(self.model.predict(x[:n_samples]))
        top_share = predicted_counts.max() / predicted_counts.sum()
        true_top_share = np.bincount(y).max() / len(y)
        if top_share > 0.9 and true_top_share < 0.6:
            self._warn(
                "collapse",
                f"after epoch {self.epoch + 1} the network predicts class "
                f"{int(predicted_counts.argmax())} for {top_share:.0%} of the training samples, "
                f"although no class holds more than {true_top_share:.0%} of them: the numbers are "
                "finite, but the network has collapsed to one class or is barely learning. Usual "
                "causes: unscaled inputs (scale to [0, 1] or standardise), a learning rate too high "
                "(or, for slow sigmoid networks, too low), or a summed instead of averaged loss.",
            )

    def _catch_interrupts(self):
        """First Ctrl-C: finish the batch, save, stop. A second one stops at once."""
        if threading.current_thread() is not threading.main_thread():
            return None

        def request_stop(signum, frame):
            if self._interrupt_requested:
                raise KeyboardInterrupt
            self._interrupt_requested = True

        self._interrupt_requested = False
        return signal.signal(signal.SIGINT, request_stop)

    def _interrupted(self, epoch_start_state: dict, totals: dict, next_batch: int) -> None:
        from .checkpoints import save_checkpoint

        self._interrupt_requested = False
        self._resume_point = {"rng": epoch_start_state, "totals": totals, "batch": next_batch}
        where = None
        if self.checkpoint_path is not None:
            where = str(save_checkpoint(self, self.checkpoint_path, extra=self.checkpoint_extra))
        saved = f"checkpoint written to {where}" if where else "no checkpoint path was set"
        message = f"interrupted during epoch {self.epoch + 1} after batch {next_batch}; {saved}"
        self.history.stop_reason = message
        raise TrainingInterrupted(message, self.history, where)


def fit(
    model: Sequential,
    x,
    y,
    epochs: int = 10,
    validation_data: tuple | None = None,
    validation_split: float = 0.0,
    callbacks: Sequence[Callback] = (),
    verbose: int = 1,
    verbose_every: int = 1,
    **trainer_options,
) -> History:
    """Train ``model`` on (x, y); the options of :class:`Trainer` apply. Returns a History."""
    trainer = Trainer(model, **trainer_options)
    return trainer.fit(x, y, epochs, validation_data, validation_split, callbacks, verbose, verbose_every)
