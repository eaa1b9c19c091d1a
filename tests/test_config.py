"""RunConfig: layers of settings, TOML files, validation, and what the data decides."""

from __future__ import annotations

import numpy as np
import pytest

from barenet.runs.config import ConfigError, build_config, read_toml, resolve_for_data, toml_text
from barenet.runs.training_run import build_model, build_trainer


def test_layers_override_in_order():
    config = build_config({"dataset": "sine"}, {"epochs": 7, "lr": 0.5}, {"lr": 0.1, "batch-size": "full"})
    assert (config.epochs, config.lr, config.batch_size) == (7, 0.1, "full")
    assert (config.activation, config.loss, config.preprocess) == ("sigmoid", "mse", "standardize")
    assert build_config({}).dataset == "mnist" and build_config({}).epochs == 15


def test_toml_round_trip_repeats_the_configuration(tmp_path):
    config = resolve_for_data(
        build_config({"dataset": "spirals", "layers": [2, 20, 3]}), 2, 3, "classification", n_train=600
    )
    path = tmp_path / "config.toml"
    path.write_text(toml_text(config))
    assert build_config(read_toml(path)) == config


def test_resolve_for_data_fills_what_the_data_decides():
    config = resolve_for_data(build_config({"optimizer": "momentum"}), 784, 10, "classification",
                              n_train=60000)
    assert config.layers == [784, 256, 128, 10]
    assert (config.output_activation, config.loss, config.init) == ("softmax", "cross_entropy", "he")
    assert (config.lr, config.momentum) == (0.01, 0.9)
    binary = resolve_for_data(
        build_config({"dataset": "csv:x.csv", "layers": [4, 1]}), 4, 2, "classification", n_train=100
    )
    assert (binary.output_activation, binary.loss) == ("sigmoid", "binary_cross_entropy")


@pytest.mark.parametrize(
    "settings, message",
    [
        ({"optimizer": "adamx"}, "unknown optimizer 'adamx'; valid values are: sgd, momentum"),
        ({"dataset": "csv"}, "unknown dataset 'csv'; valid values are: mnist"),
        ({"epochs": "ten"}, "epochs must be an integer; got 'ten'"),
        ({"lr": True}, "lr must be a number"),
        ({"layers": [784]}, "layers needs at least two positive sizes"),
        ({"dropout": 1.0}, "dropout is the probability"),
        ({"early_stopping": 3, "val_split": 0.0}, "needs val_split > 0"),
        ({"momentum": 0.9}, "momentum applies to the optimizers sgd, momentum, nesterov"),
        ({"dataset": "sine", "augment": 2}, "the sine data set holds no images"),
        ({"batch_size": "half"}, "batch_size must be a positive integer or 'full'"),
        ({"epoch": 3}, "unknown key 'epoch' in settings (did you mean 'epochs'?)"),
        ({"max_grad_norm": 0}, "max_grad_norm = 0.0 is refused by the adam optimizer: max_grad_norm must"),
    ],
)
def test_bad_settings_name_the_key_and_the_valid_values(settings, message):
    with pytest.raises(ConfigError) as raised:
        build_config(settings)
    assert message in str(raised.value)


def test_bad_toml_files(tmp_path):
    path = tmp_path / "run.toml"
    path.write_text("epochs = 3\nbatchsize = 64\n")
    with pytest.raises(
        ConfigError, match=r"unknown key 'batchsize' in .*run.toml \(did you mean 'batch_size'\?\)"
    ):
        read_toml(path)
    path.write_text('dropout = "a lot"\n')
    with pytest.raises(ConfigError, match=r"run.toml: dropout must be a number; got 'a lot'"):
        read_toml(path)
    path.write_text("epochs = \n")
    with pytest.raises(ConfigError, match="is not valid TOML"):
        read_toml(path)
    with pytest.raises(ConfigError, match="no config file at"):
        read_toml(tmp_path / "missing.toml")
    path.write_text('batch-size = "full"\n')
    assert read_toml(path) == {"batch_size": "full"}


def test_max_grad_norm_reaches_the_optimiser(tmp_path):
    config = resolve_for_data(build_config({"dataset": "spirals", "max_grad_norm": 2.5}), 2, 3,
                              "classification", n_train=600)
    trainer = build_trainer(config, build_model(config, "classification", np.zeros((4, 2), np.float32)),
                            tmp_path)
    assert trainer.optimizer.max_grad_norm == 2.5
