"""Fuzzing the checkpoint reader (the ``--resume`` path): damaged and edited checkpoints.

Every input must either restore into the trainer, which then trains on (finite weights, the
epoch counter where the checkpoint says), or raise a BarenetError naming the file and leave
the trainer exactly as it was; any other exception fails.
"""

from __future__ import annotations

import functools
import io
import json
import tempfile
from pathlib import Path

import numpy as np
import pytest
from fuzz_mutations import (
    changed_json,
    damaged_bytes,
    dump_json,
    fuzz,
    patched_zip,
    record,
    rezip,
    unzip,
    write_report,
)
from hypothesis import given
from hypothesis import strategies as st

import barenet
from barenet.errors import BarenetError, ModelFileError
from barenet.runs.training_run import config_from_checkpoint
from barenet.saving import DESCRIPTION_KEY
from barenet.training import Trainer
from barenet.training.checkpoints import load_checkpoint, save_checkpoint

DESCRIPTION_ENTRY = f"{DESCRIPTION_KEY}.npy"
X = np.random.default_rng(1).normal(size=(24, 3))
Y = np.arange(24) % 3


@pytest.fixture(scope="module", autouse=True)
def report():
    yield
    write_report()


def new_trainer() -> Trainer:
    model = barenet.mlp([3, 6, 3], dropout=0.2, rng=0)
    return Trainer(model, optimizer="adam", batch_size=8, seed=0)


@functools.cache
def checkpoint_bytes(mid_epoch: bool) -> bytes:
    """A valid checkpoint after two epochs; ``mid_epoch``: one interrupted after a batch."""
    trainer = new_trainer()
    trainer.fit(X, Y, epochs=2, verbose=0)
    if mid_epoch:
        trainer._resume_point = {
            "rng": trainer.rng.bit_generator.state,
            "totals": {"loss": 3.3, "correct": 4.0, "squared": 0.0, "absolute": 0.0, "seen": 8.0},
            "batch": 1,
        }
    with tempfile.TemporaryDirectory() as folder:
        extra = {"config": {"dataset": "spirals"}}
        path = save_checkpoint(trainer, Path(folder) / "checkpoint.npz", extra=extra)
        return path.read_bytes()


def state_of(trainer: Trainer) -> tuple:
    return (
        trainer.model.get_weights().tobytes(), trainer.epoch, trainer.step, trainer.split_seed,
        json.dumps({name: g.bit_generator.state for name, g in trainer.generators().items()}),
        trainer.optimizer.step_count, trainer.optimizer.lr,
        {name: array.tobytes() for name, array in trainer.optimizer.state().items()},
        json.dumps(trainer.history.to_dict()), repr(trainer._resume_point),
    )


def check_resume(data: bytes, tmp_path, reader: str = "checkpoint (--resume)") -> None:
    path = tmp_path / "checkpoint.npz"
    path.write_bytes(data)
    trainer = new_trainer()
    before = state_of(trainer)
    try:
        load_checkpoint(trainer, path)
    except BarenetError as error:
        assert str(path) in str(error), error
        assert state_of(trainer) == before, "a refused checkpoint changed the trainer"
        record(reader, "barenet error")
        return
    assert trainer.epoch >= 0 and np.isfinite(trainer.model.get_weights()).all()
    epoch = trainer.epoch
    trainer.fit(X, Y, epochs=epoch + 1, verbose=0)  # the total to reach: one more
    assert trainer.epoch == epoch + 1
    record(reader, "ok")


def check_config(data: bytes, tmp_path) -> None:
    """``barenet train --resume`` first reads the run's settings from the checkpoint."""
    path = tmp_path / "checkpoint.npz"
    path.write_bytes(data)
    try:
        settings = config_from_checkpoint(path)
    except BarenetError:
        record("checkpoint settings", "barenet error")
        return
    assert isinstance(settings, dict)
    record("checkpoint settings", "ok")


