"""Mutations of valid files for the fuzz tests (test_fuzz_*.py), and the tally they report.

Each strategy takes the bytes (or JSON) of a valid file and damages it the way a disk, a
network, a careless edit or a hostile author would: bit flips, truncation, inserted and
deleted bytes, overwritten header fields, huge declared sizes, JSON values of the wrong type,
deep nesting, and zip entries with other flags or compression methods.

Every fuzz test sorts each input into "ok" (read, and the result is consistent) or "barenet
error"; anything else fails the test. ``BARENET_FUZZ_REPORT=file.json`` adds the counts per
reader to that file, for the table in the issue's closing note.
"""

from __future__ import annotations

import io
import json
import os
import struct
import tracemalloc
import zipfile
from collections import Counter
from contextlib import contextmanager

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

FUZZ_SETTINGS = settings(
    derandomize=True, deadline=None, database=None, suppress_health_check=list(HealthCheck)
)
"""Fixed seed, no example database: the same inputs on every run, on every machine."""


def fuzz(examples: int) -> settings:
    """The fuzz settings with ``examples`` inputs per test."""
    return settings(FUZZ_SETTINGS, max_examples=examples)

TALLY: dict[str, Counter] = {}


def record(reader: str, outcome: str) -> None:
    TALLY.setdefault(reader, Counter())[outcome] += 1


def write_report() -> None:
    path = os.environ.get("BARENET_FUZZ_REPORT")
    if not path or not TALLY:
        return
    report = json.loads(open(path).read()) if os.path.exists(path) else {}
    for reader, counts in TALLY.items():
        merged = Counter(report.get(reader, {}))
        merged.update(counts)
        report[reader] = dict(merged)
    with open(path, "w") as file:
        json.dump(report, file, indent=2)
    TALLY.clear()


@contextmanager
def peak_allocation():
    """``with peak_allocation() as peak:`` ... ``peak()`` is the most bytes allocated at once
    (Python objects and NumPy arrays both report to tracemalloc)."""
    tracemalloc.start()
    try:
        yield lambda: tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


# ---- bytes -------------------------------------------------------------------------------------


@st.composite
def damaged_bytes(draw, data: bytes, protect: int = 0) -> bytes:
    """``data`` with one to three of: a bit flipped, cut short, bytes inserted, deleted or
    overwritten (never in the first ``protect`` bytes, so the damage reaches the body)."""
    data = bytearray(data)
    for _ in range(draw(st.integers(1, 3))):
        if len(data) <= protect + 1:
            break
        kind = draw(st.sampled_from(["flip", "truncate", "insert", "delete", "overwrite"]))
        at = draw(st.integers(protect, len(data) - 1))
        if kind == "flip":
            data[at] ^= 1 << draw(st.integers(0, 7))
        elif kind == "truncate":
            del data[at:]
        elif kind == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=16))
        elif kind == "delete":
            del data[at : at + draw(st.integers(1, 16))]
        else:
            patch = draw(st.binary(min_size=1, max_size=8))
            data[at : at + len(patch)] = patch
    return bytes(data)


HUGE_SIZES = st.sampled_from(
    [0, 1, 2**16, 50_000_000, 2**31 - 1, 2**31, 2**32 - 1, 2**32, 2**40, 2**63 - 1, 2**63, 10**30]
)


# ---- zip archives --------------------------------------------------------------------------------

CENTRAL = b"PK\x01\x02"
LOCAL = b"PK\x03\x04"


def entry_offsets(data: bytes, signature: bytes) -> list[int]:
    found, start = [], 0
    while (at := data.find(signature, start)) != -1:
        found.append(at)
        start = at + 4
    return found


@st.composite
def patched_zip(draw, data: bytes) -> bytes:
    """A zip with one entry's header fields changed: general-purpose flags (encryption),
    compression method, compressed or uncompressed size, CRC, in the central directory, the
    local header, or both."""
    data = bytearray(data)
    centrals, locals_ = entry_offsets(bytes(data), CENTRAL), entry_offsets(bytes(data), LOCAL)
    which = draw(st.integers(0, max(len(centrals) - 1, 0)))
    field = draw(st.sampled_from(["flags", "method", "compressed", "uncompressed", "crc"]))
    value = {
        "flags": draw(st.sampled_from([0x1, 0x8, 0x20, 0x40, 0x41, 0x800, 0xFFFF])),
        "method": draw(st.sampled_from([1, 6, 9, 12, 14, 19, 93, 95, 97, 98, 99, 0xFFFF])),
        "compressed": draw(st.sampled_from([0, 1, 100, 2**31, 2**32 - 1])),
        "uncompressed": draw(st.sampled_from([0, 1, 100, 2**31, 2**32 - 1])),
        "crc": draw(st.integers(0, 2**32 - 1)),
    }[field]
    central = {"flags": (8, "<H"), "method": (10, "<H"), "crc": (16, "<I"), "compressed": (20, "<I"),
               "uncompressed": (24, "<I")}[field]
    local = {"flags": (6, "<H"), "method": (8, "<H"), "crc": (14, "<I"), "compressed": (18, "<I"),
             "uncompressed": (22, "<I")}[field]
    where = draw(st.sampled_from(["central", "local", "both"]))
    if where in ("central", "both") and centrals:
        offset, form = central
        struct.pack_into(form, data, centrals[which] + offset, value)
    if where in ("local", "both") and locals_:
        offset, form = local
        struct.pack_into(form, data, locals_[min(which, len(locals_) - 1)] + offset, value)
    return bytes(data)


