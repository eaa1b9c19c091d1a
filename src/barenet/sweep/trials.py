"""One trial of a sweep: its setting, trained as ``barenet train`` trains it, told to Optuna.

A trial's configuration goes through the same recipe as ``barenet train``
(:func:`barenet.runs.recipe.prepare_run`): the same settings give the same run, bit for bit.
``--prune``: each epoch's validation metric goes to ``trial.report``; Optuna's
``MedianPruner`` stops a trial that is worse than the median of the others at that epoch.
"""

from __future__ import annotations

import math
import os
import socket
import time
import warnings
from pathlib import Path

import optuna
from optuna.trial import TrialState

from ..errors import ConfigError, DivergenceError
from ..runs.recipe import Loader, prepare_run
from ..runs.training_run import train_run
from ..training import Callback
from .spec import SweepSpec, setting_label
from .storage import Heartbeat
from .study import optuna_params, requeue, setting_of


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


def run_trial(
    study: optuna.Study, storage: optuna.storages.BaseStorage, trial: optuna.Trial, spec: SweepSpec,
    folder: Path, load: Loader,
) -> TrialState:
    """Train the trial's setting and seed into ``folder/trials/trial-NNNN``; tell Optuna how it
    went. ``load`` reads the data as :func:`~barenet.runs.data_sources.load_data` does (cached
    by the worker)."""
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
    with Heartbeat(storage, study, trial.number), warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")  # kept with the trial, e.g. "the network has collapsed"
        try:
            run = prepare_run(spec.config(setting, trial.user_attrs["seed"], out=str(run_folder), quiet=True),
                              load)
            report = ReportToOptuna(trial, spec.metric)
            result = train_run(run.config, run.data, run_folder, log=lambda text: None, callbacks=[report])
            value, state = final_metric(result.history.history, spec.metric), TrialState.COMPLETE
            trial.set_user_attr("epochs", len(result.history.history.get("loss", [])))
            for name, metric in result.test_metrics.items():
                trial.set_user_attr(f"test_{name}", float(metric))
            if report.pruned_after is not None:
                state = TrialState.PRUNED
                trial.set_user_attr("failure", f"pruned after epoch {report.pruned_after}")
        except KeyboardInterrupt:  # the sweep stopped (TrainingInterrupted is one): run it again next time
            trial.set_user_attr("failure", "interrupted: the sweep was stopped")
            requeue(study, study.tell(trial, state=TrialState.FAIL))
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
