"""A training run, as ``barenet train`` does it: from a :class:`RunConfig` and its data to a
run folder holding the model, its configuration, its history and its plots.

    folder/
        model.npz          the trained model (it takes raw inputs: preprocessing is a layer)
        config.toml        every setting; ``barenet train --config config.toml`` repeats the run
        history.csv        loss and metrics per epoch, training and validation
        checkpoint.npz     the whole training state, for ``barenet train --resume``
        *.png              learning curves, confusion matrix, misclassified images, ...
        samples.txt        text runs: generated text at each evaluation (see barenet.runs.text_run)
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..datasets import RandomShift, train_validation_split
from ..errors import DivergenceError
from ..layers import Conv2D, Dense, Layer, Rescale, Standardize
from ..metrics import confusion_matrix
from ..model import Sequential, mlp
from ..saving.atomic import write_atomic
from ..training import (
    Callback,
    EarlyStopping,
    History,
    HistoryLogger,
    ModelCheckpoint,
    Trainer,
    TrainingInterrupted,
    evaluate,
    load_checkpoint,
    read_checkpoint,
)
from .architectures import build_network, describe, is_layer_table
from .choices import schedule_options
from .config import ConfigError, RunConfig, check_keys, check_setting_type, toml_text
from .conv_plots import plot_conv_filters, plot_feature_maps
from .data_sources import Data, rows_needed
from .model_data import decisions, model_metadata, robust_scaling, scales_targets, target_scaling
from .plots import (
    plot_confusion_matrix,
    plot_first_layer_weights,
    plot_history,
    plot_image_grid,
    plot_regression_fit,
)
from .run_folders import locked_run_folder, stored_config
from .text_run import (
    SAMPLES_FILE,
    TextSamples,
    build_text_model,
    describe_text_model,
    draw_text_plots,
    text_scores,
)
from .text_settings import evaluations, is_text

MODEL_FILE, CONFIG_FILE, HISTORY_FILE, CHECKPOINT_FILE = (
    "model.npz",
    "config.toml",
    "history.csv",
    "checkpoint.npz",
)


@dataclass
class RunResult:
    folder: Path
    model: Sequential
    history: History
    test_metrics: dict[str, float]
    scored_on: str = "test"  # text runs: "validation" (a text has no test part)


# ---- the pieces of a run ------------------------------------------------------------------------


def preprocessing_layers(
    config: RunConfig, x_train: np.ndarray, feature_names: list[str] | None = None
) -> list[Layer]:
    """The preprocessing the model will carry, fitted on the training split only."""
    if config.preprocess == "robust":
        return [robust_scaling(x_train, config.dtype)]
    if config.preprocess == "standardize":
        return [Standardize.fit(x_train, dtype=config.dtype)]
    if config.preprocess == "scale":
        low, high = float(x_train.min()), float(x_train.max())
        spread = high - low if high > low else 1.0
        return [Rescale(1 / spread, -low / spread if low else 0.0)]
    return []


def build_model(
    config: RunConfig, task: str, x_train: np.ndarray, y_train: np.ndarray | None = None,
    feature_names: list[str] | None = None, n_outputs: int | None = None,
) -> Sequential:
    """The network of ``config``; a regression with ``y_train`` ends in its target scaling.
    ``n_outputs``: the outputs the data needs (classes), for ``lenet5`` and ``cnn``."""
    if config.model != "mlp" or is_layer_table(config.layers):
        outputs = None if is_layer_table(config.layers) else n_outputs
        return build_network(config, task, x_train.shape[1], outputs,
                             preprocessing_layers(config, x_train, feature_names))
    model = mlp(
        config.layers,
        activation=config.activation,
        output_activation=config.output_activation,
        task=task,
        dropout=config.dropout,
        init=config.init,
        bias_init=config.bias_init,
        preprocessing=preprocessing_layers(config, x_train, feature_names),
        rng=config.seed,
        dtype=config.dtype,
    )
    if y_train is not None and scales_targets(config, task):
        model = Sequential([*model.layers, target_scaling(y_train, config.dtype)], task=task)
    return model


def build_trainer(config: RunConfig, model: Sequential, folder: Path) -> Trainer:
    optimizer_options = {"weight_decay": config.weight_decay, "max_grad_norm": config.max_grad_norm}
    optimizer_options |= {key: getattr(config, key) for key in ("momentum", "betas")
                          if getattr(config, key) is not None}
    augment = RandomShift(config.augment, rng=config.seed + 1) if config.augment else None
    return Trainer(
        model,
        loss=config.loss,
        optimizer=config.optimizer,
        lr=config.lr,
        lr_schedule=config.lr_schedule,
        schedule_options=schedule_options(config.to_dict()),
        batch_size=config.batch_size,
        l2=config.l2,
        optimizer_options=optimizer_options,
        augment=augment,
        seed=config.seed,
        checkpoint_path=str(folder / CHECKPOINT_FILE),
        checkpoint_extra=checkpoint_extra(config),
        steps_per_epoch=config.eval_every,  # text: an "epoch" is the stretch between evaluations
        workers=config.workers,
    )


def checkpoint_extra(config: RunConfig) -> dict:
    return {"config": config.to_dict()}


def config_from_checkpoint(path: str | Path) -> dict:
    """The settings stored in a checkpoint written by ``barenet train``."""
    description, _ = read_checkpoint(path)
    extra = description.get("extra")
    settings = extra.get("config") if isinstance(extra, dict) else None
    if not isinstance(settings, dict):
        raise ConfigError(
            f"{path} holds no run configuration (it was not written by barenet train); "
            "resume it from Python with barenet.checkpoints.load_checkpoint"
        )
    # The run goes on next to the checkpoint it was given (or into --out), never back into the
    # folder it was first written to (which may have been moved, copied or deleted).
    settings = {key: value for key, value in settings.items() if key not in ("out", "overwrite")}
    try:
        check_keys(settings, "the configuration")
        for key, value in settings.items():
            check_setting_type(key, value)
    except ConfigError as error:
        raise ConfigError(f"{path}: the run configuration stored in it is damaged: {error}") from None
    return settings


def new_run_folder(root: str | Path = "runs") -> Path:
    """``runs/<date>-<time>``, with a suffix if that exists already."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    folder, suffix = Path(root) / stamp, 2
    while folder.exists():
        folder, suffix = Path(root) / f"{stamp}-{suffix}", suffix + 1
    return folder


