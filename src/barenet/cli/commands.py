"""The subcommands of ``barenet``: one function ``command_<name>(arguments) -> exit status``."""

from __future__ import annotations

import argparse
import contextlib
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

from ..errors import ConfigError, DivergenceError
from ..gradcheck import gradcheck
from ..metrics import classification_report, confusion_matrix
from ..model import load, mlp
from ..runs.config import build_config, check_dataset, read_toml
from ..runs.data_sources import Data, load_data, test_file_for_model
from ..runs.model_data import checked_metadata
from ..runs.plots import plot_confusion_matrix, plot_history, plot_image_grid, plot_samples
from ..runs.recipe import prepare_run
from ..runs.run_folders import model_path, run_settings
from ..runs.text_plots import plot_text_history
from ..runs.text_settings import TEXT_DATASETS
from ..runs.training_run import config_from_checkpoint, new_run_folder, train_run
from ..training import evaluate
from ..training.callbacks import read_history_csv
from .predictions import command_predict  # noqa: F401 - the command lives there; main imports it from here
from .text_commands import evaluate_text, is_text_model

EXIT_ERROR, EXIT_USAGE, EXIT_INTERRUPTED = 1, 2, 130
GRADCHECK_ALL, GRADCHECK_SUBSET = 5_000, 100  # above 5,000 parameters, 100 random entries of each array


def command_train(arguments: argparse.Namespace) -> int:
    given = {key: value for key, value in vars(arguments).items() if key != "command"}
    config_file, resume = given.pop("config", None), given.pop("resume", None)
    layers = [config_from_checkpoint(resume)] if resume else []
    layers += [read_toml(config_file)] if config_file else []
    sources = [f"the checkpoint {resume}"] if resume else []
    sources += [str(config_file)] if config_file else []
    config = build_config(*layers, given, sources=[*sources, "the command line"])
    if resume and not config.out:
        folder = Path(resume).parent
    else:
        folder = Path(config.out) if config.out else new_run_folder()
    with thread_limit(config.threads):
        run = prepare_run(config)
        try:
            log = ignore if config.quiet else print
            result = train_run(run.config, run.data, folder, resume=resume, log=log)
        except DivergenceError as error:
            print(
                f"barenet: error: {error}\nthe model, with those weights, is in {folder / 'model.npz'}",
                file=sys.stderr,
            )
            return EXIT_ERROR
    if result.history.stop_reason:
        print(result.history.stop_reason)
    print(f"{result.scored_on} {format_metrics(result.test_metrics, run.config.loss)}")
    print(f"run folder: {result.folder}")
    return 0


def ignore(text: str) -> None:
    """A ``log`` that prints nothing (``--quiet``)."""


def format_metrics(metrics: dict[str, float], loss: str | None = None) -> str:
    """``loss 0.0594  accuracy 0.9830``: the same line from train and evaluate. A regression
    trained on the mean squared error (the default ``loss``) shows it once, as ``mse``: its
    loss is the same number, summed in the model's float32."""
    shown = {name: value for name, value in metrics.items()
             if not (name == "loss" and "mse" in metrics and loss in (None, "mse"))}
    return "  ".join(f"{name} {value:.4f}" for name, value in shown.items())


def thread_limit(threads: int | None) -> contextlib.AbstractContextManager:
    """Limit the BLAS threads inside the block; no limit for ``None``."""
    return contextlib.nullcontext() if threads is None else threadpool_limits(limits=threads)


# ---- evaluate, predict, summary -----------------------------------------------------------------


def data_for_model(arguments: argparse.Namespace) -> tuple[Data, dict]:
    settings = run_settings(arguments.model)
    dataset = arguments.dataset or settings.get("dataset")
    if dataset is None:
        raise ConfigError(
            f"which data should {arguments.model} be evaluated on? There is no config.toml beside it; "
            "give --dataset"
        )
    data_dir = arguments.data_dir or settings.get("data_dir")
    if arguments.dataset is None:  # the run's own test split (or its --test-data file)
        tabular = {key: settings.get(key) for key in ("label_column", "task", "test_data")}
        return load_data(dataset, data_dir, **tabular), settings
    return load_data(dataset, data_dir), settings


