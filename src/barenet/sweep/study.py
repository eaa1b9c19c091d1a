"""The study of a sweep: creating or joining it, its queue of trials, taking the next trial,
and giving back the trials of workers that died. Optuna's public API only.

One Optuna trial is one setting trained with one seed. The seed is a user attribute
(``trial.user_attrs["seed"]``), never a searched parameter, so the sampler sees settings only.

* A **grid** is put in the study's queue in full when the study is created (every setting ×
  every seed, ``enqueue_trial``). Workers, on one machine or many, take trials from that queue
  with ``study.ask()``, which takes a queued trial atomically in every Optuna storage, so no
  trial runs twice. (A ``GridSampler`` picks grid points at random, and two workers starting
  together may pick the same one.)
* **Distributions** are sampled by Optuna's ``TPESampler``: a worker asks for a new setting,
  runs it with the first seed and queues the same setting for the other seeds. (Workers that
  ask at the same moment may sample up to workers - 1 settings more than ``n_trials``.)
* A worker that dies leaves its trial RUNNING. Before taking a trial every worker fails the
  RUNNING trials of processes on its own machine that no longer exist, and queues them again
  (Optuna does not do that); with a database Optuna's heartbeat fails those of other machines,
  and its stale-trial callback (:func:`requeue`) queues them again. Optuna's
  ``RetryFailedTrialCallback`` is not used: its copy keeps every user attribute, the dead
  worker's process id included, which would make the copy look abandoned in turn.
"""

from __future__ import annotations

import datetime
import json
import os
import socket
import time
from pathlib import Path

import optuna
from optuna.trial import TrialState

from ..errors import ConfigError
from .spec import SweepSpec, setting_label
from .storage import quiet_optuna, trial_id

UNNAMED_SECONDS = 120  # a RUNNING trial that names no worker after this long lost its worker
RUN_ATTRS = ("slot", "seed", "setting", "params")  # what a queued copy of a trial keeps
UNUSED = "unused"  # a trial made when the queue ran empty under a worker's feet: not a run


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


def is_complete(study: optuna.Study, spec: SweepSpec) -> bool:
    """Whether every trial of the spec has finished: none queued, running or still to sample."""
    unfinished = study.get_trials(deepcopy=False, states=(TrialState.WAITING, TrialState.RUNNING))
    return not unfinished and not may_sample(study, spec)


def run_trials(study: optuna.Study) -> list[optuna.trial.FrozenTrial]:
    """Every trial that is a run (not one made when the queue ran empty under a worker)."""
    return [trial for trial in study.get_trials(deepcopy=False) if UNUSED not in trial.user_attrs]


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
    if not waiting_trials(study) and not may_sample(study, spec):
        return None
    trial = study.ask()  # the oldest queued trial, taken atomically; a new trial when none is left
    if "seed" in trial.user_attrs or "retry_of" in trial.user_attrs or may_sample(study, spec):
        return trial
    trial.set_user_attr(UNUSED, "the queue ran empty while this worker asked: another worker took the last")
    study.tell(trial, state=TrialState.FAIL)
    return None


def may_sample(study: optuna.Study, spec: SweepSpec) -> bool:
    """Whether a new setting may still be sampled (never for a grid)."""
    if spec.is_grid:
        return False
    sampled = {trial.user_attrs.get("slot", "").split(":")[0] for trial in study.get_trials(deepcopy=False)}
    return len(sampled - {""}) < spec.n_trials


def release_dead_trials(study: optuna.Study, storage: optuna.storages.BaseStorage) -> int:
    """Fail and queue again the RUNNING trials whose worker is gone; how many there were."""
    optuna.storages.fail_stale_trials(study)  # other machines, through heartbeats (databases)
    host, released = socket.gethostname(), 0
    for trial in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        pid = trial.user_attrs.get("pid")
        if trial.user_attrs.get("host") == host and pid is not None and not process_exists(pid):
            reason = f"its worker (process {pid}) stopped while running it"
            released += queue_again(study, storage, trial, reason)
        elif pid is None and trial.datetime_start is not None:  # a worker names itself when it takes one
            age = (datetime.datetime.now() - trial.datetime_start).total_seconds()
            if age > UNNAMED_SECONDS:
                released += queue_again(study, storage, trial, "its worker stopped just after taking it")
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


def queue_again(
    study: optuna.Study, storage: optuna.storages.BaseStorage, trial: optuna.trial.FrozenTrial, reason: str
) -> bool:
    """Mark the RUNNING ``trial`` of another process failed with ``reason`` and queue the same
    setting and seed again; False when another worker released it first. Failing it through
    the storage is atomic: of two workers releasing the same trial, one succeeds."""
    number = trial_id(storage, study, trial.number)
    try:
        storage.set_trial_user_attr(number, "failure", reason)
        if not storage.set_trial_state_values(number, state=TrialState.FAIL):
            return False
    except optuna.exceptions.UpdateFinishedTrialError:
        return False  # another worker released it first
    requeue(study, trial)
    return True


def requeue(study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
    """Queue the setting and seed of the failed ``trial`` again (also the storage's callback for
    trials Optuna failed for lack of heartbeats)."""
    attrs = {key: trial.user_attrs[key] for key in RUN_ATTRS if key in trial.user_attrs}
    params = trial.params or trial.system_attrs.get("fixed_params", {})
    study.enqueue_trial(params, user_attrs={**attrs, "retry_of": trial.number})
