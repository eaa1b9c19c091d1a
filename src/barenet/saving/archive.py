"""The file format of models and checkpoints: one ``.npz`` holding the arrays and a
versioned JSON description.

Nothing is ever unpickled and no code is taken from the file: the description names layer
types from a fixed list. Files are written atomically, to a temporary file in the same folder
that is then renamed over the target, so a crash never leaves a half-written model behind.

Reading trusts nothing in the file. Every zip entry is checked before a byte of it is
inflated (not encrypted, stored or deflate only, sizes that fit the file); every ``.npy``
header is parsed with a bounded size, and the array it declares must fill its entry exactly
and stay under :data:`MAX_ARRAY_BYTES` before any memory is allocated for it; the JSON
description is checked for depth before it is parsed. Every problem is a
:class:`~barenet.errors.ModelFileError` naming the file and the entry.
"""

from __future__ import annotations

import io
import json
import lzma
import math
import re
import struct
import tokenize
import zipfile
import zlib
from pathlib import Path

import numpy as np

from ..errors import BarenetError, ModelFileError
from .atomic import write_atomic

FORMAT = "barenet-model"
FORMAT_VERSION = 3
"""2: per-sample ``input_shape`` in the description; 3: blocks (``Residual``) list their own
layers, and sequence layers (Embedding, LSTM, attention, ...). Older versions are still read."""
DESCRIPTION_KEY = "__barenet__"

MAX_ARRAY_BYTES = 2 * 2**30
"""The most bytes all the arrays of one file may declare together."""
MAX_DESCRIPTION_CHARACTERS = 2**24
MAX_JSON_DEPTH = 64
MAX_HEADER_BYTES = 10_000
MAX_DEFLATE_RATIO = 1100
"""Deflate cannot compress better than about 1032 : 1; an entry claiming more is a lie."""
MAX_ENTRIES = 100_000
ARRAY_KINDS = "biuf"
"""Array dtypes a file may hold (plus one unicode string, the description)."""
COMPRESSION_NAMES = {zipfile.ZIP_STORED: "stored", zipfile.ZIP_DEFLATED: "deflate",
                     zipfile.ZIP_BZIP2: "bzip2", zipfile.ZIP_LZMA: "LZMA"}
READ_CHUNK_BYTES = 2**20
# What the zip, zlib, lzma and npy-header code raise on damaged input; all become ModelFileError.
DAMAGE = (zipfile.BadZipFile, zlib.error, lzma.LZMAError, EOFError, OSError, ValueError, KeyError,
          NotImplementedError, RuntimeError, struct.error, OverflowError, SyntaxError, TypeError,
          tokenize.TokenError, RecursionError, MemoryError, IndexError, UnicodeError)


def write_npz_atomic(path: str | Path, arrays: dict[str, np.ndarray], description: dict) -> Path:
    """Write ``arrays`` plus ``description`` (JSON) to ``path`` (``.npz`` appended if missing).

    Refuses (ModelFileError) an array of floats holding NaN or infinity: such a file would
    be refused when read, so it is never written."""
    path = Path(path)
    if path.suffix != ".npz":
        path = path.with_name(path.name + ".npz")
    for name, array in arrays.items():
        if array.dtype.kind == "f" and not np.isfinite(array).all():
            raise ModelFileError(
                f"refusing to write {path}: array {name!r} holds NaN or infinite values "
                "(the weights diverged); the previous version of the file is unchanged"
            )
    buffer = io.BytesIO()
    np.savez(buffer, **arrays, **{DESCRIPTION_KEY: np.array(json.dumps(description))})
    return write_atomic(path, buffer.getvalue())


