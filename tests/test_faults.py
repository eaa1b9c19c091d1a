"""Run folders under faults: kill -9 at many moments, a full disk, a read-only folder,
two runs on one folder, a diverging run.

After every fault each file in the run folder must be a complete old or new version (each
is parsed), the next run must leave no temporary file behind, and a resumed run must end
bit for bit where an uninterrupted one ends.
"""

from __future__ import annotations

import errno
import os
import random
import select
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import barenet
from barenet.runs.config import build_config, read_toml
from barenet.runs.data_sources import load_data
from barenet.saving.atomic import remove_stale_temporaries, write_atomic
from barenet.training import read_checkpoint
from barenet.training.callbacks import read_history_csv

EPOCHS = 5
TRAIN = ["train", "--dataset", "spirals", "--epochs", str(EPOCHS), "--quiet"]

# Runs barenet, and with BARENET_TEST_PAUSE=NAME:N:MODE stops inside the Nth write of NAME
# ("replace": the temporary file complete but not yet renamed; "half": half of it written)
# and says so on stderr, so that the test can kill it at that very moment.
RUNNER = r'''
import os, sys, time
pause = os.environ.get("BARENET_TEST_PAUSE")
if pause:
    name, count, mode = pause.split(":")
    seen = {"fsync": 0, "replace": 0}
    real_fsync, real_replace = os.fsync, os.replace

    def stop(kind, path):
        seen[kind] += 1
        if seen[kind] == int(count):
            if mode == "half":
                size = os.path.getsize(path)
                os.truncate(path, size // 2)
            print(f"PAUSED in {name}", file=sys.stderr, flush=True)
            time.sleep(600)

    def fsync(descriptor):
        path = os.readlink(f"/proc/self/fd/{descriptor}")
        if mode == "half" and os.path.basename(path).startswith(f".{name}."):
            stop("fsync", path)
        return real_fsync(descriptor)

    def replace(source, target, *args, **options):
        if mode == "replace" and os.path.basename(os.fspath(target)) == name:
            stop("replace", source)
        return real_replace(source, target, *args, **options)

    os.fsync, os.replace = fsync, replace
from barenet.cli.main import main
sys.exit(main(sys.argv[1:]))
'''


@pytest.fixture(scope="module")
def runner(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("runner") / "run_barenet.py"
    path.write_text(RUNNER)
    return path


def environment(pause: str | None = None) -> dict:
    env = {key: value for key, value in os.environ.items() if key != "BARENET_TEST_PAUSE"}
    env |= {"MPLBACKEND": "Agg", "OPENBLAS_NUM_THREADS": "1", "PYTHONHASHSEED": "0"}
    if pause:
        env["BARENET_TEST_PAUSE"] = pause
    return env


def barenet_cli(runner: Path, *arguments: str, cwd: Path, pause: str | None = None) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, str(runner), *arguments], cwd=cwd, env=environment(pause),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )


def finish(process: subprocess.Popen, timeout: float = 120) -> tuple[int, str, str]:
    out, err = process.communicate(timeout=timeout)
    return process.returncode, out, err


