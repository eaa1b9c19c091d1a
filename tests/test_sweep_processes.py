"""``barenet sweep`` stops when told: real sweep processes on the spirals data, stopped with real
signals (SIGKILL, SIGTERM, SIGHUP) while their workers are in the middle of trials; and the
verdict of the table against the seed noise."""

from __future__ import annotations

import math
import os
import signal
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest
from sweep_helpers import (
    BASE,
    completed_once_per_slot,
    load_study,
    read_csv,
    sweep_command,
    wait_for_trials,
    write_spec,
)

from barenet.cli.main import main
from barenet.sweep.noise import t_tail, welch_p_value
from barenet.sweep.report import SettingSummary, table_text
from barenet.sweep.spec import parse_spec
from barenet.sweep.study import process_exists

GONE_WITHIN = 10.0  # seconds: a worker finishes its batch, gives its trial back and exits
LONG = 'seeds = [0, 1]\n[grid]\nepochs = [2, 1000]\n'  # two quick trials, two long (seconds) ones


def start_sweep(tmp_path: Path, name: str) -> tuple[subprocess.Popen, Path, Path, list[int]]:
    """A sweep of two workers, once two trials have finished and two are in the middle of
    training; the sweep, its spec, its folder and its workers' process ids."""
    spec = write_spec(tmp_path, f'name = "{name}"\n' + LONG, base=BASE.replace("epochs = {epochs}\n", ""))
    out = tmp_path / "sweep"
    sweep = subprocess.Popen(sweep_command(spec, out, "--workers", "2"), stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
    try:
        wait_for_trials(out, name, complete=2, running=2, timeout=120)
    except AssertionError:
        sweep.kill()
        raise
    workers = Path(f"/proc/{sweep.pid}/task/{sweep.pid}/children").read_text().split()
    assert len(workers) == 2
    return sweep, spec, out, [int(pid) for pid in workers]


def assert_gone(pids: list[int], within: float = GONE_WITHIN) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline and any(process_exists(pid) for pid in pids):
        time.sleep(0.2)
    alive = [pid for pid in pids if process_exists(pid)]
    for pid in alive:  # do not leave them running after a failed test
        os.kill(pid, signal.SIGKILL)
    assert not alive, f"workers {alive} still run {within} s after the sweep ended"


def given_back(out: Path, name: str) -> list:
    """The trials the stopped workers gave back: failed as interrupted, none left RUNNING."""
    trials = load_study(out, name).get_trials()
    assert not [trial for trial in trials if trial.state.name == "RUNNING"]
    interrupted = [trial for trial in trials
                   if trial.user_attrs.get("failure") == "interrupted: the sweep was stopped"]
    assert len(interrupted) == 2
    return interrupted


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="finds the workers through /proc (Linux)")
def test_kill_9_of_the_sweep_stops_its_workers_and_a_rerun_finishes_every_trial_once(tmp_path: Path) -> None:
    sweep, spec, out, workers = start_sweep(tmp_path, "killed")
    sweep.kill()  # SIGKILL: the sweep runs no code of its own; its workers notice it is gone
    sweep.communicate(timeout=30)
    assert_gone(workers)
    interrupted = given_back(out, "killed")

    rerun = subprocess.run(sweep_command(spec, out, "--workers", "2"), capture_output=True, text=True,
                           timeout=300)
    assert rerun.returncode == 0, rerun.stderr
    rows = read_csv(out / "results.csv")
    completed_once_per_slot(rows, settings=2, seeds=2)
    for trial in interrupted:  # each ran again once, with its seed
        retry = [row for row in rows if row["retry_of"] == str(trial.number)]
        assert len(retry) == 1 and retry[0]["state"] == "complete"
        assert retry[0]["seed"] == str(trial.user_attrs["seed"])
    assert (out / "summary.csv").is_file() and (out / "best.toml").is_file()

    again = subprocess.run(sweep_command(spec, out, "--workers", "2"), capture_output=True, text=True,
                           timeout=120)
    assert again.returncode == 0, again.stderr
    assert "sweep 'killed' is already complete: 4 of 4 trials done" in again.stdout
    assert "trial/s" not in again.stderr and "vs best" in again.stdout  # no progress bar; the table
    assert read_csv(out / "results.csv") == rows


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="finds the workers through /proc (Linux)")
@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGHUP], ids=["SIGTERM", "SIGHUP"])
def test_sigterm_and_sighup_stop_the_sweep_like_ctrl_c(tmp_path: Path, stop: signal.Signals) -> None:
    sweep, _, out, workers = start_sweep(tmp_path, "stopped")
    sweep.send_signal(stop)
    _, errors = sweep.communicate(timeout=60)
    assert sweep.returncode == 128 + stop, errors
    assert f"stopped ({stop.name}): finished trials are kept; run the same command to continue" in errors
    assert_gone(workers, within=1.0)  # the sweep waited for them
    given_back(out, "stopped")


