"""Read and write the IDX format that MNIST and Fashion-MNIST are distributed in.

An IDX file is a 4-byte magic number, one big-endian uint32 per dimension, then the values in
row-major (C) order, big-endian. The magic number is two zero bytes, a type code, and the
number of dimensions: MNIST images are 0x00000803 (unsigned bytes, 3 dimensions) and labels
0x00000801 (unsigned bytes, 1 dimension). Files may be gzip-compressed (see `files.py`).
"""

import gzip
import hashlib
import struct
from pathlib import Path

import numpy as np

from barenet.datasets.errors import DatasetError
from barenet.datasets.files import read_bytes

IDX_TYPE_CODES: dict[int, np.dtype] = {
    0x08: np.dtype(np.uint8),
    0x09: np.dtype(np.int8),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}


def _type_code(dtype: np.dtype) -> int:
    for code, idx_dtype in IDX_TYPE_CODES.items():
        if idx_dtype.newbyteorder("=") == dtype.newbyteorder("="):
            return code
    supported = ", ".join(str(d.newbyteorder("=")) for d in IDX_TYPE_CODES.values())
    raise DatasetError(f"IDX cannot store dtype {dtype}; convert the array to one of: {supported}")


def idx_header(array: np.ndarray) -> bytes:
    """The IDX header (magic number and dimensions) for `array`."""
    return struct.pack(f">4B{array.ndim}I", 0, 0, _type_code(array.dtype), array.ndim, *array.shape)


def _big_endian_values(array: np.ndarray) -> np.ndarray:
    """`array`'s values as stored in an IDX file: big-endian and C-contiguous."""
    big_endian = array.astype(IDX_TYPE_CODES[_type_code(array.dtype)], copy=False)
    return np.ascontiguousarray(big_endian)


def encode_idx(array: np.ndarray) -> bytes:
    """Encode `array` (any shape, a dtype IDX supports) as the bytes of an IDX file."""
    return idx_header(array) + _big_endian_values(array).tobytes()


def idx_sha256(array: np.ndarray) -> str:
    """SHA-256 of the uncompressed IDX file that holds `array`, without building that file.

    Equal to the hash of the decompressed file the array was read from, so a published hash
    checks a data set however it was stored (gzip, plain IDX, or `.npz`).
    """
    digest = hashlib.sha256(idx_header(array))
    digest.update(_big_endian_values(array).data)
    return digest.hexdigest()


def decode_idx(
    data: bytes, source: str = "IDX data", expected_ndim: int | None = None
) -> np.ndarray:
    """Parse the bytes of an (uncompressed) IDX file into a native-endian array.

    `source` names the file in error messages. `expected_ndim`, when given, is checked against
    the magic number (3 for images `(n_samples, height, width)`, 1 for labels `(n_samples,)`).
    Raises `DatasetError` if the magic number, the dimensions or the length are wrong.
    """
    if len(data) < 4:
        raise DatasetError(f"{source}: only {len(data)} bytes, too short to be an IDX file.")
    zero_bytes, type_code, ndim = data[:2], data[2], data[3]
    magic = int.from_bytes(data[:4], "big")
    if zero_bytes != b"\0\0" or type_code not in IDX_TYPE_CODES or ndim == 0:
        raise DatasetError(
            f"{source}: bad magic number 0x{magic:08X}. An IDX file starts with two zero bytes, "
            "a type code (0x08 for unsigned bytes) and the number of dimensions, e.g. 0x00000803 "
            "for MNIST images. Is this really an IDX file?"
        )
    if expected_ndim is not None and ndim != expected_ndim:
        raise DatasetError(
            f"{source}: magic number 0x{magic:08X} says {ndim} dimension(s), expected "
            f"{expected_ndim} (magic 0x{(magic & ~0xFF) | expected_ndim:08X}). "
            "Are the image and label files swapped?"
        )
    header_length = 4 + 4 * ndim
    if len(data) < header_length:
        raise DatasetError(
            f"{source}: truncated header: {ndim} dimensions need {header_length} bytes of header, "
            f"the file has {len(data)} bytes."
        )
    shape = struct.unpack(f">{ndim}I", data[4:header_length])
    dtype = IDX_TYPE_CODES[type_code]
    expected_length = header_length + int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if len(data) != expected_length:
        problem = "is truncated" if len(data) < expected_length else "has extra bytes"
        raise DatasetError(
            f"{source}: file {problem}: shape {shape} of {dtype.newbyteorder('=')} needs "
            f"{expected_length} bytes, the file has {len(data)}. Download or copy it again."
        )
    values = np.frombuffer(data, dtype=dtype, offset=header_length).reshape(shape)
    return values.astype(dtype.newbyteorder("="))  # a writable, native-endian copy


def read_idx(path: str | Path, expected_ndim: int | None = None) -> np.ndarray:
    """Read an IDX file, gzip-compressed or not, into a native-endian NumPy array.

    The array has the shape stored in the file, e.g. `(n_samples, 28, 28)` uint8 for MNIST
    images. See `decode_idx` for `expected_ndim` and the checks made.
    """
    return decode_idx(read_bytes(path), source=str(path), expected_ndim=expected_ndim)


def write_idx(path: str | Path, array: np.ndarray, compress: bool | None = None) -> Path:
    """Write `array` as an IDX file; gzip-compress it if `compress`, or by default if the name
    ends in `.gz`. Returns the path written."""
    path = Path(path)
    if compress is None:
        compress = path.suffix == ".gz"
    data = encode_idx(np.asarray(array))
    if compress:
        data = gzip.compress(data, mtime=0)  # mtime=0: the same array gives the same file
    path.write_bytes(data)
    return path