def wait_for_pause(process: subprocess.Popen, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([process.stderr], [], [], 1.0)
        if ready:
            line = process.stderr.readline()
            if line.startswith("PAUSED"):
                return
            if not line and process.poll() is not None:
                break
    process.kill()
    raise AssertionError(f"the run never reached its pause: {process.communicate()}")


def kill_hard(process: subprocess.Popen) -> None:
    process.kill()  # SIGKILL: no cleanup of any kind runs
    process.wait()  # reaped: its pid no longer runs


def assert_every_file_is_complete(folder: Path) -> None:
    """Each file of the run folder parses as what it is (an old or a new version)."""
    for path in folder.iterdir():
        if path.name == ".barenet.lock" or path.name.endswith(".tmp"):
            continue
        if path.name == "config.toml":
            build_config(read_toml(path))
        elif path.name == "history.csv":
            assert read_history_csv(path)["loss"]
        elif path.name == "checkpoint.npz":
            read_checkpoint(path)
        elif path.name == "model.npz":
            barenet.load(path)
        elif path.suffix == ".png":
            with Image.open(path) as image:
                image.load()
        else:
            raise AssertionError(f"unexpected file {path.name} in the run folder")


def temporaries(folder: Path) -> list[str]:
    return sorted(path.name for path in folder.iterdir() if path.name.endswith(".tmp"))


def printed_test_line(stdout: str) -> str:  # "test loss 0.51  accuracy 0.77"
    return next(line for line in stdout.splitlines() if line.startswith("test "))


@pytest.fixture(scope="module")
def uninterrupted(runner, tmp_path_factory) -> tuple[Path, str]:
    cwd = tmp_path_factory.mktemp("whole")
    status, out, err = finish(barenet_cli(runner, *TRAIN, "--out", "run", cwd=cwd))
    assert status == 0, err
    return cwd / "run", printed_test_line(out)


def assert_same_run(folder: Path, reference: Path) -> None:
    ours, theirs = np.load(folder / "model.npz"), np.load(reference / "model.npz")
    assert sorted(ours.files) == sorted(theirs.files)
    for name in ours.files:
        np.testing.assert_array_equal(ours[name], theirs[name], err_msg=name)
    assert (folder / "history.csv").read_text() == (reference / "history.csv").read_text()


def resume_and_compare(runner: Path, cwd: Path, uninterrupted: tuple[Path, str]) -> None:
    """The next run after a kill (``--resume`` if there is a checkpoint, else the same command)
    cleans up and ends exactly where the uninterrupted run ended."""
    folder = cwd / "run"
    if (folder / "checkpoint.npz").exists():
        arguments = ["train", "--resume", "run/checkpoint.npz", "--quiet"]
    else:
        arguments = [*TRAIN, "--out", "run"]
    status, out, err = finish(barenet_cli(runner, *arguments, cwd=cwd))
    assert status == 0, err
    assert temporaries(folder) == []
    assert_every_file_is_complete(folder)
    reference, reference_test_line = uninterrupted
    assert_same_run(folder, reference)
    assert printed_test_line(out) == reference_test_line


@pytest.mark.slow
@pytest.mark.parametrize(
    "pause",
    [
        "config.toml:1:half", "checkpoint.npz:1:replace", "checkpoint.npz:3:half", "history.csv:4:replace",
        "model.npz:1:half", "history.png:1:replace", "confusion_matrix.png:1:half",
    ],
)
def test_kill_while_a_file_is_written(pause, runner, uninterrupted, tmp_path):
    process = barenet_cli(runner, *TRAIN, "--out", "run", cwd=tmp_path, pause=pause)
    wait_for_pause(process)
    kill_hard(process)
    folder = tmp_path / "run"
    name = pause.split(":")[0]
    assert any(entry.startswith(f".{name}.") for entry in temporaries(folder))  # killed mid-write
    assert_every_file_is_complete(folder)
    resume_and_compare(runner, tmp_path, uninterrupted)


@pytest.mark.slow
@pytest.mark.parametrize("seed", [0, 1])
def test_kill_at_a_random_moment(seed, runner, uninterrupted, tmp_path):
    process = barenet_cli(runner, *TRAIN, "--out", "run", cwd=tmp_path)
    time.sleep(random.Random(seed).uniform(0.5, 4.0))
    kill_hard(process)
    if (tmp_path / "run").is_dir():
        assert_every_file_is_complete(tmp_path / "run")
    resume_and_compare(runner, tmp_path, uninterrupted)


def test_a_second_run_on_the_same_folder_is_refused(runner, tmp_path):
    first = barenet_cli(runner, *TRAIN, "--out", "run", cwd=tmp_path, pause="checkpoint.npz:1:replace")
    try:
        wait_for_pause(first)
        status, _, err = finish(barenet_cli(runner, *TRAIN, "--out", "run", cwd=tmp_path))
    finally:
        kill_hard(first)
    assert status == 1 and "Traceback" not in err
    expected = f"barenet: error: another barenet run is writing to run right now (process {first.pid})"
    assert err.startswith(expected), err


def test_a_folder_of_something_else_needs_overwrite(runner, uninterrupted, tmp_path):
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "notes.txt").write_text("mine")
    status, _, err = finish(barenet_cli(runner, *TRAIN, "--out", "run", cwd=tmp_path))
    assert status == 1 and "is not empty (notes.txt) and is not a barenet run folder" in err
    status, _, err = finish(barenet_cli(runner, *TRAIN, "--epochs", "2", "--out", "run", "--overwrite",
                                        cwd=tmp_path))
    assert status == 0, err
    status, _, err = finish(barenet_cli(runner, *TRAIN, "--out", "run", cwd=tmp_path))
    assert status == 1 and "holds another run (its config.toml differs: epochs 2 there, 5 now)" in err
    assert (tmp_path / "run" / "notes.txt").read_text() == "mine"  # --overwrite removes only run files


