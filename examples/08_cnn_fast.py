"""Experiment 8a: a small convolutional network past 99 % MNIST test accuracy in a few epochs.

conv 32 3×3 → BatchNorm2D → max-pool 2 → ReLU → conv 64 3×3 → BatchNorm2D → max-pool 2 → ReLU →
flatten → dropout → dense 128 → BatchNorm1D → ReLU → dropout → dense 10
(``barenet.cnn(hidden=(128,), batch_norm=True)``; ``--batch-norm 0`` leaves the batch norms
out), pixels rescaled inside the model; Adam with a per-step cosine decay of the learning rate
to 0, batch 128, a fixed number of epochs on all 60,000 training images. The test set is
evaluated once, at the end.

    BARENET_DATA_DIR=../shared/data nice python examples/08_cnn_fast.py --verbose 2
    BARENET_DATA_DIR=../shared/data nice python examples/08_cnn_fast.py --dataset fashion-mnist --epochs 7
"""

import math

from _common import arguments, caught_training_warnings, stopwatch, write_results

import barenet
from barenet.datasets import flatten_images, load_fashion_mnist, load_mnist
from barenet.training import Trainer, evaluate


def main():
    args = arguments(__doc__.splitlines()[0], epochs=3, seed=0, hidden=[128], dropout=0.3, batch_size=128,
                     lr=2e-3, batch_norm=1, dataset="mnist")
    load = {"mnist": load_mnist, "fashion-mnist": load_fashion_mnist}[args.dataset]
    (x_train, y_train), (x_test, y_test) = load(args.data_dir)
    x_train, x_test = flatten_images(x_train), flatten_images(x_test)  # float32 0..255
    if args.train_limit is not None:
        x_train, y_train = x_train[: args.train_limit], y_train[: args.train_limit]
    model = barenet.cnn(channels=(32, 64), hidden=args.hidden, dropout=args.dropout,
                        batch_norm=bool(args.batch_norm), preprocessing=[barenet.Rescale(1 / 255)],
                        rng=args.seed)
    steps = args.epochs * math.ceil(len(x_train) / args.batch_size)
    trainer = Trainer(model, loss="cross_entropy", optimizer="adam", lr=args.lr, lr_schedule="cosine",
                      schedule_options={"total": steps, "per": "step"}, batch_size=args.batch_size,
                      seed=args.seed)
    with stopwatch() as clock, caught_training_warnings() as warned:
        history = trainer.fit(x_train, y_train, epochs=args.epochs, verbose=args.verbose)
    test = evaluate(model, x_test, y_test)  # the one look at the test set
    name = "08_cnn_fast" if args.dataset == "mnist" else f"08_cnn_fast_{args.dataset}"
    model.save(args.out / f"{name}.npz")
    write_results(args.out, name, {
        "dataset": args.dataset, "epochs": args.epochs, "train_limit": args.train_limit, "seed": args.seed,
        "hidden": args.hidden,
        "dropout": args.dropout, "batch_norm": bool(args.batch_norm), "batch_size": args.batch_size,
        "lr": args.lr, "parameters": sum(p.size for p in model.parameters()),
        "test_accuracy": test["accuracy"],
        "seconds": clock["seconds"], "warnings": warned, "history": history.history,
    })
    print(f"RESULT exp8a ({args.dataset}): test accuracy {test['accuracy']:.2%} after {args.epochs} epochs; "
          f"{clock['seconds'] / 60:.1f} min of training")


if __name__ == "__main__":
    main()
