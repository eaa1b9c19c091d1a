"""The training loop: mini-batches, epochs, validation, schedules, and stopping safely.

``Trainer`` owns one training run: the loss, the optimiser, the schedule and the random
generators; the model it trains owns the weights. ``fit`` (also ``model.fit``) is the
one-call version. Training that diverges stops with a :class:`DivergenceError` that says
why, leaving the model with its last finite weights; Ctrl-C finishes the batch, writes a
checkpoint (when a ``checkpoint_path`` is set) and raises :class:`TrainingInterrupted`.
"""

from __future__ import annotations

import math
import signal
import threading
import time
import warnings
from collections.abc import Callable, Sequence
from contextlib import nullcontext
from typing import TYPE_CHECKING

import numpy as np

from ..datasets.batching import BatchGatherer
from ..datasets.preprocessing import train_validation_split
from ..errors import BarenetError, DivergenceError
from ..layers import Dropout, walk_layers
from ..losses import L2Penalty, Loss, get_loss
from ..optim import Optimizer, get_optimizer
from ..schedules import Schedule, get_schedule
from ..validation import check_int, check_number
from .callbacks import Callback
from .checkpoints import save_checkpoint
from .evaluation import check_data, class_ids, default_loss, evaluate, evaluation_batch
from .history import History, TrainingInterrupted, TrainingWarning
from .parallel import DataParallel, check_splittable
from .progress import Progress
from .safeguards import collapse_message, divergence_message, input_scale_message

if TYPE_CHECKING:
    from ..model import Sequential

MODEL_METHODS = ("compute_gradients", "parameters", "get_weights", "set_weights", "predict")

