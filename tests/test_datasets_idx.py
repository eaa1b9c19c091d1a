"""The IDX reader and writer: round trips, and clear errors for damaged files."""

import gzip
import hashlib

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from barenet.datasets import (
    DatasetError,
    DatasetNotFoundError,
    decode_idx,
    encode_idx,
    idx_sha256,
    read_idx,
    write_idx,
)

IDX_DTYPES = [np.uint8, np.int8, np.int16, np.int32, np.float32, np.float64]


@given(
    arrays(
        dtype=st.sampled_from(IDX_DTYPES),
        shape=st.lists(st.integers(0, 5), min_size=1, max_size=4).map(tuple),
    )
)
def test_encode_decode_round_trip(array):
    decoded = decode_idx(encode_idx(array))
    assert decoded.dtype == array.dtype
    assert decoded.shape == array.shape
    np.testing.assert_array_equal(decoded, array)  # treats NaN == NaN


def test_mnist_header_layout():
    images = np.zeros((2, 28, 28), dtype=np.uint8)
    data = encode_idx(images)
    assert data[:16] == bytes.fromhex("00000803000000020000001c0000001c")
    assert len(data) == 16 + 2 * 28 * 28


@pytest.mark.parametrize("name", ["images-idx3-ubyte", "images-idx3-ubyte.gz"])
def test_file_round_trip_plain_and_gzip(tmp_path, name):
    images = np.arange(3 * 28 * 28, dtype=np.int64).reshape(3, 28, 28).astype(np.uint8)
    path = write_idx(tmp_path / name, images)
    assert path.read_bytes().startswith(b"\x1f\x8b") == name.endswith(".gz")
    result = read_idx(path, expected_ndim=3)
    np.testing.assert_array_equal(result, images)
    assert result.flags.writeable


def test_gzip_is_recognised_by_content_not_name(tmp_path):
    labels = np.array([5, 0, 4], dtype=np.uint8)
    path = write_idx(tmp_path / "labels-without-suffix", labels, compress=True)
    np.testing.assert_array_equal(read_idx(path), labels)


def test_idx_sha256_is_the_hash_of_the_uncompressed_file():
    array = np.arange(-6, 6, dtype=np.int16).reshape(3, 4)
    assert idx_sha256(array) == hashlib.sha256(encode_idx(array)).hexdigest()


def test_wrong_magic_number_names_file(tmp_path):
    path = tmp_path / "train-images-idx3-ubyte"
    path.write_bytes(b"PK\x03\x04" + bytes(100))
    with pytest.raises(DatasetError, match=r"train-images-idx3-ubyte: bad magic number 0x504B0304"):
        read_idx(path)


def test_unknown_type_code_is_a_bad_magic_number():
    with pytest.raises(DatasetError, match="bad magic number 0x00000703"):
        decode_idx(bytes.fromhex("00000703") + bytes(12))


def test_labels_file_where_images_expected(tmp_path):
    path = write_idx(tmp_path / "train-images-idx3-ubyte", np.zeros(4, dtype=np.uint8))
    with pytest.raises(DatasetError, match=r"1 dimension\(s\), expected 3 .*0x00000803.*swapped"):
        read_idx(path, expected_ndim=3)


def test_truncated_file(tmp_path):
    path = tmp_path / "t10k-images-idx3-ubyte"
    path.write_bytes(encode_idx(np.zeros((2, 28, 28), dtype=np.uint8))[:-10])
    with pytest.raises(DatasetError, match=r"t10k-images-idx3-ubyte: file is truncated.*1584"):
        read_idx(path)


def test_truncated_header():
    with pytest.raises(DatasetError, match="truncated header"):
        decode_idx(bytes.fromhex("00000803") + bytes(5), source="x")


def test_extra_bytes_after_data():
    with pytest.raises(DatasetError, match="extra bytes"):
        decode_idx(encode_idx(np.zeros(3, dtype=np.uint8)) + b"\0")


def test_too_short():
    with pytest.raises(DatasetError, match="too short"):
        decode_idx(b"\0\0", source="tiny")


def test_truncated_gzip_names_file(tmp_path):
    path = tmp_path / "train-labels-idx1-ubyte.gz"
    path.write_bytes(gzip.compress(encode_idx(np.arange(200, dtype=np.uint8)))[:-20])
    with pytest.raises(
        DatasetError, match=r"train-labels-idx1-ubyte.gz: corrupt or truncated gzip"
    ):
        read_idx(path)


def test_missing_file(tmp_path):
    with pytest.raises(DatasetNotFoundError, match="no such file"):
        read_idx(tmp_path / "absent")


def test_unsupported_dtype_says_what_is_supported():
    with pytest.raises(DatasetError, match="IDX cannot store dtype int64.*uint8"):
        encode_idx(np.zeros(2, dtype=np.int64))
