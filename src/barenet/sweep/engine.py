"""The Optuna side of a sweep: the study, its storage, and running one trial.

One Optuna trial is one setting trained with one seed. The seed is a user attribute
(``trial.user_attrs["seed"]``), never a searched parameter, so the sampler sees settings only.

* A **grid** is put in the study's queue in full when the study is created (every setting ×
  every seed, ``enqueue_trial``). Workers, on one machine or many, take trials from that queue;
  taking one is atomic in every Optuna storage, so no trial runs twice. (A ``GridSampler``
  picks grid points at random, and two workers starting together may pick the same one.)
* **Distributions** are sampled by Optuna's ``TPESampler``: a worker asks for a new setting,
  runs it with the first seed and queues the same setting for the other seeds. (Workers that
  ask at the same moment may sample up to workers - 1 settings more than ``n_trials``.)
* ``--prune``: each epoch's validation metric goes to ``trial.report``; Optuna's
  ``MedianPruner`` stops a trial that is worse than the median of the others at that epoch.
* A worker that dies leaves its trial RUNNING. Before taking a trial every worker fails the
  RUNNING trials of processes on its own machine that no longer exist, and queues them again;
  with a database (``RDBStorage``) Optuna's heartbeat does the same for other machines.
"""

from __future__ import annotations

import datetime
import json
import math
import os

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None
import socket
import threading
import time
import warnings
from pathlib import Path

import optuna
from optuna.trial import TrialState

from ..errors import ConfigError, DivergenceError
from ..runs.config import resolve_for_data
from ..runs.training_run import check_layers_fit, train_run
from ..training import Callback
from .spec import SweepSpec, setting_label

JOURNAL_FILE = "study.journal"
HEARTBEAT_SECONDS, GRACE_SECONDS = 20, 120
UNNAMED_SECONDS = 120  # a RUNNING trial that names no worker after this long lost its worker
CREATE_ATTEMPTS = 4  # machines starting at once race to create the database's tables
FINISHED = (TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL)
RUN_ATTRS = ("slot", "seed", "setting", "params")  # what a queued copy of a trial keeps


def open_storage(url: str | None, folder: Path) -> optuna.storages.BaseStorage:
    """The study's storage: Optuna's journal file in the sweep folder, or any URL Optuna accepts
    (``sqlite:///sweep.db``, ``postgresql://user@host/db``, ...) with heartbeats."""
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
                heartbeat_stale_trial_callback=lambda study, trial: queue_again(study, trial),
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


def open_study(spec: SweepSpec, storage: optuna.storages.BaseStorage, prune: bool = False) -> optuna.Study:
    """Create the study (queueing a grid in full) or join the existing one of the same spec."""
    quiet_optuna()
    pruner = (
        optuna.pruners.MedianPruner(spec.pruner["startup_trials"], spec.pruner["warmup_epochs"])
        if prune
        else optuna.pruners.NopPruner()
    )
    options = {"study_name": spec.name, "storage": storage, "pruner": pruner, "direction": spec.direction}
    # Not seeded: workers with the same seed would sample the same settings. constant_liar: a
    # sampler steers away from the settings that other workers are running.
    sampler = optuna.samplers.TPESampler(constant_liar=True) if not spec.is_grid else None
    try:
        study = optuna.create_study(**options, sampler=sampler)
    except optuna.exceptions.DuplicatedStudyError:
        study = optuna.load_study(study_name=spec.name, storage=storage, pruner=pruner, sampler=sampler)
        wait_until_queued(study, spec)
        return study
    study.set_user_attr("spec_fingerprint", spec.fingerprint())
    study.set_user_attr("spec", spec.text)
    queue_grid(study, spec)
    return study


def load_existing_study(spec: SweepSpec, storage: optuna.storages.BaseStorage) -> optuna.Study:
    """The study of ``spec`` in ``storage``, never a new one (for ``--report``)."""
    quiet_optuna()
    try:
        return optuna.load_study(study_name=spec.name, storage=storage)
    except KeyError:
        raise ConfigError(f"the storage holds no study named {spec.name!r}; has the sweep started?") from None


def waiting_trials(study: optuna.Study) -> list[optuna.trial.FrozenTrial]:
    return study.get_trials(deepcopy=False, states=(TrialState.WAITING,))


def queue_grid(study: optuna.Study, spec: SweepSpec) -> None:
    if spec.is_grid:
        queued = {trial.user_attrs.get("slot") for trial in study.get_trials(deepcopy=False)}
        for index, setting in enumerate(spec.grid_settings()):
            for seed in spec.seeds:
                slot = f"{index}:{seed}"
                if slot not in queued:
                    attrs = {"slot": slot, "seed": seed, "setting": setting_label(setting), "params": setting}
                    study.enqueue_trial(optuna_params(setting), user_attrs=attrs)
    study.set_user_attr("queued", True)


