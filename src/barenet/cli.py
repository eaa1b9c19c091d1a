"""The ``barenet`` command line: train, evaluate, predict, gradcheck, summary, plot, data.

Each subcommand is one function ``command_<name>(arguments) -> exit status``. Mistakes in
the input end in one ``barenet: error: ...`` line that says what was expected, never in a
traceback. Exit status: 0 done, 1 error (or training diverged, or a gradient check failed),
2 bad command line, 130 interrupted with Ctrl-C.
"""

from __future__ import annotations

import argparse
import contextlib
import difflib
import json
import os
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from . import __version__
from .callbacks import read_history_csv
from .config import DATASETS, build_config, read_toml, resolve_for_data
from .data_sources import Data, load_data, read_feature_rows
from .gradcheck import gradcheck
from .images import read_digit_image
from .metrics import classification_report, confusion_matrix
from .model import mlp
from .plots import plot_confusion_matrix, plot_history, plot_image_grid, plot_samples
from .runs import check_layers_fit, config_from_checkpoint, new_run_folder, train_run
from .saving import load
from .training import DivergenceError, TrainingInterrupted, evaluate

EXIT_ERROR, EXIT_USAGE, EXIT_INTERRUPTED = 1, 2, 130
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif")


class ArgumentParser(argparse.ArgumentParser):
    """argparse, with errors as one ``barenet: error:`` line and a hint at close options."""

    def error(self, message: str) -> None:
        if message.startswith("unrecognized arguments:"):
            unknown = message.split(":", 1)[1].split()[0]
            options = [flag for action in self._actions for flag in action.option_strings]
            names = {flag.lstrip("-"): flag for flag in options}
            close = [names[name] for name in difflib.get_close_matches(unknown.lstrip("-"), names, n=3)]
            message += f"; did you mean {' or '.join(close)}?" if close else ""
        print(f"barenet: error: {message}\nrun '{self.prog} --help' for the options", file=sys.stderr)
        raise SystemExit(EXIT_USAGE)


def parse_arguments(parser: ArgumentParser, argv: Sequence[str] | None) -> argparse.Namespace:
    """Parse ``argv``; options the subcommand does not know are reported by the subcommand's
    parser, which knows its options (for "did you mean") and names its own ``--help``."""
    arguments, unknown = parser.parse_known_args(argv)
    if unknown:
        arguments.parser.error(f"unrecognized arguments: {' '.join(unknown)}")
    del arguments.parser
    return arguments


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    arguments = parse_arguments(build_parser(), argv)
    with warnings.catch_warnings():
        warnings.showwarning = _show_warning
        try:
            return arguments.command(arguments)
        except TrainingInterrupted as interruption:
            print(f"barenet: {interruption}", file=sys.stderr)
            if interruption.checkpoint:
                print(f"resume with: barenet train --resume {interruption.checkpoint}", file=sys.stderr)
            return EXIT_INTERRUPTED
        except KeyboardInterrupt:
            print("barenet: interrupted", file=sys.stderr)
            return EXIT_INTERRUPTED
        except BrokenPipeError:  # the reader went away (e.g. `| head`): nothing more to say
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            return EXIT_ERROR
        except (ValueError, OSError) as error:
            print(f"barenet: error: {error}", file=sys.stderr)
            return EXIT_ERROR


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    print(f"barenet: warning: {message}", file=sys.stderr)


# ---- the parser ---------------------------------------------------------------------------------


