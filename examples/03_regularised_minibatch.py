"""Experiment 3: regularised mini-batch training, the tutorial's recipe.

He initialisation, zero biases; [784, 128, 64, 10] ReLU, softmax output, cross-entropy;
inverted dropout keeping 80 % of the hidden units; L2 with lambda = 0.01 in the classic
lambda/(2m)·sum ||W||² form (m = batch size); mini-batches of 64; SGD, learning rate 0.1
with inverse-time decay lr/(1 + 0.01·epoch); 20 epochs; loss and test accuracy plotted per
epoch, as the tutorial did (a Python script because the plot of test accuracy per epoch is
the point; nothing is selected on the test set).

    BARENET_DATA_DIR=../shared/data python examples/03_regularised_minibatch.py
"""

import matplotlib.pyplot as plt
from _common import arguments, caught_training_warnings, mnist_rows, save_figure, stopwatch, write_results
from matplotlib.ticker import MaxNLocator

import barenet
from barenet.training import Trainer


def main():
    args = arguments(__doc__.splitlines()[0], epochs=20, seed=42)
    (x_train, y_train), (x_test, y_test) = mnist_rows(args.data_dir, args.train_limit)
    model = barenet.mlp([784, 128, 64, 10], activation="relu", output_activation="softmax",
                        dropout=0.2, init="he", bias_init="zeros", rng=args.seed)
    trainer = Trainer(model, loss="cross_entropy", optimizer="sgd", lr=0.1,
                      lr_schedule="inverse_time", schedule_options={"decay": 0.01},
                      batch_size=64, l2=0.01, seed=args.seed)
    with stopwatch() as clock, caught_training_warnings() as warned:
        history = trainer.fit(x_train, y_train, epochs=args.epochs, validation_data=(x_test, y_test),
                              verbose=args.verbose)
    logs = history.history
    figure, (left, right) = plt.subplots(1, 2, figsize=(9, 3.6))
    epochs = range(1, len(logs["loss"]) + 1)
    left.plot(epochs, logs["loss"], label="training loss (with L2, dropout on)")
    left.plot(epochs, logs["val_loss"], label="test loss (no L2, dropout off)")
    left.set(title="loss", xlabel="epoch")
    right.plot(epochs, logs["accuracy"], label="training accuracy (dropout on)")
    right.plot(epochs, logs["val_accuracy"], label="test accuracy")
    right.set(title="accuracy", xlabel="epoch")
    for axis in (left, right):
        axis.xaxis.set_major_locator(MaxNLocator(integer=True))
        axis.grid(alpha=0.3)
        axis.legend(fontsize=8)
    figure.suptitle("Exp 3: [784, 128, 64, 10], dropout 0.2, L2 0.01, batch 64, lr 0.1/(1+0.01·epoch)")
    figure.tight_layout()
    save_figure(figure, args.out, "03_loss_accuracy")
    accuracy = logs["val_accuracy"][-1]
    write_results(args.out, "03_regularised_minibatch", {
        "epochs": args.epochs, "train_limit": args.train_limit, "seed": args.seed,
        "test_accuracy": accuracy, "best_epoch_test_accuracy": max(logs["val_accuracy"]),
        "seconds": clock["seconds"], "warnings": warned, "history": logs,
    })
    print(f"RESULT exp3: test accuracy {accuracy:.2%} after {args.epochs} epochs ({clock['seconds']:.0f} s)")


if __name__ == "__main__":
    main()
