"""Model files: a saved model comes back bit for bit, the write is atomic, and every kind of
damaged or foreign file is refused with a ModelFileError that says what is wrong."""

import json
import os

import numpy as np
import pytest
from helpers import four_feature_blobs

import barenet
from barenet import (
    Dense,
    Dropout,
    LeakyReLU,
    ModelFileError,
    Rescale,
    Sequential,
    Softmax,
    Standardize,
    Tanh,
    mlp,
)
from barenet.losses import CrossEntropy
from barenet.optim import Adam
from barenet.saving import DESCRIPTION_KEY, FORMAT_VERSION


def inputs(n_samples=50, n_features=4, seed=0, dtype=np.float32):
    return np.random.default_rng(seed).normal(size=(n_samples, n_features)).astype(dtype)


def trained_model(dtype=np.float32):
    """Every kind of layer, with weights moved away from their initial values by a few steps."""
    x = inputs(dtype=dtype)
    model = Sequential(
        Standardize.fit(x, dtype=dtype), Rescale(0.5, offset=0.1),
        Dense(4, 6, rng=0, dtype=dtype), LeakyReLU(0.2), Dropout(0.3, rng=1),
        Dense(6, 5, rng=2, dtype=dtype), Tanh(),
        Dense(5, 3, rng=3, dtype=dtype), Softmax(),
    )
    optimizer = Adam(model.parameters(), lr=0.05)
    y = np.arange(len(x)) % 3
    for _ in range(3):
        model.compute_gradients(x, y, CrossEntropy())
        optimizer.step()
    return model


def rewrite(path, edit):
    """Open a saved model with plain NumPy, let ``edit(description, arrays)`` change it, write it back."""
    with np.load(path) as contents:
        arrays = {name: contents[name] for name in contents.files}
    description = json.loads(str(arrays.pop(DESCRIPTION_KEY)))
    edit(description, arrays)
    np.savez(path, **arrays, **{DESCRIPTION_KEY: np.array(json.dumps(description))})


@pytest.fixture
def saved(tmp_path):
    return trained_model().save(tmp_path / "model.npz")


# ---- round trips -------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_a_reloaded_model_gives_bit_identical_predictions(tmp_path, dtype):
    model = trained_model(dtype)
    loaded = barenet.load(model.save(tmp_path / "model.npz"))
    x = inputs(200, seed=1, dtype=dtype)
    assert loaded.predict_scores(x).dtype == dtype
    assert np.array_equal(loaded.predict_scores(x), model.predict_scores(x))
    assert np.array_equal(loaded.predict(x), model.predict(x))
    for original, restored in zip(model.parameters(), loaded.parameters()):
        assert np.array_equal(original.value, restored.value)


def test_a_reloaded_model_has_the_same_architecture_and_task(tmp_path):
    model = trained_model()
    loaded = barenet.load(model.save(tmp_path / "model.npz"))
    assert [repr(layer) for layer in loaded.layers] == [repr(layer) for layer in model.layers]
    assert loaded.parameter_names() == model.parameter_names()
    assert (loaded.task, loaded.dtype) == (model.task, model.dtype)


@pytest.mark.parametrize(("sizes", "task"), [([3, 4, 1], "classification"), ([3, 4, 2], "regression")])
def test_binary_classifiers_and_regressors_round_trip(tmp_path, sizes, task):
    model = mlp(sizes, task=task, rng=0)
    loaded = barenet.load(model.save(tmp_path / "model"))
    x = inputs(20, n_features=3)
    assert loaded.task == task
    assert np.array_equal(loaded.predict(x), model.predict(x))


def test_save_appends_npz_and_returns_the_path(tmp_path):
    path = mlp([2, 2], rng=0).save(tmp_path / "model")
    assert path == tmp_path / "model.npz" and path.is_file()


# ---- atomic writes -------------------------------------------------------------------------


def test_saving_leaves_no_temporary_files_behind(tmp_path):
    mlp([2, 3, 2], rng=0).save(tmp_path / "model.npz")
    assert os.listdir(tmp_path) == ["model.npz"]


def test_saved_files_get_the_permissions_open_would_give_them(tmp_path):
    previous = os.umask(0o022)
    try:
        path = mlp([2, 2], rng=0).save(tmp_path / "model.npz")
    finally:
        os.umask(previous)
    assert path.stat().st_mode & 0o777 == 0o644  # readable by others, not mkstemp's 0600


