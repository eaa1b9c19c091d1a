"""TOML files that may come from anywhere: read with bounds and clear errors, written escaped.

Reading checks, in order, before anything is parsed: the size (:data:`MAX_TOML_BYTES`), that the
bytes are UTF-8 (the error names the file and the line), and how deeply brackets nest
(:data:`MAX_TOML_DEPTH`, so a file of 100,000 ``[`` is refused without a RecursionError).
Writing goes through ``tomli_w``, which escapes every string (control characters included),
so what barenet writes always reads back the same.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import tomli_w

from ..errors import ConfigError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

MAX_TOML_BYTES = 2**20
MAX_TOML_DEPTH = 8
# Strings and comments, whose brackets do not nest anything.
_STRINGS_AND_COMMENTS = re.compile(
    r'"""[\s\S]*?"""|\'\'\'[\s\S]*?\'\'\'|"(?:[^"\\\n]|\\.)*"|\'[^\'\n]*\'|#[^\n]*'
)


def load_toml(path: str | Path, what: str = "config file") -> dict[str, object]:
    """The table a TOML file holds; every problem is a ConfigError naming the file."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(f"no {what} at {path}") from None
    except OSError as error:
        raise ConfigError(f"cannot read the {what} {path}: {error.strerror or error}") from None
    if len(data) > MAX_TOML_BYTES:
        raise ConfigError(f"{path} has {len(data):,} bytes; a barenet {what} is a few lines of TOML")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise ConfigError(
            f"{path} is not UTF-8 text (byte 0x{data[error.start]:02X} on line {line}); save it as UTF-8"
        ) from None
    depth = toml_depth(text)
    if depth > MAX_TOML_DEPTH:
        raise ConfigError(f"{path} nests values {depth} deep (at most {MAX_TOML_DEPTH}): not a {what}")
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path} is not valid TOML: {error}") from None
    except (ValueError, RecursionError) as error:  # e.g. an integer of more than 4300 digits
        raise ConfigError(f"{path} is not a usable {what}: {str(error)[:200]}") from None


def toml_depth(text: str) -> int:
    """How deeply the arrays and inline tables of TOML ``text`` nest (strings do not count)."""
    depth = deepest = 0
    for character in _STRINGS_AND_COMMENTS.sub("", text):
        if character in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif character in "]}":
            depth -= 1
    return deepest


def dump_toml(values: dict[str, object], header: str = "") -> str:
    """``values`` as TOML text (``None`` values left out), after the comment lines ``header``."""
    return header + tomli_w.dumps({key: value for key, value in values.items() if value is not None})