# ---- a whole run --------------------------------------------------------------------------------


def split_training_data(config: RunConfig, data: Data) -> tuple[tuple, tuple | None]:
    """The training samples (the first ``train_limit``), split into training and validation;
    a text's windows come split already (:func:`~barenet.runs.text_data.text_windows`)."""
    if is_text(config.dataset_kind):
        return (data.x_train, data.y_train), (data.x_test, data.y_test)
    x, y = data.x_train[: config.train_limit], data.y_train[: config.train_limit]
    if not config.val_split:
        return (x, y), None
    classification = data.task == "classification"
    (x_fit, y_fit), validation = train_validation_split(
        x, y, config.val_split, stratify=classification, rng=config.seed
    )
    if len(validation[0]) == 0 or len(x_fit) < 2:
        raise ConfigError(
            f"{len(x)} training rows are too few for --val-split {config.val_split}: it needs at least "
            f"{rows_needed(config.val_split, 2)} (more if some classes are rare). Add rows, or give "
            "--val-split 0"
        )
    return (x_fit, y_fit), validation


def train_run(
    config: RunConfig,
    data: Data,
    folder: Path,
    resume: str | Path | None = None,
    log: Callable[[str], None] = print,
    callbacks: Sequence[Callback] = (),
) -> RunResult:
    """Train as ``config`` says, writing the run folder; ``resume`` continues a checkpoint;
    ``callbacks`` run before the run's own (e.g. the pruning of ``barenet sweep``).

    Raises DivergenceError (after saving the model's last finite weights) and
    TrainingInterrupted (after saving a checkpoint and the model) from the trainer.
    """
    (x_train, y_train), validation = split_training_data(config, data)
    text = is_text(config.dataset_kind)
    if text:
        model = build_text_model(config, data.n_outputs)
    else:
        model = build_model(config, data.task, x_train, y_train, data.feature_names, data.n_outputs)
    model.metadata = model_metadata(data, x_train)
    trainer = build_trainer(config, model, folder)
    if resume is not None:
        load_checkpoint(trainer, resume)
    overwrite, config = config.overwrite, stored_config(config, folder)  # paths absolute, overwrite off
    trainer.checkpoint_extra = checkpoint_extra(config)  # what Ctrl-C saves, as the epochs' checkpoints
    with locked_run_folder(folder, config, resume, overwrite):
        write_atomic(folder / CONFIG_FILE, toml_text(config))
        callbacks = list(callbacks)  # a new list: the caller's stays as it was
        if config.early_stopping:
            callbacks.append(EarlyStopping("val_loss", patience=config.early_stopping))
        if text:
            callbacks.append(TextSamples(folder / SAMPLES_FILE, data.vocabulary, config.seed))
        callbacks += [
            ModelCheckpoint(folder / CHECKPOINT_FILE, extra=checkpoint_extra(config)),
            HistoryLogger(folder / HISTORY_FILE),
        ]
        n_validation = len(validation[0]) if validation is not None else 0
        for line in decisions(config, data, y_train):
            log(line)
        if text:
            log(f"training {describe_text_model(config)} ({model.flat.values.size:,} parameters) on "
                f"{data.name}: {config.steps} steps of {config.batch_size} windows, evaluating every "
                f"{config.eval_every} steps on {n_validation} validation windows"
                + (f"; resuming after step {trainer.step}" if resume is not None else ""))
        else:
            log(
                f"training {describe(config)} ({config.activation}) on {data.name}: "
                f"{len(x_train)} training, {n_validation} validation, {len(data.x_test)} test samples"
                + (resume_text(trainer) if resume is not None else "")
            )
        log(f"run folder: {folder}")
        verbose = 0 if config.quiet else (2 if config.verbose_every else 1)
        # A run killed after its last epoch resumes by writing what it had not written yet.
        epochs = evaluations(config) if text else config.epochs
        finished = resume is not None and epochs is not None and trainer.epoch >= epochs
        if finished:
            log(f"the checkpoint holds all {trainer.epoch} epochs; writing the run's files")
        try:
            if not finished:
                trainer.fit(
                    x_train,
                    y_train,
                    epochs=epochs,
                    validation_data=validation,
                    callbacks=callbacks,
                    verbose=verbose,
                    verbose_every=config.verbose_every or 1,
                )
        except (DivergenceError, TrainingInterrupted):
            model.save(folder / MODEL_FILE)
            raise
        model.save(folder / MODEL_FILE)
        if text:
            draw_text_plots(folder, model, data, trainer.history, config)
            return RunResult(folder, model, trainer.history, text_scores(model, data.x_test, data.y_test),
                             "validation")
        test_metrics = evaluate(model, data.x_test, data.y_test, loss=config.loss)
        draw_plots(folder, model, data, trainer.history)
        return RunResult(folder, model, trainer.history, test_metrics)


