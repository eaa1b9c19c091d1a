"""Benchmark: element-wise work in cache-sized blocks of several sizes and in whole-array passes.

GELU and Adam run their passes one block of ``barenet.blocks.BLOCK_SIZE`` elements at a time,
batch norm a group of channels at a time (see ``barenet/blocks.py``). The default block size
runs against each size of ``--other-blocks`` and against a block larger than any array (the
whole-array passes): the same code, interleaved in one process, on

- the baby GPT's training step (bench_gpt.py's, 20 steps a round);
- an epoch of the fast CNN (``cnn(hidden=(128,), batch_norm=True)``, batch 128, its pixels
  scaled by 1/255) on 6,400 MNIST images, and one of ``bench_mlp.py``'s MLP on all 60,000;
- GELU forward and backward on the GPT's ``(12, 64, 512)`` activations, exact and tanh;
- the Adam step on the GPT's 818,241 parameters, on the MLP's 235,146 and on 6,000,000.

Every block size works on the same arrays, one model trained on by turns: copies of a model
lie at different places in memory (262,144 against 32,768 measured 1.10 on two copies of the
MLP in one run, and 1.00 on one model). Then a copy of each network per block size,
from the same weights, trains two rounds: their weights must come out bit-identical.

    python benchmarks/bench_blocks.py --threads 2 --rounds 9
    python benchmarks/bench_blocks.py --other-blocks 32768 65536   # which size suits this machine
"""

from __future__ import annotations

import argparse

import numpy as np
from bench_gpt import CONTEXT, HEADS, LAYERS, WIDTH, BarenetGPT, Batches, text_ids
from bench_mlp import BarenetContender
from harness import interleave, keep_freed_memory, machine_lines, timing_table
from threadpoolctl import threadpool_limits

import barenet
import barenet.blocks
from barenet import cnn
from barenet.datasets import load_mnist
from barenet.layers import GELU
from barenet.optim import Adam
from barenet.parameter import Parameter
from barenet.training import Trainer

WHOLE = 1 << 62  # a block larger than any array: every pass over the whole array


class Version:
    """One workload run with one block size (restored afterwards)."""

    def __init__(self, name: str, block_size: int, work) -> None:
        self.name, self.block_size, self.work = name, block_size, work

    def epoch(self) -> None:
        kept, barenet.blocks.BLOCK_SIZE = barenet.blocks.BLOCK_SIZE, self.block_size
        try:
            self.work()
        finally:
            barenet.blocks.BLOCK_SIZE = kept


def gpt_maker(vocabulary: int, train: np.ndarray):
    """A baby GPT and its 20 batches, the same for every call: ``.epoch()`` trains on them."""
    batches = Batches(train, 20, seed=0)
    return lambda: BarenetGPT(barenet.gpt(vocabulary, CONTEXT, LAYERS, HEADS, WIDTH, rng=0), batches)


class CNNRun:
    """The fast CNN, ``.epoch()`` an epoch of 6,400 MNIST images."""

    def __init__(self, x: np.ndarray, y: np.ndarray) -> None:
        self.model = cnn(hidden=(128,), batch_norm=True, preprocessing=[barenet.Rescale(1 / 255)], rng=0)
        self.trainer = Trainer(self.model, optimizer="adam", lr=2e-3, batch_size=128, seed=0)
        self.x, self.y = x, y

    def epoch(self) -> None:
        self.trainer.fit(self.x, self.y, epochs=self.trainer.epoch + 1, verbose=0)


def mnist_makers(data_dir: str | None) -> dict:
    """The fast CNN on 6,400 MNIST images and bench_mlp.py's MLP (784-256-128-10, Adam, batch
    128) on all 60,000, each the same at every call."""
    (x, y), _ = load_mnist(data_dir=data_dir, download=False)
    x = x.reshape(len(x), -1)
    return {"fast CNN (batch norm) training, an epoch of 6,400 MNIST images":
            lambda: CNNRun(x[:6400], y[:6400]),
            "MLP training (bench_mlp.py's), an epoch of 60,000 MNIST images": lambda: BarenetContender(x, y)}


