"""Experiment 2: the two-layer MNIST network of the from-scratch tutorials, exact recipe.

Layers [784, 10, 10]; weights and biases uniform(-0.5, 0.5); ReLU, softmax output,
cross-entropy; full-batch gradient descent on the 60,000 training images (pixels / 255),
learning rate 0.1, 500 iterations. No published figure; a faithful NumPy reproduction
measured 83.3 % over three seeds. Run over three seeds (0, 1, 2; chosen before any run):
with ten hidden units and a uniform init the result depends on the draw; the mean is compared.

    BARENET_DATA_DIR=../shared/data python examples/02_two_layer.py
"""

from _common import (
    arguments,
    caught_training_warnings,
    mean_spread,
    mnist_rows,
    plot_curves,
    save_figure,
    stopwatch,
    write_results,
)

import barenet
from barenet.init import Uniform
from barenet.training import Trainer

REFERENCE = 0.833  # faithful NumPy reproduction, mean of three seeds


def main():
    args = arguments(__doc__.splitlines()[0], epochs=500, epochs_name="iterations", seeds=[0, 1, 2])
    (x_train, y_train), (x_test, y_test) = mnist_rows(args.data_dir, args.train_limit)
    runs = []
    for seed in args.seeds:
        model = barenet.mlp([784, 10, 10], activation="relu", output_activation="softmax",
                            init=Uniform(-0.5, 0.5), bias_init=Uniform(-0.5, 0.5), rng=seed)
        trainer = Trainer(model, loss="cross_entropy", optimizer="sgd", lr=0.1, batch_size=None, seed=seed)
        with stopwatch() as clock, caught_training_warnings() as warned:
            history = trainer.fit(x_train, y_train, epochs=args.epochs, validation_data=(x_test, y_test),
                                  verbose=args.verbose, verbose_every=100)
        accuracy = history.history["val_accuracy"][-1]
        print(f"seed {seed}: test accuracy {accuracy:.2%} ({clock['seconds']:.0f} s)", flush=True)
        runs.append({"seed": seed, "test_accuracy": accuracy, "seconds": clock["seconds"], "warnings": warned,
                     "train_accuracy": history.history["accuracy"][-1],
                     "test_accuracy_curve": history.history["val_accuracy"]})
    summary = mean_spread(r["test_accuracy"] for r in runs)
    figure = plot_curves({f"seed {r['seed']}": r["test_accuracy_curve"] for r in runs},
                         "Exp 2: [784, 10, 10], uniform(-0.5, 0.5), full-batch GD, lr 0.1",
                         "test accuracy", xlabel="iteration (full batch)", ylim=(0, 1))
    figure.axes[0].axhline(REFERENCE, color="k", linestyle=":", label="reference 83.3 %")
    figure.axes[0].legend(fontsize=8)
    save_figure(figure, args.out, "02_test_accuracy")
    write_results(args.out, "02_two_layer", {
        "reference": REFERENCE, "iterations": args.epochs, "train_limit": args.train_limit,
        "test_accuracy": summary, "seconds": sum(r["seconds"] for r in runs), "runs": runs,
    })
    print(f"RESULT exp2: test accuracy {summary['mean']:.2%} mean of {len(runs)} seeds "
          f"(range {summary['min']:.2%}-{summary['max']:.2%}); reference {REFERENCE:.1%}")


if __name__ == "__main__":
    main()
