"""barenet.sklearn.MLPClassifier against scikit-learn's MLPClassifier on the digits data.

Same split, same hyper-parameters (adam, one hidden layer of 64 ReLU units, alpha 1e-4, at most
200 iterations, batches of 200, scikit-learn's stopping rule), one seed per repeat for both.
Prints the median test accuracy and fit time of each over the repeats.

    python benchmarks/bench_sklearn_digits.py [--repeats 7]
"""

from __future__ import annotations

import argparse
import statistics
import time
import warnings

from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier as SklearnMLP

from barenet.sklearn import MLPClassifier as BarenetMLP

SETTINGS = {
    "hidden_layer_sizes": (64,), "activation": "relu", "solver": "adam", "alpha": 1e-4,
    "batch_size": 200, "learning_rate_init": 1e-3, "max_iter": 200, "tol": 1e-4, "n_iter_no_change": 10,
}


def measure(estimator_class: type, data: tuple, seed: int) -> tuple[float, float, int]:
    """(test accuracy, fit seconds, iterations) of one fit."""
    x_train, x_test, y_train, y_test = data
    estimator = estimator_class(**SETTINGS, random_state=seed)
    started = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        estimator.fit(x_train, y_train)
    seconds = time.perf_counter() - started
    return estimator.score(x_test, y_test), seconds, estimator.n_iter_


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    repeats = parser.parse_args().repeats
    x, y = load_digits(return_X_y=True)
    data = train_test_split(x / 16, y, test_size=0.25, stratify=y, random_state=0)
    print(f"digits: {len(data[0])} training and {len(data[1])} test samples, {repeats} repeats")
    print(f"{'library':<14}{'accuracy':>10}{'fit time (s)':>14}{'iterations':>12}   (medians)")
    for name, estimator_class in (("scikit-learn", SklearnMLP), ("barenet", BarenetMLP)):
        runs = [measure(estimator_class, data, seed) for seed in range(repeats)]
        accuracy, seconds, iterations = (statistics.median(column) for column in zip(*runs))
        print(f"{name:<14}{accuracy:>10.4f}{seconds:>14.3f}{iterations:>12g}")


if __name__ == "__main__":
    main()
