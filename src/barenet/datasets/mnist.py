"""MNIST and Fashion-MNIST: where their files are, what their checksums are, how to load them.

`load_mnist` and `load_fashion_mnist` return `(x_train, y_train), (x_test, y_test)`: images
uint8 `(n_samples, 28, 28)`, labels int64 `(n_samples,)`. Files are looked for in the places
listed in `barenet.datasets.locations`, as the four IDX files (each gzip-compressed or not) or
as a Keras-style `.npz`, and downloaded into the user cache if found nowhere.

Checks. Every load checks the IDX structure (magic numbers, dimensions, file length), that
image and label counts agree, the 28x28 image size and the label range. With `verify=True`
(the default) the contents are also checked against the published SHA-256 of the
decompressed files, which holds however a correct copy is stored (re-gzipped, plain, `.npz`);
hashing all of MNIST costs about 30 ms. Fashion-MNIST has no published hashes of its
decompressed files, so local copies of it get only the structural checks. Downloads are
always checked against the published MD5 of the `.gz` files.
"""

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from barenet.datasets.download import download_file
from barenet.datasets.errors import (
    ChecksumError,
    DatasetError,
    DatasetNotFoundError,
    DownloadError,
)
from barenet.datasets.idx import idx_sha256, read_idx
from barenet.datasets.locations import DATA_DIR_VARIABLE, cache_dir, candidate_folders, search_roots
from barenet.datasets.tabular import load_npz

IMAGE_SHAPE = (28, 28)
N_CLASSES = 10
Split = tuple[np.ndarray, np.ndarray]


@dataclass(frozen=True)
class DataFile:
    """One IDX file of a data set and its published checksums."""

    name: str  # uncompressed file name; the download and the usual copy add ".gz"
    gzip_md5: str | None  # MD5 of the published .gz file, checked on download
    sha256: str | None = None  # SHA-256 of the decompressed file, checked on load if verify


@dataclass(frozen=True)
class ImageDataset:
    """An MNIST-like data set: 28x28 images in ten classes, as four IDX files."""

    name: str
    folder: str  # sub-folder name under a data folder and in the cache
    mirrors: tuple[str, ...]  # base URLs, tried in order; file URL = base + name + ".gz"
    train_images: DataFile
    train_labels: DataFile
    test_images: DataFile
    test_labels: DataFile
    npz_name: str  # Keras-style archive with x_train, y_train, x_test, y_test

    @property
    def files(self) -> tuple[DataFile, DataFile, DataFile, DataFile]:
        return (self.train_images, self.train_labels, self.test_images, self.test_labels)


