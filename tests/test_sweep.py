"""``barenet sweep`` with real parts: real worker processes, Optuna's journal file, real training
on the spirals data, real signals (SIGKILL, SIGINT)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

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
from barenet.errors import ConfigError
from barenet.runs.config import read_toml
from barenet.sweep.spec import parse_spec, read_spec

# ---- the spec -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('sedes = [0]\n[base]\ndataset = "spirals"', "did you mean 'seeds'"),
        ('[base]\ndataset = "spirals"\nseed = 3', "seeds = [0, 1, 2]"),
        ('[base]\ndataset = "spirals"\n[grid]\nactivation = ["relu", "swish"]', "unknown activation 'swish'"),
        ('[base]\ndataset = "spirals"\n[grid]\nlr = []', "non-empty list"),
        ('n_trials = 4\n[base]\ndataset = "spirals"\n[grid]\nlr = [0.1]', "leave n_trials out"),
        ('[base]\ndataset = "spirals"\n[distributions]\nlr = { low = 0.1, high = 0.01 }', "low < high"),
        ('[base]\ndataset = "spirals"\n[distributions]\nlr = { low = 0.01, high = 0.1 }', "needs n_trials"),
        ('metric = "accuracy"\n[base]\ndataset = "spirals"', "validation metric"),
        ('[base]\ndataset = "spirals"\nval_split = 0.0', "val_split must be > 0"),
        ('[base]\ndataset = "spirals"\n[grid]\n"layers[1]" = [8]', "base must set layers"),
    ],
)
def test_a_bad_spec_is_refused_with_what_to_write(text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace("[", r"\[").replace("(", r"\(")):
        parse_spec(text)


def test_a_spec_counts_its_trials_and_builds_each_config() -> None:
    spec = parse_spec('seeds = [1, 2]\n[base]\ndataset = "spirals"\nlayers = [2, 8, 3]\n'
                      '[grid]\n"layers[1]" = [4, 32]\nactivation = ["tanh", "relu", "sigmoid"]')
    assert (spec.n_settings, spec.total_trials, spec.direction) == (6, 12, "maximize")
    config = spec.config({"layers[1]": 32, "activation": "tanh"}, seed=2)
    assert (config.layers, config.activation, config.seed) == ([2, 32, 3], "tanh", 2)
    assert parse_spec('metric = "val_loss"\n[base]\ndataset = "sine"').direction == "minimize"


def test_several_grid_tables_run_the_union_of_their_combinations() -> None:
    spec = parse_spec('[base]\ndataset = "spirals"\n'
                      '[[grid]]\noptimizer = ["sgd", "momentum"]\nlr = [0.01, 0.1]\n'
                      '[[grid]]\noptimizer = ["adam"]\nlr = [0.001, 0.01]\n')
    assert spec.n_settings == 6 and spec.grid == {"optimizer": ["sgd", "momentum", "adam"],
                                                  "lr": [0.01, 0.1, 0.001]}
    assert {"optimizer": "adam", "lr": 0.01} in spec.grid_settings()


@pytest.mark.parametrize("name", ["activations", "init", "regularisation", "optimisers"])
def test_the_example_specs_are_valid_and_use_three_seeds(name: str) -> None:
    spec = read_spec(Path(__file__).parents[1] / "examples" / "sweeps" / f"{name}.toml")
    assert spec.seeds == [0, 1, 2] and spec.is_grid and spec.n_settings >= 3


def test_barenet_help_does_not_import_optuna() -> None:
    code = ("import sys\nfrom barenet.cli.main import build_parser\n"
            "build_parser()\nprint('optuna' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"


# ---- whole sweeps -------------------------------------------------------------------------------


@pytest.mark.slow
def test_a_grid_sweep_with_two_workers_writes_every_output_and_survives_a_diverging_setting(
    tmp_path: Path, capsys
) -> None:
    regression = ('[base]\ndataset = "sine"\noutput_activation = "identity"\noptimizer = "sgd"\n'
                  'epochs = {epochs}')
    spec = write_spec(tmp_path, 'name = "grid"\nmetric = "val_loss"\nseeds = [0, 1]\n[grid]\n'
                                'activation = ["tanh", "sigmoid"]\nlr = [0.05, 0.2, 1e6]\n', base=regression)
    out = tmp_path / "sweep"
    assert main(["sweep", str(spec), "--workers", "2", "--out", str(out)]) == 0
    table = capsys.readouterr().out
    for name in ("results.csv", "summary.csv", "curves.png", "final.png", "best.toml", "spec.toml"):
        assert (out / name).is_file(), name
    rows = read_csv(out / "results.csv")
    assert len(rows) == 12
    diverged = [row for row in rows if row["lr"] == "1000000.0"]
    assert len(diverged) == 4 and all(row["state"] == "failed" for row in diverged)
    assert all(row["failure"].startswith("diverged: training diverged") for row in diverged)
    completed_once_per_slot(rows, settings=4, seeds=2)
    assert len({row["folder"] for row in rows}) == 12
    for row in rows:  # every trial has its own run folder, as barenet train writes it
        assert (Path(row["folder"]) / "config.toml").is_file()
        assert row["state"] == "failed" or (Path(row["folder"]) / "model.npz").is_file()

    summary = {row["setting"]: row for row in read_csv(out / "summary.csv")}
    assert len(summary) == 6 and summary["activation=sigmoid lr=1e+06"]["failed"] == "2"
    for label, row in summary.items():
        values = [float(r["val_loss"]) for r in rows
                  if r["setting"] == label and r["state"] == "complete"]
        if values:
            assert float(row["val_loss_mean"]) == pytest.approx(sum(values) / len(values), rel=1e-5)
            assert float(row["val_loss_min"]) == pytest.approx(min(values), rel=1e-5)
    best_label = next(iter(summary))  # best (lowest loss) first
    means = [float(row["val_loss_mean"]) for row in summary.values() if row["val_loss_mean"]]
    assert means == sorted(means) and len(means) == 4
    lines = table.splitlines()
    header = next(index for index, line in enumerate(lines) if line.startswith("setting "))
    assert lines[header + 1].startswith(best_label + " ")

    best = read_toml(out / "best.toml")  # a config barenet train repeats: the best setting, first seed
    run = next(r for r in rows if r["setting"] == best_label and r["seed"] == "0")
    trained = read_toml(Path(run["folder"]) / "config.toml")  # written by the trial's run, resolved
    assert best and all(trained[key] == value for key, value in best.items() if key != "quiet")

    for name in ("curves.png", "final.png", "results.csv"):
        (out / name).unlink()
    assert main(["sweep", "--report", str(out)]) == 0
    assert (out / "curves.png").is_file() and read_csv(out / "results.csv") == rows
    assert "setting" in capsys.readouterr().out


@pytest.mark.slow
def test_killed_workers_trials_run_again_and_a_rerun_keeps_the_finished_ones(tmp_path: Path) -> None:
    grid = 'name = "crash"\nseeds = [0, 1]\n[grid]\nepochs = [2, 400]\nlr = [0.05, 0.1]\n'
    spec = write_spec(tmp_path, grid, base=BASE.replace("epochs = {epochs}\n", ""))
    out = tmp_path / "sweep"
    sweep = subprocess.Popen(sweep_command(spec, out, "--workers", "2"), stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
    try:
        wait_for_trials(out, "crash", complete=3, running=2)
    finally:  # the whole machine goes down: both workers and the sweep, in the middle of trials
        workers = Path(f"/proc/{sweep.pid}/task/{sweep.pid}/children").read_text().split()
        for pid in workers:
            os.kill(int(pid), signal.SIGKILL)
        sweep.kill()
        sweep.wait()
    time.sleep(0.5)
    trials = load_study(out, "crash").get_trials()
    killed = {trial.number for trial in trials if trial.state.name == "RUNNING"}
    assert killed

    assert main(["sweep", "--report", str(out)]) == 0
    before = {row["trial"]: row for row in read_csv(out / "results.csv") if row["state"] == "complete"}
    assert before and not killed & {int(number) for number in before}

    rerun = subprocess.run(sweep_command(spec, out, "--workers", "2"), capture_output=True, text=True,
                           timeout=120)
    assert rerun.returncode == 0, rerun.stderr
    assert f"{len(killed)} trial(s) left running by a stopped worker will run again" in rerun.stdout
    after = read_csv(out / "results.csv")
    by_number = {row["trial"]: row for row in after}
    assert all(by_number[number] == row for number, row in before.items())  # not run again
    completed_once_per_slot(after, settings=4, seeds=2)
    for number in killed:
        row = by_number[str(number)]
        assert row["state"] == "failed" and "stopped while running it" in row["failure"]
        retry = [r for r in after if r["retry_of"] == str(number)]
        assert len(retry) == 1 and retry[0]["state"] == "complete" and retry[0]["seed"] == row["seed"]


@pytest.mark.slow
def test_ctrl_c_stops_the_sweep_keeping_finished_trials(tmp_path: Path) -> None:
    grid = 'name = "stop"\nseeds = [0, 1]\n[grid]\nepochs = [2, 1000]\n'
    spec = write_spec(tmp_path, grid, base=BASE.replace("epochs = {epochs}\n", ""))
    out = tmp_path / "sweep"
    sweep = subprocess.Popen(sweep_command(spec, out, "--workers", "2"), stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
    wait_for_trials(out, "stop", complete=2, running=2)
    sweep.send_signal(signal.SIGINT)
    output, errors = sweep.communicate(timeout=60)
    assert sweep.returncode == 130, errors
    assert "run the same command to continue" in errors
    trials = load_study(out, "stop").get_trials()
    assert not [trial for trial in trials if trial.state.name == "RUNNING"]
    interrupted = [trial for trial in trials if trial.user_attrs.get("failure", "").startswith("interrupted")]
    waiting = [trial for trial in trials if trial.state.name == "WAITING"]
    queued_again = {trial.user_attrs.get("retry_of") for trial in waiting}
    assert len(interrupted) == 2 and {trial.number for trial in interrupted} <= queued_again
    complete = [row for row in read_csv(out / "results.csv") if row["state"] == "complete"]
    assert len(complete) == sum(trial.state.name == "COMPLETE" for trial in trials) == 2


@pytest.mark.slow
def test_pruning_stops_a_clearly_worse_setting(tmp_path: Path) -> None:
    spec = write_spec(tmp_path, 'name = "prune"\nseeds = [0, 1]\n[grid]\nlr = [0.1, 1e-7]\n'
                                '[pruner]\nstartup_trials = 2\nwarmup_epochs = 2\n', epochs=6)
    out = tmp_path / "sweep"
    assert main(["sweep", str(spec), "--workers", "1", "--out", str(out), "--prune"]) == 0
    rows = read_csv(out / "results.csv")
    good = [row for row in rows if row["lr"] == "0.1"]
    bad = [row for row in rows if row["lr"] == "1e-07"]
    assert [row["state"] for row in good] == ["complete"] * 2
    assert [row["state"] for row in bad] == ["pruned"] * 2
    assert all(int(row["epochs"]) < 6 and row["failure"].startswith("pruned after epoch") for row in bad)


@pytest.mark.slow
def test_a_search_over_distributions_runs_each_sampled_setting_for_every_seed(tmp_path: Path) -> None:
    spec = write_spec(tmp_path, 'name = "tpe"\nseeds = [0, 1]\nn_trials = 2\n[distributions]\n'
                                'lr = { low = 1e-3, high = 0.3, log = true }\n'
                                '"layers[1]" = { low = 4, high = 32 }\n'
                                '[grid]\nactivation = ["tanh", "relu"]\n',  # with distributions: choices
                      epochs=3)
    out = tmp_path / "sweep"
    assert main(["sweep", str(spec), "--workers", "2", "--out", str(out)]) == 0  # two samplers at once
    rows = read_csv(out / "results.csv")
    assert len(rows) == 4 and all(row["state"] == "complete" for row in rows)
    settings = {(row["lr"], row["layers[1]"], row["activation"]) for row in rows}
    assert len(settings) == 2 and {setting[2] for setting in settings} <= {"tanh", "relu"}
    for setting in settings:
        same = [row for row in rows if (row["lr"], row["layers[1]"], row["activation"]) == setting]
        assert sorted(row["seed"] for row in same) == ["0", "1"]
    assert (out / "params.png").is_file()
    assert len(read_csv(out / "summary.csv")) == 2