def test_resume_writes_next_to_the_checkpoint_it_was_given(runner, uninterrupted, tmp_path):
    """A copied run folder resumes into the copy, never into the --out stored in it."""
    original, _ = uninterrupted
    copy = tmp_path / "copy"
    copy.mkdir()
    for path in original.iterdir():
        (copy / path.name).write_bytes(path.read_bytes())
    status, out, err = finish(barenet_cli(runner, "train", "--resume", "copy/checkpoint.npz", "--epochs", "6",
                                          "--quiet", cwd=tmp_path))
    assert status == 0, err
    assert f"run folder: {Path('copy')}" in out
    assert read_history_csv(copy / "history.csv")["loss"][5:] and not (tmp_path / "run").exists()
    assert len(read_history_csv(original / "history.csv")["loss"]) == EPOCHS
    assert read_toml(copy / "config.toml")["out"] == str(copy.absolute())  # the folder really written


def test_a_diverging_run_saves_weights_whose_loss_is_finite(runner, tmp_path):
    status, _, err = finish(barenet_cli(
        runner, "train", "--dataset", "sine", "--activation", "relu", "--output-activation", "identity",
        "--optimizer", "sgd", "--lr", "10", "--epochs", "30", "--out", "run", "--quiet", cwd=tmp_path,
    ))
    assert status == 1 and "Traceback" not in err and err.startswith("barenet: error: training diverged"), err
    model = barenet.load(tmp_path / "run" / "model.npz")
    data = load_data("sine", None)
    loss = barenet.training.evaluate(model, data.x_train, data.y_train)["loss"]
    assert np.isfinite(model.get_weights()).all() and np.isfinite(loss)
    assert np.isfinite(model.predict(data.x_test)).all()


# ---- a full disk, a read-only folder ----------------------------------------------------------


@pytest.fixture
def small_disk(tmp_path):
    """A 1 MiB tmpfs mounted for the test (needs root and a kernel that allows it)."""
    mount_point = tmp_path / "disk"
    mount_point.mkdir()
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root")
    result = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mount_point)],
                            capture_output=True)
    if result.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {result.stderr.decode().strip()}")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], check=False)


def snapshot(folder: Path) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in folder.iterdir() if path.is_file()}


@pytest.mark.slow
def test_a_full_disk_names_the_file_and_loses_nothing(runner, small_disk):
    status, _, err = finish(barenet_cli(runner, *TRAIN, "--out", "run", cwd=small_disk))
    assert status == 0, err
    folder = small_disk / "run"
    before = snapshot(folder)
    free = os.statvfs(small_disk).f_bavail * os.statvfs(small_disk).f_frsize
    (small_disk / "filler").write_bytes(bytes(max(free - 40_000, 0)))  # room for all but the largest PNG
    status, _, err = finish(barenet_cli(runner, *TRAIN, "--out", "run", cwd=small_disk))
    assert status == 1 and "Traceback" not in err
    assert err.startswith("barenet: error: cannot write run/") and "No space left on device" in err, err
    assert "previous version of the file, if there was one, is unchanged" in err
    failed = err.split("cannot write run/")[1].split(":")[0]
    assert snapshot(folder)[failed] == before[failed]
    assert temporaries(folder) == []
    assert_every_file_is_complete(folder)


@pytest.mark.slow
def test_a_read_only_folder_is_a_clear_error_and_loses_nothing(runner, small_disk):
    status, _, err = finish(barenet_cli(runner, *TRAIN, "--out", "run", cwd=small_disk))
    assert status == 0, err
    before = snapshot(small_disk / "run")
    subprocess.run(["mount", "-o", "remount,ro", str(small_disk)], check=True)
    status, _, err = finish(barenet_cli(runner, *TRAIN, "--out", "run", cwd=small_disk))
    assert status == 1 and err.startswith("barenet: error: cannot write the run folder run: Read-only"), err
    status, _, err = finish(barenet_cli(runner, "evaluate", "run/model.npz", cwd=small_disk))
    assert status == 1 and "Traceback" not in err
    assert "cannot write run/evaluate_confusion_matrix.png: Read-only file system" in err, err
    assert snapshot(small_disk / "run") == before


