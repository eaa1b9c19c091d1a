#!/usr/bin/env python
"""Benchmark: one MNIST training epoch of barenet against the matrix-multiply floor,
PyTorch (CPU) and scikit-learn, and time to 98 % test accuracy against PyTorch.

    python benchmarks/bench_mlp.py                       # epoch mode, writes a markdown table
    python benchmarks/bench_mlp.py --output bench.md     # ... and saves it
    python benchmarks/bench_mlp.py --mode time-to-accuracy --seeds 3
    python benchmarks/bench_mlp.py --threads 1           # all contenders on one core
    python benchmarks/bench_mlp.py --train-limit 12800 --epochs 7 --no-memory   # short runs, busy machine

The model is fixed: 784-256-128-10, ReLU, He init, Adam (lr 1e-3), batch 128, float32,
the uint8 pixels scaled by 1/255 inside the model (barenet: a ``Rescale`` layer). Epochs of
the contenders are interleaved (in a rotating order), so machine noise hits all alike; the
table gives medians after a warm-up, with min and max. Peak memory is each contender's
peak RSS in a child process of its own that loads the data and trains one epoch. The
time-to-accuracy mode is the ``mlp`` run of ``bench_time_to_accuracy.py`` (``barenet train``'s
default recipe, learning rate held constant): every seed of each library trains in a process
of its own, and only training is timed (the test accuracy after each epoch is off the clock).

MNIST comes from ``--data-dir``, else ``BARENET_DATA_DIR``, else ``../shared/data`` beside the
repository, else the user cache; when it is nowhere, same-shaped synthetic data is used
(and the table says so). PyTorch and scikit-learn are optional (``pip install barenet[bench]``).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np
from harness import (
    PhaseTimer,
    child_json,
    interleave,
    keep_freed_memory,
    machine_lines,
    peak_rss_mb,
    phase_table,
    timing_table,
)
from mlp_recipe import BATCH_SIZE, FALLBACK_RECIPE, LR, SIZES, default_recipe, load_data
from threadpoolctl import threadpool_limits

from barenet import Rescale, mlp
from barenet.datasets.batching import BatchGatherer
from barenet.layers import Dense
from barenet.training import Trainer, class_ids

# ---- contenders: one object per contender, ``epoch()`` trains one epoch ------------------------------


class BarenetContender:
    name = "barenet"

    def __init__(self, x, y, seed: int = 0, dropout: float = 0.0, recipe: dict | None = None):
        recipe = recipe or FALLBACK_RECIPE
        self.model = mlp(list(recipe["sizes"]), activation=recipe["activation"], init=recipe["init"],
                         dropout=dropout, preprocessing=[Rescale(recipe["scale"])], rng=seed)
        self.trainer = Trainer(self.model, optimizer=recipe["optimizer"], lr=recipe["lr"],
                               batch_size=recipe["batch_size"], seed=seed)
        self.x, self.y = x, y

    def epoch(self) -> None:
        self.trainer.fit(self.x, self.y, epochs=self.trainer.epoch + 1, verbose=0)

    def accuracy(self, x, y) -> float:
        return float(np.mean(self.model.predict(x) == y))


class FloorContender:
    """The epoch's matrix multiplies alone, on preallocated arrays: the BLAS floor.

    The same eight products per batch as barenet's fit (three forward, three dW, two dX: the
    first layer needs no dX), of the same shapes and float32. Inputs are fixed random arrays and
    every product writes into a buffer of its own, so the values stay finite epoch after epoch.
    """

    def __init__(self, n_samples: int, batch_size: int = BATCH_SIZE, sizes=SIZES):
        rng = np.random.default_rng(0)
        f32 = np.float32
        self.name = "GEMM floor"
        self.batches = [min(batch_size, n_samples - start) for start in range(0, n_samples, batch_size)]
        self.weights = [rng.standard_normal((a, b), dtype=f32) * 0.05 for a, b in zip(sizes[:-1], sizes[1:])]
        self.grads = [np.empty_like(w) for w in self.weights]
        self.arrays = {}
        for size in set(self.batches):
            inputs = [rng.random((size, width), dtype=f32) for width in sizes[:-1]]  # X, H1, H2
            deltas = [rng.random((size, width), dtype=f32) for width in sizes[1:]]  # dZ1, dZ2, dZ3
            outputs = [np.empty((size, width), dtype=f32) for width in sizes[1:]]  # Z1, Z2, Z3
            input_grads = [np.empty((size, width), dtype=f32) for width in sizes[1:-1]]  # dH1, dH2
            self.arrays[size] = inputs, deltas, outputs, input_grads

    def epoch(self) -> None:
        (w1, w2, w3), (g1, g2, g3) = self.weights, self.grads
        for size in self.batches:
            (x, h1, h2), (dz1, dz2, dz3), (z1, z2, z3), (dh1, dh2) = self.arrays[size]
            np.matmul(x, w1, out=z1)  # forward: Z1 = X·W1
            np.matmul(h1, w2, out=z2)  # Z2 = H1·W2
            np.matmul(h2, w3, out=z3)  # Z3 = H2·W3
            np.matmul(h2.T, dz3, out=g3)  # backward: dW3 = H2ᵀ·dZ3 (inner dimension: the batch)
            np.matmul(dz3, w3.T, out=dh2)  # dH2 = dZ3·W3ᵀ
            np.matmul(h1.T, dz2, out=g2)  # dW2 = H1ᵀ·dZ2
            np.matmul(dz2, w2.T, out=dh1)  # dH1 = dZ2·W2ᵀ
            np.matmul(x.T, dz1, out=g1)  # dW1 = Xᵀ·dZ1


class TorchContender:
    name = "PyTorch"

    def __init__(self, x, y, threads: int, seed: int = 0, dropout: float = 0.0, recipe: dict | None = None):
        import torch

        recipe = recipe or FALLBACK_RECIPE
        self.torch = torch
        torch.set_num_threads(threads)
        torch.manual_seed(seed)
        sizes = list(recipe["sizes"])
        layers = []
        for index, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:])):
            linear = torch.nn.Linear(fan_in, fan_out)
            torch.nn.init.kaiming_normal_(linear.weight, nonlinearity="relu")  # He: N(0, 2/fan_in)
            torch.nn.init.zeros_(linear.bias)
            layers.append(linear)
            if index < len(sizes) - 2:
                layers.append(torch.nn.ReLU())
                if dropout:
                    layers.append(torch.nn.Dropout(dropout))
        self.model = torch.nn.Sequential(*layers)
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=recipe["lr"])
        self.loss = torch.nn.CrossEntropyLoss()
        self.x, self.y = torch.from_numpy(x), torch.from_numpy(y)
        self.scale = float(recipe["scale"])
        self.batch_size = int(recipe["batch_size"])
        self.generator = torch.Generator().manual_seed(seed)

    def epoch(self) -> None:
        torch = self.torch
        self.model.train()
        order = torch.randperm(len(self.x), generator=self.generator)
        total, correct = 0.0, 0
        for start in range(0, len(order), self.batch_size):
            rows = order[start : start + self.batch_size]
            x_batch = self.x[rows].float().mul_(self.scale)
            y_batch = self.y[rows]
            self.optimizer.zero_grad(set_to_none=True)
            output = self.model(x_batch)
            loss = self.loss(output, y_batch)
            loss.backward()
            self.optimizer.step()
            total += loss.item() * len(rows)  # the same per-batch metrics barenet's fit keeps
            correct += int((output.argmax(1) == y_batch).sum())

    def accuracy(self, x, y) -> float:
        torch = self.torch
        self.model.eval()
        with torch.no_grad():
            scores = self.model(torch.from_numpy(x).float().mul_(self.scale))
        return float((scores.argmax(1).numpy() == y).mean())


class SklearnContender:
    name = "scikit-learn"

    def __init__(self, x, y, seed: int = 0):
        from sklearn.neural_network import MLPClassifier

        self.x = x.astype(np.float32) / np.float32(255)  # sklearn wants float input; float32 kept
        self.y = y
        self.classes = np.arange(10)
        self.model = MLPClassifier(hidden_layer_sizes=SIZES[1:-1], activation="relu", solver="adam",
                                   alpha=0.0, batch_size=BATCH_SIZE, learning_rate_init=LR,
                                   shuffle=True, random_state=seed)

    def epoch(self) -> None:
        self.model.partial_fit(self.x, self.y, classes=self.classes)  # one pass over the data


# ---- per-phase breakdown of barenet's epoch ----------------------------------------------------------


DENSE = "Dense: matmuls X·W, Xᵀ·dZ, dZ·Wᵀ (+ bias add and sum)"
ACTIVATIONS = "activations (ReLU), Rescale, Dropout"
LOSS = "loss: softmax cross-entropy, forward + gradient"
OPTIMISER = "optimiser: Adam step"
DATA = "data: permutation, gather rows into reused buffers, uint8 → float32 (timed alone)"
REST = "metrics, checks, Python loop (the rest)"


def phase_breakdown(contender: BarenetContender, repeats: int = 1) -> tuple[dict[str, float], float]:
    """Seconds per phase of one barenet epoch (median over ``repeats`` instrumented epochs)."""
    trainer, model = contender.trainer, contender.model
    runs = []
    for _ in range(repeats):
        timer = PhaseTimer()
        for layer in model.layers:
            if isinstance(layer, Dense):  # forward_with_cache calls forward; backward calls both halves
                for method in ("forward", "backward_input", "backward_parameters"):
                    timer.wrap(layer, method, DENSE)
            else:  # forward_with_cache is what training calls
                for method in ("forward_with_cache", "backward"):
                    timer.wrap(layer, method, ACTIVATIONS)
        timer.wrap(trainer.loss, "forward", LOSS)
        timer.wrap(trainer.loss, "backward", LOSS)
        timer.wrap(trainer.optimizer, "step", OPTIMISER)
        start = time.perf_counter()
        contender.epoch()
        total = time.perf_counter() - start
        timer.unwrap()
        phases = dict(timer.totals)
        phases[DATA] = time_data_gather(contender.x, contender.y, trainer.batch_size, model.dtype)
        phases[REST] = total - sum(phases.values())
        runs.append((total, phases))
    total = statistics.median(run[0] for run in runs)
    return {name: statistics.median(run[1][name] for run in runs) for name in runs[0][1]}, total


def time_data_gather(x, y, batch_size: int, dtype) -> float:
    """The trainer's per-batch data work alone: the shuffled gather into reused buffers and the
    conversion to float32 (``BatchGatherer``, as in ``Trainer``), plus the permutation."""
    start = time.perf_counter()
    order = np.random.default_rng(1).permutation(len(x))
    gather = BatchGatherer(x, y, batch_size, dtype)
    for first in range(0, len(x), batch_size):
        gather(order[first : first + batch_size])
    return time.perf_counter() - start


def metrics_cost(n_samples: int, batch_size: int) -> float:
    """What the trainer's per-batch accuracy bookkeeping costs over an epoch (argmax, compare, count)."""
    rng = np.random.default_rng(0)
    logits = rng.standard_normal((batch_size, 10), dtype=np.float32)
    labels = rng.integers(0, 10, batch_size)
    counts = np.zeros(10, dtype=np.int64)
    start = time.perf_counter()
    for _ in range(math.ceil(n_samples / batch_size)):
        predicted = class_ids(logits)
        int(np.count_nonzero(predicted == labels))
        counts += np.bincount(predicted, minlength=10)
    return time.perf_counter() - start


