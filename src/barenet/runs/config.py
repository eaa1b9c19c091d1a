"""The configuration of a training run: every setting of ``barenet train``, in one place.

A :class:`RunConfig` is built in layers, each overriding the one before:

1. the general defaults (the fields' defaults below: the MNIST recipe);
2. the defaults of the data set (:data:`DATASET_DEFAULTS`, e.g. MSE and a sigmoid output
   for the sine regression; for text, nanoGPT's baby GPT and the text model's own, see
   :mod:`barenet.runs.text_settings`);
3. a TOML file (``--config run.toml``) holding the same keys;
4. the options given on the command line.

What depends on the data (the input and output widths, the loss, the learning rate of the
chosen optimiser, ...) is filled in by :func:`resolve_for_data` once the data is loaded, so
the ``config.toml`` written into a run folder holds every setting and repeats the run.
"""

from __future__ import annotations

import dataclasses
import difflib
import functools
import math
import types
import typing
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from ..errors import ConfigError
from .architectures import ARCHITECTURES, check_layer_table, is_layer_table
from .choices import CHOICES as LIBRARY_CHOICES
from .choices import (
    DECAY_PARAMETER,
    OUTPUT_ACTIVATION,
    default_lr_decay,
    library_refusal,
    optimizer_defaults,
    takes_betas,
    takes_momentum,
)
from .text_settings import (
    TEXT_DATASETS,
    TEXT_MODELS,
    check_not_text,
    check_text_settings,
    is_text,
    text_values,
)
from .toml_files import dump_toml, load_toml

DATASETS = ("mnist", "fashion-mnist", "sine", "spirals", "csv:PATH", "npz:PATH", "tinyshakespeare",
            "text:PATH")
PATH_DATASETS = ("csv", "npz", "text")
IMAGE_DATASETS = ("mnist", "fashion-mnist")
CHOICES: dict[str, tuple[str, ...]] = {
    **LIBRARY_CHOICES,  # optimisers, losses, activations, initialisers, schedules: the registries'
    "preprocess": ("scale", "standardize", "robust", "none"),
    "task": ("classification", "regression"),
    "dtype": ("float32", "float64"),
    "model": ARCHITECTURES + TEXT_MODELS,
}
SMALL_DATA_STEPS = 2000  # csv/npz without --epochs: train for at least this many optimiser steps
SMALL_DATA_EPOCHS = (20, 1000)  # ... in at least 20 and at most 1000 epochs


