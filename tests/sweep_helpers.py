"""What the ``barenet sweep`` tests share: specs on the spirals data, the sweep's command line,
and reading a sweep folder's study and tables while its processes run."""

from __future__ import annotations

import csv
import sys
import time
from pathlib import Path

import pytest

optuna = pytest.importorskip("optuna", reason="barenet sweep needs Optuna: pip install barenet[sweep]")

BASE = """
[base]
dataset = "spirals"
layers = [2, 16, 3]
optimizer = "momentum"
epochs = {epochs}
"""


def write_spec(folder: Path, text: str, epochs: int = 4, base: str = BASE) -> Path:
    path = folder / "spec.toml"
    path.write_text(text + base.format(epochs=epochs))
    return path


def sweep_command(spec: Path, out: Path, *options: str) -> list[str]:
    return [sys.executable, "-m", "barenet", "sweep", str(spec), "--out", str(out), *options]


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open() as file:
        return list(csv.DictReader(file))


def load_study(out: Path, name: str) -> optuna.Study:
    from barenet.sweep.storage import open_storage, quiet_optuna

    quiet_optuna()
    return optuna.load_study(study_name=name, storage=open_storage(None, out))


def wait_for_trials(out: Path, name: str, complete: int, running: int, timeout: float = 60.0) -> list:
    """Poll the study until it has ``complete`` finished and ``running`` running trials."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if (out / "study.journal").exists():
            try:
                trials = load_study(out, name).get_trials()
            except KeyError:  # the study is being created
                trials = []
            states = [trial.state.name for trial in trials]
            running_trials = [  # in the middle of training: it has reported two epochs
                t for t in trials if t.state.name == "RUNNING" and len(t.intermediate_values) >= 2
            ]
            if states.count("COMPLETE") >= complete and len(running_trials) >= running:
                return trials
        time.sleep(0.5)
    raise AssertionError(f"the sweep did not reach {complete} complete and {running} running trials")


def completed_once_per_slot(rows: list[dict[str, str]], settings: int, seeds: int) -> None:
    complete = [(row["setting"], row["seed"]) for row in rows if row["state"] == "complete"]
    assert len(complete) == len(set(complete)) == settings * seeds