def read_npz(path: str | Path, expected_format: str = FORMAT) -> tuple[dict, dict[str, np.ndarray]]:
    """Read a file written by :func:`write_npz_atomic`; returns (description, arrays)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no model file at {path}")
    try:
        file_size = path.stat().st_size
        with zipfile.ZipFile(path) as archive:
            arrays = _read_entries(archive, path, file_size)
    except BarenetError:
        raise
    except DAMAGE as error:
        raise ModelFileError(
            f"{path} is not a barenet file: a barenet file is an .npz (zip) archive, and this is not "
            f"a readable one (truncated, corrupt, or another kind of file? {_reason(error)})"
        ) from None
    if DESCRIPTION_KEY not in arrays:
        raise ModelFileError(f"{path} is an .npz file but not a barenet file (no description)")
    description = parse_description(arrays.pop(DESCRIPTION_KEY), path)
    found = description.get("format")
    if found != expected_format:
        raise ModelFileError(f"{path} is a {found!r} file, expected {expected_format!r}")
    version = description.get("version")
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise ModelFileError(f"{path}: format version {version!r} is not valid")
    if version > FORMAT_VERSION:
        raise ModelFileError(
            f"{path} was written by a newer barenet (format version {version}; this barenet "
            f"reads up to {FORMAT_VERSION}). Upgrade barenet to load it"
        )
    return description, arrays


def _reason(error: BaseException) -> str:
    text = str(error)[:200]
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


# ---- the zip entries ------------------------------------------------------------------------


def _read_entries(archive: zipfile.ZipFile, path: Path, file_size: int) -> dict[str, np.ndarray]:
    entries = archive.infolist()
    if len(entries) > MAX_ENTRIES:
        raise ModelFileError(f"{path}: {len(entries)} entries; a barenet file has far fewer")
    names = [entry.filename for entry in entries]
    if len(set(names)) != len(names):
        raise ModelFileError(f"{path}: an entry name appears twice; the file is damaged or was edited")
    for entry in entries:
        _check_entry(entry, path, file_size)
    declared = sum(entry.file_size for entry in entries)
    if declared > MAX_ARRAY_BYTES:
        raise ModelFileError(
            f"{path}: the entries declare {declared:,} bytes, more than the {MAX_ARRAY_BYTES:,} "
            "a barenet file may hold"
        )
    arrays = {}
    for entry in entries:
        try:
            arrays[entry.filename[: -len(".npy")]] = _read_entry(archive, entry, path)
        except BarenetError:
            raise
        except DAMAGE as error:
            raise ModelFileError(
                f"{path} is not a readable barenet file (entry {entry.filename!r} is corrupt: "
                f"{_reason(error)}); the file is damaged, copy or save it again"
            ) from None
    return arrays


def _check_entry(entry: zipfile.ZipInfo, path: Path, file_size: int) -> None:
    """Refuse an entry zipfile would choke on or that claims more than the file holds."""
    where = f"{path}: entry {entry.filename!r}"
    if not entry.filename.endswith(".npy"):
        raise ModelFileError(f"{where} is not an .npy array; a barenet file holds only .npy entries")
    if entry.flag_bits & 0x1:
        raise ModelFileError(f"{where} is encrypted; barenet files are never encrypted")
    if entry.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        method = COMPRESSION_NAMES.get(entry.compress_type, f"unknown method {entry.compress_type}")
        raise ModelFileError(
            f"{where} uses compression {method}; barenet (and numpy.savez) write stored or deflate "
            "entries only, so the file was damaged or made by another program"
        )
    if entry.compress_size > file_size or entry.header_offset > file_size:
        raise ModelFileError(f"{where} claims more bytes than the file has ({file_size}); it is truncated")
    if entry.compress_type == zipfile.ZIP_STORED and entry.compress_size != entry.file_size:
        raise ModelFileError(f"{where}: stored entry of {entry.compress_size} bytes claims {entry.file_size}")
    if entry.file_size > entry.compress_size * MAX_DEFLATE_RATIO + 1024:
        raise ModelFileError(
            f"{where} claims to inflate {entry.compress_size:,} bytes to {entry.file_size:,}, more than "
            "deflate can; the file is damaged or a decompression bomb"
        )


def _read_entry(archive: zipfile.ZipFile, entry: zipfile.ZipInfo, path: Path) -> np.ndarray:
    """One ``.npy`` entry: the header first, checked against the entry's size, then the data."""
    where = f"{path} is not a readable barenet file: entry {entry.filename!r}"
    with archive.open(entry) as stream:
        shape, fortran_order, dtype = _read_npy_header(stream, where)
        header_length = stream.tell()
        count = math.prod(shape)
        data_bytes = count * dtype.itemsize
        if header_length + data_bytes != entry.file_size:
            raise ModelFileError(
                f"{where} declares an array of shape {shape} ({dtype}, {data_bytes:,} bytes) but holds "
                f"{max(entry.file_size - header_length, 0):,} bytes of data; the file is damaged"
            )
        # A stored entry's bytes are in the file (checked above); a deflated one's buffer grows as
        # the data inflates, so memory follows what the file really holds, never what it claims.
        stored = entry.compress_type == zipfile.ZIP_STORED
        buffer = bytearray(data_bytes) if stored else bytearray()
        view, filled = memoryview(buffer) if stored else None, 0
        while filled < data_bytes:
            chunk = stream.read(min(READ_CHUNK_BYTES, data_bytes - filled))
            if not chunk:
                raise ModelFileError(f"{where} ends after {filled} of {data_bytes} bytes; it is truncated")
            if stored:
                view[filled : filled + len(chunk)] = chunk
            else:
                buffer += chunk
            filled += len(chunk)
        del view  # a bytearray with a live memoryview cannot be handed on
        if stream.read(1):  # also makes zipfile check the CRC
            raise ModelFileError(f"{where} holds more data than its header declares")
    array = np.frombuffer(buffer, dtype=dtype, count=count)  # writable: it shares the bytearray
    if fortran_order:
        return array.reshape(shape[::-1]).transpose()
    return array.reshape(shape)


