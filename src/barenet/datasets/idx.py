"""Read and write the IDX format that MNIST and Fashion-MNIST are distributed in.

An IDX file is a 4-byte magic number, one big-endian uint32 per dimension, then the values in
row-major (C) order, big-endian. The magic number is two zero bytes, a type code, and the
number of dimensions: MNIST images are 0x00000803 (unsigned bytes, 3 dimensions) and labels
0x00000801 (unsigned bytes, 1 dimension). Files may be gzip-compressed (see `files.py`).
"""

import gzip
import hashlib
import io
import math
import struct
from collections.abc import Callable
from pathlib import Path

import numpy as np

from barenet.datasets.errors import DatasetError
from barenet.datasets.files import open_data

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


MAX_IDX_BYTES = 2**31
"""The most value bytes an IDX header may declare (2 GiB; all of MNIST is 55 MB)."""


def read_idx_header(
    read: Callable[[int], bytes], source: str, expected_ndim: int | None = None
) -> tuple[tuple[int, ...], np.dtype, int]:
    """Read and check an IDX header through ``read(n)``: the shape, the stored dtype and the
    header's length. Sizes are Python integers, so no product overflows."""
    magic_bytes = read(4)
    if len(magic_bytes) < 4:
        raise DatasetError(f"{source}: only {len(magic_bytes)} bytes, too short to be an IDX file.")
    zero_bytes, type_code, ndim = magic_bytes[:2], magic_bytes[2], magic_bytes[3]
    magic = int.from_bytes(magic_bytes, "big")
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
    dimensions = read(4 * ndim)
    if len(dimensions) < 4 * ndim:
        raise DatasetError(
            f"{source}: truncated header: {ndim} dimensions need {header_length} bytes of header, "
            f"the file has {4 + len(dimensions)} bytes."
        )
    shape = struct.unpack(f">{ndim}I", dimensions)
    return shape, IDX_TYPE_CODES[type_code], header_length


def _length_problem(source: str, shape: tuple, dtype: np.dtype, expected: int, found: int) -> DatasetError:
    problem = "is truncated" if found < expected else "has extra bytes"
    return DatasetError(
        f"{source}: file {problem}: shape {shape} of {dtype.newbyteorder('=')} needs "
        f"{expected} bytes, the file has {found}. Download or copy it again."
    )


def decode_idx(
    data: bytes, source: str = "IDX data", expected_ndim: int | None = None
) -> np.ndarray:
    """Parse the bytes of an (uncompressed) IDX file into a native-endian array.

    `source` names the file in error messages. `expected_ndim`, when given, is checked against
    the magic number (3 for images `(n_samples, height, width)`, 1 for labels `(n_samples,)`).
    Raises `DatasetError` if the magic number, the dimensions or the length are wrong.
    """
    shape, dtype, header_length = read_idx_header(io.BytesIO(data).read, source, expected_ndim)
    expected_length = header_length + math.prod(shape) * dtype.itemsize
    if len(data) != expected_length:
        raise _length_problem(source, shape, dtype, expected_length, len(data))
    values = np.frombuffer(data, dtype=dtype, offset=header_length).reshape(shape)
    return values.astype(dtype.newbyteorder("="))  # a writable, native-endian copy


def read_idx(path: str | Path, expected_ndim: int | None = None) -> np.ndarray:
    """Read an IDX file, gzip-compressed or not, into a native-endian NumPy array.

    The array has the shape stored in the file, e.g. `(n_samples, 28, 28)` uint8 for MNIST
    images. See `decode_idx` for `expected_ndim` and the checks made. The header is read and
    checked first; the size it declares is checked against what the file can hold before any
    memory is allocated, and gzip data is inflated only as far as the header declares.
    """
    source = str(path)
    with open_data(path) as stream:
        shape, dtype, header_length = read_idx_header(stream.read, source, expected_ndim)
        data_bytes = math.prod(shape) * dtype.itemsize
        if not stream.compressed and header_length + data_bytes != stream.file_size:
            raise _length_problem(source, shape, dtype, header_length + data_bytes, stream.file_size)
        if data_bytes > min(stream.most_bytes(), MAX_IDX_BYTES):
            raise DatasetError(
                f"{source}: the header declares shape {shape} ({data_bytes:,} bytes of values), more "
                f"than a gzip file of {stream.file_size:,} bytes can hold; the header is damaged. "
                "Download or copy the file again."
            )
        if stream.compressed:  # grown as the data inflates: memory follows what the file really holds
            buffer = stream.read_growing(data_bytes)
        else:  # the file's size was checked: it holds all of it
            buffer = bytearray(data_bytes)
            stream.read_into(memoryview(buffer))
        extra = len(stream.read(1))
    if len(buffer) + extra != data_bytes:
        found = header_length + len(buffer) + extra  # "+ extra": at least one byte more than needed
        raise _length_problem(source, shape, dtype, header_length + data_bytes, found)
    values = np.frombuffer(buffer, dtype=dtype).reshape(shape)  # writable: it shares the bytearray
    return values.astype(dtype.newbyteorder("="), copy=False)


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
