"""``barenet sweep SPEC.toml [--workers N] [--storage URL] [--out DIR] [--prune]`` and
``barenet sweep --report DIR``.

The sweep folder (``--out``, default ``sweeps/<name>``) holds a copy of the spec
(``spec.toml``), where the study lives (``sweep.json``; by default the journal file
``study.journal`` beside it), every trial's run folder (``trials/trial-NNNN``) and the report.
Running the same command again continues the sweep: finished trials are kept, the rest run;
a finished sweep says so and prints its table. One sweep at a time runs in a folder: a second
command waits for the workers of a stopped sweep to stop, and refuses to run beside a sweep
that still runs (see :func:`barenet.sweep.workers.lock_folder`). Ctrl-C, SIGTERM and SIGHUP
stop the workers the same way.
``sweep.json`` records ``--storage`` as given, for ``--report``: keep passwords out of the URL
(PostgreSQL reads them from ``~/.pgpass``).

This module imports only the standard library at first: Optuna, and the rest of the sweep,
are imported when a sweep runs, so ``barenet --help`` works without the extra.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import ConfigError

if TYPE_CHECKING:
    from .spec import SweepSpec

SPEC_FILE, SWEEP_FILE = "spec.toml", "sweep.json"
MAX_ROUNDS = 3  # worker rounds: a later round runs the trials that a dead worker left behind
EXIT_ERROR = 1
STOP_SIGNALS = tuple(getattr(signal, name) for name in ("SIGTERM", "SIGHUP") if hasattr(signal, name))


HELP = "compare settings over several seeds (Optuna)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``barenet sweep`` (the command line registers them under ``sweep``)."""
    parser.add_argument("spec", nargs="?", metavar="SPEC.toml", help="the sweep spec (examples/sweeps/)")
    parser.add_argument("--workers", type=int, metavar="N",
                        help="local worker processes (default: number of cores; 0: only create the study)")
    parser.add_argument("--storage", metavar="URL",
                        help="where the study lives, e.g. postgresql://user@host/db: every machine running "
                             "the same command with the same URL joins one study (default: a journal file "
                             "in the sweep folder)")
    parser.add_argument("--out", metavar="DIR", help="the sweep folder (default: sweeps/<name>)")
    parser.add_argument("--prune", action="store_true",
                        help="stop trials worse than the median at the same epoch (Optuna's MedianPruner)")
    parser.add_argument("--threads-per-worker", type=int, default=1, metavar="N",
                        help="BLAS threads of each worker process (default 1)")
    parser.add_argument("--report", metavar="DIR", help="redraw a sweep folder's report and print its table")


def run(arguments: argparse.Namespace) -> int:
    require_optuna()
    from .spec import read_spec

    if arguments.report:
        return show_report(Path(arguments.report), arguments.storage)
    if not arguments.spec:
        raise ConfigError("give a sweep spec (barenet sweep SPEC.toml) or a sweep folder (--report DIR)")
    workers = (os.cpu_count() or 1) if arguments.workers is None else arguments.workers
    if workers < 0 or arguments.threads_per_worker < 1:
        raise ConfigError("--workers must be >= 0 and --threads-per-worker >= 1")
    spec = read_spec(arguments.spec)
    folder = prepare_sweep_folder(Path(arguments.out or Path("sweeps") / spec.name), spec, arguments.storage)
    from .workers import lock_folder

    lock = lock_folder(folder) if workers > 0 else None  # held until this sweep and its workers end
    try:
        return run_locked(spec, folder, arguments, workers, lock)
    finally:
        if lock is not None:
            os.close(lock)


def run_locked(
    spec: SweepSpec, folder: Path, arguments: argparse.Namespace, workers: int, lock: int | None
) -> int:
    from .storage import open_storage
    from .study import is_complete, open_study, release_dead_trials, requeue

    storage = open_storage(arguments.storage, folder, on_stale_trial=requeue)
    study = open_study(spec, storage, prune=arguments.prune)
    released = release_dead_trials(study, storage)
    if released:
        print(f"{released} trial(s) left running by a stopped worker will run again")
    if is_complete(study, spec):
        print(f"sweep {spec.name!r} is already complete: {count_done(study)} of {spec.total_trials} "
              f"trials done; folder {folder}")
        print_report(folder, spec, study)
        return 0
    print(f"sweep {spec.name!r}: {spec.total_trials} trials ({spec.n_settings} settings × "
          f"{len(spec.seeds)} seeds), {workers} worker(s); folder {folder}")
    if workers == 0:
        return 0
    status = run_workers(study, storage, spec, folder, arguments, (workers, lock))
    print_report(folder, spec, study)
    if status > EXIT_ERROR:
        name = signal.Signals(status - 128).name
        print(f"stopped ({name}): finished trials are kept; run the same command to continue "
              f"({count_done(study)} of {spec.total_trials} done)", file=sys.stderr)
    return status


def require_optuna() -> None:
    try:
        import optuna  # noqa: F401
    except ImportError:
        raise ConfigError('barenet sweep needs Optuna: pip install "barenet[sweep]"') from None