# ---- peak memory, each contender in a child process of its own ---------------------------------------


def child_memory(args) -> None:
    """Run in a child: load the data, train one epoch, print the peak RSS in MB as JSON."""
    with threadpool_limits(args.threads):
        (x, y), _, _ = load_data(args.data_dir, args.synthetic)
        which = args.child_memory
        if which == "barenet":
            BarenetContender(x, y).epoch()
        elif which == "barenet-default-recipe":
            recipe, _ = default_recipe()
            contender = BarenetContender(x, y, dropout=recipe["dropout"], recipe=recipe)
            contender.epoch()
            contender.accuracy(*load_data(args.data_dir, args.synthetic)[1])
        elif which == "PyTorch":
            TorchContender(x, y, args.threads).epoch()
        elif which == "scikit-learn":
            SklearnContender(x, y).epoch()
        elif which == "GEMM floor":
            FloorContender(len(x)).epoch()
    print(json.dumps({"peak_rss_mb": peak_rss_mb()}))


def peak_memory(name: str, args) -> float | None:
    arguments = ["--child-memory", name, "--threads", str(args.threads)]
    if args.data_dir:
        arguments += ["--data-dir", args.data_dir]
    if args.synthetic:
        arguments.append("--synthetic")
    found = child_json(Path(__file__).resolve(), arguments, f"the memory of {name}")
    return None if found is None else found["peak_rss_mb"]


