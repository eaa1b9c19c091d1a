"""Evaluation and prediction run in batches bounded in memory: a convolutional network scores a
test set without laying all of it out by im2col at once."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest

import barenet
from barenet.model.inputs import MAX_PREDICTION_BATCH, PREDICTION_BYTES
from barenet.training import evaluate


def test_prediction_batches_fit_the_working_memory():
    model = barenet.cnn((32, 64), rng=0)  # the default CNN: a max pool of 32x26x26 maps is its widest step
    per_sample = 32 * 26 * 26 * 2 * 2 + 32 * 13 * 13  # pooling windows of the input, and the output
    assert model.prediction_batch_size() == PREDICTION_BYTES // (4 * per_sample)
    assert barenet.mlp([784, 256, 128, 10]).prediction_batch_size() == MAX_PREDICTION_BATCH


def test_a_cnn_is_evaluated_within_its_memory_bound():
    """Peak memory (NumPy's allocations, as tracemalloc sees them) of scoring 3,000 images: a
    few batches' worth, where all at once would take about 1.1 GB."""
    model = barenet.cnn((32, 64), rng=0)
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 1, (3000, 784)).astype(np.float32)
    y = rng.integers(0, 10, 3000)
    tracemalloc.start()
    try:
        metrics = evaluate(model, x, y)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 2.5 * PREDICTION_BYTES, f"{peak / 2**20:.0f} MiB"
    assert metrics["loss"] == pytest.approx(evaluate(model, x, y, batch_size=70)["loss"], rel=1e-6)
    assert np.array_equal(model.predict(x), model.predict(x, batch_size=70))  # batches change nothing


def test_validation_during_training_stays_within_the_bound():
    """The validation set is scored after each epoch in the same bounded batches: 3,000
    validation images through the CNN, where one pass over all of them would take about 1.1 GB."""
    model = barenet.cnn((32, 64), rng=0)
    rng = np.random.default_rng(1)
    x, y = rng.uniform(0, 1, (3256, 784)).astype(np.float32), rng.integers(0, 10, 3256)
    trainer = barenet.Trainer(model, optimizer="adam", batch_size=128, seed=0)
    tracemalloc.start()
    try:
        history = trainer.fit(x[:256], y[:256], epochs=1, validation_data=(x[256:], y[256:]), verbose=0)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert "val_loss" in history.history
    assert peak < 2.5 * PREDICTION_BYTES, f"{peak / 2**20:.0f} MiB"
