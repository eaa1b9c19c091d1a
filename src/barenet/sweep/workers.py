"""Local worker processes: each one takes trials from the study until none is left.

A worker is a fresh Python process (``python -m barenet.sweep.workers``), started with the
BLAS thread variables set, so NumPy loads with one thread per worker: N workers on N cores
share the machine instead of fighting over it. Every worker talks to the study's storage
directly, which is also how workers on other machines join (they run the same command).

Ctrl-C: the sweep sends SIGINT to its workers (they run in their own session, so they get it
once, from the sweep). A worker in the middle of a trial stops after the current batch, marks
the trial failed ("interrupted") and queues it again for the next run; between trials it
stops before taking the next one.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

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


def worker_environment(threads: int) -> dict[str, str]:
    """This process's environment with every BLAS library limited to ``threads`` threads."""
    return os.environ | dict.fromkeys(BLAS_THREAD_VARIABLES, str(threads))


def start_workers(
    count: int, spec_path: Path, folder: Path, storage: str | None, prune: bool, threads: int
) -> list[subprocess.Popen]:
    command = [sys.executable, "-m", "barenet.sweep.workers", str(spec_path), "--out", str(folder)]
    command += ["--storage", storage] if storage else []
    command += ["--prune"] if prune else []
    environment = worker_environment(threads)
    return [
        subprocess.Popen(command, env=environment, start_new_session=True, stdout=subprocess.DEVNULL)
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


# ---- inside a worker process --------------------------------------------------------------------


def work(spec_path: str, folder: str, storage_url: str | None, prune: bool) -> int:
    """Run trials of the study until none is left, or until SIGINT; returns the exit status."""
    stop_requested = []
    signal.signal(signal.SIGINT, lambda signum, frame: stop_requested.append(signum))
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
    arguments = parser.parse_args(argv)
    try:
        return work(arguments.spec, arguments.out, arguments.storage, arguments.prune)
    except ValueError as error:  # BarenetError and Optuna's errors: one line, as barenet prints them
        print(f"barenet sweep worker {os.getpid()}: error: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
