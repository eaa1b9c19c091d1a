"""Bring your own table: CSV and NPZ files as a user writes them, read by barenet.datasets (the
label column, the classes and the task, layouts, NPZ checks). Through the command line (train,
evaluate on a separate file, predict): test_tabular_byod_cli.py."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import write_table

from barenet.datasets import DatasetError, load_csv, load_table

# ---- the label column -----------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["label", "target", "class", "y", "Label", "TARGET"])
def test_label_found_by_name_in_the_last_column(tmp_path, name):
    path = write_table(tmp_path / "d.csv", ["a", "b", name], [[1, 2, 0], [3, 4, 1], [5, 6, 0]])
    table = load_table(path)
    np.testing.assert_array_equal(table.x, [[1, 2], [3, 4], [5, 6]])
    np.testing.assert_array_equal(table.y, [0, 1, 0])
    assert table.label_name == name and "named" in table.notes[0]


def test_label_found_by_name_anywhere(tmp_path):
    path = write_table(tmp_path / "d.csv", ["a", "target", "b"], [[1, 7, 2], [3, 9, 4]])
    table = load_table(path)
    np.testing.assert_array_equal(table.x, [[1, 2], [3, 4]])
    assert table.class_names == ["7", "9"]


def test_label_given_by_name_or_index(tmp_path):
    path = write_table(tmp_path / "d.csv", ["species", "a", "b"], [["x", 1, 2], ["z", 3, 4]])
    with pytest.raises(DatasetError, match="line 2, column 1: non-numeric value 'x'"):
        load_table(path, label_column=-1)  # then "species" is a feature
    by_name = load_table(path, label_column="species")
    by_index = load_table(path, label_column=0)
    assert by_name.class_names == by_index.class_names == ["x", "z"]
    np.testing.assert_array_equal(by_name.x, by_index.x)


def test_two_label_names_are_ambiguous(tmp_path):
    path = write_table(tmp_path / "d.csv", ["label", "a", "target"], [[0, 1, 2], [1, 3, 4]])
    with pytest.raises(
        DatasetError, match=r"2 columns could be the label \('label', 'target'\).*--label-column"
    ):
        load_table(path)


def test_without_a_header_the_label_is_last_except_mnist_layout(tmp_path):
    x, y = load_csv(write_table(tmp_path / "d.csv", None, [[1, 2, 0], [3, 4, 1]]))
    np.testing.assert_array_equal(x, [[1, 2], [3, 4]])
    np.testing.assert_array_equal(y, [0, 1])
    rows = [[digit, *np.full(784, 7)] for digit in (5, 0, 4)]
    x, y = load_csv(write_table(tmp_path / "mnist.csv", None, rows))
    assert x.shape == (3, 784)
    np.testing.assert_array_equal(y, [5, 0, 4])


# ---- classes and the task -------------------------------------------------------------------------


def test_string_sparse_and_one_based_labels_become_0_to_k_minus_1(tmp_path):
    text = load_table(write_table(tmp_path / "a.csv", ["f", "y"], [[1, "dog"], [2, "cat"], [3, "dog"]]))
    assert text.class_names == ["cat", "dog"] and text.y.tolist() == [1, 0, 1]
    sparse = load_table(write_table(tmp_path / "b.csv", ["f", "y"], [[1, 40], [2, 3], [3, 17]]))
    assert sparse.class_names == ["3", "17", "40"] and sparse.y.tolist() == [2, 0, 1]
    rows = [[value, value] for value in range(1, 11)]
    one_based = load_table(write_table(tmp_path / "c.csv", ["f", "y"], rows))
    assert one_based.class_names == [str(value) for value in range(1, 11)] and one_based.y.tolist() == list(
        range(10)
    )


def test_task_detection_rule_and_override(tmp_path):
    fractions = load_table(write_table(tmp_path / "a.csv", ["f", "y"], [[1, 0.5], [2, 1.5], [3, 1.0]]))
    assert (
        fractions.task == "regression" and fractions.y.shape == (3, 1) and "fractions" in fractions.notes[-1]
    )
    rows = [[value, value * 3] for value in range(25)]  # 25 distinct whole numbers
    many = load_table(write_table(tmp_path / "b.csv", ["f", "y"], rows))
    assert many.task == "regression" and "25 distinct whole numbers" in many.notes[-1]
    forced = load_table(tmp_path / "b.csv", task="classification")
    assert forced.task == "classification" and len(forced.class_names) == 25
    few = load_table(tmp_path / "a.csv", task="classification")
    assert few.class_names == ["0.5", "1", "1.5"]
    with pytest.raises(
        DatasetError, match=r"line 2, column 2: the label 'dog' is not a number.*--task classification"
    ):
        load_table(write_table(tmp_path / "c.csv", ["f", "y"], [[1, "dog"], [2, "cat"]]), task="regression")


def test_single_class_is_refused(tmp_path):
    with pytest.raises(DatasetError, match="every label is 'cat': a classifier needs at least two classes"):
        load_table(write_table(tmp_path / "a.csv", ["f", "y"], [[1, "cat"], [2, "cat"]]))


# ---- layouts: delimiter, quotes, trailing comma, pandas index -------------------------------------


def test_semicolons_quotes_trailing_comma_and_pandas_index(tmp_path):
    (tmp_path / "semi.csv").write_text('a;b;label\n"1,5";2;x\n3;4;y\n')
    commas = load_table(tmp_path / "semi.csv")  # a decimal comma beside ';' (decimal_commas: the tests)
    np.testing.assert_array_equal(commas.x, [[1.5, 2], [3, 4]])
    (tmp_path / "semi.csv").write_text('a;b;label\n"1.5";2;x\n3;4;y\n')
    table = load_table(tmp_path / "semi.csv")
    np.testing.assert_array_equal(table.x, [[1.5, 2], [3, 4]])
    assert "delimiter: ';'" in table.notes
    (tmp_path / "trailing.csv").write_text("a,b,label,\n1,2,0,\n3,4,1,\n")
    np.testing.assert_array_equal(load_table(tmp_path / "trailing.csv").x, [[1, 2], [3, 4]])
    (tmp_path / "pandas.csv").write_text(",a,b,target\n0,1.0,2.0,x\n7,3.0,4.0,y\n")
    pandas = load_table(tmp_path / "pandas.csv")
    np.testing.assert_array_equal(pandas.x, [[1, 2], [3, 4]])
    assert pandas.feature_names == ["a", "b"] and any("pandas index" in note for note in pandas.notes)
    (tmp_path / "tabs.tsv").write_text("a\tb\tlabel\n1\t2\tx\n3\t4\ty\n")
    np.testing.assert_array_equal(load_table(tmp_path / "tabs.tsv").x, [[1, 2], [3, 4]])


def test_every_bad_cell_is_reported_with_line_and_column(tmp_path):
    (tmp_path / "bad.csv").write_text("a,b,label\n1,2,x\nnan,3,y\n4,,x\n5,inf,y\n6,1e39,x\n")
    with pytest.raises(DatasetError) as caught:
        load_table(tmp_path / "bad.csv")
    message = str(caught.value)
    for where in (
        "line 3, column 1: missing value 'nan'",
        "line 4, column 2: empty cell",
        "line 5, column 2: value 'inf' is infinite",
        "line 6, column 2: value '1e39'",
    ):
        assert where in message
    (tmp_path / "label.csv").write_text("a,label\n1,x\n2,\n")
    with pytest.raises(DatasetError, match="line 3, column 2: missing label"):
        load_table(tmp_path / "label.csv")


# ---- NPZ --------------------------------------------------------------------------------------


def test_npz_checks(tmp_path):
    rng = np.random.default_rng(0)
    path = tmp_path / "a.npz"
    np.savez(
        path,
        x_train=rng.normal(size=(6, 3)),
        y_train=np.array(list("abcabc")),
        x_test=rng.normal(size=(2, 3)),
        y_test=np.array(["a", "c"]),
    )
    table = load_table(path)
    assert table.class_names == ["a", "b", "c"] and table.y_test.tolist() == [0, 2]
    cases = {
        "width": (
            {
                "x_train": np.zeros((4, 3)),
                "y_train": np.arange(4) % 2,
                "x_test": np.zeros((2, 2)),
                "y_test": np.zeros(2, int),
            },
            "x_test has samples of shape",
        ),
        "scalar": ({"x": np.zeros((4, 2)), "y": np.array(1)}, r"y has shape \(\)"),
        "flat": ({"x": np.zeros(4), "y": np.zeros(4)}, r"x has shape \(4,\).*x\[:, None\]"),
        "length": ({"x": np.zeros((4, 2)), "y": np.zeros(3)}, "x has 4 samples but y 3"),
        "nan": ({"x": np.array([[1.0, np.nan], [2, 3]]), "y": np.array([0, 1])}, r"x\[0, 1\] is nan"),
        "complex": ({"x": np.zeros((2, 2), complex), "y": np.array([0, 1])}, "complex128 values"),
        "half": (
            {"x_train": np.zeros((2, 2)), "y_train": np.array([0, 1]), "x_test": np.zeros((2, 2))},
            "has x_test but no y_test",
        ),
    }
    for name, (arrays, message) in cases.items():
        np.savez(tmp_path / f"{name}.npz", **arrays)
        with pytest.raises(DatasetError, match=message):
            load_table(tmp_path / f"{name}.npz")
