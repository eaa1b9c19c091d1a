"""Turn loaded data into what a network trains on: float32 rows, scaled or standardised,
one-hot targets, and a stratified train/validation split.

For MNIST: `flatten_images(scale_pixels(x_train))` gives float32 `(60000, 784)` in [0, 1].
"""

from dataclasses import dataclass

import numpy as np

from barenet.datasets.errors import DatasetError

Split = tuple[np.ndarray, np.ndarray]


def scale_pixels(images: np.ndarray) -> np.ndarray:
    """uint8 pixel values 0..255, any shape, to float32 in [0, 1] (divided by 255)."""
    images = np.asarray(images)
    if images.dtype != np.uint8:
        raise DatasetError(
            f"scale_pixels expects uint8 pixel values 0..255, got {images.dtype}; "
            "were the images already scaled?"
        )
    return images.astype(np.float32) / np.float32(255)


def flatten_images(images: np.ndarray) -> np.ndarray:
    """Images `(n_samples, height, width)` to float32 rows `(n_samples, height * width)`.

    Values are kept as they are (0..255 for uint8 images); scale them with `scale_pixels`.
    """
    images = np.asarray(images)
    if images.ndim < 2:
        raise DatasetError(
            f"flatten_images expects images (n_samples, height, width), got shape {images.shape}."
        )
    return images.reshape(len(images), -1).astype(np.float32, copy=False)


@dataclass(frozen=True)
class Standardisation:
    """Mean and standard deviation fitted on training data, broadcastable against it."""

    mean: np.ndarray
    std: np.ndarray


def fit_standardisation(x_train: np.ndarray, per_feature: bool = True) -> Standardisation:
    """Fit mean and standard deviation on the training split only (never on validation or
    test data, which would leak information about them into training).

    `x_train` is `(n_samples, ...)`. With `per_feature`, statistics are per column (shape
    `x_train.shape[1:]`); otherwise one mean and std for all values, as is usual for pixels
    (MNIST: 0.1307 and 0.3081 on [0, 1] pixels). A standard deviation of 0 (a feature that is
    constant, like MNIST's border pixels) is replaced by 1 so nothing is divided by zero.
    """
    x_train = np.asarray(x_train, dtype=np.float64)
    axis = 0 if per_feature else None
    mean = x_train.mean(axis=axis)
    std = x_train.std(axis=axis)
    std = np.where(std == 0, 1.0, std)
    return Standardisation(mean.astype(np.float32), std.astype(np.float32))


def standardise(x: np.ndarray, statistics: Standardisation) -> np.ndarray:
    """`(x - mean) / std` with statistics from `fit_standardisation`, as float32 `x.shape`."""
    return (np.asarray(x, dtype=np.float32) - statistics.mean) / statistics.std


def one_hot(labels: np.ndarray, n_classes: int | None = None) -> np.ndarray:
    """Class ids `(n_samples,)` to float32 one-hot rows `(n_samples, n_classes)`.

    `n_classes` defaults to the largest label + 1; pass it explicitly for a subset of data
    that may lack the last classes.
    """
    labels = np.asarray(labels)
    if labels.ndim != 1 or not np.issubdtype(labels.dtype, np.integer):
        raise DatasetError(
            "one_hot expects integer class ids of shape (n_samples,), "
            f"got {labels.dtype} {labels.shape}."
        )
    if n_classes is None:
        n_classes = int(labels.max()) + 1 if len(labels) else 0
    if len(labels) and not 0 <= labels.min() <= labels.max() < n_classes:
        raise DatasetError(
            f"one_hot: labels range from {labels.min()} to {labels.max()}, "
            f"outside 0..{n_classes - 1} for n_classes={n_classes}."
        )
    encoded = np.zeros((len(labels), n_classes), dtype=np.float32)
    encoded[np.arange(len(labels)), labels] = 1.0
    return encoded


def train_validation_split(
    x: np.ndarray,
    y: np.ndarray,
    validation_fraction: float = 0.1,
    stratify: bool = True,
    rng: np.random.Generator | int | None = None,
) -> tuple[Split, Split]:
    """Split `(x, y)` at random into `(x_train, y_train), (x_validation, y_validation)`.

    With `stratify` (for integer class labels), each class contributes
    `round(validation_fraction * its count)` samples to validation, so both parts keep the
    class proportions. Without it (e.g. regression targets), `round(validation_fraction * n)`
    samples are drawn regardless of class. Both parts keep the samples' original order.
    """
    x, y = np.asarray(x), np.asarray(y)
    if len(x) != len(y):
        raise DatasetError(f"x has {len(x)} samples but y has {len(y)}; they must match.")
    if not 0.0 <= validation_fraction <= 1.0:
        raise DatasetError(f"validation_fraction must be in [0, 1], got {validation_fraction}.")
    rng = np.random.default_rng(rng)
    if stratify:
        if y.ndim != 1 or not np.issubdtype(y.dtype, np.integer):
            raise DatasetError(
                f"a stratified split needs integer class ids y of shape (n_samples,), got "
                f"{y.dtype} {y.shape}; pass stratify=False for regression or one-hot targets."
            )
        groups = [np.flatnonzero(y == label) for label in np.unique(y)]
    else:
        groups = [np.arange(len(y))]
    is_validation = np.zeros(len(y), dtype=bool)
    for members in groups:
        n_validation = round(validation_fraction * len(members))
        is_validation[rng.choice(members, size=n_validation, replace=False)] = True
    return (x[~is_validation], y[~is_validation]), (x[is_validation], y[is_validation])
