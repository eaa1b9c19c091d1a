"""Data sets for barenet: MNIST and Fashion-MNIST, CSV and NPZ files, character-level text,
synthetic sets, and the preprocessing, batching and augmentation that turn them into training data.

    from barenet.datasets import load_mnist, flatten_images, scale_pixels, BatchIterator

    (x_train, y_train), (x_test, y_test) = load_mnist()
    x_train = flatten_images(scale_pixels(x_train))          # float32 (60000, 784) in [0, 1]
    for x_batch, y_batch in BatchIterator(x_train, y_train, batch_size=64, rng=0):
        ...

All errors about data are `DatasetError` (a `ValueError`) with a message that says what is
wrong and how to fix it.
"""

from barenet.datasets.augmentation import RandomShift
from barenet.datasets.batching import BatchIterator
from barenet.datasets.download import download_file
from barenet.datasets.errors import (
    ChecksumError,
    DatasetError,
    DatasetNotFoundError,
    DownloadError,
)
from barenet.datasets.idx import decode_idx, encode_idx, idx_sha256, read_idx, write_idx
from barenet.datasets.locations import DATA_DIR_VARIABLE, cache_dir, search_roots
from barenet.datasets.mnist import (
    FASHION_MNIST,
    MNIST,
    DataFile,
    ImageDataset,
    load_fashion_mnist,
    load_image_dataset,
    load_mnist,
)
from barenet.datasets.preprocessing import (
    Standardisation,
    fit_standardisation,
    flatten_images,
    one_hot,
    scale_pixels,
    standardise,
    train_validation_split,
)
from barenet.datasets.synthetic import make_blobs, make_moons, make_sine, make_spirals
from barenet.datasets.tabular import Table, load_csv, load_npz, load_table
from barenet.datasets.text import (
    CharVocabulary,
    TextData,
    load_text,
    load_tinyshakespeare,
    random_windows,
    split_text,
    windows,
)

__all__ = [
    "DATA_DIR_VARIABLE",
    "FASHION_MNIST",
    "MNIST",
    "BatchIterator",
    "CharVocabulary",
    "ChecksumError",
    "DataFile",
    "DatasetError",
    "DatasetNotFoundError",
    "DownloadError",
    "ImageDataset",
    "RandomShift",
    "Standardisation",
    "Table",
    "TextData",
    "cache_dir",
    "decode_idx",
    "download_file",
    "encode_idx",
    "fit_standardisation",
    "flatten_images",
    "idx_sha256",
    "load_csv",
    "load_fashion_mnist",
    "load_image_dataset",
    "load_mnist",
    "load_npz",
    "load_table",
    "load_text",
    "load_tinyshakespeare",
    "make_blobs",
    "make_moons",
    "make_sine",
    "make_spirals",
    "one_hot",
    "random_windows",
    "read_idx",
    "scale_pixels",
    "search_roots",
    "split_text",
    "standardise",
    "train_validation_split",
    "windows",
    "write_idx",
]
