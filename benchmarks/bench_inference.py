#!/usr/bin/env python
"""Benchmark: prediction throughput (images per second) of barenet against PyTorch (CPU), the
default MLP and the fast CNN at batch 1 and batch 1000, beside ``barenet serve``'s reading of a
drawn digit.

    python benchmarks/bench_inference.py                          # 7 rounds after 1 warm-up
    python benchmarks/bench_inference.py --threads 1 --output inference.md
    python benchmarks/bench_inference.py --rounds 2 --round-seconds 0.05 --check-images 200   # a smoke run

The networks, random weights (the speed does not depend on training):

- ``mlp``: ``barenet train``'s MNIST network (``bench_mlp.default_recipe``): 784-256-128-10 ReLU,
  its dropout (off when predicting), pixels rescaled by 1/255 inside the model;
- ``cnn``: the fast CNN of ``examples/08_cnn_fast.py`` (``bench_time_to_accuracy.fast_cnn``),
  its batch norms given random statistics and affine weights so that copying them is checked.

barenet predicts as ``barenet predict`` does, ``model.predict_proba(x)`` (the input checked, cut
into batches bounded in memory, the softmax). PyTorch runs the same network with the same
weights (``torch_twin.py``) in ``eval()`` mode under ``torch.inference_mode()``, then
``torch.softmax``, the result as a NumPy array. Both get the same float32 rows of 784 pixels
(MNIST test images, else random ones) and ``--threads`` threads (PyTorch through
``torch.set_num_threads``, NumPy's BLAS through threadpoolctl). Before any timing the two must
agree on the check images: the same argmax (where the top two differ by more than 1e-4) and
probabilities within 1e-4.

Each round, every contender predicts its images in calls of the batch size; the number of
calls is set once so that barenet's round takes about ``--round-seconds``, and the harness
interleaves the rounds (see ``harness.py``). At batch 1 the table adds ``barenet serve``'s
reading of a drawing, the page's 168×168 greyscale PNG of ``bench_image_preprocessing.py``,
to the 28×28 the network sees (``digit_from_image``: decode, ink, crop, scale, centre), the
step before the network for every drawn digit.
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
import time
from pathlib import Path

import numpy as np
from bench_image_preprocessing import drawing_png
from bench_mlp import BarenetContender
from bench_time_to_accuracy import fast_cnn
from harness import Timings, interleave, keep_freed_memory, machine_lines, timing_table
from mlp_recipe import default_recipe, load_data
from threadpoolctl import threadpool_limits
from torch_twin import torch_twin

import barenet
from barenet.layers import BatchNorm1D, BatchNorm2D
from barenet.serve.inputs import digit_from_image

PREPROCESSING = "serve: read the page's 168×168 PNG drawing"
FORWARD = "barenet forward, one call"


class Predictor:
    """A contender of the harness: ``epoch()`` makes ``call`` once on each of ``batches``,
    ``images`` images in all (by default the batches' rows)."""

    def __init__(self, name: str, call, batches: list, images: int | None = None) -> None:
        self.name, self.call, self.batches = name, call, batches
        self.images = sum(len(batch) for batch in batches) if images is None else images

    def epoch(self) -> None:
        for batch in self.batches:
            self.call(batch)


def networks(x: np.ndarray, y: np.ndarray) -> dict[str, barenet.Sequential]:
    """The two networks, random weights; the CNN's batch norms with random statistics."""
    recipe, _ = default_recipe()
    mlp = BarenetContender(x[:1], y[:1], 0, recipe["dropout"], recipe).model
    cnn = fast_cnn(0)
    rng = np.random.default_rng(1)
    for layer in cnn.layers:
        if isinstance(layer, (BatchNorm1D, BatchNorm2D)):
            layer.running_mean[...] = rng.normal(0, 0.1, layer.num_features)
            layer.running_var[...] = rng.uniform(0.5, 2.0, layer.num_features)
            layer.weight.value[...] = rng.uniform(0.5, 1.5, layer.num_features)
            layer.bias.value[...] = rng.normal(0, 0.1, layer.num_features)
    return {"mlp": mlp, "cnn": cnn}


def torch_predictor(model: barenet.Sequential):
    """PyTorch's prediction path for the twin of ``model``: NumPy rows in, probabilities out."""
    import torch

    twin = torch_twin(model).eval()

    def predict(x: np.ndarray) -> np.ndarray:
        with torch.inference_mode():
            return torch.softmax(twin(torch.from_numpy(x)), dim=1).numpy()

    return predict


def check_same(name: str, model: barenet.Sequential, torch_predict, x: np.ndarray) -> str:
    """Stop unless barenet and PyTorch agree on ``x``; the line that says how closely."""
    mine, theirs = model.predict_proba(x), torch_predict(x)
    difference = float(np.abs(mine - theirs).max())
    top_two = np.sort(mine, axis=1)[:, -2:]
    clear = top_two[:, 1] - top_two[:, 0] > 1e-4  # a near tie may fall either way
    disagree = int(np.sum((mine.argmax(1) != theirs.argmax(1)) & clear))
    same = int(np.sum(mine.argmax(1) == theirs.argmax(1)))
    if disagree or difference > 1e-4:
        sys.exit(f"{name}: barenet and PyTorch disagree: {disagree} different predictions, "
                 f"largest probability difference {difference:.2e}")
    return (f"- {name}: the same class for {same} of {len(x)} images, largest probability difference "
            f"{difference:.1e}")


def calls_for(call, batch: np.ndarray, seconds: float) -> int:
    """How many calls on ``batch`` take about ``seconds`` (after one untimed call)."""
    call(batch)
    start = time.perf_counter()
    call(batch)
    return max(1, math.ceil(seconds / max(time.perf_counter() - start, 1e-6)))


def batches_of(x: np.ndarray, size: int, calls: int) -> list[np.ndarray]:
    """``calls`` batches of ``size`` rows, going round ``x``."""
    starts = [(index * size) % (len(x) - size + 1) for index in range(calls)]
    return [x[start : start + size] for start in starts]


def throughput(timings: Timings, images: dict[str, int]) -> dict[str, dict[str, str]]:
    """Images per second (median, min-max) and ms per image, per contender."""
    rates, per_image = {}, {}
    for name, wall in timings.wall.items():
        count, median = images[name], statistics.median(wall)
        rates[name] = f"{count / median:,.0f} ({count / max(wall):,.0f}-{count / min(wall):,.0f})"
        per_image[name] = f"{1000 * median / count:.3f}"
    return {"images per round": {name: f"{count:,}" for name, count in images.items()},
            "images/s, median (min-max)": rates, "ms per image (median)": per_image}


def time_batch(name: str, model: barenet.Sequential, torch_predict, x: np.ndarray, size: int,
               args) -> tuple[list[str], str | None]:
    """Interleaved rounds of one network at one batch size: its table, and its summary row."""
    calls = calls_for(model.predict_proba, x[:size], args.round_seconds)
    batches = batches_of(x, size, calls)
    contenders = [Predictor("barenet", model.predict_proba, batches)]
    if torch_predict is not None:
        contenders.append(Predictor("PyTorch", torch_predict, batches))
    if size > model.prediction_batch_size():
        contenders.append(Predictor(FORWARD, model.forward, batches))
    if size == 1:
        png = drawing_png(168)
        reads = calls_for(digit_from_image, png, args.round_seconds)
        contenders.append(Predictor(PREPROCESSING, digit_from_image, [png] * reads, reads))
    print(f"{name}, batch {size}: {calls} calls per round", file=sys.stderr)
    timings = interleave(contenders, args.rounds, args.warmup)
    images = {contender.name: contender.images for contender in contenders}
    lines = [f"### {name}, batch {size}", "",
             *timing_table(timings, digits=4, extra=throughput(timings, images),
                           compare={"PyTorch", FORWARD})]
    rate = {who: images[who] / statistics.median(wall) for who, wall in timings.wall.items()}
    if PREPROCESSING in rate:
        reading, network = 1000 / rate[PREPROCESSING], 1000 / rate["barenet"]
        lines.append(f"- a drawn digit at batch 1: reading the PNG {reading:.2f} ms, barenet's network "
                     f"{network:.3f} ms; the reading is {reading / (reading + network):.0%} of the two")
    row = None
    if "PyTorch" in rate:
        paired = statistics.median(timings.paired_ratios("barenet", "PyTorch"))
        row = f"| {name} | {size:,} | {rate['barenet']:,.0f} | {rate['PyTorch']:,.0f} | {paired:.2f} |"
    return lines, row


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", nargs="+", choices=("mlp", "cnn"), default=["mlp", "cnn"])
    parser.add_argument("--batch-sizes", nargs="+", type=int, default=[1, 1000])
    parser.add_argument("--threads", type=int, default=2, help="threads for both libraries (default 2)")
    parser.add_argument("--rounds", type=int, default=7, help="timed rounds (default 7)")
    parser.add_argument("--warmup", type=int, default=1, help="untimed rounds first (default 1)")
    parser.add_argument("--round-seconds", type=float, default=1.0,
                        help="about how long barenet's round lasts (default 1 s)")
    parser.add_argument("--check-images", type=int, default=1000, help="images of the agreement check")
    parser.add_argument("--data-dir", help="folder with mnist/ (default: BARENET_DATA_DIR)")
    parser.add_argument("--no-torch", action="store_true", help="barenet alone")
    parser.add_argument("--output", help="also write the markdown report to this file")
    parser.add_argument("--system-allocator", action="store_true",
                        help="leave glibc's defaults (freed memory returned at once)")
    args = parser.parse_args(argv)
    keep_freed_memory(not args.system_allocator)
    _, (x_test, y_test), source = load_data(args.data_dir)
    x = x_test.astype(np.float32)
    if max(args.batch_sizes) > len(x) or min(args.batch_sizes) < 1:
        parser.error(f"a batch is 1 to the {len(x):,} test images")
    body, checks, summary = [], [], []
    with threadpool_limits(args.threads):
        if not args.no_torch:
            import torch

            torch.set_num_threads(args.threads)
        models = networks(x, y_test)
        for name in args.models:
            model = models[name]
            torch_predict = None if args.no_torch else torch_predictor(model)
            if torch_predict is not None:
                checks.append(check_same(name, model, torch_predict, x[: args.check_images]))
            for size in args.batch_sizes:
                lines, row = time_batch(name, model, torch_predict, x, size, args)
                body += [*lines, ""]
                summary += [row] if row else []
        machine = machine_lines(args.threads)
    lines = ["# barenet benchmark: prediction throughput", "", *machine,
             f"- images: {source} test images as float32 rows of 784 pixels", "",
             "## barenet against PyTorch", "",
             "| network | batch | barenet images/s | PyTorch images/s | barenet ÷ PyTorch, time (paired) |",
             "|---|---|---|---|---|", *summary, "", "Agreement before timing:", "", *checks, "",
             f"Seconds per round, {args.rounds} interleaved rounds after {args.warmup} warm-up. barenet's "
             "`predict_proba` cuts a batch into pieces of at most `prediction_batch_size()` images (the CNN: "
             f"{models['cnn'].prediction_batch_size()}) to bound its working memory; the row `{FORWARD}` is "
             "`model.forward` on the whole batch.", "", *body]
    report = "\n".join(lines)
    print(report)
    if args.output:
        Path(args.output).write_text(report, encoding="utf-8")


if __name__ == "__main__":
    main()