def command_evaluate(arguments: argparse.Namespace) -> int:
    arguments.model = str(model_path(arguments.model))  # a run folder: its model.npz
    model = load(arguments.model)
    if is_text_model(model):
        return evaluate_text(model, Path(arguments.model), arguments.dataset, arguments.data_dir)
    metadata = checked_metadata(model, arguments.model)
    if arguments.dataset is not None and check_dataset(arguments.dataset) in ("csv", "npz"):
        path = arguments.dataset.split(":", 1)[1]  # a file of test rows: every row is scored
        data = test_file_for_model(path, metadata, model.task, model.in_features, model.out_features)
        settings = {}
    else:
        data, settings = data_for_model(arguments)
    warn_other_dataset(arguments, metadata.get("dataset") or run_settings(arguments.model).get("dataset"))
    for note in data.notes:
        print(note)
    metrics = evaluate(model, data.x_test, data.y_test, loss=settings.get("loss"))
    tested = settings.get("test_data") if arguments.dataset is None else None  # the run's --test-data
    print(f"{tested or data.name}, {len(data.x_test)} test samples")
    print(f"test {format_metrics(metrics, settings.get('loss'))}")
    if model.task != "classification":
        return 0
    matrix = confusion_matrix(data.y_test, model.predict(data.x_test), max(model.out_features, 2))
    names = metadata.get("class_names") or data.class_names or [str(index) for index in range(len(matrix))]
    print("\n" + classification_report(matrix, names))
    print("\nconfusion matrix (rows: true class, columns: predicted class)")
    print(matrix_text(matrix, names))
    plot_path = Path(arguments.plot or Path(arguments.model).parent / "evaluate_confusion_matrix.png")
    plot_confusion_matrix(matrix, plot_path, names, f"{Path(tested).name if tested else data.name} test set")
    print(f"\nconfusion matrix picture: {plot_path}")
    return 0


def warn_other_dataset(arguments: argparse.Namespace, trained_on: str | None) -> None:
    """A warning when ``--dataset`` names another data set than the one the model learnt."""
    given = arguments.dataset
    if given is None or trained_on is None or check_dataset(given) in ("csv", "npz"):
        return
    if check_dataset(given) != check_dataset(trained_on):
        print(f"barenet: warning: {arguments.model} was trained on {trained_on}, not {given}: its scores "
              f"on {given} say little about it", file=sys.stderr)


def matrix_text(matrix: np.ndarray, names: Sequence[str]) -> str:
    width = max(len(str(matrix.max())), *(len(name) for name in names)) + 1
    lines = [" " * width + "".join(name.rjust(width) for name in names)]
    lines += [
        name.rjust(width) + "".join(str(count).rjust(width) for count in row)
        for name, row in zip(names, matrix)
    ]
    return "\n".join(lines)


def command_summary(arguments: argparse.Namespace) -> int:
    model = load(model_path(arguments.model))
    print(model.summary())
    if is_text_model(model):
        characters = model.metadata["vocabulary"]["characters"]
        print(f"vocabulary: {len(characters)} characters: {characters!r}")
    return 0


# ---- gradcheck, plot, data ----------------------------------------------------------------------


