"""The errors raised by `barenet.datasets`.

Every problem with a data file or an array handed to a dataset helper raises a `DatasetError`
(a `ValueError`), whose message says what was expected, what was found, and how to fix it.
"""


class DatasetError(ValueError):
    """A data file or array is not what barenet expected."""


class DatasetNotFoundError(DatasetError, FileNotFoundError):
    """The data files were not found where barenet looked for them."""


class ChecksumError(DatasetError):
    """A file's contents do not match the published checksum."""


class DownloadError(DatasetError):
    """A file could not be downloaded from any of its mirrors."""
