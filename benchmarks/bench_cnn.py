#!/usr/bin/env python
"""Benchmark: one MNIST training epoch of a small convolutional network, barenet against
PyTorch (CPU), in one process, with a per-phase breakdown of barenet's epoch.

    python benchmarks/bench_cnn.py                          # 5 timed epochs each after 1 warm-up
    python benchmarks/bench_cnn.py --train-limit 12800 --epochs 7 --output bench_cnn.md

The network (``barenet.cnn()``): conv 32 3×3 → max-pool 2 → ReLU → conv 64 3×3 → max-pool 2 →
ReLU → flatten → dropout 0.5 → dense 10, 34,826 parameters, He init; Adam (lr 1e-3), batch 128,
float32, cross-entropy, the pixels scaled to [0, 1] beforehand for both. barenet applies each
ReLU after its max-pool, on a quarter of the values; PyTorch's network is written the usual
way, conv → ReLU → max-pool: the same function (max-pooling commutes with ReLU). Epochs of
the two are interleaved, the order rotating each round, so machine noise hits both alike;
the table gives medians with min and max, and the ratio as the median of the round-by-round
ratios (see ``harness.py``). The second barenet contender is the same training with each
batch split in ``--workers`` shards on as many threads (the trainer's ``workers``; the BLAS
threads shared among them). ``--train-limit N`` times epochs of the first N
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
from pathlib import Path

import numpy as np
from harness import PhaseTimer, interleave, keep_freed_memory, machine_lines, phase_table, timing_table
from threadpoolctl import threadpool_limits

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
    def __init__(self, x, y, seed: int = 0, workers: int = 1):
        self.model = barenet.cnn(rng=seed)
        self.trainer = Trainer(self.model, optimizer="adam", lr=LR, batch_size=BATCH_SIZE, seed=seed,
                               workers=workers)
        self.name = "barenet" if workers == 1 else f"barenet, {workers} workers"
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


def phase_breakdown(contender: BarenetContender) -> tuple[dict[str, float], float]:
    """Seconds per phase (exclusive) of one instrumented barenet epoch, and the epoch's total."""
    timer = PhaseTimer()
    timer.wrap(convolution, "im2col", "im2col")
    timer.wrap(convolution, "col2im", "col2im")
    names = {Conv2D: "conv", MaxPool2D: "max-pooling", ReLU: "ReLU", Dense: "dense", Dropout: "dropout",
             Flatten: "reshape/flatten", Reshape: "reshape/flatten"}
    for layer in contender.model.layers:
        phase = names.get(type(layer), type(layer).__name__)
        methods = ("forward_with_cache", "backward_parameters", "backward_input") if layer.parameters() else \
            ("forward_with_cache", "backward")
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
        "conv GEMM forward (Z = W·cols, + bias)": raw.pop("conv forward_with_cache", 0.0),
        "conv GEMM dW (dZ·colsᵀ, + db)": raw.pop("conv backward_parameters", 0.0),
        "conv GEMM dX (Wᵀ·dZ)": raw.pop("conv backward_input", 0.0),
        "max-pooling (forward + backward)": raw.pop("max-pooling forward_with_cache", 0.0)
        + raw.pop("max-pooling backward", 0.0),
        "ReLU (forward + backward)": raw.pop("ReLU forward_with_cache", 0.0) + raw.pop("ReLU backward", 0.0),
    }
    phases.update(raw)
    phases["rest (batching, shuffling, bookkeeping)"] = total - sum(phases.values())
    return phases, total


def pairs(contenders: list) -> list[tuple[str, str]]:
    """Each barenet contender against PyTorch (when it ran), and the shards against one pass."""
    names = [contender.name for contender in contenders]
    found = [(name, "PyTorch") for name in names[:2] if "PyTorch" in names]
    return found + [(names[1], names[0])]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=5, help="timed rounds per contender (default 5)")
    parser.add_argument("--warmup", type=int, default=1, help="untimed rounds first (default 1)")
    parser.add_argument("--train-limit", type=int, default=None, help="epochs of the first N images only")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--no-torch", action="store_true", help="barenet alone")
    parser.add_argument("--no-phases", action="store_true", help="skip the instrumented epoch")
    parser.add_argument("--workers", type=int, default=2,
                        help="barenet's second contender splits each batch in this many shards (default 2)")
    parser.add_argument("--output", default=None, help="also write the markdown table here")
    parser.add_argument("--system-allocator", action="store_true",
                        help="leave glibc's defaults (freed memory returned at once)")
    args = parser.parse_args()
    keep_freed_memory(not args.system_allocator)
    with threadpool_limits(args.threads):
        x, y, source = load_data(args.data_dir, args.train_limit)
        contenders = [BarenetContender(x, y), BarenetContender(x, y, workers=args.workers)]
        if not args.no_torch:
            try:
                contenders.append(TorchContender(x, y, args.threads))
            except ImportError:
                print("torch is not installed: PyTorch skipped (pip install barenet[bench])", file=sys.stderr)
        timings = interleave(contenders, args.epochs, args.warmup)
        phases = None if args.no_phases else phase_breakdown(contenders[0])
        machine = machine_lines(args.threads)

    scale = 60_000 / len(x)
    per_60k = {name: f"{statistics.median(values) * scale:.1f}" for name, values in timings.wall.items()}
    lines = [f"## One training epoch of barenet.cnn() (34,826 parameters), Adam, batch {BATCH_SIZE}, float32 "
             f"({source}, {len(x):,} images{'' if len(x) == 60_000 else ', a reduced epoch'})", "",
             *machine, "", f"{args.epochs} interleaved rounds after {args.warmup} warm-up, seconds each.",
             "",
             *timing_table(timings, digits=2, extra={"s per 60,000 images (median, scaled)": per_60k},
                           pairs=pairs(contenders))]
    if phases is not None:
        breakdown, instrumented = phases
        lines += ["", f"### Where barenet's epoch goes (one instrumented epoch: {instrumented:.2f} s)", "",
                  *phase_table(breakdown, instrumented)]
    text = "\n".join(lines)
    print(text)
    if args.output:
        Path(args.output).write_text(text + "\n")


if __name__ == "__main__":
    main()
