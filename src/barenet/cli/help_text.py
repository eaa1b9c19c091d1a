"""The words of ``--help``: every option's default (per data set where they differ), and
what ``train --help`` says about CSV files, per-dataset defaults and the test hold-out."""

from __future__ import annotations

import argparse
import dataclasses

from ..datasets.csv_files import LABEL_NAMES
from ..datasets.labels import MAX_AUTO_CLASSES
from ..runs.choices import DECAY_PARAMETER, default_lr_decay, optimizer_defaults
from ..runs.config import (
    CHOICES,
    DATASET_DEFAULTS,
    HIDDEN_LAYERS,
    SMALL_DATA_EPOCHS,
    SMALL_DATA_STEPS,
    RunConfig,
)


def per_optimizer(setting: str) -> str:
    """``0.01 for sgd, momentum, nesterov, rmsprop; 0.001 for adam, adamw``: an optimiser
    default, grouped by value, read from the optimisers themselves."""
    groups: dict[object, list[str]] = {}
    for name in CHOICES["optimizer"]:
        defaults = optimizer_defaults(name)
        if setting in defaults:
            groups.setdefault(defaults[setting], []).append(name)
    return "; ".join(f"{value:g} for {', '.join(names)}" for value, names in groups.items())


def choices_metavar(key: str) -> str:
    """``{relu,leaky_relu,...}``: the valid values of a setting, as argparse shows choices."""
    return "{" + ",".join(CHOICES[key]) + "}"


GENERAL_DEFAULTS = {field.name: field.default for field in dataclasses.fields(RunConfig)}
FROM_THE_DATA = {
    "layers": "inputs, the data set's hidden widths, outputs",
    "output_activation": "softmax for classes, sigmoid for one output, identity for regression",
    "loss": "cross_entropy for classes, binary_cross_entropy for one output, mse for regression",
    "init": "he for relu and leaky_relu, xavier otherwise",
    "lr": f"the optimiser's: {per_optimizer('lr')}",
    "lr_decay": "the schedule's: "
    + ", ".join(f"{name} {default_lr_decay(name):g}" for name in DECAY_PARAMETER),
    "momentum": f"the optimiser's: {per_optimizer('momentum')}",
    "weight_decay": f"the optimiser's: {per_optimizer('weight_decay')}",
    "label_column": f"the column named {', '.join(LABEL_NAMES)} (any case), else the last",
    "task": f"from the labels (text or <= {MAX_AUTO_CLASSES} whole numbers: classification)",
    "test_data": "20 %% of the rows held out",
    "out": "runs/<date>-<time>",
    "train_limit": "all",
    "threads": "all cores",
    "max_grad_norm": "no clipping",
    "data_dir": "$BARENET_DATA_DIR, then the cache",
}


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter, argparse.RawDescriptionHelpFormatter):
    """Defaults shown after each option (unless its help already names one); the
    description and epilog keep their line breaks."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        if "default" in text or any(action.default is value for value in (None, False, argparse.SUPPRESS)):
            return text
        return super()._get_help_string(action)


def default_text(key: str) -> str:
    """``(default: 15; sine: 1000, spirals: 200, ...)`` for a ``train`` option."""
    if key not in GENERAL_DEFAULTS:
        return ""
    general = FROM_THE_DATA.get(key, GENERAL_DEFAULTS[key])
    if key == "epochs":
        general = 15
    words = [f"default: {general}"]
    special = {name: values[key] for name, values in DATASET_DEFAULTS.items() if key in values}
    if key == "epochs":
        special = {**special, "csv/npz": f"enough for {SMALL_DATA_STEPS} steps"}
        special.pop("csv", None), special.pop("npz", None)
    elif special.get("csv") == special.get("npz") and "csv" in special:
        special["csv/npz"] = special.pop("csv")
        special.pop("npz")
    words += [f"{name}: {value}" for name, value in special.items()]
    return "(" + "; ".join(words) + ")"


MNIST_HIDDEN = "-".join(map(str, HIDDEN_LAYERS["mnist"]))
LOW_EPOCHS, HIGH_EPOCHS = SMALL_DATA_EPOCHS
TRAIN_EPILOG = f"""\
per-dataset defaults (the options above list them where they differ):
  mnist, fashion-mnist  {MNIST_HIDDEN} hidden, cosine schedule, dropout 0.2, 15 epochs.
                        --model cnn (conv 32, conv 64) is slower: measured on a quiet
                        2-core CPU, about 15 seconds per epoch, so about 4 minutes
                        for the 15 epochs, and a peak memory of about 0.27 GB
                        (several times longer on a machine busy with other work)
  csv:PATH, npz:PATH    {HIDDEN_LAYERS["csv"][0]} hidden units, batch 32, constant learning rate, no
                        dropout, robust scaling (standardisation with extreme outliers
                        clipped and reported), regression targets standardised inside
                        the model; epochs: enough for at least
                        {SMALL_DATA_STEPS} optimiser steps, {LOW_EPOCHS} to {HIGH_EPOCHS} epochs

  tinyshakespeare,      text models, trained in optimiser steps (--steps, --eval-every).
  text:PATH             --model gpt (default) is nanoGPT's baby GPT on a CPU: 4 layers,
                        4 heads, width 128, context 64, batch 12, 2000 steps, dropout 0,
                        AdamW lr 1e-3, betas 0.9 0.99, weight decay 0.1 (matrices only),
                        gradient norm clipped to 1, 100 steps of warm-up, then a cosine
                        decay to 1e-4. --model char-lstm: one LSTM of 256, Adam lr 3e-3,
                        batch 32, 1000 steps, cosine decay to 0. The last 10 % of the text
                        validates (--val-split), on a fixed set of 100 batches of windows;
                        a sample of text is written at each evaluation. Then:
                        barenet generate RUN --prompt "ROMEO:"

CSV files (csv:PATH), as pandas and spreadsheets write them:
  one row per sample, features as numbers; the delimiter (, ; tab |) and quotes are
  detected, a header row is detected, a pandas index column (empty header cell) is
  dropped. The label column is --label-column NAME|INDEX, else the column named
  {", ".join(LABEL_NAMES)} (any case; two such columns are an error), else the last
  column. Task: text labels, or whole numbers with at most {MAX_AUTO_CLASSES} distinct values, are
  classes (numbered 0..k-1, their names kept in the model file); fractions or more
  distinct values are a regression (--task overrides). A bad or missing cell is an
  error naming its line and column, before training starts.

test data:
  csv and npz data without --test-data (or an archive's own x_test, y_test) hold out
  20 % of the rows as the test set, always the same rows; --val-split is then taken
  from the rest. barenet evaluate MODEL --dataset csv:TEST.csv scores every row of
  TEST.csv.
"""
