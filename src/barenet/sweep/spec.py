"""The sweep specification: one TOML file, kept under version control beside the code.

    name = "activations"          # the study's name (default: the file's name)
    metric = "val_accuracy"       # the validation metric compared (val_loss, val_r2, ...)
    direction = "maximize"        # default: minimize for losses and errors, maximize otherwise
    seeds = [0, 1, 2]             # every setting runs once per seed
    n_trials = 20                 # settings sampled from [distributions] (not used by a pure grid)

    [base]                        # any `barenet train` config key
    dataset = "spirals"
    epochs = 30

    [grid]                        # every combination runs
    activation = ["sigmoid", "tanh", "relu"]
    "layers[1]" = [50, 100]       # one width of base.layers

    [distributions]               # sampled by Optuna's TPE sampler, n_trials settings
    lr = { low = 1e-4, high = 1e-1, log = true }
    batch_size = { low = 16, high = 128 }          # integers: an int range
    optimizer = { choices = ["adam", "sgd"] }

    [pruner]                      # used with --prune: Optuna's MedianPruner
    startup_trials = 5            # trials that finish before any is pruned
    warmup_epochs = 1             # epochs of a trial before it may be pruned

Without ``[distributions]`` the sweep is a grid: every combination, times every seed. Several
``[[grid]]`` tables run the union of their combinations (e.g. a learning-rate grid per
optimiser). With ``[distributions]``, the lists of one ``[grid]`` become categorical choices of
the sampler.
"""

from __future__ import annotations

import difflib
import hashlib
import itertools
import json
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import ConfigError
from ..runs.config import KEYS, RunConfig, build_config

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

TOP_LEVEL_KEYS = (
    "name", "metric", "direction", "seeds", "n_trials", "base", "grid", "distributions", "pruner"
)
PRUNER_KEYS = {"startup_trials": 5, "warmup_epochs": 1}
SWEEP_DECIDES = ("seed", "out", "quiet", "verbose_every", "threads")  # per trial, not per spec
WIDTH_KEY = re.compile(r"^layers\[(\d+)\]$")  # "layers[1]": one width of base.layers
MINIMIZED_SUFFIXES = ("loss", "mse", "mae")


@dataclass(frozen=True)
class Distribution:
    """A range to sample from: ``float`` or ``int`` (``low``..``high``, optionally ``log``)
    or ``categorical`` (``choices``)."""

    kind: str
    low: float | None = None
    high: float | None = None
    log: bool = False
    choices: tuple = ()


@dataclass
class SweepSpec:
    """A checked sweep specification (see the module docstring)."""

    name: str
    base: dict[str, object]
    grid: dict[str, list] = field(default_factory=dict)  # every value of each key, over all grids
    distributions: dict[str, Distribution] = field(default_factory=dict)
    n_trials: int | None = None
    seeds: list[int] = field(default_factory=lambda: [0])
    metric: str = "val_accuracy"
    direction: str = "maximize"
    pruner: dict[str, int] = field(default_factory=lambda: dict(PRUNER_KEYS))
    text: str = ""  # the TOML it was read from
    grids: list[dict[str, list]] = field(default_factory=list)  # the [[grid]] tables, or the one [grid]

    @property
    def is_grid(self) -> bool:
        return not self.distributions

    @property
    def searched_keys(self) -> list[str]:
        return [*self.grid, *self.distributions]

    def grid_settings(self) -> list[dict[str, object]]:
        """Every combination of each grid's values, in the order the file gives them, once."""
        settings: dict[str, dict[str, object]] = {}
        for grid in self.grids or [self.grid]:
            for values in itertools.product(*grid.values()):
                setting = dict(zip(grid, values))
                settings.setdefault(json.dumps(setting, sort_keys=True), setting)
        return list(settings.values())

    @property
    def n_settings(self) -> int:
        return len(self.grid_settings()) if self.is_grid else int(self.n_trials or 0)

    @property
    def total_trials(self) -> int:
        """Trials of a complete sweep: every setting once per seed."""
        return self.n_settings * len(self.seeds)

    def config(self, setting: Mapping[str, object], seed: int, **extra: object) -> RunConfig:
        """The run configuration of one setting and seed."""
        return build_config(self.base, config_keys(self.base, setting), {"seed": seed}, extra)

    def fingerprint(self) -> str:
        """A hash of the search: machines joining one study must run the same spec."""
        search = {
            "base": self.base,
            "grid": self.grids or self.grid,
            "distributions": {key: vars(value) for key, value in self.distributions.items()},
            "seeds": self.seeds,
            "metric": self.metric,
            "n_trials": self.n_trials,
        }
        return hashlib.sha256(json.dumps(search, sort_keys=True, default=list).encode()).hexdigest()[:16]


