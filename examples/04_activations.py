"""Experiment 4: choice of activation, and what raw pixels with a summed cost do.

[784, 128, 32, 10] with sigmoid, ReLU, tanh and leaky ReLU hidden units in turn, softmax
output; full-batch gradient descent, learning rate 0.03, 200 epochs, on the first 20,000
training images; test accuracy tracked every epoch; seed 42; barenet's default init for each
activation (He for the ReLUs, Xavier for sigmoid and tanh), zero biases.

Two recipes per activation:
  raw     the published run: raw 0..255 pixels and a cross-entropy *summed* over the batch
          (not averaged), so each step is 20,000 times larger. It collapsed to ~11 %
          while the README claimed > 90 %. barenet stops or warns, and says why.
  scaled  the same run with pixels scaled to [0, 1] and the usual averaged cost.
Two ablations with ReLU separate the two causes: raw pixels with an averaged cost, and
scaled pixels with the summed cost.

    BARENET_DATA_DIR=../shared/data python examples/04_activations.py
"""

import matplotlib.pyplot as plt
import numpy as np
from _common import (
    arguments,
    caught_training_warnings,
    mnist_rows,
    save_figure,
    stopwatch,
    write_results,
)

import barenet
from barenet.losses import CrossEntropy
from barenet.training import DivergenceError, Trainer, evaluate

ACTIVATIONS = ["sigmoid", "relu", "tanh", "leaky_relu"]


class SummedCrossEntropy(CrossEntropy):
    """Cross-entropy summed over the batch instead of averaged: value and gradient times n."""

    def forward(self, logits, target):
        value, cache = super().forward(logits, target)
        return value * len(logits), cache

    def backward(self, cache):
        return super().backward(cache) * len(cache[1])  # cache[1]: the rows that count


def run(activation, pixels, cost, args, data):
    (x_train, y_train), (x_test, y_test) = data[pixels]
    model = barenet.mlp([784, 128, 32, 10], activation=activation, output_activation="softmax", rng=args.seed)
    loss = SummedCrossEntropy() if cost == "summed" else CrossEntropy()
    trainer = Trainer(model, loss=loss, optimizer="sgd", lr=0.03, batch_size=None, seed=args.seed)
    diverged = None
    name = f"{activation} / {pixels} / {cost}"
    print(f"{name} ...", flush=True)
    # NumPy's overflow warnings are silenced: barenet itself detects non-finite values and says why.
    quiet_numpy = np.errstate(over="ignore", invalid="ignore")
    with stopwatch() as clock, caught_training_warnings() as warned, quiet_numpy:
        try:
            trainer.fit(x_train, y_train, epochs=args.epochs, validation_data=(x_test, y_test),
                        verbose=args.verbose, verbose_every=50)
        except DivergenceError as error:
            diverged = str(error)
            print(f"  DivergenceError: {error}", flush=True)
    history = trainer.history.history
    with np.errstate(over="ignore", invalid="ignore"):  # the last finite weights may be huge
        final = evaluate(model, x_test, y_test)
        predicted = np.bincount(model.predict(x_test), minlength=10)
    collapsed = predicted.max() / predicted.sum() > 0.5  # one class for most test images, at the end
    status = "diverged" if diverged else ("collapsed" if collapsed else "ok")
    epochs_run = len(trainer.history.epochs)
    print(f"  -> {name}: test accuracy {final['accuracy']:.2%}, {status}, {epochs_run} epochs "
          f"({clock['seconds']:.0f} s)", flush=True)
    return {"activation": activation, "pixels": pixels, "cost": cost, "test_accuracy": final["accuracy"],
            "status": status, "epochs_run": epochs_run, "divergence": diverged,
            "warnings": warned, "predicted_class_counts": predicted.tolist(), "seconds": clock["seconds"],
            "test_accuracy_curve": history.get("val_accuracy", [])}


def main():
    args = arguments(__doc__.splitlines()[0], epochs=200, seed=42, no_ablation=False)
    limit = args.train_limit or 20_000
    data = {"raw": mnist_rows(args.data_dir, limit, scale=False), "scaled": mnist_rows(args.data_dir, limit)}
    plan = [(a, "raw", "summed") for a in ACTIVATIONS] + [(a, "scaled", "mean") for a in ACTIVATIONS]
    if not args.no_ablation:
        plan += [("relu", "raw", "mean"), ("relu", "scaled", "summed")]
    runs = [run(activation, pixels, cost, args, data) for activation, pixels, cost in plan]

    y_test = data["scaled"][1][1]
    shares = np.bincount(y_test, minlength=10) / len(y_test)
    # What a NumPy script prints when its outputs are NaN: argmax of a NaN row is 0.
    nan_accuracy = float(shares[0])

    figure, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2), gridspec_kw={"width_ratios": [1.1, 1]})
    colours = dict(zip(ACTIVATIONS, ["tab:blue", "tab:orange", "tab:green", "tab:red"]))
    for r in runs:
        curve = r["test_accuracy_curve"]
        if r["pixels"] == "scaled" and r["cost"] == "mean":
            style = {"linestyle": "-", "label": f"{r['activation']}, pixels / 255: {r['test_accuracy']:.1%}"}
        elif r["pixels"] == "raw" and r["cost"] == "summed":
            style = {"linestyle": "--", "marker": "x" if len(curve) < 5 else None,
                     "label": f"{r['activation']}, raw + summed: {r['status']}"}
        else:
            continue
        left.plot(np.arange(1, len(curve) + 1), curve, color=colours[r["activation"]], **style)
    left.set(title="test accuracy per epoch (full-batch GD, lr 0.03)", xlabel="epoch", ylabel="test accuracy",
             ylim=(0, 1))
    left.grid(alpha=0.3)
    left.legend(fontsize=7, loc="center right")
    # Which classes the final network predicts on the test set: one row per run, one column per class.
    shown = [r for r in runs if r["pixels"] == "raw" or r["cost"] == "summed"]
    rows = [np.array(r["predicted_class_counts"]) / len(y_test) for r in shown] + [shares]
    labels = [f"{r['activation']} {r['pixels']}/{r['cost']} ({r['status']})" for r in shown]
    labels.append("true class shares")
    right.imshow(np.array(rows), cmap="Greys", vmin=0, vmax=1, aspect="auto")
    for row, values in enumerate(rows):
        for column, value in enumerate(values):
            right.text(column, row, f"{value:.0%}", ha="center", va="center", fontsize=7,
                       color="white" if value > 0.5 else "black")
    right.set(title="share of test images predicted as each class", xlabel="predicted class",
              xticks=range(10), yticks=range(len(rows)))
    right.set_yticklabels(labels, fontsize=7)
    figure.tight_layout()
    save_figure(figure, args.out, "04_activations")
    write_results(args.out, "04_activations", {
        "epochs": args.epochs, "train_limit": limit, "seed": args.seed,
        "test_class_shares": shares.tolist(), "accuracy_if_outputs_are_nan": nan_accuracy,
        "seconds": sum(r["seconds"] for r in runs), "runs": runs,
    })
    table = ", ".join(f"{r['activation']} {r['pixels']}/{r['cost']} {r['test_accuracy']:.1%} ({r['status']})"
                      for r in runs)
    print(f"RESULT exp4: {table}")


if __name__ == "__main__":
    main()
