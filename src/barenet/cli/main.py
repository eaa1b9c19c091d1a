"""The ``barenet`` command line: the parser and ``main``.

Each subcommand is one function ``command_<name>(arguments) -> exit status`` in
:mod:`barenet.cli.commands`; ``serve`` and ``sweep`` come from their own packages, each
declaring its options (``add_arguments(parser)``) and its command (``run(arguments)``).
The choices and defaults ``--help`` shows are read from the library
(:mod:`barenet.runs.choices`).

Mistakes in the input end in one ``barenet: error: ...`` line that says what was expected,
never in a traceback; an unexpected internal error still shows its traceback (a bug to
report), and ``BARENET_DEBUG=1`` shows tracebacks for everything.
Exit status: 0 done, 1 error (or training diverged, or a gradient check failed), 2 bad
command line, 130 interrupted with Ctrl-C.
"""

from __future__ import annotations

import argparse
import difflib
import os
import sys
import warnings
from collections.abc import Sequence

from .. import __version__
from ..allocator import reuse_freed_memory
from ..errors import BarenetError
from ..model.generation import DEFAULT_TEMPERATURE, DEFAULT_TOP_K
from ..runs.choices import DECAY_PARAMETER, takes_betas, takes_momentum
from ..runs.config import CHOICES, DATASETS
from ..serve import command as serve_command  # imports no web framework until it runs
from ..sweep import command as sweep_command  # imports no Optuna until it runs
from ..training import TrainingInterrupted
from .commands import (
    EXIT_ERROR,
    EXIT_INTERRUPTED,
    EXIT_USAGE,
    command_data,
    command_evaluate,
    command_gradcheck,
    command_plot,
    command_predict,
    command_summary,
    command_train,
)
from .help_text import TRAIN_EPILOG, HelpFormatter, choices_metavar, default_text
from .text_commands import command_generate

