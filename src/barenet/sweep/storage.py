"""Where a sweep's study lives: Optuna's journal file in the sweep folder, or a database.

Every worker, on this machine or another, opens the same storage and talks to it directly.
With a database (``RDBStorage``) each running trial sends a heartbeat; a trial whose worker
has been silent for :data:`GRACE_SECONDS` is failed by Optuna, and the storage's
``heartbeat_stale_trial_callback`` queues it again (see :mod:`barenet.sweep.queue`).
"""

from __future__ import annotations

import threading
import time
import warnings
from collections.abc import Callable
from pathlib import Path

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None

import optuna

from ..errors import ConfigError

JOURNAL_FILE = "study.journal"
HEARTBEAT_SECONDS, GRACE_SECONDS = 20, 120
CREATE_ATTEMPTS = 4  # machines starting at once race to create the database's tables

StaleTrialCallback = Callable[[optuna.Study, optuna.trial.FrozenTrial], None]


def open_storage(
    url: str | None, folder: Path, on_stale_trial: StaleTrialCallback | None = None
) -> optuna.storages.BaseStorage:
    """The study's storage: Optuna's journal file in the sweep folder, or any URL Optuna accepts
    (``sqlite:///sweep.db``, ``postgresql://user@host/db``, ...) with heartbeats; Optuna calls
    ``on_stale_trial(study, trial)`` for each trial it fails for a silent worker."""
    if url is None:
        path = str(folder / JOURNAL_FILE)
        lock = KernelLock(path + ".flock") if fcntl is not None else None  # None: Optuna's own lock
        return optuna.storages.journal.JournalStorage(optuna.storages.journal.JournalFileBackend(path, lock))
    quiet_optuna()
    from sqlalchemy.exc import IntegrityError, ProgrammingError

    for attempt in range(CREATE_ATTEMPTS):
        try:
            return optuna.storages.RDBStorage(
                database_url(url),
                heartbeat_interval=HEARTBEAT_SECONDS,
                grace_period=GRACE_SECONDS,
                heartbeat_stale_trial_callback=on_stale_trial,
            )
        except (IntegrityError, ProgrammingError):  # another machine is creating the tables right now
            if attempt == CREATE_ATTEMPTS - 1:
                raise
            time.sleep(1 + attempt)
        except Exception as error:  # SQLAlchemy's errors: a bad URL, a missing driver, no server
            raise ConfigError(f"cannot open the study storage {url!r}: {error}") from None
    raise AssertionError("not reached")


class KernelLock:
    """The journal file's write lock, as ``flock``: the kernel releases it when its holder dies,
    so a worker killed while writing leaves no stale lock (Optuna's lock files wait 30 s)."""

    def __init__(self, path: str) -> None:
        self.path, self.file = path, None

    def acquire(self) -> bool:
        if self.file is None:
            self.file = open(self.path, "a")  # kept open while the storage lives
        fcntl.flock(self.file, fcntl.LOCK_EX)
        return True

    def release(self) -> None:
        fcntl.flock(self.file, fcntl.LOCK_UN)


def database_url(url: str) -> str:
    """``postgresql://`` with the driver installed: SQLAlchemy 2.1 picks psycopg 3 by default,
    the ``sweep`` extra installs psycopg2."""
    scheme, separator, rest = url.partition("://")
    if scheme in ("postgresql", "postgres") and separator:
        import importlib.util

        if importlib.util.find_spec("psycopg") is None and importlib.util.find_spec("psycopg2") is not None:
            return f"postgresql+psycopg2://{rest}"
    return url


def quiet_optuna() -> None:
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
    # ask/tell with a database's heartbeats: barenet sends them itself (Heartbeat below)
    warnings.filterwarnings("ignore", message="Heartbeat of storage is supposed to be used with Study")


def trial_id(storage: optuna.storages.BaseStorage, study: optuna.Study, number: int) -> int:
    """The storage's id of trial ``number`` of ``study`` (through the storage's public methods)."""
    study_id = storage.get_study_id_from_name(study.study_name)
    return storage.get_trial_id_from_study_id_trial_number(study_id, number)


class Heartbeat:
    """Tells a database every few seconds that a trial's worker is alive (RDBStorage)."""

    def __init__(self, storage: optuna.storages.BaseStorage, study: optuna.Study, number: int) -> None:
        self.storage, self.stopped = storage, threading.Event()
        self.beats = isinstance(storage, optuna.storages.RDBStorage)
        self.trial_id = trial_id(storage, study, number) if self.beats else None
        self.thread = threading.Thread(target=self.beat, daemon=True)

    def __enter__(self) -> Heartbeat:
        if self.beats:
            self.storage.record_heartbeat(self.trial_id)
            self.thread.start()
        return self

    def beat(self) -> None:
        while not self.stopped.wait(HEARTBEAT_SECONDS):
            self.storage.record_heartbeat(self.trial_id)

    def __exit__(self, *exception) -> None:
        self.stopped.set()