def prepare_sweep_folder(folder: Path, spec: SweepSpec, storage: str | None) -> Path:
    """Create the folder with the spec's copy; refuse a folder that holds another spec's sweep."""
    from ..runs.run_folders import prepare_folder

    prepare_folder(folder)
    copy = folder / SPEC_FILE
    if copy.exists() and copy.read_text() != spec.text:
        raise ConfigError(f"{folder} holds the sweep of a different spec ({copy} differs): continue it with "
                          f"that spec, or give this one another folder with --out DIR")
    copy.write_text(spec.text)
    (folder / SWEEP_FILE).write_text(json.dumps({"study": spec.name, "storage": storage}, indent=1) + "\n")
    return folder


def run_workers(
    study, storage, spec: SweepSpec, folder: Path, arguments: argparse.Namespace,
    workers_and_lock: tuple[int, int | None],
) -> int:
    """Run worker processes with a progress bar until the study is done; the exit status
    (128 + the signal's number when Ctrl-C, SIGTERM or SIGHUP stopped it)."""
    count, lock = workers_and_lock
    watched, sweep_end = os.pipe()  # the workers watch the read end: it ends when this process does
    stopped_by: list[int] = []

    def stop(signum: int, frame) -> None:
        stopped_by.append(signum)
        raise KeyboardInterrupt

    previous = {signum: signal.signal(signum, stop) for signum in (signal.SIGINT, *STOP_SIGNALS)}
    try:
        return supervise(study, storage, spec, folder, arguments, count, (watched, lock), stopped_by)
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        os.close(watched)
        os.close(sweep_end)


def supervise(
    study, storage, spec: SweepSpec, folder: Path, arguments: argparse.Namespace, count: int,
    inherited: tuple[int, int | None], stopped_by: list[int],
) -> int:
    from tqdm import tqdm

    from .study import release_dead_trials, waiting_trials
    from .workers import record_processes, start_workers, stop_workers, wait_for

    # initial: finished trials of an earlier run are not counted in the rate
    progress = tqdm(total=spec.total_trials, initial=count_done(study), desc=spec.name, unit="trial",
                    file=sys.stderr)

    def tick() -> None:
        progress.n = count_done(study)
        best = best_value(study, spec)
        progress.set_postfix_str("" if best is None else f"best {spec.metric} {best:.4f}", refresh=False)
        progress.refresh()

    workers: list = []
    try:
        for _ in range(MAX_ROUNDS):
            workers = start_workers(count, folder / SPEC_FILE, folder, arguments.storage, arguments.prune,
                                    arguments.threads_per_worker, inherited)
            record_processes(inherited[1], workers)
            wait_for(workers, 1.0, tick)
            release_dead_trials(study, storage)
            if not any(worker.returncode == 0 for worker in workers) or not waiting_trials(study):
                break
    except KeyboardInterrupt:
        for signum in (signal.SIGINT, *STOP_SIGNALS):  # stop the workers in peace
            signal.signal(signum, signal.SIG_IGN)
        stop_workers(workers)
        release_dead_trials(study, storage)
        tick()
        progress.close()
        return 128 + (stopped_by[0] if stopped_by else signal.SIGINT)
    tick()
    progress.close()
    codes = [worker.returncode for worker in workers]
    if all(code != 0 for code in codes):
        print(f"barenet: error: the sweep's workers stopped with exit status {codes}; "
              "their messages are above", file=sys.stderr)
        return EXIT_ERROR
    return 0


def count_done(study) -> int:
    """Finished trials, not counting those that were queued again."""
    from .study import retried, run_trials

    trials = run_trials(study)
    again = retried(trials)
    return sum(trial.state.is_finished() and trial.number not in again for trial in trials)


def best_value(study, spec: SweepSpec) -> float | None:
    values = [trial.value for trial in study.get_trials(deepcopy=False) if trial.state.name == "COMPLETE"]
    if not values:
        return None
    return max(values) if spec.direction == "maximize" else min(values)


def print_report(folder: Path, spec: SweepSpec, study) -> None:
    from .report import running_numbers, summarize, table_text, trial_rows, write_report

    rows = trial_rows(study, spec)
    written = write_report(folder, spec, rows)
    print(table_text(summarize(rows, spec), spec, running_numbers(rows)))
    print(f"written in {folder}: {', '.join(path.name for path in written)}")


def show_report(folder: Path, storage: str | None) -> int:
    """``--report DIR``: read the study the folder names, redraw, print the table."""
    if not (folder / SPEC_FILE).is_file() or not (folder / SWEEP_FILE).is_file():
        raise ConfigError(f"{folder} is not a sweep folder (it holds no {SPEC_FILE} and {SWEEP_FILE})")
    from .spec import read_spec

    spec = read_spec(folder / SPEC_FILE)
    storage = storage or json.loads((folder / SWEEP_FILE).read_text()).get("storage")
    from .storage import open_storage
    from .study import load_existing_study

    study = load_existing_study(spec, open_storage(storage, folder))
    print(f"sweep {spec.name!r}: {count_done(study)} of {spec.total_trials} trials done")
    print_report(folder, spec, study)
    return 0
