"""The training loop: fit, History, metrics, full batch, determinism, divergence, Ctrl-C."""

from __future__ import annotations

import os
import pickle
import signal
import warnings

import numpy as np
import pytest
from helpers import four_feature_blobs, loss_of

from barenet import (
    BarenetError,
    DivergenceError,
    Trainer,
    TrainingInterrupted,
    TrainingWarning,
    evaluate,
    fit,
    mlp,
)
from barenet.schedules import get_schedule
from barenet.training.checkpoints import load_checkpoint, read_checkpoint


def blobs(n: int = 240, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Three Gaussian blobs in 2-D: x float32 ``(n, 2)``, y int ``(n,)``."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n)
    centres = np.array([[0.0, 2.0], [2.0, -1.0], [-2.0, -1.0]])
    return (centres[y] + rng.standard_normal((n, 2))).astype(np.float32), y


def line(n: int = 200, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A noisy linear regression: x ``(n, 3)``, y ``(n, 1)``."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, 3)).astype(np.float32)
    y = x @ np.array([[1.0], [-2.0], [0.5]], dtype=np.float32) + 0.1 * rng.standard_normal((n, 1))
    return x, y.astype(np.float32)


def weights(model) -> list[np.ndarray]:
    return [parameter.value.copy() for parameter in model.parameters()]


def test_fit_returns_a_history_of_classification_metrics():
    x, y = blobs()
    model = mlp([2, 16, 3], rng=0)
    history = fit(model, x, y, epochs=4, validation_split=0.25, batch_size=32, seed=0, verbose=0)
    assert set(history.history) == {"loss", "accuracy", "val_loss", "val_accuracy", "lr"}
    assert all(len(values) == 4 for values in history.history.values())
    assert history.epochs == [0, 1, 2, 3]
    assert history.history["loss"][-1] < history.history["loss"][0]
    assert all(0 <= value <= 1 for value in history.history["val_accuracy"])


def test_validation_metrics_are_those_of_evaluate_at_the_end_of_the_epoch():
    x, y = line()
    model = mlp([3, 8, 1], task="regression", rng=0)
    validation = line(50, seed=1)
    history = fit(model, x, y, epochs=3, validation_data=validation, seed=0, verbose=0)
    assert {"loss", "mse", "mae", "r2", "val_loss", "val_mse", "val_mae", "val_r2"} <= set(history.history)
    final = evaluate(model, *validation)
    for name in ("loss", "mse", "mae", "r2"):
        assert history.history[f"val_{name}"][-1] == pytest.approx(final[name], rel=1e-6)


def test_full_batch_is_one_step_per_epoch_on_all_samples():
    x, y = line()
    model = mlp([3, 8, 1], task="regression", rng=0)
    before = evaluate(model, x, y)
    trainer = Trainer(model, optimizer="sgd", lr=0.05, batch_size="full", seed=0)
    history = trainer.fit(x, y, epochs=5, verbose=0)
    assert trainer.step == 5
    # Full batch: the first epoch's training loss is the loss of the initial weights on all samples.
    assert history.history["loss"][0] == pytest.approx(before["loss"], rel=1e-5)
    assert history.history["mse"][0] == pytest.approx(before["mse"], rel=1e-5)
    other = mlp([3, 8, 1], task="regression", rng=0)
    Trainer(other, optimizer="sgd", lr=0.05, batch_size=None, seed=0).fit(x, y, epochs=5, verbose=0)
    assert all(np.array_equal(a, b) for a, b in zip(weights(model), weights(other)))


def test_same_seed_is_bit_identical_and_another_seed_is_not():
    x, y = blobs()

    def run(seed: int):
        model = mlp([2, 16, 3], dropout=0.3, rng=0)
        history = fit(model, x, y, epochs=3, batch_size=16, validation_split=0.2, seed=seed, verbose=0)
        return weights(model), history.history

    first, second, third = run(1), run(1), run(2)
    assert all(np.array_equal(a, b) for a, b in zip(first[0], second[0]))
    assert first[1] == second[1]
    assert not all(np.array_equal(a, b) for a, b in zip(first[0], third[0]))


def test_fit_refuses_bad_arguments():
    x, y = blobs(50)
    model = mlp([2, 4, 3], rng=0)
    with pytest.raises(ValueError, match="batch_size must be a positive integer, None or 'full'"):
        Trainer(model, batch_size=0)
    with pytest.raises(ValueError, match="epochs must be a whole number"):
        fit(model, x, y, epochs=-1, verbose=0)
    with pytest.raises(ValueError, match="not both"):
        fit(model, x, y, validation_data=(x, y), validation_split=0.2, verbose=0)
    with pytest.raises(ValueError, match="3 features per sample but the model's first layer expects 2"):
        fit(model, np.zeros((5, 3)), np.zeros(5, dtype=int), verbose=0)


def test_resume_from_a_checkpoint_equals_the_uninterrupted_run(tmp_path):
    x, y = blobs()

    def trainer() -> Trainer:
        model = mlp([2, 16, 3], dropout=0.2, rng=0)
        return Trainer(
            model,
            optimizer="adam",
            lr_schedule="step",
            schedule_options={"step_size": 1},
            batch_size=32,
            seed=3,
        )

    whole = trainer()
    whole.fit(x, y, epochs=4, validation_split=0.2, verbose=0)
    first = trainer()
    first.fit(x, y, epochs=2, validation_split=0.2, verbose=0)
    from barenet import save_checkpoint

    save_checkpoint(first, tmp_path / "state.npz", extra={"note": "half"})
    second = trainer()
    assert load_checkpoint(second, tmp_path / "state.npz") == {"note": "half"}
    second.fit(x, y, epochs=4, validation_split=0.2, verbose=0)
    assert all(np.array_equal(a, b) for a, b in zip(weights(whole.model), weights(second.model)))
    assert whole.history.history == second.history.history
    assert (whole.step, whole.epoch) == (second.step, second.epoch)


def test_ctrl_c_mid_epoch_saves_a_checkpoint_that_resumes_exactly(tmp_path):
    """A real SIGINT during the fifth batch: the batch is finished, the state saved, and the
    resumed run continues inside the interrupted epoch to the uninterrupted result."""
    x, y = blobs()
    batches = []

    def interrupt_on_fifth_batch(x_batch: np.ndarray) -> np.ndarray:
        batches.append(len(x_batch))
        if len(batches) == 5:
            os.kill(os.getpid(), signal.SIGINT)
        return x_batch

    def trainer(augment=None) -> Trainer:
        model = mlp([2, 16, 3], dropout=0.2, rng=0)
        return Trainer(
            model,
            batch_size=32,
            seed=0,
            augment=augment or (lambda x_batch: x_batch),
            checkpoint_path=str(tmp_path / "checkpoint.npz"),
        )

    interrupted = trainer(interrupt_on_fifth_batch)
    handler = signal.getsignal(signal.SIGINT)
    with pytest.raises(TrainingInterrupted, match="interrupted during epoch 1 after batch 5") as raised:
        interrupted.fit(x, y, epochs=3, verbose=0)
    assert signal.getsignal(signal.SIGINT) is handler  # the trainer's handler is gone again
    assert raised.value.checkpoint == str(tmp_path / "checkpoint.npz")
    description, _ = read_checkpoint(tmp_path / "checkpoint.npz")
    assert description["resume_point"]["batch"] == 5 and description["step"] == 5
    resumed = trainer()
    load_checkpoint(resumed, tmp_path / "checkpoint.npz")
    resumed.fit(x, y, epochs=3, verbose=0)
    whole = trainer()
    whole.fit(x, y, epochs=3, verbose=0)
    assert all(np.array_equal(a, b) for a, b in zip(weights(whole.model), weights(resumed.model)))
    assert whole.history.history == resumed.history.history


def test_a_non_finite_loss_stops_training_and_keeps_the_last_weights():
    x, y = line()
    model = mlp([3, 16, 1], task="regression", rng=0)
    trainer = Trainer(model, optimizer="sgd", lr=10.0, batch_size=20, seed=0)
    after_each_step = [model.get_weights()]
    step = trainer.optimizer.step

    def recording_step() -> None:
        step()
        after_each_step.append(model.get_weights())

    trainer.optimizer.step = recording_step
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # NumPy's overflow warnings stay quiet
        with pytest.raises(DivergenceError) as raised:
            trainer.fit(x, y, epochs=5, verbose=0)
    message = str(raised.value)
    assert "training diverged at epoch 1" in message and "the loss became" in message
    assert "learning rate (10) is too high" in message and "scale the inputs" in message
    values = model.get_weights()
    assert np.isfinite(values).all()
    # The weights after the last step produced the non-finite loss: the model keeps the ones before.
    assert len(after_each_step) >= 2 and np.array_equal(values, after_each_step[-2])
    assert np.isfinite(model.evaluate(x, y)["loss"])
    assert raised.value.history.stop_reason == message


def test_a_step_that_makes_weights_non_finite_is_undone():
    x, y = line(64)
    model = mlp([3, 8, 1], task="regression", rng=0)
    initial = weights(model)
    trainer = Trainer(model, optimizer="sgd", lr=1e39, batch_size=16, seed=0)  # the first step overflows
    with pytest.raises(DivergenceError, match="last finite weights"):
        trainer.fit(x, y, epochs=2, verbose=0)
    assert trainer.step == 1
    assert all(np.array_equal(a, b) for a, b in zip(initial, weights(model)))


def test_unscaled_pixels_warn_and_a_collapse_to_one_class_is_reported():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 10, 500)
    x = rng.integers(0, 40, (500, 20, 20)).astype(np.uint8)
    for image, label in zip(x, y):
        image[2 * label : 2 * label + 2, 3:17] = 255
    model = mlp([400, 32, 10], rng=0)
    with pytest.warns(TrainingWarning) as caught:
        history = fit(model, x.reshape(500, -1), y, epochs=4, optimizer="sgd", lr=0.1, seed=0, verbose=0)
    messages = [str(warning.message) for warning in caught]
    assert any("the inputs are not scaled: values reach 255" in message for message in messages)
    collapse = [message for message in messages if "the network predicts class" in message]
    assert collapse and "unscaled inputs" in collapse[0]
    assert np.bincount(model.predict(x.reshape(500, -1))).max() > 450
    assert history.warnings == messages


def test_scaled_inputs_train_without_warnings():
    x, y = blobs()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fit(mlp([2, 16, 3], rng=0), x, y, epochs=3, seed=0, verbose=0)


def test_verbose_lines(capsys):
    x, y = blobs(60)
    fit(mlp([2, 4, 3], rng=0), x, y, epochs=5, verbose=2, verbose_every=2, seed=0)
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[1] for line in lines] == ["2/5", "4/5", "5/5"]
    assert "loss" in lines[0] and "accuracy" in lines[0]
    fit(mlp([2, 4, 3], rng=0), x, y, epochs=2, verbose=0, seed=0)
    assert capsys.readouterr().out == ""