def test_saving_over_an_existing_file_replaces_it(tmp_path):
    first, second = mlp([4, 3], rng=0), mlp([4, 3], rng=1)
    first.save(tmp_path / "model.npz")
    second.save(tmp_path / "model.npz")
    assert os.listdir(tmp_path) == ["model.npz"]
    x = inputs()
    assert np.array_equal(barenet.load(tmp_path / "model.npz").predict_scores(x), second.predict_scores(x))
    assert not np.array_equal(first.predict_scores(x), second.predict_scores(x))


def test_a_save_that_fails_at_the_last_moment_keeps_the_old_file_and_no_temporary(tmp_path, monkeypatch):
    old, new = mlp([4, 3], rng=0), mlp([4, 3], rng=1)
    old.save(tmp_path / "model.npz")

    def crash(*args, **kwargs):
        raise OSError("disk pulled out")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError, match="disk pulled out"):
        new.save(tmp_path / "model.npz")
    monkeypatch.undo()
    assert os.listdir(tmp_path) == ["model.npz"]
    x = inputs()
    assert np.array_equal(barenet.load(tmp_path / "model.npz").predict_scores(x), old.predict_scores(x))


def test_saving_into_a_missing_folder_says_so(tmp_path):
    with pytest.raises(FileNotFoundError, match="folder .*missing does not exist"):
        mlp([2, 2], rng=0).save(tmp_path / "missing" / "model.npz")


# ---- damaged and foreign files ------------------------------------------------------------------


def test_a_missing_file_is_a_file_not_found_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="no model file at"):
        barenet.load(tmp_path / "nothing.npz")


@pytest.mark.parametrize("keep", [0.0, 0.01, 0.5, 0.99])
def test_a_truncated_file_is_refused(saved, keep):
    data = saved.read_bytes()
    saved.write_bytes(data[: int(keep * len(data))] if keep else b"")
    with pytest.raises(ModelFileError, match="not a barenet file.*truncated, corrupt"):
        barenet.load(saved)


def test_a_file_with_a_damaged_byte_inside_an_array_is_refused(saved):
    data = bytearray(saved.read_bytes())
    marker = data.find(b"layers.2.weight.npy")
    data[marker + 200] ^= 0xFF  # inside that array's stored bytes: the zip checksum no longer matches
    saved.write_bytes(bytes(data))
    with pytest.raises(ModelFileError, match="not a readable barenet file .*corrupt"):
        barenet.load(saved)


@pytest.mark.parametrize("content", [b"hello, world\n", b"\x00" * 64], ids=["text", "zeros"])
def test_a_file_that_is_not_an_archive_is_refused(tmp_path, content):
    path = tmp_path / "model.npz"
    path.write_bytes(content)
    with pytest.raises(ModelFileError, match=r"a barenet file is an \.npz \(zip\) archive, and this is not"):
        barenet.load(path)


def test_a_single_array_npy_file_is_refused(tmp_path):
    np.save(tmp_path / "array.npy", np.arange(5.0))
    with pytest.raises(ModelFileError, match="not a barenet file"):
        barenet.load(tmp_path / "array.npy")


def test_a_plain_npz_without_the_description_is_refused(tmp_path):
    np.savez(tmp_path / "plain.npz", weight=np.ones((2, 2)))
    with pytest.raises(ModelFileError, match=r"an \.npz file but not a barenet file \(no description\)"):
        barenet.load(tmp_path / "plain.npz")


def test_a_pickled_array_is_refused_without_being_unpickled(tmp_path):
    pickled = np.array([{"format": "barenet-model"}], dtype=object)
    np.savez(tmp_path / "evil.npz", **{DESCRIPTION_KEY: pickled})
    with pytest.raises(ModelFileError, match="not a readable barenet file"):
        barenet.load(tmp_path / "evil.npz")


def test_a_file_from_a_newer_format_version_asks_for_an_upgrade(saved):
    rewrite(saved, lambda description, arrays: description.update(version=FORMAT_VERSION + 1))
    with pytest.raises(ModelFileError, match=f"newer barenet \\(format version {FORMAT_VERSION + 1}; "
                                             f"this barenet reads up to {FORMAT_VERSION}\\).*Upgrade"):
        barenet.load(saved)