@pytest.mark.parametrize("code, hint", [(errno.ENOSPC, "the disk is full"), (errno.EACCES, "no permission")])
def test_write_errors_name_the_file_and_keep_the_previous_version(code, hint, tmp_path, monkeypatch):
    """Injected where no tmpfs can be mounted: the write itself fails."""
    target = tmp_path / "model.npz"
    write_atomic(target, b"old")

    def fail(descriptor):
        raise OSError(code, os.strerror(code))

    monkeypatch.setattr(os, "fsync", fail)
    with pytest.raises(OSError, match=f"cannot write {target}: .*{hint}.*unchanged") as caught:
        write_atomic(target, b"new" * 1000)
    assert caught.value.errno == code
    assert target.read_bytes() == b"old" and temporaries(tmp_path) == []


def test_temporaries_of_killed_writers_are_removed_and_live_ones_kept(tmp_path):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    stale = tmp_path / f".model.npz.{dead.pid}.abc123.tmp"
    live = tmp_path / f".model.npz.{os.getppid()}.def456.tmp"
    other = tmp_path / f".history.csv.{dead.pid}.ghi789.tmp"
    for path in (stale, live, other):
        path.write_bytes(b"partial")
    write_atomic(tmp_path / "model.npz", b"new")
    assert not stale.exists() and live.exists() and other.exists()
    assert remove_stale_temporaries(tmp_path) == [other]
    assert live.exists()


# ---- main(): one line for bad input, a traceback for a bug -------------------------------------


def bad_inputs(folder: Path) -> list[list[str]]:
    """Command lines that each read one damaged file."""
    (folder / "model.npz").write_bytes(b"PK\x03\x04" + bytes(40))
    (folder / "checkpoint.npz").write_bytes(b"\x93NUMPY" + bytes(40))
    (folder / "run.toml").write_bytes(b"epochs = \xff\n")
    (folder / "empty.toml").write_bytes(b"")
    mnist = folder / "data" / "mnist"
    mnist.mkdir(parents=True)
    for name in ("train-images-idx3", "train-labels-idx1", "t10k-images-idx3", "t10k-labels-idx1"):
        (mnist / f"{name}-ubyte.gz").write_bytes(b"\x1f\x8b" + bytes(30))
    return [
        ["summary", str(folder / "model.npz")],
        ["evaluate", str(folder / "model.npz"), "--dataset", "spirals"],
        ["train", "--resume", str(folder / "checkpoint.npz")],
        ["train", "--config", str(folder / "run.toml")],
        ["train", "--config", str(folder / "empty.toml")],
        ["data", "mnist", "--data-dir", str(folder / "data")],
    ]


def test_main_turns_every_bad_file_into_one_error_line(tmp_path, capsys, monkeypatch):
    from barenet.cli.main import main

    monkeypatch.delenv("BARENET_DEBUG", raising=False)
    for argv in bad_inputs(tmp_path):
        assert main(argv) == 1, argv
        err = capsys.readouterr().err
        assert err.startswith("barenet: error: ") and err.count("\n") == 1, (argv, err)
        assert str(tmp_path) in err, (argv, err)  # the file is named


def test_barenet_debug_shows_the_traceback_and_a_bug_always_does(tmp_path, monkeypatch):
    import importlib

    from barenet.errors import BarenetError
    cli_main = importlib.import_module("barenet.cli.main")  # the module (barenet.cli.main is also a function)

    monkeypatch.setenv("BARENET_DEBUG", "1")
    with pytest.raises(BarenetError):
        cli_main.main(bad_inputs(tmp_path)[0])
    monkeypatch.delenv("BARENET_DEBUG")

    def broken(arguments):
        raise ZeroDivisionError("a bug")

    parser = cli_main.build_parser()
    monkeypatch.setattr(cli_main, "build_parser", lambda: parser)
    parser._subparsers._group_actions[0].choices["summary"].set_defaults(command=broken)
    with pytest.raises(ZeroDivisionError):
        cli_main.main(["summary", "x.npz"])