@pytest.mark.slow
def test_a_second_sweep_is_refused_beside_a_running_one_and_the_report_names_running_trials(
    tmp_path: Path,
) -> None:
    spec = write_spec(tmp_path, 'name = "busy"\nseeds = [0]\n[grid]\nepochs = [1000]\n')
    out = tmp_path / "sweep"
    sweep = subprocess.Popen(sweep_command(spec, out, "--workers", "1"), stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE, text=True)
    try:
        wait_for_trials(out, "busy", complete=0, running=1, timeout=120)
        second = subprocess.run(sweep_command(spec, out, "--workers", "1"), capture_output=True, text=True,
                                timeout=60)
        assert second.returncode == 1
        assert f"another barenet sweep is running in {out}" in second.stderr
        assert str(sweep.pid) in second.stderr and len(second.stderr.strip().splitlines()) == 1

        assert main(["sweep", "--report", str(out)]) == 0
        assert (out / "results.csv").is_file()
        assert not (out / "summary.csv").exists() and not (out / "best.toml").exists()
    finally:
        sweep.send_signal(signal.SIGINT)
        sweep.communicate(timeout=60)


def test_the_table_names_the_trials_still_running() -> None:
    spec = parse_spec('[base]\ndataset = "spirals"\n[grid]\nlr = [0.1]')
    text = table_text([SettingSummary("lr=0.1", {"lr": 0.1}, [0.5, 0.6], verdict="best")], spec, [3, 7])
    assert "still running: trial(s) 3, 7" in text and "summary.csv, final.png, best.toml" in text


# ---- the verdict against the seed noise ---------------------------------------------------------


def test_the_t_tail_and_welch_test_agree_with_known_values() -> None:
    assert t_tail(1.0, 1.0) == pytest.approx(0.5, abs=1e-9)  # ν = 1 is Cauchy: P(|T| ≥ 1) = 1/2
    assert t_tail(0.0, 4.0) == pytest.approx(1.0)
    assert t_tail(2.776445105, 4.0) == pytest.approx(0.05, abs=1e-7)  # the 97.5 % quantile, ν = 4
    assert t_tail(math.inf, 3.0) == 0.0
    assert welch_p_value([1.0, 1.0], [1.0, 1.0]) == 1.0 and welch_p_value([1.0, 1.0], [2.0, 2.0]) == 0.0
    scipy_stats = pytest.importorskip("scipy.stats", reason="the cross-check reads SciPy's t-test")
    rng = np.random.default_rng(0)
    for _ in range(50):
        a = rng.normal(0.0, rng.uniform(0.1, 2.0), rng.integers(2, 8))
        b = rng.normal(rng.uniform(-2.0, 2.0), rng.uniform(0.1, 2.0), rng.integers(2, 8))
        expected = scipy_stats.ttest_ind(a, b, equal_var=False).pvalue
        assert welch_p_value(list(a), list(b)) == pytest.approx(expected, abs=1e-7)


@pytest.mark.slow
def test_the_table_says_which_setting_is_worse_than_the_best_beyond_the_seed_noise(
    tmp_path: Path, capsys
) -> None:
    """lr = 1e-7 barely trains (clearly worse); lr = 0.09 and 0.1 are within the seeds' spread."""
    grid = 'name = "noise"\nseeds = [0, 1, 2]\n[grid]\nlr = [0.1, 0.09, 1e-7]\n'
    spec = write_spec(tmp_path, grid, epochs=6)
    out = tmp_path / "sweep"
    assert main(["sweep", str(spec), "--workers", "2", "--out", str(out)]) == 0
    table = capsys.readouterr().out
    summary = {row["lr"]: row for row in read_csv(out / "summary.csv")}
    assert summary["1e-07"]["vs_best"] == "worse" and float(summary["1e-07"]["p_value"]) < 0.05
    best, other = sorted(("0.1", "0.09"), key=lambda lr: summary[lr]["vs_best"] != "best")
    assert summary[best]["vs_best"] == "best" and summary[best]["p_value"] == ""
    assert summary[other]["vs_best"] == "within noise" and float(summary[other]["p_value"]) >= 0.05
    assert "worse (p=" in table and "within noise (p=" in table
    assert "Welch's t-test" in table and "'worse' when p < 0.05" in table  # the rule, under the table