def command_gradcheck(arguments: argparse.Namespace) -> int:
    sizes = arguments.layers
    if len(sizes) < 2:
        raise ConfigError(f"--layers needs at least two sizes, inputs ... outputs (e.g. 4 8 3); got {sizes}")
    if arguments.output_activation == "softmax" and sizes[-1] == 1:
        raise ConfigError(
            "a softmax over one output is always 1, so its gradient is 0 and the check would test nothing; "
            "use --output-activation sigmoid, or two or more outputs"
        )
    loss = arguments.loss or ("cross_entropy" if sizes[-1] > 1 else "mse")
    task = "regression" if loss == "mse" else "classification"
    model = mlp(
        sizes,
        activation=arguments.activation,
        output_activation=arguments.output_activation,
        task=task,
        dropout=arguments.dropout,
        rng=arguments.seed,
        dtype=np.float64,
    )
    rng = np.random.default_rng(arguments.seed)
    x = rng.standard_normal((arguments.samples, sizes[0]))
    if task == "classification":
        y = rng.integers(0, max(sizes[-1], 2), arguments.samples)
    else:
        y = rng.standard_normal((arguments.samples, sizes[-1]))
    total = sum(parameter.size for parameter in model.parameters())
    subset = arguments.entries or (GRADCHECK_SUBSET if total > GRADCHECK_ALL else None)
    print(
        f"gradient check of {'-'.join(map(str, sizes))} ({arguments.activation}, {loss}), "
        f"{arguments.samples} samples, float64: "
        + (f"every one of the {total:,} parameters" if subset is None else
           f"{subset} random entries of each parameter array ({total:,} parameters in all; --entries N)"),
        flush=True,  # shown before the check runs
    )
    result = gradcheck(model, loss, x, y, l2=arguments.l2, training=arguments.dropout > 0, max_entries=subset)
    print(result.table())
    verdict = "passed" if result.passed else "FAILED"
    print(f"{verdict}: worst relative error {result.worst:.2e} (tolerance {result.tolerance:.0e})")
    return 0 if result.passed else EXIT_ERROR


def command_plot(arguments: argparse.Namespace) -> int:
    folder = Path(arguments.run_dir)
    history_path = folder / "history.csv"
    if not history_path.is_file():
        raise FileNotFoundError(f"no history.csv in {folder}; give a run folder made by barenet train")
    settings = run_settings(history_path)
    if check_dataset(settings.get("dataset", "mnist")) in TEXT_DATASETS:  # loss against steps
        history = read_history_csv(history_path)
        path = plot_text_history(history, settings["eval_every"], folder / "history.png")
    else:
        path = plot_history(read_history_csv(history_path), folder / "history.png")
    print(f"learning curves: {path}")
    return 0


def command_data(arguments: argparse.Namespace) -> int:
    data = load_data(arguments.dataset, arguments.data_dir, arguments.label_column, arguments.task)
    for note in data.notes:
        print(note)
    if data.vocabulary is not None:  # a text: its characters and how it begins
        print(f"characters: {data.vocabulary.characters!r}")
        print(f"it begins:\n{data.vocabulary.decode(data.x_train[:300])}")
        return 0
    print(f"{data.name}: {data.task}" + (f", {len(data.class_names)} classes" if data.class_names else ""))
    for split, x, y in (("train", data.x_train, data.y_train), ("test", data.x_test, data.y_test)):
        print(
            f"{split:5s}  x {x.shape} {x.dtype}, values {x.min():g} to {x.max():g}; "
            f"y {y.shape} {y.dtype}, values {y.min():g} to {y.max():g}"
        )
        if data.class_names:
            counts = np.bincount(y, minlength=len(data.class_names))
            print(
                "       class counts: "
                + ", ".join(f"{name}: {n}" for name, n in zip(data.class_names, counts))
            )
    stem = arguments.dataset.split(":")[-1].replace("/", "_").replace(".", "_")
    path = Path(arguments.out or f"{stem}_samples.png")
    rng = np.random.default_rng(arguments.seed)
    classification = data.task == "classification"
    if data.image_shape is not None:
        chosen = rng.choice(len(data.x_train), size=min(arguments.samples, len(data.x_train)), replace=False)
        labels = data.y_train[chosen]
        captions = (
            [data.class_names[label] for label in labels]
            if classification
            else [f"{v:.3g}" for v in labels[:, 0]]
        )
        plot_image_grid(
            data.x_train[chosen], captions, path, f"{len(chosen)} random {data.name} training images"
        )
    elif data.n_features == (2 if classification else 1):
        plot_samples(
            data.x_train,
            data.y_train,
            path,
            f"{data.name}: {len(data.x_train)} training samples",
            classes=classification,
        )
    else:
        print("no picture: the samples are neither 28x28 images nor points in one or two dimensions")
        return 0
    print(f"samples picture: {path}")
    return 0
