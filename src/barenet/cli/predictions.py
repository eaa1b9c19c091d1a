"""``barenet predict MODEL FILE...``: images and CSV rows in, the user's own labels out.

Each file is read on its own: one that cannot be read is reported (``barenet: error:``) and
the rest are still predicted; the exit status is 1 at the end if any file failed. CSV rows
(named ``FILE:LINE``) are matched to the model by its stored feature names and label column (see
:func:`barenet.datasets.csv_files.read_feature_rows`). An image whose ink statistics lie
outside what the model saw in training (:func:`barenet.runs.images.unusual_ink`) is predicted
with a warning, since the prediction may mean nothing, and with the advice ``barenet serve``
gives (:func:`barenet.runs.images.drawing_advice`) when the digit's size or place in the image
is the likely cause: ``"unusual"`` and ``"advice"`` in the JSON output.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from ..errors import BarenetError, ConfigError
from ..model import Sequential, load
from ..runs.data_sources import read_feature_rows
from ..runs.images import drawing_advice, read_digit_file, unusual_ink
from ..runs.model_data import checked_metadata
from ..runs.run_folders import model_path
from .text_commands import is_text_model, predict_text

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff", ".ppm", ".pgm", ".pbm")
TABLE_SUFFIXES = (".csv", ".gz", ".txt", ".tsv")


def read_file(name: str, model: Sequential, metadata: dict) -> tuple[list[str], np.ndarray, list[dict]]:
    """Input names, feature rows and, per row, what is unusual about it: ``{}``, or the
    reasons (``"unusual"``) and, for an image whose size or place is the likely cause, what to
    change (``"advice"``)."""
    suffix = Path(name).suffix.lower()
    if suffix in IMAGE_SUFFIXES:
        if model.in_features != 784:
            raise ConfigError(
                f"{name}: an image becomes 784 features (28x28 pixels), but the model takes "
                f"{model.in_features} features; give CSV rows, or a model trained on 28x28 images"
            )
        digit = read_digit_file(name)
        row = digit.image.reshape(1, -1)
        statistics = metadata.get("ink_statistics")
        reasons = unusual_ink(row, statistics) if statistics else []
        found: dict = {"unusual": reasons} if reasons else {}
        advice = drawing_advice(digit) if reasons else ""
        if advice:
            found["advice"] = advice
        return [name], row, [found]
    if suffix in TABLE_SUFFIXES:
        table, line_numbers = read_feature_rows(name, model.in_features, metadata)
        return [f"{name}:{line}" for line in line_numbers], table, [{} for _ in table]
    raise ConfigError(
        f"{name}: expected an image ({', '.join(IMAGE_SUFFIXES)}) or a CSV file of feature rows "
        f"({', '.join(TABLE_SUFFIXES)})"
    )


def predictions(
    model: Sequential, names: list[str], x: np.ndarray, labels: list[str], top: int
) -> list[dict]:
    """One JSON-ready result per row."""
    if model.task != "classification":
        return [
            {"input": name, "prediction": [float(value) for value in values]}
            for name, values in zip(names, model.predict(x))
        ]
    results = []
    for name, row in zip(names, model.predict_proba(x)):
        likeliest = np.argsort(row)[::-1][: max(top, 1)]
        results.append(
            {
                "input": name,
                "prediction": int(likeliest[0]),
                "label": labels[likeliest[0]],
                "top": [
                    {"class": int(index), "label": labels[index], "probability": round(float(row[index]), 6)}
                    for index in likeliest
                ],
            }
        )
    return results


def command_predict(arguments: argparse.Namespace) -> int:
    path = model_path(arguments.model)  # a model file, or a run folder's model.npz
    model = load(path)
    if is_text_model(model):
        return predict_text(model, path, arguments)
    if arguments.text is not None or not arguments.files:
        raise ConfigError(f"{arguments.model} is not a text model: give image or CSV files to predict, "
                          "not --text")
    arguments.model = str(path)
    metadata = checked_metadata(model, arguments.model)
    n_classes = max(model.out_features, 2)
    labels = metadata.get("class_names") or [str(index) for index in range(n_classes)]
    results, failed = [], []
    for name in arguments.files:
        try:
            names, x, checks = read_file(name, model, metadata)
        except (BarenetError, OSError) as error:  # report it and go on with the other files
            print(f"barenet: error: {error}", file=sys.stderr)
            failed.append(name)
            continue
        found = predictions(model, names, x, labels, arguments.top or 3)
        for result, check in zip(found, checks):
            if check:
                result.update(check)
                advice = f"; {check['advice']}" if check.get("advice") else ""
                print(
                    f"barenet: warning: {result['input']} looks unlike the images the model was trained on "
                    f"({'; '.join(check['unusual'])}); the prediction may mean nothing{advice}",
                    file=sys.stderr,
                )
        results += found
    if arguments.json:
        print(json.dumps(results, indent=2))
    else:
        for result in results:
            if "top" in result:
                likeliest = ", ".join(
                    f"{entry['label']}: {entry['probability']:.3f}" for entry in result["top"]
                )
                print(f"{result['input']}: {result['label']}  ({likeliest})")
            else:
                print(f"{result['input']}: {' '.join(f'{value:.6g}' for value in result['prediction'])}")
    if failed and len(arguments.files) == 1:  # its error line above says it all
        return 1
    if failed:
        print(
            f"barenet: error: {len(failed)} of {len(arguments.files)} files could not be read: "
            f"{', '.join(failed[:5])}{', ...' if len(failed) > 5 else ''}",
            file=sys.stderr,
        )
        return 1
    return 0
