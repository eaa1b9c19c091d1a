"""Checkpoints: what they hold, and refusing one that does not fit the run."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import four_feature_blobs

from barenet import ModelFileError, Standardize, Trainer, load_checkpoint, mlp, save_checkpoint
from barenet.training.checkpoints import read_checkpoint


def trained(layers=(2, 8, 3), optimizer="adam") -> Trainer:
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((60, 2)).astype(np.float32), rng.integers(0, 3, 60)
    trainer = Trainer(mlp(list(layers), dropout=0.1, rng=0), optimizer=optimizer, batch_size=16, seed=0)
    trainer.fit(x, y, epochs=2, verbose=0)
    return trainer


def test_a_checkpoint_holds_the_whole_state(tmp_path):
    trainer = trained()
    path = save_checkpoint(trainer, tmp_path / "state.npz", extra={"config": {"epochs": 2}})
    description, arrays = read_checkpoint(path)
    assert (description["epoch"], description["step"]) == (2, 8)
    assert description["optimizer"]["type"] == "Adam" and description["optimizer"]["step_count"] == 8
    assert set(description["random"]) == {"shuffle", "layers.2.dropout"}
    assert np.array_equal(arrays["model.layers.0.weight"], trainer.model.layers[0].weight.value)
    assert any(name.startswith("optimizer.") for name in arrays)
    fresh = Trainer(mlp([2, 8, 3], dropout=0.1, rng=5), optimizer="adam", batch_size=16, seed=9)
    assert load_checkpoint(fresh, path) == {"config": {"epochs": 2}}
    assert np.array_equal(fresh.optimizer.flat.values, trainer.optimizer.flat.values)
    assert fresh.rng.bit_generator.state == trainer.rng.bit_generator.state
    assert fresh.history.history == trainer.history.history and fresh.epoch == 2


def test_a_checkpoint_of_another_architecture_is_refused(tmp_path):
    path = save_checkpoint(trained(), tmp_path / "state.npz")
    other = Trainer(mlp([2, 16, 3], dropout=0.1, rng=0), optimizer="adam")
    with pytest.raises(ModelFileError, match="is a checkpoint of another architecture") as raised:
        load_checkpoint(other, path)
    assert "'out_features': 8" in str(raised.value) and "'out_features': 16" in str(raised.value)
    with pytest.raises(ModelFileError, match="trained with Adam, this run uses SGD"):
        load_checkpoint(Trainer(mlp([2, 8, 3], dropout=0.1, rng=0), optimizer="sgd"), path)
    with pytest.raises(ModelFileError, match="resume with the same options"):
        load_checkpoint(Trainer(mlp([2, 8, 3], dropout=0.1, rng=0), optimizer="adam", augment=Shift()), path)


class Shift:
    """An augmentation with its own random generator."""

    def __init__(self) -> None:
        self.rng = np.random.default_rng(0)

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return x


def test_a_model_file_is_not_a_checkpoint(tmp_path):
    model_path = trained().model.save(tmp_path / "model.npz")
    with pytest.raises(ModelFileError):
        read_checkpoint(model_path)


# ---- buffers ---------------------------------------------------------------------------------


def test_load_checkpoint_restores_buffers_and_checks_their_shape(tmp_path):
    x, y = four_feature_blobs()
    model = mlp([4, 8, 3], preprocessing=[Standardize.fit(x)], rng=0)
    trainer = Trainer(model, seed=0)
    trainer.fit(x, y, epochs=1, verbose=0)
    save_checkpoint(trainer, tmp_path / "state.npz")
    other = mlp([4, 8, 3], preprocessing=[Standardize(np.zeros(4), np.ones(4))], rng=0)
    resumed = Trainer(other, seed=0)
    load_checkpoint(resumed, tmp_path / "state.npz")
    np.testing.assert_array_equal(other.layers[0].mean, model.layers[0].mean)
    np.testing.assert_array_equal(other.layers[0].std, model.layers[0].std)
    np.testing.assert_array_equal(other.get_weights(), model.get_weights())
