"""Fuzzing the CSV reader: any text, and tables with damaged cells, end in a result or a
BarenetError, never another exception; memory stays bounded."""

from __future__ import annotations

import gzip
import tracemalloc

import pytest
from fuzz_outcomes import examples, outcome, write_report
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from barenet.datasets import load_csv, load_table
from barenet.datasets.csv_files import read_feature_rows

FUZZ = settings(
    max_examples=examples(150),
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
MEMORY_LIMIT = 32 * 2**20  # bytes a few kilobytes of CSV may make the reader allocate
CELLS = st.one_of(
    st.integers(-(10**6), 10**6).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.sampled_from(
        [
            "",
            " ",
            "nan",
            "NaN",
            "inf",
            "-inf",
            "1e39",
            "1e-400",
            '"1.5"',
            '"a,b"',
            "cat",
            "dog",
            "1_000",
            "0x10",
            "١٢",
            "label",
            "target",
            "Unnamed: 0",
            '"',
            "''",
            "\t",
            "1,5",
        ]
    ),
    st.text(max_size=6),
)


@pytest.fixture(scope="module", autouse=True)
def report():
    yield
    write_report()


def read_all_ways(path) -> None:
    """Every public entry point of the CSV reader on one file."""
    for reader, function, arguments in (
        ("csv", load_table, (path,)),
        ("csv", load_csv, (path,)),
        ("csv", load_table, (path, 0, "classification")),
        ("csv", load_table, (path, "label", "regression")),
        ("csv", read_feature_rows, (path, 2, ["a", "b"], 3)),
    ):
        tracemalloc.start()
        try:
            outcome(reader, function, *arguments)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        assert peak < MEMORY_LIMIT, (function.__name__, peak)


@FUZZ
@given(
    text=st.text(
        alphabet=st.sampled_from(list('0123456789.,;\t|"-+eE nanifINF\n\r\x00abc') + ["\u00e9", "\ufeff"]),
        max_size=400,
    )
)
def test_any_text(tmp_path, text):
    path = tmp_path / "fuzz.csv"
    path.write_text(text, encoding="utf-8")
    read_all_ways(path)


NUMBER = st.one_of(st.integers(-1000, 1000).map(str), st.floats(-1e6, 1e6).map(lambda value: f"{value:.6g}"))
MOSTLY_NUMBERS = st.integers(0, 29).flatmap(lambda draw: CELLS if draw == 0 else NUMBER)  # 1 in 30 damaged
LABELS = st.sampled_from(["cat", "dog", "0", "1", "2", "7", "1.5", "", "nan", '"dog"'])


@FUZZ
@given(
    header=st.one_of(
        st.none(),
        st.lists(
            st.sampled_from(["", "a", "b", "label", "Target", "y", "c", "Unnamed: 0"]), min_size=1, max_size=5
        ),
    ),
    width=st.integers(1, 5),
    rows=st.lists(
        st.tuples(st.lists(MOSTLY_NUMBERS, min_size=5, max_size=5), LABELS), min_size=0, max_size=12
    ),
    ragged=st.integers(0, 20),
    delimiter=st.sampled_from([",", ";", "\t", "|"]),
    trailing=st.booleans(),
    compressed=st.booleans(),
)
def test_tables_with_damaged_cells(tmp_path, header, width, rows, ragged, delimiter, trailing, compressed):
    """Mostly well-formed tables (a fixed width, numbers, a label last), some cells damaged,
    sometimes a ragged row, a trailing delimiter or gzip."""
    table = [cells[:width] + [label] for cells, label in rows]
    if table and ragged == 0:
        table[-1] = table[-1][:-1]
    lines = ([delimiter.join(header)] if header is not None else []) + [delimiter.join(row) for row in table]
    text = "\n".join(line + (delimiter if trailing else "") for line in lines) + "\n"
    data = text.encode("utf-8", "surrogatepass")
    path = tmp_path / "fuzz.csv"
    path.write_bytes(gzip.compress(data) if compressed else data)
    read_all_ways(path)


@FUZZ
@given(data=st.binary(max_size=300))
def test_any_bytes(tmp_path, data):
    path = tmp_path / "fuzz.csv"
    path.write_bytes(data)
    read_all_ways(path)
