"""Experiment 8b: the best convolutional network of this chapter, selected on a validation split.

conv 32 3×3 → BatchNorm2D → max-pool 2 → ReLU → conv 64 3×3 → BatchNorm2D → max-pool 2 → ReLU →
flatten → dropout → dense 256 → BatchNorm1D → ReLU → dropout → dense 10
(``barenet.cnn(hidden=(256,), batch_norm=True)``), pixels rescaled inside the model; every
training batch shifted at random by up to 2 pixels each way (RandomShift); Adam with a per-step
cosine decay, batch 128. The epoch is chosen on a stratified 10 % validation split of the
training set (EarlyStopping keeps the best weights); the test set is evaluated once, at the end.

    BARENET_DATA_DIR=../shared/data nice python examples/08_cnn_best.py --verbose 2
    BARENET_DATA_DIR=../shared/data nice python examples/08_cnn_best.py --dataset fashion-mnist \
        --flip 1 --max-shift 1 --padding 1 --dropout 0.3 --epochs 15      # clothing: 93.30 %
"""

import math

from _common import arguments, caught_training_warnings, stopwatch, write_results

import barenet
from barenet.datasets import (
    RandomShift,
    flatten_images,
    load_fashion_mnist,
    load_mnist,
    train_validation_split,
)
from barenet.training import Trainer, evaluate
from barenet.training.callbacks import EarlyStopping


def main():
    args = arguments(__doc__.splitlines()[0], epochs=12, seed=0, hidden=[256], dropout=0.4, max_shift=2,
                     flip=0, padding=0, batch_size=128, lr=2e-3, dataset="mnist")
    load = {"mnist": load_mnist, "fashion-mnist": load_fashion_mnist}[args.dataset]
    (x_train, y_train), (x_test, y_test) = load(args.data_dir)
    x_train, x_test = flatten_images(x_train), flatten_images(x_test)  # float32 0..255
    if args.train_limit is not None:
        x_train, y_train = x_train[: args.train_limit], y_train[: args.train_limit]
    (x_fit, y_fit), (x_val, y_val) = train_validation_split(x_train, y_train, 0.1, rng=args.seed)

    model = barenet.cnn(channels=(32, 64), padding=args.padding, hidden=args.hidden, dropout=args.dropout,
                        batch_norm=True, preprocessing=[barenet.Rescale(1 / 255)], rng=args.seed)
    steps = args.epochs * math.ceil(len(x_fit) / args.batch_size)
    trainer = Trainer(model, loss="cross_entropy", optimizer="adam", lr=args.lr, lr_schedule="cosine",
                      schedule_options={"total": steps, "per": "step"}, batch_size=args.batch_size,
                      augment=RandomShift(args.max_shift, rng=args.seed, horizontal_flip=bool(args.flip))
                      if args.max_shift or args.flip else None,
                      seed=args.seed)
    selection = EarlyStopping(monitor="val_accuracy", patience=args.epochs, restore_best_weights=True)
    with stopwatch() as clock, caught_training_warnings() as warned:
        history = trainer.fit(x_fit, y_fit, epochs=args.epochs, validation_data=(x_val, y_val),
                              callbacks=[selection], verbose=args.verbose)
    test = evaluate(model, x_test, y_test)  # the one look at the test set
    name = f"08_cnn_best_{args.dataset}"
    model.save(args.out / f"{name}.npz")
    selected = (selection.best_epoch or 0) + 1
    write_results(args.out, name, {
        "dataset": args.dataset, "epochs": args.epochs, "train_limit": args.train_limit, "seed": args.seed,
        "hidden": args.hidden, "dropout": args.dropout, "max_shift": args.max_shift, "flip": bool(args.flip),
        "padding": args.padding,
        "batch_size": args.batch_size, "lr": args.lr, "parameters": sum(p.size for p in model.parameters()),
        "selected_epoch": selected, "best_val_accuracy": selection.best, "test_accuracy": test["accuracy"],
        "seconds": clock["seconds"], "warnings": warned, "history": history.history,
    })
    print(f"RESULT exp8b ({args.dataset}): test accuracy {test['accuracy']:.2%} (selected epoch {selected} "
          f"on validation {selection.best:.2%}); {clock['seconds'] / 60:.1f} min of training")


if __name__ == "__main__":
    main()