def _read_npy_header(stream, where: str) -> tuple[tuple[int, ...], bool, np.dtype]:
    """The shape, order and dtype an ``.npy`` header declares, parsed with a size limit."""
    version = np.lib.format.read_magic(stream)
    if version == (1, 0):
        shape, fortran_order, dtype = np.lib.format.read_array_header_1_0(stream, MAX_HEADER_BYTES)
    elif version == (2, 0):
        shape, fortran_order, dtype = np.lib.format.read_array_header_2_0(stream, MAX_HEADER_BYTES)
    else:
        raise ModelFileError(f"{where}: .npy format version {version} is not one numpy.savez writes")
    if not isinstance(shape, tuple) or not all(isinstance(n, int) and n >= 0 for n in shape):
        raise ModelFileError(f"{where}: the .npy header declares an invalid shape {shape!r}")
    if len(shape) > 32 or not isinstance(fortran_order, bool):
        raise ModelFileError(f"{where}: the .npy header is malformed")
    if dtype.hasobject or dtype.fields is not None or dtype.subdtype is not None or dtype.itemsize == 0:
        raise ModelFileError(f"{where} holds {dtype} values; barenet files hold plain numbers, never objects")
    if dtype.kind not in ARRAY_KINDS + "U":
        raise ModelFileError(f"{where} holds {dtype} values; barenet files hold plain numbers only")
    return shape, fortran_order, dtype


# ---- the JSON description ---------------------------------------------------------------------

_JSON_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)


def parse_description(array: np.ndarray, path: Path) -> dict:
    """The JSON object held in the description entry, its depth checked before parsing."""
    if array.dtype.kind != "U" or array.shape != ():
        raise ModelFileError(f"{path}: the description entry is not one JSON string")
    text = str(array)
    if len(text) > MAX_DESCRIPTION_CHARACTERS:
        raise ModelFileError(f"{path}: the description has {len(text):,} characters; too long")
    depth = json_depth(text)
    if depth > MAX_JSON_DEPTH:
        raise ModelFileError(
            f"{path}: the description is nested {depth} levels deep (at most {MAX_JSON_DEPTH}); "
            "the file is damaged or was edited"
        )
    try:
        description = json.loads(text)
    except (ValueError, RecursionError) as error:  # JSONDecodeError, or an integer too long to read
        raise ModelFileError(f"{path}: the description is not valid JSON: {_reason(error)}") from None
    if not isinstance(description, dict):
        raise ModelFileError(f"{path}: the description is a JSON {type(description).__name__}, not an object")
    return description


def json_depth(text: str) -> int:
    """How deeply the arrays and objects of JSON ``text`` nest (strings do not count)."""
    brackets = np.frombuffer(_JSON_STRING.sub("", text).encode("utf-8", "replace"), dtype=np.uint8)
    steps = np.isin(brackets, (ord("["), ord("{"))).astype(np.int64)
    steps -= np.isin(brackets, (ord("]"), ord("}")))
    return int(np.cumsum(steps).max(initial=0))