def wait_until_queued(study: optuna.Study, spec: SweepSpec, patience: float = 60.0) -> None:
    """Joining a study: check it is this spec's, and wait for its creator to queue the grid
    (queue what is missing if the creator died while doing it)."""
    fingerprint = study.user_attrs.get("spec_fingerprint")
    if fingerprint not in (None, spec.fingerprint()):
        raise ConfigError(
            f"the study {spec.name!r} in this storage was created from a different spec; give this "
            "spec another name (name = ... at its top) or use the spec the study was made with"
        )
    deadline = time.monotonic() + patience
    while not study.user_attrs.get("queued") and time.monotonic() < deadline:
        time.sleep(0.5)
    if not study.user_attrs.get("queued"):
        queue_grid(study, spec)


def optuna_params(setting: dict[str, object]) -> dict[str, object]:
    """Optuna's categorical values are numbers, strings or booleans: lists travel as JSON."""
    return {key: json.dumps(value) if isinstance(value, list) else value for key, value in setting.items()}


def setting_of(params: dict[str, object]) -> dict[str, object]:
    return {key: json.loads(value) if key == "layers" else value for key, value in params.items()}


# ---- taking trials, and giving back those of dead workers ---------------------------------------


def take_trial(study: optuna.Study, spec: SweepSpec) -> optuna.Trial | None:
    """The next trial to run: a queued one, or (distributions) a new sample; None when done."""
    for frozen in waiting_trials(study):
        try:
            if study._storage.set_trial_state_values(frozen._trial_id, state=TrialState.RUNNING):
                return optuna.Trial(study, frozen._trial_id)  # this process took it: atomic
        except optuna.exceptions.UpdateFinishedTrialError:
            continue  # another worker took it and finished it already
    if spec.is_grid:
        return None
    sampled = {trial.user_attrs.get("slot", "").split(":")[0] for trial in study.get_trials(deepcopy=False)}
    if len(sampled - {""}) >= spec.n_trials:
        return None
    return study.ask()


def release_dead_trials(study: optuna.Study) -> int:
    """Fail and queue again the RUNNING trials whose worker is gone; how many there were."""
    optuna.storages.fail_stale_trials(study)  # other machines, through heartbeats (databases)
    host, released = socket.gethostname(), 0
    for trial in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        pid = trial.user_attrs.get("pid")
        if trial.user_attrs.get("host") == host and pid is not None and not process_exists(pid):
            released += queue_again(study, trial, f"its worker (process {pid}) stopped while running it")
        elif pid is None and trial.datetime_start is not None:  # a worker names itself when it takes one
            age = (datetime.datetime.now() - trial.datetime_start).total_seconds()
            if age > UNNAMED_SECONDS:
                released += queue_again(study, trial, "its worker stopped just after taking it")
    return released


def retried(trials: list[optuna.trial.FrozenTrial]) -> set[int]:
    """The numbers of the trials that were queued again (their copies name them in retry_of)."""
    return {trial.user_attrs["retry_of"] for trial in trials if "retry_of" in trial.user_attrs}


def process_exists(pid: int) -> bool:
    """Whether process ``pid`` still runs: a zombie (killed, not yet reaped by its new parent)
    answers signals but runs nothing, so it counts as gone."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except FileNotFoundError:  # it ended between the two looks
        return False
    except (OSError, IndexError):  # no /proc to read (not Linux): trust the signal
        return True
    return state != "Z"


def queue_again(study: optuna.Study, trial: optuna.trial.FrozenTrial, reason: str | None = None) -> bool:
    """Mark ``trial`` failed with ``reason`` and queue the same setting and seed again."""
    storage = study._storage
    reason = reason or f"no heartbeat from its worker for {GRACE_SECONDS} s"
    if trial.state == TrialState.RUNNING:
        try:
            storage.set_trial_user_attr(trial._trial_id, "failure", reason)
            if not storage.set_trial_state_values(trial._trial_id, state=TrialState.FAIL):
                return False
        except optuna.exceptions.UpdateFinishedTrialError:
            return False  # another worker released it first
    attrs = {key: trial.user_attrs[key] for key in RUN_ATTRS if key in trial.user_attrs}
    params = trial.params or trial.system_attrs.get("fixed_params", {})
    study.enqueue_trial(params, user_attrs={**attrs, "retry_of": trial.number})
    return True


# ---- one trial ----------------------------------------------------------------------------------


class ReportToOptuna(Callback):
    """Each epoch's validation metric to ``trial.report``; stop the run when Optuna prunes it."""

    def __init__(self, trial: optuna.Trial, metric: str) -> None:
        self.trial, self.metric, self.pruned_after = trial, metric, None

    def on_epoch_end(self, trainer, epoch: int, logs: dict) -> None:
        value = logs.get(self.metric)
        if value is None or not math.isfinite(value):
            return
        self.trial.report(float(value), epoch + 1)
        if self.trial.should_prune():
            self.pruned_after = epoch + 1
            trainer.stop_training = True


