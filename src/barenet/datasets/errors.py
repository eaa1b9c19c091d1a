"""The errors raised by `barenet.datasets`, from barenet's one error family.

Every problem with a data file or an array handed to a dataset helper raises a `DatasetError`
(a `BarenetError`, so a `ValueError`), whose message says what was expected, what was found,
and how to fix it.
"""

from barenet.errors import ChecksumError, DatasetError, DatasetNotFoundError, DownloadError

__all__ = ["ChecksumError", "DatasetError", "DatasetNotFoundError", "DownloadError"]
