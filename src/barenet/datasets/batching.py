"""Iterate over a data set in (shuffled) mini-batches."""

from collections.abc import Iterator

import numpy as np

from barenet.datasets.errors import DatasetError


class BatchGatherer:
    """Gathers chosen rows of `(x, y)` into buffers allocated once and reused for every batch.

    `gatherer(rows)` returns `(x_batch, y_batch)` for the row indices `rows` (at most
    `batch_size` of them): x converted to `dtype`, y as it is stored. No array is allocated
    per batch: the rows are copied with `np.take(..., out=)` into the buffers, and data that is
    not of `dtype` already (e.g. uint8 pixels) is converted into a second buffer.
    The batches are views of the buffers, so each one is valid only until the next call:
    copy it to keep it.
    """

    def __init__(self, x: np.ndarray, y: np.ndarray, batch_size: int, dtype=np.float32) -> None:
        self.x, self.y = x, y
        self.x_rows = np.empty((batch_size, *x.shape[1:]), dtype=x.dtype)
        self.x_converted = None if x.dtype == dtype else np.empty(self.x_rows.shape, dtype=dtype)
        self.y_rows = np.empty((batch_size, *y.shape[1:]), dtype=y.dtype)

    def __call__(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        n = len(rows)
        x_batch, y_batch = gather(self.x, rows, self.x_rows[:n]), gather(self.y, rows, self.y_rows[:n])
        if self.x_converted is not None:
            x_batch = self.x_converted[:n]
            np.copyto(x_batch, self.x_rows[:n], casting="unsafe")  # e.g. uint8 → float32
        return x_batch, y_batch


def gather(array: np.ndarray, rows: np.ndarray, out: np.ndarray) -> np.ndarray:
    """``array[rows]`` written into ``out``. mode="clip" only skips the bounds check (and the
    extra copy that comes with it): callers pass rows in range(len(array)). ``np.take`` copies
    an array that is not contiguous whole first, so such an array (the windows of a text, a
    strided view of it) is indexed instead: only the chosen rows are read."""
    if array.flags.c_contiguous:
        return np.take(array, rows, axis=0, out=out, mode="clip")
    out[...] = array[rows]
    return out


class BatchIterator:
    """Mini-batches of `(x, y)`, reshuffled at the start of every pass (epoch).

    `x` is `(n_samples, ...)` and `y` `(n_samples, ...)`. Each pass yields
    `(x_batch, y_batch)`: x as float32, y as float32 if it holds floats (regression or one-hot
    targets) and unchanged if it holds class ids. A batch is gathered by indexing with one
    slice of a random permutation, so only the batch is copied, never the whole data set.
    The last batch is smaller when `batch_size` does not divide `n_samples`.

    `batch_size=None` means full batch: every pass yields the whole data set once, in its
    original order (order does not matter to a full-batch gradient) and without copying it
    if it is float32 already.

    Shuffling draws from `rng` (a Generator or an integer seed). To resume training bit-exactly,
    save `iterator.rng.bit_generator.state` between epochs and assign it back later.
    """

    def __init__(
        self,
        x: np.ndarray,
        y: np.ndarray,
        batch_size: int | None = 32,
        shuffle: bool = True,
        rng: np.random.Generator | int | None = None,
    ) -> None:
        if len(x) != len(y):
            raise DatasetError(f"x has {len(x)} samples but y has {len(y)}; they must match.")
        if batch_size is not None and batch_size < 1:
            raise DatasetError(f"batch_size must be a positive integer or None, got {batch_size}.")
        self.x = x
        self.y = y
        self.batch_size = batch_size if batch_size is not None else max(len(x), 1)
        self.shuffle = shuffle
        self.rng = np.random.default_rng(rng)

    def __len__(self) -> int:
        """The number of batches in one pass."""
        return -(-len(self.x) // self.batch_size)  # ceiling division

    def _batch(self, rows: np.ndarray | slice) -> tuple[np.ndarray, np.ndarray]:
        x_batch = self.x[rows].astype(np.float32, copy=False)
        y_batch = self.y[rows]
        if np.issubdtype(y_batch.dtype, np.floating):
            y_batch = y_batch.astype(np.float32, copy=False)
        return x_batch, y_batch

    def __iter__(self) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        n_samples = len(self.x)
        if self.batch_size >= n_samples:
            yield self._batch(slice(None))
            return
        order = self.rng.permutation(n_samples) if self.shuffle else np.arange(n_samples)
        for start in range(0, n_samples, self.batch_size):
            yield self._batch(order[start : start + self.batch_size])