def description_of(data: bytes) -> dict:
    return json.loads(str(np.load(io.BytesIO(unzip(data)[DESCRIPTION_ENTRY]))))


def with_description(data: bytes, text: str) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, np.array(text))
    return rezip(unzip(data) | {DESCRIPTION_ENTRY: buffer.getvalue()})


@pytest.mark.parametrize("mid_epoch", [False, True])
def test_the_unchanged_checkpoints_resume(mid_epoch, tmp_path):
    check_resume(checkpoint_bytes(mid_epoch), tmp_path)
    check_config(checkpoint_bytes(mid_epoch), tmp_path)


@fuzz(120)
@given(data=st.data(), mid_epoch=st.booleans())
def test_damaged_bytes(data, mid_epoch, tmp_path_factory):
    damaged = data.draw(damaged_bytes(checkpoint_bytes(mid_epoch)))
    folder = tmp_path_factory.mktemp("c")
    check_resume(damaged, folder)
    check_config(damaged, folder)


@fuzz(50)
@given(data=st.data())
def test_zip_headers(data, tmp_path_factory):
    check_resume(data.draw(patched_zip(checkpoint_bytes(False))), tmp_path_factory.mktemp("c"))


@fuzz(200)
@given(data=st.data(), mid_epoch=st.booleans())
def test_description_json_changes(data, mid_epoch, tmp_path_factory):
    """Null, missing, wrong-typed or out-of-range extra, model, optimizer, history,
    resume_point, random states, epoch and step."""
    original = checkpoint_bytes(mid_epoch)
    document = data.draw(changed_json(description_of(original)))
    changed = with_description(original, dump_json(document))
    folder = tmp_path_factory.mktemp("c")
    check_resume(changed, folder)
    check_config(changed, folder)


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda d: d.__setitem__("epoch", -5), "epoch must be a whole number in"),
        (lambda d: d.__setitem__("extra", None), "extra must be dict, not null"),
        (lambda d: d.__setitem__("history", []), "history must be dict, not list"),
        (lambda d: d.__setitem__("resume_point", 3), "resume_point must be an object or null"),
        (lambda d: d.__setitem__("optimizer", {"type": "Adam"}), "optimizer has no 'step_count'"),
        (lambda d: d["model"].__setitem__("layers", 7), "model.layers must be list"),
        (lambda d: d["random"]["shuffle"].__setitem__("bit_generator", "MT19937"), "state of a PCG64"),
        (lambda d: d["random"]["shuffle"]["state"].__setitem__("state", "x"), "not a valid PCG64 state"),
    ],
)
def test_named_damage_is_refused_clearly(change, message, tmp_path):
    document = description_of(checkpoint_bytes(False))
    change(document)
    path = tmp_path / "checkpoint.npz"
    path.write_bytes(with_description(checkpoint_bytes(False), json.dumps(document)))
    trainer = new_trainer()
    with pytest.raises(ModelFileError, match=message):
        load_checkpoint(trainer, path)


@pytest.mark.parametrize("value", [np.nan, np.inf])
def test_non_finite_weights_in_a_checkpoint_are_refused(value, tmp_path):
    entries = unzip(checkpoint_bytes(False))
    buffer = io.BytesIO()
    weight = np.full((3, 6), value, dtype=np.float32)
    np.save(buffer, weight)
    entries["model.layers.0.weight.npy"] = buffer.getvalue()
    (tmp_path / "checkpoint.npz").write_bytes(rezip(entries))
    with pytest.raises(ModelFileError, match="non-finite"):
        load_checkpoint(new_trainer(), tmp_path / "checkpoint.npz")


def test_a_checkpoint_with_non_finite_weights_is_never_written(tmp_path):
    trainer = new_trainer()
    trainer.model.layers[0].weight.value[0, 0] = np.inf
    with pytest.raises(ModelFileError, match="refusing to write"):
        save_checkpoint(trainer, tmp_path / "checkpoint.npz")
    assert list(tmp_path.iterdir()) == []