def resume_text(trainer: Trainer) -> str:
    if trainer.resume_batch is not None:
        return f"; resuming in epoch {trainer.epoch + 1} after batch {trainer.resume_batch}"
    return f"; resuming after epoch {trainer.epoch}"


# ---- pictures -----------------------------------------------------------------------------------


def draw_plots(folder: Path, model: Sequential, data: Data, history: History) -> list[Path]:
    """The run's PNGs: learning curves, and on the test set the confusion matrix, the
    misclassified images and the first layer's weights (for images), or the regression fit."""
    written = [plot_history(history.history, folder / "history.png")]
    if data.task == "regression":
        predictions = model.predict(data.x_test)
        written.append(plot_regression_fit(data.x_test, data.y_test, predictions, folder / "fit.png"))
        return written
    predictions = model.predict(data.x_test)
    matrix = confusion_matrix(data.y_test, predictions, len(data.class_names))
    picture = folder / "confusion_matrix.png"
    written.append(plot_confusion_matrix(matrix, picture, data.class_names, f"{data.name} test set"))
    if data.image_shape is not None:
        written.append(plot_misclassified(data, predictions, folder / "misclassified.png"))
        convolutions = [layer for layer in model.layers if isinstance(layer, Conv2D)]
        if convolutions:
            written.append(plot_conv_filters(convolutions[0].weight.value, folder / "conv_filters.png"))
            caption = f"test image 0 (label {data.class_names[data.y_test[0]]})"
            written.append(plot_feature_maps(model, data.x_test[0], folder / "feature_maps.png", caption))
        else:
            first_dense = next(layer for layer in model.layers if isinstance(layer, Dense))
            picture = folder / "first_layer_weights.png"
            written.append(plot_first_layer_weights(first_dense.weight.value, picture))
    return written


def plot_misclassified(data: Data, predictions: np.ndarray, path: Path, count: int = 36) -> Path:
    wrong = np.flatnonzero(predictions != data.y_test)[:count]
    names = data.class_names
    captions = [f"true {names[data.y_test[i]]}\npredicted {names[predictions[i]]}" for i in wrong]
    title = f"{len(wrong)} of {np.count_nonzero(predictions != data.y_test)} misclassified test images"
    return plot_image_grid(data.x_test[wrong], captions, path, title, data.image_shape)