# ---- the two modes -----------------------------------------------------------------------------------


def epoch_mode(args, data) -> list[str]:
    (x, y), _, source = data
    contenders = [BarenetContender(x, y), FloorContender(len(x))]
    if not args.no_torch:
        try:
            contenders.append(TorchContender(x, y, args.threads))
        except ImportError:
            print("torch is not installed: PyTorch skipped (pip install barenet[bench])", file=sys.stderr)
    if not args.no_sklearn:
        try:
            contenders.append(SklearnContender(x, y))
        except ImportError:
            print("scikit-learn is not installed: skipped", file=sys.stderr)
    timings = interleave(contenders, args.epochs, args.warmup)
    times = timings.wall
    phases, instrumented_total = phase_breakdown(contenders[0], repeats=args.phase_epochs)
    metrics = metrics_cost(len(x), BATCH_SIZE)
    memory = {}
    if not args.no_memory:
        for name in ["data only", *(name for name in times if not name.startswith("GEMM floor,")),
                     "barenet-default-recipe"]:
            memory[name] = peak_memory(name, args)

    rss = {name: f"{memory[name]:.0f}" for name in times if memory.get(name) is not None}
    lines = [f"## One training epoch: {SIZES[0]}-{SIZES[1]}-{SIZES[2]}-{SIZES[3]} ReLU, Adam, "
             f"batch {BATCH_SIZE}, float32 ({source}, {len(x):,} samples)", "",
             f"Seconds per epoch, {args.epochs} interleaved epochs each after {args.warmup} warm-up.", "",
             *timing_table(timings, extra={"peak RSS MB (1 epoch, own process)": rss})]
    if memory.get("data only") is not None:
        lines.append(f"- peak RSS of Python + NumPy + the data alone: {memory['data only']:.0f} MB")
    if memory.get("barenet-default-recipe") is not None:
        lines.append("- peak RSS of barenet, default recipe with dropout: "
                     f"{memory['barenet-default-recipe']:.0f} MB")
    lines += ["", "Targets: barenet ≤ 0.5 × PyTorch, ≤ 1.5 × GEMM floor; default-recipe peak RSS ≤ 400 MB."]
    floor = statistics.median(times["GEMM floor"])
    lines += ["", f"### Where barenet's epoch goes (one instrumented epoch: {instrumented_total:.3f} s; "
              f"GEMM floor {floor:.3f} s)", "", *phase_table(phases, instrumented_total),
              "", f"(The per-batch accuracy bookkeeping of fit, timed alone: {metrics:.3f} s per epoch; "
              "it is part of the rest.)"]
    return lines


