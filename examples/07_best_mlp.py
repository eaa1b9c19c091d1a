"""Experiment 7: the best fully connected network barenet trains in under 15 minutes on a CPU.

784-800-800-10 ReLU with dropout 0.2 after each hidden layer, He init, pixels rescaled inside
the model (Rescale(1/255)); every training batch shifted at random by up to 2 pixels each way
(RandomShift); Adam, learning rate 1e-3 with a cosine decay to 0 over the run, batch 128.
Model selection uses a stratified 10 % validation split of the training set only: the
weights of the epoch with the best validation accuracy are kept (EarlyStopping with
restore_best_weights). The test set is evaluated once, at the end.

    BARENET_DATA_DIR=../shared/data python examples/07_best_mlp.py
"""

import matplotlib.pyplot as plt
import numpy as np
from _common import arguments, caught_training_warnings, save_figure, stopwatch, write_results

import barenet
from barenet.datasets import RandomShift, flatten_images, load_mnist, train_validation_split
from barenet.training import Trainer, evaluate
from barenet.training.callbacks import EarlyStopping


def main():
    args = arguments(__doc__.splitlines()[0], epochs=24, seed=42, hidden=[800, 800], dropout=0.2,
                     max_shift=2, batch_size=128, lr=1e-3)
    (x_train, y_train), (x_test, y_test) = load_mnist(args.data_dir)
    x_train, x_test = flatten_images(x_train), flatten_images(x_test)  # float32 0..255
    if args.train_limit is not None:
        x_train, y_train = x_train[: args.train_limit], y_train[: args.train_limit]
    (x_fit, y_fit), (x_val, y_val) = train_validation_split(x_train, y_train, 0.1, rng=args.seed)

    model = barenet.mlp([784, *args.hidden, 10], activation="relu", dropout=args.dropout, init="he",
                        preprocessing=[barenet.Rescale(1 / 255)], rng=args.seed)
    trainer = Trainer(model, loss="cross_entropy", optimizer="adam", lr=args.lr, lr_schedule="cosine",
                      schedule_options={"total": args.epochs}, batch_size=args.batch_size,
                      augment=RandomShift(args.max_shift, rng=args.seed), seed=args.seed)
    selection = EarlyStopping(monitor="val_accuracy", patience=args.epochs, restore_best_weights=True)
    with stopwatch() as clock, caught_training_warnings() as warned:
        history = trainer.fit(x_fit, y_fit, epochs=args.epochs, validation_data=(x_val, y_val),
                              callbacks=[selection], verbose=args.verbose)
    test = evaluate(model, x_test, y_test)  # the one look at the test set
    model.save(args.out / "07_best_mlp.npz")

    logs = history.history
    predicted = model.predict(x_test)
    wrong = np.flatnonzero(predicted != y_test)
    figure = plt.figure(figsize=(10, 4))
    curves = figure.add_subplot(1, 2, 1)
    epochs = np.arange(1, len(logs["loss"]) + 1)
    curves.plot(epochs, 1 - np.array(logs["accuracy"]), marker=".",
                label="training error (augmented, dropout on)")
    curves.plot(epochs, 1 - np.array(logs["val_accuracy"]), marker=".", label="validation error")
    test_error = 1 - test["accuracy"]
    selected = (selection.best_epoch or 0) + 1
    curves.axvline(selected, color="tab:green", linestyle="--", linewidth=1,
                   label=f"epoch kept (best validation): {selected}")
    curves.axhline(test_error, color="k", linestyle=":", label=f"test error of that model {test_error:.2%}")
    title = f"Exp 7: 784-{'-'.join(map(str, args.hidden))}-10, selected on validation"
    curves.set(yscale="log", xlabel="epoch", ylabel="error rate", title=title)
    curves.grid(alpha=0.3, which="both")
    curves.legend(fontsize=7)
    for index, sample in enumerate(wrong[:24]):
        axis = figure.add_subplot(4, 12, 7 + index + 6 * (index // 6))
        axis.imshow(x_test[sample].reshape(28, 28), cmap="gray_r")
        axis.set_title(f"{y_test[sample]}→{predicted[sample]}", fontsize=7)
        axis.axis("off")
    figure.text(0.75, 0.96, f"{len(wrong)} test errors, first 24 (true→predicted)", ha="center", fontsize=9)
    save_figure(figure, args.out, "07_best_mlp")
    write_results(args.out, "07_best_mlp", {
        "epochs": args.epochs, "train_limit": args.train_limit, "seed": args.seed, "hidden": args.hidden,
        "dropout": args.dropout, "max_shift": args.max_shift, "batch_size": args.batch_size, "lr": args.lr,
        "selected_epoch": (selection.best_epoch or 0) + 1, "best_val_accuracy": selection.best,
        "test_accuracy": test["accuracy"], "test_errors": int(len(wrong)), "seconds": clock["seconds"],
        "warnings": warned, "history": logs,
    })
    print(f"RESULT exp7: test accuracy {test['accuracy']:.2%} (selected epoch {selected} "
          f"on validation {selection.best:.2%}); {clock['seconds'] / 60:.1f} min")


if __name__ == "__main__":
    main()
