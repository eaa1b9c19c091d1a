"""Two ``barenet sweep`` processes, standing in for two machines, share one study on a real
PostgreSQL server (Debian's ``postgresql`` package; ``.ci/run`` installs it). The test starts
a throwaway server of its own: ``initdb`` in a temporary folder, on a free port, stopped after."""

from __future__ import annotations

import csv
import glob
import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

optuna = pytest.importorskip("optuna", reason="barenet sweep needs Optuna: pip install barenet[sweep]")
pytest.importorskip("psycopg2", reason="PostgreSQL storage needs psycopg2: pip install barenet[sweep]")

SPEC = """
name = "shared"
seeds = [0, 1]
[grid]
lr = [0.02, 0.1]
activation = ["tanh", "relu"]
[base]
dataset = "spirals"
layers = [2, 16, 3]
epochs = 2
"""


def postgres_binaries() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return Path(found[-1]).parent if found else None


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def postgres_url() -> Iterator[str]:
    """A PostgreSQL server of its own, with an empty database; its URL."""
    binaries = postgres_binaries()
    if binaries is None:
        pytest.skip("no PostgreSQL server binaries (/usr/lib/postgresql/*/bin/initdb): "
                    "apt-get install postgresql, as .ci/run does")
    as_user: list[str] = []
    folder = Path(tempfile.mkdtemp(prefix="barenet-postgres-"))
    if os.geteuid() == 0:  # PostgreSQL refuses to run as root: run it as the postgres user
        try:
            account = pwd.getpwnam("postgres")
        except KeyError:
            pytest.skip("running as root and there is no postgres user to run the server as")
        os.chown(folder, account.pw_uid, account.pw_gid)
        as_user = ["runuser", "-u", "postgres", "--"]
    data, port = folder / "data", free_port()

    def run(*command: str) -> None:
        subprocess.run([*as_user, *command], check=True, capture_output=True, timeout=60)

    run(str(binaries / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust")
    options = f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=off"
    run(str(binaries / "pg_ctl"), "-D", str(data), "-o", options, "-l", str(folder / "log"), "-w", "start")
    try:
        run(str(binaries / "createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", "sweeps")
        yield f"postgresql://postgres@127.0.0.1:{port}/sweeps"
    finally:
        run(str(binaries / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(folder, ignore_errors=True)


@pytest.mark.slow
def test_two_sweep_processes_share_one_study_without_running_a_trial_twice(
    tmp_path: Path, postgres_url: str
) -> None:
    spec = tmp_path / "shared.toml"
    spec.write_text(SPEC)
    machines = [tmp_path / "machine-a", tmp_path / "machine-b"]
    processes = [
        subprocess.Popen(
            [sys.executable, "-m", "barenet", "sweep", str(spec), "--workers", "1", "--storage", postgres_url,
             "--out", str(folder)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        for folder in machines
    ]
    for process in processes:
        output, errors = process.communicate(timeout=180)
        assert process.returncode == 0, errors

    from barenet.sweep.storage import open_storage

    study = optuna.load_study(study_name="shared", storage=open_storage(postgres_url, tmp_path))
    trials = study.get_trials()
    assert len(trials) == 8 and all(trial.state.name == "COMPLETE" for trial in trials)
    slots = [(trial.params["lr"], trial.params["activation"], trial.user_attrs["seed"]) for trial in trials]
    assert len(set(slots)) == 8  # every setting and seed once: none ran twice
    ran_here = [len(list((folder / "trials").glob("trial-*"))) for folder in machines]
    assert sum(ran_here) == 8 and min(ran_here) >= 1  # both machines took part

    for folder in machines:  # one combined result, read from either machine
        with (folder / "results.csv").open() as file:
            rows = list(csv.DictReader(file))
        assert len(rows) == 8 and {row["state"] for row in rows} == {"complete"}
        assert {Path(row["folder"]).parent.parent for row in rows} == set(machines)
    report = subprocess.run([sys.executable, "-m", "barenet", "sweep", "--report", str(machines[0])],
                            capture_output=True, text=True, timeout=120)
    assert report.returncode == 0, report.stderr
    assert "8 of 8 trials done" in report.stdout