def build_parser() -> ArgumentParser:
    parser = ArgumentParser(
        prog="barenet",
        description="Neural networks in bare NumPy: train, inspect and use them.",
    )
    parser.add_argument("--version", action="version", version=f"barenet {__version__}")
    commands = parser.add_subparsers(title="commands", required=True, metavar="COMMAND")

    def command(name: str, function, help: str) -> ArgumentParser:
        sub = commands.add_parser(name, help=help.replace("%", "%%"), description=help)
        sub.set_defaults(command=function, parser=sub)
        return sub

    add_train_options(command("train", command_train, "train a network; with no options, MNIST to >= 98 %"))

    evaluate = command("evaluate", command_evaluate, "loss, accuracy, per-class scores and confusion matrix")
    evaluate.add_argument("model", help="a model file (model.npz)")
    add_data_options(evaluate)
    evaluate.add_argument("--plot", help="where to draw the confusion matrix (default: beside the model)")

    predict = command("predict", command_predict, "predict the class of digit images or CSV rows")
    predict.add_argument("model", help="a model file (model.npz)")
    predict.add_argument(
        "files", nargs="+", metavar="FILE", help="PNG/JPEG images or CSV files of feature rows"
    )
    predict.add_argument("--top", type=int, default=3, help="how many of the likeliest classes to show")
    predict.add_argument("--json", action="store_true", help="print JSON instead of text")

    gradcheck = command("gradcheck", command_gradcheck, "check backpropagation against finite differences")
    gradcheck.add_argument("--layers", type=int, nargs="+", required=True, metavar="SIZE")
    gradcheck.add_argument("--activation", default="tanh")
    gradcheck.add_argument("--output-activation", default=None)
    gradcheck.add_argument("--loss", default=None, help="default: cross_entropy, or mse for one output")
    gradcheck.add_argument("--l2", type=float, default=0.0)
    gradcheck.add_argument("--dropout", type=float, default=0.0)
    gradcheck.add_argument("--samples", type=int, default=8, help="batch size of the check")
    gradcheck.add_argument("--seed", type=int, default=0)

    summary = command("summary", command_summary, "the layers of a model and their parameter counts")
    summary.add_argument("model", help="a model file (model.npz)")

    plot = command("plot", command_plot, "redraw the learning curves of a run folder")
    plot.add_argument("run_dir", metavar="RUN_DIR", help="a run folder holding history.csv")

    data = command("data", command_data, "what a data set holds: shapes, ranges, classes, samples")
    data.add_argument("dataset", metavar="DATASET", help=f"one of {', '.join(DATASETS)}")
    data.add_argument("--data-dir", help="where to look for the data files first")
    data.add_argument("--out", help="the PNG of samples to write (default: DATASET_samples.png)")
    data.add_argument("--samples", type=int, default=36, help="how many samples to show")
    data.add_argument("--seed", type=int, default=0, help="which random samples to show")
    return parser


def add_data_options(parser: ArgumentParser) -> None:
    parser.add_argument(
        "--dataset",
        help="the data whose test split to use (default: the dataset in config.toml beside the model)",
    )
    parser.add_argument("--data-dir", help="where to look for the data files first")


def add_train_options(parser: ArgumentParser) -> None:
    """Options of ``train``. Only those given appear in the parsed arguments (default
    SUPPRESS), so they can override a config file or a checkpoint's configuration."""

    def option(*flags: str, **settings) -> None:
        parser.add_argument(*flags, default=argparse.SUPPRESS, **settings)

    option("--config", metavar="FILE.toml", help="read settings from a TOML file (options given here win)")
    option("--resume", metavar="CHECKPOINT", help="continue the run saved in a checkpoint.npz")
    option("--dataset", metavar="{" + ",".join(DATASETS) + "}", help="default: mnist")
    option("--data-dir", help="where to look for the data files first (else $BARENET_DATA_DIR, the cache)")
    option("--train-limit", type=int, metavar="N", help="use only the first N training samples")
    option("--val-split", type=float, metavar="FRACTION", help="held out for validation (default 0.1)")
    option("--preprocess", metavar="{scale,standardize,none}", help="input preprocessing the model carries")
    option("--layers", type=int, nargs="+", metavar="SIZE", help="widths, input to output: 784 256 128 10")
    option("--activation", metavar="{relu,leaky_relu,sigmoid,tanh}", help="of the hidden layers")
    option("--output-activation", metavar="{softmax,sigmoid,identity}")
    option("--loss", metavar="{cross_entropy,binary_cross_entropy,mse}")
    option("--init", help="weight initialiser: he, xavier, lecun, normal, ... (default: by activation)")
    option("--bias-init", help="bias initialiser (default zeros)")
    option("--dropout", type=float, metavar="P", help="dropout after each hidden layer")
    option("--dtype", metavar="{float32,float64}")
    option("--optimizer", metavar="{sgd,momentum,nesterov,rmsprop,adam,adamw}")
    option("--lr", "--learning-rate", "--learning_rate", dest="lr", type=float, help="learning rate")
    option("--lr-schedule", metavar="{constant,cosine,step,exponential,inverse_time}")
    option("--lr-decay", type=float, help="decay of inverse_time, gamma of exponential and step")
    option("--momentum", type=float, help="for sgd, momentum, nesterov")
    option("--weight-decay", type=float, help="optimiser weight decay (decoupled for adamw)")
    option("--max-grad-norm", type=float, metavar="NORM", help="clip the gradient's global norm to NORM")
    option("--l2", type=float, metavar="LAMBDA", help="L2 penalty lambda/(2m)·sum(W²)")
    option("--epochs", type=int)
    option("--batch-size", type=batch_size, metavar="{N,full}")
    option(
        "--augment",
        type=int,
        nargs="?",
        const=2,
        metavar="PIXELS",
        help="shift training images randomly by up to PIXELS (2 if no value)",
    )
    option("--seed", type=int)
    option(
        "--early-stopping", type=int, metavar="PATIENCE", help="stop when val_loss stalls this many epochs"
    )
    option("--out", metavar="DIR", help="the run folder (default runs/<date>-<time>)")
    option(
        "--verbose-every",
        "--verbose_epoch",
        "--verbose-epoch",
        dest="verbose_every",
        type=int,
        metavar="N",
        help="print a line every N epochs instead of a progress bar",
    )
    option("--quiet", action="store_true", help="print only the result")
    option("--threads", type=int, metavar="N", help="BLAS threads (default: all cores)")


