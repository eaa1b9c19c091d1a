"""Fuzzing the IDX reader (`read_idx`), raw and gzip-compressed.

Every input must either read into an array whose shape is the one its header declares and
whose bytes are the file's, or raise a DatasetError (a BarenetError) naming the file; any
other exception fails. Huge declared sizes and gzip bombs must stay within 100 MB.
"""

from __future__ import annotations

import gzip
import os
import struct
from pathlib import Path

import numpy as np
import pytest
from fuzz_mutations import HUGE_SIZES, damaged_bytes, fuzz, peak_allocation, record, write_report
from helpers import DATA_DIR
from hypothesis import given
from hypothesis import strategies as st

from barenet.datasets import encode_idx, read_idx
from barenet.errors import BarenetError, DatasetError

MEMORY_LIMIT = 100 * 2**20
IMAGES = np.random.default_rng(0).integers(0, 256, size=(5, 28, 28), dtype=np.uint8)
LABELS = np.arange(5, dtype=np.uint8)
FLOATS = np.random.default_rng(1).normal(size=(4, 3)).astype(np.float32)


@pytest.fixture(scope="module", autouse=True)
def report():
    yield
    write_report()


def check_read(data: bytes, tmp_path, reader: str, compressed: bool) -> np.ndarray | None:
    path = tmp_path / ("data-idx.gz" if compressed else "data-idx")
    path.write_bytes(gzip.compress(data, mtime=0) if compressed else data)
    try:
        array = read_idx(path)
    except BarenetError as error:
        assert isinstance(error, DatasetError) and str(path) in str(error), error
        record(reader, "barenet error")
        return None
    ndim = data[3]
    shape = struct.unpack(f">{ndim}I", data[4 : 4 + 4 * ndim])
    assert array.shape == shape and array.dtype.isnative and array.flags.writeable
    assert encode_idx(array) == data  # the very bytes the file holds
    record(reader, "ok")
    return array


@pytest.mark.parametrize("array", [IMAGES, LABELS, FLOATS], ids=["images", "labels", "floats"])
@pytest.mark.parametrize("compressed", [False, True])
def test_valid_files_read_back(array, compressed, tmp_path):
    reader = "IDX (gzip)" if compressed else "IDX (raw)"
    read = check_read(encode_idx(array), tmp_path, reader, compressed)
    np.testing.assert_array_equal(read, array)


@fuzz(150)
@given(data=st.data(), array=st.sampled_from([IMAGES, LABELS, FLOATS]), compressed=st.booleans())
def test_damaged_bytes(data, array, compressed, tmp_path_factory):
    damaged = data.draw(damaged_bytes(encode_idx(array)))
    check_read(damaged, tmp_path_factory.mktemp("i"), f"IDX ({'gzip' if compressed else 'raw'})", compressed)


@fuzz(80)
@given(
    data=st.data(), array=st.sampled_from([IMAGES, LABELS, FLOATS]), compressed=st.booleans(),
    type_code=st.sampled_from([0x08, 0x09, 0x0B, 0x0C, 0x0D, 0x0E, 0x00, 0x0A, 0xFF]),
    ndim=st.integers(0, 255),
)
def test_header_fields_and_huge_declared_sizes(data, array, compressed, type_code, ndim, tmp_path_factory):
    """The magic number's type code and dimension count, and dimensions up to 2³²−1 (whose
    product overflows int64), against the bytes that really follow."""
    sizes = [data.draw(HUGE_SIZES.filter(lambda n: n < 2**32)) for _ in range(min(ndim, 4))]
    sizes += list(array.shape)[len(sizes):]
    header = bytes([0, 0, type_code, ndim]) + b"".join(struct.pack(">I", n) for n in sizes[:ndim])
    body = data.draw(st.sampled_from([b"", array.tobytes(), bytes(4096)]))
    with peak_allocation() as peak:
        check_read(header + body, tmp_path_factory.mktemp("i"), f"IDX ({'gzip' if compressed else 'raw'})",
                   compressed)
    assert peak() < MEMORY_LIMIT


def test_an_overflowing_header_is_refused_by_barenet(tmp_path):
    """2³¹ × 2³¹ × 28 overflows int64; sizes are Python integers, so it is simply too large."""
    path = tmp_path / "x-idx"
    path.write_bytes(bytes([0, 0, 8, 3]) + struct.pack(">3I", 2**31, 2**31, 28) + bytes(100))
    with pytest.raises(DatasetError, match=r"file is truncated: shape \(2147483648, 2147483648, 28\)"):
        read_idx(path)


def test_a_gzip_bomb_is_refused_before_it_is_inflated(tmp_path):
    """A small gzip file whose header declares far more than deflate can hold: refused after
    reading the header, without inflating the rest."""
    body = bytes(64 * 2**20)  # 64 MiB of zeros: about 64 KiB compressed
    path = tmp_path / "bomb-idx.gz"
    path.write_bytes(gzip.compress(bytes([0, 0, 8, 3]) + struct.pack(">3I", 2**31 - 1, 28, 28) + body))
    assert path.stat().st_size < 200_000
    with peak_allocation() as peak, pytest.raises(DatasetError, match="header is damaged"):
        read_idx(path)
    assert peak() < 10 * 2**20


def test_a_gzip_file_inflates_only_what_the_header_declares(tmp_path):
    """A header declaring 10 values followed by 64 MiB more: refused once the 11th byte
    arrives, with memory far below what the whole file inflates to."""
    path = tmp_path / "long-idx.gz"
    path.write_bytes(gzip.compress(bytes([0, 0, 8, 1]) + struct.pack(">I", 10) + bytes(64 * 2**20)))
    with peak_allocation() as peak, pytest.raises(DatasetError, match="has extra bytes"):
        read_idx(path)
    assert peak() < 10 * 2**20


def test_mnist_reads_with_memory_close_to_its_size():
    """The real training images (47 MB of values): the reader's peak is about the array itself."""
    path = Path(os.environ.get("BARENET_DATA_DIR", DATA_DIR)) / "mnist" / "train-images-idx3-ubyte.gz"
    if not path.is_file():
        pytest.skip(f"MNIST not found at {path} (set BARENET_DATA_DIR to the folder holding mnist/)")
    with peak_allocation() as peak:
        images = read_idx(path, expected_ndim=3)
    assert images.shape == (60000, 28, 28)
    assert peak() < images.nbytes + 30 * 2**20, f"peak {peak() / 2**20:.0f} MiB"
