"""A text made ready to train on: split by position, training windows, fixed validation windows.

The last ``val_split`` of the text validates (nanoGPT's split: no validation window overlaps
a training one). Training draws windows of ``context`` characters at random positions, with
replacement, as nanoGPT's ``get_batch`` does: the training "data" is every window, a view of
the text (nothing is copied), and the trainer draws ``batch_size`` of them per step. The
validation set is fixed: :data:`VALIDATION_BATCHES` batches of windows at positions drawn
once, always with the same generator, so every evaluation, every run with the same text and
context, and ``barenet evaluate`` score the same windows (every window, when the validation
text has fewer).
"""

from __future__ import annotations

import dataclasses

import numpy as np

from ..datasets.errors import DatasetError
from ..datasets.text import split_text, windows
from .data_sources import Data

VALIDATION_BATCHES = 100
"""The validation set holds this many batches of windows (1,200 windows for the baby GPT)."""
VALIDATION_SEED = 1337  # fixed: the validation windows do not change with --seed


def validation_windows(ids: np.ndarray, context: int, count: int) -> tuple[np.ndarray, np.ndarray]:
    """``count`` windows of ``context`` ids from ``ids`` and their next-character targets, at
    positions drawn once without replacement and sorted (every position if there are fewer)."""
    available = len(ids) - context
    if available <= count:
        starts = np.arange(available)
    else:
        starts = np.sort(np.random.default_rng(VALIDATION_SEED).choice(available, count, replace=False))
    positions = starts[:, None] + np.arange(context)
    return ids[positions], ids[positions + 1]


def text_windows(data: Data, config) -> Data:
    """``data`` (a text's ids in ``x_train``) as training windows (``x_train``, ``y_train``) and
    the fixed validation windows (``x_test``, ``y_test``), for ``config``'s context, batch
    size, ``val_split`` and ``train_limit`` (the first N characters of the training part)."""
    train, validation = split_text(data.x_train, config.val_split)
    train = train[: config.train_limit]
    for part, ids in (("training", train), ("validation", validation)):
        if len(ids) < config.context + 1:
            raise DatasetError(
                f"the {part} part of {data.name} holds {len(ids)} characters, too few for one window of "
                f"context {config.context} and its next character; give a longer text, a smaller --context "
                + ("or a larger --train-limit" if part == "training" and config.train_limit else
                   f"or a larger --val-split (now {config.val_split})")
            )
    x_train, y_train = windows(train, config.context)
    x_test, y_test = validation_windows(validation, config.context, VALIDATION_BATCHES * config.batch_size)
    notes = [*data.notes, f"split by position: {len(train):,} training characters, the last "
                          f"{len(validation):,} ({config.val_split:.0%}) validate: {len(x_test):,} fixed "
                          f"windows of {config.context}"]
    return dataclasses.replace(data, x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test,
                               notes=notes)
