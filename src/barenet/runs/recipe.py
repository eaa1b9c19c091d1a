"""One recipe for every run: a configuration and its data, made ready to train.

``barenet train``, every trial of ``barenet sweep`` and anything else that trains from a
configuration goes through :func:`prepare_run`, so the same settings always give the same run:

1. the data is loaded as the configuration says (``label_column``, ``task`` and ``test_data``
   for csv:/npz: files); a text is split by position into training windows and fixed
   validation windows (:func:`~barenet.runs.text_data.text_windows`);
2. every setting left to the data is filled in (:func:`~barenet.runs.config.resolve_for_data`),
   the epochs of small tables by the steps rule on the training rows actually used;
3. with robust scaling, extreme training values are clipped (and reported);
4. the layer widths are checked against the data, saying what the data needs.

:func:`~barenet.runs.training_run.train_run` then builds the model, its preprocessing fitted on
the training split, and trains it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass

from .architectures import is_layer_table
from .config import ConfigError, RunConfig, resolve_for_data
from .data_sources import Data, load_data
from .model_data import clip_extremes, epochs_note
from .text_data import text_windows
from .text_settings import is_text

Loader = Callable[[str, "str | None", "int | str | None", "str | None", "str | None"], Data]


@dataclass
class PreparedRun:
    """A run ready to train: every setting resolved, and the data it trains on."""

    config: RunConfig
    data: Data


def prepare_run(config: RunConfig, load: Loader = load_data) -> PreparedRun:
    """``config`` (built by :func:`~barenet.runs.config.build_config`) resolved for its data,
    and that data ready to train on (see the module docstring). ``load`` reads a data set as
    :func:`~barenet.runs.data_sources.load_data` does (a sweep worker passes a cached one; the
    data it returns is never changed)."""
    data = load(config.dataset, config.data_dir, config.label_column, config.task, config.test_data)
    if is_text(config.dataset_kind):
        data = text_windows(data, config)
    n_train = len(data.x_train[: config.train_limit])
    resolved = resolve_for_data(config, data.n_features, data.n_outputs, data.task, n_train=n_train)
    notes = list(data.notes)
    if config.epochs is None and not is_text(config.dataset_kind):
        notes.append(epochs_note(resolved))
    x_train = data.x_train
    if resolved.preprocess == "robust":
        x_train = clip_extremes(x_train, data.feature_names, data.row_place)
    data = dataclasses.replace(data, x_train=x_train, notes=notes)
    check_layers_fit(resolved, data)
    return PreparedRun(resolved, data)


def check_layers_fit(config: RunConfig, data: Data) -> None:
    """Refuse layer widths that do not fit the data, saying what the data needs."""
    if config.model != "mlp" or is_layer_table(config.layers):
        return  # a convolutional or text network's fit is checked as it is built
    first, last = config.layers[0], config.layers[-1]
    if first != data.n_features:
        raise ConfigError(
            f"the {data.name} data has {data.n_features} features per sample, so the first layer size "
            f"must be {data.n_features}; got --layers {' '.join(map(str, config.layers))}"
        )
    needed = data.n_outputs
    fits = last == needed or (data.task == "classification" and needed == 2 and last == 1)
    if not fits:
        what = (
            f"{needed} classes" if data.task == "classification" else f"{needed} target value(s) per sample"
        )
        raise ConfigError(
            f"the {data.name} data has {what}, so the last layer size must be {needed}; "
            f"got --layers {' '.join(map(str, config.layers))}"
        )
