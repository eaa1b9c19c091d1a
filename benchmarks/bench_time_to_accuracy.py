#!/usr/bin/env python
"""Benchmark: training time to a test accuracy, barenet against PyTorch (CPU), the same
recipe and seeds for both, every training run in a child process of its own.

    python benchmarks/bench_time_to_accuracy.py                        # all runs, 3 seeds
    python benchmarks/bench_time_to_accuracy.py --runs cnn-mnist cnn-fashion --output tta.md
    python benchmarks/bench_time_to_accuracy.py --runs mlp   # what bench_mlp.py --mode time-to-accuracy runs
    python benchmarks/bench_time_to_accuracy.py --seeds 1 --train-limit 500 --test-limit 500   # a smoke run

The runs:

- ``cnn-mnist``: the fast CNN of ``examples/08_cnn_fast.py``, ``barenet.cnn(channels=(32, 64),
  hidden=(128,), batch_norm=True, dropout=0.3)`` with a ``Rescale(1/255)`` inside; Adam lr 2e-3
  with a per-step cosine decay to 0 over 3 epochs, batch 128, float32; to 99.0 % MNIST test
  accuracy, at most the recipe's 3 epochs.
- ``cnn-fashion``: the same recipe on Fashion-MNIST over 7 epochs (the cosine spans the 7), to
  91 %, as the Fashion-MNIST results train it.
- ``mlp``: ``bench_mlp.py``'s default recipe (``barenet train``'s MNIST network, learning rate
  held constant) to 98.0 %, at most 30 epochs.

The test accuracy is measured after every epoch, off the clock: the time is training alone,
up to the first epoch at the target (all epochs when it is never reached). Each (run, library,
seed) trains in a fresh child process, which also reports its peak RSS (data, library and
training together), so both libraries are measured alike; the order of the two libraries
alternates from seed to seed. For the CNN, PyTorch's network is built from barenet's with its
initial weights copied across (``torch_twin.py``); the MLP's PyTorch contender has PyTorch's own
He initialisation (``bench_mlp.py``). Each library shuffles and drops units with its own generator
seeded by the seed, so the runs are alike, not identical.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from harness import child_json, keep_freed_memory, machine_lines, peak_rss_mb, time_to_target
from threadpoolctl import threadpool_limits

import barenet
from barenet.training import Trainer

REPOSITORY = Path(__file__).resolve().parent.parent
BATCH_SIZE, LR = 128, 2e-3  # the fast CNN's recipe (examples/08_cnn_fast.py)
LIBRARIES = ("barenet", "PyTorch")


@dataclass(frozen=True)
class Run:
    title: str
    target: float
    max_epochs: int


RUNS = {
    "cnn-mnist": Run("fast CNN, MNIST", 0.99, 3),
    "cnn-fashion": Run("fast CNN, Fashion-MNIST", 0.91, 7),
    "mlp": Run("default MLP, MNIST", 0.98, 30),
}


def fast_cnn(seed: int) -> barenet.Sequential:
    """The network of ``examples/08_cnn_fast.py`` (225,386 parameters)."""
    return barenet.cnn(channels=(32, 64), hidden=(128,), dropout=0.3, batch_norm=True,
                       preprocessing=[barenet.Rescale(1 / 255)], rng=seed)


def image_data(run: str, data_dir: str | None, train_limit: int | None, test_limit: int | None):
    """``(x, y), (x_test, y_test)`` of a CNN run: float32 rows of 784 pixels 0..255, as the
    example reads them."""
    from barenet.datasets import flatten_images, load_fashion_mnist, load_mnist

    load = load_mnist if run == "cnn-mnist" else load_fashion_mnist
    folders = [data_dir] if data_dir else [None, REPOSITORY.parent / "shared" / "data"]
    for index, folder in enumerate(folders):
        try:
            (x, y), (x_test, y_test) = load(folder, download=False)
            break
        except Exception:  # noqa: BLE001 - absent or unreadable: try the next place, else say why
            if index == len(folders) - 1:
                raise
    return ((flatten_images(x[:train_limit]), y[:train_limit]),
            (flatten_images(x_test[:test_limit]), y_test[:test_limit]))


class BarenetCnn:
    def __init__(self, data, seed: int, max_epochs: int, workers: int = 1) -> None:
        (self.x, self.y), (self.x_test, self.y_test) = data
        self.model = fast_cnn(seed)
        steps = max_epochs * math.ceil(len(self.x) / BATCH_SIZE)
        self.trainer = Trainer(self.model, loss="cross_entropy", optimizer="adam", lr=LR,
                               lr_schedule="cosine", schedule_options={"total": steps, "per": "step"},
                               batch_size=BATCH_SIZE, seed=seed, workers=workers)

    def epoch(self) -> None:
        self.trainer.fit(self.x, self.y, epochs=self.trainer.epoch + 1, verbose=0)

    def accuracy(self) -> float:
        return float(np.mean(self.model.predict(self.x_test) == self.y_test))


class TorchCnn:
    """The same network with barenet's initial weights, Adam (PyTorch's defaults are barenet's:
    betas 0.9, 0.999, eps 1e-8, no weight decay) and the same per-step cosine."""

    def __init__(self, data, seed: int, max_epochs: int, threads: int) -> None:
        import torch
        from torch_twin import torch_twin

        self.torch = torch
        torch.set_num_threads(threads)
        torch.manual_seed(seed)
        (x, y), (x_test, y_test) = data
        self.model = torch_twin(fast_cnn(seed))
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=LR)
        steps = max_epochs * math.ceil(len(x) / BATCH_SIZE)  # lr₀·½(1 + cos(π·t/T)), t the steps done
        self.schedule = torch.optim.lr_scheduler.LambdaLR(
            self.optimizer, lambda step: 0.5 * (1 + math.cos(math.pi * min(step, steps) / steps)))
        self.loss = torch.nn.CrossEntropyLoss()
        self.x, self.y = torch.from_numpy(x), torch.from_numpy(y)
        self.x_test, self.y_test = torch.from_numpy(x_test), y_test
        self.generator = torch.Generator().manual_seed(seed)

    def epoch(self) -> None:
        self.model.train()
        order = self.torch.randperm(len(self.x), generator=self.generator)
        total, correct = 0.0, 0
        for start in range(0, len(order), BATCH_SIZE):
            rows = order[start : start + BATCH_SIZE]
            y_batch = self.y[rows]
            self.optimizer.zero_grad(set_to_none=True)
            output = self.model(self.x[rows])
            loss = self.loss(output, y_batch)
            loss.backward()
            self.optimizer.step()
            self.schedule.step()
            total += loss.item() * len(rows)  # the per-batch metrics barenet's fit keeps
            correct += int((output.argmax(1) == y_batch).sum())

    def accuracy(self) -> float:
        self.model.eval()
        with self.torch.inference_mode():
            predicted = [self.model(self.x_test[start : start + 1000]).argmax(1)
                         for start in range(0, len(self.x_test), 1000)]
        return float(np.mean(self.torch.cat(predicted).numpy() == self.y_test))


def contender(run: str, library: str, seed: int, args):
    """``(train one epoch, test accuracy)`` of one training run, its data loaded."""
    max_epochs = args.max_epochs or RUNS[run].max_epochs
    if run == "mlp":
        from bench_mlp import BarenetContender, TorchContender
        from mlp_recipe import default_recipe, load_data

        (x, y), (x_test, y_test), _ = load_data(args.data_dir, args.synthetic)
        x, y = x[: args.train_limit], y[: args.train_limit]
        x_test, y_test = x_test[: args.test_limit], y_test[: args.test_limit]
        recipe, _ = default_recipe()
        chosen = (BarenetContender(x, y, seed, recipe["dropout"], recipe) if library == "barenet"
                  else TorchContender(x, y, args.threads, seed, recipe["dropout"], recipe))
        return chosen.epoch, lambda: chosen.accuracy(x_test, y_test)
    data = image_data(run, args.data_dir, args.train_limit, args.test_limit)
    chosen = BarenetCnn(data, seed, max_epochs, args.workers) if library == "barenet" else \
        TorchCnn(data, seed, max_epochs, args.threads)
    return chosen.epoch, chosen.accuracy


def child(args) -> None:
    """In a child process: one training run to the target; its result and peak RSS as JSON."""
    run, library, seed = args.child[0], args.child[1], int(args.child[2])
    with threadpool_limits(args.threads):
        train_epoch, accuracy = contender(run, library, seed, args)
        result = time_to_target(train_epoch, accuracy, args.target or RUNS[run].target,
                                args.max_epochs or RUNS[run].max_epochs, f"{run} {library} seed {seed} ")
    print(json.dumps({**result, "peak_rss_mb": peak_rss_mb()}))


def child_arguments(args) -> list[str]:
    """The options a child needs, as the parent got them."""
    listed = ["--threads", str(args.threads), "--workers", str(getattr(args, "workers", 1))]
    for name in ("data_dir", "train_limit", "test_limit", "target", "max_epochs"):
        if getattr(args, name, None) is not None:
            listed += ["--" + name.replace("_", "-"), str(getattr(args, name))]
    for name in ("synthetic", "system_allocator"):
        if getattr(args, name, False):
            listed.append("--" + name.replace("_", "-"))
    return listed


def time_to_accuracy_report(runs: list[str], args) -> list[str]:
    """Train every run, library and seed in a child process; the markdown tables."""
    libraries = ["barenet"]
    if not getattr(args, "no_torch", False):
        try:
            import torch

            torch.set_num_threads(args.threads)  # as the children do, for the report's header
            libraries.append("PyTorch")
        except ImportError:
            print("torch is not installed: PyTorch skipped (pip install barenet[bench])", file=sys.stderr)
    results: dict[tuple[str, str], list[dict]] = {(r, lib): [] for r in runs for lib in libraries}
    for index in range(args.seeds):
        for run in runs:
            for library in libraries if index % 2 == 0 else libraries[::-1]:
                found = child_json(Path(__file__).resolve(),
                                   ["--child", run, library, str(index), *child_arguments(args)],
                                   f"{run} {library} seed {index}")
                if found is not None:
                    results[run, library].append({"seed": index, **found})
    return report(runs, libraries, results, args)


def report(runs: list[str], libraries: list[str], results: dict, args) -> list[str]:
    limits = [f"the first {limit:,} {which} images" for limit, which in
              ((args.train_limit, "training"), (getattr(args, "test_limit", None), "test")) if limit]
    lines = ["## Time to test accuracy, barenet against PyTorch", "",
             "Training seconds (wall) to the first epoch at the target, test accuracy measured after "
             f"every epoch off the clock; each run in a process of its own, peak RSS of that process; seeds "
             f"0-{args.seeds - 1}, {args.threads} threads for both libraries"
             + (f"; barenet's CNNs split each batch over {args.workers} workers (threads)"
                if getattr(args, "workers", 1) > 1 else "")
             + (f"; {' and '.join(limits)} only (a reduced run)" if limits else "") + ".", "",
             "| run | library | seed | seconds to target | epoch reached | final test accuracy | "
             "test accuracy per epoch | peak RSS MB |", "|---|---|---|---|---|---|---|---|"]
    for (run, library), rows in results.items():
        target = args.target or RUNS[run].target
        for row in rows:
            seconds = f"{row['seconds']:.1f}"
            if not row["epoch"]:
                seconds = f"not reached ({seconds} s trained)"
            per_epoch = ", ".join(f"{value:.4f}" for value in row["accuracies"])
            lines.append(f"| {RUNS[run].title} → {target:.1%} | {library} | {row['seed']} | {seconds} | "
                         f"{row['epoch'] or '—'} | {row['accuracy']:.4f} | {per_epoch} | "
                         f"{row['peak_rss_mb']:.0f} |")
    lines += ["", "Medians over the seeds (time and epoch over the seeds that reached the target):", "",
              "| run | library | reached | median s to target (min-max) | median epoch | "
              "median final accuracy | median peak RSS MB |", "|---|---|---|---|---|---|---|"]
    for (run, library), rows in results.items():
        reached = [row for row in rows if row["epoch"]]
        times = [row["seconds"] for row in reached]
        spread = (f"{statistics.median(times):.1f} ({min(times):.1f}-{max(times):.1f})" if times else "—")
        epoch = f"{statistics.median(row['epoch'] for row in reached):g}" if reached else "—"
        accuracy = f"{statistics.median(row['accuracy'] for row in rows):.4f}" if rows else "—"
        memory = f"{statistics.median(row['peak_rss_mb'] for row in rows):.0f}" if rows else "—"
        lines.append(f"| {RUNS[run].title} | {library} | {len(reached)} of {len(rows)} | {spread} | "
                     f"{epoch} | {accuracy} | {memory} |")
    if "PyTorch" in libraries:
        lines.append("")
        for run in runs:
            mine = {row["seed"]: row for row in results[run, "barenet"] if row["epoch"]}
            theirs = {row["seed"]: row for row in results[run, "PyTorch"] if row["epoch"]}
            seeds = sorted(mine.keys() & theirs.keys())
            paired = [mine[seed]["seconds"] / theirs[seed]["seconds"] for seed in seeds]
            if paired:
                of_medians = statistics.median(r["seconds"] for r in mine.values()) / statistics.median(
                    r["seconds"] for r in theirs.values())
                lines.append(f"- {RUNS[run].title}: barenet ÷ PyTorch time to target **{of_medians:.2f}** "
                             f"(ratio of the medians; seed by seed {statistics.median(paired):.2f}, "
                             f"{min(paired):.2f}-{max(paired):.2f})")
            else:
                lines.append(f"- {RUNS[run].title}: no seed reached the target in both libraries")
    return lines


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", nargs="+", choices=tuple(RUNS), default=list(RUNS),
                        help="which runs (default: all)")
    parser.add_argument("--seeds", type=int, default=3, help="seeds 0..N-1 (default 3)")
    parser.add_argument("--workers", type=int, default=1,
                        help="barenet's CNN runs split each batch over N threads (default 1)")
    parser.add_argument("--threads", type=int, default=2, help="threads for both libraries (default 2)")
    parser.add_argument("--data-dir",
                        help="folder with mnist/ and fashion-mnist/ (default: BARENET_DATA_DIR)")
    parser.add_argument("--train-limit", type=int, help="train on the first N images only (a smoke run)")
    parser.add_argument("--test-limit", type=int, help="evaluate on the first N test images only")
    parser.add_argument("--target", type=float, help="test accuracy to reach (default: each run's)")
    parser.add_argument("--max-epochs", type=int, help="epoch cap and, for the CNN, the cosine's length "
                        "(default: each run's)")
    parser.add_argument("--synthetic", action="store_true", help="mlp: synthetic MNIST-shaped data")
    parser.add_argument("--no-torch", action="store_true", help="barenet alone")
    parser.add_argument("--output", help="also write the markdown report to this file")
    parser.add_argument("--system-allocator", action="store_true",
                        help="leave glibc's defaults (freed memory returned at once)")
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.threads < 1 or args.seeds < 1:
        parser.error("--threads and --seeds must be >= 1")
    keep_freed_memory(not args.system_allocator)
    if args.child:
        child(args)
        return
    body = time_to_accuracy_report(args.runs, args)
    with threadpool_limits(args.threads):
        machine = machine_lines(args.threads)
    report_text = "\n".join(["# barenet benchmark: time to accuracy", "", *machine, "", *body, ""])
    print(report_text)
    if args.output:
        Path(args.output).write_text(report_text, encoding="utf-8")


if __name__ == "__main__":
    main()