MAX_SHOWN = 400  # samples a `barenet data` picture shows at most
MODEL_HELP = "a model file (model.npz), or a run folder holding one"


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
    reuse_freed_memory()  # a training step's large arrays are reused, not faulted in again
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
        except (BarenetError, OSError) as error:  # bad input or a file problem; anything else is a bug
            if os.environ.get("BARENET_DEBUG") == "1":
                raise
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
        sub = commands.add_parser(
            name, help=help.replace("%", "%%"), description=help, formatter_class=HelpFormatter,
            epilog=TRAIN_EPILOG if name == "train" else None,
        )
        sub.set_defaults(command=function, parser=sub)
        return sub

    add_train_options(command("train", command_train, "train a network; with no options, MNIST to >= 98 %"))

    evaluate = command("evaluate", command_evaluate, "loss, accuracy, per-class scores and confusion matrix")
    evaluate.add_argument("model", help="a model file (model.npz) or a run folder; a text model is scored "
                          "on the fixed validation windows (loss in nats per character, perplexity)")
    add_data_options(evaluate)
    evaluate.add_argument("--plot", help="where to draw the confusion matrix (default: beside the model)")

    predict = command("predict", command_predict, "predict the class of digit images or CSV rows, or the "
                      "next character of a text")
    predict.add_argument("model", help=MODEL_HELP)
    predict.add_argument(
        "files", nargs="*", metavar="FILE", help="PNG/JPEG images or CSV files of feature rows"
    )
    predict.add_argument("--text", help="text models: the text whose next character to predict")
    predict.add_argument("--top", type=positive, help="how many of the likeliest classes to show "
                         "(default: 3); of a text model's next characters (default: 10)")
    predict.add_argument("--json", action="store_true", help="print JSON instead of text")

    gradcheck = command("gradcheck", command_gradcheck, "check backpropagation against finite differences")
    gradcheck.add_argument("--layers", type=int, nargs="+", required=True, metavar="SIZE")
    gradcheck.add_argument(
        "--activation", default="tanh", choices=CHOICES["activation"], help="of the hidden layers"
    )
    gradcheck.add_argument(
        "--output-activation", choices=CHOICES["output_activation"],
        help="default: softmax for classes, sigmoid for binary_cross_entropy, identity for mse",
    )
    gradcheck.add_argument(
        "--loss", choices=CHOICES["loss"], help="default: cross_entropy, or mse for one output"
    )
    gradcheck.add_argument("--l2", type=float, default=0.0, help="L2 penalty in the checked loss")
    gradcheck.add_argument("--dropout", type=float, default=0.0, help="dropout (one fixed mask)")
    gradcheck.add_argument("--samples", type=positive, default=8, help="batch size of the check")
    gradcheck.add_argument(
        "--entries", type=positive, help="check N random entries of each parameter array (default: all "
        "up to 5,000 parameters, else 100)"
    )
    gradcheck.add_argument("--seed", type=int, default=0, help="of the weights and the batch")

    summary = command("summary", command_summary, "the layers of a model and their parameter counts")
    summary.add_argument("model", help=MODEL_HELP)

    generate = command("generate", command_generate, "write text with a text model, character by character")
    generate.add_argument("model", metavar="RUN_OR_MODEL", help="a run folder or model file of a text model")
    generate.add_argument("--prompt", default="\n", help="the text to continue (default: a line break)")
    generate.add_argument("--length", type=count, default=500, help="characters to write")
    generate.add_argument("--temperature", type=temperature, default=DEFAULT_TEMPERATURE,
                          help="below 1: safer, more repetitive text; above 1: wilder")
    generate.add_argument("--top-k", type=count, default=DEFAULT_TOP_K, metavar="K",
                          help="draw among the K likeliest characters only (0: among all)")
    generate.add_argument("--seed", type=int, help="the same seed writes the same text (default: random)")

    plot = command("plot", command_plot, "redraw the learning curves of a run folder")
    plot.add_argument("run_dir", metavar="RUN_DIR", help="a run folder holding history.csv")

    data = command("data", command_data, "what a data set holds: shapes, ranges, classes, samples")
    data.add_argument("dataset", metavar="DATASET", help=f"one of {', '.join(DATASETS)}")
    data.add_argument("--data-dir", help="where to look for the data files first")
    data.add_argument("--label-column", type=label_column, metavar="NAME|INDEX", help="csv: as for train")
    data.add_argument("--task", choices=CHOICES["task"], help="csv/npz: as for train")
    data.add_argument("--out", help="the PNG of samples to write (default: DATASET_samples.png)")
    data.add_argument(
        "--samples", type=sample_count, default=36, help=f"how many samples to show (at most {MAX_SHOWN})"
    )
    data.add_argument("--seed", type=int, default=0, help="which random samples to show")

    for name, package in (("sweep", sweep_command), ("serve", serve_command)):  # they declare their options
        package.add_arguments(command(name, package.run, package.HELP))
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
        key = settings.get("dest") or flags[0].lstrip("-").replace("-", "_")
        if "default" not in settings.get("help", ""):
            settings["help"] = " ".join(filter(None, [settings.get("help"), default_text(key)]))
        parser.add_argument(*flags, default=argparse.SUPPRESS, **settings)

    option("--config", metavar="FILE.toml", help="read settings from a TOML file (options given here win)")
    option("--resume", metavar="CHECKPOINT", help="continue the run saved in a checkpoint.npz")
    option("--dataset", metavar="{" + ",".join(DATASETS) + "}", help="the data to train on")
    option("--data-dir", help="where to look for the data files first (else $BARENET_DATA_DIR, the cache)")
    option("--train-limit", type=int, metavar="N", help="use only the first N training samples")
    option("--label-column", type=label_column, metavar="NAME|INDEX", help="csv: the label's name or place")
    option("--task", choices=CHOICES["task"], help="csv/npz: what to learn from the labels")
    option("--test-data", metavar="PATH", help="csv/npz: a test file laid out like the training one")
    option("--val-split", type=float, metavar="FRACTION", help="training rows held out for validation")
    option("--preprocess", metavar=choices_metavar("preprocess"), help="preprocessing the model carries")
    option("--layers", type=int, nargs="+", metavar="SIZE", help="widths, input to output: 784 256 128 10; "
           "text models: one number, the transformer blocks (gpt, default 4) or LSTM layers (char-lstm, 1)")
    option("--model", choices=CHOICES["model"], help="the network: an MLP of --layers, LeNet-5, or "
           "barenet.cnn() (conv 32, conv 64); any other stack: a [[layers]] list in --config. Text: gpt "
           "(default) or char-lstm")
    option("--steps", type=int, help="text: optimiser steps in all (default: 2000; char-lstm: 1000)")
    option("--eval-every", type=int, metavar="STEPS", help="text: evaluate on the fixed validation windows, "
           "write a sample and a checkpoint every STEPS steps (default: 250, or --steps if fewer)")
    option("--context", type=int, metavar="CHARACTERS", help="text: characters the model reads at once "
           "(default: 64)")
    option("--heads", type=int, help="text, gpt: attention heads per block; they divide --width (default: 4)")
    option("--width", type=int, help="text: gpt's embedding width (default: 128), char-lstm's hidden size "
           "(default: 256)")
    option("--activation", metavar=choices_metavar("activation"), help="of the hidden layers")
    option("--output-activation", metavar=choices_metavar("output_activation"))
    option("--loss", metavar=choices_metavar("loss"))
    option("--init", metavar="NAME", help=f"weight initialiser: {', '.join(CHOICES['init'])}")
    option("--bias-init", metavar="NAME", help="bias initialiser, as --init")
    option("--dropout", type=float, metavar="P", help="dropout after each hidden layer")
    option("--dtype", metavar=choices_metavar("dtype"))
    option("--optimizer", metavar=choices_metavar("optimizer"))
    option("--lr", "--learning-rate", "--learning_rate", dest="lr", type=float, help="learning rate")
    option("--lr-schedule", metavar=choices_metavar("lr_schedule"))
    option("--lr-decay", type=float, help=", ".join(f"{parameter} of {name}" for name, parameter
                                                      in DECAY_PARAMETER.items()))
    option("--warmup", type=int, metavar="N", help="cosine: linear warm-up over N epochs (text: steps) "
           "(default: 0; text gpt: 100, or a 20th of --steps if fewer)")
    option("--min-lr", type=float, help="cosine: the learning rate it ends at (default: 0; text gpt: 1e-4)")
    with_betas = [name for name in CHOICES["optimizer"] if takes_betas(name)]
    option("--betas", type=float, nargs=2, metavar=("BETA1", "BETA2"), help=f"for {', '.join(with_betas)} "
           "(default: 0.9 0.999; text gpt: 0.9 0.99)")
    with_momentum = [name for name in CHOICES["optimizer"] if takes_momentum(name)]
    option("--momentum", type=float, help=f"for {', '.join(with_momentum)}")
    option("--weight-decay", type=float, help="optimiser weight decay (decoupled for adamw)")
    option("--max-grad-norm", type=float, metavar="NORM", help="clip the gradient's global norm to NORM")
    option("--l2", type=float, metavar="LAMBDA", help="L2 penalty lambda/(2m)·sum(W²)")
    option("--epochs", type=int, help="passes over the training data (at least 1)")
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
        "--overwrite", action="store_true", help="replace the files of another run in --out (else refused)"
    )
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
    option("--workers", type=int, metavar="N",
           help="split each batch into N shards trained on N threads, the BLAS threads shared among them "
                "(2 on two cores: GPT and CNN steps 10-30%% faster; the numbers then differ from 1's by "
                "rounding)")


def label_column(text: str) -> int | str:
    """``3`` or ``-1`` is a position, anything else a column name."""
    try:
        return int(text)
    except ValueError:
        return text


def whole_number(text: str, low: int = 1) -> int:
    """A whole number >= ``low``."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < low:
        raise argparse.ArgumentTypeError(f"expected a whole number >= {low}, got {value}")
    return value


def positive(text: str) -> int:
    """A whole number >= 1."""
    return whole_number(text, 1)


def count(text: str) -> int:
    """A whole number >= 0."""
    return whole_number(text, 0)


def temperature(text: str) -> float:
    """A number > 0."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"expected a number > 0, got {text}")
    return value


def sample_count(text: str) -> int:
    """A count of samples to draw: 1 to MAX_SHOWN."""
    count = positive(text)
    if count > MAX_SHOWN:
        raise argparse.ArgumentTypeError(f"expected 1 to {MAX_SHOWN} samples, got {count}")
    return count


def batch_size(text: str) -> int | str:
    if text == "full":
        return text
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number or 'full', got {text!r}") from None


# ---- train --------------------------------------------------------------------------------------


