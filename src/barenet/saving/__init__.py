"""Files on disk: atomic writes, and the ``.npz`` + JSON container of models and checkpoints.

Nothing here knows what a model is; :mod:`barenet.model` describes itself into this format
and rebuilds itself from it.
"""

from ..errors import ModelFileError
from .archive import DESCRIPTION_KEY, FORMAT, FORMAT_VERSION, read_npz, write_npz_atomic
from .atomic import write_atomic

__all__ = [
    "DESCRIPTION_KEY", "FORMAT", "FORMAT_VERSION", "ModelFileError", "read_npz", "write_atomic",
    "write_npz_atomic",
]
