"""barenet's defaults on your own table vs scikit-learn, on the same held-out test files.

Each scikit-learn toy set is split at random into a training and a test file (80 % / 20 %,
stratified for classes, ``random_state`` = the split's number), both CSV with the target in a
column named ``target`` (as pandas' ``frame`` has it), laid out as ``--layout`` says:

* ``last``: the target as the last column, a number (the class id, or the regression value);
* ``first``: the same, but as the first column;
* ``text-labels``: the last column again, but holding each class's name instead of its id:
  scikit-learn's ``target_names`` (``setosa``, ``class_0``, ``malignant``/``benign``) and, for
  digits, which has none, the digit's English word (``zero`` ... ``nine``, so that the sorted
  names are not in the digits' order). Diabetes, a regression target, stays a number.

barenet trains with
``barenet train --dataset csv:train.csv --test-data test.csv`` and nothing else (every setting
at its default) and the score is the one it prints for the test file. Beside it, fitted on the
same training file and scored on the same test file, each in a ``StandardScaler`` pipeline:

* scikit-learn's ``MLPClassifier``/``MLPRegressor`` (its defaults, but ``max_iter=5000`` so it
  converges, ``random_state`` = the split's number);
* a linear baseline: ``LogisticRegression(max_iter=5000)`` or ``RidgeCV()``.

    python benchmarks/bench_tables.py --out tables --splits 5                # prints a Markdown table
    python benchmarks/bench_tables.py --out tables-first --layout first
    python benchmarks/bench_tables.py --out tables-text --layout text-labels
"""

from __future__ import annotations

import argparse
import csv
import statistics
import subprocess
import sys
import time
from pathlib import Path

from sklearn import datasets
from sklearn.linear_model import LogisticRegression, RidgeCV
from sklearn.metrics import accuracy_score, r2_score
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from barenet.saving import read_npz

SETS = {
    "iris": datasets.load_iris,
    "wine": datasets.load_wine,
    "breast_cancer": datasets.load_breast_cancer,
    "digits": datasets.load_digits,
    "diabetes": datasets.load_diabetes,
}
TEST_FRACTION = 0.2
LAYOUTS = ("last", "first", "text-labels")
DIGIT_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")


def label_texts(name: str, bunch) -> list[str] | None:
    """The class names the ``text-labels`` layout writes for class ids 0..k-1 (None: numbers)."""
    if name == "diabetes":
        return None
    if name == "digits":
        return list(DIGIT_WORDS)
    return [str(text) for text in bunch.target_names]


def write_csv(path: Path, names: list[str], x, y, layout: str, texts: list[str] | None) -> Path:
    """A CSV file of the features and a ``target`` column, laid out as ``layout`` says."""
    with path.open("w", newline="") as file:
        writer = csv.writer(file)
        first = layout == "first"
        writer.writerow(["target", *names] if first else [*names, "target"])
        for row, target in zip(x, y):
            cells = [f"{value:.10g}" for value in row]
            label = texts[int(target)] if layout == "text-labels" and texts else f"{target:g}"
            writer.writerow([label, *cells] if first else [*cells, label])
    return path


def barenet_score(train: Path, test: Path, out: Path, classification: bool) -> tuple[float, float]:
    """The test score barenet prints (accuracy or r2) and the seconds ``barenet train`` took."""
    command = [sys.executable, "-m", "barenet", "train", "--dataset", f"csv:{train}",
               "--test-data", str(test), "--out", str(out), "--overwrite", "--quiet"]
    started = time.perf_counter()
    printed = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    seconds = time.perf_counter() - started
    lines = [line for line in printed.splitlines() if line.startswith("test ")]
    if len(lines) != 1:
        raise RuntimeError(f"expected one 'test loss ...' line from barenet train, got:\n{printed}")
    words = lines[0].split()[1:]
    metrics = dict(zip(words[::2], map(float, words[1::2])))
    wanted = "accuracy" if classification else "r2"
    if wanted not in metrics:
        raise RuntimeError(f"expected {wanted} in barenet's test line, got: {lines[0]!r}")
    return metrics[wanted], seconds


