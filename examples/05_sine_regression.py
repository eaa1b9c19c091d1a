"""Experiment 5: sine regression with per-sample SGD, drawn as the tutorial drew it.

[1, 10, 10, 1], ReLU hidden units, sigmoid output; loss ½(y - ŷ)² (barenet's MSE(half=True));
per-sample SGD (batch size 1, reshuffled every epoch), learning rate 0.01, 1000 epochs;
inputs standardised by a Standardize layer fitted on the training inputs. The data: x uniform
on [-2π, 2π], target y = (sin x + 1) / 2 in [0, 1] (so a sigmoid output can reach it);
200 training points (``--n-samples``), 1,000 fresh test points. The figure shows target
and prediction after 10, 50, 100, 500 and 1000 epochs.

    python examples/05_sine_regression.py
"""

import matplotlib.pyplot as plt
import numpy as np
from _common import arguments, caught_training_warnings, save_figure, stopwatch, write_results

import barenet
from barenet.datasets import make_sine
from barenet.losses import MSE
from barenet.training import Trainer, evaluate
from barenet.training.callbacks import Callback

SNAPSHOTS = (10, 50, 100, 500, 1000)


class Snapshots(Callback):
    """Keep the model's predictions on a grid after chosen epochs."""

    def __init__(self, grid, epochs):
        self.grid, self.epochs, self.predictions = grid, set(epochs), {}

    def on_epoch_end(self, trainer, epoch, logs):
        if epoch + 1 in self.epochs:
            self.predictions[epoch + 1] = trainer.model.predict(self.grid)[:, 0]


def main():
    args = arguments(__doc__.splitlines()[0], epochs=1000, seed=42, n_samples=200)
    x_train, y_train = make_sine(args.n_samples, rng=args.seed)
    x_test, y_test = make_sine(1000, rng=args.seed + 1)
    model = barenet.mlp([1, 10, 10, 1], activation="relu", output_activation="sigmoid", task="regression",
                        preprocessing=[barenet.Standardize.fit(x_train)], rng=args.seed)
    trainer = Trainer(model, loss=MSE(half=True), optimizer="sgd", lr=0.01, batch_size=1, seed=args.seed)
    grid = np.linspace(-2 * np.pi, 2 * np.pi, 400, dtype=np.float32)[:, None]
    wanted = [e for e in SNAPSHOTS if e < args.epochs] + [args.epochs]
    snapshots = Snapshots(grid, wanted)
    with stopwatch() as clock, caught_training_warnings() as warned:
        history = trainer.fit(x_train, y_train, epochs=args.epochs, callbacks=[snapshots],
                              verbose=args.verbose, verbose_every=100)
    test = evaluate(model, x_test, y_test, loss=MSE(half=True))

    figure, axes = plt.subplots(2, 3, figsize=(10, 5.6), sharex=False)
    target = 0.5 * (np.sin(grid[:, 0]) + 1)
    for axis, epoch in zip(axes.flat, wanted):
        axis.plot(grid[:, 0], target, color="k", linewidth=1, label="target (sin x + 1)/2")
        axis.plot(grid[:, 0], snapshots.predictions[epoch], color="tab:red", label="prediction")
        axis.scatter(x_train[:, 0], y_train[:, 0], s=3, color="tab:blue", alpha=0.4, label="training points")
        axis.set(title=f"after {epoch} epochs", xlabel="x", ylim=(-0.1, 1.1))
    axes.flat[0].legend(fontsize=7, loc="lower left")
    last = axes.flat[5]
    last.semilogy(np.arange(1, len(history.history["loss"]) + 1), history.history["loss"])
    last.set(title="training loss ½·mean (y - ŷ)²", xlabel="epoch")
    for axis in axes.flat[len(wanted):5]:
        axis.set_visible(False)
    figure.suptitle("Exp 5: [1, 10, 10, 1] ReLU, sigmoid output, per-sample SGD, lr 0.01")
    figure.tight_layout()
    save_figure(figure, args.out, "05_sine")
    write_results(args.out, "05_sine_regression", {
        "epochs": args.epochs, "n_samples": args.n_samples, "seed": args.seed,
        "test_half_mse": test["loss"], "test_mse": test["mse"], "test_r2": test["r2"],
        "train_loss": history.history["loss"], "seconds": clock["seconds"], "warnings": warned,
    })
    print(f"RESULT exp5: test R² {test['r2']:.4f}, test MSE {test['mse']:.5f} after {args.epochs} epochs "
          f"({clock['seconds']:.0f} s)")


if __name__ == "__main__":
    main()
