"""Finding, downloading, checking and loading MNIST-like data sets.

Everything runs on tiny generated data sets in tmp_path; downloads come from a local HTTP
server on 127.0.0.1. The last tests read the real MNIST (helpers.DATA_DIR) when it is there.
"""

import gzip
import hashlib
import http.server
import socket
import threading
from dataclasses import replace
from functools import partial
from pathlib import Path

import numpy as np
import pytest
from helpers import DATA_DIR

from barenet.datasets import (
    MNIST,
    ChecksumError,
    DataFile,
    DatasetError,
    DatasetNotFoundError,
    DownloadError,
    ImageDataset,
    download_file,
    encode_idx,
    idx_sha256,
    load_image_dataset,
    load_mnist,
    write_idx,
)

FILE_NAMES = [data_file.name for data_file in MNIST.files]


def tiny_arrays(label: int) -> list[np.ndarray]:
    """Train images, train labels, test images, test labels: 6 and 4 images, all `label`."""
    rng = np.random.default_rng(label)
    return [
        rng.integers(0, 256, size=(6, 28, 28), dtype=np.uint8),
        np.full(6, label, dtype=np.uint8),
        rng.integers(0, 256, size=(4, 28, 28), dtype=np.uint8),
        np.full(4, label, dtype=np.uint8),
    ]


def write_tiny_dataset(folder: Path, label: int = 1, compress: bool = True) -> list[np.ndarray]:
    folder.mkdir(parents=True, exist_ok=True)
    arrays = tiny_arrays(label)
    for name, array in zip(FILE_NAMES, arrays, strict=True):
        write_idx(folder / (name + ".gz" if compress else name), array)
    return arrays


def tiny_dataset(mirrors: tuple[str, ...] = (), label: int = 1, verify: bool = False):
    """A data set description for `tiny_arrays(label)`, with checksums that match it."""
    arrays = tiny_arrays(label)
    files = [
        DataFile(
            name,
            hashlib.md5(gzip.compress(encode_idx(array), mtime=0)).hexdigest(),
            idx_sha256(array) if verify else None,
        )
        for name, array in zip(FILE_NAMES, arrays, strict=True)
    ]
    return ImageDataset("Tiny", "tiny", mirrors, *files, npz_name="tiny.npz")