def test_standardised_inputs_with_outliers_do_not_warn_about_scale():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((300, 5))
    x[0, 0] = 40.0  # one outlier, as StandardScaler leaves on a nearly constant feature
    y = (x[:, 1] > 0).astype(int)
    with warnings.catch_warnings():
        warnings.simplefilter("error", TrainingWarning)
        fit(mlp([5, 8, 2], rng=0), x, y, epochs=1, seed=0, verbose=0)


# ---- training goes on where it was; wrong arguments are named -------------------------------


def test_astype_after_a_trainer_exists_keeps_training_the_model():
    x, y = four_feature_blobs()
    model = mlp([4, 8, 3], rng=0)
    trainer = Trainer(model, lr=0.01, batch_size=32, seed=0)
    trainer.fit(x, y, epochs=1, verbose=0)
    model.astype(np.float64)
    after_first = loss_of(model, x, y)
    trainer.fit(x, y, epochs=6, verbose=0)
    assert model.dtype == np.float64 and trainer.optimizer.flat is model.flat
    assert trainer.optimizer.first_moment.dtype == np.float64
    assert loss_of(model, x, y) < 0.8 * after_first


def test_fit_twice_continues_from_the_trained_weights():
    x, y = four_feature_blobs()
    model = mlp([4, 8, 3], rng=0)
    first = model.fit(x, y, epochs=3, lr=0.01, seed=0, verbose=0)
    second = model.fit(x, y, epochs=3, lr=0.01, seed=0, verbose=0)
    assert second.history["loss"][0] < first.history["loss"][0]
    assert second.history["loss"][-1] < first.history["loss"][-1]