def rezip(entries: dict[str, bytes], compression: int = zipfile.ZIP_STORED) -> bytes:
    """A zip archive holding ``entries`` (name → bytes)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as archive:
        for name, payload in entries.items():
            archive.writestr(name, payload)
    return buffer.getvalue()


def unzip(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def npy_with_header(header: str, payload: bytes = b"") -> bytes:
    """An .npy entry (format 1.0) whose header text is ``header``, padded as NumPy pads."""
    text = header.encode("latin1")
    padding = (-(10 + len(text) + 1)) % 64
    body = text + b" " * padding + b"\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(body)) + body + payload


NPY_HEADERS = st.sampled_from([
    "{'descr': '<f4', 'fortran_order': False, 'shape': (",  # unclosed
    "{'descr': '<f4', 'fortran_order': False, 'shape': (4, 8), ",
    "{'descr': '<f4', 'fortran_order': False, 'shape': (100000, 100000), }",  # 37 GiB declared
    "{'descr': '<f8', 'fortran_order': False, 'shape': (4294967296,), }",  # 32 GiB declared
    "{'descr': '<f4', 'fortran_order': False, 'shape': (" + "9" * 30 + ",), }",  # overflows int64
    "{'descr': '<f4', 'fortran_order': False, 'shape': (-1,), }",
    "{'descr': '<f4', 'fortran_order': 'yes', 'shape': (4,), }",
    "{'descr': '|O', 'fortran_order': False, 'shape': (1,), }",  # a pickled object
    "{'descr': [('a', '<f4'), ('b', '<i8')], 'fortran_order': False, 'shape': (2,), }",
    "{'descr': '<U1000000000', 'fortran_order': False, 'shape': (), }",
    "{'descr': '<c16', 'fortran_order': False, 'shape': (1,), }",
    "{'descr': '<M8[s]', 'fortran_order': False, 'shape': (1,), }",
    "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), 'extra': 1}",
    "{'descr': '<f4', 'fortran_order': False, 'shape': [2], }",
    "{'descr': 'float32', 'fortran_order': False, 'shape': (2.5,), }",
    "__import__('os').system('true')",
    "[" * 5000,
    "",
])


# ---- JSON ----------------------------------------------------------------------------------------


def json_paths(value, prefix=()) -> list[tuple]:
    """Every place in a JSON value (as a tuple of keys and indices)."""
    paths = [prefix]
    if isinstance(value, dict):
        for key, item in value.items():
            paths += json_paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value[:6]):
            paths += json_paths(item, (*prefix, index))
    return paths


DEEP = "__nested_this_deep__"
"""A string value ``DEEP + "1000"`` becomes ``[[[...]]]`` 1000 deep in :func:`dump_json`."""


def dump_json(document) -> str:
    """JSON text of ``document``, with the DEEP markers turned into deep nesting (which
    ``json.dumps`` itself could not write)."""
    text = json.dumps(document)
    while (at := text.find(f'"{DEEP}')) != -1:
        end = text.index('"', at + 1)
        depth = int(text[at + 1 + len(DEEP) : end])
        text = text[:at] + "[" * depth + "]" * depth + text[end + 1 :]
    return text


ODD_JSON = st.one_of(
    st.sampled_from([None, True, False, 0, -1, -5, 1, 2**31, 2**63, 2**64 + 7, 10**400 // 10**100,
                     50_000_000, 1e308, -1e308, 0.5, float("nan"), float("inf"), "", "x", "PCG64",
                     "float16", "Dense", "os.system", [], {}, [1, 2], [None], {"a": 1},
                     {"bit_generator": "MT19937", "state": {"key": [0] * 4, "pos": 0}}]),
    st.sampled_from([f"{DEEP}{depth}" for depth in (65, 200, 1000, 100_000)]),
    st.integers(),
    st.text(max_size=20),
)


@st.composite
def changed_json(draw, document: dict) -> dict:
    """``document`` (a copy) with one to three values replaced by odd ones or keys deleted."""
    document = json.loads(json.dumps(document))
    for _ in range(draw(st.integers(1, 3))):
        paths = [path for path in json_paths(document) if path]
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        parent = document
        for key in path[:-1]:
            parent = parent[key]
        if draw(st.integers(0, 4)) == 0 and isinstance(parent, dict):
            del parent[path[-1]]
        else:
            parent[path[-1]] = draw(ODD_JSON)
    return document
