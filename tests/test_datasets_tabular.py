"""load_csv and load_npz: the layouts they accept and the errors they give."""

import gzip

import numpy as np
import pytest

from barenet.datasets import DatasetError, DatasetNotFoundError, load_csv, load_npz, load_table


def write(tmp_path, text, name="data.csv"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_mnist_as_csv_label_first_no_header(tmp_path):
    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 256, size=(5, 784))
    labels = np.array([5, 0, 4, 1, 9])
    rows = [",".join(map(str, [label, *row])) for label, row in zip(labels, pixels, strict=True)]
    x, y = load_csv(write(tmp_path, "\n".join(rows) + "\n"))
    assert x.dtype == np.float32 and x.shape == (5, 784)
    np.testing.assert_array_equal(x, pixels)
    assert y.dtype == np.int64
    np.testing.assert_array_equal(y, labels)


def test_header_detected_and_label_by_name(tmp_path):
    path = write(tmp_path, "pixel0,pixel1,label\n0,255,3\n128,64,7\n")
    x, y = load_csv(path, label_column="label")
    np.testing.assert_array_equal(x, [[0, 255], [128, 64]])
    np.testing.assert_array_equal(y, [3, 7])


def test_last_column_label_and_float_targets(tmp_path):
    x, y = load_csv(write(tmp_path, "1.5,2,0.25\n3,4,0.5\n"), label_column=-1)
    np.testing.assert_array_equal(x, [[1.5, 2], [3, 4]])
    assert y.dtype == np.float32
    np.testing.assert_array_equal(y, [0.25, 0.5])


def test_explicit_header_false_and_blank_lines(tmp_path):
    x, y = load_csv(write(tmp_path, "1,2\n\n  \n3,4\n"), header=False, label_column=0)
    np.testing.assert_array_equal(x, [[2], [4]])
    np.testing.assert_array_equal(y, [1, 3])


def test_gzip_compressed_csv(tmp_path):
    path = tmp_path / "data.csv.gz"
    path.write_bytes(gzip.compress(b"label,a\n1,2\n"))
    x, y = load_csv(path)
    np.testing.assert_array_equal(x, [[2]])


def test_non_numeric_cell_names_line_and_column(tmp_path):
    path = write(tmp_path, "label,a,b\n1,2,3\n4,five,6\n")
    with pytest.raises(DatasetError, match=r"data.csv, line 3, column 2: non-numeric value 'five'"):
        load_csv(path)


def test_ragged_row_names_line(tmp_path):
    path = write(tmp_path, "1,2,3\n4,5,6\n\n7,8\n")
    with pytest.raises(DatasetError, match=r"line 4: 2 columns, expected 3"):
        load_csv(path)


def test_missing_label_names_line(tmp_path):
    path = write(tmp_path, "label,a\n1,2\n,3\n")
    with pytest.raises(DatasetError, match=r"line 3, column 1: missing label"):
        load_csv(path)


def test_nan_label_is_missing(tmp_path):
    path = write(tmp_path, "1,2\n\nnan,3\n")
    with pytest.raises(DatasetError, match=r"line 3, column 1: missing label"):
        load_csv(path, label_column=0)


def test_unknown_label_name_lists_columns(tmp_path):
    path = write(tmp_path, "digit,a\n1,2\n")
    with pytest.raises(DatasetError, match=r"no column named 'label'; the header has digit, a"):
        load_csv(path, label_column="label")


def test_label_name_without_header(tmp_path):
    with pytest.raises(DatasetError, match="no header row"):
        load_csv(write(tmp_path, "1,2\n"), label_column="label")


def test_label_column_out_of_range(tmp_path):
    with pytest.raises(DatasetError, match="out of range for 2 columns"):
        load_csv(write(tmp_path, "1,2\n"), label_column=2)


