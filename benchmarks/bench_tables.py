"""barenet's defaults on your own table vs scikit-learn's MLP, on the same held-out rows.

Each scikit-learn toy set is written to CSV with its target as the last column (named
``target``, as pandas' ``frame`` has it), then trained with ``barenet train --dataset
csv:FILE`` and nothing else (every setting at its default), and scored on barenet's test
split: 20 % of the rows, held out the way barenet does it (stratified for classes, seed 0).
scikit-learn's ``MLPClassifier``/``MLPRegressor`` (defaults, ``random_state=0``) in a
``StandardScaler`` pipeline is fitted on the other 80 % and scored on the same rows.

    python benchmarks/bench_tables.py --out /tmp/tables      # prints a Markdown table
"""

from __future__ import annotations

import argparse
import csv
import subprocess
import sys
import time
import warnings
from pathlib import Path

from sklearn import datasets
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import accuracy_score, r2_score
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from barenet import load
from barenet.datasets import load_table, train_validation_split
from barenet.runs.data_sources import TEST_FRACTION

SETS = {
    "iris": datasets.load_iris,
    "wine": datasets.load_wine,
    "breast_cancer": datasets.load_breast_cancer,
    "digits": datasets.load_digits,
    "diabetes": datasets.load_diabetes,
}


def write_csv(name: str, folder: Path) -> Path:
    bunch = SETS[name]()
    path = folder / f"{name}.csv"
    with path.open("w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow([*map(str, bunch.feature_names), "target"])
        for row, target in zip(bunch.data, bunch.target):
            writer.writerow([*(f"{value:.10g}" for value in row), f"{target:g}"])
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="tables-run", help="folder for the CSV files and run folders")
    parser.add_argument("--sets", nargs="+", default=list(SETS), choices=list(SETS))
    arguments = parser.parse_args()
    folder = Path(arguments.out)
    folder.mkdir(parents=True, exist_ok=True)
    print(
        "| data set | rows × features | task | barenet (defaults) | scikit-learn MLP | barenet train time |"
    )
    print("|---|---|---|---|---|---|")
    for name in arguments.sets:
        path = write_csv(name, folder)
        started = time.perf_counter()
        command = [
            sys.executable,
            "-m",
            "barenet",
            "train",
            "--dataset",
            f"csv:{path}",
            "--out",
            str(folder / f"run-{name}"),
            "--overwrite",
            "--quiet",
        ]
        subprocess.run(command, check=True, capture_output=True, text=True)
        seconds = time.perf_counter() - started
        table = load_table(path)
        classification = table.task == "classification"
        (x, y), (x_test, y_test) = train_validation_split(
            table.x, table.y, TEST_FRACTION, stratify=classification, rng=0
        )
        model = load(folder / f"run-{name}" / "model.npz")
        estimator = MLPClassifier if classification else MLPRegressor
        pipeline = make_pipeline(StandardScaler(), estimator(random_state=0))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            pipeline.fit(x, y if classification else y.ravel())
        if classification:
            ours = accuracy_score(y_test, model.predict(x_test))
            theirs = accuracy_score(y_test, pipeline.predict(x_test))
            metric = "accuracy"
        else:
            ours = r2_score(y_test.ravel(), model.predict(x_test).ravel())
            theirs = r2_score(y_test.ravel(), pipeline.predict(x_test))
            metric = "R²"
        print(
            f"| {name} | {len(table.x)} × {table.x.shape[1]} | {table.task} | {metric} {ours:.3f} | "
            f"{metric} {theirs:.3f} | {seconds:.0f} s |",
            flush=True,
        )
    print(f"\n(test rows: {TEST_FRACTION:.0%} held out, the same for both)")


if __name__ == "__main__":
    main()