def batch_size(text: str) -> int | str:
    if text == "full":
        return text
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number or 'full', got {text!r}") from None


# ---- train --------------------------------------------------------------------------------------


def command_train(arguments: argparse.Namespace) -> int:
    given = {key: value for key, value in vars(arguments).items() if key != "command"}
    config_file, resume = given.pop("config", None), given.pop("resume", None)
    layers = [config_from_checkpoint(resume)] if resume else []
    layers += [read_toml(config_file)] if config_file else []
    config = build_config(*layers, given)
    if resume and not config.out:
        folder = Path(resume).parent
    else:
        folder = Path(config.out) if config.out else new_run_folder()
    with thread_limit(config.threads):
        data = load_data(config.dataset, config.data_dir)
        config = resolve_for_data(config, data.n_features, data.n_outputs, data.task)
        check_layers_fit(config, data)
        try:
            result = train_run(config, data, folder, resume=resume, log=ignore if config.quiet else print)
        except DivergenceError as error:
            print(
                f"barenet: error: {error}\nthe model, with those weights, is in {folder / 'model.npz'}",
                file=sys.stderr,
            )
            return EXIT_ERROR
    if result.history.stop_reason:
        print(result.history.stop_reason)
    print(f"test {format_metrics(result.test_metrics)}")
    print(f"run folder: {result.folder}")
    return 0


def ignore(text: str) -> None:
    """A ``log`` that prints nothing (``--quiet``)."""


def format_metrics(metrics: dict[str, float]) -> str:
    """``loss 0.0594  accuracy 0.9830``: the same line from train and evaluate."""
    return "  ".join(f"{name} {value:.4f}" for name, value in metrics.items())


@contextlib.contextmanager
def thread_limit(threads: int | None):
    """Limit the BLAS threads inside the block (needs the threadpoolctl package)."""
    if threads is None:
        yield
        return
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        print(
            "barenet: warning: --threads needs the threadpoolctl package (pip install threadpoolctl), "
            "or set OPENBLAS_NUM_THREADS before starting barenet; using all cores",
            file=sys.stderr,
        )
        yield
        return
    with threadpool_limits(limits=threads):
        yield


# ---- evaluate, predict, summary -----------------------------------------------------------------


def run_settings(model_path: str) -> dict:
    """The settings in the config.toml beside a model, if there is one."""
    config_path = Path(model_path).parent / "config.toml"
    return read_toml(config_path) if config_path.is_file() else {}


def data_for_model(arguments: argparse.Namespace) -> tuple[Data, dict]:
    settings = run_settings(arguments.model)
    dataset = arguments.dataset or settings.get("dataset")
    if dataset is None:
        raise ValueError(
            f"which data should {arguments.model} be evaluated on? There is no config.toml beside it; "
            "give --dataset"
        )
    return load_data(dataset, arguments.data_dir or settings.get("data_dir")), settings


def command_evaluate(arguments: argparse.Namespace) -> int:
    model = load(arguments.model)
    data, settings = data_for_model(arguments)
    metrics = evaluate(model, data.x_test, data.y_test, loss=settings.get("loss"))
    print(f"{data.name}, {len(data.x_test)} test samples")
    print(f"test {format_metrics(metrics)}")
    if model.task != "classification":
        return 0
    matrix = confusion_matrix(data.y_test, model.predict(data.x_test), max(model.out_features, 2))
    names = data.class_names
    print("\n" + classification_report(matrix, names))
    print("\nconfusion matrix (rows: true class, columns: predicted class)")
    print(matrix_text(matrix, names))
    plot_path = Path(arguments.plot or Path(arguments.model).parent / "evaluate_confusion_matrix.png")
    plot_confusion_matrix(matrix, plot_path, names)
    print(f"\nconfusion matrix picture: {plot_path}")
    return 0


