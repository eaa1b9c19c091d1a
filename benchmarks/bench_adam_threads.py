#!/usr/bin/env python
"""Benchmark: does splitting Adam's element-wise passes across threads pay, and what would
two passes fewer save?

NumPy releases the GIL inside ufuncs, so two threads can each run the twelve passes of
``Adam.adam_step`` on half of the flat buffer. And the moments could be kept as discounted
sums, s = m/(1 − β₁) and q = v/(1 − β₂): s ← β₁s + g is two passes where m ← β₁m + (1 − β₁)g is
three, and likewise for q, so a step is ten passes (``ten_pass_step`` below, a sketch the
library does not use). Steps on the MLP benchmark model's 235,146 parameters
(784-256-128-10), the three ways interleaved.

    python benchmarks/bench_adam_threads.py --threads 2
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import time

import numpy as np
from harness import keep_freed_memory, machine_lines
from threadpoolctl import threadpool_limits

import barenet
from barenet import mlp
from barenet.blocks import cache_blocks

SIZES, LR = (784, 256, 128, 10), 1e-3


def adam_threads(args) -> list[str]:
    """Adam's step on the benchmark model's 235,146 parameters: the library's twelve passes on
    one thread, the same split across threads, and the ten-pass sketch; interleaved."""
    from concurrent.futures import ThreadPoolExecutor

    model = mlp(list(SIZES), rng=0)
    optimizer = barenet.optim.Adam(model.parameters(), lr=LR)
    rng = np.random.default_rng(0)
    optimizer.flat.grads[...] = rng.standard_normal(optimizer.flat.grads.shape, dtype=np.float32) * 1e-2
    size = optimizer.flat.values.size

    def slice_step(start: int, stop: int) -> None:
        part = barenet.optim.Adam.__new__(barenet.optim.Adam)  # the library's own step, on a slice
        part.betas, part.eps, part.lr = optimizer.betas, optimizer.eps, LR
        part.step_count = optimizer.step_count
        part.first_moment = optimizer.first_moment[start:stop]
        part.second_moment = optimizer.second_moment[start:stop]
        part.scratch = optimizer.scratch[start:stop]
        part.adam_step(optimizer.flat.values[start:stop], optimizer.flat.grads[start:stop])

    results: dict[str, list[float]] = {}
    with ThreadPoolExecutor(args.threads) as pool:
        def split_step() -> None:
            optimizer.step_count += 1
            edges = [size * index // args.threads for index in range(args.threads + 1)]
            futures = [pool.submit(slice_step, a, b) for a, b in zip(edges[1:-1], edges[2:])]
            slice_step(edges[0], edges[1])
            for future in futures:
                future.result()

        def library_step() -> None:
            optimizer.step_count += 1
            slice_step(0, size)

        def ten_passes() -> None:
            optimizer.step_count += 1
            ten_pass_step(optimizer, optimizer.flat.values, optimizer.flat.grads)

        ways = {"one thread (Adam.adam_step)": library_step,
                f"split across {args.threads} threads": split_step,
                "ten passes, one thread (moments kept as discounted sums)": ten_passes}
        for _ in range(args.warmup + args.epochs * 4):
            for name, step in ways.items():
                start = time.perf_counter()
                for _ in range(100):
                    step()
                results.setdefault(name, []).append((time.perf_counter() - start) / 100 * 1e6)
    lines = [f"## Adam step on {size:,} float32 parameters: one thread or split across threads", "",
             f"Microseconds per step, median of {args.epochs * 4} interleaved runs of 100 steps; load "
             f"average {os.getloadavg()[0]:.2f}.", "",
             "| way | median µs | min µs | max µs | per epoch (469 steps) s |", "|---|---|---|---|---|"]
    for name, values in results.items():
        values = values[args.warmup:]
        lines.append(f"| {name} | {statistics.median(values):.0f} | {min(values):.0f} | {max(values):.0f} | "
                     f"{statistics.median(values) * 469 / 1e6:.3f} |")
    return lines



def ten_pass_step(optimizer, values: np.ndarray, gradient: np.ndarray) -> None:
    """Adam with s = m/(1 − β₁) and q = v/(1 − β₂) in the moments' arrays: m̂ = (1 − β₁)s/(1 − β₁ᵗ)
    and √v̂ = b·√q with b = √((1 − β₂)/(1 − β₂ᵗ)), so θ ← θ − a·s/(√q + ε/b), a = lr(1 − β₁)/((1 − β₁ᵗ)b)."""
    beta1, beta2 = optimizer.betas
    t = optimizer.step_count
    b = math.sqrt((1 - beta2) / (1 - beta2**t))
    a = optimizer.lr * (1 - beta1) / ((1 - beta1**t) * b)
    for block in cache_blocks(values.size):
        theta, g = values[block], gradient[block]
        s, q = optimizer.first_moment[block], optimizer.second_moment[block]
        scratch = optimizer.scratch[block]
        s *= beta1
        s += g  # s ← β₁s + g
        np.multiply(g, g, out=scratch)
        q *= beta2
        q += scratch  # q ← β₂q + g²
        np.sqrt(q, out=scratch)
        scratch += optimizer.eps / b
        np.divide(s, scratch, out=scratch)
        scratch *= a
        theta -= scratch


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--epochs", type=int, default=5, help="groups of 4 interleaved runs of 100 steps")
    parser.add_argument("--warmup", type=int, default=1, help="untimed runs first")
    args = parser.parse_args()
    keep_freed_memory()
    with threadpool_limits(args.threads):
        print("\n".join([*machine_lines(args.threads), "", *adam_threads(args)]))


if __name__ == "__main__":
    main()
