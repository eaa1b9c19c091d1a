"""Fuzzing the model-file reader (`barenet.load`): damaged, edited and hostile model files.

Every input must either load into a consistent model (finite weights that predict with the
right shape and survive a save and reload unchanged) or raise a BarenetError that names the
file; any other exception fails. Inputs that declare huge sizes must stay within 100 MB.
"""

from __future__ import annotations

import functools
import io
import json
import zipfile

import numpy as np
import pytest
from fuzz_mutations import (
    HUGE_SIZES,
    NPY_HEADERS,
    changed_json,
    damaged_bytes,
    dump_json,
    fuzz,
    npy_with_header,
    patched_zip,
    peak_allocation,
    record,
    rezip,
    unzip,
    write_report,
)
from hypothesis import given
from hypothesis import strategies as st

import barenet
from barenet.errors import BarenetError, ModelFileError
from barenet.layers import BatchNorm2D, Conv2D, Dense, Flatten, MaxPool2D, ReLU, Reshape, Softmax
from barenet.model import Sequential
from barenet.saving import DESCRIPTION_KEY

MEMORY_LIMIT = 100 * 2**20
DESCRIPTION_ENTRY = f"{DESCRIPTION_KEY}.npy"


@pytest.fixture(scope="module", autouse=True)
def report():
    yield
    write_report()


@functools.cache
def model_bytes(kind: str, compressed: bool = False) -> bytes:
    """The bytes of a valid model file: an MLP with preprocessing and dropout, or a small CNN."""
    if kind == "mlp":
        x = np.random.default_rng(0).normal(size=(20, 6))
        model = barenet.mlp([6, 5, 3], dropout=0.1, preprocessing=[barenet.layers.Standardize.fit(x)], rng=0)
    else:
        model = Sequential(
            Reshape([1, 6, 6]), Conv2D(1, 2, 3, padding=1, rng=0), BatchNorm2D(2), ReLU(), MaxPool2D(2),
            Flatten(), Dense(18, 3, rng=1), Softmax(), task="classification",
        )
    buffer = io.BytesIO()
    description, arrays = model.describe()
    save = np.savez_compressed if compressed else np.savez
    save(buffer, **arrays, **{DESCRIPTION_KEY: np.array(json.dumps(description))})
    return buffer.getvalue()


def description_of(data: bytes) -> dict:
    return json.loads(str(np.load(io.BytesIO(unzip(data)[DESCRIPTION_ENTRY]))))


def npy(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=True)
    return buffer.getvalue()


def check_load(data: bytes, tmp_path, reader: str) -> Sequential | None:
    """Load ``data``; the outcome must be a consistent model or a BarenetError naming the file."""
    path = tmp_path / "model.npz"
    path.write_bytes(data)
    try:
        model = barenet.load(path)
    except BarenetError as error:
        assert str(path) in str(error), error
        record(reader, "barenet error")
        return None
    weights = model.get_weights()
    assert np.isfinite(weights).all()
    x = np.random.default_rng(0).random((3, *model.input_shape)).astype(model.dtype)
    assert model.predict_scores(x).shape == (3, *model.output_shape)
    again = barenet.load(model.save(tmp_path / "again.npz"))
    np.testing.assert_array_equal(again.get_weights(), weights)
    record(reader, "ok")
    return model


def test_the_unchanged_files_load(tmp_path):
    for kind in ("mlp", "cnn"):
        for compressed in (False, True):
            assert check_load(model_bytes(kind, compressed), tmp_path, "model file") is not None


@fuzz(120)
@given(data=st.data(), kind=st.sampled_from(["mlp", "cnn"]), compressed=st.booleans())
def test_damaged_bytes(data, kind, compressed, tmp_path_factory):
    damaged = data.draw(damaged_bytes(model_bytes(kind, compressed)))
    check_load(damaged, tmp_path_factory.mktemp("f"), "model file")


@fuzz(80)
@given(data=st.data(), compressed=st.booleans())
def test_zip_flags_compression_methods_and_sizes(data, compressed, tmp_path_factory):
    patched = data.draw(patched_zip(model_bytes("mlp", compressed)))
    check_load(patched, tmp_path_factory.mktemp("f"), "model file")


@fuzz(120)
@given(data=st.data(), kind=st.sampled_from(["mlp", "cnn"]))
def test_description_json_changes(data, kind, tmp_path_factory):
    original = model_bytes(kind)
    document = data.draw(changed_json(description_of(original)))
    entries = unzip(original) | {DESCRIPTION_ENTRY: npy(np.array(dump_json(document)))}
    check_load(rezip(entries), tmp_path_factory.mktemp("f"), "model file")