@pytest.mark.parametrize(
    ("text", "message"), [("", "empty"), ("a,b\n", "no data rows"), ("\n \n", "empty")]
)
def test_empty_files(tmp_path, text, message):
    with pytest.raises(DatasetError, match=message):
        load_csv(write(tmp_path, text))


def test_missing_csv(tmp_path):
    with pytest.raises(DatasetNotFoundError, match="no such CSV file"):
        load_csv(tmp_path / "absent.csv")


def test_npz_round_trip_and_key_selection(tmp_path):
    path = tmp_path / "arrays.npz"
    np.savez(path, x=np.arange(3), y=np.ones(2), extra=np.zeros(1))
    assert list(load_npz(path)) == ["x", "y", "extra"]
    selected = load_npz(path, keys=("y", "x"))
    assert list(selected) == ["y", "x"]
    np.testing.assert_array_equal(selected["x"], [0, 1, 2])


def test_npz_missing_key(tmp_path):
    path = tmp_path / "arrays.npz"
    np.savez(path, x_train=np.arange(3))
    with pytest.raises(DatasetError, match=r"missing array\(s\) y_train; the archive has x_train"):
        load_npz(path, keys=("x_train", "y_train"))


def test_npz_that_is_not_an_archive(tmp_path):
    path = write(tmp_path, "this is text", name="broken.npz")
    with pytest.raises(DatasetError, match="broken.npz: not a readable .npz archive"):
        load_npz(path)


def test_npy_file_given_as_npz(tmp_path):
    path = tmp_path / "single.npy"
    np.save(path, np.arange(3))
    with pytest.raises(DatasetError, match="single .npy array"):
        load_npz(path)


def test_truncated_npz(tmp_path):
    path = tmp_path / "arrays.npz"
    np.savez(path, x=np.arange(1000))
    path.write_bytes(path.read_bytes()[:-200])
    with pytest.raises(DatasetError, match="arrays.npz"):
        load_npz(path)


def test_npz_with_pickled_objects_is_refused(tmp_path):
    path = tmp_path / "objects.npz"
    np.savez(path, x=np.array([{"a": 1}], dtype=object))
    with pytest.raises(DatasetError, match="objects.npz: cannot read the .npz archive.*pickle"):
        load_npz(path)


def test_npz_whose_array_header_has_an_unclosed_brace_is_a_dataset_error(tmp_path):
    path = tmp_path / "arrays.npz"
    np.savez(path, x=np.zeros((2, 3)), y=np.arange(2))
    header = b"{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), }"
    data = path.read_bytes()
    assert data.count(header) == 1
    path.write_bytes(data.replace(header, b"{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3),  "))
    with pytest.raises(DatasetError, match="arrays.npz: not a readable .npz archive"):
        load_npz(path)


BEYOND_FLOAT32 = "a,b,y\n1,2,0.5\n3,4,-1e39\n5,6,0.25\n"


@pytest.mark.parametrize(("text", "load", "message"), [
    (BEYOND_FLOAT32, load_csv, r"data.csv, line 3, column 3: the label -1e\+39 is beyond float32's range"),
    (BEYOND_FLOAT32, load_table, r"data.csv, line 3, column 3: the label -1e\+39 is beyond float32's range"),
    ("a,y\n1,1\n2,1e39\n", load_csv, r"line 3, column 2: the label 1e\+39 is beyond float32's range"),
], ids=["regression-load_csv", "regression-load_table", "whole-number"])
def test_a_label_beyond_float32_is_named_by_line_and_column_not_made_inf(tmp_path, text, load, message):
    with pytest.raises(DatasetError, match=message):
        load(write(tmp_path, text))


def test_a_whole_number_label_beyond_int64_comes_back_as_float32_not_wrapped_around(tmp_path):
    x, y = load_csv(write(tmp_path, "a,y\n1,1\n2,1e20\n"))
    assert y.dtype == np.float32
    np.testing.assert_array_equal(y, np.array([1, 1e20], dtype=np.float32))