def setting_label(setting: Mapping[str, object]) -> str:
    """``activation=relu lr=0.01``: how tables and plots name a setting."""
    return " ".join(f"{key}={format_value(value)}" for key, value in setting.items()) or "base"


def format_value(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, list):
        return "-".join(map(str, value))
    return str(value)


def config_keys(base: Mapping[str, object], setting: Mapping[str, object]) -> dict[str, object]:
    """``setting`` as config keys: ``layers[1] = 50`` changes one width of ``base.layers``."""
    keys: dict[str, object] = {}
    for key, value in setting.items():
        match = WIDTH_KEY.match(key)
        if match:
            layers = list(keys.get("layers", base["layers"]))
            layers[int(match.group(1))] = value
            keys["layers"] = layers
        else:
            keys[key] = value
    return keys


# ---- reading and checking -----------------------------------------------------------------------


def read_spec(path: str | Path) -> SweepSpec:
    """Read and check a sweep spec; every mistake is a ConfigError naming the file."""
    path = Path(path)
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise ConfigError(f"no sweep spec at {path}") from None
    try:
        return parse_spec(text, default_name=path.stem)
    except ConfigError as error:
        raise ConfigError(f"{path}: {error}") from None


def parse_spec(text: str, default_name: str = "sweep") -> SweepSpec:
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"not valid TOML: {error}") from None
    check_known(raw, TOP_LEVEL_KEYS, "the spec's top level")
    base = table(raw, "base")
    for key in SWEEP_DECIDES:
        if key in base:
            raise ConfigError(f"base sets {key!r}, which the sweep decides per trial; {sweep_hint(key)}")
    build_config(base, sources=["[base]"])  # checks every base key and value
    grids = [
        {key: check_grid(base, key, values) for key, values in grid.items()} for grid in grid_tables(raw)
    ]
    grid: dict[str, list] = {}  # every value of each key
    for one in grids:
        for key, values in one.items():
            grid.setdefault(key, [])
            grid[key] += [value for value in values if value not in grid[key]]
    distributions = {
        key: check_distribution(base, key, value) for key, value in table(raw, "distributions").items()
    }
    both = sorted(set(grid) & set(distributions))
    if both:
        raise ConfigError(f"{', '.join(both)} is both in [grid] and in [distributions]; keep one")
    if distributions and len(grids) > 1:
        raise ConfigError("[[grid]] tables cannot be combined with [distributions]; use one [grid]")
    n_trials = raw.get("n_trials")
    if distributions and (not isinstance(n_trials, int) or isinstance(n_trials, bool) or n_trials < 1):
        raise ConfigError(f"[distributions] needs n_trials, a positive integer; got {n_trials!r}")
    if not distributions and n_trials is not None:
        raise ConfigError("n_trials counts the settings sampled from [distributions]; a grid runs every "
                          "combination, so leave n_trials out or add [distributions]")
    seeds = raw.get("seeds", [0])
    if (not isinstance(seeds, list) or not seeds or len(set(seeds)) != len(seeds)
            or not all(isinstance(seed, int) and not isinstance(seed, bool) and seed >= 0 for seed in seeds)):
        raise ConfigError(f"seeds must be a list of different non-negative integers, e.g. [0, 1, 2]; "
                          f"got {seeds!r}")
    metric = raw.get("metric", "val_accuracy")
    if not isinstance(metric, str) or not metric.startswith("val_"):
        raise ConfigError(f"metric must be a validation metric such as val_accuracy, val_loss or val_r2; "
                          f"got {metric!r}")
    if build_config(base).val_split <= 0:
        raise ConfigError(f"the sweep compares {metric} on held-out data: base.val_split must be > 0")
    direction = raw.get("direction", "minimize" if metric.endswith(MINIMIZED_SUFFIXES) else "maximize")
    if direction not in ("minimize", "maximize"):
        raise ConfigError(f"direction must be 'minimize' or 'maximize'; got {direction!r}")
    pruner = dict(PRUNER_KEYS)
    for key, value in table(raw, "pruner").items():
        check_known({key: value}, tuple(PRUNER_KEYS), "[pruner]")
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise ConfigError(f"pruner.{key} must be a non-negative integer; got {value!r}")
        pruner[key] = value
    name = raw.get("name", default_name)
    if not isinstance(name, str) or not name:
        raise ConfigError(f"name must be a non-empty string; got {name!r}")
    return SweepSpec(name, base, grid, distributions, n_trials, seeds, metric, direction, pruner, text, grids)


