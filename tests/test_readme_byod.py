"""The bring-your-own-CSV walkthrough of the documentation's guide runs as written: train,
evaluate on a separate file, predict."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

GUIDE = Path(__file__).resolve().parents[1] / "docs" / "guide" / "own_data.md"


@pytest.mark.slow
def test_the_csv_walkthrough_runs(tmp_path):
    pytest.importorskip("sklearn", reason="the walkthrough writes scikit-learn's iris to CSV")
    section = re.search(
        r"<!-- byod-walkthrough -->\n```bash\n(.*?)```", GUIDE.read_text(encoding="utf-8"), re.S
    )
    assert section, "the guide has no walkthrough between <!-- byod-walkthrough --> markers"
    # python and barenet as the guide's reader has them, run by this test's own interpreter (a
    # venv's, or the system's), called directly: no copy or link of it elsewhere
    commands = 'python() { "$TEST_PYTHON" "$@"; }\nbarenet() { "$TEST_PYTHON" -m barenet "$@"; }\n'
    script = commands + section.group(1)
    environment = {**os.environ, "TEST_PYTHON": sys.executable}
    result = subprocess.run(
        ["bash", "-e", "-c", script],
        cwd=tmp_path,
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    for said in (
        "label column: 'species' (column 5), the last column",
        "3 classes: setosa, versicolor, virginica",
        "test data: every row of test.csv (30 rows)",
        "test.csv, 30 test samples",
    ):
        assert said in out
    accuracy = float(re.findall(r"test loss \S+  accuracy (\S+)", out)[-1])
    assert accuracy >= 0.9
    predictions = [line for line in out.splitlines() if line.startswith("test.csv:")]
    assert len(predictions) == 30 and predictions[0].startswith("test.csv:2: ")
    assert all(
        line.split(": ")[1].split()[0] in ("setosa", "versicolor", "virginica") for line in predictions
    )