@dataclass
class RunConfig:
    """Every setting of a training run. ``None`` means "chosen from the data and the other
    settings" (see :func:`resolve_for_data`) or, for ``data_dir``, ``out``, ``train_limit``
    and ``threads``, "not set"."""

    dataset: str = "mnist"  # one of DATASETS: mnist, sine, csv:PATH, tinyshakespeare, text:PATH, ...
    data_dir: str | None = None  # where to look for data files first
    # MLP widths, e.g. [784, 256, 128, 10], [[layers]] tables, or a text model's blocks (gpt) or LSTMs
    layers: int | list[int] | list[dict] | None = None
    model: str = "mlp"  # mlp (from layers), lenet5, cnn (see barenet.runs.architectures), gpt, char-lstm
    activation: str | None = "relu"  # of the hidden layers
    output_activation: str | None = None  # softmax for classes, identity for regression
    loss: str | None = None  # cross_entropy for classes, mse for regression
    init: str | None = None  # he for (leaky) ReLU, xavier otherwise
    bias_init: str | None = "zeros"
    optimizer: str = "adam"
    lr: float | None = None  # the optimiser's default
    lr_schedule: str = "cosine"
    lr_decay: float | None = None  # decay of inverse_time; gamma of exponential and step
    warmup: int | None = None  # cosine: linear warm-up over this many epochs (text: steps); None = 0
    min_lr: float | None = None  # cosine: the learning rate it decays to; None = 0
    betas: list[float] | None = None  # adam, adamw: (beta1, beta2); None = the optimiser's (0.9, 0.999)
    epochs: int | None = 15  # None (csv/npz): enough epochs for SMALL_DATA_STEPS optimiser steps
    batch_size: int | str = 128  # or "full" for full-batch gradient descent
    dropout: float = 0.2
    l2: float = 0.0  # classic L2 strength lambda, penalty lambda/(2m)·sum(W²)
    weight_decay: float | None = None  # the optimiser's (decoupled for adamw)
    max_grad_norm: float | None = None  # clip the global gradient norm to this; None = no clipping
    steps: int | None = None  # text: optimiser steps in all
    eval_every: int | None = None  # text: steps between evaluations on the fixed validation windows
    context: int | None = None  # text: characters the model reads at once
    heads: int | None = None  # text, gpt: attention heads per block (they divide width)
    width: int | None = None  # text: gpt's embedding width, char-lstm's hidden size
    momentum: float | None = None  # sgd family only; 0.9 for momentum and nesterov
    augment: int = 0  # largest random shift of training images in pixels; 0 = off
    seed: int = 0
    val_split: float = 0.1  # fraction of the training data held out for validation (text: the end)
    early_stopping: int = 0  # patience in epochs on val_loss; 0 = off
    out: str | None = None  # run folder; default runs/<timestamp>
    overwrite: bool = False  # replace the files of another run in ``out`` (never stored as true)
    verbose_every: int = 0  # 0: a progress bar per epoch on a terminal; N: a line every N epochs
    quiet: bool = False
    dtype: str = "float32"
    preprocess: str | None = "scale"  # scale to [0, 1], standardize or robust (median/IQR) per feature, none
    train_limit: int | None = None  # train on the first N training samples only
    label_column: int | str | None = None  # csv: the label's name or 0-based position; None: by name/last
    task: str | None = None  # csv/npz: classification or regression; None: from the labels
    test_data: str | None = None  # csv/npz: a separate test file; None: 20 % of the rows held out
    threads: int | None = None  # BLAS threads; default all cores
    workers: int = 1  # shards per batch, each on its own thread (results depend on it, by rounding)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @property
    def dataset_kind(self) -> str:
        """``"csv"`` for ``csv:data.csv``; the name itself otherwise."""
        return self.dataset.split(":", 1)[0]


TYPE_NAMES = {int: "an integer", float: "a number", str: "a string", bool: "true or false"}
MAX_SETTING_INTEGER = 2**63 - 1
KEYS = tuple(field.name for field in dataclasses.fields(RunConfig))

DATASET_DEFAULTS: dict[str, dict] = {
    "mnist": {},
    "fashion-mnist": {},
    "sine": {
        "activation": "sigmoid",
        "output_activation": "sigmoid",
        "loss": "mse",
        "lr": 0.01,
        "lr_schedule": "constant",
        "epochs": 1000,
        "batch_size": 32,
        "dropout": 0.0,
        "preprocess": "standardize",
        "verbose_every": 100,
    },
    "spirals": {
        "lr": 0.01,
        "lr_schedule": "constant",
        "epochs": 200,
        "batch_size": 32,
        "dropout": 0.0,
        "preprocess": "none",
        "val_split": 0.2,
        "verbose_every": 20,
    },
    "csv": {"dropout": 0.0, "preprocess": "robust", "lr_schedule": "constant", "epochs": None,
            "batch_size": 32},
    "npz": {"dropout": 0.0, "preprocess": "robust", "lr_schedule": "constant", "epochs": None,
            "batch_size": 32},
    **dict.fromkeys(TEXT_DATASETS, {}),  # text: barenet.runs.text_settings.text_values
}
HIDDEN_LAYERS = {
    "mnist": [256, 128],
    "fashion-mnist": [256, 128],
    "sine": [10, 10],
    "spirals": [100],
    "csv": [64],
    "npz": [64],
}


SPELLINGS = {"learning_rate": "lr", "verbose_epoch": "verbose_every"}  # as the command line accepts them


