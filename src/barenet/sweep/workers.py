"""Local worker processes: each one takes trials from the study until none is left.

A worker is a fresh Python process (``python -m barenet.sweep.workers``), started with the
BLAS thread variables set, so NumPy loads with one thread per worker: N workers on N cores
share the machine instead of fighting over it. Every worker talks to the study's storage
directly, which is also how workers on other machines join (they run the same command).

Ctrl-C, SIGTERM and SIGHUP: the sweep sends SIGINT to its workers (they run in their own
session, so they get it once, from the sweep). A worker in the middle of a trial stops after
the current batch, marks the trial failed ("interrupted") and queues it again for the next run;
between trials it stops before taking the next one.

A sweep that ends without stopping its workers (``kill -9``, a crash) stops them too: on Linux
the kernel sends each worker SIGINT when the sweep dies (``prctl(PR_SET_PDEATHSIG)``), and on
every system each worker watches a pipe whose only writer is the sweep; the pipe reads its end
when the sweep is gone, however it ended. A worker that has not stopped STOP_GRACE_SECONDS later
ends itself.

The sweep folder's lock (:func:`lock_folder`) is an ``flock`` on ``sweep.lock`` that the sweep's
workers inherit: it is held until the sweep and every one of its workers have ended, so a
second ``barenet sweep`` on the same folder never runs beside them.
"""

from __future__ import annotations

import argparse
import ctypes
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: no lock
    fcntl = None

from ..errors import ConfigError

BLAS_THREAD_VARIABLES = (
    "OPENBLAS_NUM_THREADS",
    "OMP_NUM_THREADS",
    "MKL_NUM_THREADS",
    "BLIS_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
    "NUMEXPR_NUM_THREADS",
)
EXIT_INTERRUPTED = 130
STOP_GRACE_SECONDS = 60  # how long a worker may take to stop after Ctrl-C before it is killed
PR_SET_PDEATHSIG = 1  # prctl option: the signal the kernel sends a process when its parent dies
RESEND_SECONDS = 2.0  # an orphaned worker asks itself to stop this often until it has stopped
LOCK_FILE = "sweep.lock"


def worker_environment(threads: int) -> dict[str, str]:
    """This process's environment with every BLAS library limited to ``threads`` threads."""
    return os.environ | dict.fromkeys(BLAS_THREAD_VARIABLES, str(threads))


def start_workers(
    count: int, spec_path: Path, folder: Path, storage: str | None, prune: bool, threads: int,
    inherited: tuple[int, int | None],
) -> list[subprocess.Popen]:
    """Start ``count`` workers. ``inherited``: the read end of the pipe they watch, and the
    folder's lock (or None), both kept open in every worker."""
    watched, lock = inherited
    command = [sys.executable, "-m", "barenet.sweep.workers", str(spec_path), "--out", str(folder),
               "--watch-fd", str(watched)]
    command += ["--storage", storage] if storage else []
    command += ["--prune"] if prune else []
    environment = worker_environment(threads)
    kept = tuple(fd for fd in inherited if fd is not None)
    return [
        subprocess.Popen(command, env=environment, start_new_session=True, stdout=subprocess.DEVNULL,
                         pass_fds=kept)
        for _ in range(count)
    ]


def wait_for(workers: Sequence[subprocess.Popen], every: float, on_tick) -> None:
    """Call ``on_tick()`` every ``every`` seconds until every worker has exited."""
    while any(worker.poll() is None for worker in workers):
        on_tick()
        time.sleep(every)
    on_tick()


def stop_workers(workers: Sequence[subprocess.Popen]) -> None:
    """Ctrl-C for each worker; kill those that have not stopped after STOP_GRACE_SECONDS."""
    for worker in workers:
        if worker.poll() is None:
            worker.send_signal(signal.SIGINT)
    deadline = time.monotonic() + STOP_GRACE_SECONDS
    for worker in workers:
        try:
            worker.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()


# ---- the folder's lock ----------------------------------------------------------------------------


