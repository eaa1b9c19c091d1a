"""barenet.sklearn.MLPClassifier against scikit-learn's MLPClassifier on the digits data.

Same split (stratified, 25 % test, seed 0; pixels / 16), same hyper-parameters (adam, one hidden
layer of 64 ReLU units, alpha 1e-4, learning rate 1e-3, at most 200 iterations, batches of 200,
scikit-learn's stopping rule with tol 1e-4 and 10 iterations), the same seed for both in each
repeat. The fits are interleaved (the order alternates each repeat) so that load from other
processes falls on both alike, and BLAS runs on ``--threads`` threads for both.

Precisions compared (``--precision``):
    float64  X in float64: scikit-learn computes in float64; barenet with dtype="float64".
    float32  X in float32: scikit-learn computes in float32 (it follows X); barenet dtype="float32".
    default  X in float64 and each library's defaults: scikit-learn float64, barenet float32.

Prints, per precision, the median test accuracy and fit time of each library, the median of the
paired fit-time ratios (barenet / scikit-learn), the iterations run, and the load average.

    python benchmarks/bench_sklearn_digits.py [--repeats 7] [--threads 1] [--precision float64 ...]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
import warnings

import numpy as np
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier as SklearnMLP
from threadpoolctl import threadpool_limits

from barenet.sklearn import MLPClassifier as BarenetMLP

SETTINGS = {
    "hidden_layer_sizes": (64,), "activation": "relu", "solver": "adam", "alpha": 1e-4,
    "batch_size": 200, "learning_rate_init": 1e-3, "max_iter": 200, "tol": 1e-4, "n_iter_no_change": 10,
}
# precision → (dtype of X, barenet's dtype)
PRECISIONS = {
    "float64": (np.float64, "float64"), "float32": (np.float32, "float32"), "default": (np.float64, None),
}


def measure(make, data: tuple, seed: int) -> tuple[float, float, int]:
    """(test accuracy, fit seconds, iterations) of one fit."""
    x_train, x_test, y_train, y_test = data
    estimator = make(seed)
    started = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        estimator.fit(x_train, y_train)
    seconds = time.perf_counter() - started
    return estimator.score(x_test, y_test), seconds, estimator.n_iter_


def compare(precision: str, split: tuple, repeats: int) -> None:
    x_dtype, barenet_dtype = PRECISIONS[precision]
    x_train, x_test, y_train, y_test = split
    data = (x_train.astype(x_dtype), x_test.astype(x_dtype), y_train, y_test)
    barenet_options = {} if barenet_dtype is None else {"dtype": barenet_dtype}
    makers = {
        "scikit-learn": lambda seed: SklearnMLP(**SETTINGS, random_state=seed),
        "barenet": lambda seed: BarenetMLP(**SETTINGS, **barenet_options, random_state=seed),
    }
    runs: dict[str, list] = {name: [] for name in makers}
    for seed in range(repeats):
        order = list(makers) if seed % 2 == 0 else list(makers)[::-1]
        for name in order:
            runs[name].append(measure(makers[name], data, seed))
    barenet_dtype_name = barenet_dtype or "default (float32)"
    print(f"\n[{precision}] X {np.dtype(x_dtype).name}, barenet dtype={barenet_dtype_name}; "
          f"load average {os.getloadavg()[0]:.2f}")
    header = f"{'library':<14}{'accuracy':>10}{'fit time (s)':>14}{'min–max (s)':>16}{'iterations':>12}"
    print(f"{header}   (medians)")
    for name, results in runs.items():
        accuracy, seconds, iterations = (statistics.median(column) for column in zip(*results))
        times = [result[1] for result in results]
        spread = f"{min(times):.2f}–{max(times):.2f}"
        print(f"{name:<14}{accuracy:>10.4f}{seconds:>14.3f}{spread:>16}{iterations:>12g}")
    ratios = [b[1] / s[1] for b, s in zip(runs["barenet"], runs["scikit-learn"])]
    accuracies = {name: statistics.median(result[0] for result in results) for name, results in runs.items()}
    gap = accuracies["barenet"] - accuracies["scikit-learn"]
    print(f"barenet / scikit-learn fit time, median of paired ratios: {statistics.median(ratios):.3f}; "
          f"accuracy gap: {100 * gap:+.2f} points")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--threads", type=int, default=1, help="BLAS threads for both (0: the BLAS default)")
    parser.add_argument("--precision", nargs="+", choices=list(PRECISIONS), default=list(PRECISIONS))
    args = parser.parse_args()
    x, y = load_digits(return_X_y=True)
    split = train_test_split(x / 16, y, test_size=0.25, stratify=y, random_state=0)
    print(f"digits: {len(split[0])} training and {len(split[1])} test samples, {args.repeats} repeats, "
          f"BLAS threads: {args.threads or 'default'}, load average {os.getloadavg()[0]:.2f}")
    with threadpool_limits(limits=args.threads or None, user_api="blas"):
        for precision in args.precision:
            compare(precision, split, args.repeats)


if __name__ == "__main__":
    main()