def matrix_text(matrix: np.ndarray, names: Sequence[str]) -> str:
    width = max(len(str(matrix.max())), *(len(name) for name in names)) + 1
    lines = [" " * width + "".join(name.rjust(width) for name in names)]
    lines += [
        name.rjust(width) + "".join(str(count).rjust(width) for count in row)
        for name, row in zip(names, matrix)
    ]
    return "\n".join(lines)


def command_summary(arguments: argparse.Namespace) -> int:
    print(load(arguments.model).summary())
    return 0


def read_inputs(files: Sequence[str], n_features: int) -> tuple[list[str], np.ndarray]:
    """Names and feature rows of the files: one row per image, one per CSV line."""
    names, rows = [], []
    for name in files:
        suffix = Path(name).suffix.lower()
        if suffix in IMAGE_SUFFIXES:
            names.append(name)
            rows.append(read_digit_image(name)[None, :])
        elif suffix in (".csv", ".gz", ".txt"):
            table = read_feature_rows(name, n_features)
            names += [f"{name}:{line}" for line in range(1, len(table) + 1)]
            rows.append(table)
        else:
            raise ValueError(f"{name}: expected a PNG or JPEG image or a CSV file of feature rows")
    x = np.concatenate(rows)
    if x.shape[1] != n_features:
        raise ValueError(
            f"the model takes {n_features} features per sample, but an image becomes 784 (28x28 pixels); "
            "give CSV rows of the right width, or a model trained on 28x28 images"
        )
    return names, x


def command_predict(arguments: argparse.Namespace) -> int:
    model = load(arguments.model)
    names, x = read_inputs(arguments.files, model.in_features)
    results = []
    if model.task == "classification":
        probabilities = model.predict_proba(x)
        for name, row in zip(names, probabilities):
            top = np.argsort(row)[::-1][: max(arguments.top, 1)]
            results.append(
                {
                    "input": name,
                    "prediction": int(top[0]),
                    "top": [
                        {"class": int(label), "probability": round(float(row[label]), 6)} for label in top
                    ],
                }
            )
    else:
        for name, values in zip(names, model.predict(x)):
            results.append({"input": name, "prediction": [float(value) for value in values]})
    if arguments.json:
        print(json.dumps(results, indent=2))
        return 0
    for result in results:
        if "top" in result:
            likeliest = ", ".join(f"{entry['class']}: {entry['probability']:.3f}" for entry in result["top"])
            print(f"{result['input']}: {result['prediction']}  ({likeliest})")
        else:
            print(f"{result['input']}: {' '.join(f'{value:.6g}' for value in result['prediction'])}")
    return 0


# ---- gradcheck, plot, data ----------------------------------------------------------------------


def command_gradcheck(arguments: argparse.Namespace) -> int:
    sizes = arguments.layers
    if len(sizes) < 2:
        raise ValueError(f"--layers needs at least two sizes, inputs ... outputs (e.g. 4 8 3); got {sizes}")
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
    result = gradcheck(model, loss, x, y, l2=arguments.l2, training=arguments.dropout > 0)
    print(
        f"gradient check of {'-'.join(map(str, sizes))} ({arguments.activation}, {loss}), "
        f"{arguments.samples} samples, float64"
    )
    print(result.table())
    verdict = "passed" if result.passed else "FAILED"
    print(f"{verdict}: worst relative error {result.worst:.2e} (tolerance {result.tolerance:.0e})")
    return 0 if result.passed else EXIT_ERROR


def command_plot(arguments: argparse.Namespace) -> int:
    folder = Path(arguments.run_dir)
    history_path = folder / "history.csv"
    if not history_path.is_file():
        raise FileNotFoundError(f"no history.csv in {folder}; give a run folder made by barenet train")
    path = plot_history(read_history_csv(history_path), folder / "history.png")
    print(f"learning curves: {path}")
    return 0


def command_data(arguments: argparse.Namespace) -> int:
    data = load_data(arguments.dataset, arguments.data_dir)
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