def key_name(name: str) -> str:
    """``"batch-size"`` and ``"batch_size"`` both name the key ``batch_size``; the other
    spellings the command line accepts (``learning_rate``) name their key (``lr``)."""
    name = name.replace("-", "_")
    return SPELLINGS.get(name, name)


def build_config(*settings: Mapping[str, object], sources: Sequence[str] = ()) -> RunConfig:
    """A checked ``RunConfig`` from layers of settings, later ones overriding earlier ones;
    the data set's defaults come in below all of them. ``sources`` name the layers (a file's
    path, "the command line"), for the errors of the values they hold."""
    merged: dict[str, object] = {}
    source_of: dict[str, str] = {}
    for index, layer in enumerate(settings):
        merged |= {key_name(key): value for key, value in layer.items()}
        source_of |= dict.fromkeys(map(key_name, layer), sources[index] if index < len(sources) else "")
    check_keys(merged, "settings")
    dataset = merged.get("dataset", RunConfig.dataset)
    kind = check_dataset(dataset)
    values = text_values(merged) if is_text(kind) else DATASET_DEFAULTS[kind] | merged
    config = RunConfig(**{key: check_setting_type(key, value) for key, value in values.items()})
    check_values(config)
    if is_text(kind):
        check_text_settings(config, merged)
    else:
        check_not_text(config)
    check_with_the_library(config, source_of)
    return config


def check_with_the_library(config: RunConfig, source_of: Mapping[str, str]) -> None:
    """Refuse what the optimiser or the schedule would refuse when the run starts, naming the
    key and where it was set: they are built here once, with the same checks."""
    refused = library_refusal(config.to_dict())
    if refused is not None:
        key, refuser, error = refused
        where = f" in {source_of[key]}" if source_of.get(key) else ""
        raise ConfigError(f"{key} = {getattr(config, key)!r}{where} is refused by {refuser}: {error}")


