"""Counting what the fuzz tests saw: per reader, how many inputs were read, how many were
refused with a BarenetError, and how many raised anything else (which fails the test)."""

from __future__ import annotations

import json
import os
from collections import Counter
from pathlib import Path

from barenet.errors import BarenetError

OUTCOMES: dict[str, Counter] = {}
REPORT_VARIABLE = "BARENET_FUZZ_REPORT"  # a JSON file to write the counts to, if set
SCALE = float(os.environ.get("BARENET_FUZZ_SCALE", "1"))  # more examples for a longer, one-off run


def examples(count: int) -> int:
    """``count`` examples, times $BARENET_FUZZ_SCALE."""
    return max(1, round(count * SCALE))


def outcome(reader: str, function, *arguments) -> str:
    """Run ``function(*arguments)``; "success" or "barenet error", any other exception raised."""
    counts = OUTCOMES.setdefault(reader, Counter())
    try:
        function(*arguments)
    except BarenetError:
        counts["barenet error"] += 1
        return "barenet error"
    except Exception:
        counts["other"] += 1
        raise
    counts["success"] += 1
    return "success"


def write_report() -> None:
    path = os.environ.get(REPORT_VARIABLE)
    if path:
        merged = json.loads(Path(path).read_text()) if Path(path).is_file() else {}
        merged |= {reader: dict(counts) for reader, counts in OUTCOMES.items()}
        Path(path).write_text(json.dumps(merged, indent=2))
