"""Experiment 1: the three-layer MNIST network of the from-scratch tutorials, exact recipe.

Layers [784, 64, 32, 10]; weights N(0, 1/n_prev), biases N(0, 1); ReLU, softmax output,
cross-entropy; full-batch gradient descent on all 60,000 training images (pixels / 255),
learning rate 0.1, 800 iterations, seed 42. Published: 92.88 % test accuracy.

    BARENET_DATA_DIR=../shared/data python examples/01_three_layer_full_batch.py

One iteration is one epoch here (full batch). Test accuracy is tracked every iteration, as
the tutorial did; nothing is selected on it.
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
from barenet.init import LeCunNormal, Normal
from barenet.training import Trainer

PUBLISHED = 0.9288


def run(seed, iterations, data, verbose):
    (x_train, y_train), (x_test, y_test) = data
    model = barenet.mlp(
        [784, 64, 32, 10], activation="relu", output_activation="softmax",
        init=LeCunNormal(),  # N(0, 1/n_prev)
        bias_init=Normal(std=1.0),  # N(0, 1)
        rng=seed,
    )
    trainer = Trainer(model, loss="cross_entropy", optimizer="sgd", lr=0.1, batch_size=None, seed=seed)
    with stopwatch() as clock, caught_training_warnings() as warned:
        history = trainer.fit(x_train, y_train, epochs=iterations, validation_data=(x_test, y_test),
                              verbose=verbose, verbose_every=100)
    test_accuracy = history.history["val_accuracy"][-1]
    print(f"seed {seed}: test accuracy {test_accuracy:.2%} after {iterations} iterations "
          f"({clock['seconds']:.0f} s)", flush=True)
    return {"seed": seed, "test_accuracy": test_accuracy, "seconds": clock["seconds"], "warnings": warned,
            "train_loss": history.history["loss"], "test_accuracy_curve": history.history["val_accuracy"]}


def main():
    args = arguments(__doc__.splitlines()[0], epochs=800, epochs_name="iterations", seeds=[42])
    data = mnist_rows(args.data_dir, args.train_limit)
    runs = [run(seed, args.epochs, data, args.verbose) for seed in args.seeds]
    accuracies = [r["test_accuracy"] for r in runs]
    summary = mean_spread(accuracies)
    figure = plot_curves({f"seed {r['seed']}": r["test_accuracy_curve"] for r in runs},
                         "Exp 1: [784, 64, 32, 10], full-batch GD, lr 0.1", "test accuracy",
                         xlabel="iteration (full batch)", ylim=(0, 1))
    figure.axes[0].axhline(PUBLISHED, color="k", linestyle=":", label="published 92.88 %")
    figure.axes[0].legend(fontsize=8)
    save_figure(figure, args.out, "01_test_accuracy")
    write_results(args.out, "01_three_layer_full_batch", {
        "published": PUBLISHED, "iterations": args.epochs, "train_limit": args.train_limit,
        "test_accuracy": summary,
        "seconds": sum(r["seconds"] for r in runs), "runs": runs,
    })
    spread = ""
    if len(runs) > 1:
        spread = f" (mean of {len(runs)} seeds, range {summary['min']:.2%}-{summary['max']:.2%})"
    print(f"RESULT exp1: test accuracy {summary['mean']:.2%}{spread}; published {PUBLISHED:.2%}")


if __name__ == "__main__":
    main()
