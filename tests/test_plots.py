"""The run's pictures: each is a readable PNG with something drawn on it."""

from __future__ import annotations

import numpy as np
from helpers import assert_png

from barenet.runs.plots import (
    plot_confusion_matrix,
    plot_first_layer_weights,
    plot_history,
    plot_image_grid,
    plot_regression_fit,
    plot_samples,
    tile_mosaic,
)


def test_history_confusion_matrix_and_fit(tmp_path):
    history = {
        "loss": [1.0, 0.5, 0.3],
        "val_loss": [1.1, 0.6, 0.5],
        "accuracy": [0.5, 0.7, 0.8],
        "val_accuracy": [0.4, 0.6, 0.7],
        "lr": [0.1] * 3,
    }
    wide = assert_png(plot_history(history, tmp_path / "history.png"))
    narrow = assert_png(plot_history({"loss": [1.0, 0.5]}, tmp_path / "loss.png"))
    assert wide.size[0] > 1.7 * narrow.size[0]  # a panel for the accuracy beside the loss
    assert_png(plot_confusion_matrix(np.array([[5, 1], [2, 7]]), tmp_path / "matrix.png", ["cat", "dog"]))
    x = np.linspace(-3, 3, 50)[:, None]
    assert_png(plot_regression_fit(x, np.sin(x), np.sin(x) + 0.1, tmp_path / "fit.png"))
    assert_png(plot_regression_fit(np.zeros((50, 2)), np.sin(x), np.sin(x), tmp_path / "fit2.png"))
    assert_png(
        plot_samples(
            np.random.default_rng(0).random((30, 2)),
            np.arange(30) % 3,
            tmp_path / "s.png",
            "samples",
            classes=True,
        )
    )


def test_image_grids(tmp_path):
    images = np.random.default_rng(0).integers(0, 256, (7, 784))
    grid = assert_png(
        plot_image_grid(images, [f"true {i}\npredicted {i}" for i in range(7)], tmp_path / "g.png", "seven")
    )
    assert grid.size[1] > grid.size[0]  # 3 columns, 3 rows with captions: taller than wide
    assert_png(plot_image_grid(images[:0], [], tmp_path / "none.png", "0 misclassified"), min_size=20)
    weights = np.random.default_rng(1).standard_normal((784, 100))
    assert_png(plot_first_layer_weights(weights, tmp_path / "w.png"))


def test_tile_mosaic_places_tiles_row_by_row():
    tiles = np.arange(3 * 4, dtype=float).reshape(3, 4)  # three 2x2 tiles
    mosaic = tile_mosaic(tiles, (2, 2), rows=2, columns=2, gap=1)
    assert mosaic.shape == (5, 5)
    assert np.array_equal(mosaic[3:5, 0:2], [[8, 9], [10, 11]])  # the third tile starts the second row
    assert np.isnan(mosaic[2]).all() and np.isnan(mosaic[3:, 3:]).all()