@pytest.fixture(autouse=True)
def isolated_locations(tmp_path, monkeypatch):
    """No test reads the user's real cache or data folder."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg-cache"))
    monkeypatch.delenv("BARENET_DATA_DIR", raising=False)


def assert_loaded(result, arrays):
    (x_train, y_train), (x_test, y_test) = result
    for loaded, expected in zip((x_train, y_train, x_test, y_test), arrays, strict=True):
        np.testing.assert_array_equal(loaded, expected)
    assert x_train.dtype == np.uint8 and x_train.shape == (6, 28, 28)
    assert y_train.dtype == np.int64 and y_test.dtype == np.int64


# --- where files are looked for ---------------------------------------------------------------


@pytest.mark.parametrize("compress", [True, False])
def test_loads_from_data_dir_argument(tmp_path, compress):
    arrays = write_tiny_dataset(tmp_path / "data", compress=compress)
    assert_loaded(load_image_dataset(tiny_dataset(), tmp_path / "data", download=False), arrays)


def test_data_dir_wins_over_environment_and_cache(tmp_path, monkeypatch):
    write_tiny_dataset(tmp_path / "argument" / "tiny", label=1)
    write_tiny_dataset(tmp_path / "environment" / "tiny", label=2)
    write_tiny_dataset(tmp_path / "xdg-cache" / "barenet" / "tiny", label=3)
    monkeypatch.setenv("BARENET_DATA_DIR", str(tmp_path / "environment"))
    dataset = tiny_dataset()

    (_, y_train), _ = load_image_dataset(dataset, tmp_path / "argument", download=False)
    assert y_train[0] == 1
    (_, y_train), _ = load_image_dataset(dataset, download=False)
    assert y_train[0] == 2
    monkeypatch.delenv("BARENET_DATA_DIR")
    (_, y_train), _ = load_image_dataset(dataset, download=False)
    assert y_train[0] == 3


def test_a_data_dir_that_does_not_exist_is_an_error_not_a_fall_through(tmp_path, monkeypatch):
    write_tiny_dataset(tmp_path / "environment", label=2)  # files directly in it
    monkeypatch.setenv("BARENET_DATA_DIR", str(tmp_path / "environment"))
    with pytest.raises(DatasetNotFoundError, match=r"folder .*nowhere \(data_dir / --data-dir\) does not"):
        load_image_dataset(tiny_dataset(), tmp_path / "nowhere", download=False)


def test_loads_keras_style_npz(tmp_path):
    arrays = tiny_arrays(label=7)
    keys = ("x_train", "y_train", "x_test", "y_test")
    np.savez(tmp_path / "tiny.npz", **dict(zip(keys, arrays, strict=True)))
    assert_loaded(load_image_dataset(tiny_dataset(), tmp_path, download=False), arrays)


def test_npz_labels_of_wider_dtype_still_verify(tmp_path):
    arrays = tiny_arrays(label=7)
    keys = ("x_train", "y_train", "x_test", "y_test")
    arrays_wide = [arrays[0], arrays[1].astype(np.int64), arrays[2], arrays[3].astype(np.int64)]
    np.savez(tmp_path / "tiny.npz", **dict(zip(keys, arrays_wide, strict=True)))
    dataset = tiny_dataset(label=7, verify=True)
    assert_loaded(load_image_dataset(dataset, tmp_path, download=False), arrays)


def test_not_found_without_download_says_where_and_how(tmp_path):
    (tmp_path / "nowhere").mkdir()  # a data folder without the files
    with pytest.raises(DatasetNotFoundError) as caught:
        load_image_dataset(tiny_dataset(), tmp_path / "nowhere", download=False)
    message = str(caught.value)
    assert str(tmp_path / "nowhere" / "tiny") in message
    assert "(does not exist)" in message
    assert str(tmp_path / "xdg-cache" / "barenet") in message
    assert "download=False" in message
    assert "--data-dir" in message and "BARENET_DATA_DIR" in message
    assert isinstance(caught.value, FileNotFoundError)


# --- what is checked ------------------------------------------------------------------------


def test_mismatched_image_and_label_counts(tmp_path):
    write_tiny_dataset(tmp_path)
    write_idx(tmp_path / "train-labels-idx1-ubyte.gz", np.zeros(5, dtype=np.uint8))
    with pytest.raises(DatasetError, match=r"holds 6 images but .*train-labels.* \(5,\)"):
        load_image_dataset(tiny_dataset(), tmp_path, download=False)


def test_wrong_image_size(tmp_path):
    write_tiny_dataset(tmp_path)
    write_idx(tmp_path / "t10k-images-idx3-ubyte.gz", np.zeros((4, 32, 32), dtype=np.uint8))
    with pytest.raises(DatasetError, match=r"t10k-images.*\(n_samples, 28, 28\).*\(4, 32, 32\)"):
        load_image_dataset(tiny_dataset(), tmp_path, download=False)


def test_label_out_of_range(tmp_path):
    write_tiny_dataset(tmp_path)
    write_idx(tmp_path / "t10k-labels-idx1-ubyte.gz", np.array([0, 1, 2, 12], dtype=np.uint8))
    with pytest.raises(DatasetError, match="class ids 0 to 9, found values from 0 to 12"):
        load_image_dataset(tiny_dataset(), tmp_path, download=False)


def test_corrupt_file_is_reported_by_name(tmp_path):
    write_tiny_dataset(tmp_path)
    path = tmp_path / "train-images-idx3-ubyte.gz"
    path.write_bytes(path.read_bytes()[:-30])
    with pytest.raises(DatasetError, match="train-images-idx3-ubyte.gz: corrupt or truncated"):
        load_image_dataset(tiny_dataset(), tmp_path, download=False)


def test_checksum_mismatch_on_load(tmp_path):
    write_tiny_dataset(tmp_path, label=1)
    write_idx(tmp_path / "t10k-labels-idx1-ubyte.gz", np.full(4, 2, dtype=np.uint8))
    dataset = tiny_dataset(label=1, verify=True)
    with pytest.raises(ChecksumError, match=r"t10k-labels-idx1-ubyte.gz: contents do not match"):
        load_image_dataset(dataset, tmp_path, download=False)
    load_image_dataset(dataset, tmp_path, download=False, verify=False)  # loads when asked


def test_checksums_hold_however_the_files_are_compressed(tmp_path):
    arrays = write_tiny_dataset(tmp_path, compress=False)
    dataset = tiny_dataset(verify=True)
    assert_loaded(load_image_dataset(dataset, tmp_path, download=False), arrays)


# --- downloading from a local HTTP server ---------------------------------------------------


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture
def http_base_url(tmp_path):
    """Serves tmp_path/served at the returned base URL; it holds good/ with a tiny data set."""
    served = tmp_path / "served"
    write_tiny_dataset(served / "good")
    handler = partial(QuietHandler, directory=str(served))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.01,), daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
    thread.join()


def test_download_falls_back_to_second_mirror(tmp_path, http_base_url):
    dataset = tiny_dataset(mirrors=(f"{http_base_url}/missing/", f"{http_base_url}/good/"))
    result = load_image_dataset(dataset)
    assert_loaded(result, tiny_arrays(label=1))
    cached = tmp_path / "xdg-cache" / "barenet" / "tiny"
    assert sorted(path.name for path in cached.iterdir()) == sorted(
        name + ".gz" for name in FILE_NAMES
    )
    assert_loaded(load_image_dataset(dataset, download=False), tiny_arrays(label=1))


def test_download_checksum_mismatch_deletes_file(tmp_path, http_base_url):
    destination = tmp_path / "downloads" / "train-labels-idx1-ubyte.gz"
    url = f"{http_base_url}/good/train-labels-idx1-ubyte.gz"
    with pytest.raises(DownloadError, match="checksum mismatch.*downloaded file was deleted"):
        download_file([url], destination, md5="0" * 32)
    assert list(destination.parent.iterdir()) == []


def test_download_error_lists_every_mirror(tmp_path, http_base_url):
    urls = [f"{http_base_url}/missing/a.gz", f"{http_base_url}/also-missing/a.gz"]
    with pytest.raises(DownloadError) as caught:
        download_file(urls, tmp_path / "a.gz")
    assert "404" in str(caught.value)
    assert all(url in str(caught.value) for url in urls)


def test_load_with_bad_download_checksum_reports_it(http_base_url):
    dataset = tiny_dataset(mirrors=(f"{http_base_url}/good/",))
    bad_file = replace(dataset.train_images, gzip_md5="0" * 32)
    with pytest.raises(DatasetNotFoundError, match="checksum mismatch"):
        load_image_dataset(replace(dataset, train_images=bad_file))


def test_no_network_says_where_files_were_looked_for(tmp_path):
    with socket.socket() as probe:  # a port that nothing listens on
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    dataset = tiny_dataset(mirrors=(f"http://127.0.0.1:{closed_port}/",))
    (tmp_path / "my-data").mkdir()  # a data folder without the files
    with pytest.raises(DatasetNotFoundError) as caught:
        load_image_dataset(dataset, tmp_path / "my-data")
    message = str(caught.value)
    assert f"127.0.0.1:{closed_port}" in message
    assert str(tmp_path / "my-data") in message
    assert "--data-dir" in message and "BARENET_DATA_DIR" in message


# --- the real MNIST, when the shared copy is there ------------------------------------------

MNIST_SHA256 = {
    "train-images-idx3-ubyte": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
    "train-labels-idx1-ubyte": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
    "t10k-images-idx3-ubyte": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    "t10k-labels-idx1-ubyte": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
}
needs_real_mnist = pytest.mark.skipif(
    not (DATA_DIR / "mnist").is_dir(),
    reason=f"the shared MNIST copy is not at {DATA_DIR / 'mnist'}",
)


@pytest.fixture(scope="module")
def real_mnist():
    with pytest.MonkeyPatch.context() as monkeypatch:
        monkeypatch.setenv("BARENET_DATA_DIR", str(DATA_DIR))
        return load_mnist(download=False)


@needs_real_mnist
def test_real_mnist_files_have_the_published_sha256():
    for name, expected in MNIST_SHA256.items():
        data = gzip.decompress((DATA_DIR / "mnist" / (name + ".gz")).read_bytes())
        assert hashlib.sha256(data).hexdigest() == expected


@needs_real_mnist
def test_real_mnist_facts(real_mnist):
    (x_train, y_train), (x_test, y_test) = real_mnist
    assert x_train.shape == (60_000, 28, 28) and x_train.dtype == np.uint8
    assert x_test.shape == (10_000, 28, 28)
    assert y_train.dtype == np.int64 and y_train.shape == (60_000,)
    for array, name in zip((x_train, y_train, x_test, y_test), MNIST_SHA256, strict=True):
        assert idx_sha256(array.astype(np.uint8)) == MNIST_SHA256[name]
    expected_train_counts = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
    expected_test_counts = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    assert np.bincount(y_train).tolist() == expected_train_counts
    assert np.bincount(y_test).tolist() == expected_test_counts
    assert y_train[:10].tolist() == [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]
    assert x_train.mean() == pytest.approx(33.318, abs=5e-4)