def check_keys(settings: Mapping[str, object], source: str) -> None:
    unknown = sorted(set(settings) - set(KEYS))
    if unknown:
        close = difflib.get_close_matches(unknown[0], KEYS, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise ConfigError(
            f"unknown key{'s' if len(unknown) > 1 else ''} {', '.join(map(repr, unknown))} in {source}"
            f"{hint}; valid keys are: {', '.join(KEYS)}"
        )


def check_dataset(dataset: object) -> str:
    """The kind of ``dataset`` (``"csv"`` for ``"csv:train.csv"``), or a ConfigError."""
    if isinstance(dataset, str):
        kind, _, path = dataset.partition(":")
        if kind in DATASET_DEFAULTS and bool(path) == (kind in PATH_DATASETS):
            return kind
    raise ConfigError(f"unknown dataset {dataset!r}; valid values are: {', '.join(DATASETS)}")


@functools.cache
def setting_types() -> dict[str, object]:
    """Each setting's type hint (worked out once: ``get_type_hints`` is slow)."""
    return typing.get_type_hints(RunConfig)


def check_setting_type(key: str, value: object) -> object:
    """``value`` if it has the type the key needs (ints are accepted for floats)."""
    hint = setting_types()[key]
    allowed = typing.get_args(hint) if isinstance(hint, types.UnionType) else (hint,)
    for kind in allowed:
        if kind is type(None) and value is None:
            return value
        if kind is float and isinstance(value, (int, float)) and not isinstance(value, bool):
            if (isinstance(value, int) and abs(value) > MAX_SETTING_INTEGER) or not math.isfinite(value):
                raise ConfigError(f"{key} must be a finite number; got {str(value)[:40]}")
            return float(value)
        if kind is int and isinstance(value, int) and not isinstance(value, bool):
            if abs(value) > MAX_SETTING_INTEGER:
                raise ConfigError(f"{key} is {str(value)[:40]}..., far larger than any setting can be")
            return value
        if kind in (str, bool) and isinstance(value, kind):
            return value
        if key == "layers" and is_layer_table(value):
            return check_layer_table(value)
        if typing.get_origin(kind) is list and isinstance(value, (list, tuple)):
            numbers = (int, float) if typing.get_args(kind) == (float,) else (int,)
            if all(isinstance(item, numbers) and not isinstance(item, bool) for item in value):
                if any(abs(item) > MAX_SETTING_INTEGER for item in value) or len(value) > 1000:
                    raise ConfigError(f"{key} holds sizes far larger (or more) than any network has")
                return [float(item) for item in value] if numbers != (int,) else list(value)
    lists = {(float,): "a list of numbers"}
    names = [TYPE_NAMES.get(kind, lists.get(typing.get_args(kind), "a list of integers"))
             for kind in allowed if kind is not type(None)]
    raise ConfigError(f"{key} must be {' or '.join(names)}; got {value!r}")


def check_values(config: RunConfig) -> None:
    """Refuse values out of range, naming the valid ones."""
    for key, valid in CHOICES.items():
        value = getattr(config, key)
        if value is not None and value not in valid:
            raise ConfigError(f"unknown {key} {value!r}; valid values are: {', '.join(valid)}")
    if isinstance(config.batch_size, str) and config.batch_size != "full":
        raise ConfigError(f"batch_size must be a positive integer or 'full'; got {config.batch_size!r}")
    if config.epochs == 0:
        raise ConfigError("epochs must be >= 1; got 0 (barenet train always trains; barenet evaluate scores)")
    tabular_only = [key for key in ("label_column", "task", "test_data") if getattr(config, key) is not None]
    if tabular_only and config.dataset_kind not in ("csv", "npz"):
        raise ConfigError(f"{', '.join(tabular_only)} apply to csv: and npz: data, not {config.dataset}")
    positive = {"epochs": 1, "batch_size": 1, "seed": 0, "augment": 0, "early_stopping": 0,
                "verbose_every": 0, "train_limit": 1, "threads": 1, "workers": 1}
    for key, smallest in positive.items():
        value = getattr(config, key)
        if isinstance(value, int) and value < smallest:
            raise ConfigError(f"{key} must be >= {smallest}; got {value}")
    if isinstance(config.layers, list) and not is_layer_table(config.layers) and (
        len(config.layers) < 2 or min(config.layers) < 1
    ):
        raise ConfigError(
            f"layers needs at least two positive sizes (inputs ... outputs); got {config.layers}"
        )
    if config.model in ("lenet5", "cnn") and config.layers is not None and not is_layer_table(config.layers):
        raise ConfigError(
            f"layers (--layers) are the widths of an MLP, but model = {config.model!r} builds its own "
            "network; leave layers out, or write the whole network as a [[layers]] list in a --config file"
        )
    if not 0 <= config.dropout < 1:
        raise ConfigError(f"dropout is the probability of dropping a unit, in [0, 1); got {config.dropout}")
    if not 0 <= config.val_split < 1:
        raise ConfigError(f"val_split must be in [0, 1); got {config.val_split}")
    if config.l2 < 0:  # the optimiser's and the schedule's settings: check_with_the_library
        raise ConfigError(f"l2 must be >= 0; got {config.l2}")
    if config.early_stopping and not config.val_split:
        raise ConfigError("early_stopping watches the validation loss: it needs val_split > 0")
    if config.momentum is not None and not takes_momentum(config.optimizer):
        with_momentum = [name for name in CHOICES["optimizer"] if takes_momentum(name)]
        raise ConfigError(
            f"momentum applies to the optimizers {', '.join(with_momentum)}, not {config.optimizer!r}"
        )
    if config.lr_decay is not None and config.lr_schedule not in DECAY_PARAMETER:
        raise ConfigError(
            f"lr_decay applies to the schedules {', '.join(DECAY_PARAMETER)}, not {config.lr_schedule!r}"
        )
    cosine_only = [key for key in ("warmup", "min_lr") if getattr(config, key) is not None]
    if cosine_only and config.lr_schedule != "cosine":
        raise ConfigError(f"{', '.join(cosine_only)} apply to the cosine schedule, "
                          f"not {config.lr_schedule!r}")
    if config.betas is not None and (len(config.betas) != 2 or not takes_betas(config.optimizer)):
        with_betas = [name for name in CHOICES["optimizer"] if takes_betas(name)]
        raise ConfigError(f"betas is a pair (beta1, beta2) for the optimizers {', '.join(with_betas)}; "
                          f"got {config.betas} for {config.optimizer!r}")
    if config.augment and config.dataset_kind not in IMAGE_DATASETS + ("csv", "npz"):
        raise ConfigError(f"augment shifts 28x28 images; the {config.dataset} data set holds no images")


def epochs_for_steps(n_train: int, batch_size: int | str) -> int:
    """Epochs for SMALL_DATA_STEPS optimiser steps (within SMALL_DATA_EPOCHS) on small tables."""
    steps_per_epoch = -(-n_train // (n_train if batch_size == "full" else min(int(batch_size), n_train)))
    return max(SMALL_DATA_EPOCHS[0], min(SMALL_DATA_EPOCHS[1], -(-SMALL_DATA_STEPS // steps_per_epoch)))


def resolve_for_data(
    config: RunConfig, n_features: int, n_outputs: int, task: str, n_train: int
) -> RunConfig:
    """Fill in every setting left to the data: layer widths, output activation, loss,
    initialiser, learning rate, momentum, weight decay, schedule decay, and (for csv/npz
    data of ``n_train`` training rows, when not given) the epochs, by :func:`epochs_for_steps`."""
    text = is_text(config.dataset_kind)  # text: the model's settings are all set already
    if config.epochs is None and not text:  # n_train: the rows before the validation split
        fitted = max(round(n_train * (1 - config.val_split)), 1)
        config = dataclasses.replace(config, epochs=epochs_for_steps(fitted, config.batch_size))
    layers = config.layers or (  # text: set already; lenet5, cnn: none
        [n_features, *HIDDEN_LAYERS[config.dataset_kind], n_outputs] if config.model == "mlp" else None)
    if task == "regression":
        loss = "mse"
    else:
        loss = "cross_entropy" if text or (layers or [n_outputs])[-1] != 1 else "binary_cross_entropy"
    defaults = optimizer_defaults(config.optimizer)  # the optimiser's own (lr, momentum, weight decay)
    return dataclasses.replace(
        config,
        layers=layers,
        output_activation=config.output_activation or OUTPUT_ACTIVATION[loss],
        loss=config.loss or loss,
        init=None if text else config.init or ("he" if config.activation in ("relu", "leaky_relu") else
                                               "xavier"),
        lr=config.lr or defaults["lr"],
        momentum=config.momentum if config.momentum is not None else defaults.get("momentum"),
        weight_decay=config.weight_decay if config.weight_decay is not None else defaults["weight_decay"],
        lr_decay=config.lr_decay if config.lr_decay is not None else default_lr_decay(config.lr_schedule),
    )


# ---- TOML files -----------------------------------------------------------------------------


def read_toml(path: str | Path) -> dict[str, object]:
    """The keys of a flat TOML file, checked against :data:`KEYS`.

    The file is read as :func:`~barenet.runs.toml_files.load_toml` reads files (bounded size,
    UTF-8, bounded depth) and must hold at least one setting: an empty or damaged file is an
    error, never silently the default recipe."""
    path = Path(path)
    settings = load_toml(path)
    if not settings:
        raise ConfigError(
            f"{path} holds no settings (it is empty or only comments); a config file needs at least "
            "one key = value line, e.g. epochs = 10"
        )
    settings = {key_name(key): value for key, value in settings.items()}
    check_keys(settings, str(path))
    for key, value in settings.items():
        try:
            check_setting_type(key, value)
        except ConfigError as error:
            raise ConfigError(f"{path}: {error}") from None
    return settings


def toml_text(config: RunConfig) -> str:
    """``config`` as a flat TOML file, one ``key = value`` per set key (written by tomli_w,
    so every string, control characters included, is escaped and reads back the same)."""
    header = "# barenet run configuration: barenet train --config config.toml repeats the run\n"
    return dump_toml(config.to_dict(), header)