@pytest.mark.parametrize("version", [0, "1", None])
def test_an_invalid_format_version_is_refused(saved, version):
    rewrite(saved, lambda description, arrays: description.update(version=version))
    with pytest.raises(ModelFileError, match="format version .* is not valid"):
        barenet.load(saved)


def test_a_different_kind_of_barenet_file_names_both_kinds(saved):
    rewrite(saved, lambda description, arrays: description.update(format="barenet-checkpoint"))
    with pytest.raises(ModelFileError, match="is a 'barenet-checkpoint' file, expected 'barenet-model'"):
        barenet.load(saved)


def test_a_description_that_is_not_json_is_refused(saved):
    with np.load(saved) as contents:
        arrays = {name: contents[name] for name in contents.files}
    arrays[DESCRIPTION_KEY] = np.array("{not json")
    np.savez(saved, **arrays)
    with pytest.raises(ModelFileError, match="description is not valid JSON"):
        barenet.load(saved)


def test_an_array_whose_shape_disagrees_with_the_description_is_refused(saved):
    def shrink(description, arrays):
        arrays["layers.2.weight"] = arrays["layers.2.weight"][:3]

    rewrite(saved, shrink)
    with pytest.raises(ModelFileError, match=r"layers\.2\.weight has shape \(3, 6\) but the description "
                                             r"implies \(4, 6\)"):
        barenet.load(saved)


def test_a_description_that_disagrees_with_its_arrays_is_refused(saved):
    rewrite(saved, lambda description, arrays: description["layers"][2]["config"].update(out_features=7))
    with pytest.raises(ModelFileError, match=r"layers\.2\.weight has shape \(4, 6\) but the description "
                                             r"implies \(4, 7\)"):
        barenet.load(saved)


def test_a_missing_array_is_named(saved):
    rewrite(saved, lambda description, arrays: arrays.pop("layers.5.bias"))
    with pytest.raises(ModelFileError, match="array 'layers.5.bias' named in the description is missing"):
        barenet.load(saved)


def test_an_integer_array_is_refused(saved):
    def to_integers(description, arrays):
        arrays["layers.7.weight"] = arrays["layers.7.weight"].astype(np.int64)

    rewrite(saved, to_integers)
    with pytest.raises(ModelFileError, match="'layers.7.weight' has dtype int64, expected floats"):
        barenet.load(saved)


def test_buffers_that_do_not_fit_the_next_layer_are_refused(saved):
    def widen(description, arrays):
        arrays["layers.0.mean"] = np.zeros(5, np.float32)
        arrays["layers.0.std"] = np.ones(5, np.float32)

    rewrite(saved, widen)
    with pytest.raises(ModelFileError, match="do not form a model.*expects 4 inputs but the layer before "
                                             "it outputs 5"):
        barenet.load(saved)


def test_an_unknown_layer_type_is_refused_and_never_imported(saved):
    rewrite(saved, lambda description, arrays: description["layers"][3].update(type="os.system"))
    with pytest.raises(ModelFileError, match="layer 3 has unknown type 'os.system'"):
        barenet.load(saved)


def test_an_unexpected_layer_setting_is_refused(saved):
    rewrite(saved, lambda description, arrays: description["layers"][3]["config"].update(beta=2))
    with pytest.raises(ModelFileError, match="layer 3 cannot be rebuilt"):
        barenet.load(saved)


def test_an_unknown_dtype_is_refused(saved):
    rewrite(saved, lambda description, arrays: description.update(dtype="float16"))
    with pytest.raises(ModelFileError, match="dtype 'float16' is not float32 or float64"):
        barenet.load(saved)


def test_model_file_error_is_a_value_error():
    assert issubclass(ModelFileError, ValueError)


# ---- older files ---------------------------------------------------------------------------


def test_old_model_files_still_load(tmp_path):
    """A version-1 file (no input_shape in its description) is read by this version."""
    model = mlp([4, 6, 3], rng=0)
    description, arrays = model.describe()
    description["version"] = 1
    del description["input_shape"]
    from barenet.saving import write_npz_atomic

    path = write_npz_atomic(tmp_path / "old.npz", arrays, description)
    x = four_feature_blobs(10)[0]
    np.testing.assert_array_equal(barenet.load(path).predict_proba(x), model.predict_proba(x))