def test_trainer_fit_never_trains_zero_epochs_silently():
    x, y = four_feature_blobs()
    trainer = Trainer(mlp([4, 8, 3], rng=0), seed=0)
    trainer.fit(x, y, epochs=2, verbose=0)
    with pytest.raises(BarenetError, match="completed 2 epochs.*total to reach"):
        trainer.fit(x, y, epochs=2, verbose=0)
    trainer.fit(x, y, epochs=3, verbose=0)
    assert trainer.epoch == 3


def test_an_unpickled_model_still_trains_with_its_optimiser():
    x, y = four_feature_blobs()
    model = mlp([4, 8, 3], rng=0)
    trainer = Trainer(model, lr=0.01, seed=0)
    trainer.fit(x, y, epochs=1, verbose=0)
    copy = pickle.loads(pickle.dumps(trainer))
    before = loss_of(copy.model, x, y)
    copy.fit(x, y, epochs=5, verbose=0)
    assert loss_of(copy.model, x, y) < before
    assert copy.optimizer.flat is copy.model.flat


def test_lr_and_a_schedule_object_together_are_refused():
    model = mlp([2, 2], rng=0)
    with pytest.raises(BarenetError, match="give lr or a Schedule object, not both"):
        Trainer(model, lr=0.1, lr_schedule=get_schedule("cosine", 0.01, total=10))


@pytest.mark.parametrize(("argument", "name"), [({"loss": 5}, "loss"), ({"optimizer": 5}, "optimizer")])
def test_objects_of_the_wrong_type_get_a_type_error_naming_the_parameter(argument, name):
    with pytest.raises(TypeError, match=f"^{name} must be"):
        Trainer(mlp([2, 2], rng=0), **argument)
