"""Reading NumPy ``.npz`` archives safely: every array's header is checked before any
memory is allocated for it.

Before an array is read, its ``.npy`` header must declare a real-number dtype (bool, int,
unsigned or float; text too for labels), no pickled objects, and a shape whose size matches
the bytes the archive really holds for it, up to :data:`MAX_ARRAY_BYTES`. Every problem
with the zip container or the ``.npy`` data is a :class:`DatasetError`.
"""

from __future__ import annotations

import lzma
import struct
import tokenize
import zipfile
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from barenet.datasets.errors import DatasetError, DatasetNotFoundError

MAX_ARRAY_BYTES = 8 * 2**30  # 8 GiB: bigger arrays are refused rather than allocated
UNREADABLE = (
    zipfile.BadZipFile,
    zipfile.LargeZipFile,
    ValueError,
    OSError,
    EOFError,
    zlib.error,
    lzma.LZMAError,
    KeyError,
    NotImplementedError,
    RuntimeError,
    struct.error,
    UnicodeDecodeError,
    SyntaxError,
    OverflowError,
    IndexError,
    tokenize.TokenError,
)  # what zipfile and numpy raise on damaged archives (RuntimeError: an encrypted member;
# tokenize.TokenError: a .npy header with an unclosed bracket)
NUMBER_KINDS = "biuf"
TEXT_KINDS = "U"


@dataclass
class ArrayHeader:
    shape: tuple[int, ...]
    dtype: np.dtype


def read_header(archive: zipfile.ZipFile, info: zipfile.ZipInfo, source: str) -> ArrayHeader:
    """The shape and dtype an archive member declares, checked against its size."""
    if info.file_size > MAX_ARRAY_BYTES:
        raise DatasetError(
            f"{source}: {info.filename} is {info.file_size:,} bytes, more than barenet "
            f"reads ({MAX_ARRAY_BYTES:,})."
        )
    with archive.open(info) as member:
        version = np.lib.format.read_magic(member)
        if version == (1, 0):
            shape, _, dtype = np.lib.format.read_array_header_1_0(member)
        elif version == (2, 0):
            shape, _, dtype = np.lib.format.read_array_header_2_0(member)
        else:
            raise DatasetError(
                f"{source}: {info.filename} is .npy format {version}; barenet reads 1.0 and 2.0."
            )
        header_size = member.tell()
    if dtype.hasobject or dtype.kind not in NUMBER_KINDS + TEXT_KINDS or dtype.fields is not None:
        raise DatasetError(
            f"{source}: cannot read the .npz archive: {info.filename} holds {dtype} values; barenet reads "
            "arrays of numbers (bool, int, float) and text labels only, never pickled objects."
        )
    expected = header_size + int(np.prod(shape, dtype=object)) * dtype.itemsize
    if expected != info.file_size:
        raise DatasetError(
            f"{source}: {info.filename} declares shape {shape} of {dtype} ({expected:,} bytes with its "
            f"header) but holds {info.file_size:,} bytes; the file is damaged."
        )
    return ArrayHeader(tuple(shape), dtype)


def load_npz(path: str | Path, keys: Sequence[str] | None = None) -> dict[str, np.ndarray]:
    """Load the arrays of a NumPy ``.npz`` archive into a dict (no pickled objects allowed).

    With ``keys``, check that those arrays are present and return just them, in that order; for
    a Keras-style ``mnist.npz``, ``keys=("x_train", "y_train", "x_test", "y_test")``.
    """
    path = Path(path)
    source = str(path)
    if not path.is_file():
        raise DatasetNotFoundError(f"{path}: no such .npz file.")
    if not zipfile.is_zipfile(path):
        with path.open("rb") as file:
            npy = file.read(6) == b"\x93NUMPY"
        what = (
            "holds a single .npy array, not a .npz archive of named arrays" if npy else "is not a zip archive"
        )
        raise DatasetError(f"{path}: not a readable .npz archive: it {what}.")
    try:
        with zipfile.ZipFile(path) as archive:
            members = {
                info.filename[:-4]: info for info in archive.infolist() if info.filename.endswith(".npy")
            }
            wanted = list(members) if keys is None else list(keys)
            missing = [key for key in wanted if key not in members]
            if missing:
                raise DatasetError(
                    f"{path}: missing array(s) {', '.join(missing)}; the archive has "
                    f"{', '.join(members) or 'no arrays'}."
                )
            for key in wanted:
                read_header(archive, members[key], source)
        with np.load(path, allow_pickle=False) as loaded:
            return {key: loaded[key] for key in wanted}
    except DatasetError:
        raise
    except UNREADABLE as error:
        raise DatasetError(
            f"{path}: not a readable .npz archive ({type(error).__name__}: {error})."
        ) from None


