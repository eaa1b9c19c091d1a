"""Read data files, decompressing them if they are gzip data, with bounded memory.

gzip is recognised by the file's first two bytes, not its name, so a compressed file saved
without `.gz` (or the reverse) still reads. Decompression is incremental: a reader asks for
the bytes it needs (an IDX reader first the header, then exactly the bytes the header
declares), so a small file that inflates to gigabytes (a "gzip bomb") is refused after a
few kilobytes instead of being inflated whole.
"""

import contextlib
import gzip
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from barenet.datasets.errors import DatasetError, DatasetNotFoundError

GZIP_SIGNATURE = b"\x1f\x8b"
MAX_DEFLATE_RATIO = 1100
"""Deflate cannot compress better than about 1032 : 1; a header claiming more is damaged."""
MAX_INFLATED_BYTES = 2**31
"""The most bytes :func:`read_bytes` inflates from one gzip file unless told otherwise."""
READ_CHUNK_BYTES = 2**20
# What reading a damaged gzip stream raises (gzip.BadGzipFile is an OSError).
GZIP_DAMAGE = (EOFError, OSError, zlib.error)


class DataStream:
    """A data file opened for reading: ``read(n)`` gives the (decompressed) bytes in order.

    ``compressed`` says whether the file is gzip data; ``file_size`` is its size on disk."""

    def __init__(self, path: Path, raw: BinaryIO, compressed: bool, file_size: int) -> None:
        self.path, self.compressed, self.file_size = path, compressed, file_size
        self._stream: BinaryIO = gzip.GzipFile(fileobj=raw, mode="rb") if compressed else raw

    def read(self, size: int) -> bytes:
        """Up to ``size`` bytes (fewer only at the end of the data)."""
        try:
            return self._stream.read(size)
        except GZIP_DAMAGE as error:
            raise corrupt_gzip(self.path, error) from None

    def read_into(self, buffer: memoryview) -> int:
        """Fill ``buffer`` from the stream in chunks; returns how many bytes it got."""
        filled = 0
        while filled < len(buffer):
            chunk = self.read(min(READ_CHUNK_BYTES, len(buffer) - filled))
            if not chunk:
                break
            buffer[filled : filled + len(chunk)] = chunk
            filled += len(chunk)
        return filled

    def read_growing(self, size: int) -> bytearray:
        """Up to ``size`` bytes in a bytearray that grows chunk by chunk as they arrive."""
        buffer = bytearray()
        while len(buffer) < size:
            chunk = self.read(min(READ_CHUNK_BYTES, size - len(buffer)))
            if not chunk:
                break
            buffer += chunk
        return buffer

    def most_bytes(self) -> int:
        """The most decompressed bytes this file can really hold."""
        return self.file_size * MAX_DEFLATE_RATIO + 1024 if self.compressed else self.file_size


def corrupt_gzip(path: Path, error: BaseException) -> DatasetError:
    return DatasetError(
        f"{path}: corrupt or truncated gzip data ({error}). Download or copy the file again."
    )


@contextlib.contextmanager
def open_data(path: str | Path) -> Iterator[DataStream]:
    """Open ``path`` for incremental reading, through gzip if its first bytes say so."""
    path = Path(path)
    if not path.is_file():
        raise DatasetNotFoundError(f"{path}: no such file.")
    with path.open("rb") as raw:
        compressed = raw.read(2) == GZIP_SIGNATURE
        raw.seek(0)
        yield DataStream(path, raw, compressed, path.stat().st_size)


def read_bytes(path: str | Path, max_bytes: int = MAX_INFLATED_BYTES) -> bytes:
    """The contents of ``path``, decompressed if they are gzip data.

    Refuses (DatasetError) a file that holds, or inflates to, more than ``max_bytes``: the
    bytes are inflated in chunks and counted, never all at once."""
    with open_data(path) as stream:
        if not stream.compressed and stream.file_size > max_bytes:
            raise DatasetError(f"{path}: {stream.file_size:,} bytes, more than the {max_bytes:,} allowed.")
        chunks, total = [], 0
        while chunk := stream.read(READ_CHUNK_BYTES):
            total += len(chunk)
            if total > max_bytes:
                raise DatasetError(
                    f"{path}: the gzip data inflates to more than {max_bytes:,} bytes; "
                    "is it really a data file (or a decompression bomb)?"
                )
            chunks.append(chunk)
        return b"".join(chunks)
