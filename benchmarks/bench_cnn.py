#!/usr/bin/env python
"""Benchmark: one MNIST training epoch of a small convolutional network, barenet against
PyTorch (CPU), in one process, with a per-phase breakdown of barenet's epoch.

    python benchmarks/bench_cnn.py                          # 3 timed epochs each after 1 warm-up
    python benchmarks/bench_cnn.py --train-limit 12800 --epochs 5 --output bench_cnn.md

The network (``barenet.cnn()``): conv 32 3×3 → ReLU → max-pool 2 → conv 64 3×3 → ReLU →
max-pool 2 → flatten → dropout 0.5 → dense 10, 34,826 parameters, He init; Adam (lr 1e-3),
batch 128, float32, cross-entropy, the pixels scaled to [0, 1] beforehand for both. Epochs of
the two are interleaved, the order rotating each round, so machine noise hits both alike;
the table gives medians with min and max. ``--train-limit N`` times epochs of the first N
training images (a shorter run on a busy machine; the table says so). Both use ``--threads``
threads (default 2): PyTorch through ``torch.set_num_threads``, NumPy's BLAS through threadpoolctl.
MNIST comes from ``--data-dir``, else ``BARENET_DATA_DIR``, else ``../shared/data``; if it is
nowhere, same-shaped random data is used (and the table says so).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_info, threadpool_limits

import barenet
from barenet.layers import Conv2D, Dense, Dropout, Flatten, MaxPool2D, ReLU, Reshape, convolution
from barenet.training import Trainer

REPOSITORY = Path(__file__).resolve().parent.parent
BATCH_SIZE, LR = 128, 1e-3


def load_data(data_dir: str | None, limit: int | None):
    """MNIST training rows as float32 in [0, 1] and labels; random data if MNIST is absent."""
    from barenet.datasets import load_mnist

    for folder in [data_dir, os.environ.get("BARENET_DATA_DIR"), REPOSITORY.parent / "shared" / "data"]:
        if folder is None:
            continue
        try:
            (x, y), _ = load_mnist(data_dir=folder, download=False)
        except Exception:  # noqa: BLE001 - absent or unreadable: try the next place
            continue
        x = (x.reshape(len(x), -1) / np.float32(255)).astype(np.float32)
        return x[:limit], y[:limit], "MNIST"
    rng = np.random.default_rng(0)
    n = limit or 60_000
    return rng.random((n, 784), dtype=np.float32), rng.integers(0, 10, n), "random data (MNIST not found)"


class BarenetContender:
    name = "barenet"

    def __init__(self, x, y, seed: int = 0):
        self.model = barenet.cnn(rng=seed)
        self.trainer = Trainer(self.model, optimizer="adam", lr=LR, batch_size=BATCH_SIZE, seed=seed)
        self.x, self.y = x, y

    def epoch(self) -> None:
        self.trainer.fit(self.x, self.y, epochs=self.trainer.epoch + 1, verbose=0)


class TorchContender:
    name = "PyTorch"

    def __init__(self, x, y, threads: int, seed: int = 0):
        import torch

        self.torch = torch
        torch.set_num_threads(threads)
        torch.manual_seed(seed)
        nn = torch.nn
        self.model = nn.Sequential(
            nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(32, 64, 3), nn.ReLU(), nn.MaxPool2d(2),
            nn.Flatten(), nn.Dropout(0.5), nn.Linear(1600, 10),
        )
        for module in self.model:
            if isinstance(module, (nn.Conv2d, nn.Linear)):
                nn.init.kaiming_normal_(module.weight, nonlinearity="relu")
                nn.init.zeros_(module.bias)
        assert sum(p.numel() for p in self.model.parameters()) == 34_826
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=LR)
        self.loss = nn.CrossEntropyLoss()
        self.x, self.y = torch.from_numpy(x).reshape(-1, 1, 28, 28), torch.from_numpy(y)
        self.generator = torch.Generator().manual_seed(seed)

    def epoch(self) -> None:
        self.model.train()
        order = self.torch.randperm(len(self.x), generator=self.generator)
        for start in range(0, len(order), BATCH_SIZE):
            rows = order[start : start + BATCH_SIZE]
            self.optimizer.zero_grad(set_to_none=True)
            loss = self.loss(self.model(self.x[rows]), self.y[rows])
            loss.backward()
            self.optimizer.step()


class PhaseTimer:
    """Wraps methods (of objects) and functions (of modules) to add up the seconds spent in them."""

    def __init__(self) -> None:
        self.totals: dict[str, float] = defaultdict(float)
        self.restore: list[tuple[object, str, object, bool]] = []

    def wrap(self, owner, name: str, phase: str) -> None:
        original = getattr(owner, name)
        totals = self.totals

        def timed(*args, **kwargs):
            start = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                totals[phase] += time.perf_counter() - start

        self.restore.append((owner, name, original, name in vars(owner)))
        setattr(owner, name, timed)

    def unwrap(self) -> None:
        for owner, name, original, own in reversed(self.restore):
            if own:  # a module's function: put it back
                setattr(owner, name, original)
            else:  # a method: drop the instance attribute, the class's method shows again
                delattr(owner, name)


def phase_breakdown(contender: BarenetContender) -> tuple[dict[str, float], float]:
    """Seconds per phase of one instrumented barenet epoch, and the epoch's total."""
    timer = PhaseTimer()
    timer.wrap(convolution, "im2col", "im2col")
    timer.wrap(convolution, "col2im", "col2im")
    names = {Conv2D: "conv", MaxPool2D: "max-pooling", ReLU: "ReLU", Dense: "dense", Dropout: "dropout",
             Flatten: "reshape/flatten", Reshape: "reshape/flatten"}
    for layer in contender.model.layers:
        phase = names.get(type(layer), type(layer).__name__)
        methods = ("forward_train", "backward_parameters", "backward_input") if layer.parameters() else \
            ("forward_train", "backward")
        for method in methods:
            timer.wrap(layer, method, f"{phase} {method}")
    timer.wrap(contender.trainer.loss, "forward", "loss")
    timer.wrap(contender.trainer.loss, "backward", "loss")
    timer.wrap(contender.trainer.optimizer, "step", "optimiser (Adam)")
    start = time.perf_counter()
    contender.epoch()
    total = time.perf_counter() - start
    timer.unwrap()
    raw = dict(timer.totals)
    phases = {
        "im2col": raw.pop("im2col", 0.0),
        "col2im": raw.pop("col2im", 0.0),
        "conv GEMM forward (Z = W·cols, + bias)": raw.pop("conv forward_train", 0.0),
        "conv GEMM dW (dZ·colsᵀ, + db)": raw.pop("conv backward_parameters", 0.0),
        "conv GEMM dX (Wᵀ·dZ)": raw.pop("conv backward_input", 0.0),
    }
    phases["conv GEMM forward (Z = W·cols, + bias)"] -= phases["im2col"]  # im2col runs inside forward
    phases["conv GEMM dX (Wᵀ·dZ)"] -= phases["col2im"]  # and col2im inside backward_input
    pooling = raw.pop("max-pooling forward_train", 0.0) + raw.pop("max-pooling backward", 0.0)
    phases["max-pooling (forward + backward)"] = pooling
    phases.update(raw)
    phases["batch norm"] = 0.0  # not in this network
    phases["rest (batching, shuffling, bookkeeping)"] = total - sum(phases.values())
    return phases, total