# ---- the arrays of a data set -------------------------------------------------------------------


def pick_arrays(arrays: dict[str, np.ndarray], source: str) -> tuple[np.ndarray, ...]:
    """``(x, y, x_test, y_test)`` from an archive (the test pair may be None), checked: shapes,
    lengths, widths, dtypes and finite features."""
    for x_key, y_key in (("x_train", "y_train"), ("x", "y")):
        if x_key in arrays and y_key in arrays:
            break
    else:
        raise DatasetError(
            f"{source} holds the arrays {', '.join(arrays) or 'none'}; barenet needs x_train and y_train "
            "(and optionally x_test and y_test), or x and y"
        )
    x_test_key, y_test_key = "x_test", "y_test"
    if (x_test_key in arrays) != (y_test_key in arrays):
        present, absent = (x_test_key, y_test_key) if x_test_key in arrays else (y_test_key, x_test_key)
        raise DatasetError(f"{source} has {present} but no {absent}; give both or neither.")
    x, y = check_pair(arrays, x_key, y_key, source)
    if x_test_key not in arrays:
        return x, y, None, None
    x_test, y_test = check_pair(arrays, x_test_key, y_test_key, source)
    if x_test.shape[1:] != x.shape[1:]:
        raise DatasetError(
            f"{source}: {x_test_key} has samples of shape {x_test.shape[1:]} but {x_key} {x.shape[1:]}; "
            "they must match."
        )
    if (y_test.ndim > 1 or y.ndim > 1) and y_test.shape[1:] != y.shape[1:]:
        raise DatasetError(
            f"{source}: {y_test_key} has shape {y_test.shape}, {y_key} {y.shape}; they must match."
        )
    return x, y, x_test, y_test


def check_pair(
    arrays: dict[str, np.ndarray], x_key: str, y_key: str, source: str
) -> tuple[np.ndarray, np.ndarray]:
    x, y = arrays[x_key], arrays[y_key]
    if x.ndim < 2:
        raise DatasetError(
            f"{source}: {x_key} has shape {x.shape}; it must be (n_samples, n_features) or images "
            f"(n_samples, height, width). One feature per sample? Save {x_key}[:, None]."
        )
    if x.dtype.kind not in NUMBER_KINDS:
        raise DatasetError(f"{source}: {x_key} holds {x.dtype} values; features must be numbers.")
    if y.ndim == 0 or y.ndim > 2:
        raise DatasetError(
            f"{source}: {y_key} has shape {y.shape}; it must be (n_samples,) labels or "
            "(n_samples, n_targets) regression targets."
        )
    if len(x) != len(y):
        raise DatasetError(f"{source}: {x_key} has {len(x)} samples but {y_key} {len(y)}; they must match.")
    if len(x) == 0 or x[0].size == 0:
        raise DatasetError(f"{source}: {x_key} has shape {x.shape}: no samples or no features.")
    if x.dtype.kind == "f":
        bad = ~np.isfinite(x)
        if bad.any():
            where = tuple(int(i) for i in np.argwhere(bad)[0])
            raise DatasetError(
                f"{source}: {x_key}[{', '.join(map(str, where))}] is {x[where]}; {int(bad.sum())} feature "
                "value(s) are NaN or infinite. Fill or drop them before training."
            )
        if x.dtype.itemsize > 4 and np.abs(x).max() > np.finfo(np.float32).max:
            raise DatasetError(f"{source}: {x_key} holds values beyond float32's range (3.4e38).")
    return x, y
