"""How long ``barenet serve`` takes to read a drawing (PNG bytes to the 28x28 the network
sees: decode, ink, crop, scale, centre), against the network's own work on it (``explain``:
the forward pass, every hidden layer, and the saliency's 16 backward passes), for the default
MLP and CNN of ``barenet train``. Each round times ``--calls`` calls of every step, the order
rotating (``harness.interleave``); the table gives milliseconds per call, and the ratios are
paired round by round. One process, as ``barenet serve`` runs: freed memory kept for reuse,
and one BLAS thread (a request's products are small; the server runs requests side by side).
Both PNGs are written by Pillow: the page's own encoder (``png.js``) writes the same pixels
with filter 0 on every row, which decodes a few per cent faster.

    python benchmarks/bench_image_preprocessing.py
    python benchmarks/bench_image_preprocessing.py --rounds 3 --calls 5   # a smoke run
"""

from __future__ import annotations

import argparse
import io
from collections.abc import Callable
from dataclasses import dataclass

from harness import interleave, keep_freed_memory, machine_lines, timing_table
from PIL import Image, ImageDraw
from threadpoolctl import threadpool_limits

import barenet
from barenet.serve.command import BLAS_THREADS
from barenet.serve.explain import explain
from barenet.serve.inputs import digit_from_image
from barenet.serve.served import ServedModel

READ_PAGE = "read the page's drawing (168x168 grey PNG)"
READ_RGBA = "read it as a canvas's own PNG (168x168 RGBA)"
READ_LARGE = "read a 336x336 grey PNG drawing"
EXPLAIN_MLP, EXPLAIN_CNN = "explain, mlp 784-256-128-10", "explain, cnn (32, 64)"


def drawing_png(side: int, mode: str = "L") -> bytes:
    """A "7" drawn on the page's 336x336 white canvas with its 24-pixel pen, saved at ``side``
    pixels as a ``mode`` PNG: the page sends a greyscale ("L") PNG of 168 pixels; a canvas's
    own PNG (``toBlob``) is "RGBA", opaque."""
    image = Image.new(mode, (336, 336), "white")
    seven = [(90, 80), (250, 80), (200, 160), (150, 285)]
    ImageDraw.Draw(image).line(seven, fill="black", width=24, joint="curve")
    buffer = io.BytesIO()
    image.resize((side, side), Image.Resampling.BILINEAR).save(buffer, format="PNG")
    return buffer.getvalue()


@dataclass
class Calls:
    """A contender for ``harness.interleave``: ``count`` calls of ``call`` a round."""

    name: str
    call: Callable[[], object]
    count: int

    def epoch(self) -> None:
        for _ in range(self.count):
            self.call()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15, help="timed rounds (default 15)")
    parser.add_argument("--calls", type=int, default=20, help="calls of each step a round (default 20)")
    args = parser.parse_args()
    keep_freed_memory()
    pngs = {READ_PAGE: drawing_png(168), READ_RGBA: drawing_png(168, "RGBA"), READ_LARGE: drawing_png(336)}
    contenders = [
        Calls(name, lambda data=data: digit_from_image(data), args.calls) for name, data in pngs.items()
    ]
    row = digit_from_image(pngs[READ_PAGE]).image.reshape(-1)
    scale = [barenet.Rescale(1 / 255)]
    models = {
        EXPLAIN_MLP: barenet.mlp([784, 256, 128, 10], preprocessing=scale, rng=0),
        EXPLAIN_CNN: barenet.cnn((32, 64), preprocessing=scale, rng=0),
    }
    for name, model in models.items():
        served = ServedModel(model, name, [str(digit) for digit in range(10)])
        contenders.append(Calls(name, lambda served=served: explain(served, row), args.calls))
    with threadpool_limits(limits=BLAS_THREADS):
        machine = machine_lines(BLAS_THREADS)  # the pools as they run
        timings = interleave(contenders, args.rounds)
    for clock in (timings.wall, timings.cpu):  # seconds a round -> milliseconds a call
        for name in clock:
            clock[name] = [1000 * seconds / args.calls for seconds in clock[name]]
    pairs = [(READ_PAGE, EXPLAIN_MLP), (READ_RGBA, EXPLAIN_MLP), (READ_PAGE, EXPLAIN_CNN)]
    print("\n".join([*machine, "", *timing_table(timings, pairs=pairs, unit="ms")]))


if __name__ == "__main__":
    main()
