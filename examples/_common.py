"""Shared plumbing for the examples: arguments, MNIST as rows, timing, results and plots.

Only the boring parts live here; each example spells out its own recipe in full.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
import warnings
from contextlib import contextmanager
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from barenet.datasets import flatten_images, load_mnist  # noqa: E402
from barenet.training import TrainingWarning  # noqa: E402

EXAMPLES = Path(__file__).resolve().parent


def arguments(description: str, epochs: int, epochs_name: str = "epochs", **extra) -> argparse.Namespace:
    """The options every example shares: ``--epochs`` (or ``--iterations``), ``--train-limit``,
    ``--data-dir``, ``--out``, ``--seeds``, ``--verbose``. ``extra`` adds ``--name default`` pairs."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument(f"--{epochs_name}", type=int, default=epochs, dest="epochs",
                        help=f"training {epochs_name} (default {epochs}: the recipe)")
    parser.add_argument("--train-limit", type=int, default=None,
                        help="use only the first N training images (for quick runs)")
    parser.add_argument("--data-dir", default=None,
                        help="folder holding mnist/ (default: $BARENET_DATA_DIR, then the cache)")
    parser.add_argument("--out", default="runs/" + Path(sys.argv[0]).stem,
                        help="folder for the results JSON and the plots")
    parser.add_argument("--verbose", type=int, default=0, help="0 silent, 2 one line per epoch")
    for name, default in extra.items():
        kind = type(default[0]) if isinstance(default, list) else type(default)
        nargs = "+" if isinstance(default, list) else None
        parser.add_argument("--" + name.replace("_", "-"), type=kind, nargs=nargs, default=default)
    args = parser.parse_args()
    args.out = Path(args.out)
    args.out.mkdir(parents=True, exist_ok=True)
    return args


def mnist_rows(data_dir=None, train_limit: int | None = None, scale: bool = True):
    """MNIST as float32 rows ``(n, 784)``: pixels divided by 255 when ``scale``, raw 0..255
    otherwise. Scaling once here (not in a Rescale layer) keeps full-batch steps cheap."""
    (x_train, y_train), (x_test, y_test) = load_mnist(data_dir)
    if train_limit is not None:
        x_train, y_train = x_train[:train_limit], y_train[:train_limit]
    divisor = np.float32(255 if scale else 1)
    return (flatten_images(x_train) / divisor, y_train), (flatten_images(x_test) / divisor, y_test)


@contextmanager
def stopwatch():
    """``with stopwatch() as clock: ...`` then ``clock["seconds"]``."""
    clock = {"started": time.perf_counter()}
    yield clock
    clock["seconds"] = time.perf_counter() - clock["started"]


@contextmanager
def caught_training_warnings():
    """Collect barenet's TrainingWarnings (and still let them be seen), as a list of strings."""
    collected: list[str] = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", TrainingWarning)
        yield collected
    for warning in caught:
        if issubclass(warning.category, TrainingWarning):
            collected.append(str(warning.message))
            print(f"  TrainingWarning: {warning.message}", flush=True)
        else:
            warnings.showwarning(warning.message, warning.category, warning.filename, warning.lineno)


def mean_spread(values) -> dict:
    values = [float(v) for v in values]
    return {"mean": float(np.mean(values)), "min": min(values), "max": max(values),
            "std": float(np.std(values)), "n": len(values)}


def write_results(out: Path, name: str, results: dict) -> Path:
    """``out/name.json`` with the results plus where and how they were measured."""
    results = {"example": name, "command": " ".join(sys.argv), "python": platform.python_version(),
               "numpy": np.__version__, **results}
    path = out / f"{name}.json"
    path.write_text(json.dumps(results, indent=2) + "\n")
    print(f"results written to {path}")
    return path


def save_figure(figure, out: Path, name: str) -> Path:
    path = out / f"{name}.png"
    figure.savefig(path, dpi=80)
    plt.close(figure)
    print(f"plot written to {path}")
    return path


def plot_curves(curves: dict[str, list[float]], title: str, ylabel: str, xlabel: str = "epoch",
                ylim=None, axis=None):
    """One line per entry of ``curves`` (label -> values per epoch); returns the figure."""
    figure = None
    if axis is None:
        figure, axis = plt.subplots(figsize=(6, 4))
    for label, values in curves.items():
        axis.plot(np.arange(1, len(values) + 1), values, label=label)
    axis.set(title=title, xlabel=xlabel, ylabel=ylabel)
    if ylim is not None:
        axis.set_ylim(*ylim)
    axis.grid(alpha=0.3)
    axis.legend(fontsize=8)
    return figure if figure is not None else axis.figure