MNIST = ImageDataset(
    name="MNIST",
    folder="mnist",
    mirrors=(
        "https://ossci-datasets.s3.amazonaws.com/mnist/",
        "https://storage.googleapis.com/cvdf-datasets/mnist/",
    ),
    train_images=DataFile(
        "train-images-idx3-ubyte",
        "f68b3c2dcbeaaa9fbdd348bbdeb94873",
        "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
    ),
    train_labels=DataFile(
        "train-labels-idx1-ubyte",
        "d53e105ee54ea40749a09fcbcd1e9432",
        "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
    ),
    test_images=DataFile(
        "t10k-images-idx3-ubyte",
        "9fb629c4189551a2d022fa330f9573f3",
        "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    ),
    test_labels=DataFile(
        "t10k-labels-idx1-ubyte",
        "ec29112dd5afa0611ce80d1b7f02629c",
        "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
    ),
    npz_name="mnist.npz",
)

FASHION_MNIST = ImageDataset(
    name="Fashion-MNIST",
    folder="fashion-mnist",
    mirrors=("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",),
    train_images=DataFile("train-images-idx3-ubyte", "8d4fb7e6c68d591d4c3dfef9ec88bf0d"),
    train_labels=DataFile("train-labels-idx1-ubyte", "25c81989df183df01b3e8a0aad5dffbe"),
    test_images=DataFile("t10k-images-idx3-ubyte", "bef4ecab320f06d8554ea6380940ec79"),
    test_labels=DataFile("t10k-labels-idx1-ubyte", "bb300cfdad3c16e7a12a480ee83cd310"),
    npz_name="fashion-mnist.npz",
)


def _find_idx_file(folder: Path, data_file: DataFile) -> Path | None:
    """The plain or `.gz` copy of `data_file` in `folder` (plain first: it reads faster)."""
    for name in (data_file.name, data_file.name + ".gz"):
        if (folder / name).is_file():
            return folder / name
    return None


def _find_in_folder(folder: Path, dataset: ImageDataset) -> list[Path] | Path | None:
    """The four IDX files, else the `.npz` archive, of `dataset` in `folder`, else None."""
    idx_paths = [_find_idx_file(folder, data_file) for data_file in dataset.files]
    if all(path is not None for path in idx_paths):
        return idx_paths
    npz_path = folder / dataset.npz_name
    return npz_path if npz_path.is_file() else None


def _download(dataset: ImageDataset) -> list[Path]:
    """Download into the cache whichever of the four `.gz` files are not already there."""
    folder = cache_dir() / dataset.folder
    paths = []
    for data_file in dataset.files:
        path = _find_idx_file(folder, data_file)
        if path is None:
            urls = [mirror + data_file.name + ".gz" for mirror in dataset.mirrors]
            path = download_file(urls, folder / (data_file.name + ".gz"), data_file.gzip_md5)
        paths.append(path)
    return paths


def _not_found_message(dataset: ImageDataset, data_dir: str | Path | None, why: str) -> str:
    file_names = ", ".join(f"{data_file.name}[.gz]" for data_file in dataset.files)
    searched = []
    for root in search_roots(data_dir):
        missing = "" if root.path.is_dir() else "  (does not exist)"
        folders = ", ".join(str(folder) for folder in candidate_folders(root.path, dataset.folder))
        searched.append(f"  {folders}  [{root.origin}]{missing}")
    return (
        f"{dataset.name} was not found: looked for {file_names} or {dataset.npz_name} in\n"
        + "\n".join(searched)
        + f"\n{why}\nTo fix: put the four files (or {dataset.npz_name}) in a folder DIR and pass "
        f"--data-dir DIR (data_dir=DIR in Python), or set {DATA_DIR_VARIABLE}=DIR; "
        "or connect to the internet and let barenet download them."
    )


def find_files(dataset: ImageDataset, data_dir: str | Path | None = None) -> list[Path] | Path | None:
    """Where `dataset`'s files are on disk (the four IDX files, or the `.npz` archive), looking
    where the module docstring says; None when nowhere. A `data_dir` that does not exist is
    an error, not a folder to skip."""
    if data_dir is not None and not Path(data_dir).expanduser().is_dir():
        raise DatasetNotFoundError(
            f"the data folder {data_dir} (data_dir / --data-dir) does not exist; give a folder that holds "
            f"{dataset.folder}/ (or {dataset.name}'s files themselves), or leave it out to look in "
            f"${DATA_DIR_VARIABLE} and the cache"
        )
    for root in search_roots(data_dir):
        for folder in candidate_folders(root.path, dataset.folder):
            found = _find_in_folder(folder, dataset)
            if found is not None:
                return found
    return None


def _locate(
    dataset: ImageDataset, data_dir: str | Path | None, download: bool
) -> list[Path] | Path:
    found = find_files(dataset, data_dir)
    if found is not None:
        return found
    if not download:
        raise DatasetNotFoundError(
            _not_found_message(dataset, data_dir, "Downloading is switched off (download=False).")
        )
    try:
        return _download(dataset)
    except DownloadError as error:
        raise DatasetNotFoundError(_not_found_message(dataset, data_dir, str(error))) from None


def _read(found: list[Path] | Path) -> tuple[list[np.ndarray], list[str]]:
    """The four arrays (train images, train labels, test images, test labels) and, for error
    messages, where each came from."""
    if isinstance(found, list):
        dimensions = (3, 1, 3, 1)  # images (n_samples, 28, 28), labels (n_samples,)
        arrays = [read_idx(path, ndim) for path, ndim in zip(found, dimensions, strict=True)]
        return arrays, [str(path) for path in found]
    keys = ("x_train", "y_train", "x_test", "y_test")
    arrays_by_key = load_npz(found, keys=keys)
    return [arrays_by_key[key] for key in keys], [f"{found}[{key}]" for key in keys]


def _check_split(
    images: np.ndarray, labels: np.ndarray, image_source: str, label_source: str
) -> None:
    if images.dtype != np.uint8 or images.shape[1:] != IMAGE_SHAPE:
        raise DatasetError(
            f"{image_source}: expected uint8 images of shape (n_samples, 28, 28), "
            f"got {images.dtype} {images.shape}."
        )
    if labels.ndim != 1 or len(labels) != len(images):
        raise DatasetError(
            f"{image_source} holds {len(images)} images but {label_source} holds labels of "
            f"shape {labels.shape}; expected ({len(images)},). Are they from the same split "
            "of the same data set?"
        )
    if not np.issubdtype(labels.dtype, np.integer):
        raise DatasetError(f"{label_source}: labels should be integers, got {labels.dtype}.")
    if len(labels) and not 0 <= labels.min() <= labels.max() < N_CLASSES:
        raise DatasetError(
            f"{label_source}: labels should be class ids 0 to {N_CLASSES - 1}, "
            f"found values from {labels.min()} to {labels.max()}."
        )


def _verify(array: np.ndarray, source: str, data_file: DataFile) -> None:
    if data_file.sha256 is None:
        return
    # Images and labels are both unsigned bytes in IDX; the checks above make this cast exact.
    actual = idx_sha256(array.astype(np.uint8, copy=False))
    if actual != data_file.sha256:
        raise ChecksumError(
            f"{source}: contents do not match the published SHA-256 of {data_file.name} "
            f"(got {actual}, expected {data_file.sha256}). The file is corrupt or not the "
            "official one: delete it and let barenet download it again, or pass verify=False "
            "to load it anyway."
        )


def load_image_dataset(
    dataset: ImageDataset,
    data_dir: str | Path | None = None,
    download: bool = True,
    verify: bool = True,
) -> tuple[Split, Split]:
    """Find (or download), read, check and return an MNIST-like data set.

    Returns `(x_train, y_train), (x_test, y_test)`: images uint8 `(n_samples, 28, 28)`, labels
    int64 `(n_samples,)`. See the module docstring for where files are looked for and what is
    checked. Raises `DatasetNotFoundError` if the files are nowhere and cannot be downloaded,
    `ChecksumError` or `DatasetError` if what is found is wrong.
    """
    arrays, sources = _read(_locate(dataset, data_dir, download))
    train_images, train_labels, test_images, test_labels = arrays
    _check_split(train_images, train_labels, sources[0], sources[1])
    _check_split(test_images, test_labels, sources[2], sources[3])
    if verify:
        for array, source, data_file in zip(arrays, sources, dataset.files, strict=True):
            _verify(array, source, data_file)
    return (
        (train_images, train_labels.astype(np.int64)),
        (test_images, test_labels.astype(np.int64)),
    )


def load_mnist(
    data_dir: str | Path | None = None, download: bool = True, verify: bool = True
) -> tuple[Split, Split]:
    """Load MNIST handwritten digits: 60,000 training and 10,000 test images, 28x28.

    Returns `(x_train, y_train), (x_test, y_test)`: images uint8 `(n_samples, 28, 28)`, labels
    int64 `(n_samples,)`. Use `flatten_images` and `scale_pixels` to get float32 rows in [0, 1].
    """
    return load_image_dataset(MNIST, data_dir, download, verify)


def load_fashion_mnist(
    data_dir: str | Path | None = None, download: bool = True, verify: bool = True
) -> tuple[Split, Split]:
    """Load Fashion-MNIST (Zalando clothing): 60,000 training and 10,000 test images, 28x28.

    Same layout and return value as `load_mnist`. Its files have the same names as MNIST's, so
    keep them in a `fashion-mnist/` sub-folder rather than directly in a data folder.
    """
    return load_image_dataset(FASHION_MNIST, data_dir, download, verify)
