"""Convolutional models: the recipes, files, checkpoints with batch norm, saliency, and a
short real training run on MNIST."""

from __future__ import annotations

import re

import numpy as np
import pytest
from helpers import DATA_DIR, mnist_present, run_main

import barenet
from barenet import Trainer, load_checkpoint, save_checkpoint
from barenet.errors import BarenetError
from barenet.layers import LAYER_TYPES


def small_cnn(seed: int = 0) -> barenet.Sequential:
    """8×8 one-channel images as 64-wide rows, with every new layer type in it."""
    return barenet.Sequential(
        barenet.Reshape((1, 8, 8)),
        barenet.Conv2D(1, 4, 3, padding="same", bias=False, rng=seed), barenet.BatchNorm2D(4), barenet.ReLU(),
        barenet.MaxPool2D(2),
        barenet.Conv2D(4, 6, (3, 2), stride=(1, 2), padding=1, rng=seed + 1), barenet.LayerNorm((6, 4, 3)),
        barenet.ReLU(), barenet.AvgPool2D(2),
        barenet.Flatten(), barenet.Dropout(0.2, rng=seed), barenet.Dense(12, 8, rng=seed + 2),
        barenet.BatchNorm1D(8), barenet.ReLU(), barenet.Dense(8, 3, rng=seed + 3), barenet.Softmax(),
    )


def toy_data(n: int = 96, seed: int = 0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n)
    x = rng.normal(size=(n, 8, 8)).astype(np.float32)
    x[:, 2:6, 2:6] += 2.0 * y[:, None, None]  # a class you can see
    return x.reshape(n, 64), y


def test_the_recipes_build_the_documented_networks():
    model = barenet.cnn(rng=0)
    assert sum(p.size for p in model.parameters()) == 34_826  # the benchmark network
    assert model.input_shape == (784,) and model.output_shape == (10,)
    assert sum(p.size for p in barenet.lenet5(rng=0).parameters()) == 61_706
    deep = barenet.cnn((16, 32), convs_per_block=2, padding="same", batch_norm=True, hidden=(32,), rng=0)
    kinds = [type(layer).__name__ for layer in deep.layers]
    assert kinds.count("Conv2D") == 4 and kinds.count("BatchNorm2D") == 4 and "BatchNorm1D" in kinds
    assert all(kind in LAYER_TYPES for kind in kinds)
    with pytest.raises(BarenetError, match="channels"):
        barenet.cnn(channels=())
    with pytest.raises(BarenetError, match="pool"):
        barenet.cnn(pool="median")


def blob_digits(n: int, seed: int = 0):
    """28×28 stand-ins for digits as rows in [0, 1]: an 8×8 blob of ink placed by the label on a
    zero background, so many pooling windows tie (at 0, and after a ReLU)."""
    rng = np.random.default_rng(seed)
    images, labels = np.zeros((n, 28, 28), dtype=np.float32), rng.integers(0, 10, n)
    for image, label in zip(images, labels):
        top, left = 4 + label % 5 * 3, 4 + label // 5 * 10
        image[top : top + 8, left : left + 8] = rng.integers(100, 256, (8, 8)) / np.float32(255)
    return images.reshape(n, -1), labels


def relu_before_pool(model: barenet.Sequential) -> barenet.Sequential:
    """The same layers in the usual order: each ReLU moved back before the max-pool it follows."""
    layers = list(model.layers)
    for index in range(len(layers) - 1):
        if isinstance(layers[index], barenet.MaxPool2D) and isinstance(layers[index + 1], barenet.ReLU):
            layers[index], layers[index + 1] = layers[index + 1], layers[index]
    return barenet.Sequential(layers, task=model.task)


@pytest.mark.parametrize("options", [{}, {"hidden": (16,), "batch_norm": True},
                                     {"convs_per_block": 2, "padding": "same", "batch_norm": True}])
def test_the_relu_after_the_max_pool_gives_bit_identical_outputs_gradients_and_training(options):
    model = barenet.cnn((4, 8), rng=0, **options)
    kinds = [type(layer).__name__ for layer in model.layers]
    pools = [index for index, kind in enumerate(kinds) if kind == "MaxPool2D"]
    assert len(pools) == 2
    assert all(kinds[i - 1] in ("Conv2D", "BatchNorm2D") and kinds[i + 1] == "ReLU" for i in pools)
    usual = relu_before_pool(barenet.cnn((4, 8), rng=0, **options))
    assert [type(layer).__name__ for layer in usual.layers].count("ReLU") == kinds.count("ReLU")
    x, y = blob_digits(64)
    for training in (True, False):
        results = []
        for network in (model, usual):
            output, tape = network.forward_with_cache(x, training=training, logits=True)
            network.backward(np.random.default_rng(1).normal(size=output.shape).astype(np.float32), tape)
            results.append((output, [parameter.grad.copy() for parameter in network.parameters()]))
        (output, grads), (expected, expected_grads) = results
        assert np.array_equal(output, expected)
        assert all(np.array_equal(grad, other) for grad, other in zip(grads, expected_grads))
    for network in (model, usual):
        Trainer(network, optimizer="adam", lr=0.01, batch_size=16, seed=0).fit(x, y, epochs=2, verbose=0)
    assert all(np.array_equal(weights, other) for weights, other in
               zip(model.get_weights(), usual.get_weights()))
    np.testing.assert_array_equal(model.predict_proba(x), usual.predict_proba(x))