class Heartbeat:
    """Tells a database every few seconds that the trial's worker is alive (RDBStorage)."""

    def __init__(self, storage: optuna.storages.BaseStorage, trial_id: int) -> None:
        self.storage, self.trial_id, self.stopped = storage, trial_id, threading.Event()
        self.thread = threading.Thread(target=self.beat, daemon=True)

    def __enter__(self) -> Heartbeat:
        if isinstance(self.storage, optuna.storages.RDBStorage):
            self.storage.record_heartbeat(self.trial_id)
            self.thread.start()
        return self

    def beat(self) -> None:
        while not self.stopped.wait(HEARTBEAT_SECONDS):
            self.storage.record_heartbeat(self.trial_id)

    def __exit__(self, *exception) -> None:
        self.stopped.set()


def suggest(trial: optuna.Trial, spec: SweepSpec) -> dict[str, object]:
    """The trial's setting: fixed for a queued trial, sampled for a new one."""
    params: dict[str, object] = {}
    queued = trial.user_attrs.get("params")  # a grid setting: only its own keys ([[grid]] tables differ)
    for key, values in spec.grid.items():
        if queued is None or key in queued:
            choices = [optuna_params({key: value})[key] for value in values]  # the same in every trial
            params[key] = trial.suggest_categorical(key, choices)
    for key, distribution in spec.distributions.items():
        if distribution.kind == "categorical":
            params[key] = trial.suggest_categorical(key, list(distribution.choices))
        elif distribution.kind == "int":
            params[key] = trial.suggest_int(key, distribution.low, distribution.high, log=distribution.log)
        else:
            params[key] = trial.suggest_float(key, distribution.low, distribution.high, log=distribution.log)
    return setting_of(params)


def run_trial(study: optuna.Study, trial: optuna.Trial, spec: SweepSpec, folder: Path, load) -> TrialState:
    """Train the trial's setting and seed into ``folder/trials/trial-NNNN``; tell Optuna how it
    went. ``load(dataset, data_dir)`` returns the data (cached by the worker)."""
    trial.set_user_attr("host", socket.gethostname())
    trial.set_user_attr("pid", os.getpid())
    setting = suggest(trial, spec)
    if "slot" not in trial.user_attrs:  # a new sample: this is its first seed, queue the others
        for index, seed in enumerate(spec.seeds):
            attrs = {"slot": f"{trial.number}:{seed}", "seed": seed, "setting": setting_label(setting)}
            if index == 0:
                for key, value in attrs.items():
                    trial.set_user_attr(key, value)
            else:
                study.enqueue_trial(trial.params, user_attrs=attrs)
    run_folder = folder / "trials" / f"trial-{trial.number:04d}"
    trial.set_user_attr("folder", str(run_folder))
    started = time.perf_counter()
    state, value = TrialState.FAIL, None
    with Heartbeat(study._storage, trial._trial_id), warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")  # kept with the trial, e.g. "the network has collapsed"
        try:
            config = spec.config(setting, trial.user_attrs["seed"], out=str(run_folder), quiet=True)
            data = load(config.dataset, config.data_dir)
            config = resolve_for_data(config, data.n_features, data.n_outputs, data.task)
            check_layers_fit(config, data)
            report = ReportToOptuna(trial, spec.metric)
            result = train_run(config, data, run_folder, log=lambda text: None, callbacks=[report])
            value, state = final_metric(result.history.history, spec.metric), TrialState.COMPLETE
            trial.set_user_attr("epochs", len(result.history.history.get("loss", [])))
            for name, metric in result.test_metrics.items():
                trial.set_user_attr(f"test_{name}", float(metric))
            if report.pruned_after is not None:
                state = TrialState.PRUNED
                trial.set_user_attr("failure", f"pruned after epoch {report.pruned_after}")
        except KeyboardInterrupt:  # Ctrl-C (TrainingInterrupted is one): run it again next time
            queue_again(study, study._storage.get_trial(trial._trial_id), "interrupted with Ctrl-C")
            raise
        except DivergenceError as error:
            trial.set_user_attr("failure", f"diverged: {error}")
        except Exception as error:  # whatever goes wrong in one trial, the sweep goes on
            trial.set_user_attr("failure", f"{type(error).__name__}: {error}")
    trial.set_user_attr("wall_time_s", round(time.perf_counter() - started, 3))
    if caught:
        trial.set_user_attr("warnings", " | ".join(dict.fromkeys(str(item.message) for item in caught)))
    if state == TrialState.COMPLETE:
        study.tell(trial, value)
    else:
        study.tell(trial, state=state)
    return state


def final_metric(history: dict[str, list[float]], metric: str) -> float:
    """The metric after the last epoch; a BarenetError when it is missing or not finite."""
    values = history.get(metric)
    if not values:
        logged = ", ".join(name for name in history if name.startswith("val_"))
        raise ConfigError(f"the runs log no {metric}; the validation metrics logged are: {logged}")
    if not math.isfinite(values[-1]):
        raise DivergenceError(f"the final {metric} is {values[-1]}")
    return float(values[-1])