def check_reading(run: Path, texts: list[str] | None, layout: str) -> None:
    """Stop unless barenet took the ``target`` column as the label, with the classes written."""
    metadata = read_npz(run / "model.npz")[0].get("metadata", {})
    if metadata.get("label_name") != "target":
        raise RuntimeError(f"{run}: barenet took {metadata.get('label_name')!r} as the label, not 'target'")
    if layout == "text-labels" and texts and metadata.get("class_names") != sorted(texts):
        raise RuntimeError(f"{run}: classes {metadata.get('class_names')}, expected {sorted(texts)}")


def scikit_learn_scores(x, y, x_test, y_test, classification: bool, seed: int) -> tuple[float, float]:
    """The test scores of scikit-learn's MLP (converged) and of the linear baseline."""
    if classification:
        mlp, linear = MLPClassifier(max_iter=5000, random_state=seed), LogisticRegression(max_iter=5000)
        score = accuracy_score
    else:
        mlp, linear, score = MLPRegressor(max_iter=5000, random_state=seed), RidgeCV(), r2_score
    scores = []
    for estimator in (mlp, linear):
        pipeline = make_pipeline(StandardScaler(), estimator).fit(x, y)
        scores.append(score(y_test, pipeline.predict(x_test)))
    return scores[0], scores[1]


def spread(values: list[float]) -> str:
    return f"{statistics.fmean(values):.3f} ± {statistics.stdev(values):.3f}" if len(values) > 1 else \
        f"{values[0]:.3f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="tables-run", help="folder for the CSV files and run folders")
    parser.add_argument("--sets", nargs="+", default=list(SETS), choices=list(SETS))
    parser.add_argument("--splits", type=int, default=5, help="random train/test splits per set")
    parser.add_argument("--layout", default="last", choices=LAYOUTS,
                        help="where the target column is and what it holds (see above)")
    arguments = parser.parse_args()
    folder = Path(arguments.out)
    folder.mkdir(parents=True, exist_ok=True)
    print("| data set | rows × features | score | barenet (defaults) | scikit-learn MLP (converged) | "
          "linear | barenet − MLP | barenet train time |\n|---|---|---|---|---|---|---|---|")
    for name in arguments.sets:
        bunch = SETS[name]()
        classification = name != "diabetes"
        ours, theirs, linear, seconds = [], [], [], []
        names, texts, layout = list(map(str, bunch.feature_names)), label_texts(name, bunch), arguments.layout
        for split in range(arguments.splits):
            strata = bunch.target if classification else None
            x, x_test, y, y_test = train_test_split(bunch.data, bunch.target, test_size=TEST_FRACTION,
                                                    random_state=split, stratify=strata)
            train = write_csv(folder / f"{name}-{split}-train.csv", names, x, y, layout, texts)
            test = write_csv(folder / f"{name}-{split}-test.csv", names, x_test, y_test, layout, texts)
            run = folder / f"run-{name}-{split}"
            score, took = barenet_score(train, test, run, classification)
            check_reading(run, texts, layout)
            mlp, baseline = scikit_learn_scores(x, y, x_test, y_test, classification, split)
            ours.append(score), theirs.append(mlp), linear.append(baseline), seconds.append(took)
        gap = [a - b for a, b in zip(ours, theirs)]
        metric = "accuracy" if classification else "R²"
        print(f"| {name} | {len(bunch.data)} × {bunch.data.shape[1]} | {metric} | "
              f"{spread(ours)} | {spread(theirs)} | {spread(linear)} | {spread(gap)} | "
              f"{statistics.fmean(seconds):.0f} s |", flush=True)
    print(f"\n(layout {arguments.layout}; mean ± standard deviation over {arguments.splits} random splits; "
          f"test files of {TEST_FRACTION:.0%} of the rows, the same for every model)")


if __name__ == "__main__":
    main()