def sweep_hint(key: str) -> str:
    return {
        "seed": "list the seeds at the top level: seeds = [0, 1, 2]",
        "out": "choose the sweep folder with --out DIR",
        "threads": "each worker uses one BLAS thread (--threads-per-worker changes it)",
    }.get(key, "leave it out")


def grid_tables(raw: Mapping[str, object]) -> list[dict[str, object]]:
    """``[grid]`` as one table, ``[[grid]]`` as several."""
    grids = raw.get("grid", {})
    grids = grids if isinstance(grids, list) else [grids]
    if not all(isinstance(grid, dict) for grid in grids):
        raise ConfigError("grid must be a table ([grid], or several [[grid]]) of key = [values] lines")
    return [grid for grid in grids if grid]


def table(raw: Mapping[str, object], name: str) -> dict[str, object]:
    value = raw.get(name, {})
    if not isinstance(value, dict):
        raise ConfigError(f"{name} must be a table ([{name}] followed by key = value lines)")
    return value


def check_known(raw: Mapping[str, object], known: tuple[str, ...], where: str) -> None:
    for key in raw:
        if key not in known:
            close = difflib.get_close_matches(key, known, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise ConfigError(f"unknown key {key!r} in {where}{hint}; valid keys are: {', '.join(known)}")


def check_searched_key(base: Mapping[str, object], key: str, where: str) -> None:
    match = WIDTH_KEY.match(key)
    if match:
        layers = base.get("layers")
        if not isinstance(layers, list) or not 0 < int(match.group(1)) < len(layers) - 1:
            raise ConfigError(f"{where} {key!r} changes a hidden width of base.layers: base must set "
                              f"layers, and the index must name a hidden layer (1 .. len(layers) - 2)")
        return
    if key in SWEEP_DECIDES:
        raise ConfigError(f"{where} {key!r}: the sweep decides it per trial; {sweep_hint(key)}")
    check_known({key: None}, KEYS, where)


def check_value(base: Mapping[str, object], key: str, value: object, where: str) -> None:
    """Refuse a value ``barenet train`` would refuse, before any trial runs."""
    try:
        build_config(base, config_keys(base, {key: value}))
    except ConfigError as error:
        raise ConfigError(f"{where} {key} = {value!r}: {error}") from None


def check_grid(base: Mapping[str, object], key: str, values: object) -> list:
    check_searched_key(base, key, "[grid]")
    if not isinstance(values, list) or not values:
        raise ConfigError(f"[grid] {key} must be a non-empty list of values, e.g. {key} = [a, b]")
    if len({json.dumps(value) for value in values}) != len(values):
        raise ConfigError(f"[grid] {key} lists a value twice: {values!r}")
    for value in values:
        check_value(base, key, value, "[grid]")
    return values


def check_distribution(base: Mapping[str, object], key: str, value: object) -> Distribution:
    check_searched_key(base, key, "[distributions]")
    example = "{ low = 1e-4, high = 0.1, log = true } or { choices = [...] }"
    if not isinstance(value, dict):
        raise ConfigError(f"[distributions] {key} must be a table such as {example}; got {value!r}")
    check_known(value, ("low", "high", "log", "choices"), f"[distributions] {key}")
    if "choices" in value:
        choices = value["choices"]
        if set(value) != {"choices"} or not isinstance(choices, list) or not choices:
            raise ConfigError(f"[distributions] {key}: choices must be a non-empty list, alone")
        if any(isinstance(choice, (list, dict)) for choice in choices):
            raise ConfigError(f"[distributions] {key}: choices must be numbers, strings or booleans "
                              "(put lists such as layers in [grid])")
        for choice in choices:
            check_value(base, key, choice, "[distributions]")
        return Distribution("categorical", choices=tuple(choices))
    low, high, log = value.get("low"), value.get("high"), value.get("log", False)
    numbers = all(isinstance(bound, (int, float)) and not isinstance(bound, bool) for bound in (low, high))
    if not numbers or not low < high or not isinstance(log, bool) or (log and low <= 0):
        raise ConfigError(f"[distributions] {key} needs numbers low < high (both > 0 with log = true), "
                          f"e.g. {example}; got {value!r}")
    kind = "int" if isinstance(low, int) and isinstance(high, int) else "float"
    for bound in (low, high):
        check_value(base, key, bound, "[distributions]")
    if kind == "float":
        low, high = float(low), float(high)
    return Distribution(kind, low, high, log)
