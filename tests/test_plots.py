"""The run's pictures: each is a readable PNG with something drawn on it."""

from __future__ import annotations

import numpy as np
from helpers import assert_png

from barenet.runs.plots import (
    confusion_figure,
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


def test_confusion_colours_show_a_few_errors_and_the_title_names_the_set():
    """Row shares on a log scale: 9 errors among 1,000 sit a third of the way up the colour
    scale (on a linear scale of counts they would be 1 % of it: white); empty cells are white."""
    matrix = np.array([[991, 9, 0], [5, 990, 5], [0, 0, 1000]])
    figure = confusion_figure(matrix, ["a", "b", "c"], "mnist test set")
    axes = figure.axes[0]
    assert axes.get_title() == "confusion matrix: mnist test set, 3,000 images, accuracy 99.37%"
    image = axes.get_images()[0]
    assert image.norm(9 / 1000) > 0.3 and image.norm(1.0) == 1.0
    assert np.ma.getmaskarray(image.get_array())[0, 2]  # no images: white, not the lightest blue


def test_feature_maps_are_shown_after_relu_each_layer_on_one_scale(tmp_path):
    from serve_helpers import random_cnn

    from barenet.runs.conv_plots import feature_map_rows, plot_feature_maps

    model = random_cnn(np.float64)
    sample = np.random.default_rng(0).uniform(0, 255, 784)
    rows = feature_map_rows(model, sample, max_maps=6)
    assert [title for title, _ in rows] == [
        "ReLU of layer 2 Conv2D: 8 maps 26×26, first 6",
        "ReLU of layer 5 Conv2D: 12 maps 11×11, first 6",
    ]
    x = sample.reshape(1, 784)
    for layer in model.layers[:4]:
        x = layer.forward(x)
    assert np.array_equal(rows[0][1], x[0, :6]) and rows[0][1].min() == 0  # what the next layer receives
    picture = assert_png(plot_feature_maps(model, sample, tmp_path / "maps.png", "test image 0"))
    assert picture.size[0] > 400


def test_feature_maps_of_cnn_are_after_batch_norm_and_relu_though_it_pools_first():
    import barenet
    from barenet.runs.conv_plots import feature_map_rows

    model = barenet.cnn((4, 6), hidden=(8,), batch_norm=True, preprocessing=[barenet.Rescale(1 / 255)], rng=0)
    sample = np.random.default_rng(1).uniform(0, 255, 784).astype(np.float32)
    rows = feature_map_rows(model, sample)
    assert [title for title, _ in rows] == [
        "ReLU of layer 2 Conv2D: 4 maps 26×26, batch-normalised",
        "ReLU of layer 6 Conv2D: 6 maps 11×11, batch-normalised",
    ]
    x = sample.reshape(1, 784)
    for layer in model.layers[:4]:  # rescale, reshape, conv, batch norm
        x = layer.forward(x)
    assert np.array_equal(rows[0][1], np.maximum(x[0], 0))  # the ReLU of the unpooled maps
    pooled = model.layers[4].forward(x)
    shown_then_pooled = barenet.layers.MaxPool2D(2).forward(rows[0][1][None])
    assert np.array_equal(model.layers[5].forward(pooled), shown_then_pooled)  # what the network computes