@fuzz(60)
@given(data=st.data(), header=NPY_HEADERS, payload=st.binary(max_size=64))
def test_npy_headers(data, header, payload, tmp_path_factory):
    entries = unzip(model_bytes("mlp"))
    name = data.draw(st.sampled_from(sorted(entries)))
    entries[name] = npy_with_header(header, payload)
    with peak_allocation() as peak:
        check_load(rezip(entries), tmp_path_factory.mktemp("f"), "model file")
    assert peak() < MEMORY_LIMIT


@fuzz(40)
@given(data=st.data(), size=HUGE_SIZES)
def test_huge_declared_layer_sizes_are_refused_before_building(data, size, tmp_path_factory):
    """A Dense layer declaring 50,000,000 inputs (or a convolution declaring huge channels)
    in a file of a few kilobytes is refused before any memory is allocated for it."""
    kind = data.draw(st.sampled_from(["mlp", "cnn"]))
    original = model_bytes(kind)
    document = description_of(original)
    layer = data.draw(st.sampled_from([entry for entry in document["layers"] if entry["config"]]))
    key = data.draw(st.sampled_from(sorted(layer["config"])))
    layer["config"][key] = size if not isinstance(layer["config"][key], list) else [size, size]
    if data.draw(st.booleans()):
        document["input_shape"] = [size] * len(document["input_shape"])
    entries = unzip(original) | {DESCRIPTION_ENTRY: npy(np.array(json.dumps(document)))}
    with peak_allocation() as peak:
        check_load(rezip(entries), tmp_path_factory.mktemp("f"), "model file")
    assert peak() < MEMORY_LIMIT


@pytest.mark.parametrize("size", [50_000_000, 100_000])
def test_a_dense_layer_of_huge_declared_size_costs_nothing(size, tmp_path):
    document = description_of(model_bytes("mlp"))
    dense = next(entry for entry in document["layers"] if entry["type"] == "Dense")
    dense["config"] = {"in_features": size, "out_features": 100_000}
    entries = unzip(model_bytes("mlp")) | {DESCRIPTION_ENTRY: npy(np.array(json.dumps(document)))}
    (tmp_path / "big.npz").write_bytes(rezip(entries))
    with peak_allocation() as peak, pytest.raises(ModelFileError, match="description implies"):
        barenet.load(tmp_path / "big.npz")
    assert peak() < 10 * 2**20


@fuzz(60)
@given(
    data=st.data(),
    replacement=st.sampled_from([
        np.array(["a", "b"]), np.arange(6), np.arange(6, dtype=np.uint8), np.ones(6, dtype=np.complex128),
        np.ones(6, dtype=np.float16), np.array([np.nan] * 6), np.array([np.inf] * 6), np.array(3.0),
        np.array([object()], dtype=object), np.zeros((0,)), np.ones(6, dtype=bool),
        np.zeros(2, dtype=[("a", "<f4")]), np.array(["2024-01-01"], dtype="datetime64[D]"),
    ]),
)
def test_arrays_of_other_dtypes_shapes_and_values(data, replacement, tmp_path_factory):
    entries = unzip(model_bytes("mlp"))
    name = data.draw(st.sampled_from(sorted(entries)))
    entries[name] = npy(replacement)
    check_load(rezip(entries), tmp_path_factory.mktemp("f"), "model file")


def test_other_compression_methods_are_refused_by_name(tmp_path):
    entries = unzip(model_bytes("mlp"))
    for method, name in ((zipfile.ZIP_LZMA, "LZMA"), (zipfile.ZIP_BZIP2, "bzip2")):
        (tmp_path / "m.npz").write_bytes(rezip(entries, method))
        with pytest.raises(ModelFileError, match=f"compression {name}"):
            barenet.load(tmp_path / "m.npz")


def test_a_description_nested_100000_deep_is_refused_without_recursion(tmp_path):
    deep = "[" * 100_000 + "]" * 100_000
    text = json.dumps(description_of(model_bytes("mlp")))[:-1] + f', "x": {deep}}}'
    entries = unzip(model_bytes("mlp")) | {DESCRIPTION_ENTRY: npy(np.array(text))}
    (tmp_path / "deep.npz").write_bytes(rezip(entries))
    with pytest.raises(ModelFileError, match="nested 100001 levels deep"):
        barenet.load(tmp_path / "deep.npz")


def test_non_finite_weights_are_never_written(tmp_path):
    model = barenet.mlp([3, 4, 2], rng=0)
    model.save(tmp_path / "model.npz")
    before = (tmp_path / "model.npz").read_bytes()
    model.layers[0].weight.value[0, 0] = np.nan
    with pytest.raises(ModelFileError, match="refusing to write .*model.npz.*NaN"):
        model.save(tmp_path / "model.npz")
    assert (tmp_path / "model.npz").read_bytes() == before
    assert sorted(path.name for path in tmp_path.iterdir()) == ["model.npz"]