def blas_lines() -> list[str]:
    """Which BLAS kernels NumPy (and PyTorch) ran, from threadpoolctl."""
    lines = []
    for pool in threadpool_info():
        lines.append(f"- {pool.get('internal_api')} {pool.get('version')} ({pool.get('user_api')}), "
                     f"kernel: {pool.get('architecture', '?')}, threads {pool.get('num_threads')}, "
                     f"{Path(pool.get('filepath', '')).name}")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=3, help="timed epochs per contender (default 3)")
    parser.add_argument("--warmup", type=int, default=1, help="untimed epochs first (default 1)")
    parser.add_argument("--train-limit", type=int, default=None, help="epochs of the first N images only")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--no-torch", action="store_true", help="barenet alone")
    parser.add_argument("--output", default=None, help="also write the markdown table here")
    args = parser.parse_args()
    with threadpool_limits(args.threads):
        x, y, source = load_data(args.data_dir, args.train_limit)
        contenders = [BarenetContender(x, y)]
        if not args.no_torch:
            try:
                contenders.append(TorchContender(x, y, args.threads))
            except ImportError:
                print("torch is not installed: PyTorch skipped (pip install barenet[bench])", file=sys.stderr)
        times: dict[str, list[float]] = {c.name: [] for c in contenders}
        rounds = args.warmup + args.epochs
        for round_index in range(rounds):
            shift = round_index % len(contenders)
            for contender in contenders[shift:] + contenders[:shift]:  # rotate who goes first
                start = time.perf_counter()
                contender.epoch()
                if round_index >= args.warmup:
                    times[contender.name].append(time.perf_counter() - start)
            print(f"round {round_index + 1}/{rounds}: "
                  + ", ".join(f"{name} {values[-1]:.2f} s" for name, values in times.items() if values),
                  file=sys.stderr, flush=True)
        phases, instrumented = phase_breakdown(contenders[0])
        blas = blas_lines()

    median = {name: statistics.median(values) for name, values in times.items()}
    scale = 60_000 / len(x)
    lines = [f"## One training epoch of barenet.cnn() (34,826 parameters), Adam, batch {BATCH_SIZE}, float32 "
             f"({source}, {len(x):,} images{'' if len(x) == 60_000 else ', a reduced epoch'})", "",
             f"{args.epochs} interleaved epochs each after {args.warmup} warm-up, {args.threads} threads.",
             "",
             "| contender | median s | min s | max s | s per 60,000 images (median, scaled) |",
             "|---|---|---|---|---|"]
    for name, values in times.items():
        lines.append(f"| {name} | {median[name]:.2f} | {min(values):.2f} | {max(values):.2f} | "
                     f"{median[name] * scale:.1f} |")
    if "PyTorch" in median:
        lines += ["", f"- barenet ÷ PyTorch = **{median['barenet'] / median['PyTorch']:.2f}** (target ≤ 1.5)"]
    lines += ["", f"### Where barenet's epoch goes (one instrumented epoch: {instrumented:.2f} s)", "",
              "| phase | seconds | share |", "|---|---|---|"]
    for name, seconds in sorted(phases.items(), key=lambda item: -item[1]):
        lines.append(f"| {name} | {seconds:.3f} | {seconds / instrumented:.0%} |")
    lines += ["", "BLAS (threadpoolctl):", *blas]
    text = "\n".join(lines)
    print(text)
    if args.output:
        Path(args.output).write_text(text + "\n")


if __name__ == "__main__":
    main()
