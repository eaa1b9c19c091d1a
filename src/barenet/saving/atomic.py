"""Atomic file writes: a temporary file in the same folder, then one rename over the target.

A reader sees either the old file or the complete new one, never half of it, even if the
process dies mid-write (SQLite's rule). The temporary file is named
``.NAME.<pid>.<random>.tmp``: it is removed on every failure path, and one left behind by a
process that was killed (its pid no longer runs) is removed by the next write of ``NAME``
or by :func:`remove_stale_temporaries`. A full disk or a folder without write permission
raises an ``OSError`` that names the file and says the previous version is unchanged.
"""

from __future__ import annotations

import errno
import os
import tempfile
import time
from pathlib import Path

STALE_SECONDS = 600
"""A temporary file without a pid in its name (an older barenet's) is stale after this long."""

HINTS = {
    errno.ENOSPC: "the disk is full; free some space and run again",
    errno.EDQUOT: "the disk quota is used up; free some space and run again",
    errno.EACCES: "no permission to write there; choose a folder you can write to",
    errno.EPERM: "no permission to write there; choose a folder you can write to",
    errno.EROFS: "the file system is read-only; choose another folder",
}


class WriteError(OSError):
    """A file that could not be written: ``errno`` says why; the message names the file, the
    reason and what to do, without the ``[Errno N]`` prefix."""

    def __str__(self) -> str:
        return self.strerror


def write_atomic(path: str | Path, data: bytes | str) -> Path:
    """Write ``data`` (bytes, or text as UTF-8) to ``path`` atomically; returns the path."""
    path = Path(path)
    folder = path.parent
    if not folder.is_dir():
        raise FileNotFoundError(f"cannot write {path}: folder {folder} does not exist")
    if isinstance(data, str):
        data = data.encode("utf-8")
    remove_stale_temporaries(folder, path.name)
    try:
        descriptor, temporary = tempfile.mkstemp(
            dir=folder, prefix=f".{path.name}.{os.getpid()}.", suffix=".tmp"
        )
    except OSError as error:
        raise write_error(path, error) from None
    try:
        with os.fdopen(descriptor, "wb") as file:
            os.fchmod(file.fileno(), 0o666 & ~_umask())  # as open() would, not mkstemp's 0600
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException as error:
        Path(temporary).unlink(missing_ok=True)
        if isinstance(error, OSError):
            raise write_error(path, error) from None
        raise
    _sync_folder(folder)
    return path


def write_error(path: Path, error: OSError) -> WriteError:
    """``error`` restated: which file could not be written, why, and what to do."""
    reason = error.strerror or str(error)
    hint = HINTS.get(error.errno)
    message = f"cannot write {path}: {reason}" + (f" ({hint})" if hint else "")
    message += "; the previous version of the file, if there was one, is unchanged"
    return WriteError(error.errno, message)


def remove_stale_temporaries(folder: str | Path, name: str | None = None) -> list[Path]:
    """Remove the temporary files that killed writers left in ``folder`` (only those of
    ``name`` if given); a writer that is still running keeps its file. Returns those removed."""
    pattern = f".{_glob_escape(name)}.*.tmp" if name else ".*.tmp"
    removed = []
    for candidate in Path(folder).glob(pattern):
        if candidate.is_file() and _is_stale(candidate):
            try:
                candidate.unlink()
                removed.append(candidate)
            except OSError:  # gone already, or not ours to remove: never a reason to fail a write
                pass
    return removed


def _is_stale(temporary: Path) -> bool:
    """True when the process that wrote ``temporary`` no longer runs."""
    parts = temporary.name[: -len(".tmp")].rsplit(".", 2)
    if len(parts) == 3 and parts[1].isdigit():
        pid = int(parts[1])
        if pid == os.getpid():
            return False  # another thread of this process may be writing it right now
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        except (PermissionError, OverflowError):
            return False
        return False
    try:
        return time.time() - temporary.stat().st_mtime > STALE_SECONDS
    except OSError:
        return False


def _glob_escape(name: str) -> str:
    return "".join(f"[{character}]" if character in "*?[" else character for character in name)


def _sync_folder(folder: Path) -> None:
    """Make the rename itself durable (a crash of the machine keeps the new file)."""
    try:
        descriptor = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(descriptor)
    except OSError:  # some file systems cannot sync a folder; the rename is still atomic
        pass
    finally:
        os.close(descriptor)


def _umask() -> int:
    """The process's file-creation mask (reading it means setting it, so it is set back)."""
    mask = os.umask(0)
    os.umask(mask)
    return mask
