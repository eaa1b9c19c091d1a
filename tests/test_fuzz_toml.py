"""Fuzzing the TOML config reader (`read_toml`, then `build_config`) and the writer.

Every input must either give a checked RunConfig or raise a ConfigError (a BarenetError)
naming the file; any other exception (RecursionError, OverflowError, UnicodeDecodeError, ...)
fails. What barenet writes must read back as the same settings, whatever the strings hold.
"""

from __future__ import annotations

import dataclasses

import pytest
from fuzz_mutations import damaged_bytes, fuzz, record, write_report
from hypothesis import given
from hypothesis import strategies as st

from barenet.errors import BarenetError, ConfigError
from barenet.runs.config import RunConfig, build_config, read_toml, toml_text

VALID = toml_text(build_config({"dataset": "spirals", "epochs": 3, "layers": [2, 16, 3], "lr": 0.01}))
LINES = VALID.splitlines()


@pytest.fixture(scope="module", autouse=True)
def report():
    yield
    write_report()


def check_read(data: bytes, tmp_path) -> RunConfig | None:
    path = tmp_path / "config.toml"
    path.write_bytes(data)
    try:
        config = build_config(read_toml(path))
    except BarenetError as error:
        assert isinstance(error, ConfigError), error
        record("TOML config", "barenet error")
        return None
    assert isinstance(config, RunConfig)
    record("TOML config", "ok")
    return config


def test_the_written_file_reads_back(tmp_path):
    config = check_read(VALID.encode(), tmp_path)
    assert config is not None and config.layers == [2, 16, 3] and config.epochs == 3


@fuzz(150)
@given(data=st.data())
def test_damaged_bytes(data, tmp_path_factory):
    check_read(data.draw(damaged_bytes(VALID.encode())), tmp_path_factory.mktemp("t"))


VALUES = st.sampled_from([
    '"3"', "3.5", "-1", "0", "1e400", "-1e400", "nan", "inf", "true", "[]", "[[[[1]]]]", "{ a = 1 }",
    "9" * 400, "9" * 5000, "0x7fffffffffffffff", "18446744073709551616", '"\\u0000"', '"\x01"', "'''x'''",
    '"""a\nb"""', "[1, 2, 3]", "[1.5]", '["a"]', "1979-05-27T07:32:00Z", "[" * 100 + "]" * 100,
    "{" * 50, '"' + "x" * 10_000 + '"',
])


@fuzz(120)
@given(data=st.data(), value=VALUES)
def test_values_of_the_wrong_type_range_or_depth(data, value, tmp_path_factory):
    lines = list(LINES)
    index = data.draw(st.integers(1, len(lines) - 1))
    key = lines[index].split(" = ")[0] if " = " in lines[index] else "epochs"
    lines[index] = f"{key} = {value}"
    if data.draw(st.booleans()):
        lines.insert(index, data.draw(st.sampled_from(["[table]", "[[array]]", "a.b.c = 1", "epochs = 4"])))
    check_read("\n".join(lines).encode(), tmp_path_factory.mktemp("t"))


@pytest.mark.parametrize(
    "data, message",
    [
        (b"", "holds no settings"),
        (b"# only a comment\n\n", "holds no settings"),
        (b"epochs = 3\ndata_dir = \"\xff\xfe\"\n", r"is not UTF-8 text \(byte 0xFF on line 2\)"),
        (b"x = " + b"[" * 100_000 + b"]" * 100_000, "nests values 100000 deep"),
        (b"epochs = " + b"9" * 400, "far larger than any setting"),
        (b"lr = 1e400", "lr must be a finite number"),
        (b"epochs = " + b"9" * 5000, "not a usable config file"),
    ],
    ids=["empty", "only-comments", "not-utf8", "nested-100000", "400-digits", "1e400", "5000-digits"],
)
def test_named_problems_are_one_clear_error(data, message, tmp_path):
    path = tmp_path / "run.toml"
    path.write_bytes(data)
    with pytest.raises(ConfigError, match=message) as caught:
        build_config(read_toml(path))
    assert str(path) in str(caught.value) or "must be" in str(caught.value)


@fuzz(60)
@given(text=st.text(max_size=30), dataset=st.sampled_from(["spirals", "csv:", "npz:"]))
def test_any_string_is_written_so_that_it_reads_back(text, dataset, tmp_path_factory):
    """Control characters, quotes, backslashes, newlines and any Unicode in a path survive
    the trip through config.toml (they used to be written unescaped)."""
    if dataset != "spirals":
        dataset += text or "x"
    config = build_config({"dataset": dataset, "data_dir": text})
    path = tmp_path_factory.mktemp("t") / "config.toml"
    path.write_text(toml_text(config), encoding="utf-8")
    again = build_config(read_toml(path))
    assert dataclasses.asdict(again) == dataclasses.asdict(config)
    record("TOML config (written, read back)", "ok")
