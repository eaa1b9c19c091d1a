"""Fuzzing the NPZ reader: archives of any arrays, and damaged archive bytes, end in a result
or a BarenetError, never another exception, and never allocate what a header merely claims."""

from __future__ import annotations

import io
import tracemalloc
import zipfile

import numpy as np
import pytest
from fuzz_outcomes import examples, outcome, write_report
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from barenet.datasets import DatasetError, load_npz, load_table

FUZZ = settings(
    max_examples=examples(80),
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
MEMORY_LIMIT = 32 * 2**20  # bytes: the archives here hold a few kilobytes
DTYPES = [
    "float32",
    "float64",
    "int8",
    "int64",
    "uint8",
    "bool",
    "float16",
    "complex64",
    "<U3",
    "S2",
    "datetime64[s]",
    [("a", "f4"), ("b", "i2")],
]
KEYS = st.sampled_from(["x", "y", "x_train", "y_train", "x_test", "y_test", "extra"])


@pytest.fixture(scope="module", autouse=True)
def report():
    yield
    write_report()


@st.composite
def arrays(draw) -> np.ndarray:
    dtype = np.dtype(draw(st.sampled_from(DTYPES)))
    shape = tuple(draw(st.lists(st.integers(0, 6), max_size=3)))
    number = st.one_of(st.floats(-1e40, 1e40), st.sampled_from([np.nan, np.inf, -np.inf]))
    values = draw(st.lists(number, min_size=64, max_size=64))
    flat = np.resize(np.array(values), int(np.prod(shape)))
    whole = np.clip(np.nan_to_num(flat, nan=0, posinf=1, neginf=-1), -100, 100).astype(np.int64)
    if dtype.kind in "USiub":
        return whole.astype(dtype).reshape(shape)
    if dtype.fields is not None or dtype.kind == "M":
        return np.zeros(shape, dtype=dtype)
    with np.errstate(all="ignore"):  # 1e40 becomes inf in float16 and float32: wanted here
        return flat.astype(dtype).reshape(shape)


def read_all_ways(path) -> None:
    for function in (load_table, load_npz):
        tracemalloc.start()
        try:
            outcome("npz", function, path)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        assert peak < MEMORY_LIMIT, (function.__name__, peak)


def archive_bytes(contents: dict[str, np.ndarray], compressed: bool) -> bytes:
    buffer = io.BytesIO()
    (np.savez_compressed if compressed else np.savez)(buffer, **contents)
    return buffer.getvalue()


@FUZZ
@given(contents=st.dictionaries(KEYS, arrays(), max_size=4), compressed=st.booleans())
def test_archives_of_any_arrays(tmp_path, contents, compressed):
    path = tmp_path / "fuzz.npz"
    path.write_bytes(archive_bytes(contents, compressed))
    read_all_ways(path)


GOOD = {"x": np.arange(12, dtype=np.float32).reshape(6, 2), "y": np.array([0, 1, 0, 1, 0, 1])}


@FUZZ
@given(
    compressed=st.booleans(),
    edits=st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 255)), min_size=1, max_size=6),
    cut=st.one_of(st.none(), st.integers(0, 10**6)),
)
def test_damaged_archives(tmp_path, compressed, edits, cut):
    """A good archive with bytes overwritten (headers, sizes, shapes, zip fields) or cut short."""
    data = bytearray(archive_bytes(GOOD, compressed))
    for position, value in edits:
        data[position % len(data)] = value
    if cut is not None:
        data = data[: cut % len(data)]
    path = tmp_path / "fuzz.npz"
    path.write_bytes(bytes(data))
    read_all_ways(path)


def test_a_header_claiming_a_huge_array_is_refused_before_allocating(tmp_path):
    member = io.BytesIO()
    np.lib.format.write_array(member, np.zeros((2, 2)))
    data = member.getvalue()
    old, new = b"(2, 2), }", b"(10000000000, 2)}"
    position = data.index(old)
    padding = data[position + len(old) : position + len(new)]
    assert padding == b" " * len(padding)  # the header's padding makes room for the longer shape
    path = tmp_path / "huge.npz"
    with zipfile.ZipFile(path, "w") as archive:  # a consistent archive, but for the claim
        archive.writestr("x.npy", data[:position] + new + data[position + len(new) :])
        archive.writestr("y.npy", _npy(np.zeros(2)))
    tracemalloc.start()
    try:
        with pytest.raises(
            DatasetError, match=r"x.npy declares shape \(10000000000, 2\).*the file is damaged"
        ):
            load_table(path)
        assert tracemalloc.get_traced_memory()[1] < MEMORY_LIMIT
    finally:
        tracemalloc.stop()


def _npy(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, array)
    return buffer.getvalue()
