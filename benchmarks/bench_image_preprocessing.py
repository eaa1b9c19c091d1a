"""How long ``barenet serve`` takes to read a drawing (PNG bytes to the 28x28 the network
sees: decode, ink, crop, scale, centre), against the network's own work on it (``explain``:
the forward pass, every hidden layer, and the saliency's 16 backward passes), for the default
MLP and CNN of ``barenet train``. Best and median of ``--repeats`` calls, in one process,
with freed memory kept for reuse as the ``barenet`` command (``barenet serve`` too) keeps it.

    python benchmarks/bench_image_preprocessing.py
"""

from __future__ import annotations

import argparse
import io
import statistics
import time

import numpy as np
from PIL import Image, ImageDraw

import barenet
from barenet.allocator import reuse_freed_memory
from barenet.serve.explain import explain
from barenet.serve.inputs import digit_from_image
from barenet.serve.served import ServedModel


def drawing_png(side: int) -> bytes:
    """A "7" drawn on the page's 336x336 white canvas with its 24-pixel pen, saved at ``side``
    pixels (the page sends 168)."""
    image = Image.new("L", (336, 336), 255)
    ImageDraw.Draw(image).line([(90, 80), (250, 80), (200, 160), (150, 285)], fill=0, width=24, joint="curve")
    buffer = io.BytesIO()
    image.resize((side, side), Image.Resampling.BILINEAR).save(buffer, format="PNG")
    return buffer.getvalue()


def timed(call, repeats: int) -> tuple[float, float]:
    call()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        call()
        times.append(1000 * (time.perf_counter() - start))
    return min(times), statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=50)
    repeats = parser.parse_args().repeats
    reuse_freed_memory()
    rows = []
    for side in (168, 336):
        data = drawing_png(side)
        reading = timed(lambda data=data: digit_from_image(data), repeats)
        rows.append((f"read a {side}x{side} PNG drawing", *reading))
    row = digit_from_image(drawing_png(168)).image.reshape(-1)
    scale = [barenet.Rescale(1 / 255)]
    models = {
        "mlp 784-256-128-10": barenet.mlp([784, 256, 128, 10], preprocessing=scale, rng=0),
        "cnn (32, 64)": barenet.cnn((32, 64), preprocessing=scale, rng=0),
    }
    for name, model in models.items():
        served = ServedModel(model, name, [str(digit) for digit in range(10)])
        rows.append((f"explain, {name}", *timed(lambda served=served: explain(served, row), repeats)))
    print(f"| step | best ms | median ms |  ({repeats} calls, numpy {np.__version__})")
    print("|---|---:|---:|")
    for name, best, median in rows:
        print(f"| {name} | {best:.2f} | {median:.2f} |")


if __name__ == "__main__":
    main()