def time_to_accuracy_mode(args) -> list[str]:
    """The default recipe to ``--target`` test accuracy against PyTorch: the ``mlp`` run of
    ``bench_time_to_accuracy.py`` (the loop, child processes and tables the CNNs' runs share)."""
    from bench_time_to_accuracy import time_to_accuracy_report

    args.test_limit = None
    return time_to_accuracy_report(["mlp"], args)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mode", choices=("epoch", "time-to-accuracy"), default="epoch")
    parser.add_argument("--data-dir", help="folder with mnist/ (default: BARENET_DATA_DIR, ../shared/data)")
    parser.add_argument("--synthetic", action="store_true", help="use synthetic MNIST-shaped data")
    parser.add_argument("--threads", type=int, default=os.cpu_count(), help="threads (default: all cores)")
    parser.add_argument("--epochs", type=int, default=5, help="timed epochs per contender (epoch mode)")
    parser.add_argument("--train-limit", type=int, default=None,
                        help="train on the first N training images only (short runs on a busy machine)")
    parser.add_argument("--warmup", type=int, default=1, help="untimed warm-up epochs per contender")
    parser.add_argument("--phase-epochs", type=int, default=1, help="instrumented epochs for the breakdown")
    parser.add_argument("--seeds", type=int, default=3, help="seeds (time-to-accuracy mode)")
    parser.add_argument("--target", type=float, default=0.98, help="test accuracy to reach")
    parser.add_argument("--max-epochs", type=int, default=30, help="epoch cap (time-to-accuracy mode)")
    parser.add_argument("--no-torch", action="store_true")
    parser.add_argument("--no-sklearn", action="store_true")
    parser.add_argument("--no-memory", action="store_true", help="skip the peak-memory child processes")
    parser.add_argument("--output", help="also write the markdown report to this file")
    parser.add_argument("--child-memory", help=argparse.SUPPRESS)
    parser.add_argument("--system-allocator", action="store_true",
                        help="leave glibc's defaults (freed memory returned at once)")
    args = parser.parse_args(argv)
    keep_freed_memory(not args.system_allocator)
    if args.threads < 1:
        parser.error("--threads must be >= 1")
    if args.child_memory:
        child_memory(args)
        return
    with threadpool_limits(args.threads):
        if args.mode == "time-to-accuracy":
            body = time_to_accuracy_mode(args)
        else:
            (x, y), test, source = load_data(args.data_dir, args.synthetic)
            body = epoch_mode(args, ((x[: args.train_limit], y[: args.train_limit]), test, source))
        report = "\n".join(["# barenet benchmark", "", *machine_lines(args.threads), "", *body, ""])
    print(report)
    if args.output:
        Path(args.output).write_text(report, encoding="utf-8")


if __name__ == "__main__":
    main()