def bit_identical(maker, sizes: dict, rounds: int = 2) -> str:
    """Copies from ``maker``, each trained ``rounds`` epochs with one of the block sizes: the
    same weights, bit for bit?"""
    models = []
    for size in sizes.values():
        run = maker()
        for _ in range(rounds):
            Version("", size, run.epoch).epoch()
        models.append(run.model)
    same = all(np.array_equal(a.value, b.value)
               for other in models[1:] for a, b in zip(models[0].parameters(), other.parameters()))
    return "bit-identical" if same else "DIFFERENT"


def gelu_work(approximate: str):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((12, 64, 4 * WIDTH), dtype=np.float32)
    grad_output = rng.standard_normal(x.shape, dtype=np.float32)
    gelu = GELU(approximate)

    def work() -> None:
        for _ in range(50):
            gelu.backward(grad_output, gelu.forward_with_cache(x)[1])
    return work


def adam_work(size: int, steps: int = 100):
    parameter = Parameter(np.random.default_rng(1).standard_normal(size, dtype=np.float32), "w")
    parameter.grad[...] = np.random.default_rng(2).standard_normal(size, dtype=np.float32) * 1e-2
    optimizer = Adam([parameter], lr=1e-3)

    def work() -> None:
        for _ in range(steps):
            optimizer.step()
    return work


def block_size(text: str) -> int:
    """A block size from the command line: a whole number of elements, at least 1."""
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"a whole number of elements, at least 1; got {text!r}")
    return int(text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--other-blocks", type=block_size, nargs="*", default=[32_768], metavar="SIZE",
                        help="block sizes to run against the default (default: 32768)")
    parser.add_argument("--data-dir", default=None,
                        help="folder with tinyshakespeare/ and mnist/ (default: BARENET_DATA_DIR)")
    args = parser.parse_args()
    keep_freed_memory()
    train, _, vocabulary, corpus = text_ids(args.data_dir)
    sizes = {f"blocks of {size:,}": size for size in [barenet.blocks.BLOCK_SIZE, *args.other_blocks]}
    sizes["whole arrays"] = WHOLE
    default = next(iter(sizes))
    lines = ["## Element-wise work in cache-sized blocks of several sizes and in whole-array passes", "",
             *machine_lines(args.threads), f"- default block: {barenet.blocks.BLOCK_SIZE:,} elements", ""]
    with threadpool_limits(args.threads):
        makers = {f"baby-GPT training, 20 steps ({corpus})": gpt_maker(vocabulary, train)}
        try:
            makers |= mnist_makers(args.data_dir)
        except barenet.DatasetError as error:
            lines += [f"(no fast-CNN and MLP rounds: {error})", ""]
        works = {title: maker().epoch for title, maker in makers.items()}  # one model for every size
        works |= {"GELU (exact) forward + backward, (12, 64, 512), 50 times": gelu_work("none"),
                  "GELU (tanh) forward + backward, (12, 64, 512), 50 times": gelu_work("tanh"),
                  "Adam step, 818,241 parameters (the GPT's), 100 times": adam_work(818_241),
                  "Adam step, 235,146 parameters (the MLP's), 100 times": adam_work(235_146),
                  "Adam step, 6,000,000 parameters (a larger model), 20 times": adam_work(6_000_000, 20)}
        for title, work in works.items():
            timings = interleave([Version(name, size, work) for name, size in sizes.items()], args.rounds)
            lines += [f"### {title}", "",
                      f"{args.rounds} interleaved rounds after one warm-up, seconds per round.", "",
                      *timing_table(timings, reference=default), ""]
        lines += [f"{title}: {len(sizes)} copies, one per block size, after 2 rounds: "
                  f"{bit_identical(maker, sizes)}." for title, maker in makers.items()]
    print("\n".join(lines))


if __name__ == "__main__":
    main()