class Trainer:
    """One training run.

    Args:
        model: the network to train (updated in place).
        loss: a name of :data:`barenet.losses.LOSSES` or an object; default cross-entropy for
            classifiers, MSE for regression.
        optimizer: a name of :data:`barenet.optim.OPTIMIZERS` (e.g. "adam") or an object.
        lr: learning rate (default: the optimiser's own, :data:`barenet.optim.DEFAULT_LR`).
        lr_schedule: a name of :data:`barenet.schedules.SCHEDULES` (e.g. "cosine") or a
            :class:`Schedule`; ``schedule_options`` are passed to it (e.g. ``decay=0.01``).
        batch_size: samples per step; ``None`` or ``"full"`` means full-batch gradient descent.
        l2: classic L2 strength λ, the penalty λ/(2m)·Σ‖W‖² (biases excluded).
        optimizer_options: extra optimiser settings (``momentum``, ``weight_decay``, ...).
        augment: a callable applied to each training batch of x (e.g. ``RandomShift``).
        seed: seeds the shuffling and the validation split; the same seed and model give
            bit-identical training.
        checkpoint_path: where Ctrl-C saves the run's state.
        checkpoint_extra: stored in that checkpoint's ``extra`` (e.g. the run's configuration).
        steps_per_epoch: ``None`` (default): an epoch is one pass over the shuffled data. A
            number: an epoch is that many steps, each on a batch of samples drawn at random
            *with replacement* — how language models train (a window of text at a random
            offset each time); the "epoch" is then the stretch between two evaluations.
        workers: split each batch into this many shards, each computed on its own thread and
            their gradients added (:mod:`barenet.training.parallel`); 1 (default) computes the
            batch in one pass. Results depend on the number, never on timing.
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
        steps_per_epoch: int | None = None,
        workers: int = 1,
    ) -> None:
        if not all(hasattr(model, name) for name in MODEL_METHODS):
            raise TypeError(f"model must be a barenet Sequential; got {type(model).__name__}")
        if model.flat is None:
            raise BarenetError("the model has no trainable layer (no parameters to train)")
        self.model = model
        self.loss = get_loss(loss if loss is not None else default_loss(model))
        self._check_loss_fits_model()
        settings = dict(optimizer_options or {})
        if lr is not None:
            settings["lr"] = check_number("lr", lr, low=0.0, low_open=True)
        self.optimizer = get_optimizer(optimizer, model.parameters(), **settings)
        if isinstance(lr_schedule, Schedule):
            if lr is not None:
                raise BarenetError(
                    "give lr or a Schedule object, not both: the schedule sets the learning rate "
                    "(give it as get_schedule(name, lr, ...), or pass the schedule's name as lr_schedule)"
                )
            self.schedule = lr_schedule
        else:
            options = schedule_options or {}
            self.schedule = get_schedule(lr_schedule or "constant", self.optimizer.lr, **options)
        if batch_size == "full":
            batch_size = None
        if batch_size is not None and (not isinstance(batch_size, (int, np.integer)) or batch_size < 1):
            raise BarenetError(f"batch_size must be a positive integer, None or 'full'; got {batch_size!r}")
        self.batch_size = batch_size
        if steps_per_epoch is not None:
            steps_per_epoch = check_int("steps_per_epoch", steps_per_epoch, low=1)
            if batch_size is None:
                raise BarenetError("steps_per_epoch draws mini-batches; give a batch_size, not full batch")
        self.steps_per_epoch = steps_per_epoch
        self.workers = check_int("workers", workers, low=1)
        if self.workers > 1:
            check_splittable(model)
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

    @property
    def resume_batch(self) -> int | None:
        """After loading a checkpoint written in the middle of an epoch: the batches of epoch
        ``epoch + 1`` already done; None when the run continues at the start of an epoch."""
        return None if self._resume_point is None else self._resume_point["batch"]

    def _check_loss_fits_model(self) -> None:
        head = type(self.model.output_activation).__name__ if self.model.output_activation else None
        wanted = {"cross_entropy": "Softmax", "binary_cross_entropy": "Sigmoid"}.get(self.loss.name)
        if wanted and head not in (None, wanted):
            raise BarenetError(
                f"{type(self.loss).__name__} needs a model ending in {wanted} (or in plain logits), "
                f"but this model ends in {head}"
            )
        if self.model.task == "regression" and self.loss.name == "cross_entropy":
            raise BarenetError("cross_entropy is a classification loss but the model's task is regression")

    # ---- random generators, for exact resume ----------------------------------------------

    def generators(self) -> dict[str, np.random.Generator]:
        """Every random generator the run draws from, by a stable name."""
        found = {"shuffle": self.rng}
        if self.augment is not None and isinstance(getattr(self.augment, "rng", None), np.random.Generator):
            found["augment"] = self.augment.rng
        for key, layer in walk_layers(self.model.layers):
            if isinstance(layer, Dropout):
                found[f"{key}.dropout"] = layer.rng
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
        """Train until ``epochs`` epochs have been completed *in total*: this trainer's count
        goes on across calls and across a resume from a checkpoint, so ``fit(epochs=10)`` on a
        trainer that has done 4 trains 6 more. Asking for no more than it has done is an error,
        never a silent no-op. (``model.fit`` builds a new trainer each call, so there ``epochs``
        is the number to train, continuing from the weights the last call left.)
        Returns the :class:`History`."""
        if isinstance(epochs, bool) or not isinstance(epochs, (int, np.integer)) or epochs < 1:
            raise BarenetError(f"epochs must be a whole number >= 1; got {epochs!r}")
        if epochs <= self.epoch:
            raise BarenetError(
                f"this trainer has completed {self.epoch} epochs and epochs={epochs} is the total to "
                f"reach, so nothing would be trained; ask for more than {self.epoch}"
            )
        x, y = check_data(self.model, x, y)
        if validation_data is not None and validation_split:
            raise BarenetError("give validation_data or validation_split, not both")
        if validation_split:
            x, y, validation_data = self._split_validation(x, y, validation_split)
        if validation_data is not None:
            if len(validation_data) != 2:
                raise BarenetError("validation_data must be a pair (x_validation, y_validation)")
            validation_data = check_data(self.model, *validation_data)
        message = input_scale_message(self.model, x)
        if message:
            self._warn("scale", message)
        last_epoch = int(epochs)
        parallel = DataParallel(self.model, self.workers) if self.workers > 1 else None
        progress = Progress(verbose, verbose_every, self.steps_per_epoch)
        self.stop_training = False
        for callback in callbacks:
            callback.on_train_begin(self)
        previous_handler = self._catch_interrupts()
        try:
            with parallel.running() if parallel else nullcontext():
                gradients = parallel.compute_gradients if parallel else self.model.compute_gradients
                while self.epoch < last_epoch and not self.stop_training:
                    self._run_epoch(x, y, last_epoch, progress, gradients, validation_data, callbacks)
        finally:
            progress.close()
            if previous_handler is not None:
                signal.signal(signal.SIGINT, previous_handler)
        for callback in callbacks:
            callback.on_train_end(self)
        return self.history

    def _run_epoch(self, x, y, last_epoch: int, progress: Progress, gradients: Callable, validation_data,
                   callbacks) -> None:
        started = time.perf_counter()
        # Overflow is reported as a DivergenceError, not as NumPy's RuntimeWarnings.
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            logs = self._train_epoch(x, y, last_epoch, progress, gradients)
            if validation_data is not None:
                validation = evaluate(self.model, *validation_data, loss=self.loss,
                                      batch_size=evaluation_batch(self.model))
                logs.update({f"val_{name}": value for name, value in validation.items()})
        logs["lr"] = self.optimizer.lr
        self.history.append(self.epoch, logs)
        progress.end_epoch(self.epoch, last_epoch, logs, time.perf_counter() - started)
        self.epoch += 1
        for callback in callbacks:
            callback.on_epoch_end(self, self.epoch - 1, logs)

    def _split_validation(self, x, y, fraction: float):
        check_number("validation_split", fraction, 0.0, 1.0, low_open=True, high_open=True)
        held_out = int(round(len(x) * fraction))
        if held_out < 1 or len(x) - held_out < 1:
            raise BarenetError(
                f"validation_split={fraction} of {len(x)} samples leaves {held_out} for validation and "
                f"{len(x) - held_out} for training; each needs at least one sample"
            )
        stratify = self.model.task == "classification"
        (x_train, y_train), validation = train_validation_split(
            x, y, fraction, stratify=stratify, rng=self.split_seed
        )
        return x_train, y_train, validation

    def _train_epoch(
        self, x: np.ndarray, y: np.ndarray, epochs: int, progress: Progress, gradients: Callable
    ) -> dict[str, float]:
        """One epoch; ``gradients`` is the model's ``compute_gradients`` or the shards' one."""
        n_samples = len(x)
        batch_size = self.batch_size or n_samples
        n_batches = self.steps_per_epoch or math.ceil(n_samples / batch_size)
        resume, self._resume_point = self._resume_point, None
        if resume is None:
            epoch_start_state = self.rng.bit_generator.state
            totals = {"loss": 0.0, "correct": 0.0, "squared": 0.0, "absolute": 0.0, "seen": 0.0}
            first_batch = 0
        else:  # continue a run that was interrupted mid-epoch: redraw the same permutation
            epoch_start_state, totals, first_batch = resume["rng"], resume["totals"], resume["batch"]
            self.rng.bit_generator.state = epoch_start_state
        full_batch = batch_size >= n_samples and self.steps_per_epoch is None
        if full_batch:
            order = None
        elif self.steps_per_epoch is None:
            order = self.rng.permutation(n_samples)  # every sample once per epoch
        else:
            order = self.rng.integers(n_samples, size=n_batches * batch_size)  # with replacement
        gather = None if full_batch else BatchGatherer(x, y, batch_size, self.model.dtype)
        x_full = x.astype(self.model.dtype, copy=False) if full_batch else None  # cast once, not per step
        if self.schedule.per == "epoch":
            self.optimizer.lr = self.schedule(self.epoch)
        before_step = self.model.get_weights()  # the weights before the latest step, to undo a bad one
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
            result = gradients(x_batch, y_batch, self.loss, l2=self.l2)
            if not math.isfinite(result.loss):
                self._diverged(f"the loss became {result.loss}", batch, before_step)
            self.model.get_weights(out=before_step)
            self.optimizer.step()
            self.step += 1
            self._accumulate(totals, result, y_batch)
            progress.update_batch(totals["loss"] / totals["seen"], self._running_accuracy(totals))
            if self._interrupt_requested:
                self._interrupted(epoch_start_state, totals, batch + 1)
        if not np.isfinite(self.model.flat.values).all():
            self._diverged("a weight became non-finite", n_batches - 1, before_step)
        if self.step >= 50:  # a network only just started may predict one class too
            message = collapse_message(self.model, x, y, self.epoch)
            if message:
                self._warn("collapse", message)
        return self._epoch_logs(totals, y)

    def _accumulate(self, totals, result, y_batch) -> None:
        size = len(y_batch)
        totals["seen"] += size
        totals["loss"] += result.loss * size
        if self.model.task == "classification":
            predicted = class_ids(result.output)
            hits = int(np.count_nonzero(predicted == y_batch))  # over every position of a sequence
            totals["correct"] += hits if y_batch.ndim == 1 else hits * size / y_batch.size
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
        """Stop with a DivergenceError. Any step that made a weight non-finite is undone, and
        so is the step before a non-finite loss (the weights that produced it), so the model
        keeps weights whose loss was finite."""
        self.model.set_weights(before_step)
        kept = "its last finite weights: those from before the step that led to non-finite numbers"
        reason = divergence_message(what, self.epoch, batch, self.optimizer.lr, kept)
        self.history.stop_reason = reason
        raise DivergenceError(reason, self.history)

    def _warn(self, key: str, message: str) -> None:
        if key not in self._warned:
            self._warned.add(key)
            self.history.warnings.append(message)
            warnings.warn(message, TrainingWarning, stacklevel=4)

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