def lock_folder(folder: Path) -> int | None:
    """Take the sweep folder's lock for this process (and, through :func:`start_workers`, its
    workers); the open file, or None where there is no ``flock``. The workers of a sweep that
    was stopped get up to STOP_GRACE_SECONDS to stop; a sweep that still runs is refused."""
    if fcntl is None:
        return None
    path = folder / LOCK_FILE
    lock = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    deadline, told = time.monotonic() + STOP_GRACE_SECONDS + 5, False
    while not try_lock(lock):
        holders = lock_holders(path)
        sweep = [pid for role, pid in holders if role == "sweep"]
        if sweep or time.monotonic() > deadline:
            os.close(lock)
            listed = " ".join(str(pid) for _, pid in holders) or "unknown"
            raise ConfigError(
                f"another barenet sweep is running in {folder} (processes: {listed}); a second one "
                f"would run its trials twice. Wait for it to finish or stop it (Ctrl-C in its "
                f"terminal, or kill {listed}), then run this command again")
        if not told:
            print(f"waiting for the workers of a stopped sweep (processes "
                  f"{', '.join(str(pid) for _, pid in holders)}) to stop", file=sys.stderr)
            told = True
        time.sleep(0.5)
    record_processes(lock, [])
    return lock


def try_lock(lock: int) -> bool:
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def record_processes(lock: int | None, workers: Sequence[subprocess.Popen]) -> None:
    """Write ``sweep PID`` and ``worker PID`` lines into the lock file, for the message above."""
    if lock is not None:
        lines = [f"sweep {os.getpid()}", *(f"worker {worker.pid}" for worker in workers)]
        os.ftruncate(lock, 0)
        os.pwrite(lock, ("\n".join(lines) + "\n").encode(), 0)


def lock_holders(path: Path) -> list[tuple[str, int]]:
    """The processes the lock file names that still run, as (role, pid)."""
    from .study import process_exists

    holders = []
    for line in path.read_text().splitlines():
        role, _, pid = line.partition(" ")
        if pid.isdigit() and process_exists(int(pid)):
            holders.append((role, int(pid)))
    return holders


# ---- inside a worker process --------------------------------------------------------------------


def watch_parent(watched: int) -> None:
    """Stop this worker when the sweep that started it ends (see the module docstring)."""
    by_kernel = parent_death_signal(signal.SIGINT)

    def watch() -> None:
        while os.read(watched, 64):  # nothing is ever written: this returns b"" when the sweep ends
            pass
        if by_kernel:
            time.sleep(RESEND_SECONDS)  # the kernel's SIGINT is on its way: let that one stop us
        deadline = time.monotonic() + STOP_GRACE_SECONDS
        while time.monotonic() < deadline:
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(RESEND_SECONDS)
        os._exit(EXIT_INTERRUPTED)

    threading.Thread(target=watch, daemon=True).start()


def parent_death_signal(signum: int) -> bool:
    """Linux: ask the kernel to send ``signum`` to this process when its parent ends; whether
    it was set."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(PR_SET_PDEATHSIG, signum, 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def work(
    spec_path: str, folder: str, storage_url: str | None, prune: bool, watched: int | None = None
) -> int:
    """Run trials of the study until none is left, or until SIGINT; returns the exit status.
    ``watched``: a pipe that reads its end when the sweep has ended (see :func:`watch_parent`)."""
    stop_requested = []
    signal.signal(signal.SIGINT, lambda signum, frame: stop_requested.append(signum))
    if watched is not None:
        watch_parent(watched)
    import functools

    from ..runs.data_sources import load_data
    from .spec import read_spec
    from .storage import open_storage
    from .study import open_study, release_dead_trials, requeue, take_trial
    from .trials import run_trial

    spec = read_spec(spec_path)
    storage = open_storage(storage_url, Path(folder), on_stale_trial=requeue)
    study = open_study(spec, storage, prune=prune)
    load = functools.cache(load_data)  # each data set read once per worker (prepare_run never changes it)

    while not stop_requested:
        release_dead_trials(study, storage)
        trial = take_trial(study, spec)
        if trial is None:
            return 0
        try:
            run_trial(study, storage, trial, spec, Path(folder), load)
        except KeyboardInterrupt:
            return EXIT_INTERRUPTED
    return EXIT_INTERRUPTED


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m barenet.sweep.workers", description=__doc__)
    parser.add_argument("spec")
    parser.add_argument("--out", required=True)
    parser.add_argument("--storage")
    parser.add_argument("--prune", action="store_true")
    parser.add_argument("--watch-fd", type=int)
    arguments = parser.parse_args(argv)
    try:
        return work(arguments.spec, arguments.out, arguments.storage, arguments.prune, arguments.watch_fd)
    except ValueError as error:  # BarenetError and Optuna's errors: one line, as barenet prints them
        print(f"barenet sweep worker {os.getpid()}: error: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