def test_other_activations_and_poolings_keep_the_activation_before_the_pool():
    for options in ({"activation": "tanh"}, {"activation": "leaky_relu"}, {"activation": "sigmoid"},
                    {"pool": "avg"}):
        kinds = [type(layer).__name__ for layer in barenet.cnn((4, 8), rng=0, **options).layers]
        pools = [index for index, kind in enumerate(kinds) if kind.endswith("Pool2D")]
        assert len(pools) == 2 and all(kinds[index - 1] not in ("Conv2D", "BatchNorm2D") for index in pools)


def test_summary_walks_the_shapes_and_counts_parameters():
    text = barenet.cnn(rng=0).summary()
    for expected in ("(n, 32, 26, 26)", "(n, 32, 13, 13)", "(n, 64, 11, 11)", "(n, 64, 5, 5)", "(n, 1600)",
                     "18,496", "16,010", "total parameters: 34,826"):
        assert expected in text


def test_a_saved_cnn_with_batch_norm_predicts_bit_identically(tmp_path):
    model = small_cnn()
    x, y = toy_data()
    Trainer(model, optimizer="adam", lr=0.01, batch_size=16, seed=0).fit(x, y, epochs=2, verbose=0)
    assert not np.all(model.layers[2].running_mean == 0)  # running statistics were learned
    path = model.save(tmp_path / "cnn.npz")
    loaded = barenet.load(path)
    np.testing.assert_array_equal(loaded.predict_proba(x), model.predict_proba(x))
    np.testing.assert_array_equal(loaded.layers[2].running_var, model.layers[2].running_var)
    assert [layer.config() for layer in loaded.layers] == [layer.config() for layer in model.layers]


def test_checkpoint_and_resume_is_bit_identical_with_batch_norm(tmp_path):
    x, y = toy_data()
    straight = Trainer(small_cnn(), optimizer="adam", lr=0.01, batch_size=16, seed=3)
    straight.fit(x, y, epochs=3, verbose=0)

    first = Trainer(small_cnn(), optimizer="adam", lr=0.01, batch_size=16, seed=3)
    first.fit(x, y, epochs=1, verbose=0)
    path = save_checkpoint(first, tmp_path / "state.npz")
    resumed = Trainer(small_cnn(seed=7), optimizer="adam", lr=0.01, batch_size=16, seed=11)
    load_checkpoint(resumed, path)
    resumed.fit(x, y, epochs=3, verbose=0)

    np.testing.assert_array_equal(resumed.model.get_weights(), straight.model.get_weights())
    for name, array in straight.model.buffers().items():
        np.testing.assert_array_equal(resumed.model.buffers()[name], array, err_msg=name)


def test_prediction_is_stateless_and_saliency_works():
    model = small_cnn()
    x, y = toy_data(32)
    Trainer(model, optimizer="adam", lr=0.01, batch_size=16, seed=0).fit(x, y, epochs=1, verbose=0)
    buffers = {name: array.copy() for name, array in model.buffers().items()}
    first = model.predict_proba(x)
    np.testing.assert_array_equal(model.predict_proba(x), first)
    # one image alone: running statistics, no batch statistics
    np.testing.assert_allclose(model.predict_proba(x[:1]), first[:1], rtol=1e-5)
    grads = [p.grad.copy() for p in model.parameters()]
    saliency = model.input_gradient(x[:4], np.eye(3, dtype=np.float32)[y[:4]])
    assert saliency.shape == (4, 64) and np.isfinite(saliency).all() and np.abs(saliency).sum() > 0
    for name, array in model.buffers().items():
        np.testing.assert_array_equal(array, buffers[name])
    for parameter, grad in zip(model.parameters(), grads):
        np.testing.assert_array_equal(parameter.grad, grad)


def test_a_cnn_gradchecks_end_to_end_in_float64():
    model = small_cnn()
    for index, parameter in enumerate(model.parameters()):
        parameter.value[...] = np.random.default_rng(index).normal(0.2, 0.6, size=parameter.shape)
    x, y = toy_data(6, seed=4)
    model.layers[10].p = 0.0  # dropout off: the check compares many evaluations
    result = barenet.gradcheck(model, "cross_entropy", x, y, training=True, max_entries=12)
    assert result.passed, result.table()


