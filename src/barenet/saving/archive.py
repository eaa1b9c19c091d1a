"""The file format of models and checkpoints: one ``.npz`` holding the arrays and a
versioned JSON description.

Nothing is ever unpickled (``allow_pickle=False``) and no code is taken from the file:
the description names layer types from a fixed list. Files are written atomically, to a
temporary file in the same folder that is then renamed over the target, so a crash never
leaves a half-written model behind.
"""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import numpy as np

from ..errors import ModelFileError
from .atomic import write_atomic

FORMAT = "barenet-model"
FORMAT_VERSION = 2
"""2: per-sample ``input_shape`` in the description (version 1 files are still read)."""
DESCRIPTION_KEY = "__barenet__"


def write_npz_atomic(path: str | Path, arrays: dict[str, np.ndarray], description: dict) -> Path:
    """Write ``arrays`` plus ``description`` (JSON) to ``path`` (``.npz`` appended if missing)."""
    path = Path(path)
    if path.suffix != ".npz":
        path = path.with_name(path.name + ".npz")
    buffer = io.BytesIO()
    np.savez(buffer, **arrays, **{DESCRIPTION_KEY: np.array(json.dumps(description))})
    return write_atomic(path, buffer.getvalue())


def read_npz(path: str | Path, expected_format: str = FORMAT) -> tuple[dict, dict[str, np.ndarray]]:
    """Read a file written by :func:`write_npz_atomic`; returns (description, arrays)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no model file at {path}")
    if not zipfile.is_zipfile(path):
        raise ModelFileError(
            f"{path} is not a barenet file: a barenet file is an .npz (zip) archive, "
            "and this is not one (truncated, corrupt, or another kind of file?)"
        )
    try:
        contents = np.load(path, allow_pickle=False)
        if not isinstance(contents, np.lib.npyio.NpzFile):
            raise ValueError("it holds a single array, not an .npz archive")
        with contents:
            arrays = {name: contents[name] for name in contents.files}
    except (zipfile.BadZipFile, ValueError, OSError, EOFError, KeyError) as error:
        raise ModelFileError(
            f"{path} is not a readable barenet file (truncated or corrupt?): {error}"
        ) from None
    if DESCRIPTION_KEY not in arrays:
        raise ModelFileError(f"{path} is an .npz file but not a barenet file (no description)")
    try:
        description = json.loads(str(arrays.pop(DESCRIPTION_KEY)))
    except json.JSONDecodeError as error:
        raise ModelFileError(f"{path}: the description is not valid JSON: {error}") from None
    found = description.get("format") if isinstance(description, dict) else None
    if found != expected_format:
        raise ModelFileError(f"{path} is a {found!r} file, expected {expected_format!r}")
    version = description.get("version")
    if not isinstance(version, int) or version < 1:
        raise ModelFileError(f"{path}: format version {version!r} is not valid")
    if version > FORMAT_VERSION:
        raise ModelFileError(
            f"{path} was written by a newer barenet (format version {version}; this barenet "
            f"reads up to {FORMAT_VERSION}). Upgrade barenet to load it"
        )
    return description, arrays
