"""The errors barenet raises, in one family.

Every problem with what a user handed in — an array, a setting, a file — raises a
:class:`BarenetError` (a ``ValueError``, so ``except ValueError`` keeps working) whose
message says what was expected, what was found, and how to fix it. The subclasses name
where the problem came from.
"""


class BarenetError(ValueError):
    """Bad input to barenet: the message says what was expected and how to fix it."""


class ModelFileError(BarenetError):
    """A file that is not a readable barenet model (or checkpoint)."""


class DatasetError(BarenetError):
    """A data file or array is not what barenet expected."""


class DatasetNotFoundError(DatasetError, FileNotFoundError):
    """The data files were not found where barenet looked for them."""


class ChecksumError(DatasetError):
    """A file's contents do not match the published checksum."""


class DownloadError(DatasetError):
    """A file could not be downloaded from any of its mirrors."""


class ConfigError(BarenetError):
    """A run configuration (command-line options or a TOML file) that cannot be used."""


class ImageReadError(BarenetError):
    """An image file that cannot be read as a digit."""


class RunFolderError(BarenetError):
    """A run folder that cannot be written to or read from."""


class ShapeError(BarenetError):
    """An array or a layer whose shape does not fit where it is used."""


class DivergenceError(BarenetError, ArithmeticError):
    """Training produced a non-finite loss or weight; the model keeps its last finite weights.

    ``history`` is the run's :class:`~barenet.training.History` up to the stop.
    """

    def __init__(self, message: str, history=None) -> None:
        super().__init__(message)
        self.history = history
