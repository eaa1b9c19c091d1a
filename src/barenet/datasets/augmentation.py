"""Random image augmentation for training, vectorised over the batch."""

import numpy as np

from barenet.datasets.errors import DatasetError


class RandomShift:
    """Shift each image by a random whole number of pixels (and optionally rotate it, or mirror
    it left to right).

    Every image in a batch gets its own vertical and horizontal shift, drawn uniformly from
    `-max_shift..max_shift`, and its own rotation angle, uniform in
    `[-rotation_degrees, rotation_degrees]` about the image centre. Pixels moved in from
    outside the image are 0, the background of MNIST; so augment before standardising.

    There is no loop over images: for every output pixel the position it comes from is
    computed for the whole batch at once (the inverse map: undo the shift, then the rotation),
    rounded to the nearest pixel, and gathered with one fancy-indexing operation.

    ``horizontal_flip=True`` mirrors each image left to right with probability ½ (before the
    shift): right for clothing (Fashion-MNIST), wrong for digits, whose mirror images are not
    digits.
    """

    def __init__(
        self,
        max_shift: int = 2,
        rotation_degrees: float = 0.0,
        image_shape: tuple[int, int] = (28, 28),
        rng: np.random.Generator | int | None = None,
        *,
        horizontal_flip: bool = False,
    ) -> None:
        if max_shift < 0 or rotation_degrees < 0:
            raise DatasetError(
                f"max_shift and rotation_degrees must be >= 0, "
                f"got {max_shift} and {rotation_degrees}."
            )
        self.max_shift = max_shift
        self.rotation_degrees = rotation_degrees
        self.horizontal_flip = bool(horizontal_flip)
        self.image_shape = image_shape
        self.rng = np.random.default_rng(rng)

    def __call__(self, x_batch: np.ndarray) -> np.ndarray:
        """Augment `x_batch`, either rows `(n_samples, height * width)` or images
        `(n_samples, height, width)`; returns a new array of the same shape and dtype."""
        height, width = self.image_shape
        x_batch = np.asarray(x_batch)
        if x_batch.size != len(x_batch) * height * width:
            raise DatasetError(
                f"RandomShift with image_shape={self.image_shape} expects x_batch of shape "
                f"(n_samples, {height * width}) or (n_samples, {height}, {width}), "
                f"got {x_batch.shape}."
            )
        n_samples = len(x_batch)
        shifts = self.rng.integers(-self.max_shift, self.max_shift + 1, size=(2, n_samples, 1, 1))
        angles = np.deg2rad(
            self.rng.uniform(-self.rotation_degrees, self.rotation_degrees, (n_samples, 1, 1))
        )
        centre_row, centre_column = (height - 1) / 2, (width - 1) / 2
        # Output pixel coordinates relative to the centre, with the shift undone: (n, h, w).
        rows = np.arange(height)[:, None] - centre_row - shifts[0]
        columns = np.arange(width)[None, :] - centre_column - shifts[1]
        cos, sin = np.cos(angles), np.sin(angles)
        source_rows = np.rint(cos * rows - sin * columns + centre_row).astype(np.intp)
        source_columns = np.rint(sin * rows + cos * columns + centre_column).astype(np.intp)
        if self.horizontal_flip:  # column c of a mirrored image is column width − 1 − c of the original
            mirrored = self.rng.random((n_samples, 1, 1)) < 0.5
            source_columns = np.where(mirrored, width - 1 - source_columns, source_columns)
        inside = (
            (source_rows >= 0)
            & (source_rows < height)
            & (source_columns >= 0)
            & (source_columns < width)
        )
        source_pixels = np.where(inside, source_rows * width + source_columns, 0)
        flat_images = x_batch.reshape(n_samples, height * width)
        gathered = np.take_along_axis(
            flat_images, source_pixels.reshape(n_samples, height * width), axis=1
        )
        augmented = np.where(inside.reshape(n_samples, height * width), gathered, 0).astype(
            x_batch.dtype
        )
        return augmented.reshape(x_batch.shape)