@pytest.mark.slow
@pytest.mark.skipif(not mnist_present(), reason=f"MNIST is not in {DATA_DIR / 'mnist'}")
def test_a_small_cnn_learns_mnist_in_one_epoch():
    (x_train, y_train), (x_test, y_test) = barenet.datasets.load_mnist(DATA_DIR)
    x_train = barenet.datasets.flatten_images(x_train[:3000])
    x_test = barenet.datasets.flatten_images(x_test[:1000])
    model = barenet.cnn(channels=(8, 16), dropout=0.0, preprocessing=[barenet.Rescale(1 / 255)], rng=0)
    Trainer(model, optimizer="adam", lr=2e-3, batch_size=32, seed=0).fit(x_train, y_train[:3000], epochs=1,
                                                                         verbose=0)
    accuracy = float(np.mean(model.predict(x_test) == y_test[:1000]))
    assert accuracy > 0.85, accuracy  # chance is 0.10; a working CNN gets ~0.9 from 3,000 images


# ---- the command line ----------------------------------------------------------------------------

LAYER_TABLE = """
epochs = 1
train_limit = 300
quiet = true

[[layers]]
type = "Conv2D"
in_channels = 1
out_channels = 4
kernel_size = 5
padding = "same"

[[layers]]
type = "BatchNorm2D"
num_channels = 4

[[layers]]
type = "ReLU"

[[layers]]
type = "MaxPool2D"
kernel_size = 2

[[layers]]
type = "Flatten"

[[layers]]
type = "Dense"
in_features = 784
out_features = 10

[[layers]]
type = "Softmax"
"""


def run_cli(*argv: str) -> int:
    from barenet.cli.main import main

    return main([str(item) for item in argv])


def test_a_layer_table_is_checked_before_anything_runs(tmp_path, capsys):
    config = tmp_path / "bad.toml"
    config.write_text('[[layers]]\ntype = "Conv3D"\n')
    assert run_cli("train", "--config", config, "--out", tmp_path / "run") == 1
    assert "type = one of" in capsys.readouterr().err
    config.write_text('[[layers]]\ntype = "Conv2D"\nin_channels = 1\nout_channels = 2\nkernel = 3\n')
    assert run_cli("train", "--config", config, "--out", tmp_path / "run") == 1
    assert "has no argument 'kernel'" in capsys.readouterr().err


def test_train_help_states_the_cnn_time_and_memory(capsys):
    status, out, _ = run_main(["train", "--help"], capsys)
    text = " ".join(out.split())
    assert status == 0
    assert re.search(r"--model cnn .* about \d+ seconds per epoch, so about \d+ minutes for the 15", text)
    assert re.search(r"--model cnn .* peak memory of about [\d.]+ GB", text)


@pytest.mark.slow
@pytest.mark.skipif(not mnist_present(), reason=f"MNIST is not in {DATA_DIR / 'mnist'}")
def test_cli_trains_a_layer_table_and_predict_evaluate_work_unchanged(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("BARENET_DATA_DIR", str(DATA_DIR))
    config = tmp_path / "net.toml"
    config.write_text(LAYER_TABLE)
    folder = tmp_path / "run"
    assert run_cli("train", "--config", config, "--out", folder) == 0
    model = barenet.load(folder / "model.npz")
    assert [type(layer).__name__ for layer in model.layers][1:4] == ["Reshape", "Conv2D", "BatchNorm2D"]
    for picture in ("conv_filters.png", "feature_maps.png", "confusion_matrix.png"):
        assert (folder / picture).stat().st_size > 1000, picture
    assert 'type = "Conv2D"' in (folder / "config.toml").read_text()  # the table, written back
    capsys.readouterr()
    assert run_cli("evaluate", folder / "model.npz") == 0
    assert "accuracy" in capsys.readouterr().out
    (_, _), (x_test, _) = barenet.datasets.load_mnist(DATA_DIR)
    from PIL import Image

    Image.fromarray(255 - x_test[0]).save(tmp_path / "digit.png")  # dark on light, as drawn
    assert run_cli("predict", folder / "model.npz", tmp_path / "digit.png", "--json") == 0
    assert '"prediction"' in capsys.readouterr().out


@pytest.mark.slow
@pytest.mark.skipif(not mnist_present(), reason=f"MNIST is not in {DATA_DIR / 'mnist'}")
@pytest.mark.parametrize("architecture", ["lenet5", "cnn"])
def test_cli_model_option_builds_the_named_network(architecture, tmp_path, monkeypatch):
    monkeypatch.setenv("BARENET_DATA_DIR", str(DATA_DIR))
    folder = tmp_path / architecture
    assert run_cli("train", "--model", architecture, "--train-limit", 200, "--epochs", 1, "--quiet",
                   "--out", folder) == 0
    model = barenet.load(folder / "model.npz")
    expected = {"lenet5": 61_706, "cnn": 34_826}[architecture]
    assert sum(p.size for p in model.parameters()) == expected
    assert "model = " in (folder / "config.toml").read_text()
